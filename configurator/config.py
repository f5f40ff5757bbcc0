"""Settings for the web service: defaults, then the environment, then an override dict (tests).

Nothing here builds anything; `load_config()` returns a plain dict that `create_app` and the CLI
read. Environment variables:

| variable | setting | default |
|---|---|---|
| `DATABASE_URL` | the database | SQLite file `<repo>/var/configurator.db` |
| `CONFIGURATOR_CONTENT` | the content pack directory | the repository's demo pack |
| `SECRET_KEY` | Flask's signing key | generated once into `<repo>/var/secret_key` |
| `CONFIGURATOR_RATE_LIMIT` | requests per API key, e.g. `1200/minute` (a key's own limit wins) | `1200/minute` |
| `CONFIGURATOR_RATELIMIT_STORAGE` | where rate counts live: `memory://` (per worker) or `redis://host:6379` | `memory://` |
| `CONFIGURATOR_CONTENT_WATCH` | seconds between looks for changed content files; 0 turns it off | 1 |
| `CONFIGURATOR_COOKIE_SECURE` | session cookies marked `Secure`: `auto` (when the request came over HTTPS, also through a proxy's `X-Forwarded-Proto` that gunicorn trusts), `1` (always: set it in production behind a proxy), `0` (never) | `auto` |
| `CONFIGURATOR_HSTS_SECONDS` | `Strict-Transport-Security` max-age on HTTPS responses; 0 sends none | 31536000 |
| `CONFIGURATOR_FORCE_HTTPS` | `1` redirects plain-HTTP requests to HTTPS | `0` |
| `CONFIGURATOR_RENDER_TIMEOUT` | seconds a proposal PDF may take before it is stopped; 0 renders in the request's own process without a limit | 60 |
| `CONFIGURATOR_SIGN_IN_ACCOUNT_FAILURES` | failed sign-ins for one e-mail address (from anywhere, existing account or not) that lock it; 0 turns the count off | 5 |
| `CONFIGURATOR_SIGN_IN_ADDRESS_FAILURES` | failed sign-ins from one client address (any e-mail addresses) that lock that address; 0 turns the count off | 20 |
| `CONFIGURATOR_SIGN_IN_LOCK_SECONDS` | the window those failures are counted in, and how long a lock lasts from the failure that set it | 900 |
| `CONFIGURATOR_API_AUTH_FAILURES` | invalid API keys one client address may present before its invalid keys get 429 (valid keys from it are never refused) | `30/minute` |
| `CONFIGURATOR_TRUSTED_PROXIES` | how many reverse proxies stand in front of the service: the client's address is then read from `X-Forwarded-For` (and the scheme from `X-Forwarded-Proto`) as that many proxies appended them. 0: the headers are ignored and the address is the connection's | 0 |
"""
from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
VAR_DIR = REPO_ROOT / "var"
DEFAULT_DATABASE_URL = f"sqlite:///{VAR_DIR / 'configurator.db'}"

DEFAULTS: dict[str, Any] = {
    "DATABASE_URL": DEFAULT_DATABASE_URL,
    # A content pack directory, or None for CONFIGURATOR_CONTENT / the demo pack.
    "CONFIGURATOR_CONTENT": None,
    # Trial-run new content in a subprocess before serving it (off only in fast tests).
    "CONTENT_TRIAL": True,
    # Reload the content pack when its files change (seconds between looks; 0 turns it off).
    "CONTENT_WATCH_SECONDS": 1.0,
    "SECRET_KEY": None,
    # Request bodies above this size get 413.
    "MAX_CONTENT_LENGTH": 1024 * 1024,
    # API keys: requests per key (a key's own rate_limit overrides it), where the counts live
    # (memory:// counts per worker process; redis://host:port shares them), and how long a
    # worker trusts a verified key before asking the database again (revocation delay).
    "API_RATE_LIMIT": "1200/minute",
    "RATELIMIT_STORAGE_URI": "memory://",
    "API_KEY_CACHE_SECONDS": 5.0,
    # Invalid keys one client address may present before its invalid keys get 429 (guessing is
    # pointless against 256-bit secrets; this tells a misconfigured tool to back off). A valid
    # key from that address is never refused for it.
    "API_AUTH_FAILURE_LIMIT": "30/minute",
    # Web sign-in: failures that lock an e-mail address (whether or not it is an account) or a
    # client address (0: not counted), and the window they are counted in, which is also how
    # long a lock lasts. Counted in the database, so every worker sees the same counts.
    "SIGN_IN_ACCOUNT_FAILURES": 5,
    "SIGN_IN_ADDRESS_FAILURES": 20,
    "SIGN_IN_LOCK_SECONDS": 900.0,
    # Reverse proxies in front of the service whose X-Forwarded-For / -Proto are believed
    # (werkzeug's ProxyFix); 0: none, the client address is the connection's.
    "TRUSTED_PROXIES": 0,
    # Session cookies: HttpOnly and SameSite=Lax always; Secure "auto" (when the request came over
    # HTTPS), True (always) or False (never). See configurator/security.py.
    "SESSION_COOKIE_SECURE": "auto",
    # Strict-Transport-Security max-age sent on HTTPS responses (0: none); redirect HTTP to HTTPS.
    "HSTS_SECONDS": 31536000,
    "FORCE_HTTPS": False,
    # A proposal PDF that takes longer is stopped and reported (seconds; 0: no limit, in-process).
    "PROPOSAL_RENDER_TIMEOUT": 60.0,
    # Seconds a client should wait before retrying a 503.
    "RETRY_AFTER": 30,
    # flask-smorest / OpenAPI
    "API_TITLE": "Solution configurator",
    "API_VERSION": "v1",
    "OPENAPI_VERSION": "3.0.3",
    "OPENAPI_URL_PREFIX": "/api/v1",
    "OPENAPI_JSON_PATH": "openapi.json",
    "OPENAPI_SWAGGER_UI_PATH": "docs",
    # Swagger UI's scripts are served by the app itself (swagger-ui-bundle), not from a CDN.
    "OPENAPI_SWAGGER_UI_URL": "/api/v1/docs/assets/",
}


def from_env(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The settings the environment gives (only those that are set)."""
    environ = os.environ if environ is None else environ
    out: dict[str, Any] = {}
    if environ.get("DATABASE_URL"):
        out["DATABASE_URL"] = environ["DATABASE_URL"]
    if environ.get("CONFIGURATOR_CONTENT"):
        out["CONFIGURATOR_CONTENT"] = environ["CONFIGURATOR_CONTENT"]
    if environ.get("SECRET_KEY"):
        out["SECRET_KEY"] = environ["SECRET_KEY"]
    if environ.get("CONFIGURATOR_RATE_LIMIT"):
        out["API_RATE_LIMIT"] = environ["CONFIGURATOR_RATE_LIMIT"]
    if environ.get("CONFIGURATOR_RATELIMIT_STORAGE"):
        out["RATELIMIT_STORAGE_URI"] = environ["CONFIGURATOR_RATELIMIT_STORAGE"]
    if environ.get("CONFIGURATOR_CONTENT_WATCH"):
        out["CONTENT_WATCH_SECONDS"] = float(environ["CONFIGURATOR_CONTENT_WATCH"])
    if environ.get("CONFIGURATOR_COOKIE_SECURE"):
        out["SESSION_COOKIE_SECURE"] = cookie_secure(environ["CONFIGURATOR_COOKIE_SECURE"])
    if environ.get("CONFIGURATOR_HSTS_SECONDS"):
        out["HSTS_SECONDS"] = int(environ["CONFIGURATOR_HSTS_SECONDS"])
    if environ.get("CONFIGURATOR_FORCE_HTTPS"):
        out["FORCE_HTTPS"] = _flag(environ["CONFIGURATOR_FORCE_HTTPS"])
    if environ.get("CONFIGURATOR_RENDER_TIMEOUT"):
        out["PROPOSAL_RENDER_TIMEOUT"] = float(environ["CONFIGURATOR_RENDER_TIMEOUT"])
    for name, setting in (("CONFIGURATOR_SIGN_IN_ACCOUNT_FAILURES", "SIGN_IN_ACCOUNT_FAILURES"),
                          ("CONFIGURATOR_SIGN_IN_ADDRESS_FAILURES", "SIGN_IN_ADDRESS_FAILURES"),
                          ("CONFIGURATOR_TRUSTED_PROXIES", "TRUSTED_PROXIES")):
        if environ.get(name):
            out[setting] = _count(name, environ[name])
    if environ.get("CONFIGURATOR_SIGN_IN_LOCK_SECONDS"):
        out["SIGN_IN_LOCK_SECONDS"] = float(environ["CONFIGURATOR_SIGN_IN_LOCK_SECONDS"])
    if environ.get("CONFIGURATOR_API_AUTH_FAILURES"):
        out["API_AUTH_FAILURE_LIMIT"] = environ["CONFIGURATOR_API_AUTH_FAILURES"]
    return out


def load_config(overrides: Mapping[str, Any] | None = None,
                environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Defaults, then the environment, then `overrides`."""
    config = dict(DEFAULTS)
    config.update(from_env(environ))
    config.update(overrides or {})
    config["DATABASE_URL"] = normalise_database_url(config["DATABASE_URL"])
    return config


def cookie_secure(value: str | bool) -> str | bool:
    """`auto`, or a yes/no flag (`1`, `true`, `yes`, `on` / `0`, `false`, `no`, `off`)."""
    if isinstance(value, bool):
        return value
    if value.strip().lower() == "auto":
        return "auto"
    return _flag(value)


def _count(name: str, value: str) -> int:
    """A whole number >= 0 from the environment variable `name`."""
    try:
        number = int(value.strip())
    except ValueError:
        number = -1
    if number < 0:
        raise ValueError(f"{name} must be a whole number, 0 or more, not {value!r}")
    return number


def _flag(value: str) -> bool:
    text = value.strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off", ""):
        return False
    raise ValueError(f"expected 1 or 0 (true/false, yes/no, on/off), not {value!r}")


def normalise_database_url(url: str) -> str:
    """Accept the common `postgres://` and `postgresql://` spellings; we drive psycopg 3."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def persistent_secret_key(folder: Path = VAR_DIR) -> str:
    """A secret key generated once and kept in `folder/secret_key`, so every worker and every
    restart signs with the same key when SECRET_KEY is not set."""
    path = folder / "secret_key"
    if path.exists():
        return path.read_text().strip()
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".secret_key.{os.getpid()}.{secrets.token_hex(4)}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(secrets.token_hex(32))
    try:
        os.link(tmp, path)  # atomic: the first worker's key wins, complete or not at all
    except FileExistsError:
        pass
    finally:
        tmp.unlink()
    return path.read_text().strip()
