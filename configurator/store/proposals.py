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

from .configurations import get_revision_row
from .db import begin_write
from .errors import NotFound
from .models import Approval, Configuration, Customer, Proposal, Revision, utcnow


# --- approvals --------------------------------------------------------------------------------

def find_approval(session: Session, revision: Revision, role: str) -> Approval | None:
    return session.scalars(select(Approval).where(Approval.revision_id == revision.id,
                                                  Approval.role == role)).one_or_none()


def insert_approval(session: Session, revision: Revision, role: str, by: str,
                    note: str | None, *, decision: str = "approved", user_id: int | None = None,
                    via_api_key: str | None = None) -> dict[str, Any]:
    """Record `by`'s decision on `revision` for `role`; returns the approval's view."""
    approval = Approval(revision_id=revision.id, role=role, decision=decision, approved_by=by,
                        note=note or None, approved_at=utcnow(), user_id=user_id,
                        via_api_key=via_api_key)
    session.add(approval)
    session.flush()
    return approval_view(approval)


def copy_approval(session: Session, approval: Approval, revision: Revision,
                  carried_from: int) -> None:
    """Keep `approval` (of an earlier revision) for `revision`, as given then."""
    session.add(Approval(revision_id=revision.id, role=approval.role, decision=approval.decision,
                         approved_by=approval.approved_by, approved_at=approval.approved_at,
                         note=approval.note, user_id=approval.user_id,
                         via_api_key=approval.via_api_key, carried_from=carried_from))
    session.flush()


def approvals_of(session: Session, revision_id: int) -> list[Approval]:
    """A revision's approvals, in the order they were given."""
    return list(session.scalars(select(Approval).where(Approval.revision_id == revision_id)
                                .order_by(Approval.approved_at, Approval.id)))


def approval_status(session: Session, configuration_id: int, number: int) -> dict[str, Any]:
    """What a revision requires, what was approved, and what is outstanding."""
    return approval_status_of(session, get_revision_row(session, configuration_id, number))


def approval_status_of(session: Session, revision: Revision) -> dict[str, Any]:
    """`approval_status` of a revision already read."""
    required = [a["role"] for a in revision.document.get("approvals", [])]
    approvals = approvals_of(session, revision.id)
    done = {a.role for a in approvals if a.decision == "approved"}
    decided = {a.role for a in approvals}
    outstanding = [r for r in required if r not in decided]
    return {"configuration_id": revision.configuration_id, "revision": revision.number,
            "required": required, "approvals": [approval_view(a) for a in approvals],
            "outstanding": outstanding, "approved": all(r in done for r in required),
            "rejected": [a.role for a in approvals if a.decision == "rejected"]}


def approvals_by_revision(session: Session, configuration_id: int) -> dict[int, list[dict]]:
    """Every revision's decisions, by revision number, each in the order given (one query)."""
    rows = session.execute(select(Revision.number, Approval)
                           .join(Approval, Approval.revision_id == Revision.id)
                           .where(Revision.configuration_id == configuration_id)
                           .order_by(Revision.number, Approval.approved_at, Approval.id))
    found: dict[int, list[dict]] = {}
    for number, approval in rows:
        found.setdefault(number, []).append(approval_view(approval))
    return found


def approval_view(approval: Approval) -> dict[str, Any]:
    """A decision as the services and pages read it (`user_id`: who may withdraw it)."""
    return {"role": approval.role, "decision": approval.decision,
            "approved_by": approval.approved_by, "approved_at": approval.approved_at,
            "note": approval.note, "via_api_key": approval.via_api_key,
            "carried_from": approval.carried_from, "user_id": approval.user_id}


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
                    version: str, key: str, rendered: Any, created_by: str | None, *,
                    customer_name: str | None = None, via_api_key: str | None = None
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
                        pdf=rendered.pdf, created_at=utcnow(), created_by=created_by,
                        customer_name=customer_name, via_api_key=via_api_key)
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
    return [proposal_view(p, p.customer_name or customer, configuration_id, n)
            for p, n, customer in rows]


def get_proposal(session: Session, proposal_id: int) -> dict[str, Any]:
    row = _proposal_row(session, proposal_id)
    proposal, number, configuration_id, customer = row
    return proposal_view(proposal, proposal.customer_name or customer, configuration_id, number)


def proposal_pdf(session: Session, proposal_id: int) -> tuple[bytes, str, str]:
    """(the PDF, its download file name, its sha256)."""
    proposal, number, configuration_id, customer = _proposal_row(session, proposal_id)
    name = proposal.customer_name or customer
    return proposal.pdf, file_name(name, number, proposal.language), proposal.sha256


def proposal_view(proposal: Proposal, customer: str, configuration_id: int,
                  number: int) -> dict[str, Any]:
    return {"id": proposal.id, "configuration_id": configuration_id, "revision": number,
            "customer": customer, "template": proposal.template, "language": proposal.language,
            "content_version": proposal.content_version, "draft": proposal.draft,
            "pages": proposal.pages, "size": proposal.size, "sha256": proposal.sha256,
            "file_name": file_name(customer, number, proposal.language),
            "created_at": proposal.created_at, "created_by": proposal.created_by,
            "via_api_key": proposal.via_api_key}


def file_name(customer: str, number: int, language: str) -> str:
    """`<customer>-proposal-r<n>-<lang>.pdf`, ASCII letters, digits and dashes only."""
    slug = "".join(c.lower() if c.isascii() and c.isalnum() else "-" for c in customer)
    slug = "-".join(part for part in slug.split("-") if part)[:60].strip("-") or "customer"
    lang = "".join(c for c in language if c.isascii() and c.isalnum()) or "en"
    return f"{slug}-proposal-r{number}-{lang}.pdf"


# --- revisions as rows ------------------------------------------------------------------------

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
