"""Who may call the API: API keys with scopes, and a rate limit per key.

Every operation but the health check and the API documents needs `Authorization: Bearer <key>`
(configurator.accounts.apikeys). `OPERATION_SCOPES` is the one table saying which scope each
operation needs; the OpenAPI document is annotated from it, and a test fails when an API route
is in neither it nor `PUBLIC_ENDPOINTS`, so a new endpoint cannot be open by accident.

Answers: 401 (no key, or not a valid active key) with `WWW-Authenticate: Bearer`, 403 (the key
lacks the scope), 429 (over the key's rate, or an invalid key from an address that presented too
many, with `Retry-After`); all problem+json.

Invalid keys are counted per client address (`API_AUTH_FAILURE_LIMIT`), but a key is always
checked first: a valid key is never refused because of what else came from its address (one
misconfigured tool behind a shared proxy or NAT must not lock out the others). Checking stays
cheap: a verified key is remembered per worker, and so is an invalid one, so a tool repeating a
stale key costs no database round trip (both for API_KEY_CACHE_SECONDS).
"""
from __future__ import annotations

import time
from typing import Any

import flask
from apispec import BasePlugin
from flask import g, request
from flask_limiter import Limiter, RequestLimit
from limits import parse as parse_rate_limit

from ..accounts import apikeys
from ..accounts.throttle import client_address
from ..store import flaskdb as db
from . import errors

PUBLIC_ENDPOINTS = frozenset({"service.Health", "api-docs.openapi_json",
                              "api-docs.openapi_swagger_ui", "swagger_ui_assets"})

# (endpoint, method) -> the scope it needs
OPERATION_SCOPES: dict[tuple[str, str], str] = {
    ("configurations.Configurations", "GET"): "configure",
    ("configurations.Configurations", "POST"): "configure",
    ("configurations.Configuration", "GET"): "configure",
    ("configurations.Revisions", "GET"): "configure",
    ("configurations.Revisions", "POST"): "configure",
    ("configurations.Revision", "GET"): "configure",
    ("configurations.RevisionExplanation", "GET"): "configure",
    ("catalog.Families", "GET"): "catalog:read",
    ("catalog.Family", "GET"): "catalog:read",
    ("catalog.Modules", "GET"): "catalog:read",
    ("catalog.Module", "GET"): "catalog:read",
    ("service.ProfileDeclaration", "GET"): "catalog:read",
    ("service.ContentStatus", "GET"): "content:admin",
    ("service.ContentReload", "POST"): "content:admin",
    ("approvals.Approvals", "GET"): "proposals",
    ("approvals.Approvals", "POST"): "approve",
    ("approvals.Approval", "DELETE"): "approve",
    ("approvals.RevisionState", "POST"): "proposals",
    ("proposals.RevisionProposals", "POST"): "proposals",
    ("proposals.ConfigurationProposals", "GET"): "proposals",
    ("proposals.ProposalResource", "GET"): "proposals",
    ("proposals.ProposalPdf", "GET"): "proposals",
    ("users.Users", "GET"): "users:admin",
    ("users.UserApproverRoles", "PUT"): "users:admin",
}

SECURITY_SCHEME = "apiKey"
CHALLENGE = 'Bearer realm="configurator"'
# Verified keys are remembered this long per worker, so a request costs no database round trip;
# revoking a key therefore takes effect within this time (API_KEY_CACHE_SECONDS).
CACHE_LIMIT = 1000


def init_app(app: flask.Flask) -> Limiter:
    """Check keys before every API request, then count the request against the key's rate."""
    app.extensions["configurator.api_key_cache"] = {}
    app.extensions["configurator.api_key_refusals"] = {}
    app.before_request(_authenticate)  # registered before the limiter's own hook: runs first
    limiter = Limiter(
        key_func=_rate_key, app=app,
        default_limits=[_rate_limit],
        default_limits_exempt_when=lambda: g.get("api_key") is None,
        storage_uri=app.config["RATELIMIT_STORAGE_URI"],
        headers_enabled=True, on_breach=_too_many_requests,
        in_memory_fallback_enabled=True, swallow_errors=True)
    app.extensions["configurator.limiter"] = limiter
    app.extensions["configurator.auth_failure_limit"] = parse_rate_limit(
        app.config["API_AUTH_FAILURE_LIMIT"])
    return limiter


def required_scope(endpoint: str | None, method: str) -> str | None:
    """The scope an API request needs; None for a public one."""
    if endpoint in PUBLIC_ENDPOINTS or method == "OPTIONS":
        return None
    if method == "HEAD":
        method = "GET"
    return OPERATION_SCOPES.get((endpoint or "", method), "undeclared")


def _authenticate() -> flask.Response | None:
    if not request.path.startswith(errors.API_PREFIX) or request.endpoint is None:
        return None  # web pages have their own sign-in; unknown URLs answer 404
    scope = required_scope(request.endpoint, request.method)
    if scope is None:
        return None
    presented = _bearer_token()
    if presented is None:
        return errors.problem(
            401, "This operation needs an API key: send `Authorization: Bearer <key>` "
                 "(`configurator apikey create` makes one).",
            kind="unauthorized", headers={"WWW-Authenticate": CHALLENGE})
    key = _verified(presented)
    if key is None:
        if not _count_failure():
            return _too_many_failures()
        return errors.problem(
            401, "The API key is not valid: it is unknown, revoked or expired.",
            kind="unauthorized", headers={"WWW-Authenticate": CHALLENGE + ', error="invalid_token"'})
    g.api_key = key
    if scope not in key.scopes:
        return errors.problem(
            403, f"The API key {key.prefix} ({key.name}) does not have the scope {scope!r} this "
                 f"operation needs; it has: {', '.join(sorted(key.scopes)) or 'none'}.",
            kind="forbidden", required_scope=scope,
            headers={"WWW-Authenticate": CHALLENGE + f', error="insufficient_scope", '
                                                     f'scope="{scope}"'})
    return None


def _bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    kind, _, token = header.partition(" ")
    if kind.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def _verified(presented: str) -> apikeys.KeyInfo | None:
    app = flask.current_app
    cache: dict[str, tuple[apikeys.KeyInfo, float]] = app.extensions["configurator.api_key_cache"]
    refusals: dict[str, float] = app.extensions["configurator.api_key_refusals"]
    ttl = float(app.config["API_KEY_CACHE_SECONDS"])
    digest = apikeys.digest(presented)
    now = time.monotonic()
    hit = cache.get(digest)
    if hit is not None and now - hit[1] < ttl:
        key = hit[0]
        return key if key.active() else None
    if now - refusals.get(digest, -ttl) < ttl:
        return None  # refused moments ago: a key that was invalid stays invalid
    # A session of its own, closed at once: the request's session must start its own
    # transaction (a write one, on SQLite, for the views that write; see store.db.begin_write).
    with db.database().sessions() as session:
        key = apikeys.authenticate(session, presented)
    if key is None:
        cache.pop(digest, None)
        _remember(refusals, digest, now, ttl)
        return None
    _remember(cache, digest, (key, now), ttl)
    return key


def _remember(cache: dict, digest: str, value: Any, ttl: float) -> None:
    """Keep `value` for `digest`, in at most CACHE_LIMIT entries (a flood of distinct invalid
    keys empties only the cache of refusals, never that of verified keys)."""
    if ttl <= 0:
        return
    if len(cache) >= CACHE_LIMIT:
        cache.clear()
    cache[digest] = value


def _strategy() -> Any:
    """The rate limiter's counting strategy, or None when rate limits are switched off
    (`RATELIMIT_ENABLED = False`): then invalid keys are not counted either."""
    limiter = flask.current_app.extensions["configurator.limiter"]
    return limiter.limiter if limiter.enabled else None


def _address() -> str:
    return client_address(request.remote_addr)


def _count_failure() -> bool:
    """Count an invalid key from this client address; False when the address is over its limit
    (and this key is answered 429 instead of 401)."""
    strategy = _strategy()
    if strategy is None:
        return True
    return bool(strategy.hit(flask.current_app.extensions["configurator.auth_failure_limit"],
                             "auth-failures", _address()))


def _too_many_failures() -> flask.Response:
    app = flask.current_app
    limit = app.extensions["configurator.auth_failure_limit"]
    strategy = app.extensions["configurator.limiter"].limiter
    reset_at = strategy.get_window_stats(limit, "auth-failures", _address())[0]
    retry_after = max(1, int(reset_at - time.time()) + 1)
    return errors.problem(
        429, f"Too many invalid API keys from this address (limit {limit}); this key is not "
             f"valid either. Retry after {retry_after} s; a valid key works meanwhile.",
        kind="rate-limited", headers={"Retry-After": str(retry_after)})


def _rate_key() -> str:
    key = g.get("api_key")
    return f"key:{key.prefix}" if key else f"ip:{request.remote_addr}"


def _rate_limit() -> str:
    key = g.get("api_key")
    return (key.rate_limit if key and key.rate_limit
            else flask.current_app.config["API_RATE_LIMIT"])


def _too_many_requests(limit: RequestLimit) -> flask.Response:
    retry_after = max(1, int(limit.reset_at - time.time()) + 1)
    return errors.problem(
        429, f"Too many requests for this API key: its limit is {limit.limit}. "
             f"Retry after {retry_after} s.",
        kind="rate-limited", headers={"Retry-After": str(retry_after)})


class ScopesPlugin(BasePlugin):
    """Annotates each operation of the OpenAPI document with the scope it needs, its 401/403/429
    answers, or `security: []` when it is public."""

    def init_spec(self, spec: Any) -> None:
        spec.components.security_scheme(SECURITY_SCHEME, {
            "type": "http", "scheme": "bearer",
            "description": "An API key from `configurator apikey create`, sent as "
                           "`Authorization: Bearer cfg_...`. Each operation says the scope it "
                           "needs."})

    def operation_helper(self, path: Any = None, operations: dict | None = None,
                         **kwargs: Any) -> None:
        rule = kwargs.get("rule")
        if rule is None or not operations:
            return
        for method, operation in operations.items():
            scope = required_scope(rule.endpoint, method.upper())
            if scope is None:
                operation["security"] = []
                continue
            operation["security"] = [{SECURITY_SCHEME: []}]
            note = f"Needs an API key with the scope `{scope}`."
            operation["description"] = (f"{operation['description']}\n\n{note}"
                                        if operation.get("description") else note)
            responses = operation.setdefault("responses", {})
            responses.setdefault("401", "UNAUTHORIZED")
            responses.setdefault("403", "FORBIDDEN")
            responses.setdefault("429", "TOO_MANY_REQUESTS")
