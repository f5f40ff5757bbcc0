"""The WeasyPrint adapter: HTML in, PDF bytes out. The only module that imports weasyprint.

Safety: the renderer reads nothing but files inside the template folder (and `data:` URIs).
Every other URL, whether `http:`, `file:` outside the folder, or anything else, is refused before
a connection or a file is opened, and the refusal is recorded. Customer text is escaped before
it reaches here, so it cannot add an element that would ask for a URL in the first place.

Determinism: the PDF identifier and the creation and modification dates come from the caller
(the revision), never from the clock, so the same input gives the same bytes.
"""
from __future__ import annotations

import base64
import logging
import mimetypes
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import weasyprint
from weasyprint.urls import URLFetcher, URLFetcherResponse

from .errors import RenderFailed

log = logging.getLogger(__name__)

MEDIA_TYPES = {".css": "text/css", ".svg": "image/svg+xml", ".png": "image/png",
               ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif",
               ".woff": "font/woff", ".woff2": "font/woff2", ".ttf": "font/ttf",
               ".otf": "font/otf", ".html": "text/html"}
MAX_ASSET_BYTES = 10_000_000


class Refused(ValueError):
    """A URL outside the template folder."""


@dataclass
class Rendered:
    pdf: bytes
    pages: int
    refused: list[str] = field(default_factory=list)


class FolderFetcher(URLFetcher):
    """Serves files inside one folder, and data: URIs; refuses everything else."""

    def __init__(self, folder: Path):
        super().__init__(timeout=1, allowed_protocols=("file", "data"), allow_redirects=False,
                         fail_on_errors=False)
        self.folder = folder.resolve()
        self.refused: list[str] = []
        self.served: list[str] = []

    def fetch(self, url: str, headers: dict | None = None) -> URLFetcherResponse:
        scheme = url.split(":", 1)[0].lower() if ":" in url else ""
        if scheme == "data":
            return self._data(url)
        if scheme == "file":
            path = self._inside(url)
            if path is not None:
                body = path.read_bytes()
                self.served.append(path.relative_to(self.folder).as_posix())
                media_type = MEDIA_TYPES.get(path.suffix.lower()) or \
                    mimetypes.guess_type(path.name)[0] or "application/octet-stream"
                headers = {"Content-Type": media_type}
                return URLFetcherResponse(url, body, headers)
        self.refused.append(url[:500])
        log.warning("proposal renderer refused to fetch %s", url[:200])
        raise Refused(f"only files inside the template folder may be loaded, not {url[:200]}")

    def _inside(self, url: str) -> Path | None:
        parsed = urllib.parse.urlsplit(url)
        if parsed.netloc not in ("", "localhost"):
            return None
        try:
            path = Path(urllib.request.url2pathname(parsed.path)).resolve()
        except (OSError, ValueError):
            return None
        if not path.is_relative_to(self.folder) or not path.is_file():
            return None
        if path.stat().st_size > MAX_ASSET_BYTES:
            return None
        return path

    def _data(self, url: str) -> URLFetcherResponse:
        header, _, payload = url[5:].partition(",")
        media_type = header.split(";")[0] or "text/plain"
        if header.endswith(";base64"):
            body = base64.b64decode(payload)
        else:
            body = urllib.parse.unquote_to_bytes(payload)
        return URLFetcherResponse(url[:100], body, {"Content-Type": media_type})


def html_to_pdf(html: str, folder: Path, *, identifier: bytes) -> Rendered:
    """Render `html` whose relative links point into `folder`.

    `identifier` becomes the PDF's file identifier; the dates come from the HTML's
    `<meta name="dcterms.created">` / `dcterms.modified`.
    """
    fetcher = FolderFetcher(folder)
    try:
        document = weasyprint.HTML(string=html, base_url=folder.resolve().as_uri() + "/",
                                   url_fetcher=fetcher).render()
        pdf = document.write_pdf(pdf_identifier=identifier)
    except Exception as exc:
        raise RenderFailed(f"{type(exc).__name__}: {exc}") from exc
    return Rendered(pdf, len(document.pages), fetcher.refused)


def weasyprint_version() -> str:
    return weasyprint.__version__
