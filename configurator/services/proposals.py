"""Approvals and proposals: the use cases behind the API's and the web's approve and "make the
PDF" buttons.

A proposal is rendered with the content version its revision was computed with (the served
pipeline, or the stored version's from the one cache: Content.pipeline_for). Rendering happens
between two short transactions, never while the database write lock is held: read the revision,
render, then write the proposal row (or find the one a concurrent request stored meanwhile).
"""
from __future__ import annotations

from typing import Any

from ..engine.pipeline import Pipeline
from ..proposals import (DEFAULT_LANGUAGE, DEFAULT_TEMPLATE, ProposalInput, RecordedApproval,
                         open_template)
from ..store import configurations as configuration_store
from ..store import proposals as store
from ..store.db import Session, begin_write
from ..store.models import Revision
from .content import Content
from .rendering import render_proposal

# Proposals with more lines than this are not rendered inside a request (about 40 pages and
# several seconds); they wait for the job queue (see docs/proposals.md).
MAX_LINES_IN_REQUEST = 80


class ApprovalInvalid(Exception):
    """An approval the revision does not need; `errors` names the field."""

    def __init__(self, errors: dict[str, list[str]]):
        self.errors = errors
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items()))


class AlreadyApproved(Exception):
    def __init__(self, message: str):
        self.message = message
        super().__init__(message)


class TooLarge(Exception):
    """A proposal too large to render within a request."""

    def __init__(self, message: str):
        self.message = message
        super().__init__(message)


# --- approvals --------------------------------------------------------------------------------

def approve(session: Session, configuration_id: int, number: int, role: str, by: str,
            note: str | None = None) -> dict[str, Any]:
    """Record that `by` approved revision `number` for `role`.

    Raises NotFound, ApprovalInvalid (the revision does not require that role) or
    AlreadyApproved (someone approved that role already).
    """
    begin_write(session)
    revision = store.get_revision_row(session, configuration_id, number)
    required = [a["role"] for a in revision.document.get("approvals", [])]
    if role not in required:
        needed = ", ".join(f"`{r}`" for r in required) or "none"
        raise ApprovalInvalid({"role": [f"revision {number} does not require approval by "
                                        f"`{role}`; it requires: {needed}"]})
    existing = store.find_approval(session, revision, role)
    if existing is not None:
        raise AlreadyApproved(f"`{role}` approved revision {number} already "
                              f"({existing.approved_by}, {existing.approved_at:%Y-%m-%d %H:%M} UTC)")
    approval = store.insert_approval(session, revision, role, by, note)
    return {**approval, "configuration_id": configuration_id, "revision": number}


# --- proposals --------------------------------------------------------------------------------

def create_proposal(session: Session, content: Content, configuration_id: int, number: int,
                    template: str = DEFAULT_TEMPLATE, language: str = DEFAULT_LANGUAGE,
                    created_by: str | None = None, *, timeout: float = 0.0
                    ) -> tuple[dict[str, Any], bool]:
    """Render revision `number` as a PDF and store it: (the proposal, whether it is new).

    When this revision was already rendered with the same template, language, content version
    and approvals, the stored proposal is returned and nothing is rendered. `timeout` seconds
    (0: none) bounds the PDF step. Call it with no pending changes in the session: it ends the
    read transaction before rendering. Raises NotFound, ProposalInvalid, TooLarge,
    TemplateBroken or RenderFailed (RenderTimeout); nothing is written then.
    """
    revision = store.get_revision_row(session, configuration_id, number)
    source = _source(session, revision)
    key = source.approvals_key()
    revision_id, version = revision.id, revision.content_version
    found = store.find_proposal(session, revision_id, template, language, version, key)
    if found is not None:
        return store.proposal_view(found, source.customer, configuration_id, number), False
    if len(source.document.get("lines", [])) > MAX_LINES_IN_REQUEST:
        raise TooLarge(f"revision {number} has {len(source.document['lines'])} lines; proposals "
                       f"of more than {MAX_LINES_IN_REQUEST} lines are not rendered in a request")
    pipeline = pipeline_for_version(session, content, version)
    open_template(pipeline.pack.proposals_dir, template).messages(language)  # 422 before work
    if session.in_transaction():
        session.rollback()   # no read snapshot or lock is held while rendering
    rendered = render_proposal(pipeline, source, template, language, timeout=timeout)
    proposal, new = store.insert_proposal(session, revision_id, template, language, version, key,
                                          rendered, created_by)
    return store.proposal_view(proposal, source.customer, configuration_id, number), new


def pipeline_for_version(session: Session, content: Content, version: str) -> Pipeline:
    """The compiled pipeline of content `version`: the served one, or the stored version's."""
    return content.pipeline_for(
        version, lambda wanted: configuration_store.content_version_files(session, wanted))


def _source(session: Session, revision: Revision) -> ProposalInput:
    customer = store.customer_name_of(session, revision.configuration_id)
    approvals = tuple(RecordedApproval(a.role, a.approved_by, a.approved_at, a.note)
                      for a in store.approvals_of(session, revision.id))
    return ProposalInput(customer=customer or revision.profile.get("name", ""),
                         configuration_id=revision.configuration_id, revision=revision.number,
                         created_at=revision.created_at, profile=revision.profile,
                         adjustments=revision.adjustments, document=revision.document,
                         approvals=approvals)
