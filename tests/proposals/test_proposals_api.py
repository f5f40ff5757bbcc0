"""Approvals and PDF proposals through the REST API, the store and the CLI."""
from __future__ import annotations

import hashlib
import io
import re
import shutil

import pypdf
import pytest
from sqlalchemy import func, select

from configurator.cli import cli
from configurator.content.pack import load_pack
from configurator.content.yamlfile import plain, read_yaml
from configurator.proposals import RenderFailed
from configurator.services import configurations as configurations_service
from configurator.services import proposals as service
from configurator.store import configurations as configurations_store
from configurator.store import proposals as store
from configurator.store.models import Proposal

from helpers import REPO, person_client, unique

PROBLEM = "application/problem+json"


def pdf_text(pdf: bytes) -> str:
    return "\n".join(p.extract_text() or "" for p in pypdf.PdfReader(io.BytesIO(pdf)).pages)


def kestrel(name: str) -> dict:
    return {**plain(read_yaml(REPO / "examples" / "kestrel-network-systems-ltd.yaml")),
            "name": name}


@pytest.fixture
def configuration(client) -> dict:
    """A configuration of a strategic account whose revision needs three approvals."""
    response = client.post("/api/v1/configurations",
                           json={"profile": kestrel(unique("Kestrel & Söhne"))})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def base(configuration: dict) -> str:
    return f"/api/v1/configurations/{configuration['id']}/revisions/1"


def assert_problem(response, status: int) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM
    return response.get_json(force=True)


def test_proposal_is_rendered_stored_with_its_checksum_and_downloaded(client, configuration):
    response = client.post(base(configuration) + "/proposals", json={})
    assert response.status_code == 201, response.get_json()
    proposal = response.get_json()
    assert response.headers["Location"] == f"/api/v1/proposals/{proposal['id']}"
    assert proposal["draft"] is True and proposal["language"] == "en"
    assert proposal["template"] == "standard" and proposal["revision"] == 1
    assert proposal["content_version"] == configuration["content_version"]
    assert proposal["pages"] >= 8

    download = client.get(proposal["pdf_url"])
    assert download.status_code == 200 and download.mimetype == "application/pdf"
    data = download.get_data()
    assert hashlib.sha256(data).hexdigest() == proposal["sha256"] and len(data) == proposal["size"]
    disposition = download.headers["Content-Disposition"]
    match = re.fullmatch(r'attachment; filename="([a-z0-9-]+-proposal-r1-en\.pdf)"', disposition)
    assert match and match.group(1).startswith("kestrel-s-hne-"), disposition
    text = pdf_text(data)
    assert configuration["customer"]["name"] in text
    assert "DRAFT" in text

    assert client.get(f"/api/v1/proposals/{proposal['id']}").get_json() == proposal
    listed = client.get(f"/api/v1/configurations/{configuration['id']}/proposals").get_json()
    assert [p["id"] for p in listed["items"]] == [proposal["id"]]


def test_posting_again_returns_the_stored_proposal_without_rendering(client, configuration,
                                                                     monkeypatch):
    first = client.post(base(configuration) + "/proposals", json={"language": "en"}).get_json()

    def fail(*args, **kwargs):
        raise AssertionError("rendered twice")
    monkeypatch.setattr(service, "render_proposal", fail)
    again = client.post(base(configuration) + "/proposals",
                        json={"template": "standard", "language": "en"})
    assert again.status_code == 200
    assert again.get_json()["id"] == first["id"]
    assert again.get_json()["sha256"] == first["sha256"]


def test_approvals_turn_the_draft_into_a_final_proposal(client, app, configuration):
    roles = [a["role"] for a in configuration["document"]["approvals"]]
    assert set(roles) == {"finance", "delivery-director", "legal"}
    status = client.get(base(configuration) + "/approvals").get_json()
    assert status["outstanding"] == roles and status["approved"] is False
    draft = client.post(base(configuration) + "/proposals", json={}).get_json()

    dana = person_client(app, "Dana Whitfield", tuple(roles[:-1]))
    for role in roles[:-1]:
        response = dana.post(base(configuration) + "/approvals",
                             json={"role": role, "note": "fine"})
        assert response.status_code == 201, response.get_json()
        assert response.get_json()["role"] == role
    partly = client.post(base(configuration) + "/proposals", json={}).get_json()
    assert partly["draft"] is True and partly["id"] != draft["id"]   # shows who approved

    lee = person_client(app, "Lee Chen", (roles[-1],))
    lee.post(base(configuration) + "/approvals", json={"role": roles[-1]})
    status = client.get(base(configuration) + "/approvals").get_json()
    assert status["approved"] is True and status["outstanding"] == []
    final = client.post(base(configuration) + "/proposals", json={}).get_json()
    assert final["draft"] is False
    text = pdf_text(client.get(final["pdf_url"]).get_data())
    assert "DRAFT" not in text
    assert "Approved by Lee Chen" in text
    # final, and never also "awaiting approval"
    assert "This proposal is final" in text and "approvals are required" not in text


def test_an_approval_the_revision_does_not_need_is_refused_naming_role(app, configuration):
    first = person_client(app, "Ana Legal", ("legal", "ceo"))
    body = assert_problem(first.post(base(configuration) + "/approvals", json={"role": "ceo"}),
                          422)
    assert "role" in body["errors"] and "finance" in body["errors"]["role"][0]
    body = assert_problem(first.post(base(configuration) + "/approvals", json={}), 422)
    assert "role" in body["errors"]
    assert first.post(base(configuration) + "/approvals",
                      json={"role": "legal"}).status_code == 201
    second = person_client(app, "Bo Legal", ("legal",))
    body = assert_problem(second.post(base(configuration) + "/approvals",
                                      json={"role": "legal"}), 409)
    assert "already" in body["detail"]


def test_unknown_template_language_revision_and_proposal(client, configuration):
    body = assert_problem(client.post(base(configuration) + "/proposals",
                                      json={"template": "glossy"}), 422)
    assert "template" in body["errors"]
    body = assert_problem(client.post(base(configuration) + "/proposals",
                                      json={"language": "fr"}), 422)
    assert "language" in body["errors"]
    assert_problem(client.post(base(configuration) + "/proposals", json={"colour": "red"}), 422)
    assert_problem(client.post(f"/api/v1/configurations/{configuration['id']}/revisions/9/"
                               "proposals", json={}), 404)
    assert_problem(client.get("/api/v1/proposals/999999"), 404)
    assert_problem(client.get("/api/v1/proposals/999999/pdf"), 404)
    assert_problem(client.get("/api/v1/configurations/999999/proposals"), 404)


def test_a_failed_render_is_a_clear_error_and_writes_nothing(client, configuration, app,
                                                             monkeypatch):
    def broken(*args, **kwargs):
        raise RenderFailed("ValueError: the renderer fell over")
    monkeypatch.setattr(service, "render_proposal", broken)
    body = assert_problem(client.post(base(configuration) + "/proposals", json={}), 500)
    assert body["type"].endswith("proposal-render-failed")
    assert "nothing was stored" in body["detail"]
    assert client.get(f"/api/v1/configurations/{configuration['id']}/proposals") \
        .get_json()["items"] == []
    after = client.get(f"/api/v1/configurations/{configuration['id']}").get_json()
    assert after == configuration


def test_chinese_proposal_through_the_api(client, configuration):
    response = client.post(base(configuration) + "/proposals", json={"language": "zh"})
    assert response.status_code == 201
    proposal = response.get_json()
    download = client.get(proposal["pdf_url"])
    assert download.headers["Content-Disposition"].endswith('-proposal-r1-zh.pdf"')
    assert "执行摘要" in pdf_text(download.get_data())


def test_proposal_endpoints_are_in_the_openapi_document(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    for path in ("/api/v1/configurations/{configuration_id}/revisions/{number}/approvals",
                 "/api/v1/configurations/{configuration_id}/revisions/{number}/proposals",
                 "/api/v1/configurations/{configuration_id}/proposals",
                 "/api/v1/proposals/{proposal_id}", "/api/v1/proposals/{proposal_id}/pdf"):
        assert path in paths, path
    assert "application/pdf" in paths["/api/v1/proposals/{proposal_id}/pdf"]["get"]["responses"]["200"]["content"]


# --- the store --------------------------------------------------------------------------------

def test_file_names_are_ascii_and_safe():
    assert store.file_name("Kestrel Network Systems Ltd", 3, "en") == \
        "kestrel-network-systems-ltd-proposal-r3-en.pdf"
    assert store.file_name('<img src="x">/../"; evil', 1, "zh") == \
        "img-src-x-evil-proposal-r1-zh.pdf"
    assert store.file_name("凯斯特网络", 2, "zh") == "customer-proposal-r2-zh.pdf"


def test_an_old_content_version_renders_with_its_own_templates(db_session, content, tmp_path):
    """A revision keeps the content version it was computed with; its proposal uses that
    version's files (exported from the store), not the pack served now."""
    old = tmp_path / "old"
    for folder in ("catalog", "rules", "proposals"):
        shutil.copytree(REPO / folder, old / folder)
    theme = old / "proposals" / "standard" / "theme.yaml"
    theme.write_text(theme.read_text().replace("name: Northwind Operations Cloud",
                                               "name: Northwind Legacy Edition"))
    pack = load_pack(old)
    assert pack.version != content.pack.version
    configurations_store.store_content_version(db_session, pack)
    pipeline = service.pipeline_for_version(db_session, content, pack.version)
    assert pipeline.pack.version == pack.version
    assert service.pipeline_for_version(db_session, content, pack.version) is pipeline
    assert "Northwind Legacy Edition" in (pipeline.pack.proposals_dir / "standard" /
                                          "theme.yaml").read_text()
    assert service.pipeline_for_version(db_session, content, content.pack.version) \
        is content.pipeline


def test_proposal_rows_are_only_written_for_rendered_pdfs(db_session, content):
    created = configurations_service.create_configuration(db_session, content,
                                                        kestrel(unique("Rows")))
    before = db_session.scalar(select(func.count(Proposal.id)))
    with pytest.raises(Exception):
        service.create_proposal(db_session, content, created["id"], 1, "standard", "xx")
    assert db_session.scalar(select(func.count(Proposal.id))) == before


# --- the CLI ----------------------------------------------------------------------------------

def test_configure_writes_the_pdf_proposal(tmp_path, runner):
    out = tmp_path / "kestrel.pdf"
    result = runner.invoke(cli, ["configure", str(REPO / "examples" /
                                                  "kestrel-network-systems-ltd.yaml"),
                                 "--pdf", str(out), "--language", "zh"])
    assert result.exit_code == 0, result.output
    assert "Proposal written to" in result.output and "DRAFT" in result.output
    text = pdf_text(out.read_bytes())
    assert "Kestrel Network Systems Ltd" in text and "执行摘要" in text


def test_configure_refuses_an_unknown_proposal_language(tmp_path, runner):
    result = runner.invoke(cli, ["configure", str(REPO / "examples" /
                                                  "kestrel-network-systems-ltd.yaml"),
                                 "--pdf", str(tmp_path / "x.pdf"), "--language", "fr"])
    assert result.exit_code == 2
    assert "--language" in result.output and "en, zh" in result.output
    assert not (tmp_path / "x.pdf").exists()
