"""The OpenAPI document a client generator reads: a unique operationId on every operation, tags
per resource, the request's root as its server, ranges, and the profile typed from the served
pack's declaration (`Profile`), following a content reload."""
from __future__ import annotations

import re
import textwrap
from collections import Counter
from typing import Any

import pytest
from jsonschema import Draft4Validator, Draft202012Validator
from schemathesis.specs.openapi.definitions import OPENAPI_30

from configurator.app import create_app
from configurator.content.adjustments import MAX_QUANTITY
from configurator.services.content import Content

from helpers import PROFILE, keyed_client, unique, write_pack

OPENAPI = "/api/v1/openapi.json"
METHODS = ("get", "put", "post", "delete", "patch", "head", "options")
REF = "#/components/schemas/Profile"


def operations(spec: dict) -> dict[str, dict]:
    """`METHOD /path` -> operation, for every operation of the document."""
    return {f"{method.upper()} {path}": operation for path, item in spec["paths"].items()
            for method, operation in item.items() if method in METHODS}


def validator(schema: dict) -> Draft202012Validator:
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


@pytest.fixture
def spec(client) -> dict:
    return client.get(OPENAPI).get_json()


def test_the_document_is_valid_openapi_3_0(spec):
    """Against the OpenAPI 3.0 schema schemathesis checks documents with (pinned in the lock),
    so the hand-written parts (Profile, exclusiveMinimum, servers) are valid too."""
    assert spec["openapi"].startswith("3.0")
    assert [error.message for error in Draft4Validator(OPENAPI_30).iter_errors(spec)] == []


# --- names a generator can use ----------------------------------------------------------------

def test_every_operation_has_an_operation_id_no_other_has(spec):
    ids = {label: operation.get("operationId") for label, operation in operations(spec).items()}
    assert [label for label, name in ids.items() if not name] == []
    assert [name for name, count in Counter(ids.values()).items() if count > 1] == []
    assert all(re.fullmatch(r"[a-z]+(?:[A-Z][a-z]+)+", name) for name in ids.values()), ids


def test_the_operations_are_named_for_what_they_do(spec):
    ids = {label: operation["operationId"] for label, operation in operations(spec).items()}
    revision = "/api/v1/configurations/{configuration_id}/revisions/{number}"
    assert {ids["POST /api/v1/configurations"], ids["GET /api/v1/configurations"],
            ids["GET /api/v1/configurations/{configuration_id}"],
            ids[f"POST {revision}/state"], ids[f"DELETE {revision}/approvals/{{role}}"],
            ids["GET /api/v1/proposals/{proposal_id}/pdf"], ids["GET /api/v1/health"]} == {
        "createConfiguration", "listConfigurations", "getConfiguration", "changeRevisionState",
        "withdrawApproval", "downloadProposalPdf", "getHealth"}


def test_every_operation_has_one_tag_the_document_describes(spec):
    described = {tag["name"]: tag.get("description") for tag in spec["tags"]}
    used = {label: operation["tags"] for label, operation in operations(spec).items()}
    assert all(len(tags) == 1 and described.get(tags[0]) for tags in used.values()), used
    assert set(described) == {tags[0] for tags in used.values()}     # none unused
    assert used["GET /api/v1/configurations/{configuration_id}/revisions"] == ["revisions"]
    assert used["GET /api/v1/health"] == ["health"]


def test_the_server_is_the_root_the_request_came_to(client):
    assert client.get(OPENAPI).get_json()["servers"][0]["url"] == "/"
    mounted = client.get(OPENAPI, base_url="http://localhost/configurator/")
    assert mounted.get_json()["servers"][0]["url"] == "/configurator/"


def test_ranges_and_types_a_generator_can_use(spec):
    schemas = spec["components"]["schemas"]
    listing = spec["paths"]["/api/v1/configurations"]["get"]["parameters"]
    page_size = next(p for p in listing if p["name"] == "page_size")["schema"]
    assert (page_size["minimum"], page_size["maximum"]) == (1, 100)
    adjustment = schemas["Adjustment"]["properties"]
    assert (adjustment["quantity"]["minimum"], adjustment["quantity"]["maximum"]) == (
        0, MAX_QUANTITY)
    percent = adjustment["percent"]
    assert (percent["minimum"], percent["exclusiveMinimum"], percent["maximum"]) == (0, True, 100)
    pdf_url = schemas["Proposal"]["properties"]["pdf_url"]
    assert (pdf_url["type"], pdf_url["format"]) == ("string", "uri-reference")
    assert "PaginationMetadata" not in schemas


def test_every_schema_component_is_used(spec):
    text = str(spec["paths"]) + str({name: schema for name, schema
                                     in spec["components"].items() if name != "schemas"})
    referenced = set(re.findall(r"#/components/schemas/(\w+)", text))
    for name, schema in spec["components"]["schemas"].items():
        referenced |= set(re.findall(r"#/components/schemas/(\w+)", str(schema))) - {name}
    assert set(spec["components"]["schemas"]) - referenced == set()


def test_a_quantity_or_percent_out_of_bounds_is_refused_as_before(client, example_profiles):
    profile = {**example_profiles[0]["profile"], "name": unique("Bounds")}
    module = "platform-core"
    for adjustment, field, words in (
            ({"action": "quantity", "module": module, "quantity": -1}, "quantity",
             f"must be a whole number from 0 to {MAX_QUANTITY}"),
            ({"action": "discount", "percent": 0, "applies_to": "total"}, "percent",
             "must be a number above 0 and at most 100")):
        response = client.post("/api/v1/configurations",
                               json={"profile": profile, "adjustments": [adjustment]})
        assert response.status_code == 422
        assert response.get_json()["errors"] == {f"adjustments.0.{field}": [words]}


# --- the profile, typed -----------------------------------------------------------------------

def test_the_profile_schema_is_the_demo_declaration(spec, content):
    profile = spec["components"]["schemas"]["Profile"]
    declared = content.pack.profile.fields
    assert list(profile["properties"]) == list(declared)
    assert profile["additionalProperties"] is False
    assert {"name", "industry", "country", "employees", "sites", "scores"} <= set(
        profile["required"])
    assert "needs" not in profile["required"]
    assert profile["properties"]["industry"]["enum"] == list(declared["industry"].values)
    loyalty = profile["properties"]["scores"]["properties"]["loyalty"]
    assert (loyalty["type"], loyalty["minimum"], loyalty["maximum"]) == ("integer", 1, 5)
    assert profile["properties"]["employees"]["minimum"] == 1
    country = profile["properties"]["country"]
    assert {"DE", "CN", "NO", "US"} <= set(country["enum"]) and "UK" not in country["enum"]
    assert "ISO 3166-1 alpha-2" in country["description"]
    contact = profile["properties"]["contacts"]["items"]
    assert contact["required"] == ["name", "role"] and contact["additionalProperties"] is False
    assert "champion" in contact["properties"]["stance"]["enum"]
    assert profile["properties"]["needs"]["default"] == []
    # what storing a customer needs of its name
    assert profile["properties"]["name"]["maxLength"] == 300


@pytest.mark.parametrize("component", ["ConfigurationCreate", "RevisionCreate", "Configuration",
                                       "Revision"])
def test_every_profile_taken_or_answered_refers_to_the_profile_schema(spec, component):
    field = spec["components"]["schemas"][component]["properties"]["profile"]
    assert field["allOf"] == [{"$ref": REF}] and "type" not in field


def test_the_profile_schema_answer_adds_the_json_schema(client, spec, content):
    body = client.get("/api/v1/profile-schema").get_json()
    assert body["content_version"] == content.pack.version
    assert body["fields"]["scores"]["fields"]["loyalty"]["max"] == 5    # today's fields stay
    schema = body["json_schema"]
    Draft202012Validator.check_schema(schema)
    assert schema.pop("$schema") == "https://json-schema.org/draft/2020-12/schema"
    assert schema == spec["components"]["schemas"]["Profile"]


def test_each_example_customer_the_schema_accepts_is_configured(client, spec,
                                                                 example_profiles):
    schema = validator(client.get("/api/v1/profile-schema").get_json()["json_schema"])
    for example in example_profiles:
        profile = {**example["profile"], "name": unique(example["name"][:40])}
        assert list(schema.iter_errors(profile)) == [], example["name"]
        response = client.post("/api/v1/configurations", json={"profile": profile})
        assert response.status_code == 201, (example["name"], response.get_json())


@pytest.mark.parametrize("change, field", [pytest.param(change, field, id=name) for name, change, field in [
    ("bound", {"scores": {"value_contribution": 3, "loyalty": 7, "growth": 3,
                          "financial_risk": 2}}, "scores.loyalty"),
    ("enum", {"industry": "astrology"}, "industry"),
    ("country", {"country": "cn"}, "country"),
    ("minimum", {"employees": 0}, "employees"),
    ("list item", {"needs": ["cold-chain", "teleportation"]}, "needs.1"),
    ("unknown field", {"colour": "red"}, "colour"),
    ("null", {"sites": None}, "sites"),
    ("blank name", {"name": "   "}, "name"),
    ("long name", {"name": "x" * 301}, "name"),
]])
def test_a_profile_the_schema_refuses_is_a_422_naming_the_field(client, example_profiles,
                                                                change, field):
    schema = validator(client.get("/api/v1/profile-schema").get_json()["json_schema"])
    profile = {**example_profiles[0]["profile"], "name": unique("Refused"), **change}
    assert list(schema.iter_errors(profile)), change
    response = client.post("/api/v1/configurations", json={"profile": profile})
    assert response.status_code == 422, response.get_json()
    assert f"profile.{field}" in response.get_json()["errors"]


# --- following the content --------------------------------------------------------------------

@pytest.fixture
def pack_app(tmp_path, database_url) -> Any:
    """An app serving a small pack of its own, which a test may change and reload."""
    content = Content(write_pack(tmp_path / "pack"), trial=False)
    assert content.load().ok
    app = create_app({"TESTING": True, "DATABASE_URL": database_url, "SECRET_KEY": "t",
                      "CONTENT_TRIAL": False}, content=content)
    yield app
    app.extensions["configurator.db"].dispose()


def test_the_profile_schema_follows_a_content_reload(pack_app, tmp_path):
    client = keyed_client(pack_app)
    before = client.get(OPENAPI)
    assert "fleet" not in before.get_json()["components"]["schemas"]["Profile"]["properties"]
    assert client.get(OPENAPI, headers={"If-None-Match": before.headers["ETag"]}).status_code \
        == 304                                   # the same document, kept
    profile = {"name": unique("Fleet"), "industry": "food", "sites": 2}
    assert client.post("/api/v1/configurations",
                       json={"profile": {**profile, "fleet": 10}}).status_code == 422

    declaration = PROFILE.replace("fields:\n", "fields:\n      fleet: {type: integer, min: 0, "
                                                "max: 500, label: Vehicles}\n", 1)
    (tmp_path / "pack" / "rules" / "profile.yaml").write_text(textwrap.dedent(declaration))
    assert client.post("/api/v1/content/reload").get_json()["ok"] is True

    after = client.get(OPENAPI, headers={"If-None-Match": before.headers["ETag"]})
    assert after.status_code == 200 and after.headers["ETag"] != before.headers["ETag"]
    fleet = after.get_json()["components"]["schemas"]["Profile"]["properties"]["fleet"]
    assert fleet == {"type": "integer", "title": "Vehicles", "minimum": 0, "maximum": 500}
    schema = client.get("/api/v1/profile-schema").get_json()["json_schema"]
    assert schema["properties"]["fleet"] == fleet
    assert not validator(schema).is_valid({**profile, "fleet": 501})
    assert client.post("/api/v1/configurations",
                       json={"profile": {**profile, "fleet": 501}}).status_code == 422
    assert validator(schema).is_valid({**profile, "fleet": 10})
    assert client.post("/api/v1/configurations",
                       json={"profile": {**profile, "fleet": 10}}).status_code == 201


def test_without_a_served_pack_the_document_still_answers(tmp_path, database_url):
    app = create_app({"TESTING": True, "DATABASE_URL": database_url, "SECRET_KEY": "t",
                      "CONTENT_TRIAL": False, "CONTENT_WATCH_SECONDS": 0,
                      "CONFIGURATOR_CONTENT": str(tmp_path / "no-such-pack")})
    try:
        spec = app.test_client().get(OPENAPI).get_json()
        profile = spec["components"]["schemas"]["Profile"]
        assert profile["type"] == "object" and "GET /api/v1/content" in profile["description"]
    finally:
        app.extensions["configurator.db"].dispose()
