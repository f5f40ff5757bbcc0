"""Headers, cookies and log hygiene for every response and every log line: `init_app(app)`.

- **Headers** (flask-talisman) on every response, pages, API, errors, PDFs and static files alike:
  a strict Content-Security-Policy (nothing but this origin's own scripts, styles, images and
  fonts; no inline script, no framing, no plugins), `X-Frame-Options: DENY`,
  `X-Content-Type-Options: nosniff`, `Referrer-Policy: same-origin`, a Permissions-Policy that
  turns off the browser features no page here uses, `Cross-Origin-Opener-Policy` and
  `Cross-Origin-Resource-Policy: same-origin`, and `Strict-Transport-Security` on responses served
  over HTTPS. Swagger UI at /api/v1/docs (flask-smorest's page) keeps its one inline script
  through a per-request nonce. API responses are `Cache-Control: no-store` (they carry customer
  data), except the OpenAPI document and Swagger UI's files.
- **Cookies**: the session cookie is HttpOnly and SameSite=Lax; `Secure` follows
  SESSION_COOKIE_SECURE: "auto" (the default) marks it Secure whenever the request came over
  HTTPS, so a production server behind TLS always sets Secure cookies while the demo on
  http://127.0.0.1:8000 still signs people in; True or False force it.
- **Logs**: every log record of the process, whoever logs it, is made safe when it is created:
  an exception becomes one line (type, message, the innermost frame of this project as
  file:line) instead of a traceback; API keys, `Authorization` values, passwords and other
  `...password/secret/token...=value` pairs, cookies, passwords in URLs and the app's own secret
  key are replaced by `***`; line breaks are escaped, so a request cannot forge a log line.
  An unexpected error logs exactly one line with an incident id, which the error page or the
  problem+json answer shows (`log_incident`).
"""
from __future__ import annotations

import functools
import logging
import re
import types
import urllib.parse
import uuid
from pathlib import Path
from typing import Any

import flask
from flask.sessions import SecureCookieSessionInterface
from flask_talisman import Talisman

from .config import cookie_secure as parse_cookie_secure

log = logging.getLogger(__name__)

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_DIR = PACKAGE_DIR.parent

# Nothing may load from anywhere but this origin; `data:` images are Swagger UI's icons.
CONTENT_SECURITY_POLICY = {
    "default-src": "'none'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "font-src": "'self'",
    "connect-src": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
    "base-uri": "'none'",
    "object-src": "'none'",
}
PERMISSIONS_POLICY = {feature: "()" for feature in (
    "accelerometer", "camera", "display-capture", "geolocation", "gyroscope", "magnetometer",
    "microphone", "midi", "payment", "usb", "browsing-topics")}
# API responses that hold no customer data and may be cached.
CACHEABLE_ENDPOINTS = ("api-docs.openapi_json", "api-docs.openapi_swagger_ui",
                       "swagger_ui_assets")
SWAGGER_UI_ENDPOINT = "api-docs.openapi_swagger_ui"
API_PREFIX = "/api/"

MAX_LOG_MESSAGE = 10_000
MAX_EXCEPTION_TEXT = 500
REDACTED = "***"


def init_app(app: flask.Flask) -> None:
    """Attach the headers, the cookie policy, one-line incident logging and the log filter.

    Call it after the API and the web blueprints are registered (it wraps Swagger UI's view)."""
    _cookies(app)
    app.after_request(_cache_and_isolation)   # registered first: runs after Talisman's
    Talisman(app, force_https=bool(app.config.get("FORCE_HTTPS")), frame_options="DENY",
             strict_transport_security=bool(app.config.get("HSTS_SECONDS")),
             strict_transport_security_max_age=int(app.config.get("HSTS_SECONDS") or 0),
             content_security_policy=CONTENT_SECURITY_POLICY,
             permissions_policy=PERMISSIONS_POLICY, referrer_policy="same-origin",
             session_cookie_secure=False,     # SessionInterface below decides per request
             session_cookie_http_only=True, session_cookie_samesite="Lax",
             x_content_type_options=True)
    _swagger_ui_nonce(app)
    install_log_filter()
    for secret in (app.config.get("SECRET_KEY"), _database_password(app)):
        remember_secret(secret)
    app.log_exception = types.MethodType(_log_exception, app)  # type: ignore[method-assign]


# --- cookies -----------------------------------------------------------------------------------

class SessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, with SESSION_COOKIE_SECURE = "auto": Secure exactly when
    the request came over HTTPS (`request.is_secure`; gunicorn sets the scheme from a trusted
    proxy's X-Forwarded-Proto)."""

    def get_cookie_secure(self, app: flask.Flask) -> bool:
        return cookie_secure(app)


def cookie_secure(app: flask.Flask) -> bool:
    setting = app.config.get("SESSION_COOKIE_SECURE")
    if setting == "auto":
        return flask.request.is_secure if flask.has_request_context() else True
    return bool(setting)


def _cookies(app: flask.Flask) -> None:
    app.config["SESSION_COOKIE_SECURE"] = parse_cookie_secure(
        app.config.get("SESSION_COOKIE_SECURE", "auto"))
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    app.session_interface = SessionInterface()
    # Flask-Login's remember-me cookie is not used (sign-in lasts for the browser session);
    # should it ever be, it is as guarded as the session cookie.
    app.config["REMEMBER_COOKIE_HTTPONLY"] = True
    app.config["REMEMBER_COOKIE_SAMESITE"] = "Lax"
    app.config["REMEMBER_COOKIE_SECURE"] = app.config["SESSION_COOKIE_SECURE"] is not False


# --- headers -------------------------------------------------------------------------------------

def _cache_and_isolation(response: flask.Response) -> flask.Response:
    """API answers carry customer data: never kept by a browser or a proxy. No response may be
    read by another origin's page or keep a handle to a window of this one."""
    if flask.request.path.startswith(API_PREFIX) \
            and flask.request.endpoint not in CACHEABLE_ENDPOINTS:
        response.headers["Cache-Control"] = "no-store"
    response.headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    response.headers.setdefault("Cross-Origin-Resource-Policy", "same-origin")
    return response


def _swagger_ui_nonce(app: flask.Flask) -> None:
    """flask-smorest's Swagger UI page starts the UI with one inline script, written by the
    library with no request data in it; it gets this request's CSP nonce, nothing else does."""
    view = app.view_functions.get(SWAGGER_UI_ENDPOINT)
    if view is None:   # pragma: no cover - the API always serves Swagger UI
        return

    @functools.wraps(view)
    def swagger_ui(*args: Any, **kwargs: Any) -> flask.Response:
        response = flask.make_response(view(*args, **kwargs))
        nonce = getattr(flask.request, "csp_nonce", "")
        page = response.get_data(as_text=True)
        response.set_data(page.replace("<script>", f'<script nonce="{nonce}">'))
        return response

    swagger_ui.talisman_view_options = {  # type: ignore[attr-defined]
        "content_security_policy_nonce_in": ["script-src"]}
    app.view_functions[SWAGGER_UI_ENDPOINT] = swagger_ui


# --- incidents -----------------------------------------------------------------------------------

def log_incident(exc: BaseException | None = None) -> str:
    """Log one line for an unexpected error in this request and return its incident id; the
    same error asked for again (Flask logs it, then the error page wants its id) keeps its id."""
    seen = flask.g.get("_incidents", {})
    key = id(exc) if exc is not None else None
    if key in seen:
        return seen[key]
    incident = str(uuid.uuid4())
    seen[key] = incident
    flask.g._incidents = seen
    log.error("incident %s: unhandled error on %s %s", incident, flask.request.method,
              flask.request.path, exc_info=exc)
    return incident


def _log_exception(app: flask.Flask, exc_info: Any) -> None:
    """Flask's hook for an exception no handler took: one line with an incident id."""
    log_incident(exc_info[1] if isinstance(exc_info, tuple) else None)


# --- logs ----------------------------------------------------------------------------------------

_SECRETS: set[str] = set()
_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    # Authorization values
    (re.compile(r"(?i)\b(bearer|basic|digest)(\s+)[A-Za-z0-9._~+/=:-]{4,}"),
     rf"\1\2{REDACTED}"),
    # API keys: cfg_<public prefix>_<secret>; the prefix names the key, the rest goes
    (re.compile(r"\b(cfg_[0-9a-f]{8}_)[A-Za-z0-9_-]+"), rf"\g<1>{REDACTED}"),
    (re.compile(r"\bcfg_(?![0-9a-f]{8}_\*\*\*)[A-Za-z0-9_-]{6,}"), f"cfg_{REDACTED}"),
    # user:password@ in any URL (database URLs above all)
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]{0,20}://[^\s:/@'\"]{0,200}:)[^\s@/'\"]{1,500}@"),
     rf"\g<1>{REDACTED}@"),
    # cookies, as a header or as name=value
    (re.compile(r"(?i)\b((?:set-)?cookie['\"]?\s{0,5}[:=]\s{0,5}['\"]?)[^'\"\n]+"),
     rf"\1{REDACTED}"),
    (re.compile(r"(?i)\b(session|remember_token)=[^;\s,'\"&]+"), rf"\1={REDACTED}"),
    # password=..., "api_key": "...", secret_key: ..., csrf_token=..., Authorization: ...
    (re.compile(r"(?i)\b([\w-]{0,30}?(?:password|passwd|secret|token|api[_-]?key|"
                r"authorization)[\w-]{0,30}['\"]?\s{0,5}[:=]\s{0,5}['\"]?"
                r"(?:(?:bearer|basic|digest)\s+)?+)(?!\*\*\*)[^'\"\s,;&}]+"),
     rf"\1{REDACTED}"),
]


def remember_secret(value: Any) -> None:
    """A literal secret (the app's secret key, the database password) never to be logged."""
    if isinstance(value, str) and len(value) >= 12:
        _SECRETS.add(value)


def redact(text: str) -> str:
    """`text` with every secret replaced by *** (see the module docstring)."""
    for secret in _SECRETS:
        if secret in text:
            text = text.replace(secret, REDACTED)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def one_line(text: str) -> str:
    return text.replace("\r", "\\r").replace("\n", "\\n")


def describe_exception(exc: BaseException) -> str:
    """`Type: first line of the message (at configurator/x.py:12)`, the place being the innermost
    frame of this project in the exception or, deeper, in what caused it (else the innermost
    frame at all); `; caused by Type` names the root cause when there is one."""
    text = redact(str(exc).strip().splitlines()[0]) if str(exc).strip() else ""
    if len(text) > MAX_EXCEPTION_TEXT:
        text = text[:MAX_EXCEPTION_TEXT] + "..."
    chain = _chain(exc)
    where = next((w for w in (_innermost_frame(e.__traceback__, ours=True)
                              for e in reversed(chain)) if w), "") \
        or _innermost_frame(exc.__traceback__, ours=False)
    described = f"{type(exc).__qualname__}: {text}" if text else type(exc).__qualname__
    notes = [f"at {where}"] if where else []
    if len(chain) > 1:
        notes.append(f"caused by {type(chain[-1]).__qualname__}")
    return f"{described} ({'; '.join(notes)})" if notes else described


def _chain(exc: BaseException) -> list[BaseException]:
    """`exc` and what caused it (`raise ... from`, or an error while handling another)."""
    chain = [exc]
    while len(chain) < 10:
        cause = chain[-1].__cause__ or (None if chain[-1].__suppress_context__
                                        else chain[-1].__context__)
        if cause is None or cause in chain:
            break
        chain.append(cause)
    return chain


def _innermost_frame(tb: types.TracebackType | None, ours: bool) -> str:
    found = None
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if not ours or filename.startswith(str(PACKAGE_DIR)):
            found = (filename, tb.tb_lineno)
        tb = tb.tb_next
    if found is None:
        return ""
    path = Path(found[0])
    try:
        shown = path.relative_to(REPO_DIR).as_posix()
    except ValueError:
        shown = "/".join(path.parts[-2:])
    return f"{shown}:{found[1]}"


def sanitise(record: logging.LogRecord) -> logging.LogRecord:
    """Make one record safe in place: message formatted, exception folded in as one line,
    secrets redacted, line breaks escaped."""
    try:
        message = record.getMessage()
    except Exception:   # a bad format call: leave it for the handler to report
        return record
    exc_info = record.exc_info
    if exc_info and isinstance(exc_info, tuple) and exc_info[1] is not None:
        message = f"{message} | {describe_exception(exc_info[1])}"
    message = redact(message)   # before cutting, so that no secret is cut out of its pattern
    if len(message) > MAX_LOG_MESSAGE:
        message = f"{message[:MAX_LOG_MESSAGE]}... ({len(message) - MAX_LOG_MESSAGE} more " \
                  "characters)"
    record.msg = one_line(message)
    record.args = ()
    record.exc_info = None
    record.exc_text = None
    record.stack_info = None
    return record


def install_log_filter() -> None:
    """Make every log record of this process safe when it is created, whichever logger and
    handler it goes to (a filter on a logger would miss its children's records, and handlers
    are added after the app by gunicorn and by pytest). Installed once per process."""
    current = logging.getLogRecordFactory()
    if getattr(current, "configurator_safe", False):
        return

    def safe_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
        return sanitise(current(*args, **kwargs))

    safe_record.configurator_safe = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(safe_record)


def _database_password(app: flask.Flask) -> str | None:
    try:
        password = urllib.parse.urlsplit(app.config.get("DATABASE_URL") or "").password
    except ValueError:   # a URL the database layer will refuse anyway
        return None
    return urllib.parse.unquote(password) if password else None
