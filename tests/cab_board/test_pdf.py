"""apps.core.pdf.render_pdf: renders HTML, serves only the project's static files, fetches nothing else."""

import http.server
import shutil
import subprocess
import threading

import pytest

from apps.core.pdf import render_pdf, static_path


@pytest.fixture
def recorder():
    """A tiny HTTP server on 127.0.0.1 that records every request it gets."""
    hits: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            hits.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "text/css")
            self.end_headers()
            self.wfile.write(b"body { color: red; }")

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", hits
    server.shutdown()
    server.server_close()


def _text(pdf: bytes, tmp_path) -> str:
    path = tmp_path / "out.pdf"
    path.write_bytes(pdf)
    return subprocess.run([shutil.which("pdftotext"), str(path), "-"], check=True, capture_output=True,
                          text=True).stdout


def test_a_forbidden_url_in_the_html_is_never_fetched(recorder, tmp_path):
    base, hits = recorder
    # the server works: a plain client reaches it
    import urllib.request

    urllib.request.urlopen(f"{base}/probe", timeout=5).read()
    assert hits == ["/probe"]
    html = (f'<html><head><link rel="stylesheet" href="{base}/evil.css">'
            f'<style>@import url("{base}/import.css"); h1 {{ background: url("{base}/bg.png"); }}</style></head>'
            f'<body><h1>Quarterly minutes</h1><img src="{base}/pixel.png"><img src="file:///etc/hostname">'
            f'<img src="/static/../config/settings.py"></body></html>')
    pdf = render_pdf(html)
    assert pdf.startswith(b"%PDF")
    assert hits == ["/probe"]  # nothing after the probe: WeasyPrint fetched none of the four URLs
    assert "Quarterly minutes" in _text(pdf, tmp_path)


def test_only_static_files_resolve():
    assert static_path("https://tollgate.invalid/static/css/tollgate.css") is not None
    assert static_path("https://tollgate.invalid/static/../manage.py") is None
    assert static_path("https://tollgate.invalid/static/nope.css") is None
    assert static_path("https://example.org/static/css/tollgate.css") is None
    assert static_path("file:///etc/passwd") is None
    assert static_path("data:text/css,body{}") is None


def test_our_stylesheet_is_used(tmp_path):
    # the static stylesheet is served to WeasyPrint: a rule from it (hidden skip link) changes the output
    plain = render_pdf('<html><body><a class="skip" href="#">SKIPLINK</a><p>Body</p></body></html>')
    styled = render_pdf('<html><head><link rel="stylesheet" href="/static/css/tollgate.css"></head>'
                        '<body><a class="skip" href="#">SKIPLINK</a><p>Body</p></body></html>')
    assert "SKIPLINK" in _text(plain, tmp_path)
    assert "SKIPLINK" not in _text(styled, tmp_path)  # .skip { position:absolute; left:-999px }
