"""Approvals bound to people: approve or reject a revision for one required role, withdraw a
decision, and keep an earlier revision's approval when nothing it approved got worse.

An approval is recorded as the actor (a signed-in user, or the user an API key acts for), only
for an approver role that user holds, never by the author of the revision, and only on the
latest revision while it waits for approvals. A rejection needs a comment. The revision's state
follows the decisions: all required roles approved -> approved; any rejected -> rejected.
"""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from ..store import configurations as configuration_store
from ..store import proposals as store
from ..store.db import Session
from ..store.models import Revision, utcnow
from .workflow import ISSUED, Actor, Forbidden, StateConflict, require_latest, \
    state_after_decisions

DECISIONS = ("approved", "rejected")


class ApprovalInvalid(Exception):
    """An approval the revision does not need, or a rejection without a comment; `errors` names
    the field."""

    def __init__(self, errors: dict[str, list[str]]):
        self.errors = errors
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items()))


class AlreadyApproved(Exception):
    def __init__(self, message: str):
        self.message = message
        super().__init__(message)


def decide(session: Session, configuration_id: int, number: int, role: str, actor: Actor,
           decision: str = "approved", note: str | None = None, *,
           claimed_by: str | None = None) -> dict[str, Any]:
    """Record the actor's decision (approved or rejected) on revision `number` for `role`.

    Raises NotFound; ApprovalInvalid (a role the revision does not require, a rejection without
    a comment); Forbidden (no user, a role the user does not hold, the revision's own author,
    or `claimed_by` naming someone else than the actor);
    StateConflict (not the latest revision, or not waiting for approvals); AlreadyApproved.
    """
    note = (note or "").strip() or None
    configuration_store.lock_configuration(session, configuration_id)
    revision = configuration_store.get_revision_row(session, configuration_id, number)
    required = _required(revision)
    if decision not in DECISIONS:
        raise ApprovalInvalid({"decision": [f"must be one of: {', '.join(DECISIONS)}"]})
    if role not in required:
        needed = ", ".join(f"`{r}`" for r in required) or "none"
        raise ApprovalInvalid({"role": [f"revision {number} does not require approval by "
                                        f"`{role}`; it requires: {needed}"]})
    if decision == "rejected" and note is None:
        raise ApprovalInvalid({"note": ["a rejection needs a comment saying why"]})
    if claimed_by is not None and claimed_by not in (actor.email, actor.name):
        raise Forbidden(f"approvals are recorded as the one who gives them "
                        f"({actor.signature or 'nobody'}); `by` cannot name someone else")
    if actor.user_id is None:
        raise Forbidden("approvals are recorded as a person: this API key acts for no user; "
                        "create a key for a user (`configurator apikey create --user EMAIL`)")
    if role not in actor.approver_roles:
        raise Forbidden(f"{actor.signature} does not hold the approver role `{role}`; an "
                        "administrator can give it on the users page or with `configurator "
                        "user roles`")
    if revision.author_id is not None and revision.author_id == actor.user_id:
        raise Forbidden(f"{actor.signature} made revision {number} and cannot approve it: an "
                        "approval must come from someone other than the revision's author")
    require_latest(session, revision, "approved or rejected")
    if revision.state != "pending_approval":
        raise StateConflict(f"revision {number} is {revision.state.replace('_', ' ')}; "
                            "approvals are recorded while it is pending approval")
    existing = store.find_approval(session, revision, role)
    if existing is not None:
        raise AlreadyApproved(f"`{role}` {existing.decision} revision {number} already "
                              f"({existing.approved_by}, {existing.approved_at:%Y-%m-%d %H:%M} UTC)")
    approval = store.insert_approval(session, revision, role, actor.name, note,
                                     decision=decision, user_id=actor.user_id,
                                     via_api_key=actor.api_key)
    _follow_decisions(session, revision, actor)
    return {**approval, "configuration_id": configuration_id, "revision": number,
            "state": revision.state}


def withdraw(session: Session, configuration_id: int, number: int, role: str,
             actor: Actor) -> dict[str, Any]:
    """Withdraw the actor's own decision for `role` on revision `number` while the revision is
    not yet sent; returns the approval status after it."""
    configuration_store.lock_configuration(session, configuration_id)
    revision = configuration_store.get_revision_row(session, configuration_id, number)
    approval = store.find_approval(session, revision, role)
    if approval is None:
        raise ApprovalInvalid({"role": [f"no decision for `{role}` on revision {number}"]})
    if actor.user_id is None or approval.user_id != actor.user_id:
        raise Forbidden(f"only {approval.approved_by}, who gave it, can withdraw the `{role}` "
                        "decision")
    require_latest(session, revision, "changed")
    if configuration_store.effective_state(revision) in ISSUED:
        raise StateConflict(f"revision {number} is {configuration_store.effective_state(revision)}:"
                            " its approvals can no longer be withdrawn")
    session.delete(approval)
    session.flush()
    _follow_decisions(session, revision, actor)
    return status(session, configuration_id, number)


def status(session: Session, configuration_id: int, number: int) -> dict[str, Any]:
    """What a revision requires, the decisions given, what is outstanding, and for a role an
    earlier revision had approved but this one asks again, why."""
    revision = configuration_store.get_revision_row(session, configuration_id, number)
    found = store.approval_status_of(session, revision)
    previous = _previous(session, revision)
    asked_again = []
    if previous is not None:
        for approval in store.approvals_of(session, previous.id):
            if approval.decision == "approved" and approval.role in found["outstanding"]:
                reason = _why_not_kept(previous, revision, approval.role)
                if reason:
                    asked_again.append({"role": approval.role, "reason": reason})
    return {**found, "state": configuration_store.effective_state(revision),
            "asked_again": asked_again}


def carry_approvals(session: Session, revision: Revision, actor: Actor) -> None:
    """Smart re-approval: a new revision keeps each approval of the revision it replaced when
    the same role is required for the same reasons and nothing it approved got worse (no higher
    discount on any line, no larger first-year total); then sets the new revision's state."""
    previous = _previous(session, revision)
    if previous is None or not _required(revision):
        return
    for approval in store.approvals_of(session, previous.id):
        if approval.decision == "approved" and approval.role in _required(revision) and \
                _why_not_kept(previous, revision, approval.role) is None:
            store.copy_approval(session, approval, revision, carried_from=previous.number)
    _follow_decisions(session, revision, actor)


def _follow_decisions(session: Session, revision: Revision, actor: Actor) -> None:
    """The revision's state after its decisions changed (only while it waits or was decided)."""
    if revision.state not in ("pending_approval", "approved", "rejected") or \
            revision.document["status"] != "approval_required":
        return
    decisions = {a.role: a.decision for a in store.approvals_of(session, revision.id)}
    state = state_after_decisions(_required(revision), decisions)
    if state != revision.state:
        configuration_store.set_state(session, revision, state, actor.signature, utcnow())


def _why_not_kept(previous: Revision, revision: Revision, role: str) -> str | None:
    """Why an approval of `previous` for `role` does not hold for `revision`; None when it does.
    What got worse is said first; the reasons are compared by the rules that gave them (their
    texts name amounts, which the first two checks already weigh)."""
    before, after = _max_discount(previous.document), _max_discount(revision.document)
    if after > before:
        return f"the largest discount rose from {before:g}% to {after:g}%"
    old = Decimal(str(previous.document["totals"]["first_year"]))
    new = Decimal(str(revision.document["totals"]["first_year"]))
    if new > old:
        currency = revision.document["totals"].get("currency", "")
        return f"the first-year total rose from {old:,.2f} to {new:,.2f} {currency}".rstrip()
    if _reasons(previous, role) != _reasons(revision, role):
        return "other rules require it now"
    return None


def _previous(session: Session, revision: Revision) -> Revision | None:
    if revision.number <= 1:
        return None
    return configuration_store.get_revision_row(session, revision.configuration_id,
                                                revision.number - 1)


def _required(revision: Revision) -> list[str]:
    return [a["role"] for a in revision.document.get("approvals", [])]


def _reasons(revision: Revision, role: str) -> list[str]:
    """The rules that require `role` of the revision."""
    for approval in revision.document.get("approvals", []):
        if approval["role"] == role:
            return sorted({r["rule"] for r in approval["reasons"]})
    return []


def _max_discount(document: dict[str, Any]) -> float:
    return max((line["discount_percent"] for line in document["lines"]), default=0)
