"""The web forms for solution leads and product managers: server-rendered Jinja pages.

- `blueprint.py`: the `web` blueprint (every page needs a signed-in user; form posts need the
  CSRF token)
- `customers.py`: the customer list, the generated profile form, import from YAML/JSON
- `configurations.py`: configure, review, adjust, history and the difference of two revisions
- `deal.py`: where a deal stands: approve or reject, withdraw a decision, send, accept, decline
- `proposals.py`: generate, preview and download a revision's PDF
- `content.py`: the product-manager page (content status, rules, try a profile)
- `profile_form.py`, `changes.py`, `formatting.py`: plain helpers the views share

`init_app(app)` attaches sign-in (configurator.accounts), the blueprint and template helpers.
`error_page` and `database_error_page` are the HTML error pages; the app factory routes errors
outside /api/ to them (errors under /api/ keep their problem+json answers).
"""
from __future__ import annotations

import logging

import flask
from flask import render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from .. import accounts, security
from ..store.errors import database_failure
from . import blueprint, formatting
from . import configurations, content, customers, deal, proposals  # noqa: F401 (their routes)

log = logging.getLogger(__name__)

ERROR_TEXT = {
    400: ("The request could not be understood", "Something in what was sent is not right. "
          "Go back, check the form and try again."),
    403: ("You cannot open this page", "Your role does not include this page. If you need it, "
          "ask an administrator to change your role."),
    404: ("Page not found", "There is nothing at this address. It may have been mistyped, or "
          "what it showed no longer exists."),
    405: ("Not allowed here", "This address does not take that kind of request."),
    413: ("Too large", "What was sent is larger than the service accepts (1 MB). Send a "
          "smaller file."),
    500: ("Something went wrong", "The server failed to handle the request. The problem was "
          "logged; try again, and tell an administrator if it persists."),
    503: ("Temporarily unavailable", "The service cannot reach its database just now. Nothing "
          "was changed; try again in a minute."),
}
# Pages for a database that cannot serve (no werkzeug exception has code 507).
DATABASE_TEXT = {
    503: ERROR_TEXT[503],
    507: ("No space to store this", "The database has no space left. Nothing was changed; try "
          "again later, and tell an administrator."),
}


def init_app(app: flask.Flask) -> None:
    accounts.init_app(app, approver_roles=named_approver_roles)
    app.register_blueprint(blueprint.bp)
    app.jinja_env.globals.update(can=accounts.can, **formatting.GLOBALS)
    app.jinja_env.filters.update(formatting.FILTERS)


def named_approver_roles() -> tuple[str, ...]:
    """The approver roles the served rules name, for the users page (none while no pack is
    usable)."""
    pipeline = blueprint.content().pipeline
    return pipeline.pack.approver_roles if pipeline is not None else ()


def error_page(error: HTTPException, incident: str | None = None):
    """An HTML page for an HTTP error; `incident` is the logged id of a 500."""
    code = error.code or 500
    title, text = ERROR_TEXT.get(code, (error.name, error.description))
    response = flask.make_response(render_template("web/error.html", code=code, title=title,
                                                   text=text, incident=incident), code)
    for key, value in error.get_headers():
        if key in ("Allow", "Retry-After"):
            response.headers[key] = value
    return response


def database_error_page(error: Exception):
    """The database is down, unreachable or full: a 503 (507) page with Retry-After, not a 500."""
    found = database_failure(error)
    if found is None:   # not the database being unavailable: a bug, the 500 page
        incident = security.log_incident(error)
        return error_page(InternalServerError(original_exception=error), incident)
    code = found[0]
    log.warning("database %s on %s %s: %s", found[1], request.method, request.path,
                getattr(error, "orig", None) or error)
    if "_login_user" not in flask.g:   # the page must not ask the database who is signed in
        flask.g._login_user = flask.current_app.login_manager.anonymous_user()
    title, text = DATABASE_TEXT[code]
    response = flask.make_response(render_template("web/error.html", code=code, title=title,
                                                   text=text, incident=None), code)
    response.headers["Retry-After"] = str(flask.current_app.config["RETRY_AFTER"])
    return response


def csrf_error_page(error: CSRFError):
    log.info("refused a form post without a valid CSRF token: %s %s (%s)", request.method,
             request.path, error.description)
    text = ("This form was not accepted because it did not come from a page of this site, or "
            "the page was open from before you signed in. Nothing was changed. Go back, reload "
            "the page and send the form again.")
    return render_template("web/error.html", code=400, title="The form has expired",
                           text=text, incident=None), 400
