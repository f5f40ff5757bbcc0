"""The users and the approver roles they hold, for administrators' tools (scope `users:admin`):

- `GET /api/v1/users`: every user, with role, status and approver roles
- `PUT /api/v1/users/{email}/approver-roles`: the approver roles a user holds from now on

The same as the users page and `configurator user roles` (accounts/services.py).
"""
from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import fields, validate

from ..accounts import services
from ..accounts.roles import ROLES
from ..current import current_content
from ..store import flaskdb as db
from . import errors
from .schemas import Output, Schema

blp = Blueprint(
    "users", __name__, url_prefix="/api/v1",
    description=("The people who sign in, and the approver roles each holds: a user approves or "
                 "rejects a revision for the roles they hold (as the rules name them in "
                 "`require_approval`), never a revision they made."))
errors.attach(blp)


class UserSchema(Output):
    email = fields.String(metadata={"description": "How the user signs in; names them in URLs"})
    name = fields.String()
    role = fields.String(validate=validate.OneOf(ROLES), metadata={
        "description": "What the user may do in the web pages"})
    active = fields.Boolean(metadata={"description": "False: deactivated, cannot sign in"})
    approver_roles = fields.List(fields.String(), metadata={
        "description": "The approvals the user may give (e.g. `finance`, `legal`)"})


class ApproverRolesSchema(Schema):
    roles = fields.List(
        fields.String(validate=validate.Length(min=1, max=100)), required=True,
        validate=validate.Length(max=100), metadata={
            "description": "Every approver role the user holds from now on (the previous ones "
                           "are replaced; `[]` takes them all away). Each is a role the served "
                           "rules name in `require_approval`, or one the user holds already."})


@blp.route("/users")
class Users(MethodView):

    @blp.doc(operationId="listUsers")
    @blp.response(200, UserSchema(many=True))
    @errors.responses(blp, 503)
    def get(self) -> list:
        """List the users, by name, with the approver roles each holds"""
        return services.list_users(db.session())


@blp.route("/users/<email>/approver-roles")
class UserApproverRoles(MethodView):

    @blp.doc(operationId="setApproverRoles")
    @blp.arguments(ApproverRolesSchema)
    @blp.response(200, UserSchema)
    @errors.responses(blp, *errors.BODY_ERRORS, 503, _404="No user with that email address",
                      _422="The request does not have the documented shape, or a role is not "
                           "one the rules name; `errors.roles` says which")
    def put(self, body: dict, email: str) -> object:
        """Set the approver roles a user holds

        The user approves or rejects revisions for these roles from the next request on.
        """
        named = current_content().pack.approver_roles
        session = db.session()
        account = services.set_approver_roles_by_email(session, email, body["roles"],
                                                       named=named)
        session.commit()
        return account
