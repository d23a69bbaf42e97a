"""HTML to PDF with WeasyPrint, fetching nothing but the project's own static files.

A document rendered from user-entered text (meeting notes, request titles) must not
make the server fetch URLs: no http/https (server-side request forgery), no file://
outside the static folder (local file disclosure), no data: URLs we did not write.
Every URL in the HTML is resolved against a fixed, unreachable base; only URLs under
STATIC_URL that the static-files finders (or STATIC_ROOT) know are served, straight
from disk. Everything else is refused before any connection is attempted.
"""

import mimetypes
from pathlib import Path
from urllib.parse import unquote, urlsplit

from django.conf import settings
from django.contrib.staticfiles import finders

BASE_URL = "https://tollgate.invalid/"  # never fetched: the fetcher below answers for it


class RefusedURL(ValueError):
    pass


def static_path(url: str) -> Path | None:
    """The file on disk that `url` names under STATIC_URL, or None when it names nothing we serve."""
    parts = urlsplit(url)
    base = urlsplit(BASE_URL)
    if parts.scheme != base.scheme or parts.netloc != base.netloc:
        return None
    prefix = "/" + settings.STATIC_URL.strip("/") + "/"
    path = unquote(parts.path)
    if not path.startswith(prefix) or "\x00" in path:
        return None
    relative = path[len(prefix):]
    if not relative or ".." in Path(relative).parts:
        return None
    found = finders.find(relative)
    if found:
        return Path(found)
    root = Path(settings.STATIC_ROOT).resolve()
    candidate = (root / relative).resolve()
    if candidate.is_file() and root in candidate.parents:
        return candidate
    return None


def _fetcher_class():
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class StaticOnlyFetcher(URLFetcher):
        def fetch(self, url, headers=None):
            path = static_path(url)
            if path is None:
                raise RefusedURL(f"Refused to fetch {url[:200]!r}: only the project's static files are allowed.")
            mime_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            return URLFetcherResponse(url, path.read_bytes(), {"Content-Type": mime_type})

    return StaticOnlyFetcher


def render_pdf(html: str) -> bytes:
    """The PDF of `html`; links to anything but our static files are ignored, never fetched."""
    from weasyprint import HTML

    fetcher = _fetcher_class()(fail_on_errors=False)
    return HTML(string=html, base_url=BASE_URL, url_fetcher=fetcher).write_pdf()
