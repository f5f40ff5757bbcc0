"""Who a request acts for: the user its API key acts for (services.workflow.Actor)."""
from __future__ import annotations

from flask import g

from ..accounts import services as accounts
from ..services.workflow import SYSTEM, Actor, Forbidden
from ..store import flaskdb as db


def current_actor() -> Actor:
    """The request's actor: the key's user (read now, so a change of their approver roles
    counts at once), or the key alone when it acts for nobody."""
    key = g.get("api_key")
    if key is None:
        return SYSTEM
    if key.user_id is None:
        return Actor(None, None, key.name, frozenset(), key.prefix)
    # its own short session: a read in the request's session would begin its transaction as a
    # read one, which SQLite cannot safely turn into the write transaction a view then needs
    with db.database().sessions() as session:
        user = accounts.get_user_by_id(session, key.user_id)
    if not user.active:
        raise Forbidden(f"this API key acts for {user.email}, who is deactivated")
    return Actor(user.id, user.email, user.name, frozenset(user.approver_roles), key.prefix)
