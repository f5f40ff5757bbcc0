"""Stored customers' current inputs, read-only: the profile and adjustments of each
configuration's latest revision (what `configurator impact` re-runs)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import and_, inspect, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from .db import make_engine
from .models import Configuration, Customer, Revision

CONNECT_TIMEOUT_S = 5
_TABLES = ("customers", "configurations", "revisions")


@dataclass(frozen=True)
class StoredProfile:
    configuration_id: int
    customer: str
    revision: int
    profile: Any
    adjustments: list[Any]


def latest_profiles(session: Session) -> list[StoredProfile]:
    """Every configuration's latest revision's profile and adjustments, by customer name, then
    configuration id."""
    rows = session.execute(
        select(Configuration.id, Customer.name, Revision.number, Revision.profile,
               Revision.adjustments)
        .join(Configuration.customer)
        .join(Revision, and_(Revision.configuration_id == Configuration.id,
                             Revision.number == Configuration.latest_revision))
        .order_by(Customer.name, Configuration.id)
    ).all()
    return [StoredProfile(r.id, r.name, r.number, r.profile, list(r.adjustments or []))
            for r in rows]


def read_latest_profiles(url: str) -> tuple[list[StoredProfile] | None, str]:
    """(the stored profiles, or None when the database cannot be read; a note saying which
    database was read or why not). Never creates or changes a database."""
    parsed = make_url(url)
    shown = parsed.render_as_string(hide_password=True)
    kwargs: dict[str, Any] = {}
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if not database or database == ":memory:" or database.startswith("file:"):
            return None, f"database {shown} holds no stored customers"
        if not Path(database).expanduser().is_file():
            return None, f"no database at {shown} (run `configurator db upgrade` to create one)"
    elif parsed.get_backend_name() == "postgresql":
        kwargs["connect_args"] = {"connect_timeout": CONNECT_TIMEOUT_S}
    try:
        engine = make_engine(url, **kwargs)
    except (SQLAlchemyError, ImportError, ValueError) as exc:
        return None, f"cannot use the database {shown}: {exc}"
    try:
        with engine.connect() as connection:
            missing = [t for t in _TABLES if not inspect(connection).has_table(t)]
            if missing:
                return None, (f"database {shown} is not migrated (no table {', '.join(missing)}); "
                              "run `configurator db upgrade`")
            with Session(bind=connection) as session:
                found = latest_profiles(session)
                session.rollback()
        return found, f"database {shown}: {len(found)} stored configuration(s)"
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        return None, f"cannot read the database {shown}: {reason}"
    finally:
        engine.dispose()
