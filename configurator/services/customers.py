"""Customers: keep a customer's business profile as a solution lead entered or imported it, and
say which profiles can be stored (a customer is found or made by the profile's name)."""
from __future__ import annotations

from typing import Any

from ..content.model import ContentPack
from ..content.profile_jsonschema import profile_json_schema
from ..store import customers as store
from ..store.db import Session
from ..store.models import CUSTOMER_NAME_MAX
from .content import Content, served_pipeline


def save_profile(session: Session, content: Content, profile: Any, updated_by: str | None,
                 customer_id: int | None = None) -> tuple[int, dict[str, Any]]:
    """Validate `profile` against the served declaration and store it as the customer's current
    profile (a new customer without `customer_id`): (the customer's id, the clean profile).
    Raises ProfileInvalid naming each bad field; nothing is stored then."""
    clean = served_pipeline(content).pack.profile.validate(profile)
    return store.save_profile(session, clean, updated_by, customer_id), clean


def storable_profile_schema(pack: ContentPack) -> dict[str, Any]:
    """The JSON Schema of the profiles a configuration can be stored with: `pack`'s declaration,
    and a company name the customers' table holds (required, not blank, at most
    CUSTOMER_NAME_MAX characters; store/configurations.py refuses any other)."""
    schema = profile_json_schema(pack.profile)
    name = schema["properties"]["name"]      # every pack declares it (profile.py)
    if name.get("type") == "string" and "enum" not in name:
        name["maxLength"] = min(name.get("maxLength", CUSTOMER_NAME_MAX), CUSTOMER_NAME_MAX)
        name.setdefault("pattern", r"\S")   # some text that is not spaces
    required = schema.setdefault("required", [])
    if "name" not in required:
        required.insert(0, "name")
    return schema
