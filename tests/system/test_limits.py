"""Limits: request body size, pagination caps, string and list lengths and nesting in profiles,
and the time limit on rendering a proposal PDF."""
from __future__ import annotations

import inspect
import json
import re
import secrets
import shutil

import pytest

from configurator.accounts import services as accounts
from configurator.app import create_app
from configurator.config import load_config
from configurator.content.pack import check_pack
from configurator.content.profile import (DEFAULT_MAX_ITEMS, DEFAULT_MAX_LENGTH, MAX_DEPTH,
                                          MAX_ERRORS, MAX_ITEMS_LIMIT, MAX_LENGTH_LIMIT)
from configurator.proposals.pdf import html_to_pdf
from configurator.proposals.errors import RenderTimeout
from configurator.services.content import Content
from configurator.services.proposals import create_proposal
from configurator.services.rendering import proposal_html as render_html
from configurator.services.rendering import render_proposal
from configurator.store import flaskdb as db

from helpers import REPO, keyed_client, unique, write_pack

PROBLEM = "application/problem+json"
PASSWORD = "correct horse battery staple"


def assert_problem(response, status: int) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    assert response.mimetype == PROBLEM
    body = response.get_json()
    assert body["status"] == status
    return body


@pytest.fixture
def profile(example_profiles) -> dict:
    return {**example_profiles[0]["profile"], "name": unique("Limits")}


# --- request bodies and pages ---------------------------------------------------------------------

def test_a_body_over_one_megabyte_is_refused_with_413_problem_json(client, app, profile):
    assert app.config["MAX_CONTENT_LENGTH"] == 1024 * 1024
    padding = "x" * (1024 * 1024)
    body = json.dumps({"profile": {**profile, "notes": padding}})
    response = client.post("/api/v1/configurations", data=body, content_type="application/json")
    problem = assert_problem(response, 413)
    assert "Traceback" not in response.get_data(as_text=True)
    assert problem["title"] == "Request Entity Too Large"
    # just under the limit the body is read (and refused for what it says, not for its size)
    small = json.dumps({"profile": {**profile, "notes": "x" * 1000}})
    assert client.post("/api/v1/configurations", data=small,
                       content_type="application/json").status_code == 422


def test_a_web_upload_over_one_megabyte_gets_a_friendly_413_page(client, app):
    with app.app_context():
        session = db.session()
        email = f"lead-{secrets.token_hex(4)}@example.com"
        accounts.create_user(session, email, "Lea Lead", "solution-lead", PASSWORD)
        session.commit()
    page = client.get("/sign-in").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    client.post("/sign-in", data={"csrf_token": csrf, "email": email, "password": PASSWORD})
    boundary = "limits-boundary"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n"
            f"{csrf}\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
            f"filename=\"profile.yaml\"\r\nContent-Type: application/yaml\r\n\r\n"
            f"name: Acme\n{'#' * (2 * 1024 * 1024)}\r\n--{boundary}--\r\n").encode()
    response = client.post("/customers/import", data=body,
                           content_type=f"multipart/form-data; boundary={boundary}")
    assert response.status_code == 413
    assert response.mimetype == "text/html"
    assert "larger than the service accepts" in response.get_data(as_text=True)


def test_page_size_is_capped_at_100_and_pages_start_at_1(client):
    for query, field in (("page_size=101", "page_size"), ("page_size=0", "page_size"),
                         ("page_size=100000", "page_size"), ("page=0", "page"),
                         ("page=-1", "page"), ("page_size=ten", "page_size")):
        body = assert_problem(client.get(f"/api/v1/configurations?{query}"), 422)
        assert set(body["errors"]) == {field}, query
    page = client.get("/api/v1/configurations?page_size=100").get_json()
    assert page["page_size"] == 100 and len(page["items"]) <= 100
    assert client.get("/api/v1/configurations").get_json()["page_size"] == 20
    assert_problem(client.get("/api/v1/configurations/1/revisions?page_size=101"), 422)


# --- profiles -------------------------------------------------------------------------------------

def test_profile_texts_and_lists_are_bounded_and_errors_name_the_field(client, profile):
    long_text = "x" * (DEFAULT_MAX_LENGTH + 1)
    contacts = [{"name": "Ada", "role": "economic-buyer", "stance": "supporter"}]
    vendors = [f"Vendor {i}" for i in range(DEFAULT_MAX_ITEMS + 1)]
    cases = {
        "profile.name": {"name": long_text},
        "profile.country": {"country": long_text},   # not a code: refused, quoted short
        "profile.competitors": {"competitors": vendors},
        "profile.competitors.3": {"competitors": ["A", "B", "C", long_text]},
        "profile.contacts.1.name": {"contacts": contacts + [{**contacts[0], "name": long_text}]},
        "profile.contacts": {"contacts": contacts * (DEFAULT_MAX_ITEMS + 1)},
    }
    for path, change in cases.items():
        body = assert_problem(client.post("/api/v1/configurations",
                                          json={"profile": {**profile, **change}}), 422)
        assert body["type"].endswith("invalid-profile"), path
        assert list(body["errors"]) == [path], (path, body["errors"])
        assert any(str(DEFAULT_MAX_LENGTH) in m or str(DEFAULT_MAX_ITEMS) in m
                   or "is not an ISO 3166-1 alpha-2 country code" in m
                   for m in body["errors"][path]), body["errors"][path]
        assert all(len(m) < 500 for m in body["errors"][path])
    at_the_limits = {**profile, "competitors": ["y" * DEFAULT_MAX_LENGTH]
                     + [f"Vendor {i}" for i in range(DEFAULT_MAX_ITEMS - 1)]}
    response = client.post("/api/v1/configurations", json={"profile": at_the_limits})
    assert response.status_code == 201, response.get_data(as_text=True)[:500]


def test_a_profile_with_many_unknown_fields_gets_a_bounded_error_list(client, profile):
    junk = {f"field_{i}": i for i in range(MAX_ERRORS + 50)}
    junk["k" * 5000] = 1
    body = assert_problem(client.post("/api/v1/configurations",
                                      json={"profile": {**profile, **junk}}), 422)
    assert len(body["errors"]) <= MAX_ERRORS + 1
    assert "more fields with errors" in " ".join(body["errors"]["profile"])
    assert max(len(path) for path in body["errors"]) < 300


def test_a_declared_length_beyond_the_ceiling_or_nesting_too_deep_is_refused_at_its_line(
        tmp_path):
    deep = "{type: string}"
    for level in range(MAX_DEPTH):
        deep = "{type: object, fields: {inner: " + deep + "}}"
    profile = f"""
        fields:
          name: {{type: string, required: true, max_length: {MAX_LENGTH_LIMIT + 1}}}
          industry: {{type: enum, values: [food], required: true}}
          sites: {{type: integer}}
          tags: {{type: list, items: {{type: string}}, max_items: {MAX_ITEMS_LIMIT + 1}}}
          deep: {deep}
          fine: {{type: string, max_length: {MAX_LENGTH_LIMIT}}}
    """
    pack, problems = check_pack(write_pack(tmp_path, profile=profile))
    assert pack is None
    found = {(p.file, p.line): p.message for p in problems if p.severity == "error"}
    assert found[("rules/profile.yaml", 2)].startswith(
        f"`max_length` of field `name` is {MAX_LENGTH_LIMIT + 1}; at most")
    assert found[("rules/profile.yaml", 5)].startswith("`max_items` of field `tags` is")
    assert any(line == 6 and "nests objects and lists 6 levels deep" in message
               and "deep.inner.inner.inner.inner.inner" in message
               for (_, line), message in found.items()), found
    assert not any(line == 7 for (_, line) in found)


# --- proposal rendering time limit ----------------------------------------------------------------

@pytest.fixture(scope="module")
def slow_pack(tmp_path_factory):
    """The demo pack whose proposal template also prints a table of thousands of rows: a
    render of many hundred pages, far beyond any time limit in these tests."""
    root = tmp_path_factory.mktemp("slow-pack")
    for folder in ("catalog", "rules", "proposals"):
        shutil.copytree(REPO / folder, root / folder)
    template = root / "proposals" / "standard" / "proposal.html"
    html = template.read_text()
    rows = ("{% for i in range(20000) %}<table><tr><td>Row {{ i }}</td><td>{{ customer }}</td>"
            "</tr></table>{% endfor %}")
    template.write_text(html.replace("</body>", rows + "\n</body>"))
    content = Content(root, trial=False)
    assert content.load().ok
    return content


@pytest.fixture
def slow_app(database_url, slow_pack):
    app = create_app({"TESTING": True, "DATABASE_URL": database_url, "SECRET_KEY": "test",
                      "CONTENT_TRIAL": False, "PROPOSAL_RENDER_TIMEOUT": 0.5},
                     content=slow_pack)
    yield app
    app.extensions["configurator.db"].dispose()


def test_a_render_that_runs_too_long_is_stopped_and_reported_leaving_everything_intact(
        slow_app, profile, caplog):
    client = keyed_client(slow_app)
    created = client.post("/api/v1/configurations", json={"profile": profile})
    assert created.status_code == 201
    configuration = created.get_json()
    response = client.post(f"/api/v1/configurations/{configuration['id']}/revisions/1/proposals",
                           json={})
    body = assert_problem(response, 500)
    assert body["type"].endswith("proposal-render-timeout")
    assert "took longer than 0.5 s" in body["detail"] and "nothing was stored" in body["detail"]
    assert "Traceback" not in response.get_data(as_text=True)
    assert any("stopped after 0.5 s" in r.getMessage()
               for r in caplog.records), caplog.text
    listed = client.get(f"/api/v1/configurations/{configuration['id']}/proposals").get_json()
    assert listed["items"] == []
    assert client.get(f"/api/v1/configurations/{configuration['id']}").get_json() \
        == configuration

    # the web form says what happened, in words
    with slow_app.app_context():
        session = db.session()
        email = f"lead-{secrets.token_hex(4)}@example.com"
        accounts.create_user(session, email, "Lea Lead", "solution-lead", PASSWORD)
        session.commit()
    web = slow_app.test_client()
    page = web.get("/sign-in").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    web.post("/sign-in", data={"csrf_token": csrf, "email": email, "password": PASSWORD})
    here = f"/configurations/{configuration['id']}/revisions/1/proposal"
    page = web.get(here).get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    done = web.post(here, data={"csrf_token": csrf, "template": "standard", "language": "en"},
                    follow_redirects=True)
    text = done.get_data(as_text=True)
    assert done.status_code == 200
    assert "took longer than 0.5 seconds to render and was stopped" in text
    assert "configuration is unchanged" in text
    listed = client.get(f"/api/v1/configurations/{configuration['id']}/proposals").get_json()
    assert listed["items"] == []


def test_the_child_process_renders_the_same_pdf_as_the_request_would(content, example_profiles):
    from configurator.proposals import ProposalInput
    from configurator.proposals.render import revision_time
    from configurator.services.configurations import configure

    pipeline = content.pipeline
    profile = example_profiles[0]["profile"]
    source = ProposalInput(customer=profile["name"], configuration_id=7, revision=1,
                           created_at=revision_time(), profile=profile, adjustments=[],
                           document=configure(content, profile))
    html = render_html(pipeline, source)
    folder = pipeline.pack.proposals_dir / "standard"
    here = html_to_pdf(html, folder, identifier=b"0" * 32)
    there = html_to_pdf(html, folder, identifier=b"0" * 32, timeout=120)
    assert there.pdf == here.pdf and there.pages == here.pages > 1
    with pytest.raises(RenderTimeout, match="took longer than 0.01 s"):
        html_to_pdf(html, folder, identifier=b"0" * 32, timeout=0.01)


def test_the_render_time_limit_is_configured():
    assert load_config(environ={})["PROPOSAL_RENDER_TIMEOUT"] == 60.0
    assert inspect.signature(create_proposal).parameters["timeout"].default == 0.0   # no limit
    assert inspect.signature(render_proposal).parameters["timeout"].default == 0.0   # outside the app


def test_json_nested_thousands_deep_is_a_400_not_a_crash(client):
    body = "[" * 100_000 + "]" * 100_000
    response = client.post("/api/v1/configurations", data=body,
                           content_type="application/json")
    problem = assert_problem(response, 400)
    assert problem["type"].endswith("malformed-json") and "nested" in problem["detail"]
