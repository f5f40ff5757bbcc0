"""The `web` blueprint: every page needs a signed-in user, and every form post the CSRF token."""
from __future__ import annotations

import flask
from flask import redirect, url_for
from flask_login import current_user

from ..accounts import login_manager, protect_forms
from ..accounts.roles import allowed
from ..current import current_content as content  # noqa: F401 (the views' accessor)
from ..services.workflow import Actor

bp = flask.Blueprint("web", __name__, template_folder="templates", static_folder="static",
                     static_url_path="/static/web")


@bp.before_request
def _signed_in():
    if flask.request.endpoint == "web.static":
        return None
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    return protect_forms()


@bp.after_request
def _no_store(response: flask.Response) -> flask.Response:
    """Pages show customer data: browsers must not keep them after sign-out."""
    if flask.request.endpoint != "web.static":
        response.headers.setdefault("Cache-Control", "no-store")
    return response


def actor() -> Actor:
    """The signed-in user as the use cases record them."""
    return Actor(current_user.id, current_user.email, current_user.name,
                 frozenset(current_user.approver_roles))


@bp.get("/")
def home():
    """Each role's starting page."""
    for permission, endpoint in (("customers", "web.customers"), ("content", "web.content"),
                                 ("users", "accounts.users")):
        if allowed(current_user.role, permission):
            return redirect(url_for(endpoint))
    flask.abort(403)  # pragma: no cover - every role has a page
