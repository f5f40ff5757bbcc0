"""What the running app serves, for the entry points (api/, web/): one accessor each, so no view
reaches into `current_app.extensions` by itself."""
from __future__ import annotations

from typing import TYPE_CHECKING

from flask import current_app

if TYPE_CHECKING:     # the type only: importing services here would load the engine early
    from .services.content import Content

CONTENT_EXTENSION = "configurator.content"


def current_content() -> Content:
    """The content being served (services.content.Content)."""
    return current_app.extensions[CONTENT_EXTENSION]


def render_timeout() -> float:
    """The time limit of a proposal render in this app: PROPOSAL_RENDER_TIMEOUT (0: none)."""
    return float(current_app.config.get("PROPOSAL_RENDER_TIMEOUT") or 0)
