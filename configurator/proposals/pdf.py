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
against about 0.4 s of CPU for the demo's typical 8-page proposal (idle; 2-3 times that loaded).

Speed (docs/proposals.md, "Performance"): no cyclic garbage collection during a render (it
would walk WeasyPrint's many short-lived objects, and the rest of the process, again and again);
and three things WeasyPrint would redo for every PDF are kept per process, none of which changes
a byte of the output (a test compares):
- the template's style sheets are parsed once (`_prepared`: keyed by their text) and given to
  WeasyPrint already parsed (a CSS object is only read while rendering, so threads share them);
- one FontConfiguration per thread (Pango's font maps are not for sharing between threads), so
  fonts are found, loaded and measured once, not per PDF;
- a leaner copy of WeasyPrint's user-agent style sheet (`_lean_ua`): WeasyPrint's own gives every
  element six pseudo-elements (::marker, ::footnote-call and the like) whose styles it computes
  for every element, about a sixth of a proposal's time; the copy keeps ::marker for list items
  only and drops the footnote and note rules, and is used only when the page does not mention
  footnotes, notes or list items elsewhere.
Anything these cannot cover (a style sheet with @font-face, @import, @counter-style, @layer or a
media attribute, a link outside the folder) renders exactly as before: WeasyPrint parses the
page's sheets itself with a fresh font configuration and its own user-agent sheet. In the web
app the render server warms them once (warm.py) with the first template it renders, and every
render child forked from it starts with them.
"""
from __future__ import annotations

import base64
import logging
import math
import mimetypes
import multiprocessing
import os
import re
import resource
import tempfile
import threading
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import weasyprint
from weasyprint import html as weasy_html
from weasyprint.css import get_child_text
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher, URLFetcherResponse

from ..gcpause import gc_paused
from .errors import RenderFailed, RenderTimeout

log = logging.getLogger(__name__)

MEDIA_TYPES = {".css": "text/css", ".svg": "image/svg+xml", ".png": "image/png",
               ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif",
               ".woff": "font/woff", ".woff2": "font/woff2", ".ttf": "font/ttf",
               ".otf": "font/otf", ".html": "text/html"}
MAX_ASSET_BYTES = 10_000_000
# the render server warms its caches with this template folder (warm.py)
WARM_FOLDER_ENV = "CONFIGURATOR_PROPOSAL_WARM_FOLDER"


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
    # WeasyPrint makes hundreds of thousands of short-lived objects; cyclic collections in the
    # middle of a render would walk them (and everything else the process holds) again and again
    with gc_paused():
        return _render_now(html, folder, identifier)


def _render_now(html: str, folder: Path, identifier: bytes) -> Rendered:
    fetcher = FolderFetcher(folder)
    try:
        document = _HTML(string=html, base_url=folder.resolve().as_uri() + "/",
                         url_fetcher=fetcher)
        prepared = _prepared(document, html, fetcher)
        if prepared is None:   # as WeasyPrint does it by itself
            rendered = document.render()
        else:
            sheets, document.lean_ua = prepared
            rendered = document.render(stylesheets=sheets, font_config=_font_config())
        pdf = rendered.write_pdf(pdf_identifier=identifier)
    except Exception as exc:
        raise RenderFailed(f"{type(exc).__name__}: {exc}") from exc
    return Rendered(pdf, len(rendered.pages), fetcher.refused)


# --- what is kept between renders ---------------------------------------------------------------

# at-rules that change more than the sheet itself (fonts, counter styles, imports, layers): a
# sheet with one is parsed by WeasyPrint for every render, as usual
_UNCACHEABLE = re.compile(rb"@(import|font-face|counter-style|color-profile|layer|"
                          rb"font-feature-values|namespace)\b", re.I)
# the lean user-agent sheet leaves these out; a page that mentions them gets WeasyPrint's own
_NEEDS_FULL_UA = re.compile(r"footnote|note\(|list-item", re.I)
_SHEETS: dict[tuple, weasyprint.CSS] = {}
_MAX_SHEETS = 64
_FONTS = threading.local()


def _prepared(document: weasyprint.HTML, html: str, fetcher: FolderFetcher
              ) -> tuple[list[weasyprint.CSS], bool] | None:
    """The page's style sheets (`<style>`, `<link rel=stylesheet>`), parsed once per process,
    in their order, and whether the lean user-agent sheet will do; None when one of them cannot
    be kept (then WeasyPrint reads them all itself, as usual).

    The elements are then switched off for WeasyPrint (`type`), which gets the sheets instead as
    user style sheets, in the same order; with no author sheets left, that cascades the same.
    """
    elements, sheets, texts = [], [], [html]
    base_url = document.base_url
    for wrapper in document.wrapper_element.query_all("style", "link"):
        element = wrapper.etree_element
        if element.tag == "link" and (
                not element.get("href") or
                not weasy_html.element_has_link_type(element, "stylesheet") or
                weasy_html.element_has_link_type(element, "alternate")):
            continue   # not a style sheet for WeasyPrint either
        if element.get("media") or \
                element.get("type", "text/css").split(";", 1)[0].strip() != "text/css":
            return None
        if element.tag == "style":
            text = get_child_text(element)
            source = text.encode("utf-8")
            key = ("style", base_url, source)
        else:
            url = weasy_html.parse_url(element.get("href"), base_url)
            if url is None or fetcher._inside(url) is None:
                return None   # refused or missing: WeasyPrint reports it as before
            response = fetcher.fetch(url)
            if response.content_type != "text/css":
                return None
            source = response.read()
            key = ("link", url, source)
        if _UNCACHEABLE.search(source):
            return None
        sheet = _SHEETS.get(key)
        if sheet is None:
            if element.tag == "style":
                sheet = weasyprint.CSS(string=text, base_url=base_url, url_fetcher=fetcher,
                                       media_type=document.media_type)
            else:
                sheet = weasyprint.CSS(url=url, url_fetcher=fetcher,
                                       media_type=document.media_type)
            if len(_SHEETS) >= _MAX_SHEETS:
                _SHEETS.clear()
            _SHEETS[key] = sheet
        elements.append(element)
        sheets.append(sheet)
        texts.append(source.decode("utf-8", "replace"))
    for element in elements:
        element.set("type", "text/x-parsed-already")
    return sheets, not any(_NEEDS_FULL_UA.search(text) for text in texts)


def _font_config() -> FontConfiguration:
    """This thread's font configuration: fonts found, loaded and measured once, not per PDF
    (only for pages without @font-face, which would add to it)."""
    config = getattr(_FONTS, "config", None)
    if config is None:
        config = _FONTS.config = FontConfiguration()
    return config


def _lean_ua() -> weasyprint.CSS | None:
    """WeasyPrint's user-agent style sheet without the rules that give every element the
    ::footnote-call, ::footnote-marker, ::note-call, ::note-marker and ::note-callback
    pseudo-elements, and with ::marker for list items only (None if this WeasyPrint's sheet is
    not the one these edits were written for)."""
    source = weasy_html.UA
    lean, dropped = re.subn(r"^::(footnote|note)-[a-z]+ \{[^}\n]*\}\n", "", source, flags=re.M)
    lean, marker = re.subn(r"^::marker \{", "li::marker {", lean, flags=re.M)
    if dropped != 5 or marker != 1:
        return None
    return weasyprint.CSS(string=lean, counter_style=weasy_html.UA_COUNTER_STYLE)


_LEAN_UA = _lean_ua()


class _HTML(weasyprint.HTML):
    """A parsed page; with `lean_ua`, rendered with the lean user-agent style sheet."""
    lean_ua = False

    def _ua_stylesheets(self, forms: bool = False) -> list:
        sheets = super()._ua_stylesheets(forms)
        if self.lean_ua and _LEAN_UA is not None:
            sheets = [_LEAN_UA if sheet is weasy_html.UA_STYLESHEET else sheet
                      for sheet in sheets]
        return sheets


_CONTEXT_LOCK = threading.Lock()
_context: multiprocessing.context.BaseContext | None = None


def _forkserver(folder: Path | None = None) -> multiprocessing.context.BaseContext:
    global _context
    with _CONTEXT_LOCK:
        if _context is None:
            context = multiprocessing.get_context("forkserver")
            # The server imports WeasyPrint and renders once (warm.py) before it forks, with the
            # style sheets of the first template it is asked for (passed in its environment);
            # it imports the main module too (guarded by `if __name__ == "__main__"`, as
            # multiprocessing wants), so that the children do not import it again.
            if folder is not None:
                os.environ.setdefault(WARM_FOLDER_ENV, str(folder))
            context.set_forkserver_preload(["__main__", __name__, f"{__package__}.warm"])
            _context = context
    return _context


def _in_child(html: str, folder: Path, identifier: bytes, timeout: float) -> Rendered:
    context = _forkserver(folder)
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


def warm_up(folder: str | Path | None = None) -> None:
    """One tiny render: loads fonts, style sheets and WeasyPrint's lazy parts in this process;
    given a template folder, with its style sheets, which stay parsed for later renders."""
    links = ""
    folder = Path(folder) if folder else None
    if folder is not None and folder.is_dir():
        links = "".join(f'<link rel="stylesheet" href="{urllib.parse.quote(css.name)}">'
                        for css in sorted(folder.glob("*.css")))
    try:
        _render(f"<!doctype html><title>warm</title>{links}<p>Warm <b>up</b></p>",
                folder if links else Path(tempfile.gettempdir()), b"0" * 32)
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
