"""Approvals and where a deal stands (services/approvals.py, services/workflow.py):

- `GET    .../revisions/{n}/approvals`: required, decided, outstanding, and why a role is asked again
- `POST   .../revisions/{n}/approvals`: approve or reject for one role, as the key's user
- `DELETE .../revisions/{n}/approvals/{role}`: withdraw one's own decision before the revision is sent
- `POST   .../revisions/{n}/state`: send, accept or decline the latest revision
"""
from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import fields, validate

from ..services import approvals as service
from ..services import workflow
from ..store import flaskdb as db
from . import errors
from .actors import current_actor
from .schemas import ID, Output, RevisionSchema, Schema

blp = Blueprint(
    "approvals", __name__, url_prefix="/api/v1",
    description=("Approve or reject a revision as a person, and move the deal on. A revision's "
                 "`state`: `draft` (conflicts) | `pending_approval` -> `approved` | `rejected`; "
                 "`approved` -> `sent` -> `accepted` | `declined` | `expired` (past "
                 "`valid_until`); a revision a newer one replaced is `superseded`. Only the "
                 "latest revision is approved, sent or accepted (409 otherwise)."))
errors.attach(blp)

REVISION_NOT_FOUND = "No such configuration or revision"


class ApprovalCreateSchema(Schema):
    role = fields.String(required=True, validate=validate.Length(min=1, max=100), metadata={
        "description": "A role the revision's document requires (`document.approvals[].role`) "
                       "that the key's user holds"})
    decision = fields.String(load_default="approved", validate=validate.OneOf(service.DECISIONS),
                             metadata={"description": "`approved` (default) or `rejected`"})
    note = fields.String(validate=validate.Length(max=2000), metadata={
        "description": "A comment; a rejection needs one"})
    by = fields.String(validate=validate.Length(min=1, max=200), metadata={
        "deprecated": True,
        "description": "Ignored when it names the key's user; any other name is refused (403): "
                       "an approval is always recorded as the key's user"})


class ApprovalGivenSchema(Output):
    role = fields.String()
    decision = fields.String(validate=validate.OneOf(service.DECISIONS))
    approved_by = fields.String(metadata={"description": "The user who decided"})
    approved_at = fields.DateTime()
    note = fields.String(allow_none=True)
    via_api_key = fields.String(allow_none=True, metadata={
        "description": "The public prefix of the API key it came through, if any"})
    carried_from = fields.Integer(allow_none=True, metadata={
        "description": "The earlier revision whose approval this one kept (nothing it approved "
                       "got worse)"})


class ApprovalRecordSchema(ApprovalGivenSchema):
    configuration_id = fields.Integer()
    revision = fields.Integer()
    state = fields.String(validate=validate.OneOf(workflow.STATES))


class AskedAgainSchema(Output):
    role = fields.String()
    reason = fields.String(metadata={"description": "Why the earlier approval was not kept"})


class ApprovalStatusSchema(Output):
    configuration_id = fields.Integer()
    revision = fields.Integer()
    state = fields.String(validate=validate.OneOf(workflow.STATES))
    required = fields.List(fields.String(), metadata={"description": "Roles the revision requires"})
    approvals = fields.List(fields.Nested(ApprovalGivenSchema))
    outstanding = fields.List(fields.String(), metadata={"description": "Roles not yet decided"})
    approved = fields.Boolean(metadata={"description": "Every required role has approved"})
    rejected = fields.List(fields.String(), metadata={"description": "Roles that rejected"})
    asked_again = fields.List(fields.Nested(AskedAgainSchema))


class StateChangeSchema(Schema):
    state = fields.String(required=True, validate=validate.OneOf(tuple(workflow.MOVES)), metadata={
        "description": "`sent` (from approved), `accepted` or `declined` (from sent)"})


@blp.route(f"/configurations/<{ID}:configuration_id>/revisions/<{ID}:number>/approvals")
class Approvals(MethodView):

    @blp.doc(operationId="getApprovals")
    @blp.response(200, ApprovalStatusSchema)
    @errors.responses(blp, 404, 503, _404=REVISION_NOT_FOUND)
    def get(self, configuration_id: int, number: int) -> dict:
        """What a revision requires approved, the decisions, and what is outstanding"""
        return service.status(db.session(), configuration_id, number)

    @blp.doc(operationId="decideApproval")
    @blp.arguments(ApprovalCreateSchema)
    @blp.response(201, ApprovalRecordSchema)
    @errors.responses(blp, *errors.BODY_ERRORS, 503, _403=(
        "The key acts for no user, its user does not hold the role, made the revision, or "
        "`by` names someone else"), _404=REVISION_NOT_FOUND,
        _409="The revision is not the latest or not pending approval, or that role decided "
             "already",
        _422="The request does not have the documented shape, the revision does not require "
             "that role, or a rejection has no `note`; `errors` names each bad field")
    def post(self, body: dict, configuration_id: int, number: int) -> dict:
        """Approve or reject a revision for one required role

        Recorded as the user the API key acts for, who must hold the role and must not be the
        revision's author. Once every required role approved, the revision is `approved` and its
        proposals render without the DRAFT mark; a rejection makes it `rejected`.
        """
        session = db.session()
        result = service.decide(session, configuration_id, number, body["role"],
                                current_actor(), body["decision"], body.get("note"),
                                claimed_by=body.get("by"))
        session.commit()
        return result


@blp.route(f"/configurations/<{ID}:configuration_id>/revisions/<{ID}:number>/approvals/<role>")
class Approval(MethodView):

    @blp.doc(operationId="withdrawApproval")
    @blp.response(200, ApprovalStatusSchema)
    @errors.responses(blp, 503, _403="Only the user who decided can withdraw it",
                      _404=REVISION_NOT_FOUND,
                      _409="The revision is not the latest, or was sent already",
                      _422="No decision for that role")
    def delete(self, configuration_id: int, number: int, role: str) -> dict:
        """Withdraw one's own decision for a role, while the revision is not yet sent"""
        session = db.session()
        result = service.withdraw(session, configuration_id, number, role, current_actor())
        session.commit()
        return result


@blp.route(f"/configurations/<{ID}:configuration_id>/revisions/<{ID}:number>/state",
           tags=["revisions"])      # the revision's own state (the tag api/configurations.py names)
class RevisionState(MethodView):

    @blp.doc(operationId="changeRevisionState")
    @blp.arguments(StateChangeSchema)
    @blp.response(200, RevisionSchema)
    @errors.responses(blp, *errors.BODY_ERRORS, 503, _404=REVISION_NOT_FOUND,
                      _409="The revision is not the latest, or not in a state it can move from")
    def post(self, body: dict, configuration_id: int, number: int) -> dict:
        """Send, accept or decline the latest revision

        `sent` (the proposal went to the customer) needs `approved`; `accepted` and `declined`
        need `sent` and not yet past `valid_until` (then it is `expired`).
        """
        session = db.session()
        result = workflow.change_state(session, configuration_id, number, body["state"],
                                       current_actor())
        session.commit()
        return result
