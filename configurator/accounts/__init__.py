"""Who may use the web forms: users with roles, sign-in and sign-out, CSRF protection.

- `services.py`: users (hashed passwords, session tokens), plain functions over a session
- `throttle.py`: failed sign-ins counted per account and per client address, and the locks
  they set
- `roles.py`: the roles and what each may do
- `access.py`: sign-in (Flask-Login), roles on views, CSRF protection
- `views.py`: sign-in, sign-out, the users page for admins
- `apikeys.py`: the keys programs use for the REST API

`init_app(app)` attaches Flask-Login and Flask-WTF's CSRF protection. CSRF is checked on every
form post of the web blueprints (`protect_forms` runs before each of their requests); the REST
API under /api/v1 takes JSON from sales tools, not forms, and is not affected.
`approver_roles`, given by the caller that knows the served content (web/), says which approver
roles the rules name: the users page offers those. (accounts/ sits beside services/ and below
current.py, so it cannot ask for the content itself.)
"""
from __future__ import annotations

from collections.abc import Callable, Collection

import flask

from . import views
from .access import can, csrf, load_user, login_manager, protect_forms, require, sign_in_first

__all__ = ["can", "init_app", "login_manager", "protect_forms", "require"]


def init_app(app: flask.Flask,
             approver_roles: Callable[[], Collection[str]] | None = None) -> None:
    app.extensions[views.NAMED_ROLES] = approver_roles or (lambda: ())
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
    login_manager.user_loader(load_user)
    login_manager.unauthorized_handler(sign_in_first)

    app.register_blueprint(views.bp)
