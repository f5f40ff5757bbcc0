"""`/api/v1/configurations`: configure a profile, keep every revision."""
from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import url_for
from flask.views import MethodView
from flask_smorest import Blueprint

from ..current import current_content
from ..services import configurations as service
from ..store import configurations as store
from ..store import flaskdb as db
from . import errors, idempotency
from .actors import current_actor
from .schemas import (ConfigurationCreateSchema, ConfigurationListArgs, ConfigurationPageSchema,
                      ConfigurationSchema, ExplanationSchema, ID, IdempotencyHeaders, PageArgs,
                      RevisionCreateSchema, RevisionHeaders, RevisionPageSchema, RevisionSchema)

blp = Blueprint(
    "configurations", __name__, url_prefix="/api/v1",
    description="Configure a customer's profile into a solution, and keep every revision. "
                "Collections are paginated in the body: `{items, page, page_size, total, "
                "pages}`, with `?page=` (from 1) and `?page_size=` (1-100, default 20).")
errors.attach(blp)
REVISIONS = "revisions"
blp.resource_tags = {REVISIONS: (
    "A configuration's revisions: each an immutable record of a run (its profile, adjustments, "
    "document, content version, author), with the explanation of its rules and its `state` "
    "(where the deal stands).")}

INVALID = "The profile or an adjustment is invalid; `errors` names each bad field"
UNAVAILABLE = ("No usable content pack is loaded (`GET /api/v1/content` says why), or the "
               "database is unavailable; retry after `Retry-After` seconds")
NOT_FOUND = "No such configuration"
REVISION_NOT_FOUND = "No such configuration or revision"
INVALID_OR_KEY_REUSED = INVALID + ", or the `Idempotency-Key` came with another request"
LOCATION = {"Location": {"description": "The new resource", "schema": {"type": "string"}}}
ETAG = {"ETag": {"description": "The revision's version: send it as `If-Match` with the next "
                                "revision", "schema": {"type": "string"}}}
PRECONDITION_FAILED = ("`If-Match` is not the latest revision's ETag: the configuration "
                       "changed since it was read; nothing was changed")
# What a keyed answer is remembered as (one instance each: building one costs per request).
CONFIGURATION = ConfigurationSchema()
REVISION = RevisionSchema()


@blp.route("/configurations")
class Configurations(MethodView):

    @blp.doc(operationId="listConfigurations")
    @blp.arguments(ConfigurationListArgs, location="query", unknown=ma.RAISE)
    @blp.response(200, ConfigurationPageSchema)
    @errors.responses(blp, 503)
    def get(self, args: dict) -> dict:
        """List configurations, newest first

        `customer` keeps those whose customer name contains the text (case-insensitive). Each
        item summarises the latest revision.
        """
        return store.list_configurations(db.session(), **args).as_dict()

    @blp.doc(operationId="createConfiguration")
    @blp.arguments(ConfigurationCreateSchema())   # one instance: building it costs per request
    @blp.arguments(IdempotencyHeaders(), location="headers")
    @blp.response(201, CONFIGURATION, headers={**LOCATION, **idempotency.REPLAYED_HEADER})
    @errors.responses(blp, *errors.BODY_ERRORS, _422=INVALID_OR_KEY_REUSED, _503=UNAVAILABLE)
    def post(self, body: dict, headers: dict) -> Any:
        """Configure a profile and store it as a new configuration

        Runs the profile (and optional adjustments) through the rules pipeline and stores the
        result as revision 1. The customer is found, or created, by `profile.name`. With an
        `Idempotency-Key`, a retry of the same request answers the first answer again.
        """
        session = db.session()
        replayed = idempotency.replay(session, headers)
        if replayed is not None:
            return replayed
        result = service.create_configuration(session, current_content(), body["profile"],
                                              body["adjustments"], current_actor())
        location = url_for("configurations.Configuration", configuration_id=result["id"])
        idempotency.remember(session, headers, 201, result, CONFIGURATION, location)
        session.commit()
        return result, 201, {"Location": location, "ETag": _etag(result)}


@blp.route(f"/configurations/<{ID}:configuration_id>")
class Configuration(MethodView):

    @blp.doc(operationId="getConfiguration")
    @blp.response(200, ConfigurationSchema, headers=ETAG)
    @errors.responses(blp, 404, 503, _404=NOT_FOUND)
    def get(self, configuration_id: int) -> Any:
        """Fetch a configuration: its latest revision's profile, adjustments and document

        The `ETag` is the latest revision's: send it as `If-Match` with the next revision.
        """
        result = store.get_configuration(db.session(), configuration_id)
        return result, 200, {"ETag": _etag(result)}


@blp.route(f"/configurations/<{ID}:configuration_id>/revisions", tags=[REVISIONS])
class Revisions(MethodView):

    @blp.doc(operationId="listRevisions")
    @blp.arguments(PageArgs, location="query", unknown=ma.RAISE)
    @blp.response(200, RevisionPageSchema)
    @errors.responses(blp, 404, 503, _404=NOT_FOUND)
    def get(self, args: dict, configuration_id: int) -> dict:
        """List a configuration's revisions, oldest (1) first, without their documents"""
        return store.list_revisions(db.session(), configuration_id, **args).as_dict()

    @blp.doc(operationId="createRevision")
    @blp.arguments(RevisionCreateSchema())
    @blp.arguments(RevisionHeaders(), location="headers")
    @blp.response(201, REVISION, headers={**LOCATION, **ETAG, **idempotency.REPLAYED_HEADER})
    @errors.responses(blp, *errors.BODY_ERRORS, _404=NOT_FOUND, _412=PRECONDITION_FAILED,
                      _422=INVALID_OR_KEY_REUSED, _503=UNAVAILABLE)
    def post(self, body: dict, headers: dict, configuration_id: int) -> Any:
        """Re-configure with adjustments, as the next revision

        `adjustments` is the revision's full list of adjustments, not a change to the previous
        revision's list: send every adjustment that should hold (an empty list re-runs the
        plain profile). `profile` replaces the profile; without it the latest revision's profile
        is used. The run uses the content pack served now. With an `Idempotency-Key`, a retry
        of the same request answers the first answer again instead of adding a revision. With
        `If-Match` (the ETag of the configuration or of its latest revision), the revision is
        added only on top of that one: otherwise 412 and nothing changes, so no one's edit is
        lost to another's.
        """
        session = db.session()
        replayed = idempotency.replay(session, headers)
        if replayed is not None:
            return replayed
        result = service.add_revision(session, current_content(), configuration_id,
                                      body["adjustments"], body.get("profile"), current_actor(),
                                      if_match=headers.get("if_match"))
        location = url_for("configurations.Revision", configuration_id=configuration_id,
                           number=result["number"])
        idempotency.remember(session, headers, 201, result, REVISION, location)
        session.commit()
        return result, 201, {"Location": location, "ETag": _etag(result)}


@blp.route(f"/configurations/<{ID}:configuration_id>/revisions/<{ID}:number>",
           tags=[REVISIONS])
class Revision(MethodView):

    @blp.doc(operationId="getRevision")
    @blp.response(200, RevisionSchema, headers=ETAG)
    @errors.responses(blp, 404, 503, _404=REVISION_NOT_FOUND)
    def get(self, configuration_id: int, number: int) -> Any:
        """Fetch one revision with its profile, adjustments, document and state"""
        result = store.get_revision(db.session(), configuration_id, number)
        return result, 200, {"ETag": _etag(result)}


@blp.route(f"/configurations/<{ID}:configuration_id>/revisions/<{ID}:number>"
           "/explanation", tags=[REVISIONS])
class RevisionExplanation(MethodView):

    @blp.doc(operationId="explainRevision")
    @blp.response(200, ExplanationSchema)
    @errors.responses(blp, 404, 503, _404=REVISION_NOT_FOUND)
    def get(self, configuration_id: int, number: int) -> dict:
        """Explain a revision: why each rule fired or not, and near misses

        Runs the revision's profile and adjustments again on the content version it was computed
        with (rebuilt from the stored files when that version is no longer served). For each rule
        that did not fire, `why` names the first condition that failed with the actual value;
        `near_misses` lists small profile changes that would make a rule fire.
        """
        return service.explain_stored_revision(db.session(), current_content(), configuration_id,
                                               number)


def _etag(view: dict) -> str:
    """The ETag of a configuration (its latest revision) or a revision view."""
    if "number" in view:
        return service.etag(view["configuration_id"], view["number"], view["state"])
    return service.etag(view["id"], view["revision"], view["state"])
