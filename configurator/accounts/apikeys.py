"""API keys for programs (sales tools): create, list, revoke, rotate, authenticate.

A key reads `cfg_<prefix>_<secret>`: the prefix (8 hex digits) is public and finds the row, the
secret (43 URL-safe characters, 256 bits) is shown once at creation and never stored; the row
keeps the SHA-256 of the whole key. A fast hash is right here, unlike for passwords: the secret
is random and long, so there is nothing to guess, and every request pays for the check.

Plain functions over a SQLAlchemy session; they flush but never commit (the caller commits).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

from limits import parse as parse_rate_limit
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..store.db import begin_write
from ..store.models import ApiKey, utcnow
from .roles import SCOPES
from .services import FieldsInvalid

KEY_PATTERN = re.compile(r"cfg_([0-9a-f]{8})_([A-Za-z0-9_-]{43})")
NAME_MAX = 200


class ApiKeyInvalid(FieldsInvalid):
    """A key's name, scopes, rate limit or rotation grace is not acceptable."""


class ApiKeyNotFound(LookupError):
    pass


@dataclass(frozen=True)
class KeyInfo:
    """A key as the rest of the service sees it (never the secret or its hash)."""
    id: int
    prefix: str
    name: str
    scopes: frozenset[str]
    rate_limit: str | None
    created_at: dt.datetime
    created_by: str | None
    expires_at: dt.datetime | None
    revoked_at: dt.datetime | None
    replaces_id: int | None
    user_id: int | None = None        # the user the key acts for (None: nobody)

    def active(self, now: dt.datetime | None = None) -> bool:
        now = now or utcnow()
        if self.revoked_at is not None and self.revoked_at <= now:
            return False
        return self.expires_at is None or self.expires_at > now

    def status(self, now: dt.datetime | None = None) -> str:
        now = now or utcnow()
        if self.revoked_at is not None and self.revoked_at <= now:
            return "revoked"
        if self.expires_at is not None:
            return "expired" if self.expires_at <= now else "expiring"
        return "active"

    def as_dict(self) -> dict:
        def iso(value: dt.datetime | None) -> str | None:
            return value.isoformat() if value else None
        return {"prefix": self.prefix, "name": self.name, "scopes": sorted(self.scopes),
                "rate_limit": self.rate_limit, "status": self.status(),
                "created_at": iso(self.created_at), "created_by": self.created_by,
                "user_id": self.user_id,
                "expires_at": iso(self.expires_at), "revoked_at": iso(self.revoked_at)}


def _info(row: ApiKey) -> KeyInfo:
    return KeyInfo(row.id, row.prefix, row.name, frozenset(row.scopes.split()), row.rate_limit,
                   row.created_at, row.created_by, row.expires_at, row.revoked_at,
                   row.replaces_id, row.user_id)


def digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _check(name: str, scopes: list[str] | tuple[str, ...], rate_limit: str | None) -> list[str]:
    errors: dict[str, list[str]] = {}
    name = name.strip()
    if not name:
        errors["name"] = ["a key needs a name saying who uses it, e.g. 'crm-sync'"]
    elif len(name) > NAME_MAX:
        errors["name"] = [f"at most {NAME_MAX} characters"]
    unknown = [s for s in scopes if s not in SCOPES]
    if unknown:
        errors["scopes"] = [f"unknown scope {s!r}; the scopes are {', '.join(SCOPES)}"
                            for s in unknown]
    elif not scopes:
        errors["scopes"] = [f"give at least one scope of {', '.join(SCOPES)}"]
    if rate_limit is not None:
        try:
            parse_rate_limit(rate_limit)
        except ValueError:
            errors["rate_limit"] = [f"{rate_limit!r} is not a rate such as '600/minute' or "
                                    "'20/second'"]
    if errors:
        raise ApiKeyInvalid(errors)
    return sorted(set(scopes), key=SCOPES.index)


def create(session: Session, name: str, scopes: list[str] | tuple[str, ...], *,
           rate_limit: str | None = None, created_by: str | None = None,
           replaces_id: int | None = None, user_id: int | None = None) -> tuple[KeyInfo, str]:
    """A new key acting for `user_id`: (its info, the key itself, which is shown this once)."""
    ordered = _check(name, scopes, rate_limit)
    begin_write(session)
    while True:
        prefix = secrets.token_hex(4)
        if session.scalar(select(ApiKey.id).where(ApiKey.prefix == prefix)) is None:
            break
    key = f"cfg_{prefix}_{secrets.token_urlsafe(32)}"
    row = ApiKey(prefix=prefix, secret_sha256=digest(key), name=name.strip(),
                 scopes=" ".join(ordered), rate_limit=rate_limit, created_by=created_by,
                 replaces_id=replaces_id, user_id=user_id)
    session.add(row)
    session.flush()
    return _info(row), key


def list_keys(session: Session, *, include_inactive: bool = True) -> list[KeyInfo]:
    rows = session.scalars(select(ApiKey).order_by(ApiKey.created_at, ApiKey.id))
    found = [_info(row) for row in rows]
    return found if include_inactive else [k for k in found if k.active()]


def _row(session: Session, prefix: str) -> ApiKey:
    prefix = prefix.strip()
    match = KEY_PATTERN.fullmatch(prefix)
    if match:  # the whole key was given: use its prefix
        prefix = match.group(1)
    row = session.scalar(select(ApiKey).where(ApiKey.prefix == prefix.lower()))
    if row is None:
        raise ApiKeyNotFound(f"no API key with prefix {prefix!r}; `configurator apikey list` "
                             "shows them")
    return row


def revoke(session: Session, prefix: str) -> KeyInfo:
    """Revoke a key now (revoking twice keeps the first time)."""
    begin_write(session)
    row = _row(session, prefix)
    if row.revoked_at is None:
        row.revoked_at = utcnow()
    session.flush()
    return _info(row)


def rotate(session: Session, prefix: str, *, grace: dt.timedelta = dt.timedelta(0),
           created_by: str | None = None) -> tuple[KeyInfo, str, KeyInfo]:
    """Replace a key by a new one with the same name, scopes and rate limit. The old key keeps
    working for `grace` (so a tool can switch over), then expires.
    Returns (new info, new key, old info)."""
    if grace < dt.timedelta(0):
        raise ApiKeyInvalid({"grace": ["cannot be negative"]})
    begin_write(session)
    old = _row(session, prefix)
    if not _info(old).active():
        raise ApiKeyInvalid({"prefix": [f"key {old.prefix} is {_info(old).status()}; only an "
                                        "active key can be rotated (create a new one)"]})
    expires = utcnow() + grace
    if old.expires_at is None or old.expires_at > expires:
        old.expires_at = expires
    info, key = create(session, old.name, old.scopes.split(), rate_limit=old.rate_limit,
                       created_by=created_by, replaces_id=old.id, user_id=old.user_id)
    return info, key, _info(old)


def authenticate(session: Session, presented: str) -> KeyInfo | None:
    """The active key `presented` is, or None (unknown, malformed, revoked or expired)."""
    match = KEY_PATTERN.fullmatch(presented)
    if not match:
        return None
    row = session.scalar(select(ApiKey).where(ApiKey.prefix == match.group(1)))
    if row is None or not hmac.compare_digest(row.secret_sha256, digest(presented)):
        return None
    info = _info(row)
    return info if info.active() else None
