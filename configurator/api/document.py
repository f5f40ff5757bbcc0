"""The OpenAPI document as served at `/api/v1/openapi.json`.

flask-smorest builds the document from the code once, when the app starts. Two parts of it are
only known while the app runs, and are put in when a request asks for it:

- `components.schemas.Profile`: the served content pack's profile declaration as a JSON Schema
  (services.customers.storable_profile_schema), which every operation taking or returning a
  profile refers to; it follows a content reload.
- `servers`: the root the request came to (`/`, or the prefix the app is mounted under).

Each document is built once per content version and root, and kept as JSON text with its ETag:
building one takes about 4 ms (flask-smorest's own view rebuilt the JSON on every request), a
kept one is served in about 0.5 ms through the test client (`bench/openapi.py` measures both).
"""
from __future__ import annotations

import hashlib
import threading
from typing import Any

import flask
from flask import request

from ..content.model import ContentPack
from ..current import current_content
from ..services.customers import storable_profile_schema
from .schemas import ConfigurationDocumentSchema, Document, Profile

PROFILE = "Profile"
# The component while no content pack is served (then every operation with a profile is a 503).
NO_PROFILE = {"type": "object", "title": PROFILE,
              "description": "A customer's business profile. No content pack is being served, so "
                             "its fields are not known now (`GET /api/v1/content` says why)."}
KEPT = 8            # documents kept (content versions x roots); more are dropped all at once


def references(converter: Any, field: Any, ret: dict, **kwargs: Any) -> dict:
    """Document a `Document` field by reference to the ConfigurationDocument schema and a
    `Profile` field by reference to the `Profile` component (an apispec attribute function:
    `allOf` keeps the field's own description beside the reference)."""
    if isinstance(field, Document):
        target = converter.resolve_nested_schema(ConfigurationDocumentSchema)
    elif isinstance(field, Profile):
        target = {"$ref": f"#/components/schemas/{PROFILE}"}
    else:
        return {}
    ret.pop("type", None)                   # the reference says it all
    ret.pop("additionalProperties", None)
    return {"allOf": [target]}


def init_spec(spec: Any) -> None:
    """Register the `Profile` component as the document says it with no pack served."""
    spec.components.schema(PROFILE, NO_PROFILE)


class ServedDocument:
    """The documents one app serves, kept by (content version, root) as JSON text and ETag."""

    def __init__(self, spec: Any):
        self.spec = spec
        self._kept: dict[tuple[str | None, str], tuple[bytes, str]] = {}
        self._lock = threading.Lock()

    def response(self) -> flask.Response:
        """The document for this request: kept, or built and kept; 304 when the client has it
        (`If-None-Match`)."""
        pipeline = current_content().pipeline     # taken once: a reload meanwhile waits
        pack = pipeline.pack if pipeline is not None else None
        key = (pack.version if pack is not None else None, request.script_root + "/")
        kept = self._kept.get(key)
        if kept is None:
            kept = _build(self.spec, pack, key[1])
            with self._lock:
                if len(self._kept) >= KEPT:
                    self._kept.clear()
                self._kept[key] = kept
        text, etag = kept
        answer = flask.current_app.response_class(text, mimetype="application/json")
        answer.set_etag(etag)
        return answer.make_conditional(request)


def _build(spec: Any, pack: ContentPack | None, root: str) -> tuple[bytes, str]:
    """The document with `pack`'s `Profile` and `servers`, as JSON text and its ETag.
    `spec.to_dict()` shares its parts with the spec: they are copied, never changed."""
    document = spec.to_dict()
    profile = storable_profile_schema(pack) if pack is not None else NO_PROFILE
    components = document.get("components", {})
    document["components"] = {**components,
                              "schemas": {**components.get("schemas", {}), PROFILE: profile}}
    document["servers"] = [{"url": root, "description": "This service"}]
    used = {tag for path in document.get("paths", {}).values() for operation in path.values()
            if isinstance(operation, dict) for tag in operation.get("tags", ())}
    document["tags"] = [tag for tag in document.get("tags", []) if tag["name"] in used]
    text = flask.json.dumps(document, indent=2, sort_keys=False).encode()
    return text, hashlib.sha256(text).hexdigest()[:32]
