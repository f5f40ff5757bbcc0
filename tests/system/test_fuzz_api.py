"""The REST API fuzzed against its own OpenAPI document (schemathesis + Hypothesis).

The document is loaded from the app under test (`/api/v1/openapi.json` through WSGI), so it
cannot drift from what is served. Every operation is fuzzed twice, with valid requests
(`positive`) and with requests that break the document (`negative`), all sending a valid API
key with every scope. Each response must:

- never be a server error (5xx);
- have a status code the operation lists explicitly (401/403/404/413/415/422/...), not only
  through the catch-all `default` response;
- have the documented content type (`application/json`, `application/problem+json` for every
  error, `application/pdf`) and a body matching the documented schema, and the documented
  headers (`Location` on 201).

The document types the profile from the served pack's declaration (`Profile`), so the profiles
schemathesis makes itself are mostly valid (about half its own bodies of POST /configurations
are stored; the rest name modules the catalog does not have, or reuse an Idempotency-Key).
Random ids and bodies mostly miss (404, 422), so the positive runs also draw, now and then, the
ids of a seeded configuration, its revisions and a proposal, the catalog's real family and
module ids, real modules, approval roles and templates, and profiles: the example customers,
profiles generated from the profile declaration (the strategy of test_properties.py), and
example customers with any text (NUL, unpaired surrogates) in a text field. Then the 200/201
bodies are checked too. Operations that create things keep small budgets (`OPERATIONS`); PDF
rendering (about 1-2 s a render) is reached by a few examples only, and each distinct render
happens once (the API returns a stored proposal after that).

The fast run fuzzes on both backends (PostgreSQL rejects inputs SQLite takes, such as NUL
characters in text, and integers SQLite cannot hold fail differently there); `-m slow` adds a
longer run of every operation.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (content_type_conformance,
                                               negative_data_rejection,
                                               response_headers_conformance,
                                               response_schema_conformance,
                                               status_code_conformance)
from .test_properties import adjustments, broken_profiles, profiles

from configurator.api.errors import unstorable_text

from helpers import person_client

# Any text JSON can carry, with NUL, unpaired surrogates and other awkward characters drawn
# often (Hypothesis leaves surrogates out by default). Both once reached the database as a 500.
AWKWARD = ["\x00", "\ud800", "\udfff", "\u202e", "\ufeff", "\u2028", "\n", "<", "&", "'", "\\"]
HOSTILE_TEXT = st.lists(st.one_of(st.sampled_from(AWKWARD), st.characters(exclude_categories=())),
                        max_size=12).map("".join)

OPENAPI = "/api/v1/openapi.json"

# Every operation of the document, with its example budget per generation mode in the fast run
# (the slow run multiplies it by SLOW_FACTOR). A new operation fails
# test_every_operation_is_fuzzed until it is listed here.
OPERATIONS: dict[str, tuple[int, int]] = {
    # label: (positive examples, negative examples); 0 where nothing can be made invalid
    "GET /api/v1/configurations": (40, 40),
    "POST /api/v1/configurations": (30, 30),
    "GET /api/v1/configurations/{configuration_id}": (25, 15),
    "GET /api/v1/configurations/{configuration_id}/revisions": (30, 30),
    "POST /api/v1/configurations/{configuration_id}/revisions": (25, 25),
    "GET /api/v1/configurations/{configuration_id}/revisions/{number}": (25, 15),
    "GET /api/v1/configurations/{configuration_id}/revisions/{number}/explanation": (10, 10),
    "GET /api/v1/configurations/{configuration_id}/revisions/{number}/approvals": (25, 15),
    "POST /api/v1/configurations/{configuration_id}/revisions/{number}/approvals": (25, 25),
    "DELETE /api/v1/configurations/{configuration_id}/revisions/{number}/approvals/{role}":
        (15, 15),
    "POST /api/v1/configurations/{configuration_id}/revisions/{number}/state": (15, 15),
    "POST /api/v1/configurations/{configuration_id}/revisions/{number}/proposals": (8, 15),
    "GET /api/v1/configurations/{configuration_id}/proposals": (20, 15),
    "GET /api/v1/proposals/{proposal_id}": (20, 15),
    "GET /api/v1/proposals/{proposal_id}/pdf": (15, 15),
    "GET /api/v1/catalog/families": (5, 0),
    "GET /api/v1/catalog/families/{family_id}": (25, 0),
    "GET /api/v1/catalog/modules": (30, 30),
    "GET /api/v1/catalog/modules/{module_id}": (25, 0),
    "GET /api/v1/profile-schema": (5, 0),
    "GET /api/v1/content": (5, 0),
    "POST /api/v1/content/reload": (4, 0),
    "GET /api/v1/health": (5, 0),
    "GET /api/v1/users": (5, 0),
    "PUT /api/v1/users/{email}/approver-roles": (15, 15),
}
SLOW_FACTOR = 3
# Operations whose runs may render PDFs: never multiplied (a render is 1-2 s).
RENDERING = {"POST /api/v1/configurations/{configuration_id}/revisions/{number}/proposals"}


def explicitly_documented(ctx: Any, response: Any, case: Any) -> None:
    """The status code is listed by the operation itself, not only covered by `default`."""
    listed = set(case.operation.definition.raw.get("responses", {})) - {"default"}
    status = str(response.status_code)
    if status not in listed and f"{status[0]}XX" not in listed:
        raise AssertionError(f"{case.operation.label} answered {status}, which it does not "
                             f"document (it lists {', '.join(sorted(listed))})")


CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance, response_headers_conformance, explicitly_documented]
SUPPRESSED = [HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large,
              HealthCheck.large_base_example]


# --- a seeded database, once per backend -----------------------------------------------------

@dataclass
class Seed:
    """Real ids and values for the positive runs to draw from."""
    configuration: int
    revisions: int
    roles: list[str]
    proposal: int
    email: str
    profiles: list[dict]
    modules: list[str]
    families: list[str]
    generated: st.SearchStrategy[dict]
    adjustments: st.SearchStrategy[list]


_SEEDS: dict[str, Seed] = {}


@pytest.fixture
def seed(app: Any, client: Any, database_url: str, example_profiles: list[dict]) -> Seed:
    """A configuration with two revisions (the latest needs approvals), one rendered proposal
    and a user, made once per database and reused by every fuzz test."""
    if database_url in _SEEDS:
        return _SEEDS[database_url]
    catalog = app.extensions["configurator.content"].pack.catalog
    examples = [example["profile"] for example in example_profiles]
    created = None
    for profile in examples:
        response = client.post("/api/v1/configurations", json={"profile": profile})
        assert response.status_code == 201, response.get_json()
        if response.get_json()["document"]["approvals"]:
            created = response.get_json()
            break
    assert created is not None, "no example customer needs approvals"
    configuration = created["id"]
    response = client.post(f"/api/v1/configurations/{configuration}/revisions",
                           json={"adjustments": []})
    assert response.status_code == 201, response.get_json()
    revision = response.get_json()
    roles = [approval["role"] for approval in revision["document"]["approvals"]]
    response = client.post(f"/api/v1/configurations/{configuration}/revisions/1/proposals",
                           json={})
    assert response.status_code == 201, response.get_json()
    content = app.extensions["configurator.content"]
    email = person_client(app, "Fuzz Approver", tuple(roles)).user.email
    _SEEDS[database_url] = Seed(configuration, revision["number"], roles,
                                response.get_json()["id"], email, examples, sorted(catalog.modules),
                                sorted(catalog.families), profiles(content.pack.profile),
                                adjustments(content))
    return _SEEDS[database_url]


# Explicit, so no schemathesis.toml lying around changes the run. The Authorization header is
# not generated (every request sends the valid key; keys are tested in test_api_keys.py).
CONFIG = {"generation": {"with-security-parameters": False}}


@pytest.fixture
def api_schema(app: Any) -> Any:
    """The OpenAPI document the app serves, loaded through WSGI."""
    config = schemathesis.Config.from_dict(CONFIG)
    return schemathesis.openapi.from_wsgi(OPENAPI, app, config=config)


# --- the real values the positive runs substitute ---------------------------------------------

def _maybe(data: st.DataObject, value: Any, choices: list) -> Any:
    """`value`, or (about half the time) one of `choices`."""
    if not choices or not data.draw(st.booleans(), label="use a real value"):
        return value
    return data.draw(st.sampled_from(choices))


def _substitute(case: Any, data: st.DataObject, seed: Seed) -> None:
    """Swap generated values for real ones now and then, so successful paths are checked."""
    known = {"configuration_id": [seed.configuration], "number": list(range(1, seed.revisions + 1)),
             "proposal_id": [seed.proposal], "family_id": seed.families,
             "module_id": seed.modules, "email": [seed.email]}
    for name, value in list((case.path_parameters or {}).items()):
        case.path_parameters[name] = _maybe(data, value, known.get(name, []))
    if isinstance(case.query, dict):
        for name, choices in (("family", seed.families), ("customer", ["a", "Dairy"])):
            if name in case.query:
                case.query[name] = _maybe(data, case.query[name], choices)
    body = case.body
    if not isinstance(body, dict):
        return
    label = case.operation.label
    if "profile" in body:
        how = data.draw(st.sampled_from(["example", "generated", "as is"]), label="profile")
        if how != "as is":
            body["profile"] = dict(data.draw(st.sampled_from(seed.profiles)) if how == "example"
                                   # valid by the declaration (test_properties.py)
                                   else data.draw(seed.generated))
            if data.draw(st.booleans(), label="hostile text"):
                name = data.draw(st.sampled_from(["name", "country", "competitors"]))
                text = data.draw(HOSTILE_TEXT)
                body["profile"][name] = [text] if name == "competitors" else text
    if "adjustments" in body:
        how = data.draw(st.sampled_from(["valid", "real modules", "as is"]), label="adjustments")
        if how == "valid":      # every action, edge values (test_properties.py)
            body["adjustments"] = data.draw(seed.adjustments)
        for adjustment in body["adjustments"] if how == "real modules" else []:
            if isinstance(adjustment, dict) and "module" in adjustment:
                adjustment["module"] = _maybe(data, adjustment["module"], seed.modules)
    if label.endswith("/approvals") and "role" in body:
        body["role"] = _maybe(data, body["role"], seed.roles)
    if label.endswith("/approver-roles") and "roles" in body:
        body["roles"] = _maybe(data, body["roles"], [seed.roles, seed.roles[:1], []])
    if label.endswith("/proposals"):
        # real templates and languages render PDFs: only now and then
        if data.draw(st.integers(0, 3), label="render") == 0:
            body["template"] = "standard"
            body["language"] = data.draw(st.sampled_from(["en", "zh"]))


# --- the fuzz tests ---------------------------------------------------------------------------

def test_every_operation_is_fuzzed(api_schema: Any) -> None:
    """OPERATIONS lists exactly the document's operations (a new one needs a budget)."""
    labels = {result.ok().label for result in api_schema.get_all_operations()}
    assert labels == set(OPERATIONS)


def _fuzz(api_schema: Any, api_key: str, seed: Seed, label: str, mode: GenerationMode,
          examples: int) -> None:
    method, path = label.split(" ", 1)
    operation = api_schema[path][method]
    headers = {"Authorization": f"Bearer {api_key}"}
    positive = mode is GenerationMode.POSITIVE
    # a request that breaks the document must be refused (4xx), not served
    checks = CHECKS if positive else [*CHECKS, negative_data_rejection]

    @settings(max_examples=examples, deadline=None, database=None,
              suppress_health_check=SUPPRESSED)
    @given(case=operation.as_strategy(generation_mode=mode), data=st.data())
    def run(case: Any, data: st.DataObject) -> None:
        if positive:
            _substitute(case, data, seed)
        response = case.call(headers=headers)
        case.validate_response(response, checks=checks, headers=headers)

    run()


RUNS = [pytest.param(label, mode, id=f"{label}-{mode.value}")
        for label, budgets in OPERATIONS.items()
        for mode, budget in zip((GenerationMode.POSITIVE, GenerationMode.NEGATIVE), budgets)
        if budget]


@pytest.mark.parametrize(("label", "mode"), RUNS)
def test_operation_matches_its_document(api_schema: Any, api_key: str, seed: Seed, label: str,
                                        mode: GenerationMode) -> None:
    """Fuzz one operation: no 5xx, and every response as documented."""
    _fuzz(api_schema, api_key, seed, label, mode, _budget(label, mode))


@pytest.mark.slow
@pytest.mark.parametrize(("label", "mode"), RUNS)
def test_operation_matches_its_document_long(api_schema: Any, api_key: str, seed: Seed,
                                             label: str, mode: GenerationMode) -> None:
    """The same, with SLOW_FACTOR times the examples (but no more PDF renders)."""
    factor = 1 if label in RENDERING and mode is GenerationMode.POSITIVE else SLOW_FACTOR
    _fuzz(api_schema, api_key, seed, label, mode, _budget(label, mode) * factor)


def _budget(label: str, mode: GenerationMode) -> int:
    return OPERATIONS[label][0 if mode is GenerationMode.POSITIVE else 1]


def test_operations_without_inputs_have_no_negative_run(api_schema: Any) -> None:
    """A zero negative budget only where the document leaves nothing to break: no query, no
    body, and path parameters that are any text (a URL cannot carry an empty segment)."""
    for result in api_schema.get_all_operations():
        operation = result.ok()
        breakable = len(operation.query) > 0 or len(operation.body) > 0 or any(
            parameter.definition["schema"].get("type") != "string"
            for parameter in operation.path_parameters)
        assert bool(OPERATIONS[operation.label][1]) == breakable, operation.label


# --- what the generators rarely send: broken bodies, wrong media types, unknown ids -----------

def _operations(api_schema: Any) -> list[Any]:
    return [result.ok() for result in api_schema.get_all_operations()]


def _path_for(operation: Any, seed: Seed, missing: bool = False) -> tuple[str, dict]:
    real = {"configuration_id": seed.configuration, "number": 1, "proposal_id": seed.proposal,
            "family_id": seed.families[0], "module_id": seed.modules[0], "role": seed.roles[0],
            "email": seed.email}
    absent = {"configuration_id": 2_000_000_000, "number": 2_000_000_000,
              "proposal_id": 2_000_000_000, "family_id": "no-such-family",
              "module_id": "no-such-module", "role": seed.roles[0],
              "email": "nobody@example.com"}
    values = {name: (absent if missing else real)[name]
              for name in _path_names(operation.path)}
    return operation.path.format(**values), values


def _path_names(path: str) -> list[str]:
    import string
    return [name for _, name, _, _ in string.Formatter().parse(path) if name]


def _validate(operation: Any, response: Any, values: dict, api_key: str, **case: Any) -> None:
    headers = {"Authorization": f"Bearer {api_key}"}
    made = operation.Case(path_parameters=values, headers=headers, **case)
    made.validate_response(response, checks=CHECKS, headers=headers)


def test_broken_bodies_are_documented_problems(api_schema: Any, client: Any, api_key: str,
                                               seed: Seed) -> None:
    """Malformed JSON (400), a body that is not JSON (415), a body too large (413) and a body of
    the wrong JSON type (422): each a documented problem+json on every operation taking one."""
    limit = client.application.config["MAX_CONTENT_LENGTH"]
    sent = 0
    for operation in _operations(api_schema):
        method = operation.method.upper()
        if method not in ("POST", "PUT"):
            continue
        path, values = _path_for(operation, seed)
        attempts = [
            (b'{"profile": ', "application/json", 400),
            (b"profile=x", "application/x-www-form-urlencoded", 415),
            (b"\x00\xff", "text/plain", 415),
            (json.dumps({"x": "a" * limit}).encode(), "application/json", 413),
            (b"[1, 2]", "application/json", 422),
            (b'"text"', "application/json", 422),
        ]
        takes_body = len(operation.body) > 0
        for raw, media_type, status in attempts:
            if not takes_body and status != 415:
                continue   # no body expected: a JSON one is not read
            response = client.open(path, method=method, data=raw, content_type=media_type)
            assert response.status_code == status, (operation.label, raw[:40], response.data)
            assert response.mimetype == "application/problem+json"
            _validate(operation, response, values, api_key)
            sent += 1
    assert sent > 20


def test_unknown_ids_are_documented_404s(api_schema: Any, client: Any, api_key: str,
                                         seed: Seed) -> None:
    """Every operation with a path parameter answers an unknown id with a documented 404."""
    checked = 0
    for operation in _operations(api_schema):
        if not _path_names(operation.path):
            continue
        path, values = _path_for(operation, seed, missing=True)
        body = {"adjustments": []} if operation.label.endswith("/revisions") else \
            {"role": "finance", "by": "Fuzz"} if operation.label.endswith("/approvals") else \
            {"state": "sent"} if operation.label.endswith("/state") else \
            {"roles": []} if operation.label.endswith("/approver-roles") else {}
        kwargs = {"json": body} if operation.method.upper() in ("POST", "PUT") else {}
        response = client.open(path, method=operation.method.upper(), **kwargs)
        assert response.status_code == 404, (operation.label, response.get_json())
        assert response.mimetype == "application/problem+json"
        _validate(operation, response, values, api_key,
                  **({"body": body, "media_type": "application/json"} if kwargs else {}))
        checked += 1
    assert checked >= 12


def test_a_post_without_a_body_needs_no_content_type(api_schema: Any, client: Any,
                                                     api_key: str, seed: Seed) -> None:
    """`POST /content/reload` takes no body: a bare POST is not a 415 (it once was); a POST
    that needs a body and has none is a 422 naming the missing field."""
    reload = api_schema["/api/v1/content/reload"]["POST"]
    response = client.post("/api/v1/content/reload")
    assert response.status_code == 200, response.data
    _validate(reload, response, {}, api_key)
    create = api_schema["/api/v1/configurations"]["POST"]
    response = client.post("/api/v1/configurations")
    assert response.status_code == 422, response.data
    assert list(response.get_json()["errors"]) == ["profile"]
    _validate(create, response, {}, api_key)


def test_ids_beyond_the_database_integer_are_404s(client: Any) -> None:
    """An id no database INTEGER can hold does not match the route (it once reached SQLite as
    an OverflowError: a 500)."""
    for path in ("/api/v1/configurations/5364536082827774177705801127271858176",
                 "/api/v1/configurations/2147483648/revisions",
                 "/api/v1/configurations/1/revisions/99999999999999999999",
                 "/api/v1/proposals/2147483648/pdf", "/api/v1/configurations/0"):
        response = client.get(path)
        assert response.status_code == 404, (path, response.data)
        assert response.mimetype == "application/problem+json"


def test_invalid_profiles_are_422s_naming_the_field(api_schema: Any, client: Any, api_key: str,
                                                   seed: Seed) -> None:
    """A profile broken in one place (test_properties.py's broken_profiles) is a documented
    422 whose `errors` name `profile.<that field>`."""
    operation = api_schema["/api/v1/configurations"]["POST"]
    spec = client.application.extensions["configurator.content"].pack.profile
    limit = client.application.config["MAX_CONTENT_LENGTH"]

    @settings(max_examples=40, deadline=None, database=None, suppress_health_check=SUPPRESSED)
    @given(broken=broken_profiles(spec))
    def run(broken: tuple[Any, str]) -> None:
        profile, path = broken
        # text no database can hold is refused first, for itself (see the fuzz runs), and a
        # body over the size limit is a 413 (test_broken_bodies_are_documented_problems)
        assume(not unstorable_text(profile))
        assume(len(json.dumps({"profile": profile})) < limit)
        response = client.post("/api/v1/configurations", json={"profile": profile})
        assert response.status_code == 422, response.data
        expected = "profile" if path == "_profile" else f"profile.{path}"
        assert expected in response.get_json()["errors"], (expected, response.get_json())
        _validate(operation, response, {}, api_key)

    run()
