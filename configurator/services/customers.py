"""Customers: keep a customer's business profile as a solution lead entered or imported it."""
from __future__ import annotations

from typing import Any

from ..store import customers as store
from ..store.db import Session
from .content import Content, served_pipeline


def save_profile(session: Session, content: Content, profile: Any, updated_by: str | None,
                 customer_id: int | None = None) -> tuple[int, dict[str, Any]]:
    """Validate `profile` against the served declaration and store it as the customer's current
    profile (a new customer without `customer_id`): (the customer's id, the clean profile).
    Raises ProfileInvalid naming each bad field; nothing is stored then."""
    clean = served_pipeline(content).pack.profile.validate(profile)
    return store.save_profile(session, clean, updated_by, customer_id), clean
