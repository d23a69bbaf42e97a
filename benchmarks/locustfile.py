"""A working day on Tollgate for locust: people browse requests, open them, look at their work, the dashboard
and the calendar, auditors read the audit log, scripts call the API, and some people comment.

    BENCH_USERS=manager,cab1,exec,auditor BENCH_THINK=1 locust -f benchmarks/locustfile.py \\
        --host http://127.0.0.1:8201 --headless -u 20 -r 20 -t 60s

Each simulated user signs in once as the next name of BENCH_USERS (round robin) through the real login form
(with its CSRF token) and creates an API token for its API calls. Sign-in and token handling happen outside
locust's statistics, on a separate HTTP session, so the figures are the mixed load alone; a failed sign-in is
recorded as a failure named "sign-in" and ends the run. What a user does is weighted by what its roles may see (GET /api/v1/me/):
the dashboard for managers, CAB, executives, auditors and admins, the audit log for auditors and admins,
comments on requests whose page offers the comment form. Think time is BENCH_THINK seconds on average
(uniform between half and one and a half times it; 0 means none). Every request is sent without following
redirects and must answer 200 (302 for the comment form): a redirect to the sign-in page is a failure.
"""

import itertools
import os
import random
import re
import threading
import time
import uuid
from urllib.parse import urlencode

import gevent
import requests
from locust import between, constant, events, task
from locust.contrib.fasthttp import FastHttpUser
from locust.exception import StopUser

PASSWORD = os.environ.get("BENCH_PASSWORD", "tollgate-demo")
USERS = [u.strip() for u in os.environ.get("BENCH_USERS", "manager,cab1,exec,auditor").split(",") if u.strip()]
THINK = float(os.environ.get("BENCH_THINK", "1"))
SEARCH_WORDS = ["postgresql", "nginx", "redis", "kafka", "openjdk", "python", "ubuntu", "kubernetes", "ledger"]
STATES = ["draft", "assessing", "planning", "cab_review", "approved", "scheduled", "completed"]
RISKS = ["standard", "normal", "emergency"]
DASHBOARD_ROLES = {"executive", "change_manager", "cab_member", "auditor", "admin"}
AUDIT_ROLES = {"auditor", "admin"}
REFERENCE = re.compile(r'href="/upgrades/([A-Za-z0-9][A-Za-z0-9_.-]*)/"')
COMMENT_FORM = re.compile(r'action="/upgrades/([^/"]+)/comments/"')

# the measured window: statistics are reset once every user has signed in, and the run stops this many
# seconds later (0: locust's own -t decides)
MEASURE = float(os.environ.get("BENCH_MEASURE_SECONDS", "0"))

_next_user = itertools.count()
_lock = threading.Lock()
_signed_in = 0
_environment = None


@events.init.add_listener
def _keep(environment, **_kwargs):
    global _environment
    _environment = environment


def _ready() -> None:
    """Count a signed-in user; when all are in, start the measured window."""
    global _signed_in
    with _lock:
        _signed_in += 1
        everyone = _signed_in == _environment.runner.target_user_count
    if everyone and MEASURE > 0:
        _environment.runner.stats.reset_all()
        gevent.spawn_later(MEASURE, _environment.runner.quit)


def _username() -> str:
    with _lock:
        return USERS[next(_next_user) % len(USERS)]


class Person(FastHttpUser):
    wait_time = between(THINK * 0.5, THINK * 1.5) if THINK > 0 else constant(0)
    # several users share a name: each signs in on its own session
    connection_timeout = 30.0
    network_timeout = 60.0

    def on_start(self):
        self.username = _username()
        self.setup = requests.Session()
        self.token = self.token_key = None
        self.references: list[str] = []
        self.commentable: set[str] = set()
        try:
            self._sign_in()
        except Exception as exc:  # noqa: BLE001 - any failure to sign in is reported the same way
            events.request.fire(request_type="POST", name="sign-in", response_time=0, response_length=0,
                                exception=exc, context={})
            # figures with fewer users than asked would mislead: the run ends, the failure is in its report
            gevent.spawn(self.environment.runner.quit)
            raise StopUser() from exc
        self.actions = self._actions()
        self.weights = [w for w, _ in self.actions]
        _ready()

    def _sign_in(self):
        login = f"{self.host}/accounts/login/"
        self.setup.get(login, timeout=60).raise_for_status()
        csrf = self.setup.cookies["csrftoken"]
        answer = self.setup.post(login, data={"username": self.username, "password": PASSWORD,
                                              "csrfmiddlewaretoken": csrf}, allow_redirects=False, timeout=60)
        if answer.status_code != 302 or "/accounts/login/" in answer.headers.get("Location", ""):
            raise RuntimeError(f"{self.username} could not sign in (HTTP {answer.status_code})")
        csrf = self.setup.cookies["csrftoken"]  # rotated at sign-in
        token = self.setup.post(f"{self.host}/api/v1/tokens/", json={"name": f"locust {uuid.uuid4().hex[:8]}",
                                                                     "expires_in_days": 1},
                                headers={"X-CSRFToken": csrf}, timeout=60)
        token.raise_for_status()
        self.token, self.token_key = token.json()["token"], token.json()["token_key"]
        me = self.setup.get(f"{self.host}/api/v1/me/", timeout=60)
        me.raise_for_status()
        self.roles = set(me.json()["roles"])
        for cookie in self.setup.cookies:
            self.client.cookiejar.set_cookie(cookie)

    def on_stop(self):
        if self.token_key:
            try:
                self.setup.delete(f"{self.host}/api/v1/tokens/{self.token_key}/",
                                  headers={"X-CSRFToken": self.setup.cookies.get("csrftoken", "")}, timeout=10)
            except requests.RequestException:
                pass  # the token expires in a day anyway

    # --- what a person does, weighted ---------------------------------------------------------------------

    def _actions(self) -> list[tuple[int, callable]]:
        actions = [
            (14, self.request_list), (5, self.request_list_page), (5, self.request_list_filter),
            (4, self.request_list_search), (22, self.request_detail), (10, self.my_work),
            (5, self.calendar_month), (2, self.calendar_week), (2, self.notifications),
            (3, self.api_upgrades), (2, self.api_upgrade), (2, self.api_systems), (1, self.api_me),
            (1, self.api_calendar), (3, self.comment),
        ]
        if self.roles & DASHBOARD_ROLES:
            actions.append((6, self.dashboard))
        if self.roles & AUDIT_ROLES:
            actions += [(8, self.audit_log), (2, self.audit_log_filtered), (2, self.api_audit_events)]
        return actions

    @task
    def act(self):
        random.choices(self.actions, weights=self.weights)[0][1]()

    def page(self, path: str, name: str, *, api: bool = False, expect: int = 200) -> str:
        headers = {"Authorization": f"Token {self.token}"} if api else {}
        with self.client.get(path, name=name, headers=headers, allow_redirects=False,
                             catch_response=True) as response:
            if response.status_code != expect:
                where = response.headers.get("Location", "") if response.headers else ""
                response.failure(f"HTTP {response.status_code} {where}".strip())
                return ""
            return response.text or ""

    def _learn(self, html: str) -> None:
        found = [r for r in REFERENCE.findall(html) if r != "new"]
        if found:
            self.references = (found + self.references)[:200]

    def _reference(self) -> str | None:
        if not self.references:
            self._learn(self.page("/upgrades/", "GET /upgrades/ (list)"))
        return random.choice(self.references) if self.references else None

    def request_list(self):
        self._learn(self.page("/upgrades/", "GET /upgrades/ (list)"))

    def request_list_page(self):
        self._learn(self.page(f"/upgrades/?page={random.randint(2, 6)}", "GET /upgrades/?page=N"))

    def request_list_filter(self):
        if random.random() < 0.5:
            query = f"state={random.choice(STATES)}"
        else:
            query = f"risk_class={random.choice(RISKS)}&sort=-created"
        self._learn(self.page(f"/upgrades/?{query}", "GET /upgrades/?state|risk_class"))

    def request_list_search(self):
        self._learn(self.page(f"/upgrades/?q={random.choice(SEARCH_WORDS)}", "GET /upgrades/?q=word"))

    def request_detail(self):
        reference = self._reference()
        if reference:
            html = self.page(f"/upgrades/{reference}/", "GET /upgrades/<ref>/ (detail)")
            if COMMENT_FORM.search(html):
                self.commentable.add(reference)

    def my_work(self):
        self._learn(self.page("/my-work/", "GET /my-work/"))

    def dashboard(self):
        self.page("/reports/", "GET /reports/ (dashboard)")

    def calendar_month(self):
        self.page("/calendar/", "GET /calendar/ (month)")

    def calendar_week(self):
        self.page("/calendar/week/", "GET /calendar/week/")

    def notifications(self):
        self.page("/accounts/notifications/", "GET /accounts/notifications/")

    def audit_log(self):
        self.page("/audit/", "GET /audit/ (audit log)")

    def audit_log_filtered(self):
        query = random.choice(["action=upgrade.comment", "object_type=upgrade", f"page={random.randint(2, 5)}"])
        self.page(f"/audit/?{query}", "GET /audit/?filter|page")

    def api_upgrades(self):
        query = random.choice(["", f"?state={random.choice(STATES)}", f"?risk_class={random.choice(RISKS)}"])
        self.page(f"/api/v1/upgrades/{query}", "API GET /api/v1/upgrades/[?state|risk_class]", api=True)

    def api_upgrade(self):
        reference = self._reference()
        if reference:
            self.page(f"/api/v1/upgrades/{reference}/", "API GET /api/v1/upgrades/<ref>/", api=True)

    def api_systems(self):
        self.page("/api/v1/systems/", "API GET /api/v1/systems/", api=True)

    def api_me(self):
        self.page("/api/v1/me/", "API GET /api/v1/me/", api=True)

    def api_calendar(self):
        self.page("/api/v1/calendar/", "API GET /api/v1/calendar/", api=True)

    def api_audit_events(self):
        self.page("/api/v1/audit-events/", "API GET /api/v1/audit-events/", api=True)

    def comment(self):
        """A comment through the page's form, on a request whose page offered it (else: read a request)."""
        if not self.commentable:
            return self.request_detail()
        reference = random.choice(sorted(self.commentable))
        csrf = next((c.value for c in self.client.cookiejar if c.name == "csrftoken"), "")
        body = f"Checked with the team at {time.strftime('%H:%M:%S')}; no objections."
        with self.client.post(f"/upgrades/{reference}/comments/", name="POST /upgrades/<ref>/comments/",
                              data=urlencode({"body": body, "csrfmiddlewaretoken": csrf}),
                              headers={"Content-Type": "application/x-www-form-urlencoded"},
                              allow_redirects=False, catch_response=True) as response:
            if response.status_code != 302:
                response.failure(f"HTTP {response.status_code}")
