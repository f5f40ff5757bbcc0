"""Every API error as `application/problem+json` (RFC 9457): {type, title, status, detail, errors?}.

`errors` maps each bad field's path (`profile.scores.loyalty`, `adjustments.0.module`,
`page_size`, `body`) to its messages. Domain exceptions from the services become problems here,
in one place; no view checks a field by hand, and no traceback ever reaches a client.
"""
from __future__ import annotations

import json
import logging
import uuid
from http import HTTPStatus
from typing import Any

import flask
from flask import request
from sqlalchemy.exc import IntegrityError, OperationalError
from werkzeug.exceptions import HTTPException

from ..content.problems import ContentError
from ..content.profile import ProfileInvalid
from ..engine.adjustments import AdjustmentInvalid
from ..store.configurations import NotFound
from .schemas import ProblemSchema

MIMETYPE = "application/problem+json"
API_PREFIX = "/api/"
TYPE = "urn:configurator:problem:"
# Headers of an HTTP error worth passing on to the client.
KEPT_HEADERS = ("Allow", "Retry-After", "WWW-Authenticate")
BODY_METHODS = ("POST", "PUT", "PATCH")

log = logging.getLogger(__name__)


class Unavailable(Exception):
    """The service cannot answer now (the health check failed); `checks` says what failed."""

    def __init__(self, detail: str, checks: dict[str, Any]):
        self.detail = detail
        self.checks = checks
        super().__init__(detail)


def documented() -> dict[str, Any]:
    """alt_response arguments documenting a problem+json response."""
    return {"schema": ProblemSchema, "content_type": MIMETYPE}


def problem(status: int, detail: str, *, kind: str | None = None, title: str | None = None,
            errors: dict[str, list[str]] | None = None, headers: dict[str, str] | None = None,
            **extra: Any) -> flask.Response:
    """A problem+json response."""
    body: dict[str, Any] = {"type": TYPE + kind if kind else "about:blank",
                            "title": title or _phrase(status), "status": status, "detail": detail}
    if errors:
        body["errors"] = errors
    body.update(extra)
    response = flask.current_app.response_class(json.dumps(body), status=status, mimetype=MIMETYPE)
    response.headers.update(headers or {})
    return response


def flatten(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    """marshmallow's nested messages -> {dotted.path: [messages]}; `_schema` names its parent
    (or the whole body at the top)."""
    out: dict[str, list[str]] = {}
    if isinstance(messages, dict):
        for key, value in messages.items():
            if key == "_schema":
                path = prefix or "body"
            else:
                path = f"{prefix}.{key}" if prefix else str(key)
            for sub, texts in flatten(value, path).items():
                out.setdefault(sub, []).extend(texts)
    elif isinstance(messages, (list, tuple)):
        for item in messages:
            if isinstance(item, (dict, list, tuple)):
                for sub, texts in flatten(item, prefix).items():
                    out.setdefault(sub, []).extend(texts)
            else:
                out.setdefault(prefix or "body", []).append(str(item))
    else:
        out.setdefault(prefix or "body", []).append(str(messages))
    return out


def is_api_request() -> bool:
    return flask.has_request_context() and request.path.startswith(API_PREFIX)


def http_problem(error: HTTPException) -> flask.Response | HTTPException:
    """An HTTP error (routing, abort(), webargs validation, body too large) as a problem.

    Outside the API (the web pages) the error is left to Flask's default handling.
    """
    if not is_api_request():
        return error
    status = error.code or 500
    headers = {k: v for k, v in error.get_headers() if k in KEPT_HEADERS}
    data = getattr(error, "data", None) or {}
    headers.update(data.get("headers") or {})
    detail = data.get("message") or error.description or _phrase(status)
    errors: dict[str, list[str]] = {}
    kind = None
    messages = data.get("messages")
    if isinstance(messages, dict):  # webargs: {location: messages}
        for location, located in messages.items():
            errors.update(flatten(located, "" if location in ("json", "query") else location))
    if status == 400 and "body" in errors:
        kind, detail = "malformed-json", "The request body is not valid JSON."
    elif status == 422 and errors:
        kind = "invalid-request"
        detail = "The request does not have the expected shape; see `errors`."
    elif status == 500:
        detail = "The server failed to handle the request."
    return problem(status, detail, kind=kind, errors=errors or None, headers=headers)


def require_json() -> flask.Response | None:
    """Before a request with a body: it must be JSON."""
    if request.method in BODY_METHODS and not request.is_json:
        return problem(415, "Send the request body as JSON with `Content-Type: application/json`.",
                       kind="unsupported-media-type",
                       errors={"body": [f"Content-Type {request.mimetype or '(none)'} is not "
                                        "application/json"]})
    return None


def attach(blueprint: flask.Blueprint) -> None:
    """Install the JSON-body check and the domain-exception handlers on an API blueprint."""
    blueprint.before_request(require_json)
    blueprint.register_error_handler(ProfileInvalid, _profile_invalid)
    blueprint.register_error_handler(AdjustmentInvalid, _adjustment_invalid)
    blueprint.register_error_handler(ContentError, _content_unavailable)
    blueprint.register_error_handler(NotFound, _not_found)
    blueprint.register_error_handler(Unavailable, _unavailable)
    blueprint.register_error_handler(OperationalError, _database_unavailable)
    blueprint.register_error_handler(IntegrityError, _conflict)
    blueprint.register_error_handler(Exception, _unexpected)


def _profile_invalid(exc: ProfileInvalid) -> flask.Response:
    errors = {_under("profile", path): messages for path, messages in exc.errors.items()}
    return problem(422, "The profile does not match the profile declaration "
                        "(GET /api/v1/profile-schema); see `errors`.",
                   kind="invalid-profile", errors=errors)


def _adjustment_invalid(exc: AdjustmentInvalid) -> flask.Response:
    errors = {path if path.startswith("adjustments") else _under("adjustments", path): messages
              for path, messages in exc.errors.items()}
    return problem(422, "An adjustment cannot be applied; see `errors`.",
                   kind="invalid-adjustment", errors=errors)


def _content_unavailable(exc: ContentError) -> flask.Response:
    return problem(503, "No usable content pack is loaded; GET /api/v1/content lists the "
                        "problems.", kind="content-unavailable",
                   headers={"Retry-After": str(flask.current_app.config["RETRY_AFTER"])})


def _not_found(exc: NotFound) -> flask.Response:
    return problem(404, exc.message, kind="not-found")


def _unavailable(exc: Unavailable) -> flask.Response:
    return problem(503, exc.detail, kind="unavailable", checks=exc.checks,
                   headers={"Retry-After": str(flask.current_app.config["RETRY_AFTER"])})


def _database_unavailable(exc: OperationalError) -> flask.Response:
    log.warning("database unavailable on %s %s: %s", request.method, request.path, exc.orig)
    return problem(503, "The database is unavailable; retry shortly.", kind="database-unavailable",
                   headers={"Retry-After": str(flask.current_app.config["RETRY_AFTER"])})


def _conflict(exc: IntegrityError) -> flask.Response:
    log.warning("integrity error on %s %s: %s", request.method, request.path, exc.orig)
    return problem(409, "The request collided with a concurrent change; retry it.",
                   kind="conflict")


def _unexpected(exc: Exception) -> flask.Response:
    if isinstance(exc, HTTPException):  # pragma: no cover - Flask routes these to http_problem
        return http_problem(exc)
    incident = uuid.uuid4().hex
    log.error("incident %s: unhandled error on %s %s", incident, request.method, request.path,
              exc_info=exc)
    return problem(500, "The server failed to handle the request; the incident was logged.",
                   instance=f"urn:uuid:{incident}")


def _under(prefix: str, path: str) -> str:
    if path in ("", "_schema", f"_{prefix}"):
        return prefix
    return f"{prefix}.{path}"


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"
