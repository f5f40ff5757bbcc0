"""Who may use the web forms: users with roles, sign-in and sign-out, CSRF protection.

- `services.py`: users (hashed passwords, session tokens), plain functions over a session
- `roles.py`: the roles and what each may do
- `views.py`: sign-in, sign-out, the users page for admins
- `commands.py`: `configurator user ...`

`init_app(app)` attaches Flask-Login and Flask-WTF's CSRF protection. CSRF is checked on every
form post of the web blueprints (`protect_forms` runs before each of their requests); the REST
API under /api/v1 takes JSON from sales tools, not forms, and is not affected.
"""
from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

import flask
from flask_login import LoginManager, current_user
from flask_wtf.csrf import CSRFProtect

from .roles import allowed

login_manager = LoginManager()
csrf = CSRFProtect()


def init_app(app: flask.Flask) -> None:
    # Only the web blueprints check tokens (see protect_forms); the API is not a form target.
    app.config.setdefault("WTF_CSRF_CHECK_DEFAULT", False)
    # A token lasts as long as the session, so a form left open over lunch still posts.
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)
    app.config.setdefault("SESSION_COOKIE_SAMESITE", "Lax")
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "accounts.sign_in"
    login_manager.login_message = "Sign in to continue."
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"
    login_manager.user_loader(_load_user)
    login_manager.unauthorized_handler(_sign_in_first)

    from . import views
    app.register_blueprint(views.bp)


def _load_user(token: str) -> Any:
    from ..store import db
    from .services import by_session_token
    session = db.session()
    try:
        return by_session_token(session, token)
    finally:
        # End the read at once: a view that writes must start its own write transaction
        # (on SQLite a read transaction cannot safely become a write one; see store.db).
        session.rollback()


def _sign_in_first() -> Any:
    """To the sign-in page, coming back afterwards to the page asked for (for a form post whose
    session had ended: the page the form was on)."""
    from urllib.parse import urlsplit

    from .views import safe_next
    target = None
    if flask.request.method == "GET":
        target = flask.request.full_path.rstrip("?")
    elif flask.request.referrer:
        parts = urlsplit(flask.request.referrer)
        if parts.netloc == flask.request.host:
            target = parts.path + (f"?{parts.query}" if parts.query else "")
    flask.flash(login_manager.login_message, "info")
    next_page = safe_next(target)
    return flask.redirect(flask.url_for("accounts.sign_in",
                                        next=next_page if next_page not in (None, "/") else None))


def protect_forms() -> None:
    """Before every request of a web blueprint: a form post must carry the session's CSRF
    token (a hidden `csrf_token` field); otherwise CSRFError (400) ends the request."""
    csrf.protect()


def require(permission: str | None = None) -> Callable:
    """A view for signed-in users; with `permission`, only for the roles that have it (403)."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if permission is not None and not allowed(current_user.role, permission):
                flask.abort(403)
            return view(*args, **kwargs)
        return wrapped

    return decorator


def can(permission: str) -> bool:
    """For templates: whether the signed-in user has `permission`."""
    return bool(current_user.is_authenticated and allowed(current_user.role, permission))
