"""The deal workflow through the API: approvals bound to people, revision states, immutable
revisions and no lost updates (issue 13). Every test runs on SQLite and PostgreSQL."""
from __future__ import annotations

import threading

import pytest

from configurator.content.yamlfile import plain, read_yaml

from helpers import REPO, person_client, unique

PROBLEM = "application/problem+json"


def kestrel(name: str) -> dict:
    """A strategic account whose solution needs finance, delivery-director and legal."""
    return {**plain(read_yaml(REPO / "examples" / "kestrel-network-systems-ltd.yaml")),
            "name": name}


def problem(response, status: int) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM
    return response.get_json(force=True)


@pytest.fixture
def lead(app):
    """A solution lead's client (their key acts for them)."""
    return person_client(app, "Lea Lead")


@pytest.fixture
def deal(lead) -> dict:
    created = lead.post("/api/v1/configurations", json={"profile": kestrel(unique("Deal"))})
    assert created.status_code == 201, created.get_json()
    return created.get_json()


def url(deal: dict, number: int = 1, tail: str = "") -> str:
    return f"/api/v1/configurations/{deal['id']}/revisions/{number}{tail}"


def roles(deal: dict) -> list[str]:
    return [a["role"] for a in deal["document"]["approvals"]]


def approve_all(app, deal: dict, number: int = 1) -> None:
    approver = person_client(app, "Ada Approver", tuple(roles(deal)))
    for role in roles(deal):
        done = approver.post(url(deal, number, "/approvals"), json={"role": role})
        assert done.status_code == 201, done.get_json()


def test_a_new_revision_waits_for_approvals_and_says_who_made_it(lead, deal):
    assert deal["state"] == "pending_approval" and deal["status"] == "approval_required"
    revision = lead.get(url(deal)).get_json()
    assert revision["created_by"] == lead.user.email
    assert revision["via_api_key"] and revision["state"] == "pending_approval"


def test_an_approval_by_a_user_without_the_role_is_403(app, deal):
    other = person_client(app, "Olli Other", ("sales-director",))
    body = problem(other.post(url(deal, tail="/approvals"), json={"role": "finance"}), 403)
    assert "does not hold the approver role `finance`" in body["detail"]
    assert other.get(url(deal, tail="/approvals")).get_json()["approvals"] == []


def test_a_key_that_acts_for_nobody_cannot_approve(client, deal):
    body = problem(client.post(url(deal, tail="/approvals"), json={"role": "finance"}), 403)
    assert "acts for no user" in body["detail"]


def test_the_author_of_a_revision_cannot_approve_it(app, lead, deal):
    with app.extensions["configurator.db"].sessions() as session:
        from configurator.accounts import services as accounts
        accounts.set_approver_roles(session, lead.user.id, roles(deal))
        session.commit()
    body = problem(lead.post(url(deal, tail="/approvals"), json={"role": "finance"}), 403)
    assert "cannot approve it" in body["detail"]


def test_by_cannot_name_someone_else(app, deal):
    approver = person_client(app, "Fin Ance", ("finance",))
    body = problem(approver.post(url(deal, tail="/approvals"),
                                 json={"role": "finance", "by": "CEO Jane Doe"}), 403)
    assert "cannot name someone else" in body["detail"]


def test_every_approval_makes_the_revision_approved_then_it_is_sent_and_accepted(app, lead,
                                                                                 deal):
    approve_all(app, deal)
    status = lead.get(url(deal, tail="/approvals")).get_json()
    assert status["approved"] and status["state"] == "approved"
    sent = lead.post(url(deal, tail="/state"), json={"state": "sent"})
    assert sent.status_code == 200 and sent.get_json()["state"] == "sent"
    assert sent.get_json()["valid_until"] is not None
    accepted = lead.post(url(deal, tail="/state"), json={"state": "accepted"}).get_json()
    assert accepted["state"] == "accepted" and accepted["state_changed_by"] == lead.user.email
    listed = lead.get("/api/v1/configurations?state=accepted").get_json()["items"]
    assert deal["id"] in [item["id"] for item in listed]


def test_a_rejected_revision_cannot_be_sent(app, lead, deal):
    approver = person_client(app, "Rita Reject", ("finance",))
    body = problem(approver.post(url(deal, tail="/approvals"),
                                 json={"role": "finance", "decision": "rejected"}), 422)
    assert "note" in body["errors"]
    rejected = approver.post(url(deal, tail="/approvals"),
                             json={"role": "finance", "decision": "rejected",
                                   "note": "Discount too deep"})
    assert rejected.status_code == 201 and rejected.get_json()["state"] == "rejected"
    body = problem(lead.post(url(deal, tail="/state"), json={"state": "sent"}), 409)
    assert "rejected" in body["detail"]
    withdrawn = approver.delete(url(deal, tail="/approvals/finance"))
    assert withdrawn.status_code == 200 and withdrawn.get_json()["state"] == "pending_approval"


def test_approving_a_superseded_revision_is_409_naming_the_newer_one(app, lead, deal):
    again = lead.post(f"/api/v1/configurations/{deal['id']}/revisions", json={"adjustments": []})
    assert again.status_code == 201
    assert lead.get(url(deal)).get_json()["state"] == "superseded"
    approver = person_client(app, "Fin Ance", ("finance",))
    body = problem(approver.post(url(deal, tail="/approvals"), json={"role": "finance"}), 409)
    assert "replaced by revision 2" in body["detail"]


def test_a_proposal_of_revision_1_keeps_its_customer_after_revision_2_renames_it(lead, deal):
    first = lead.post(url(deal, tail="/proposals"), json={}).get_json()
    renamed = {**deal["profile"], "name": unique("Renamed")}
    assert lead.post(f"/api/v1/configurations/{deal['id']}/revisions",
                     json={"adjustments": [], "profile": renamed}).status_code == 201
    again = lead.get(f"/api/v1/proposals/{first['id']}").get_json()
    assert again["customer"] == deal["customer"]["name"] != renamed["name"]
    assert again["file_name"] == first["file_name"]
    pdf = lead.get(first["pdf_url"])
    assert first["file_name"] in pdf.headers["Content-Disposition"]
    remade = lead.post(url(deal, tail="/proposals"), json={}).get_json()   # revision 1 again
    assert remade["customer"] == deal["customer"]["name"]


def test_a_stale_if_match_is_412_and_stores_nothing(lead, deal):
    config = f"/api/v1/configurations/{deal['id']}"
    tag = lead.get(config).headers["ETag"]
    first = lead.post(config + "/revisions", json={"adjustments": []}, headers={"If-Match": tag})
    assert first.status_code == 201 and first.headers["ETag"] != tag
    body = problem(lead.post(config + "/revisions", json={"adjustments": []},
                             headers={"If-Match": tag}), 412)
    assert "revision 2" in body["detail"]
    assert lead.get(config).get_json()["revision"] == 2


def test_concurrent_revisions_with_if_match_lose_no_change(app, lead, deal):
    """30 clients each add one change on top of what they read: each either lands on top of
    the latest revision, or gets 412 and retries on top of the newer one. No change is lost."""
    config = f"/api/v1/configurations/{deal['id']}"
    wanted = {f"note {i}" for i in range(30)}
    refused = []

    def one(i: int) -> None:
        client = app.test_client()
        client.environ_base["HTTP_AUTHORIZATION"] = lead.environ_base["HTTP_AUTHORIZATION"]
        change = {"action": "discount", "percent": 0.1, "applies_to": "total",
                  "reason": f"note {i}"}
        for _ in range(200):
            read = client.get(config)
            latest = read.get_json()
            answer = client.post(config + "/revisions",
                                 json={"adjustments": latest["adjustments"] + [change]},
                                 headers={"If-Match": read.headers["ETag"]})
            if answer.status_code == 201:
                return
            assert answer.status_code == 412, answer.get_data(as_text=True)
            refused.append(i)
        raise AssertionError(f"client {i} never landed")

    threads = [threading.Thread(target=one, args=(i,)) for i in range(30)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    final = lead.get(config).get_json()
    assert final["revision"] == 31
    assert {a.get("reason") for a in final["adjustments"]} == wanted
