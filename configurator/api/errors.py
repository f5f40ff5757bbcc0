"""Every API error as `application/problem+json` (RFC 9457): {type, title, status, detail, errors?}.

`errors` maps each bad field's path (`profile.scores.loyalty`, `adjustments.0.module`,
`page_size`, `body`) to its messages. Domain exceptions from the services become problems here,
in one place; no view checks a field by hand, and no traceback ever reaches a client.
"""
from __future__ import annotations

import json
import logging
import re
import uuid
from http import HTTPStatus
from typing import Any

import flask
from flask import request
from werkzeug.exceptions import HTTPException

from ..accounts.services import UserInvalid, UserNotFound
from ..content.adjustments import AdjustmentInvalid
from ..content.problems import ContentError
from ..content.profile import ProfileInvalid
from ..proposals import ProposalInvalid, RenderFailed, TemplateBroken
from ..proposals.errors import RenderTimeout
from ..services.approvals import AlreadyApproved, ApprovalInvalid
from ..services.configurations import PreconditionFailed, StaleRevision
from ..services.proposals import TooLarge
from ..services.workflow import Forbidden, StateConflict, StateInvalid
from ..store.errors import (DATABASE_FAILURES, ConcurrentChange, NotFound, UnstorableValue,
                            database_failure)
from ..store.idempotency import KeyReused
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


# What the common error answers mean, for the OpenAPI document (see `responses`).
DESCRIPTIONS = {
    400: "The request body is not valid JSON",
    403: "The caller may not do this; `detail` says why",
    404: "No such resource (or an id out of range)",
    409: "The request collided with a concurrent change",
    412: "`If-Match` is not the current ETag; nothing was changed",
    413: "The request body is larger than the service accepts",
    415: "The request body is not `application/json`",
    422: "The request does not have the documented shape; `errors` names each bad field",
    503: "The database or the content pack is unavailable; retry after `Retry-After` seconds",
    507: "The database has no space left; nothing was stored; retry after `Retry-After` seconds",
}
# The answers an operation that takes a JSON body (they all store something) can give on top of
# its own.
BODY_ERRORS = (400, 413, 415, 422, 507)


def responses(blueprint: Any, *statuses: int, **descriptions: str) -> Any:
    """A decorator documenting problem+json answers of a view: `statuses` with the usual
    descriptions, `descriptions` as `_404="..."` for an operation's own wording."""
    def decorate(view: Any) -> Any:
        wording = {int(key.lstrip("_")): text for key, text in descriptions.items()}
        for status in dict.fromkeys((*statuses, *wording)):
            description = wording[status] if status in wording else DESCRIPTIONS[status]
            view = blueprint.alt_response(status, description=description, **documented())(view)
        return view
    return decorate


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
    """Before a request with a body: it must be JSON. (A POST without a body, such as
    `POST /content/reload`, needs no Content-Type.)"""
    has_body = bool(request.content_length) or "Transfer-Encoding" in request.headers
    if request.method in BODY_METHODS and has_body and not request.is_json:
        return problem(415, "Send the request body as JSON with `Content-Type: application/json`.",
                       kind="unsupported-media-type",
                       errors={"body": [f"Content-Type {request.mimetype or '(none)'} is not "
                                        "application/json"]})
    if request.method in BODY_METHODS and has_body:
        # malformed JSON gives None here, and the argument parser's 400 later
        try:
            parsed = request.get_json(silent=True)
        except RecursionError:  # the JSON parser gives up on nesting thousands deep
            return problem(400, "The request body is nested too deeply to be a profile.",
                           kind="malformed-json",
                           errors={"body": ["arrays or objects nested thousands deep"]})
        bad = unstorable_text(parsed)
        if bad:
            return problem(422, "Text in the request holds a character that cannot be stored "
                                "(NUL, or half of a UTF-16 surrogate pair); see `errors`.",
                           kind="invalid-text", errors=bad)
    return None


# NUL (PostgreSQL text cannot hold it) and lone surrogates (not encodable as UTF-8): JSON may
# carry both as \u escapes, and no database or PDF can keep them.
UNSTORABLE = re.compile(r"[\x00\ud800-\udfff]")


def unstorable_text(value: Any, path: str = "") -> dict[str, list[str]]:
    """{path: [message]} for each text in a JSON value (keys too) that cannot be stored."""
    out: dict[str, list[str]] = {}
    if isinstance(value, str):
        if UNSTORABLE.search(value):
            out[path or "body"] = ["must not contain NUL characters or unpaired surrogates"]
    elif isinstance(value, dict):
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            if UNSTORABLE.search(str(key)):
                out[where] = ["field names must not contain NUL characters or unpaired "
                              "surrogates"]
                continue
            out.update(unstorable_text(item, where))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            out.update(unstorable_text(item, f"{path}.{index}" if path else str(index)))
    return out


def attach(blueprint: flask.Blueprint) -> None:
    """Install the JSON-body check and the domain-exception handlers on an API blueprint."""
    blueprint.before_request(require_json)
    blueprint.register_error_handler(ProfileInvalid, _profile_invalid)
    blueprint.register_error_handler(AdjustmentInvalid, _adjustment_invalid)
    blueprint.register_error_handler(ContentError, _content_unavailable)
    blueprint.register_error_handler(NotFound, _not_found)
    blueprint.register_error_handler(KeyReused, _key_reused)
    blueprint.register_error_handler(Unavailable, _unavailable)
    blueprint.register_error_handler(StaleRevision, _stale_revision)
    blueprint.register_error_handler(PreconditionFailed, _precondition_failed)
    blueprint.register_error_handler(Forbidden, _forbidden)
    blueprint.register_error_handler(StateConflict, _state_conflict)
    blueprint.register_error_handler(StateInvalid, _state_invalid)
    blueprint.register_error_handler(ProposalInvalid, _proposal_invalid)
    blueprint.register_error_handler(ApprovalInvalid, _approval_invalid)
    blueprint.register_error_handler(AlreadyApproved, _already_approved)
    blueprint.register_error_handler(UserNotFound, _user_not_found)
    blueprint.register_error_handler(UserInvalid, _user_invalid)
    blueprint.register_error_handler(TooLarge, _too_large)
    blueprint.register_error_handler(TemplateBroken, _template_broken)
    blueprint.register_error_handler(RenderTimeout, _render_timeout)
    blueprint.register_error_handler(RenderFailed, _render_failed)
    for failure in DATABASE_FAILURES:
        blueprint.register_error_handler(failure, database_problem)
    blueprint.register_error_handler(ConcurrentChange, _conflict)
    blueprint.register_error_handler(UnstorableValue, _unstorable)
    blueprint.register_error_handler(Exception, _unexpected)


def _profile_invalid(exc: ProfileInvalid) -> flask.Response:
    errors: dict[str, list[str]] = {}
    for path, messages in exc.errors.items():
        # marshmallow names an object field given a non-object `scores._schema`: say `scores`
        path = path[:-len("._schema")] if path.endswith("._schema") else path
        errors.setdefault(_under("profile", path), []).extend(messages)
    return problem(422, "The profile does not match the profile declaration "
                        "(GET /api/v1/profile-schema); see `errors`.",
                   kind="invalid-profile", errors=errors)


def _adjustment_invalid(exc: AdjustmentInvalid) -> flask.Response:
    errors = {path if path.startswith("adjustments") else _under("adjustments", path): messages
              for path, messages in exc.errors.items()}
    return problem(422, "An adjustment cannot be applied; see `errors`.",
                   kind="invalid-adjustment", errors=errors)


def _key_reused(exc: KeyReused) -> flask.Response:
    return problem(422, "This Idempotency-Key was sent with another request (another body or "
                        "URL) in the last 24 hours; send a new key with a new request.",
                   kind="idempotency-key-reused",
                   errors={"headers.Idempotency-Key": ["was used with another request"]})


def _content_unavailable(exc: ContentError) -> flask.Response:
    return problem(503, "No usable content pack is loaded; GET /api/v1/content lists the "
                        "problems.", kind="content-unavailable",
                   headers={"Retry-After": str(flask.current_app.config["RETRY_AFTER"])})


def _not_found(exc: NotFound) -> flask.Response:
    return problem(404, exc.message, kind="not-found")


def _unavailable(exc: Unavailable) -> flask.Response:
    return problem(503, exc.detail, kind="unavailable", checks=exc.checks,
                   headers={"Retry-After": str(flask.current_app.config["RETRY_AFTER"])})


def database_problem(exc: Exception) -> flask.Response:
    """A database that cannot serve as a 503 (507 when full) problem; any other error a 500."""
    found = database_failure(exc)
    if found is None:
        return _unexpected(exc)
    status, kind, detail = found
    log.log(logging.ERROR if status == 507 else logging.WARNING, "database %s on %s %s: %s: %s",
            "full" if status == 507 else "unavailable", request.method, request.path,
            type(exc).__name__, getattr(exc, "orig", None) or exc)
    return problem(status, detail, kind=kind,
                   headers={"Retry-After": str(flask.current_app.config["RETRY_AFTER"])})


def _conflict(exc: ConcurrentChange) -> flask.Response:
    log.warning("integrity error on %s %s: %s", request.method, request.path, exc.orig)
    return problem(409, "The request collided with a concurrent change; retry it.",
                   kind="conflict")


def _unstorable(exc: UnstorableValue) -> flask.Response:
    """A value the database refused (out of range, untypable): the request's, not a crash."""
    log.warning("database refused a value on %s %s: %s", request.method, request.path, exc.orig)
    return problem(422, "A value in the request cannot be stored.", kind="unstorable-value")


def _unexpected(exc: Exception) -> flask.Response:
    if isinstance(exc, HTTPException):  # pragma: no cover - Flask routes these to http_problem
        return http_problem(exc)
    incident = uuid.uuid4().hex
    log.error("incident %s: unhandled error on %s %s", incident, request.method, request.path,
              exc_info=exc)
    return problem(500, "The server failed to handle the request; the incident was logged.",
                   instance=f"urn:uuid:{incident}")


def _stale_revision(exc: StaleRevision) -> flask.Response:
    return problem(409, f"This configuration changed since revision {exc.base}: it is now at "
                        f"revision {exc.latest}. Nothing was changed; apply the change to the "
                        "latest revision.", kind="stale-revision")


def _precondition_failed(exc: PreconditionFailed) -> flask.Response:
    return problem(412, f"If-Match {exc.given} is not the latest revision's ETag {exc.latest} "
                        f"(revision {exc.number}): the configuration changed since you read it. "
                        "Nothing was changed; read it again and send your change on top.",
                   kind="precondition-failed", headers={"ETag": exc.latest})


def _forbidden(exc: Forbidden) -> flask.Response:
    return problem(403, exc.message, kind="forbidden")


def _state_conflict(exc: StateConflict) -> flask.Response:
    return problem(409, exc.message, kind="state-conflict")


def _state_invalid(exc: StateInvalid) -> flask.Response:
    return problem(422, "That state cannot be asked for; see `errors`.", kind="invalid-state",
                   errors=exc.errors)


def _proposal_invalid(exc: ProposalInvalid) -> flask.Response:
    return problem(422, "The proposal cannot be made as asked; see `errors`.",
                          kind="invalid-proposal", errors=exc.errors)


def _approval_invalid(exc: ApprovalInvalid) -> flask.Response:
    return problem(422, "This approval cannot be recorded as asked; see `errors`.",
                          kind="invalid-approval", errors=exc.errors)


def _already_approved(exc: AlreadyApproved) -> flask.Response:
    return problem(409, exc.message, kind="already-approved")


def _user_not_found(exc: UserNotFound) -> flask.Response:
    return problem(404, f"{exc}: `GET /api/v1/users` lists them.", kind="not-found")


def _user_invalid(exc: UserInvalid) -> flask.Response:
    # the API's body names the approver roles `roles`
    errors = {"roles" if field == "approver_roles" else field: messages
              for field, messages in exc.errors.items()}
    return problem(422, "The user cannot be changed as asked; see `errors`.",
                   kind="invalid-user", errors=errors)


def _too_large(exc: TooLarge) -> flask.Response:
    return problem(413, exc.message + "; render it with `configurator configure --pdf`.",
                          kind="proposal-too-large")


def _template_broken(exc: TemplateBroken) -> flask.Response:
    log.error("proposal template broken: %s", exc)
    return problem(500, f"The proposal template is broken: {exc.file}: {exc.message}. "
                               "Nothing was stored.", kind="proposal-template-broken",
                          file=exc.file, hint=exc.hint)


def _render_timeout(exc: RenderTimeout) -> flask.Response:
    log.error("proposal rendering stopped after %g s", exc.seconds)
    return problem(500, f"Rendering the PDF took longer than {exc.seconds:g} s and was "
                               "stopped; nothing was stored.", kind="proposal-render-timeout")


def _render_failed(exc: RenderFailed) -> flask.Response:
    log.error("proposal rendering failed: %s", exc)
    return problem(500, "The PDF could not be rendered; nothing was stored. The incident "
                               "was logged.", kind="proposal-render-failed")


def _under(prefix: str, path: str) -> str:
    if path in ("", "_schema", f"_{prefix}"):
        return prefix
    return f"{prefix}.{path}"


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"
