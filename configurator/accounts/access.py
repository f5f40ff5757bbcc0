"""Who may open what: sign-in (Flask-Login), roles on views, CSRF protection of form posts."""
from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlsplit

import flask
from flask_login import LoginManager, current_user
from flask_wtf.csrf import CSRFProtect

from ..store import flaskdb
from .roles import allowed
from .services import by_session_token

login_manager = LoginManager()
csrf = CSRFProtect()


def load_user(token: str) -> Any:
    session = flaskdb.session()
    try:
        return by_session_token(session, token)
    finally:
        # End the read at once: a view that writes must start its own write transaction
        # (on SQLite a read transaction cannot safely become a write one; see store.db).
        session.rollback()


def sign_in_first() -> Any:
    """To the sign-in page, coming back afterwards to the page asked for (for a form post whose
    session had ended: the page the form was on)."""
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


def safe_next(target: str | None) -> str | None:
    """`target` when it is a path on this site (never another host), else None."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    parts = urlsplit(target)
    return target if not parts.scheme and not parts.netloc else None
