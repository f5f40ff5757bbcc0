"""Idempotency keys: a POST retried with the same key gets the first answer again.

A sales tool that loses the answer to a POST (a timeout, a dropped connection) cannot know
whether the configuration was stored; retrying without a key could store it twice. The first
request with a key claims it in its own write transaction and leaves its answer there before
committing; a retry finds the answer and repeats it. On PostgreSQL a retry that arrives while the
first request still runs waits at the claim until that request commits (or rolls back, and then
runs itself); on SQLite the write lock orders them the same way. Only a stored answer is
remembered: a request refused (422, 503, ...) stores nothing, so its retry runs again.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from .db import begin_write
from .models import IdempotentRequest, utcnow

# How long a key is remembered; after that the same key is a new request.
KEEP = dt.timedelta(hours=24)
# Expired rows of every key are deleted by at most one request per process this often (each
# request deletes its own key's expired row): concurrent deletes of many rows could deadlock.
PURGE_EVERY_SECONDS = 300.0
_last_purge = -PURGE_EVERY_SECONDS


class KeyReused(Exception):
    """The key was used with another request (another body or another URL) within KEEP."""


@dataclass(frozen=True)
class Answer:
    """What the first request with a key was answered."""
    status: int
    body: dict[str, Any]
    location: str | None


def fingerprint(method: str, path: str, body: Any) -> str:
    """SHA-256 of the request: the same JSON value in any key order or spacing is the same."""
    text = json.dumps([method, path, body], sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def claim(session: Session, api_key_id: int, key: str, request: str) -> Answer | None:
    """Claim `key` for the request whose fingerprint is `request`: None when this request is the
    first with it (it then runs, and `remember`s its answer in the same transaction), or the
    first request's answer. Raises KeyReused when the key came with another request.

    Begins the session's write transaction."""
    global _last_purge
    begin_write(session)
    connection = session.connection()
    now = utcnow()
    expired = IdempotentRequest.created_at < now - KEEP
    if time.monotonic() - _last_purge > PURGE_EVERY_SECONDS:
        _last_purge = time.monotonic()
        connection.execute(delete(IdempotentRequest).where(expired))
    else:
        connection.execute(delete(IdempotentRequest).where(_this(api_key_id, key), expired))
    inserted = connection.execute(_insert_new(connection.dialect.name).values(
        api_key_id=api_key_id, key=key, fingerprint=request, created_at=now))
    if inserted.first() is not None:
        return None
    row = connection.execute(
        select(IdempotentRequest.fingerprint, IdempotentRequest.status,
               IdempotentRequest.response, IdempotentRequest.location)
        .where(_this(api_key_id, key))
    ).one()
    if row.fingerprint != request:
        raise KeyReused(key)
    # A row without its answer is only ever seen by the transaction that claimed it: a second
    # insert waits for the first transaction to end, and a rollback takes the row with it.
    assert row.status is not None, "an idempotency key claimed by another running transaction"
    return Answer(row.status, row.response, row.location)


def remember(session: Session, api_key_id: int, key: str, answer: Answer) -> None:
    """Keep the answer of the request that claimed `key`; commit with what it stored."""
    session.connection().execute(
        update(IdempotentRequest).where(_this(api_key_id, key))
        .values(status=answer.status, response=answer.body, location=answer.location))


def _this(api_key_id: int, key: str) -> Any:
    """The row of `key` sent with the API key `api_key_id`."""
    return and_(IdempotentRequest.api_key_id == api_key_id, IdempotentRequest.key == key)


def _insert_new(dialect: str) -> Any:
    """INSERT that does nothing when the key is taken (waiting, on PostgreSQL, for a running
    transaction that took it to end), returning the new row's id (rowcount is not reliable
    here: psycopg reports -1)."""
    module = postgresql if dialect == "postgresql" else sqlite
    return module.insert(IdempotentRequest).on_conflict_do_nothing(
        index_elements=["api_key_id", "key"]).returning(IdempotentRequest.id)
