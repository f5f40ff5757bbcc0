"""PDF proposals (approvals and a revision's state: api/approvals.py):

- `POST /api/v1/configurations/{id}/revisions/{n}/proposals`: render (or find) the PDF
- `GET  /api/v1/configurations/{id}/proposals`: a configuration's proposals
- `GET  /api/v1/proposals/{proposal_id}` and `/pdf`: metadata and the PDF itself
"""
from __future__ import annotations


import flask
from flask import current_app, url_for
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import fields, validate

from ..current import current_content, render_timeout
from ..proposals import DEFAULT_LANGUAGE, DEFAULT_TEMPLATE
from ..services import proposals as service
from ..store import flaskdb as db
from ..store import proposals as store
from . import errors
from .actors import current_actor
from .schemas import ID, Output, Schema

blp = Blueprint(
    "proposals", __name__, url_prefix="/api/v1",
    description="Render a revision as a PDF proposal. A PDF carries a DRAFT mark while the "
                "revision's required approvals are outstanding.")
errors.attach(blp)


# --- shapes -----------------------------------------------------------------------------------

class ProposalCreateSchema(Schema):
    template = fields.String(load_default=DEFAULT_TEMPLATE, validate=validate.Length(max=64),
                             metadata={"description": "A template folder of the content pack's "
                                                      "`proposals/`"})
    language = fields.String(load_default=DEFAULT_LANGUAGE, validate=validate.Length(max=16),
                             metadata={"description": "`en` or `zh` with the demo templates"})


class ProposalSchema(Output):
    id = fields.Integer()
    configuration_id = fields.Integer()
    revision = fields.Integer()
    customer = fields.String()
    template = fields.String()
    language = fields.String()
    content_version = fields.String(metadata={"description": "The revision's content version; "
                                                             "its templates rendered the PDF"})
    draft = fields.Boolean(metadata={"description": "Rendered with the DRAFT mark"})
    pages = fields.Integer()
    size = fields.Integer(metadata={"description": "Bytes"})
    sha256 = fields.String(metadata={"description": "Checksum of the PDF"})
    file_name = fields.String()
    created_at = fields.DateTime()
    created_by = fields.String(allow_none=True)
    pdf_url = fields.Method("_pdf_url", metadata={
        "type": "string", "format": "uri-reference",
        "description": "Where to download the PDF (`GET /api/v1/proposals/{id}/pdf`), relative "
                       "to this service"})

    def _pdf_url(self, proposal: dict) -> str:
        return url_for("proposals.ProposalPdf", proposal_id=proposal["id"])


class ProposalListSchema(Output):
    items = fields.List(fields.Nested(ProposalSchema))


REVISION_NOT_FOUND = "No such configuration or revision"


# --- views ------------------------------------------------------------------------------------

@blp.route(f"/configurations/<{ID}:configuration_id>/revisions/<{ID}:number>"
           "/proposals")
class RevisionProposals(MethodView):

    @blp.doc(operationId="createProposal")
    @blp.arguments(ProposalCreateSchema)
    @blp.response(201, ProposalSchema, headers={
        "Location": {"description": "The proposal", "schema": {"type": "string"}}})
    @blp.alt_response(200, schema=ProposalSchema,
                      description="This revision was rendered with the same template, language, "
                                  "content version and approvals before: the stored proposal")
    @blp.alt_response(500, description="The template or the renderer failed; nothing was stored",
                      **errors.documented())
    @errors.responses(blp, *errors.BODY_ERRORS, 503, _404=REVISION_NOT_FOUND,
                      _413="The request body, or the proposal, is too large to render within a "
                           "request",
                      _422="The request does not have the documented shape, or there is no such "
                           "template or language; `errors` names each bad field")
    def post(self, body: dict, configuration_id: int, number: int) -> tuple:
        """Render a revision as a PDF proposal and store it

        Uses the templates of the content version the revision was computed with. The PDF is
        stored with its sha256; asking again for the same revision, template, language and
        approvals returns the stored proposal (200) instead of rendering it twice.
        """
        session = db.session()
        result, created = service.create_proposal(session, current_content(), configuration_id,
                                                  number, body["template"], body["language"],
                                                  current_actor(), timeout=render_timeout())
        session.commit()
        location = url_for("proposals.ProposalResource", proposal_id=result["id"])
        return result, 201 if created else 200, {"Location": location}


@blp.route(f"/configurations/<{ID}:configuration_id>/proposals")
class ConfigurationProposals(MethodView):

    @blp.doc(operationId="listProposals")
    @blp.response(200, ProposalListSchema)
    @errors.responses(blp, 404, 503, _404="No such configuration")
    def get(self, configuration_id: int) -> dict:
        """List a configuration's proposals, newest first"""
        return {"items": store.list_proposals(db.session(), configuration_id)}


@blp.route(f"/proposals/<{ID}:proposal_id>")
class ProposalResource(MethodView):

    @blp.doc(operationId="getProposal")
    @blp.response(200, ProposalSchema)
    @errors.responses(blp, 404, 503, _404="No such proposal")
    def get(self, proposal_id: int) -> dict:
        """Fetch a proposal's metadata: revision, template, language, draft, pages, checksum"""
        return store.get_proposal(db.session(), proposal_id)


@blp.route(f"/proposals/<{ID}:proposal_id>/pdf")
class ProposalPdf(MethodView):

    @blp.doc(operationId="downloadProposalPdf")
    @blp.response(200, {"type": "string", "format": "binary"}, content_type="application/pdf",
                  description="The PDF, as an attachment named after the customer and revision")
    @errors.responses(blp, 404, 503, _404="No such proposal")
    def get(self, proposal_id: int) -> flask.Response:
        """Download a proposal's PDF"""
        data, name, sha256 = store.proposal_pdf(db.session(), proposal_id)
        response = current_app.response_class(data, mimetype="application/pdf")
        response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
        response.headers["ETag"] = f'"{sha256}"'
        return response
