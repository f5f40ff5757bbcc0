"""The Flask application factory: `gunicorn 'configurator.app:create_app()'`."""
from __future__ import annotations

import logging
from typing import Any

from flask import Flask
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from . import api, security, web
from .api import errors as api_errors
from .config import load_config, persistent_secret_key
from .current import CONTENT_EXTENSION
from .webjson import JSONProvider
from .services.content import Content
from .store import flaskdb, migrate
from .store.errors import DATABASE_FAILURES

log = logging.getLogger(__name__)



def create_app(config: dict[str, Any] | None = None, *, content: Any = None) -> Flask:
    """Build the app: defaults, then the environment, then `config` (tests).

    `content` may pass a `services.content.Content` that is already loaded (tests share one);
    otherwise the pack at CONFIGURATOR_CONTENT (or the demo pack) is loaded now. A broken pack
    does not stop the app: `GET /api/v1/content` reports the problems and configuring answers 503.
    """
    app = Flask(__name__)
    app.json = JSONProvider(app)
    app.config.from_mapping(load_config(config))
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = persistent_secret_key()
    app.json.sort_keys = False  # keep documents in the order the pipeline wrote them

    if content is None:
        content = Content(app.config["CONFIGURATOR_CONTENT"], trial=app.config["CONTENT_TRIAL"])
        try:
            status = content.load()
        except Exception:  # never let content stop the service; /api/v1/content tells why
            log.exception("loading the content pack failed")
        else:
            if not status.ok:
                log.error("content pack at %s is not usable; see GET /api/v1/content",
                          status.root)
        if app.config["CONTENT_WATCH_SECONDS"]:
            content.watch(float(app.config["CONTENT_WATCH_SECONDS"]))
    app.extensions[CONTENT_EXTENSION] = content

    flaskdb.init_app(app)
    app.extensions["configurator.migration_head"] = migrate.heads()[0]
    api.init_app(app)
    web.init_app(app)   # the web forms: sign-in, customers, configurations; `/` is theirs
    _add_error_answers(app)
    _add_front_door(app)
    security.init_app(app)   # headers, cookies and safe logs on everything registered above
    _trust_proxies(app)
    return app


def _trust_proxies(app: Flask) -> None:
    """Behind TRUSTED_PROXIES reverse proxies, the client's address and scheme are those the
    proxies appended to X-Forwarded-For and X-Forwarded-Proto (werkzeug's ProxyFix takes the
    value that many hops from the right, so what a client writes into the headers itself is never
    believed). With none (the default) the headers are ignored: `request.remote_addr` is the
    connection's, which the sign-in throttle and the API's count of invalid keys rely on."""
    proxies = int(app.config["TRUSTED_PROXIES"])
    if proxies < 0:
        raise ValueError(f"TRUSTED_PROXIES must be 0 or more, not {proxies}")
    if proxies:
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=proxies, x_proto=proxies)


def _add_front_door(app: Flask) -> None:
    """The interactive API docs work without internet access (`/` is the web UI's)."""
    from flask import send_from_directory
    from swagger_ui_bundle import swagger_ui_path

    @app.get("/api/v1/docs/assets/<path:filename>")
    def swagger_ui_assets(filename: str):
        return send_from_directory(swagger_ui_path, filename, max_age=86400)


def _add_error_answers(app: Flask) -> None:
    """Errors the blueprints did not answer: problem+json under /api/, an HTML page elsewhere."""
    for code in web.ERROR_TEXT:
        app.register_error_handler(code, _http_error)
    app.register_error_handler(CSRFError, _csrf_error)
    for failure in DATABASE_FAILURES:
        app.register_error_handler(failure, _database_error)


def _http_error(error: HTTPException):
    incident = None
    if (error.code or 500) == 500:   # one log line, no traceback; the answer shows its id
        incident = security.log_incident(getattr(error, "original_exception", None))
    if api_errors.is_api_request():
        if incident is not None:
            return api_errors.problem(500, "The server failed to handle the request; the "
                                      "incident was logged.", instance=f"urn:uuid:{incident}")
        return api_errors.http_problem(error)
    return web.error_page(error, incident)


def _csrf_error(error: CSRFError):
    if api_errors.is_api_request():  # pragma: no cover - the API is not CSRF-checked
        return api_errors.http_problem(error)
    return web.csrf_error_page(error)


def _database_error(error: Exception):
    """(Under /api/ the API's blueprints answer with problem+json before this is asked.)"""
    if api_errors.is_api_request():
        return api_errors.database_problem(error)
    return web.database_error_page(error)
