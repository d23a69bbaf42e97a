"""A signed-in user of the drills' gunicorn: an HTTP client that logs in through the login page and sends
the CSRF token with every form, as a browser does."""

import re
import time

import httpx

from apps.core.seed.data import PASSWORD

# gunicorn closes a keep-alive connection idle for its `keepalive` seconds (the drills' gunicorn: 5). A client
# that sends on a connection at the moment the server closes it gets "Server disconnected without sending a
# response" — a browser resends then, a drill would count a failure that is not the server's. A connection
# idle for longer than this is not used again, well before the server could close it.
KEEPALIVE_EXPIRY = 1.0


class Browser:
    def __init__(self, base_url: str, username: str | None = None, timeout: float = 60):
        self.base_url = base_url
        self.username = username
        self.client = httpx.Client(base_url=base_url, timeout=timeout, follow_redirects=False,
                                   limits=httpx.Limits(keepalive_expiry=KEEPALIVE_EXPIRY))

    def close(self):
        self.client.close()

    def login(self, password: str = PASSWORD) -> "Browser":
        page = self.client.get("/accounts/login/")
        page.raise_for_status()
        response = self.post("/accounts/login/", {"username": self.username, "password": password})
        if response.status_code != 302:
            raise RuntimeError(f"{self.username} could not sign in: HTTP {response.status_code}")
        return self

    def get(self, path: str, **kwargs) -> httpx.Response:
        return self.client.get(path, **kwargs)

    def post(self, path: str, data: dict, **kwargs) -> httpx.Response:
        token = self.client.cookies.get("csrftoken", "")
        return self.client.post(path, data={**data, "csrfmiddlewaretoken": token},
                                headers={"Referer": f"{self.base_url}{path}", "X-CSRFToken": token}, **kwargs)


def timed(call, *args, **kwargs) -> tuple[httpx.Response | Exception, float]:
    """(response or the exception, seconds) — a drill counts failures instead of stopping at the first."""
    started = time.monotonic()
    try:
        result = call(*args, **kwargs)
    except httpx.HTTPError as exc:
        result = exc
    return result, time.monotonic() - started


def messages(html: str) -> list[str]:
    """The flash messages of a page (what the user was told)."""
    found = re.findall(r'class="[^"]*\bmsg[^"]*"[^>]*>(.*?)</', html, flags=re.S)
    return [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", m)).strip() for m in found]
