"""Server time of the main pages on the large organisation, next to the framework floor and a superuser.

The app runs under gunicorn (benchmarks.settings: a Server-Timing header on every response) against the
bigorg database (`benchmarks.bigorg.ensure`). Over HTTP, logged in as bench-manager (change manager of one
team: the guardian-filtered visibility rule applies) and bench-admin (superuser; sees everything), each page
is fetched RUNS times after a warm-up, in turn with the other reader's and the floors (drift on a shared
machine falls on all alike); the server's own time (Server-Timing) gives median and p95. The audit
log is for auditors only: there the non-admin is bench-auditor. Each page is compared with the floor
(`bench/floor/?rows=N`: a bare Django view rendering a table of as many rows as the page shows) and the
non-admin with the superuser. Targets: list pages <= 3x floor; non-admin <= 1.3x superuser.
BENCH_SCALE (default 1.0) picks the organisation's size; BENCH_PAGE_RUNS the number of GETs per page.
"""

import contextlib
import os
import re
import statistics
import sys

PORT = 8101
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/11")
RUNS = int(os.environ.get("BENCH_PAGE_RUNS", "30"))
WARMUP = 8
LIST_PAGES = {"request list", "audit log", "calendar (month)"}
FLOOR_RATIO, USER_RATIO = 3.0, 1.3


def _serving(database_url: str, port: int):
    from benchmarks.server import serving

    return serving(database_url=database_url, redis_url=REDIS_URL, port=port, settings="benchmarks.settings",
                   celery=False)


def login(base: str, username: str):
    import requests

    from benchmarks.bigorg import PASSWORD

    session = requests.Session()
    session.get(f"{base}/accounts/login/", timeout=30)
    response = session.post(f"{base}/accounts/login/", timeout=30, allow_redirects=False, data={
        "username": username, "password": PASSWORD, "csrfmiddlewaretoken": session.cookies.get("csrftoken", "")},
        headers={"Referer": f"{base}/accounts/login/"})
    if response.status_code != 302:
        raise RuntimeError(f"login of {username} failed: HTTP {response.status_code}")
    return session


def server_ms(response) -> float:
    match = re.search(r"app;dur=([\d.]+)", response.headers.get("Server-Timing", ""))
    if not match:
        raise RuntimeError(f"{response.url}: no Server-Timing header (benchmarks.settings not in use?)")
    return float(match.group(1))


def rows_shown(html: str) -> int:
    """Table rows in the page body (header rows excluded), or the calendar's entries: the size the floor
    renders."""
    body_rows = len(re.findall(r"<tr[\s>]", html)) - len(re.findall(r"<thead[\s>]", html))
    entries = len(re.findall(r'<li class="(?:window|freeze)[\s"]', html))
    return max(body_rows, entries, 1)


def timings(session, url: str, runs: int = RUNS) -> tuple[list[float], str]:
    html = ""
    for _ in range(WARMUP):
        response = session.get(url, timeout=300)
        if response.status_code != 200:
            raise RuntimeError(f"{url}: HTTP {response.status_code}")
        html = response.text
    times = []
    for _ in range(runs):
        response = session.get(url, timeout=300)
        if response.status_code != 200:
            raise RuntimeError(f"{url}: HTTP {response.status_code}")
        times.append(server_ms(response))
    return times, html


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def interleaved(sessions: dict, base: str, path: str, who: tuple[str, ...], runs: int = RUNS) -> dict:
    """Each reader's page and the floor of as many rows, fetched in turn (page, page, floor, floor, page, ...)
    so the noise of a shared machine falls on all of them alike: {who: (median, p95, rows shown, floor median)}.
    The floor is fetched in the reader's session, like the page."""
    shown = {}
    for name in who:
        _, html = timings(sessions[name], base + path, runs=0)  # the warm-up, and how many rows it shows
        shown[name] = rows_shown(html)
        timings(sessions[name], f"{base}/bench/floor/?rows={shown[name]}", runs=0)
    urls = [(name, kind, base + path if kind == "page" else f"{base}/bench/floor/?rows={shown[name]}")
            for name in who for kind in ("page", "floor")]
    times: dict[tuple[str, str], list[float]] = {(name, kind): [] for name, kind, _ in urls}
    for _ in range(runs):
        for name, kind, url in urls:
            response = sessions[name].get(url, timeout=300)
            if response.status_code != 200:
                raise RuntimeError(f"{url}: HTTP {response.status_code}")
            times[name, kind].append(server_ms(response))
    return {name: (statistics.median(times[name, "page"]), p95(times[name, "page"]), shown[name],
                   statistics.median(times[name, "floor"])) for name in who}


def detail_reference(database_url: str) -> str:
    """A request bench-manager may see through a duty grant, with a history of typical length."""
    from benchmarks.bigorg import _connect

    with _connect(database_url) as conn:
        row = conn.execute("""
            SELECT r.reference FROM upgrades_upgraderequest r
            JOIN upgrades_upgraderequestuserobjectpermission g ON g.content_object_id = r.id
            JOIN accounts_user u ON u.id = g.user_id AND u.username = 'bench-manager'
            WHERE r.state = 'completed'
            ORDER BY r.created_at DESC LIMIT 1""").fetchone()
    return row[0]


def measure_pages(base: str, database_url: str, runs: int = RUNS) -> list[dict]:
    reference = detail_reference(database_url)
    pages = [("request list", "/upgrades/", "bench-manager"),
             ("request detail", f"/upgrades/{reference}/", "bench-manager"),
             ("dashboard", "/reports/", "bench-manager"),
             ("calendar (month)", "/calendar/", "bench-manager"),
             ("audit log", "/audit/", "bench-auditor")]
    sessions = {name: login(base, name) for name in ("bench-manager", "bench-auditor", "bench-admin")}
    rows = []
    for page, path, non_admin in pages:
        print(f"  pages: {page} as {non_admin} and bench-admin, with their floors ...", file=sys.stderr,
              flush=True)
        measured = interleaved(sessions, base, path, (non_admin, "bench-admin"), runs)
        superuser_median = measured["bench-admin"][0]
        for who, (median, high, shown, floor) in measured.items():
            ratio_floor = median / floor
            ratio_user = median / superuser_median if who != "bench-admin" else None
            met = (ratio_floor <= FLOOR_RATIO or page not in LIST_PAGES) and (
                ratio_user is None or ratio_user <= USER_RATIO)
            rows.append({
                "name": f"page: {page}", "who": who + (" (superuser)" if who == "bench-admin" else " (non-admin)"),
                "n": f"{shown} rows shown", "median ms": round(median, 1), "p95 ms": round(high, 1),
                "floor ms": round(floor, 1), "÷ floor": round(ratio_floor, 2),
                "non-admin ÷ superuser": "" if ratio_user is None else round(ratio_user, 2),
                "target met": "yes" if met else "NO",
            })
    return rows


def run() -> list[dict]:
    from benchmarks.bigorg import ensure

    url = ensure(float(os.environ.get("BENCH_SCALE", "1.0")))
    with _serving(url, PORT) as base:
        return measure_pages(base, url)


if __name__ == "__main__":
    from benchmarks.run import table

    print(table(run()))
