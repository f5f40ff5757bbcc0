"""The Flask application factory: `gunicorn 'configurator.app:create_app()'`."""
from __future__ import annotations

import logging
from typing import Any

from flask import Flask

from .config import load_config, persistent_secret_key
from .jsontext import JSONProvider

log = logging.getLogger(__name__)

CONTENT_EXTENSION = "configurator.content"


def create_app(config: dict[str, Any] | None = None, *, content: Any = None) -> Flask:
    """Build the app: defaults, then the environment, then `config` (tests).

    `content` may pass a `configurator.services.Content` that is already loaded (tests share one);
    otherwise the pack at CONFIGURATOR_CONTENT (or the demo pack) is loaded now. A broken pack
    does not stop the app: `GET /api/v1/content` reports the problems and configuring answers 503.
    """
    from . import api, security, web
    from .services import Content
    from .store import db, migrate

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

    db.init_app(app)
    app.extensions["configurator.migration_head"] = migrate.heads()[0]
    api.init_app(app)
    web.init_app(app)   # the web forms: sign-in, customers, configurations; `/` is theirs
    _add_front_door(app)
    security.init_app(app)   # headers, cookies and safe logs on everything registered above
    return app


def _add_front_door(app: Flask) -> None:
    """The interactive API docs work without internet access (`/` is the web UI's)."""
    from flask import send_from_directory
    from swagger_ui_bundle import swagger_ui_path

    @app.get("/api/v1/docs/assets/<path:filename>")
    def swagger_ui_assets(filename: str):
        return send_from_directory(swagger_ui_path, filename, max_age=86400)
