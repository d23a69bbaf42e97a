"""The content security policy: our own origin only, and nothing inline that would need 'unsafe-inline'."""

import re
from pathlib import Path

import pytest
from django.conf import settings

TEMPLATES = Path(settings.BASE_DIR) / "templates"
# PDF templates are rendered by WeasyPrint on the server and never served to a browser
PDF_ONLY = re.compile(r"(_pdf|pdf)\.html$")
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
STYLE_ATTRIBUTE = re.compile(r"\sstyle\s*=", re.IGNORECASE)
STYLE_ELEMENT = re.compile(r"<style[\s>]", re.IGNORECASE)
EVENT_HANDLER = re.compile(r"\son[a-z]+\s*=\s*[\"']", re.IGNORECASE)


def _served_templates():
    return [p for p in TEMPLATES.rglob("*.html") if not PDF_ONLY.search(p.name)]


def test_the_policy_allows_only_our_origin_and_nothing_inline(client):
    policy = client.get("/accounts/login/")["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    assert directives["default-src"] == "'self'"
    assert directives["script-src"] == "'self'" and directives["style-src"] == "'self'"
    assert directives["object-src"] == "'none'" and directives["frame-ancestors"] == "'none'"
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy and "http" not in policy


@pytest.mark.django_db
def test_pages_of_a_signed_in_user_carry_the_policy(upgrade, requester, login):
    client = login(requester)
    for path in ("/my-work/", f"/upgrades/{upgrade.reference}/", f"/upgrades/{upgrade.reference}/plan/", "/calendar/"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert "'unsafe-inline'" not in response["Content-Security-Policy"], path


@pytest.mark.parametrize("template", _served_templates(), ids=lambda p: str(p.relative_to(TEMPLATES)))
def test_no_served_template_needs_unsafe_inline(template):
    text = template.read_text(encoding="utf-8")
    assert not INLINE_SCRIPT.search(text), "inline <script>: move it to a file under static/"
    assert not STYLE_ATTRIBUTE.search(text), "style attribute: use a class in static/css"
    assert not STYLE_ELEMENT.search(text), "<style> element: use static/css"
    assert not EVENT_HANDLER.search(text), "on…= handler: attach it from a script file"


@pytest.mark.django_db
def test_the_api_docs_load_their_start_up_script_as_a_file(requester, login):
    client = login(requester)
    page = client.get("/api/docs/").content.decode()
    assert not INLINE_SCRIPT.search(page)
    script = client.get("/api/docs/?script=")
    assert script.status_code == 200 and "SwaggerUIBundle" in script.content.decode()
