"""The WeasyPrint adapter: HTML in, PDF bytes out. The only module that imports weasyprint.

Safety: the renderer reads nothing but files inside the template folder (and `data:` URIs).
Every other URL, whether `http:`, `file:` outside the folder, or anything else, is refused before
a connection or a file is opened, and the refusal is recorded. Customer text is escaped before
it reaches here, so it cannot add an element that would ask for a URL in the first place.

Determinism: the PDF identifier and the creation and modification dates come from the caller
(the revision), never from the clock, so the same input gives the same bytes.

Time limit: with `timeout`, the PDF is made in a child process forked from a small single-threaded
server (multiprocessing's "forkserver", started on the first render, with WeasyPrint imported
and warmed up by one tiny render: warm.py). A render that takes longer is killed and raises
RenderTimeout; its memory goes with it, and no customer's data outlives its render. A thread
could not be stopped, and forking the multi-threaded web worker itself could inherit a lock
another thread holds. Measured: the server starts in about 1-2 s, once per worker process; each
render then costs about 20-30 ms more on an idle machine (90 ms with the 2 cores fully loaded),
against 1.3 s (4-5 s loaded) for the demo's 8-page proposal.
"""
from __future__ import annotations

import base64
import logging
import math
import mimetypes
import multiprocessing
import resource
import tempfile
import threading
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import weasyprint
from weasyprint.urls import URLFetcher, URLFetcherResponse

from .errors import RenderFailed
from .render import RenderTimeout

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


def html_to_pdf(html: str, folder: Path, *, identifier: bytes,
                timeout: float | None = None) -> Rendered:
    """Render `html` whose relative links point into `folder`.

    `identifier` becomes the PDF's file identifier; the dates come from the HTML's
    `<meta name="dcterms.created">` / `dcterms.modified`. With `timeout` (seconds), the render
    runs in a child process and is stopped after that long (RenderTimeout); without, it runs
    here. Raises RenderFailed when WeasyPrint fails.
    """
    if timeout:
        rendered = _in_child(html, folder, identifier, timeout)
    else:
        rendered = _render(html, folder, identifier)
    for url in rendered.refused:
        log.warning("proposal renderer refused to fetch %s", url[:200])
    return rendered


def _render(html: str, folder: Path, identifier: bytes) -> Rendered:
    fetcher = FolderFetcher(folder)
    try:
        document = weasyprint.HTML(string=html, base_url=folder.resolve().as_uri() + "/",
                                   url_fetcher=fetcher).render()
        pdf = document.write_pdf(pdf_identifier=identifier)
    except Exception as exc:
        raise RenderFailed(f"{type(exc).__name__}: {exc}") from exc
    return Rendered(pdf, len(document.pages), fetcher.refused)


_CONTEXT_LOCK = threading.Lock()
_context: multiprocessing.context.BaseContext | None = None


def _forkserver() -> multiprocessing.context.BaseContext:
    global _context
    with _CONTEXT_LOCK:
        if _context is None:
            context = multiprocessing.get_context("forkserver")
            # The server imports WeasyPrint and renders once (warm.py) before it forks; it
            # imports the main module too (guarded by `if __name__ == "__main__"`, as
            # multiprocessing wants), so that the children do not import it again.
            context.set_forkserver_preload(["__main__", __name__, f"{__package__}.warm"])
            _context = context
    return _context


def _in_child(html: str, folder: Path, identifier: bytes, timeout: float) -> Rendered:
    context = _forkserver()
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(target=_child, args=(sender, html, str(folder), identifier, timeout),
                            name="proposal-render", daemon=True)
    answered = False
    try:
        child.start()
        sender.close()
        if not receiver.poll(timeout):
            raise RenderTimeout(timeout)
        try:
            outcome, value = receiver.recv()
        except EOFError:   # the child died without an answer (killed, out of memory, crashed)
            child.join(5)
            raise RenderFailed(f"the renderer stopped unexpectedly (exit code {child.exitcode})") \
                from None
        answered = True
    finally:
        sender.close()
        receiver.close()
        if child.pid is not None:
            if answered:
                child.join(5)   # it has answered and is exiting
            if child.is_alive():
                child.kill()
            child.join()
        child.close()
    if outcome == "failed":
        raise RenderFailed(value)
    return value


def warm_up() -> None:
    """One tiny render: loads fonts, style sheets and WeasyPrint's lazy parts in this process."""
    try:
        _render("<!doctype html><title>warm</title><p>Warm <b>up</b></p>",
                Path(tempfile.gettempdir()), b"0" * 32)
    except RenderFailed:   # pragma: no cover - a real render reports the problem
        pass


def _child(sender: multiprocessing.connection.Connection, html: str, folder: str,
           identifier: bytes, timeout: float) -> None:
    """In the child: render and send ("ok", Rendered) or ("failed", message) back. The kernel
    ends it too once it has used more CPU time than the limit, should its parent be gone."""
    seconds = math.ceil(timeout) + 5
    resource.setrlimit(resource.RLIMIT_CPU, (seconds, seconds + 5))
    try:
        sender.send(("ok", _render(html, Path(folder), identifier)))
    except RenderFailed as exc:
        sender.send(("failed", str(exc)))
    except BaseException as exc:   # noqa: BLE001 - reported to the parent, never lost
        sender.send(("failed", f"{type(exc).__name__}: {exc}"))
    finally:
        sender.close()


def weasyprint_version() -> str:
    return weasyprint.__version__
