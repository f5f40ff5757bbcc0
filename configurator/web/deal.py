"""Where a deal stands, in the pages: approve or reject a revision as a person, withdraw one's own
decision, and mark the latest revision sent, accepted or declined (after a confirmation page,
since those cannot be undone). Every write goes through services/approvals.py and
services/workflow.py, as the API's do; a refusal (403/409-type) comes back as a message on the
page it came from.

`deal_view` and `approval_rows` are the words and controls the review, proposal and history
pages show for a revision's state and its approvals.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

import flask
from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from ..accounts import require
from ..accounts.services import names_by_email
from ..services import approvals
from ..services.workflow import (DEFAULT_VALIDITY_DAYS, ISSUED, MOVES, Forbidden, StateConflict,
                                 StateInvalid, change_state)
from ..store import flaskdb as db
from ..store.configurations import get_configuration, get_revision
from ..store.models import ROUTE_ID, utcnow
from .blueprint import actor, bp
from .formatting import day, state_label, words

# the moves a person can make from a state, and how the buttons and messages name them
MOVE_WORDS = {"sent": ("Mark as sent", "marked sent"),
              "accepted": ("Mark as accepted", "marked accepted"),
              "declined": ("Mark as declined", "marked declined")}


def moves_from(state: str) -> list[str]:
    """The states the latest revision may move to from `state` (services.workflow.MOVES)."""
    return [target for target, sources in MOVES.items() if state in sources]


def deal_view(revision: dict[str, Any], latest_number: int,
              status: dict[str, Any]) -> dict[str, Any]:
    """What a page says about where revision `revision` stands: its state in words, who moved it
    there and when, a sentence on what happens next, and the moves offered (latest only)."""
    state = revision["state"]
    is_latest = revision["number"] == latest_number
    rejected = [a for a in status["approvals"] if a["decision"] == "rejected"]
    outstanding = ", ".join(words(role).lower() for role in status["outstanding"])
    next_step = {
        "draft": "It has conflicts: resolve them before it can be approved or sent.",
        "pending_approval": f"Waiting for approval by {outstanding}." if outstanding else
                            "Waiting for approvals.",
        "approved": "Every required approval is recorded. Mark it sent once the proposal has "
                    "gone to the customer.",
        "rejected": "".join(f"Rejected by {a['approved_by']} ({words(a['role']).lower()}). "
                            for a in rejected) +
                    "It cannot be sent: make a new revision that answers the comment.",
        "sent": f"With the customer; the offer is valid until {day(revision['valid_until'])}. "
                "Record their answer.",
        "accepted": "The customer accepted this offer.",
        "declined": "The customer declined this offer. To offer again, make a new revision.",
        "expired": f"The offer ran out on {day(revision['valid_until'])} without an answer. To "
                   "offer again, make a new revision.",
        "superseded": f"Revision {latest_number} replaced it; the deal moves on there.",
    }.get(state, "")
    by = revision.get("state_changed_by")
    names = names_by_email(db.session(), {by}) if by else {}
    moved = state in ("sent", "accepted", "declined") and revision.get("state_changed_at")
    return {"state": state, "label": state_label(state, revision.get("valid_until"),
                                                 latest_number if state == "superseded" else None),
            "next_step": next_step, "is_latest": is_latest,
            "changed": f"{MOVE_WORDS[state][1].capitalize()} by {names.get(by, by)}"
                       if moved and by else None,
            "changed_at": revision.get("state_changed_at") if moved else None,
            "moves": [(target, MOVE_WORDS[target][0]) for target in moves_from(state)]
            if is_latest else []}


def approval_rows(revision: dict[str, Any], latest_number: int,
                  status: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per approval the revision's document requires: its reasons, the decision given
    (who, when, the comment, kept from which revision), and what the signed-in user may do
    (decide, or withdraw their own decision), or why nobody decides now."""
    state = status["state"]
    is_latest = revision["number"] == latest_number
    given = {a["role"]: a for a in status["approvals"]}
    asked_again = {a["role"]: a["reason"] for a in status["asked_again"]}
    undecided = {"superseded": f"Not decided: replaced by revision {latest_number}",
                 "rejected": "Not decided: another approver rejected this revision",
                 "draft": "Not asked yet: the conflicts come first"}
    rows = []
    for required in revision["document"]["approvals"]:
        role = required["role"]
        decision = given.get(role)
        row: dict[str, Any] = {"role": role, "reasons": required["reasons"],
                               "decision": decision, "may_decide": False,
                               "may_withdraw": False, "waiting": None}
        if decision is not None:
            row["may_withdraw"] = (is_latest and state not in ISSUED and
                                   decision["user_id"] is not None and
                                   decision["user_id"] == current_user.id)
        elif state == "pending_approval" and is_latest:
            row["may_decide"] = (role in current_user.approver_roles and
                                 revision["author_id"] != current_user.id)
            row["waiting"] = "Waiting" + (f": asked again because {asked_again[role]}"
                                          if role in asked_again else "")
        else:
            row["waiting"] = undecided.get(state, "Not decided")
        rows.append(row)
    return rows


def _back(configuration_id: int, number: int) -> Any:
    """Back to the page the form was on: the proposal page, or the review of that revision."""
    if request.form.get("back") == "proposal":
        return redirect(url_for("web.proposal", configuration_id=configuration_id,
                                number=number))
    return redirect(url_for("web.configuration", configuration_id=configuration_id,
                            revision=number))


def _refused(message: str) -> None:
    db.session().rollback()
    flash(message[:1].upper() + message[1:] + ("" if message.endswith(".") else "."), "error")


@bp.post(f"/configurations/<{ROUTE_ID}:configuration_id>/revisions/<{ROUTE_ID}:number>/approve")
@require("customers")
def approve(configuration_id: int, number: int):
    """Record the signed-in user's approval or rejection of revision `number` for one role."""
    role = request.form.get("role", "")
    note = (request.form.get("note") or "").strip()[:1000] or None
    decision = "rejected" if request.form.get("decision") == "rejected" else "approved"
    session = db.session()
    try:
        done = approvals.decide(session, configuration_id, number, role, actor(), decision, note)
    except approvals.ApprovalInvalid as exc:
        _refused(" ".join(m for messages in exc.errors.values() for m in messages))
    except (approvals.AlreadyApproved, Forbidden, StateConflict) as exc:
        _refused(exc.message)
    else:
        session.commit()
        what = "Approved" if decision == "approved" else "Rejected"
        flash(f"{what} revision {number} as {words(role).lower()}: the revision is "
              f"{state_label(done['state']).lower()}.", "success")
    return _back(configuration_id, number)


@bp.post(f"/configurations/<{ROUTE_ID}:configuration_id>/revisions/<{ROUTE_ID}:number>"
         "/withdraw-decision")
@require("customers")
def withdraw_decision(configuration_id: int, number: int):
    """Withdraw the signed-in user's own decision for one role, while the revision is not sent."""
    role = request.form.get("role", "")
    session = db.session()
    try:
        after = approvals.withdraw(session, configuration_id, number, role, actor())
    except approvals.ApprovalInvalid as exc:
        _refused(" ".join(m for messages in exc.errors.values() for m in messages))
    except (Forbidden, StateConflict) as exc:
        _refused(exc.message)
    else:
        session.commit()
        flash(f"Withdrew your decision as {words(role).lower()} on revision {number}: the "
              f"revision is {state_label(after['state']).lower()}.", "success")
    return _back(configuration_id, number)


STATE_URL = (f"/configurations/<{ROUTE_ID}:configuration_id>/revisions/<{ROUTE_ID}:number>"
             "/state/<any(sent, accepted, declined):target>")


@bp.get(STATE_URL)
@require("customers")
def confirm_state(configuration_id: int, number: int, target: str):
    """Ask before a move that cannot be undone (a page of its own: it works without
    JavaScript)."""
    session = db.session()
    configuration = get_configuration(session, configuration_id)
    revision = get_revision(session, configuration_id, number)
    latest = configuration["revision"]
    if number != latest or target not in moves_from(revision["state"]):
        now = state_label(revision["state"], revision["valid_until"], latest).lower()
        flash(f"Revision {number} is {now}: it cannot be {MOVE_WORDS[target][1]} now.", "error")
        return redirect(url_for("web.configuration", configuration_id=configuration_id,
                                revision=number))
    return render_template(
        "web/confirm_state.html", configuration=configuration, revision=revision,
        target=target, button=MOVE_WORDS[target][0],
        valid_until=utcnow() + dt.timedelta(days=DEFAULT_VALIDITY_DAYS),
        back="proposal" if request.args.get("back") == "proposal" else "")


@bp.post(STATE_URL)
@require("customers")
def change_deal_state(configuration_id: int, number: int, target: str):
    """Mark the latest revision sent, accepted or declined (services.workflow.change_state)."""
    session = db.session()
    try:
        revision = change_state(session, configuration_id, number, target, actor())
    except (Forbidden, StateConflict) as exc:
        _refused(exc.message)
    except StateInvalid:     # pragma: no cover - the route takes only the states MOVES has
        session.rollback()
        flask.abort(404)
    else:
        session.commit()
        until = (f": the offer is valid until {day(revision['valid_until'])}"
                 if target == "sent" else "")
        flash(f"Revision {number} is {MOVE_WORDS[target][1]}{until}.", "success")
    return _back(configuration_id, number)
