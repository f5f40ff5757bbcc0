"""The database in a Flask app: one `Database` per app, one session per request, closed when the
request ends. The only module of store/ that knows Flask; the entry points use it, the use cases
take the session it gives."""
from __future__ import annotations

import logging

import flask
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from .db import Database

log = logging.getLogger(__name__)

EXTENSION = "configurator.db"


def init_app(app: flask.Flask) -> Database:
    db = Database(app.config["DATABASE_URL"])
    app.extensions[EXTENSION] = db
    app.teardown_appcontext(_close_session)
    return db


def database() -> Database:
    return flask.current_app.extensions[EXTENSION]


def session() -> Session:
    """The session of the current request (or app context), created on first use.

    Views commit once per write; the session is closed (and anything uncommitted rolled back)
    when the request ends.
    """
    if "db_session" not in flask.g:
        flask.g.db_session = database().sessions()
    return flask.g.db_session


def _close_session(exc: BaseException | None) -> None:
    current = flask.g.pop("db_session", None)
    if current is None:
        return
    try:
        current.close()
    except DBAPIError as error:
        # The database went away after the view had its answer (a restart, a terminated
        # session): rolling back what was left open fails. Nothing uncommitted survives a lost
        # connection anyway, so drop the connection and let the answer go out.
        log.warning("closing the request's database session failed (%s: %s); connection "
                    "dropped", type(error).__name__, str(error.orig).splitlines()[0])
        current.invalidate()
