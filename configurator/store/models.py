"""The database tables, as SQLAlchemy 2 typed models.

- `customers`: one row per company name (`profile.name`).
- `configurations`: one customer's configuration; `latest_revision` is the number of its newest
  revision.
- `revisions`: every run of the pipeline for a configuration, numbered 1..n: the input profile and
  adjustments, the resulting document, and the content version it was computed with.
- `content_versions` / `content_files` / `content_blobs`: every content pack a revision was
  computed with, file by file, so an old configuration can be explained and re-rendered exactly.
  A version is stored once; a file's bytes are stored once however many versions share them.
- `idempotent_requests`: the answer a POST with an `Idempotency-Key` got, for a day, so that its
  retry gets that answer again (store/idempotency.py).

Change a model, then add a migration (`configurator db revision -m "..."`); a test fails when
the models and the migrations disagree.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (JSON, DateTime, ForeignKey, Integer, LargeBinary, MetaData, String,
                        TypeDecorator, UniqueConstraint)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

# Longest customer name the store accepts; keeps the unique index within every backend's limits.
CUSTOMER_NAME_MAX = 300
CONTENT_PATH_MAX = 500
# A row id or revision number in a URL (Werkzeug converter): 1 to 2^31 - 1, the INTEGER of every
# backend. Anything else does not match the route (404) instead of reaching the database.
ROUTE_ID = "int(min=1, max=2147483647)"

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class UTCDateTime(TypeDecorator):
    """A timestamp that is always timezone-aware UTC in Python, on SQLite as on PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("timestamps must be timezone-aware")
        return value.astimezone(dt.timezone.utc)

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:  # SQLite keeps no zone; we only ever write UTC
            return value.replace(tzinfo=dt.timezone.utc)
        return value.astimezone(dt.timezone.utc)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {dt.datetime: UTCDateTime}


class Customer(Base):
    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Unique: a customer is found by its exact name; the index also serves filtering and sorting.
    name: Mapped[str] = mapped_column(String(CUSTOMER_NAME_MAX), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    configurations: Mapped[list[Configuration]] = relationship(back_populates="customer")


class Configuration(Base):
    __tablename__ = "configurations"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    latest_revision: Mapped[int] = mapped_column(Integer, default=0)

    customer: Mapped[Customer] = relationship(back_populates="configurations")
    revisions: Mapped[list[Revision]] = relationship(back_populates="configuration",
                                                     order_by="Revision.number")


class Revision(Base):
    __tablename__ = "revisions"
    __table_args__ = (UniqueConstraint("configuration_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    configuration_id: Mapped[int] = mapped_column(ForeignKey("configurations.id"))
    number: Mapped[int]
    profile: Mapped[dict[str, Any]] = mapped_column(JSON)
    adjustments: Mapped[list[Any]] = mapped_column(JSON)
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
    # Copied out of the document so lists need not load whole documents.
    status: Mapped[str] = mapped_column(String(32))
    totals: Mapped[dict[str, Any]] = mapped_column(JSON)
    content_version: Mapped[str] = mapped_column(ForeignKey("content_versions.version"),
                                                 index=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str | None] = mapped_column(String(200))
    # Who made it: the user (None for keys that act for nobody, and rows from before 0006) and
    # the API key's public prefix when one was used.
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    via_api_key: Mapped[str | None] = mapped_column(String(16))
    # Where the deal stands (services/workflow.py): draft, pending_approval, approved, rejected,
    # sent, accepted, declined, superseded; a sent revision past `valid_until` reads as expired.
    state: Mapped[str] = mapped_column(String(32), default="draft", server_default="draft")
    state_changed_at: Mapped[dt.datetime | None]
    state_changed_by: Mapped[str | None] = mapped_column(String(200))
    valid_until: Mapped[dt.datetime | None]

    configuration: Mapped[Configuration] = relationship(back_populates="revisions")


class ContentVersion(Base):
    __tablename__ = "content_versions"

    version: Mapped[str] = mapped_column(String(64), primary_key=True)
    loaded_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # The directory the pack was loaded from when first stored (informational).
    root: Mapped[str | None] = mapped_column(String(1000))

    files: Mapped[list[ContentFile]] = relationship(back_populates="content_version",
                                                    order_by="ContentFile.path")


class ContentBlob(Base):
    __tablename__ = "content_blobs"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int]
    data: Mapped[bytes] = mapped_column(LargeBinary)


class ContentFile(Base):
    __tablename__ = "content_files"

    version: Mapped[str] = mapped_column(ForeignKey("content_versions.version"),
                                         primary_key=True)
    path: Mapped[str] = mapped_column(String(CONTENT_PATH_MAX), primary_key=True)
    sha256: Mapped[str] = mapped_column(ForeignKey("content_blobs.sha256"), index=True)

    content_version: Mapped[ContentVersion] = relationship(back_populates="files")
    blob: Mapped[ContentBlob] = relationship()


# --- web sign-in and customer profiles (configurator.accounts, configurator.web) ---------------

USER_EMAIL_MAX = 254


class User(Base):
    """Someone who signs in to the web forms. `role` is solution-lead, product-manager or admin
    (configurator.accounts.roles). `session_token` identifies the user in the session cookie; it
    is replaced when the password changes or the user is deactivated, which signs them out
    everywhere."""
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(USER_EMAIL_MAX), unique=True)  # kept lowercase
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(32))
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(default=True)
    session_token: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_sign_in_at: Mapped[dt.datetime | None]
    # The approver roles this user holds (roles the rules name in `require_approval`, such as
    # finance or legal): the approvals they may give.
    approver_roles: Mapped[list[str]] = mapped_column(JSON, default=list)


class CustomerProfile(Base):
    """A customer's current business profile as a solution lead entered or imported it.
    Configuring copies it into a revision; the revision keeps its own copy."""
    __tablename__ = "customer_profiles"

    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), primary_key=True)
    profile: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_by: Mapped[str | None] = mapped_column(String(200))

    customer: Mapped[Customer] = relationship()


# --- approvals and proposals (configurator.proposals, configurator.store.proposals) ------------

class Approval(Base):
    """One decision on a required approval of a revision: the role (as the revision's document
    names it), approved or rejected, by whom (the user, and the API key if one was used), when,
    and a comment (`note`; a rejection always has one). A revision is approved when every role
    its document requires has an approving row here. `carried_from` names the earlier revision
    whose approval this one kept (services/workflow.py, smart re-approval)."""
    __tablename__ = "approvals"
    __table_args__ = (UniqueConstraint("revision_id", "role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    revision_id: Mapped[int] = mapped_column(ForeignKey("revisions.id"))
    role: Mapped[str] = mapped_column(String(100))
    decision: Mapped[str] = mapped_column(String(16), default="approved",
                                          server_default="approved")
    approved_by: Mapped[str] = mapped_column(String(200))
    approved_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    note: Mapped[str | None] = mapped_column(String(2000))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    via_api_key: Mapped[str | None] = mapped_column(String(16))
    carried_from: Mapped[int | None]


class Proposal(Base):
    """A rendered PDF of one revision, with its checksum. The same revision, template, language,
    content version and approvals give the same proposal, stored once (`approvals_key` is a
    digest of the approvals the PDF shows; a new approval makes a new proposal)."""
    __tablename__ = "proposals"
    __table_args__ = (UniqueConstraint("revision_id", "template", "language", "content_version",
                                       "approvals_key", name="uq_proposals_rendering"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    revision_id: Mapped[int] = mapped_column(ForeignKey("revisions.id"), index=True)
    template: Mapped[str] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(String(16))
    content_version: Mapped[str] = mapped_column(ForeignKey("content_versions.version"))
    approvals_key: Mapped[str] = mapped_column(String(64))
    draft: Mapped[bool]
    pages: Mapped[int]
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    pdf: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str | None] = mapped_column(String(200))
    via_api_key: Mapped[str | None] = mapped_column(String(16))
    # The customer as the revision names it, kept with the PDF: its metadata and file name
    # never change when a later revision renames the customer.
    customer_name: Mapped[str | None] = mapped_column(String(CUSTOMER_NAME_MAX))


# --- API keys for sales tools (configurator.accounts.apikeys, configurator.api.auth) ------------

class ApiKey(Base):
    """A key a program sends as `Authorization: Bearer cfg_<prefix>_<secret>`. Only the SHA-256
    of the whole key is stored; `prefix` is public and finds the row. `scopes` is a
    space-separated subset of configurator.accounts.roles.SCOPES. A key stops working when
    `revoked_at` or `expires_at` has passed (rotation sets the old key's `expires_at`)."""
    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    secret_sha256: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    scopes: Mapped[str] = mapped_column(String(200))
    # Requests per period for this key, e.g. "600/minute"; None uses API_RATE_LIMIT.
    rate_limit: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str | None] = mapped_column(String(200))
    expires_at: Mapped[dt.datetime | None]
    revoked_at: Mapped[dt.datetime | None]
    # The key this one replaced by rotation, if any.
    replaces_id: Mapped[int | None] = mapped_column(ForeignKey("api_keys.id"))
    # The user the key acts for: what it writes is recorded as theirs, and it approves only
    # for the approver roles they hold. None (keys from before 0006): it acts for nobody.
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


# Longest `Idempotency-Key` header value the API accepts.
IDEMPOTENCY_KEY_MAX = 255


class IdempotentRequest(Base):
    """A POST sent with an `Idempotency-Key` header, and the answer it got: a client that
    retries it with the same key (its answer was lost) gets that answer again instead of a
    second configuration or revision. A key belongs to the API key that sent it; `fingerprint`
    is the SHA-256 of the request (method, path, body), so the same key with another request is
    refused. `status` is NULL while the first request runs; rows are kept a day."""
    __tablename__ = "idempotent_requests"
    __table_args__ = (UniqueConstraint("api_key_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    api_key_id: Mapped[int] = mapped_column(ForeignKey("api_keys.id"))
    key: Mapped[str] = mapped_column(String(IDEMPOTENCY_KEY_MAX))
    fingerprint: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    status: Mapped[int | None] = mapped_column(Integer)
    location: Mapped[str | None] = mapped_column(String(500))
    response: Mapped[dict[str, Any] | None] = mapped_column(JSON)
