"""A configuration's revisions with what the history page compares (profile, adjustments,
totals), without loading their documents; and the lock a change takes before it reads the latest
revision it builds on."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from .configurations import NotFound
from .db import begin_write
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


def lock_configuration(session: Session, configuration_id: int) -> None:
    """Start a write transaction holding the configuration's row lock, so that a change computed
    from its latest revision cannot interleave with another change (SQLite: the write lock;
    PostgreSQL: SELECT ... FOR UPDATE). The caller commits or rolls back."""
    begin_write(session)
    found = session.scalars(select(Configuration.id).where(Configuration.id == configuration_id)
                            .with_for_update()).one_or_none()
    if found is None:
        raise NotFound(f"configuration {configuration_id} does not exist")
