"""Approvals and proposals of configuration revisions: record an approval, render and keep a PDF.

Plain functions over a SQLAlchemy session; like the other repository functions they flush but
never commit (the API commits once per request).

A proposal is rendered with the content version its revision was computed with: the served
pipeline when it is that version, else the stored version's files, exported once into a cache
folder and loaded there. Rendering happens between two short transactions, never while the
database write lock is held: read the revision, render, then write the proposal row (or find
the one a concurrent request stored meanwhile).
"""
from __future__ import annotations

import logging
import os
import tempfile
import threading
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..content.pack import load_pack
from ..proposals import (DEFAULT_LANGUAGE, DEFAULT_TEMPLATE, ProposalInput, RecordedApproval,
                         render)
from ..proposals.templates import open_template
from .configurations import NotFound, _pipeline, export_content_version
from .db import begin_write
from .models import Approval, Configuration, Customer, Proposal, Revision, utcnow

log = logging.getLogger(__name__)

# Proposals with more lines than this are not rendered inside a request (about 40 pages and
# several seconds); they wait for the job queue (see docs/proposals.md).
MAX_LINES_IN_REQUEST = 80
_PIPELINES: dict[str, Any] = {}
_PIPELINES_LOCK = threading.Lock()
_PIPELINE_CACHE_SIZE = 4


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
    revision = _revision(session, configuration_id, number)
    required = [a["role"] for a in revision.document.get("approvals", [])]
    if role not in required:
        needed = ", ".join(f"`{r}`" for r in required) or "none"
        raise ApprovalInvalid({"role": [f"revision {number} does not require approval by "
                                        f"`{role}`; it requires: {needed}"]})
    existing = session.scalars(select(Approval).where(Approval.revision_id == revision.id,
                                                      Approval.role == role)).one_or_none()
    if existing is not None:
        raise AlreadyApproved(f"`{role}` approved revision {number} already "
                              f"({existing.approved_by}, {existing.approved_at:%Y-%m-%d %H:%M} UTC)")
    approval = Approval(revision_id=revision.id, role=role, approved_by=by, note=note or None,
                        approved_at=utcnow())
    session.add(approval)
    session.flush()
    return {**approval_view(approval), "configuration_id": configuration_id, "revision": number}


def approval_status(session: Session, configuration_id: int, number: int) -> dict[str, Any]:
    """What a revision requires, what was approved, and what is outstanding."""
    revision = _revision(session, configuration_id, number)
    return _status(revision, _approvals(session, revision.id), configuration_id)


def _status(revision: Revision, approvals: list[Approval], configuration_id: int) -> dict[str, Any]:
    required = [a["role"] for a in revision.document.get("approvals", [])]
    done = {a.role for a in approvals}
    outstanding = [r for r in required if r not in done]
    return {"configuration_id": configuration_id, "revision": revision.number,
            "required": required, "approvals": [approval_view(a) for a in approvals],
            "outstanding": outstanding, "approved": not outstanding}


def _approvals(session: Session, revision_id: int) -> list[Approval]:
    return list(session.scalars(select(Approval).where(Approval.revision_id == revision_id)
                                .order_by(Approval.approved_at, Approval.id)))


def approval_view(approval: Approval) -> dict[str, Any]:
    return {"role": approval.role, "approved_by": approval.approved_by,
            "approved_at": approval.approved_at, "note": approval.note}


# --- proposals --------------------------------------------------------------------------------

def create_proposal(session: Session, content: Any, configuration_id: int, number: int,
                    template: str = DEFAULT_TEMPLATE, language: str = DEFAULT_LANGUAGE,
                    created_by: str | None = None) -> tuple[dict[str, Any], bool]:
    """Render revision `number` as a PDF and store it: (the proposal, whether it is new).

    When this revision was already rendered with the same template, language, content version
    and approvals, the stored proposal is returned and nothing is rendered. Call it with no
    pending changes in the session: it ends the read transaction before rendering. Raises
    NotFound, ProposalInvalid, TooLarge, TemplateBroken or RenderFailed; nothing is written
    then.
    """
    revision = _revision(session, configuration_id, number)
    source = _source(session, revision)
    key = source.approvals_key()
    found = _stored(session, revision.id, template, language, revision.content_version, key)
    if found is not None:
        return proposal_view(found, source.customer, configuration_id, number), False
    revision_id, version = revision.id, revision.content_version
    if len(source.document.get("lines", [])) > MAX_LINES_IN_REQUEST:
        raise TooLarge(f"revision {number} has {len(source.document['lines'])} lines; proposals "
                       f"of more than {MAX_LINES_IN_REQUEST} lines are not rendered in a request")
    pipeline = pipeline_for_version(session, content, version)
    open_template(pipeline.pack.proposals_dir, template).messages(language)  # 422 before work
    if session.in_transaction():
        session.rollback()   # no read snapshot or lock is held while rendering
    rendered = render(pipeline, source, template, language)
    begin_write(session)
    found = _stored(session, revision_id, template, language, version, key)
    if found is not None:   # a concurrent request stored it meanwhile
        return proposal_view(found, source.customer, configuration_id, number), False
    proposal = Proposal(revision_id=revision_id, template=template, language=language,
                        content_version=version, approvals_key=key, draft=rendered.draft,
                        pages=rendered.pages, size=len(rendered.pdf), sha256=rendered.sha256,
                        pdf=rendered.pdf, created_at=utcnow(), created_by=created_by)
    try:
        with session.begin_nested():
            session.add(proposal)
    except IntegrityError:
        found = _stored(session, revision_id, template, language, version, key)
        if found is None:
            raise
        return proposal_view(found, source.customer, configuration_id, number), False
    session.flush()
    return proposal_view(proposal, source.customer, configuration_id, number), True


def list_proposals(session: Session, configuration_id: int) -> list[dict[str, Any]]:
    """A configuration's proposals, newest first, without their PDFs."""
    configuration = session.get(Configuration, configuration_id)
    if configuration is None:
        raise NotFound(f"configuration {configuration_id} does not exist")
    rows = session.execute(
        select(Proposal, Revision.number, Customer.name)
        .join(Revision, Revision.id == Proposal.revision_id)
        .join(Configuration, Configuration.id == Revision.configuration_id)
        .join(Customer, Customer.id == Configuration.customer_id)
        .where(Revision.configuration_id == configuration_id)
        .order_by(Proposal.id.desc())).all()
    return [proposal_view(p, customer, configuration_id, n) for p, n, customer in rows]


def get_proposal(session: Session, proposal_id: int) -> dict[str, Any]:
    row = _proposal_row(session, proposal_id)
    proposal, number, configuration_id, customer = row
    return proposal_view(proposal, customer, configuration_id, number)


def proposal_pdf(session: Session, proposal_id: int) -> tuple[bytes, str, str]:
    """(the PDF, its download file name, its sha256)."""
    proposal, number, configuration_id, customer = _proposal_row(session, proposal_id)
    return proposal.pdf, file_name(customer, number, proposal.language), proposal.sha256


def proposal_view(proposal: Proposal, customer: str, configuration_id: int,
                  number: int) -> dict[str, Any]:
    return {"id": proposal.id, "configuration_id": configuration_id, "revision": number,
            "customer": customer, "template": proposal.template, "language": proposal.language,
            "content_version": proposal.content_version, "draft": proposal.draft,
            "pages": proposal.pages, "size": proposal.size, "sha256": proposal.sha256,
            "file_name": file_name(customer, number, proposal.language),
            "created_at": proposal.created_at, "created_by": proposal.created_by}


def file_name(customer: str, number: int, language: str) -> str:
    """`<customer>-proposal-r<n>-<lang>.pdf`, ASCII letters, digits and dashes only."""
    slug = "".join(c.lower() if c.isascii() and c.isalnum() else "-" for c in customer)
    slug = "-".join(part for part in slug.split("-") if part)[:60].strip("-") or "customer"
    lang = "".join(c for c in language if c.isascii() and c.isalnum()) or "en"
    return f"{slug}-proposal-r{number}-{lang}.pdf"


# --- the content a revision was computed with -------------------------------------------------

def pipeline_for_version(session: Session, content: Any, version: str) -> Any:
    """The compiled pipeline of content `version`: the served one, or the stored version's files
    loaded from a cache folder (kept for the process, the last few versions)."""
    served = _pipeline(content)
    if served.pack.version == version:
        return served
    with _PIPELINES_LOCK:
        if version in _PIPELINES:
            return _PIPELINES[version]
    from ..engine.pipeline import Pipeline
    folder = Path(tempfile.gettempdir()) / "configurator-content" / version
    if not (folder / ".complete").exists():
        folder.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{version}-", dir=folder.parent))
        export_content_version(session, version, staging)
        (staging / ".complete").write_text(version)
        try:
            os.rename(staging, folder)
        except OSError:   # another process exported it first
            pass
    pipeline = Pipeline(load_pack(folder))
    with _PIPELINES_LOCK:
        _PIPELINES[version] = pipeline
        while len(_PIPELINES) > _PIPELINE_CACHE_SIZE:
            _PIPELINES.pop(next(iter(_PIPELINES))).close()
    return pipeline


# --- helpers ----------------------------------------------------------------------------------

def _revision(session: Session, configuration_id: int, number: int) -> Revision:
    revision = session.scalars(select(Revision).where(Revision.configuration_id == configuration_id,
                                                      Revision.number == number)).one_or_none()
    if revision is None:
        if session.get(Configuration, configuration_id) is None:
            raise NotFound(f"configuration {configuration_id} does not exist")
        raise NotFound(f"configuration {configuration_id} has no revision {number}")
    return revision


def _source(session: Session, revision: Revision) -> ProposalInput:
    customer = session.scalar(select(Customer.name).join(Configuration,
                                                         Configuration.customer_id == Customer.id)
                              .where(Configuration.id == revision.configuration_id))
    approvals = tuple(RecordedApproval(a.role, a.approved_by, a.approved_at, a.note)
                      for a in _approvals(session, revision.id))
    return ProposalInput(customer=customer or revision.profile.get("name", ""),
                         configuration_id=revision.configuration_id, revision=revision.number,
                         created_at=revision.created_at, profile=revision.profile,
                         adjustments=revision.adjustments, document=revision.document,
                         approvals=approvals)


def _stored(session: Session, revision_id: int, template: str, language: str, version: str,
            key: str) -> Proposal | None:
    return session.scalars(select(Proposal).where(
        Proposal.revision_id == revision_id, Proposal.template == template,
        Proposal.language == language, Proposal.content_version == version,
        Proposal.approvals_key == key)).one_or_none()


def _proposal_row(session: Session, proposal_id: int) -> Any:
    row = session.execute(
        select(Proposal, Revision.number, Revision.configuration_id, Customer.name)
        .join(Revision, Revision.id == Proposal.revision_id)
        .join(Configuration, Configuration.id == Revision.configuration_id)
        .join(Customer, Customer.id == Configuration.customer_id)
        .where(Proposal.id == proposal_id)).one_or_none()
    if row is None:
        raise NotFound(f"proposal {proposal_id} does not exist")
    return row
