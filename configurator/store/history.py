"""A configuration's revisions with what the history page compares (profile, adjustments,
totals), without loading their documents."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from .errors import NotFound
from .models import Configuration, Revision


def revision_history(session: Session, configuration_id: int) -> list[dict[str, Any]]:
    """Every revision of a configuration, oldest (1) first."""
    if session.get(Configuration, configuration_id) is None:
        raise NotFound(f"configuration {configuration_id} does not exist")
    rows = session.execute(
        select(Revision.number, Revision.created_at, Revision.created_by, Revision.status,
               Revision.totals, Revision.content_version, Revision.adjustments, Revision.profile)
        .where(Revision.configuration_id == configuration_id)
        .order_by(Revision.number)
    ).all()
    return [row._asdict() for row in rows]
