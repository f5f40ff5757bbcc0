"""A configuration's revisions with what the history page compares (profile, adjustments,
totals) and where each stood, without loading their documents."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from .configurations import _read_state
from .errors import NotFound
from .models import Configuration, Revision


def revision_history(session: Session, configuration_id: int) -> list[dict[str, Any]]:
    """Every revision of a configuration, oldest (1) first."""
    if session.get(Configuration, configuration_id) is None:
        raise NotFound(f"configuration {configuration_id} does not exist")
    rows = session.execute(
        select(Revision.number, Revision.created_at, Revision.created_by, Revision.status,
               Revision.totals, Revision.content_version, Revision.adjustments, Revision.profile,
               Revision.state, Revision.valid_until, Revision.state_changed_at,
               Revision.state_changed_by)
        .where(Revision.configuration_id == configuration_id)
        .order_by(Revision.number)
    ).all()
    return [{**row._asdict(), "state": _read_state(row.state, row.valid_until)} for row in rows]
