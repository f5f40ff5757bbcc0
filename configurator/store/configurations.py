"""Configurations and their revisions: store them, read them back.

Plain functions over a SQLAlchemy session. They flush but never commit: the caller (a use case in
services/) commits once per unit of work, so a configuration, its first revision, its customer
and its content version are stored together or not at all.

A revision holds exactly what produced it: the input profile and the full adjustment list (not a
delta from the previous revision), the document, and the content version, whose files are kept
(`store_content_version`) so an old configuration can be explained and re-rendered exactly.
"""
from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from sqlalchemy import and_, bindparam, func, insert, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .. import jsontext
from ..content.profile import ProfileInvalid
from .db import begin_write
from .errors import NotFound
from .models import (CUSTOMER_NAME_MAX, Configuration, ContentBlob, ContentFile, ContentVersion,
                     Customer, Revision, utcnow)

_RACE_RETRIES = 3

# The statements of the busiest write (creating a configuration), built once and run on the
# session's connection as plain SQL statements: building a statement, and the ORM's handling
# of one, each cost about as much as running it on SQLite.
_customers, _versions = Customer.__table__.c, ContentVersion.__table__.c
_CUSTOMER_ID = select(_customers.id).where(_customers.name == bindparam("name"))
_INSERT_CUSTOMER = insert(Customer.__table__)
_VERSION_STORED = select(_versions.version).where(_versions.version == bindparam("version"))
_INSERT_CONFIGURATION = insert(Configuration.__table__)
_INSERT_REVISION = insert(Revision.__table__)


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    page: int
    page_size: int
    total: int

    @property
    def pages(self) -> int:
        return math.ceil(self.total / self.page_size) if self.total else 0

    def as_dict(self) -> dict[str, Any]:
        return {"items": self.items, "page": self.page, "page_size": self.page_size,
                "total": self.total, "pages": self.pages}


# --- writes -----------------------------------------------------------------------------------

def insert_configuration(session: Session, pack: Any, profile: dict[str, Any],
                         adjustments: list[Any], document: dict[str, Any],
                         created_by: str | None = None, *, author_id: int | None = None,
                         via_api_key: str | None = None, state: str = "draft"
                         ) -> dict[str, Any]:
    """Store a configured profile as a new configuration with revision 1, with its customer
    (found, or created, by `profile.name`) and its content version; returns its view.

    Raises ProfileInvalid when the company name cannot be stored, before anything is written.
    """
    profile, adjustments = _json(profile), _json(adjustments)
    name = _customer_name(profile)
    begin_write(session)
    customer_id = customer_id_for(session, name)
    store_content_version(session, pack)
    now = utcnow()
    # Plain inserts, not the ORM's unit of work: this is the API's busiest write, and the
    # flush machinery cost more than configuring (docs/performance.md).
    connection = session.connection()
    configuration_id = connection.execute(_INSERT_CONFIGURATION, {
        "customer_id": customer_id, "created_at": now, "updated_at": now,
        "latest_revision": 1}).inserted_primary_key[0]
    connection.execute(_INSERT_REVISION, {
        **_revision_row(configuration_id, 1, profile, adjustments, document, pack.version, now,
                        created_by),
        "author_id": author_id, "via_api_key": via_api_key, "state": state})
    return {"id": configuration_id, "customer": {"id": customer_id, "name": name},
            "created_at": now, "updated_at": now, "revision": 1, "status": document["status"],
            "state": state, "valid_until": None, "content_version": pack.version,
            "profile": profile, "adjustments": adjustments, "document": document}


def lock_configuration(session: Session, configuration_id: int) -> Configuration:
    """Start a write transaction holding the configuration's row lock, so that a change computed
    from its latest revision cannot interleave with another change (SQLite: the write lock;
    PostgreSQL: SELECT ... FOR UPDATE). The caller commits or rolls back."""
    begin_write(session)
    configuration = session.scalars(
        select(Configuration).where(Configuration.id == configuration_id).with_for_update()
    ).one_or_none()
    if configuration is None:
        raise NotFound(f"configuration {configuration_id} does not exist")
    return configuration


def latest_inputs(session: Session, configuration: Configuration
                  ) -> tuple[dict[str, Any], list[Any]]:
    """(profile, adjustments) of a configuration's latest revision."""
    row = session.execute(
        select(Revision.profile, Revision.adjustments)
        .where(Revision.configuration_id == configuration.id,
               Revision.number == configuration.latest_revision)).one()
    return row.profile, list(row.adjustments or [])


def insert_revision(session: Session, configuration: Configuration, pack: Any,
                    profile: dict[str, Any], adjustments: list[Any], document: dict[str, Any],
                    created_by: str | None = None, *, author_id: int | None = None,
                    via_api_key: str | None = None, state: str = "draft") -> Revision:
    """Store the next revision of a configuration locked by `lock_configuration` and mark the
    one it replaces superseded; returns the new row. When the profile names another company,
    the configuration moves to that customer."""
    profile, adjustments = _json(profile), _json(adjustments)
    name = _customer_name(profile)
    if name != configuration.customer.name:
        configuration.customer_id = customer_id_for(session, name)
    store_content_version(session, pack)
    now = utcnow()
    number = configuration.latest_revision + 1
    previous = get_revision_row(session, configuration.id, configuration.latest_revision)
    set_state(session, previous, "superseded", created_by, now)
    configuration.latest_revision = number
    configuration.updated_at = now
    revision = Revision(**_revision_row(configuration.id, number, profile, adjustments, document,
                                        pack.version, now, created_by),
                        author_id=author_id, via_api_key=via_api_key, state=state)
    session.add(revision)
    session.flush()
    return revision


# --- reads ------------------------------------------------------------------------------------

def get_configuration(session: Session, configuration_id: int) -> dict[str, Any]:
    """The configuration with its latest revision's profile, adjustments and document."""
    row = session.execute(
        select(Configuration, Revision)
        .join(Revision, and_(Revision.configuration_id == Configuration.id,
                             Revision.number == Configuration.latest_revision))
        .where(Configuration.id == configuration_id)
    ).one_or_none()
    if row is None:
        raise NotFound(f"configuration {configuration_id} does not exist")
    return configuration_view(*row)


def list_configurations(session: Session, page: int = 1, page_size: int = 20,
                        customer: str | None = None, state: str | None = None) -> Page:
    """Configurations, newest first; `customer` keeps those whose customer name contains it
    (case-insensitive), `state` those whose latest revision is in that state."""
    where: list[Any] = [Customer.name.icontains(customer, autoescape=True)] if customer else []
    if state == "expired":
        where += [Revision.state == "sent", Revision.valid_until <= utcnow()]
    elif state == "sent":
        where += [Revision.state == "sent", or_(Revision.valid_until.is_(None),
                                                Revision.valid_until > utcnow())]
    elif state:
        where.append(Revision.state == state)
    total = session.scalar(
        select(func.count(Configuration.id)).join(Configuration.customer)
        .join(Revision, and_(Revision.configuration_id == Configuration.id,
                             Revision.number == Configuration.latest_revision))
        .where(*where)) or 0
    rows = session.execute(
        select(Configuration.id, Configuration.created_at, Configuration.updated_at,
               Configuration.latest_revision, Customer.id.label("customer_id"),
               Customer.name.label("customer_name"), Revision.status, Revision.totals,
               Revision.content_version, Revision.state, Revision.valid_until)
        .join(Configuration.customer)
        .join(Revision, and_(Revision.configuration_id == Configuration.id,
                             Revision.number == Configuration.latest_revision))
        .where(*where)
        .order_by(Configuration.id.desc())
        .limit(page_size).offset((page - 1) * page_size)
    ).all()
    items = [{"id": r.id, "customer": {"id": r.customer_id, "name": r.customer_name},
              "revision": r.latest_revision, "status": r.status,
              "state": _read_state(r.state, r.valid_until), "totals": r.totals,
              "content_version": r.content_version, "created_at": r.created_at,
              "updated_at": r.updated_at} for r in rows]
    return Page(items, page, page_size, total)


def list_revisions(session: Session, configuration_id: int, page: int = 1,
                   page_size: int = 20) -> Page:
    """A configuration's revisions, oldest (1) first, without their documents."""
    configuration = session.get(Configuration, configuration_id)
    if configuration is None:
        raise NotFound(f"configuration {configuration_id} does not exist")
    rows = session.execute(
        select(Revision.number, Revision.created_at, Revision.created_by, Revision.status,
               Revision.state, Revision.valid_until, Revision.content_version, Revision.totals,
               Revision.adjustments)
        .where(Revision.configuration_id == configuration_id)
        .order_by(Revision.number)
        .limit(page_size).offset((page - 1) * page_size)
    ).all()
    items = [{"configuration_id": configuration_id, **row._asdict(),
              "state": _read_state(row.state, row.valid_until)} for row in rows]
    return Page(items, page, page_size, configuration.latest_revision)


def get_revision(session: Session, configuration_id: int, number: int) -> dict[str, Any]:
    return revision_view(get_revision_row(session, configuration_id, number))


def get_revision_row(session: Session, configuration_id: int, number: int) -> Revision:
    revision = session.scalars(select(Revision).where(Revision.configuration_id == configuration_id,
                                                      Revision.number == number)).one_or_none()
    if revision is None:
        if session.get(Configuration, configuration_id) is None:
            raise NotFound(f"configuration {configuration_id} does not exist")
        raise NotFound(f"configuration {configuration_id} has no revision {number}")
    return revision


def effective_state(revision: Revision, now: Any = None) -> str:
    """The revision's state as it reads now: a sent one past its `valid_until` is expired."""
    return _read_state(revision.state, revision.valid_until, now)


def _read_state(state: str, valid_until: Any, now: Any = None) -> str:
    if state == "sent" and valid_until is not None and valid_until <= (now or utcnow()):
        return "expired"
    return state


def set_state(session: Session, revision: Revision, state: str, by: str | None, now: Any,
              valid_until: Any = None) -> None:
    """Record a revision's new state, when and by whom."""
    revision.state = state
    revision.state_changed_at = now
    revision.state_changed_by = by
    if valid_until is not None:
        revision.valid_until = valid_until
    session.flush()


# --- customers --------------------------------------------------------------------------------

def customer_id_for(session: Session, name: str) -> int:
    """The id of the customer called exactly `name`, created when new (safe against concurrent
    creates)."""
    for _ in range(_RACE_RETRIES):
        found = session.connection().execute(_CUSTOMER_ID, {"name": name}).scalar_one_or_none()
        if found is not None:
            return found
        try:
            with session.begin_nested():
                return session.connection().execute(
                    _INSERT_CUSTOMER, {"name": name, "created_at": utcnow()}
                ).inserted_primary_key[0]
        except IntegrityError:  # created by a concurrent request since we looked
            continue
    return session.connection().execute(_CUSTOMER_ID, {"name": name}).scalar_one()


def _customer_name(profile: dict[str, Any]) -> str:
    name = profile.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ProfileInvalid({"name": ["a company name is required to store a configuration"]})
    if len(name) > CUSTOMER_NAME_MAX:
        raise ProfileInvalid({"name": [f"at most {CUSTOMER_NAME_MAX} characters can be stored"]})
    return name


# --- content versions -------------------------------------------------------------------------

def store_content_version(session: Session, pack: Any) -> str:
    """Keep a content pack's files under its version, once; file contents are shared between
    versions. Returns the version. Safe against a concurrent store of the same version."""
    known_version = {"version": pack.version}
    for _ in range(_RACE_RETRIES):
        if session.connection().execute(_VERSION_STORED, known_version).first() is not None:
            return pack.version
        digests = {path: hashlib.sha256(data).hexdigest() for path, data in pack.files.items()}
        try:
            with session.begin_nested():
                known = set(session.scalars(select(ContentBlob.sha256)
                                            .where(ContentBlob.sha256.in_(set(digests.values())))))
                for path, digest in digests.items():
                    if digest not in known:
                        data = pack.files[path]
                        session.add(ContentBlob(sha256=digest, size=len(data), data=data))
                        known.add(digest)
                session.flush()
                session.add(ContentVersion(version=pack.version, root=str(pack.root)[:1000],
                                           loaded_at=utcnow()))
                session.flush()
                session.add_all(ContentFile(version=pack.version, path=path, sha256=digest)
                                for path, digest in sorted(digests.items()))
            return pack.version
        except IntegrityError:  # a concurrent request stored the version or a blob first
            continue
    if session.connection().execute(_VERSION_STORED, known_version).first() is None:
        raise RuntimeError(f"could not store content version {pack.version}")
    return pack.version


def content_version_files(session: Session, version: str) -> dict[str, bytes]:
    """The files of a stored content version: relative path -> bytes."""
    if session.get(ContentVersion, version) is None:
        raise NotFound(f"content version {version} is not stored")
    rows = session.execute(select(ContentFile.path, ContentBlob.data)
                           .join(ContentFile.blob)
                           .where(ContentFile.version == version)
                           .order_by(ContentFile.path))
    return {path: bytes(data) for path, data in rows}


def export_content_version(session: Session, version: str, directory: str | Path) -> Path:
    """Write a stored content version's files under `directory`, ready to load as a pack."""
    root = Path(directory).resolve()
    for path, data in content_version_files(session, version).items():
        relative = PurePosixPath(path)
        if relative.is_absolute() or ".." in relative.parts:
            raise ValueError(f"refusing to write {path!r} outside {root}")
        target = root.joinpath(*relative.parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return root


# --- views ------------------------------------------------------------------------------------

def configuration_view(configuration: Configuration, revision: Revision) -> dict[str, Any]:
    return {"id": configuration.id,
            "customer": {"id": configuration.customer.id, "name": configuration.customer.name},
            "created_at": configuration.created_at, "updated_at": configuration.updated_at,
            "revision": revision.number, "status": revision.status,
            "state": effective_state(revision), "valid_until": revision.valid_until,
            "content_version": revision.content_version, "profile": revision.profile,
            "adjustments": revision.adjustments, "document": revision.document}


def revision_view(revision: Revision) -> dict[str, Any]:
    return {"configuration_id": revision.configuration_id, "number": revision.number,
            "created_at": revision.created_at, "created_by": revision.created_by,
            "author_id": revision.author_id, "via_api_key": revision.via_api_key,
            "status": revision.status,
            "state": effective_state(revision), "state_changed_at": revision.state_changed_at,
            "state_changed_by": revision.state_changed_by, "valid_until": revision.valid_until,
            "content_version": revision.content_version, "totals": revision.totals,
            "profile": revision.profile, "adjustments": revision.adjustments,
            "document": revision.document}


# --- helpers ----------------------------------------------------------------------------------

def _revision_row(configuration_id: int, number: int, profile: dict[str, Any],
                  adjustments: list[Any], document: dict[str, Any], version: str, now: Any,
                  created_by: str | None) -> dict[str, Any]:
    return {"configuration_id": configuration_id, "number": number, "profile": profile,
            "adjustments": adjustments, "document": document, "status": document["status"],
            "totals": document["totals"], "content_version": version, "created_at": now,
            "created_by": created_by}


def _json(value: Any) -> Any:
    """`value` as it reads back from a JSON column, so what we return is what we stored."""
    return jsontext.loads(jsontext.dumps(value))
