"""Drill: restart PostgreSQL (pg_ctl restart -m fast) while transitions are in flight over HTTP.

Twelve requests wait in `planning`; their requester submits each to the CAB at once over HTTP. The drill
holds the audit chain's head row locked, so every submission stops inside its transaction after it has
changed the state and opened the CAB review (the effects run before the audit event is appended) — the
worst moment for an outage. Then PostgreSQL is restarted while another user keeps loading pages.
Found: each submission either happened completely (state, review, audit event) or not at all, every user
got a clean 503 page (never a 500), and after the restart the same submissions go through.
"""

import threading
import time

import psycopg

from .harness import wait_for
from .web import Browser, timed

NAME = "PostgreSQL restarted during transitions"
IN_FLIGHT = 12


def _consistency(requests) -> dict:
    """Per request: did the submission happen completely, not at all, or partly?"""
    from apps.audit.models import AuditEvent
    from apps.cab.models import Review
    from apps.upgrades.models import UpgradeRequest

    out = {"complete": [], "none": [], "partial": []}
    for req in requests:
        state = UpgradeRequest.objects.get(pk=req.pk).state
        reviews = Review.objects.filter(request_id=req.pk).count()
        events = AuditEvent.objects.filter(object_type="upgrades.upgraderequest", object_id=str(req.pk),
                                           action="upgrade.transition",
                                           data__transition="submit_to_cab").count()
        if (state, reviews, events) == ("cab_review", 1, 1):
            out["complete"].append(req.reference)
        elif (state, reviews, events) == ("planning", 0, 0):
            out["none"].append(req.reference)
        else:
            out["partial"].append(f"{req.reference}: state {state}, reviews {reviews}, events {events}")
    return out


def run(session) -> list[dict]:
    from django.db import connections

    from apps.audit.services import audit_verify
    from apps.core.seed import run_before

    from . import data

    w = data.world()
    requester = w["people"]["requester"]
    requests = []
    for n in range(IN_FLIGHT):
        req = data.request_in("planning", f"PG restart drill {n + 1}")
        requests.append(run_before("submit_to_cab", request=req, by=requester, users={"by": requester}))
    print(f"  {IN_FLIGHT} requests in planning, their CAB evidence in place")
    base = session.start_web()
    browsers = [Browser(base, requester.username).login() for _ in requests]
    reader = Browser(base, w["people"]["executive"].username).login()
    conninfo = session.cluster.url().replace("postgres://", "postgresql://")

    holder = psycopg.connect(conninfo)
    holder.execute("SELECT seq FROM audit_chainhead WHERE id = 1 FOR UPDATE")  # a transaction, left open
    responses: dict[str, object] = {}

    def submit(browser, req):
        url = f"/upgrades/{req.reference}/transition/submit_to_cab/"
        responses[req.reference], _ = timed(browser.post, url, {})

    threads = [threading.Thread(target=submit, args=(b, r)) for b, r in zip(browsers, requests, strict=True)]
    for t in threads:
        t.start()
    with psycopg.connect(conninfo, autocommit=True) as watch:
        def waiting():
            # backend_xid is set once a transaction has written something: these are mid-way
            row = watch.execute("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                                "AND query ILIKE '%audit_chainhead%' AND backend_xid IS NOT NULL").fetchone()
            return row[0] >= IN_FLIGHT

        try:
            wait_for(waiting, 60, "every submission to wait inside its transaction", interval=0.1)
        except TimeoutError:
            rows = watch.execute("SELECT state, wait_event_type, backend_xid, left(query, 90) "
                                 "FROM pg_stat_activity WHERE datname = current_database()").fetchall()
            codes = {k: getattr(v, "status_code", type(v).__name__) for k, v in responses.items()}
            raise TimeoutError(f"the submissions did not all wait inside their transactions; answers so far "
                               f"{codes}; sessions {rows}") from None
    print(f"  {IN_FLIGHT} submissions are inside their transactions (state changed, review opened, "
          "waiting to append the audit event)")

    pages: dict[int | str, int] = {}
    stop_reading = threading.Event()

    def read():
        while not stop_reading.is_set():
            page, _ = timed(reader.get, "/upgrades/")
            key = type(page).__name__ if isinstance(page, Exception) else page.status_code
            pages[key] = pages.get(key, 0) + 1
            if key == 503 and "cannot reach its database" not in page.text:
                pages["503 without the message"] = pages.get("503 without the message", 0) + 1
            time.sleep(0.05)

    reading = threading.Thread(target=read)
    reading.start()
    started = time.monotonic()
    session.cluster.restart("fast")
    restarted_in = time.monotonic() - started
    print(f"  pg_ctl restart -m fast took {restarted_in:.1f} s")
    for t in threads:
        t.join(120)
    time.sleep(2)
    stop_reading.set()
    reading.join(30)
    try:
        holder.close()
    except psycopg.Error:
        pass
    connections.close_all()

    codes: dict[int | str, int] = {}
    unclear = 0
    for response in responses.values():
        key = type(response).__name__ if isinstance(response, Exception) else response.status_code
        codes[key] = codes.get(key, 0) + 1
        if key == 503 and "cannot reach its database" not in response.text:
            unclear += 1
    cut = _consistency(requests)
    print(f"  answers to the {IN_FLIGHT} cut-off submissions: {codes}; pages meanwhile: {pages}")

    # recovery: the same users submit again, and it goes through
    again = {}
    for browser, req in zip(browsers, requests, strict=True):
        response, _ = timed(browser.post, f"/upgrades/{req.reference}/transition/submit_to_cab/", {})
        key = type(response).__name__ if isinstance(response, Exception) else response.status_code
        again[key] = again.get(key, 0) + 1
    after = _consistency(requests)
    chain = audit_verify()
    for b in [*browsers, reader]:
        b.close()

    server_errors = sum(v for k, v in {**codes, **pages}.items()
                        if isinstance(k, int) and k >= 500 and k != 503)
    ok = (not cut["partial"] and len(cut["none"]) == IN_FLIGHT and codes.get(503, 0) == IN_FLIGHT
          and not unclear and server_errors == 0 and not pages.get("503 without the message")
          and again.get(302, 0) == IN_FLIGHT and len(after["complete"]) == IN_FLIGHT and chain.ok)
    found = (f"cut-off submissions: {len(cut['none'])} not at all, {len(cut['complete'])} complete, "
             f"{len(cut['partial'])} partial; users got {codes} (clean 503 page with the message: "
             f"{'yes' if not unclear else 'NO'}); pages during the restart {pages}; after it the same "
             f"submissions answered {again} and {len(after['complete'])}/{IN_FLIGHT} are complete; "
             f"audit chain "
             f"{'verifies' if chain.ok else 'BROKEN'} ({chain})")
    if cut["partial"]:
        found += f"; partial: {cut['partial'][:3]}"
    print(f"  found: {found}")
    return [{"drill": NAME, "did": f"{IN_FLIGHT} submissions held mid-transaction, pg_ctl restart -m fast",
             "found": found, "ok": ok}]
