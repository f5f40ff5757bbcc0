"""The REST API under /api/v1 (flask-smorest), with its OpenAPI document and interactive docs:

- `/api/v1/openapi.json`: the OpenAPI document
- `/api/v1/docs`: Swagger UI, served with its scripts by the app (no CDN)
"""
from __future__ import annotations

import http
from typing import Any

import flask
from flask_smorest import Api
from flask_smorest.utils import prepare_response

from . import (approvals, auth, catalog, configurations, document, errors, proposals, service,
               users)
from .schemas import ProblemSchema

DESCRIPTION = """\
Configure a customer's business profile into a differentiated solution, and keep every revision.

* **Authentication**: every operation but `/health` and these documents needs an API key,
  `Authorization: Bearer cfg_...` (`configurator apikey create --name NAME --scope SCOPE`).
  Each operation names the scope it needs (`configure`, `proposals`, `approve`, `catalog:read`,
  `content:admin`, `users:admin`). No key or a bad key: 401 (429 with `Retry-After` once one
  client address has sent many bad keys; a valid key from it still works); a key without the
  scope: 403; over the key's rate limit: 429 with `Retry-After`.
* **Errors** are `application/problem+json` (RFC 9457): `{type, title, status, detail, errors?}`;
  `errors` maps each bad field's path (`profile.scores.loyalty`, `adjustments.0.module`, `body`)
  to its messages.
* **Collections** of configurations and revisions are paginated in the body:
  `{items, page, page_size, total, pages}` with `?page=` (from 1) and `?page_size=` (1-100,
  default 20). Catalog and user lists are not paginated.
* **Revisions**: `POST /configurations/{id}/revisions` takes the revision's full list of
  adjustments (not a delta) and, optionally, a new profile.
* **Profiles** are typed by the `Profile` schema: the served content pack's declaration, so this
  document changes when the pack does (its `ETag` with it). `GET /profile-schema` answers the
  same JSON Schema (`json_schema`) beside the declaration itself.
"""


class ConfiguratorApi(Api):
    """flask-smorest's Api with problem+json errors, documented as such."""

    ERROR_SCHEMA = ProblemSchema

    def _init_spec(self, **kwargs: Any) -> None:
        super()._init_spec(**kwargs)
        document.init_spec(self.spec)
        self.served_document = document.ServedDocument(self.spec)

    def _openapi_json(self) -> flask.Response:
        return self.served_document.response()  # with the served pack's Profile (document.py)

    def _register_pagination_header(self) -> None:
        """None: collections are paginated in the body (and flask-smorest's header schema would
        be an unused `PaginationMetadata` component)."""

    def register_blueprint(self, blp: Any, **options: Any) -> None:
        """Register a blueprint, its tag and the tags of its resources (`blp.resource_tags`,
        name -> description) that have their own."""
        super().register_blueprint(blp, **options)
        for name, description in getattr(blp, "resource_tags", {}).items():
            self.spec.tag({"name": name, "description": description})

    def _register_responses(self) -> None:
        for status in http.HTTPStatus:
            response: dict[str, Any] = {"description": status.phrase}
            if not (100 <= status < 200) and status not in (204, 304):
                response["schema"] = self.ERROR_SCHEMA
            prepare_response(response, self.spec, errors.MIMETYPE)
            self.spec.components.response(status.name, response, lazy=True)
        response = {"description": "Default error response", "schema": self.ERROR_SCHEMA}
        prepare_response(response, self.spec, errors.MIMETYPE)
        self.spec.components.response(self.DEFAULT_ERROR_RESPONSE_NAME, response, lazy=True)

    def handle_http_exception(self, error):  # type: ignore[override]
        return errors.http_problem(error)


def init_app(app: flask.Flask) -> ConfiguratorApi:
    api = ConfiguratorApi(app, spec_kwargs={"info": {"description": DESCRIPTION},
                                            "extra_plugins": [auth.ScopesPlugin()]})
    auth.init_app(app)
    api.ma_plugin.converter.add_attribute_function(document.references)
    for blueprint in (configurations.blp, catalog.blp, service.blp, approvals.blp,
                      proposals.blp, users.blp):
        api.register_blueprint(blueprint)
    return api

