"""Approvals and proposals of configuration revisions: store them, read them back.

Plain functions over a SQLAlchemy session; like the other store functions they flush but never
commit. What an approval or a proposal may be (the required roles, the size limit, rendering)
is decided by services.proposals.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .db import begin_write
from .errors import NotFound
from .models import Approval, Configuration, Customer, Proposal, Revision, utcnow


# --- approvals --------------------------------------------------------------------------------

def find_approval(session: Session, revision: Revision, role: str) -> Approval | None:
    return session.scalars(select(Approval).where(Approval.revision_id == revision.id,
                                                  Approval.role == role)).one_or_none()


def insert_approval(session: Session, revision: Revision, role: str, by: str,
                    note: str | None) -> dict[str, Any]:
    """Record that `by` approved `revision` for `role`; returns the approval's view."""
    approval = Approval(revision_id=revision.id, role=role, approved_by=by, note=note or None,
                        approved_at=utcnow())
    session.add(approval)
    session.flush()
    return approval_view(approval)


def approvals_of(session: Session, revision_id: int) -> list[Approval]:
    """A revision's approvals, in the order they were given."""
    return list(session.scalars(select(Approval).where(Approval.revision_id == revision_id)
                                .order_by(Approval.approved_at, Approval.id)))


def approval_status(session: Session, configuration_id: int, number: int) -> dict[str, Any]:
    """What a revision requires, what was approved, and what is outstanding."""
    revision = get_revision_row(session, configuration_id, number)
    required = [a["role"] for a in revision.document.get("approvals", [])]
    approvals = approvals_of(session, revision.id)
    done = {a.role for a in approvals}
    outstanding = [r for r in required if r not in done]
    return {"configuration_id": configuration_id, "revision": revision.number,
            "required": required, "approvals": [approval_view(a) for a in approvals],
            "outstanding": outstanding, "approved": not outstanding}


def approval_view(approval: Approval) -> dict[str, Any]:
    return {"role": approval.role, "approved_by": approval.approved_by,
            "approved_at": approval.approved_at, "note": approval.note}


# --- proposals --------------------------------------------------------------------------------

def find_proposal(session: Session, revision_id: int, template: str, language: str,
                  version: str, key: str) -> Proposal | None:
    """The proposal of a revision rendered with this template, language, content version and
    approvals (`key`), if there is one."""
    return session.scalars(select(Proposal).where(
        Proposal.revision_id == revision_id, Proposal.template == template,
        Proposal.language == language, Proposal.content_version == version,
        Proposal.approvals_key == key)).one_or_none()


def insert_proposal(session: Session, revision_id: int, template: str, language: str,
                    version: str, key: str, rendered: Any, created_by: str | None
                    ) -> tuple[Proposal, bool]:
    """Store a rendered proposal in a write transaction: (the proposal, whether it is new).
    When a concurrent request stored the same one first, that one is returned."""
    begin_write(session)
    found = find_proposal(session, revision_id, template, language, version, key)
    if found is not None:
        return found, False
    proposal = Proposal(revision_id=revision_id, template=template, language=language,
                        content_version=version, approvals_key=key, draft=rendered.draft,
                        pages=rendered.pages, size=len(rendered.pdf), sha256=rendered.sha256,
                        pdf=rendered.pdf, created_at=utcnow(), created_by=created_by)
    try:
        with session.begin_nested():
            session.add(proposal)
    except IntegrityError:
        found = find_proposal(session, revision_id, template, language, version, key)
        if found is None:
            raise
        return found, False
    session.flush()
    return proposal, True


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


# --- revisions as rows ------------------------------------------------------------------------

def get_revision_row(session: Session, configuration_id: int, number: int) -> Revision:
    revision = session.scalars(select(Revision).where(Revision.configuration_id == configuration_id,
                                                      Revision.number == number)).one_or_none()
    if revision is None:
        if session.get(Configuration, configuration_id) is None:
            raise NotFound(f"configuration {configuration_id} does not exist")
        raise NotFound(f"configuration {configuration_id} has no revision {number}")
    return revision


def customer_name_of(session: Session, configuration_id: int) -> str | None:
    return session.scalar(select(Customer.name).join(Configuration,
                                                     Configuration.customer_id == Customer.id)
                          .where(Configuration.id == configuration_id))


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
