"""What a proposal is rendered from: one configuration revision as plain values, with the
approvals recorded for it, and whether it is still a draft."""
from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass

from ..content.document import ConfigurationDocument


@dataclass(frozen=True)
class RecordedApproval:
    role: str
    approved_by: str
    approved_at: dt.datetime
    note: str | None = None


@dataclass(frozen=True)
class ProposalInput:
    """One configuration revision, as plain values: what a proposal is rendered from.

    `created_at` is the revision's time; it dates the proposal and its validity, so rendering
    the same revision again gives the same document.
    """
    customer: str
    configuration_id: int | None
    revision: int
    created_at: dt.datetime
    profile: dict
    adjustments: list
    document: ConfigurationDocument
    approvals: tuple[RecordedApproval, ...] = ()

    @property
    def outstanding(self) -> list[str]:
        """Required approval roles nobody has approved yet, in the document's order."""
        done = {a.role for a in self.approvals}
        return [a["role"] for a in self.document.get("approvals", []) if a["role"] not in done]

    @property
    def draft(self) -> bool:
        return bool(self.outstanding or self.document.get("conflicts"))

    def approvals_key(self) -> str:
        """A digest of the approvals the proposal shows: a new approval makes a new proposal."""
        relevant = {a["role"] for a in self.document.get("approvals", [])}
        shown = sorted((a.role, a.approved_by, a.approved_at.isoformat(), a.note or "")
                       for a in self.approvals if a.role in relevant)
        return hashlib.sha256(json.dumps(shown).encode()).hexdigest()
