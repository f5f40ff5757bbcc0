"""`/api/v1/profile-schema`, `/api/v1/content`, `/api/v1/health`: what the service is serving."""
from __future__ import annotations

import datetime as dt
from typing import Any

from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint

from ..services.customers import storable_profile_schema
from ..store import flaskdb as db
from ..store import migrate
from ..store.errors import DatabaseError
from ..current import current_content
from . import errors
from .schemas import ContentStatusSchema, HealthSchema, ProfileDeclarationSchema

blp = Blueprint("service", __name__, url_prefix="/api/v1",
                description="The profile declaration, the content pack and the service's health.")
errors.attach(blp)
PROFILE, CONTENT, HEALTH = "profile", "content", "health"
JSON_SCHEMA = "https://json-schema.org/draft/2020-12/schema"
blp.resource_tags = {
    PROFILE: "The fields a profile has, as the served content pack declares them.",
    CONTENT: "The content pack being served (catalog, rules, profile declaration, proposal "
             "templates): its version, its check, a reload.",
    HEALTH: "Whether the service can answer: the database and the content."}


@blp.route("/profile-schema", tags=[PROFILE])
class ProfileDeclaration(MethodView):

    @blp.doc(operationId="getProfileSchema")
    @blp.response(200, ProfileDeclarationSchema)
    @errors.responses(blp, 503)
    def get(self) -> dict:
        """Read the profile declaration: the fields a profile has, their types and vocabularies

        `fields` is the declaration as rules/profile.yaml writes it; `json_schema` is the same as
        a JSON Schema of the profiles the service accepts: the `Profile` schema of the OpenAPI
        document.
        """
        pack = current_content().pack
        return {"content_version": pack.version, **pack.profile.describe(),
                "json_schema": {"$schema": JSON_SCHEMA, **storable_profile_schema(pack)}}


@blp.route("/content", tags=[CONTENT])
class ContentStatus(MethodView):

    @blp.doc(operationId="getContentStatus")
    @blp.response(200, ContentStatusSchema)
    def get(self) -> dict:
        """Read the content pack being served and the result of its last check

        `ok` is false when the last load failed; `problems` then says why (file, line, what, how
        to fix). A failed reload never replaces a good pack, so `version` may still be served.
        """
        return _status_view(current_content().status)


@blp.route("/content/reload", tags=[CONTENT])
class ContentReload(MethodView):

    @blp.doc(operationId="reloadContent")
    @blp.response(200, ContentStatusSchema)
    @errors.responses(blp, 415, _415="A request body was sent that is not "
                                          "`application/json` (none is needed)")
    def post(self) -> dict:
        """Reload the content pack from disk now

        The new pack replaces the served one only after it passes the check and a trial run;
        otherwise the last good pack keeps serving and `ok: false` with `problems` says why.
        (The service also reloads by itself within seconds of a file change.)
        """
        return _status_view(current_content().load())


def _status_view(status) -> dict:
    loaded_at = (dt.datetime.fromtimestamp(status.loaded_at, dt.timezone.utc)
                 if status.loaded_at is not None else None)
    return {"root": status.root, "version": status.version, "ok": status.ok,
            "loaded_at": loaded_at, "problems": [p.as_dict() for p in status.problems]}


@blp.route("/health", tags=[HEALTH])
class Health(MethodView):

    @blp.doc(operationId="getHealth")
    @blp.response(200, HealthSchema)
    @blp.alt_response(503, description="The database or the content is unavailable; the "
                                        "problem has a `checks` member shaped like the 200 body",
                      **errors.documented())
    def get(self) -> dict:
        """Check that the database answers (at the expected migration) and content is served"""
        content = current_content()
        pipeline = content.pipeline
        report = {"database": _database_health(),
                  "content": {"ok": pipeline is not None,
                              "version": pipeline.pack.version if pipeline else None}}
        healthy = report["database"]["ok"] and report["content"]["ok"]
        report = {"status": "ok" if healthy else "unavailable", **report}
        if not healthy:
            failed = [name for name in ("database", "content") if not report[name]["ok"]]
            raise errors.Unavailable(f"unavailable: {' and '.join(failed)}",
                                     HealthSchema().dump(report))
        return report


def _database_health() -> dict:
    database = db.database()
    head = current_app.extensions["configurator.migration_head"]
    out: dict[str, Any] = {"backend": database.backend, "head": head, "revision": None}
    try:
        with database.engine.connect() as connection:
            found = migrate.current(connection)
    except DatabaseError as exc:
        return {**out, "ok": False, "detail": f"cannot reach the database ({type(exc).__name__})"}
    revision = found[0] if found else None
    if revision != head:
        return {**out, "revision": revision, "ok": False,
                "detail": "the database schema is not at the expected migration; run "
                          "`configurator db upgrade`"}
    return {**out, "revision": revision, "ok": True, "detail": "ok"}
