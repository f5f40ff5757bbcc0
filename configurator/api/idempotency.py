"""The `Idempotency-Key` header of the POSTs that store something (store/idempotency.py keeps
the answers): a view asks `replay` first and `remember`s its answer before committing."""
from __future__ import annotations

from typing import Any

import flask
import marshmallow as ma
from flask import g, request
from ..store import idempotency as store
from ..store.db import Session

HEADER = "Idempotency-Key"
REPLAYED = "Idempotent-Replayed"

# For the OpenAPI document: the header a replayed answer carries.
REPLAYED_HEADER = {REPLAYED: {"description": "`true` when this is the answer to an earlier "
                                             f"request with the same `{HEADER}`",
                              "schema": {"type": "string", "enum": ["true"]}}}


def replay(session: Session, headers: dict[str, Any]) -> flask.Response | None:
    """The first answer to this request's key, or None when there is no key or this request is
    the first with it (it then holds the key until it commits or rolls back).

    Raises store.KeyReused when the key came with another request."""
    key = headers.get("idempotency_key")
    if key is None:
        return None
    answer = store.claim(session, g.api_key.id, key,
                         store.fingerprint(request.method, request.path, request.get_json()))
    if answer is None:
        return None
    response = flask.current_app.json.response(answer.body)
    response.status_code = answer.status
    response.headers[REPLAYED] = "true"
    if answer.location:
        response.headers["Location"] = answer.location
    return response


def remember(session: Session, headers: dict[str, Any], status: int, result: Any,
             schema: ma.Schema, location: str | None) -> None:
    """Keep the answer (`result` as `schema` writes it) for a retry with this request's key."""
    key = headers.get("idempotency_key")
    if key is not None:
        store.remember(session, g.api_key.id, key,
                       store.Answer(status, schema.dump(result), location))
