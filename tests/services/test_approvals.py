"""services/approvals.py and services/workflow.py: decisions as people, the states they lead to,
and smart re-approval (a new revision keeps an approval unless what it approved got worse)."""
from __future__ import annotations

import secrets

import pytest

from configurator.accounts import services as accounts
from configurator.content.yamlfile import plain, read_yaml
from configurator.services import approvals, workflow
from configurator.services import configurations as service
from configurator.services.workflow import Actor

from helpers import REPO, unique


def _person(db_session, name: str, roles: tuple[str, ...] = ()) -> Actor:
    email = f"{name.lower().replace(' ', '.')}.{secrets.token_hex(3)}@example.com"
    user = accounts.create_user(db_session, email, name, "solution-lead", secrets.token_hex(8))
    user = accounts.set_approver_roles(db_session, user.id, list(roles))
    return Actor(user.id, user.email, user.name, frozenset(user.approver_roles))


@pytest.fixture
def needing_approvals(db_session, content):
    """(a configuration whose revision 1 needs approvals, its author, an approver of them all)."""
    profile = {**plain(read_yaml(REPO / "examples" / "kestrel-network-systems-ltd.yaml")),
               "name": unique("Approvals")}
    author = _person(db_session, "Lea Lead")
    created = service.create_configuration(db_session, content, profile, actor=author)
    roles = tuple(a["role"] for a in created["document"]["approvals"])
    assert roles and created["state"] == "pending_approval"
    return created, author, _person(db_session, "Ada Approver", roles)


def _approve_all(db_session, created, approver) -> None:
    for approval in created["document"]["approvals"]:
        approvals.decide(db_session, created["id"], 1, approval["role"], approver)


def test_an_unchanged_revision_keeps_every_approval_and_stays_approved(db_session, content,
                                                                        needing_approvals):
    created, author, approver = needing_approvals
    _approve_all(db_session, created, approver)
    again = service.add_revision(db_session, content, created["id"], [], actor=author)
    assert again["state"] == "approved"
    status = approvals.status(db_session, created["id"], 2)
    assert status["approved"] and status["asked_again"] == []
    assert {a["carried_from"] for a in status["approvals"]} == {1}
    assert {a["approved_by"] for a in status["approvals"]} == {approver.name}


def test_a_deeper_discount_asks_again_and_says_why(db_session, content, needing_approvals):
    created, author, approver = needing_approvals
    _approve_all(db_session, created, approver)
    discount = {"action": "discount", "percent": 1.5, "applies_to": "total", "reason": "goodwill"}
    again = service.add_revision(db_session, content, created["id"], [discount], actor=author)
    status = approvals.status(db_session, created["id"], again["number"])
    assert again["state"] == "pending_approval" and not status["approved"]
    reasons = {item["role"]: item["reason"] for item in status["asked_again"]}
    assert set(reasons) == set(status["outstanding"]) and status["approvals"] == []
    assert set(reasons.values()) == {"the largest discount rose from 12% to 13.5%"}


def test_a_larger_total_asks_again_and_says_why(db_session, content, needing_approvals):
    created, author, approver = needing_approvals
    _approve_all(db_session, created, approver)
    line = created["document"]["lines"][0]
    more = {"action": "quantity", "module": line["module"], "quantity": line["quantity"] + 5}
    again = service.add_revision(db_session, content, created["id"], [more], actor=author)
    status = approvals.status(db_session, created["id"], again["number"])
    reasons = {item["reason"] for item in status["asked_again"]}
    assert again["state"] == "pending_approval" and reasons
    assert all(r.startswith("the first-year total rose from ") for r in reasons)


def test_the_replaced_revision_is_superseded_and_cannot_be_decided_any_more(
        db_session, content, needing_approvals):
    created, author, approver = needing_approvals
    service.add_revision(db_session, content, created["id"], [], actor=author)
    role = created["document"]["approvals"][0]["role"]
    with pytest.raises(workflow.StateConflict, match="replaced by revision 2"):
        approvals.decide(db_session, created["id"], 1, role, approver)


def test_a_rejection_needs_a_comment_and_rejects_until_withdrawn(db_session, needing_approvals):
    created, author, approver = needing_approvals
    role = created["document"]["approvals"][0]["role"]
    with pytest.raises(approvals.ApprovalInvalid) as refused:
        approvals.decide(db_session, created["id"], 1, role, approver, "rejected")
    assert "note" in refused.value.errors
    decided = approvals.decide(db_session, created["id"], 1, role, approver, "rejected",
                               "Margin too thin")
    assert decided["state"] == "rejected"
    with pytest.raises(workflow.StateConflict, match="rejected"):
        workflow.change_state(db_session, created["id"], 1, "sent", author)
    other = _person(db_session, "Olli Other", (role,))
    with pytest.raises(workflow.Forbidden, match="can withdraw"):
        approvals.withdraw(db_session, created["id"], 1, role, other)
    after = approvals.withdraw(db_session, created["id"], 1, role, approver)
    assert after["state"] == "pending_approval" and role in after["outstanding"]


def test_sent_accepted_and_no_way_back(db_session, needing_approvals):
    created, author, approver = needing_approvals
    _approve_all(db_session, created, approver)
    with pytest.raises(workflow.StateConflict, match="only when it is sent"):
        workflow.change_state(db_session, created["id"], 1, "accepted", author)
    sent = workflow.change_state(db_session, created["id"], 1, "sent", author)
    assert sent["state"] == "sent" and sent["valid_until"] > sent["state_changed_at"]
    role = created["document"]["approvals"][0]["role"]
    with pytest.raises(workflow.StateConflict, match="can no longer be withdrawn"):
        approvals.withdraw(db_session, created["id"], 1, role, approver)
    assert workflow.change_state(db_session, created["id"], 1, "declined",
                                 author)["state"] == "declined"
    with pytest.raises(workflow.StateInvalid):
        workflow.change_state(db_session, created["id"], 1, "approved", author)


def test_a_sent_revision_past_its_validity_reads_as_expired(db_session, needing_approvals):
    created, author, approver = needing_approvals
    _approve_all(db_session, created, approver)
    sent = workflow.change_state(db_session, created["id"], 1, "sent", author, validity_days=-1)
    assert sent["state"] == "expired"
    with pytest.raises(workflow.StateConflict, match="expired"):
        workflow.change_state(db_session, created["id"], 1, "accepted", author)
