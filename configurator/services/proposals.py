"""Proposals: the use case behind the API's and the web's "make the PDF" buttons (approvals are
services/approvals.py).

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
from ..store.db import Session
from ..store.models import Revision
from .content import Content
from .rendering import render_proposal
from .workflow import SYSTEM, Actor

# Proposals with more lines than this are not rendered inside a request (about 40 pages and
# several seconds); they wait for the job queue (see docs/proposals.md).
MAX_LINES_IN_REQUEST = 80


class TooLarge(Exception):
    """A proposal too large to render within a request."""

    def __init__(self, message: str):
        self.message = message
        super().__init__(message)


# --- proposals --------------------------------------------------------------------------------

def create_proposal(session: Session, content: Content, configuration_id: int, number: int,
                    template: str = DEFAULT_TEMPLATE, language: str = DEFAULT_LANGUAGE,
                    actor: Actor = SYSTEM, *, timeout: float = 0.0
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
                                          rendered, actor.signature,
                                          customer_name=source.customer,
                                          via_api_key=actor.api_key)
    return store.proposal_view(proposal, source.customer, configuration_id, number), new


def pipeline_for_version(session: Session, content: Content, version: str) -> Pipeline:
    """The compiled pipeline of content `version`: the served one, or the stored version's."""
    return content.pipeline_for(
        version, lambda wanted: configuration_store.content_version_files(session, wanted))


def _source(session: Session, revision: Revision) -> ProposalInput:
    """What the PDF is made from: the revision's own record (its customer name included, so a
    later revision that renames the customer changes nothing here)."""
    approvals = tuple(RecordedApproval(a.role, a.approved_by, a.approved_at, a.note)
                      for a in store.approvals_of(session, revision.id)
                      if a.decision == "approved")
    return ProposalInput(customer=str(revision.profile.get("name", "")),
                         configuration_id=revision.configuration_id, revision=revision.number,
                         created_at=revision.created_at, profile=revision.profile,
                         adjustments=revision.adjustments, document=revision.document,
                         approvals=approvals)
