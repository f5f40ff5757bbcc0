"""Users of the web forms: create, find, sign in, deactivate. Plain functions over a
SQLAlchemy session; they flush but never commit (the caller commits once per unit of work).

Passwords are hashed with werkzeug.security (scrypt, salted); the plain text is never stored.
A password typed into a form is checked through `attempt_password`, which the sign-in throttle
(`throttle.py`) guards: a locked account or address is refused before any hashing.
"""
from __future__ import annotations

import re
import secrets
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from ..store.db import begin_write
from ..store.models import USER_EMAIL_MAX, User, utcnow
from . import throttle
from .roles import ROLE_LABELS, ROLES

MIN_PASSWORD = 8
MAX_PASSWORD = 200
NAME_MAX = 200
EMAIL_PATTERN = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


class FieldsInvalid(ValueError):
    """`errors` maps each bad field to messages; str() lists them as `field: messages; ...`."""

    def __init__(self, errors: dict[str, list[str]]):
        self.errors = errors
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items()))


class UserInvalid(FieldsInvalid):
    """A user's email, name, role or password is not acceptable."""


# an approver role as the rules write it in `require_approval` (e.g. sales-director)
APPROVER_ROLE = re.compile(r"[a-z0-9][a-z0-9_-]{0,99}")


class UserNotFound(LookupError):
    pass


@dataclass(frozen=True)
class Account:
    """A user as the web layer sees it (no password hash). Flask-Login's user object."""
    id: int
    email: str
    name: str
    role: str
    active: bool
    session_token: str
    created_at: Any = None
    last_sign_in_at: Any = None
    approver_roles: tuple[str, ...] = ()     # the approvals this user may give

    # Flask-Login's protocol
    is_authenticated = True
    is_anonymous = False

    @property
    def is_active(self) -> bool:
        return self.active

    def get_id(self) -> str:
        return self.session_token

    @property
    def role_label(self) -> str:
        return ROLE_LABELS.get(self.role, self.role)

    @property
    def signature(self) -> str:
        """What revisions and adjustments record as who made them."""
        return self.email


def account(user: User) -> Account:
    return Account(user.id, user.email, user.name, user.role, user.active, user.session_token,
                   user.created_at, user.last_sign_in_at, tuple(user.approver_roles or ()))


def normalise_email(email: str) -> str:
    return email.strip().lower()


def validate_user(email: str, name: str, role: str, password: str | None) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if not EMAIL_PATTERN.fullmatch(email) or len(email) > USER_EMAIL_MAX:
        errors["email"] = ["Enter an email address such as name@example.com."]
    if not name.strip():
        errors["name"] = ["Enter the person's name."]
    elif len(name) > NAME_MAX:
        errors["name"] = [f"At most {NAME_MAX} characters."]
    if role not in ROLES:
        errors["role"] = [f"Choose one of: {', '.join(ROLES)}."]
    if password is not None:
        errors.update(password_errors(password))
    return errors


def password_errors(password: str) -> dict[str, list[str]]:
    if len(password) < MIN_PASSWORD:
        return {"password": [f"Use at least {MIN_PASSWORD} characters."]}
    if len(password) > MAX_PASSWORD:
        return {"password": [f"Use at most {MAX_PASSWORD} characters."]}
    return {}


def generate_password() -> str:
    """A random password that is easy to type: four groups of four letters and digits."""
    alphabet = "abcdefghjkmnpqrstuvwxyz23456789"
    return "-".join("".join(secrets.choice(alphabet) for _ in range(4)) for _ in range(4))


def create_user(session: Session, email: str, name: str, role: str, password: str) -> Account:
    """A new active user; raises UserInvalid (also when the email is taken)."""
    email = normalise_email(email)
    name = name.strip()
    errors = validate_user(email, name, role, password)
    begin_write(session)
    if "email" not in errors and _by_email(session, email) is not None:
        errors["email"] = ["A user with this email address exists already."]
    if errors:
        raise UserInvalid(errors)
    user = User(email=email, name=name, role=role, password_hash=generate_password_hash(password),
                active=True, session_token=_token(), created_at=utcnow())
    session.add(user)
    session.flush()
    return account(user)


def authenticate(session: Session, email: str, password: str) -> Account | None:
    """The active user with this email and password, recording the sign-in; otherwise None.
    Not throttled: forms go through `attempt_password`."""
    account = _check_password(session, normalise_email(email), password)
    if account is not None:
        _record_sign_in(session, account.id)
    return account


@dataclass(frozen=True)
class Attempt:
    """What a password typed into a form came to: the account it signs in (None: refused), and
    the lock in force afterwards, if any (a lock that refused it, or one its failure set)."""
    account: Account | None
    lock: throttle.Lock | None


def attempt_password(session: Session, email: str, password: str, address: str,
                     policy: throttle.Policy, *, signing_in: bool = True) -> Attempt:
    """Check a password typed into a form, under the sign-in throttle: refused without hashing
    while the account or the client `address` (`throttle.client_address`) is locked; a failure
    is counted for both; a success clears the account's count and, when `signing_in`, records
    the sign-in.

    The password is hashed outside any transaction (an scrypt hash takes tens of milliseconds;
    on SQLite a write transaction would hold every other writer for that long). So it ends the
    session's transaction before hashing: call it first in a unit of work. It leaves a write
    transaction (the sign-in, or the failure counted) for the caller to commit."""
    email = normalise_email(email)
    counts = throttle.Counts.of(email, address)
    lock = throttle.lock_in_force(session, counts, policy)
    session.rollback()  # end the read: the write below starts its own transaction (SQLite)
    if lock is not None:
        return Attempt(None, lock)
    account = _check_password(session, email, password)
    session.rollback()
    begin_write(session)
    if account is None:
        return Attempt(None, throttle.count_failure(session, counts, policy))
    throttle.forget_account(session, email)
    if signing_in:
        _record_sign_in(session, account.id)
    return Attempt(account, None)


def _check_password(session: Session, email: str, password: str) -> Account | None:
    """The active user with this (normalised) email and password, or None; as slow for an
    unknown email as for a wrong password."""
    user = _by_email(session, email)
    if user is None:
        check_password_hash(_dummy_hash(), password)  # a wrong email takes as long as a wrong password
        return None
    if not check_password_hash(user.password_hash, password) or not user.active:
        return None
    return account(user)


def _record_sign_in(session: Session, user_id: int) -> None:
    begin_write(session)
    _by_id(session, user_id).last_sign_in_at = utcnow()
    session.flush()


def by_session_token(session: Session, token: str) -> Account | None:
    """The active user whose session this is (Flask-Login's user loader)."""
    if not token or len(token) > 64:
        return None
    user = session.scalars(select(User).where(User.session_token == token)).one_or_none()
    return account(user) if user is not None and user.active else None


def get_user(session: Session, email: str) -> Account:
    wanted = normalise_email(email)
    # text no stored email can be (too long; NUL, which PostgreSQL refuses) is simply not found
    possible = len(wanted) <= USER_EMAIL_MAX and "\x00" not in wanted
    user = _by_email(session, wanted) if possible else None
    if user is None:
        raise UserNotFound(f"no user with email {email[:USER_EMAIL_MAX]}")
    return account(user)


def list_users(session: Session) -> list[Account]:
    return [account(u) for u in session.scalars(select(User).order_by(func.lower(User.name),
                                                                      User.id))]


def names_by_email(session: Session, emails: set[str]) -> dict[str, str]:
    """Display names for the emails revisions record as their authors."""
    if not emails:
        return {}
    rows = session.execute(select(User.email, User.name).where(User.email.in_(emails)))
    return {email: name for email, name in rows}


def set_active(session: Session, user_id: int, active: bool) -> Account:
    """Activate or deactivate; deactivating also ends the user's sessions."""
    begin_write(session)
    user = _by_id(session, user_id)
    user.active = active
    if not active:
        user.session_token = _token()
    session.flush()
    return account(user)


def set_password(session: Session, user_id: int, password: str) -> Account:
    """A new password; the user's other sessions end, and a sign-in lock on the account too."""
    errors = password_errors(password)
    if errors:
        raise UserInvalid(errors)
    begin_write(session)
    user = _by_id(session, user_id)
    user.password_hash = generate_password_hash(password)
    user.session_token = _token()
    throttle.forget_account(session, user.email)
    session.flush()
    return account(user)


def set_role(session: Session, user_id: int, role: str) -> Account:
    if role not in ROLES:
        raise UserInvalid({"role": [f"Choose one of: {', '.join(ROLES)}."]})
    begin_write(session)
    user = _by_id(session, user_id)
    user.role = role
    session.flush()
    return account(user)


def set_approver_roles(session: Session, user_id: int, roles: Iterable[str], *,
                       named: Collection[str] | None = None) -> Account:
    """The approver roles the user holds from now on (roles such as finance or legal, as the
    rules name them in `require_approval`); the previous ones are replaced.

    With `named` (the roles the served rules name), a role neither named nor already held is
    refused, so a typing mistake never becomes a role nobody asks for; a role the user holds
    that the rules stopped naming may be kept or taken away.
    """
    chosen = sorted({r.strip() for r in roles if r.strip()})
    bad = [r for r in chosen if not APPROVER_ROLE.fullmatch(r)]
    if bad:
        raise UserInvalid({"approver_roles": [f"`{r[:60]}` is not a role name (lowercase "
                                              "letters, digits and dashes, such as finance)"
                                              for r in bad]})
    begin_write(session)
    user = _by_id(session, user_id)
    if named is not None:
        unknown = [r for r in chosen if r not in named and r not in (user.approver_roles or ())]
        if unknown:
            raise UserInvalid({"approver_roles": [
                f"`{r}` is not an approver role the rules name (they name: "
                f"{', '.join(sorted(named)) or 'none'})" for r in unknown]})
    user.approver_roles = chosen
    session.flush()
    return account(user)


def set_approver_roles_by_email(session: Session, email: str, roles: Iterable[str], *,
                                named: Collection[str] | None = None) -> Account:
    """`set_approver_roles` for the user with this email; raises UserNotFound."""
    begin_write(session)   # the read below and the write in one write transaction
    return set_approver_roles(session, get_user(session, email).id, roles, named=named)


def get_user_by_id(session: Session, user_id: int) -> Account:
    return account(_by_id(session, user_id))


def ensure_user(session: Session, email: str, name: str, role: str,
                password: str) -> tuple[Account, str]:
    """Make sure `email` can sign in with `password` in `role`: create the user, or reactivate
    it and reset its password and role, and clear a sign-in lock on it. Returns the account and
    what was done."""
    existing = _by_email(session, normalise_email(email))
    if existing is None:
        return create_user(session, email, name, role, password), "created"
    begin_write(session)
    throttle.forget_account(session, existing.email)
    changed = []
    if not check_password_hash(existing.password_hash, password):
        existing.password_hash = generate_password_hash(password)
        existing.session_token = _token()
        changed.append("password reset")
    if not existing.active:
        existing.active = True
        changed.append("reactivated")
    if existing.role != role:
        existing.role = role
        changed.append(f"role set to {role}")
    session.flush()
    return account(existing), ", ".join(changed) or "unchanged"


def _by_email(session: Session, email: str) -> User | None:
    return session.scalars(select(User).where(User.email == email)).one_or_none()


def _by_id(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise UserNotFound(f"no user {user_id}")
    return user


@cache
def _dummy_hash() -> str:
    return generate_password_hash(secrets.token_hex(16))


def _token() -> str:
    return secrets.token_urlsafe(32)
