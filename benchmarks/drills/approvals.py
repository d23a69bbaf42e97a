"""Drill: twenty CAB members sign an approving vote on the same request at the same moment, over HTTP.

Each member has signed in to gunicorn (several processes, several threads each); they all post the vote
form (with their password, the signature) after a barrier. Found: exactly one approve transition, one
deciding vote, review approved; every other member got a clean refusal ("the review is closed"), no 5xx;
the audit chain verifies.
"""

import threading

from .web import Browser, messages, timed

NAME = "20 concurrent approvals"


def run(session) -> list[dict]:
    from apps.audit.models import AuditEvent
    from apps.audit.services import audit_verify
    from apps.cab.models import Review, Vote
    from apps.core.seed.data import PASSWORD
    from apps.upgrades.models import UpgradeRequest

    from . import data

    w = data.world()
    req = data.request_in("cab_review", "Concurrent approvals drill")
    review = Review.objects.get(request=req, outcome="open")
    quorum = (review.policy_snapshot or {}).get("quorum", 1)
    base = session.start_web()
    browsers = [Browser(base, member.username).login() for member in w["cab"]]
    print(f"  {req.reference} in CAB review (quorum {quorum}); {len(browsers)} CAB members signed in")
    barrier = threading.Barrier(len(browsers), timeout=60)
    answers: dict[str, tuple] = {}

    def vote(browser: Browser):
        barrier.wait()
        response, took = timed(browser.post, f"/cab/reviews/{review.pk}/vote/",
                               {"decision": "approve", "password": PASSWORD, "reason": "", "conditions": ""})
        told = []
        if not isinstance(response, Exception) and response.status_code == 302:
            page, _ = timed(browser.get, response.headers["Location"])
            told = messages(page.text) if not isinstance(page, Exception) else [f"{type(page).__name__}"]
        answers[browser.username] = (response, took, told)

    threads = [threading.Thread(target=vote, args=(b,)) for b in browsers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(180)
    for b in browsers:
        b.close()

    codes: dict = {}
    recorded = refused = unclear = 0
    slowest = 0.0
    for response, took, told in answers.values():
        key = type(response).__name__ if isinstance(response, Exception) else response.status_code
        codes[key] = codes.get(key, 0) + 1
        slowest = max(slowest, took)
        text = " ".join(told)
        if "is recorded" in text:
            recorded += 1
        elif "refused" in text:
            refused += 1
        else:
            unclear += 1
    req.refresh_from_db()
    review.refresh_from_db()
    events = AuditEvent.objects.filter(object_type="upgrades.upgraderequest", object_id=str(req.pk))
    transitions = events.filter(action="upgrade.transition", data__transition="approve").count()
    votes = Vote.objects.filter(review=review).count()
    refusals = events.filter(action="cab.vote_refused").count()
    chain = audit_verify()
    n = len(browsers)
    ok = (codes.get(302, 0) == n and transitions == 1 and votes == quorum and recorded == quorum
          and refused == n - quorum and not unclear and refusals == n - quorum and req.state == "approved"
          and review.outcome == "approved" and chain.ok
          and UpgradeRequest.objects.filter(pk=req.pk).count() == 1)
    found = (f"HTTP {codes}, slowest {slowest:.1f} s; request {req.state}, review {review.outcome}; approve "
             f"transitions {transitions}, votes {votes} (quorum {quorum}); told 'recorded' {recorded}, "
             f"'refused' {refused}, unclear {unclear}; refusals audited {refusals}; audit chain "
             f"{'verifies' if chain.ok else 'BROKEN'}")
    print(f"  found: {found}")
    return [{"drill": NAME, "did": f"{n} CAB members post a signed approve at once (gunicorn)",
             "found": found, "ok": ok}]
