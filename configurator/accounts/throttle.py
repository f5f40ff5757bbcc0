"""The sign-in throttle: failed sign-ins counted per account and per client address.

Password guessing through the sign-in form is limited twice: `account_failures` failures for
one e-mail address (from anywhere), or `address_failures` from one client address (for any
e-mail addresses), within `seconds` of the first, lock that account, or that address, for
`seconds` from the failure that reached the limit. A locked attempt is refused before its
password is hashed, so a refused attempt costs a read by primary key instead of an scrypt hash.

- **Where the counts live**: in the database (`sign_in_failures`), so that every gunicorn worker
  and every server sharing DATABASE_URL sees the same counts (the rate limiter's `memory://`
  storage counts per worker), on SQLite and PostgreSQL alike, with nothing more to run.
  A failure costs one small write; a refused attempt only a read.
- **Unknown e-mail addresses count like known ones**, so neither the answers nor the time they
  take say which accounts exist. Rows are named by the SHA-256 of what they count: the table
  holds neither the addresses people typed (sometimes a password, typed in the wrong field) nor
  their network addresses.
- **A successful sign-in clears its account's count**, not its address's: otherwise one valid
  account would let its holder guess other accounts' passwords from the same address without
  end. A new password (set by an admin or the CLI) clears the account's lock as well.
- A lock never ends a session: signed-in users keep working; only new sign-ins are refused.
- Concurrent failures are counted exactly (one atomic upsert per count); attempts already past
  the check when the limit is reached still run, so at most `limit + concurrent requests - 1`
  passwords are tried in a window.

Plain functions over a SQLAlchemy session; writes flush, never commit (the caller commits).
E-mail addresses are passed in already normalised (`services.normalise_email`).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import case, delete, literal, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from ..store.models import SignInFailures, utcnow

ACCOUNT = "account"
ADDRESS = "address"
# Expired counts are deleted by at most one failed attempt per process this often.
PURGE_EVERY_SECONDS = 300.0
_last_purge = -PURGE_EVERY_SECONDS


@dataclass(frozen=True)
class Policy:
    """How many failures lock an account or an address (0: that count is off), and for how
    long (seconds: the window failures are counted in, and the lock). The defaults are the
    settings' (SIGN_IN_* in configurator/config.py)."""
    account_failures: int
    address_failures: int
    seconds: float

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Policy:
        return cls(int(config["SIGN_IN_ACCOUNT_FAILURES"]),
                   int(config["SIGN_IN_ADDRESS_FAILURES"]),
                   float(config["SIGN_IN_LOCK_SECONDS"]))

    def limit(self, scope: str) -> int:
        return self.account_failures if scope == ACCOUNT else self.address_failures


@dataclass(frozen=True)
class Lock:
    """Sign-ins for this account, or from this address (`scope`), are refused until `until`."""
    scope: str
    until: dt.datetime

    def retry_after(self, now: dt.datetime | None = None) -> int:
        """Whole seconds until the lock ends (at least 1), for a `Retry-After` header."""
        return max(1, math.ceil((self.until - (now or utcnow())).total_seconds()))

    def message(self, now: dt.datetime | None = None) -> str:
        seconds = self.retry_after(now)
        wait = (f"{seconds} seconds" if seconds < 60
                else f"{math.ceil(seconds / 60)} minute{'s' if seconds > 60 else ''}")
        where = "for this account" if self.scope == ACCOUNT else "from your network address"
        return (f"Too many failed sign-ins {where}; try again in {wait} "
                f"(at {self.until:%H:%M} UTC).")


@dataclass(frozen=True)
class Counts:
    """The rows that count one attempt's failures: its account's and its address's."""
    account: str
    address: str

    @classmethod
    def of(cls, email: str, address: str) -> Counts:
        return cls(_key(ACCOUNT, email), _key(ADDRESS, address))

    def scoped(self) -> tuple[tuple[str, str], ...]:
        return (ACCOUNT, self.account), (ADDRESS, self.address)


def client_address(remote_addr: str | None) -> str:
    """What one client's address is for counting: the IPv4 address, or the /64 network of an
    IPv6 address (one machine usually holds a whole /64, so counting single IPv6 addresses
    would let it change address at every attempt)."""
    try:
        ip = ipaddress.ip_address((remote_addr or "").strip())
    except ValueError:
        return "unknown"
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


def lock_in_force(session: Session, counts: Counts, policy: Policy,
                  now: dt.datetime | None = None) -> Lock | None:
    """The lock that refuses an attempt now (the account's or the address's; the later one when
    both are locked), or None. One read by primary key."""
    now = now or utcnow()
    rows = session.execute(
        select(SignInFailures.key, SignInFailures.failures, SignInFailures.window_ends_at)
        .where(SignInFailures.key.in_([counts.account, counts.address]))).all()
    found = {key: (failures, ends) for key, failures, ends in rows}
    locks = []
    for scope, key in counts.scoped():
        limit = policy.limit(scope)
        failures, ends = found.get(key, (0, now))
        if limit and failures >= limit and ends > now:
            locks.append(Lock(scope, ends))
    return max(locks, key=lambda lock: lock.until) if locks else None


def count_failure(session: Session, counts: Counts, policy: Policy,
                  now: dt.datetime | None = None) -> Lock | None:
    """Count a failed attempt for its account and its address; the lock in force when this
    failure reached a limit (or found one reached), else None. The caller has begun a write
    transaction (`store.db.begin_write`) and commits."""
    global _last_purge
    now = now or utcnow()
    connection = session.connection()
    if time.monotonic() - _last_purge > PURGE_EVERY_SECONDS:
        _last_purge = time.monotonic()
        _purge(session, connection.dialect.name, now)
    locks = []
    for scope, key in counts.scoped():  # always account, then address: no deadlock between two
        limit = policy.limit(scope)
        if not limit:
            continue
        failures, ends = connection.execute(
            _upsert(connection.dialect.name, key, limit, now, policy.seconds)).one()
        if failures >= limit and ends > now:
            locks.append(Lock(scope, ends))
    return max(locks, key=lambda lock: lock.until) if locks else None


def forget_account(session: Session, email: str) -> None:
    """Clear the account's failures (a successful sign-in, a new password)."""
    session.execute(delete(SignInFailures).where(SignInFailures.key == _key(ACCOUNT, email)))


def _key(scope: str, value: str) -> str:
    return hashlib.sha256(f"{scope}\0{value}".encode("utf-8", "surrogatepass")).hexdigest()


def _upsert(dialect: str, key: str, limit: int, now: dt.datetime, seconds: float) -> Any:
    """One statement, so concurrent failures are all counted: a new row with one failure; or the
    row's count plus one, starting afresh when its window has ended; the failure that reaches
    `limit` moves the end of the window to `seconds` from now (the lock). Returns the count and
    the end of its window."""
    table = SignInFailures.__table__
    ends_type = table.c.window_ends_at.type
    now_value = literal(now, ends_type)
    ends = literal(now + dt.timedelta(seconds=seconds), ends_type)
    ended = table.c.window_ends_at <= now_value
    module = postgresql if dialect == "postgresql" else sqlite
    return (module.insert(table)
            .values(key=key, failures=1, window_ends_at=ends)
            .on_conflict_do_update(index_elements=[table.c.key], set_={
                "failures": case((ended, 1), else_=table.c.failures + 1),
                "window_ends_at": case((ended, ends), (table.c.failures + 1 == limit, ends),
                                       else_=table.c.window_ends_at)})
            .returning(table.c.failures, table.c.window_ends_at))


def _purge(session: Session, dialect: str, now: dt.datetime) -> None:
    """Delete counts whose window has ended. Rows another transaction holds are skipped
    (PostgreSQL's SKIP LOCKED), so the purge never waits for nor deadlocks with a count."""
    ended = select(SignInFailures.key).where(SignInFailures.window_ends_at <= now)
    if dialect == "postgresql":
        ended = ended.with_for_update(skip_locked=True)
    session.execute(delete(SignInFailures).where(SignInFailures.key.in_(ended)),
                    execution_options={"synchronize_session": False})
