"""Customers and their current business profiles, for the web forms.

A customer is created by name (`profile.name`, unique). Its profile, as a solution lead entered
or imported it, is kept in `customer_profiles`; configuring copies it into a revision, which
keeps its own copy. Customers created through the API have no stored profile until someone saves
one; their latest configuration's profile stands in.

Plain functions over a SQLAlchemy session: they flush but never commit.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from ..content.profile import ProfileInvalid
from .configurations import Page, _customer_name, _json, _read_state
from .errors import NotFound
from .db import begin_write
from .models import Configuration, Customer, CustomerProfile, Revision, utcnow


def save_profile(session: Session, profile: dict[str, Any], updated_by: str | None,
                 customer_id: int | None = None) -> int:
    """Store a validated profile as a customer's current profile; returns the customer's id.

    Without `customer_id` this is a new customer, or one that exists without a stored profile
    (created through the API). With it, the customer is renamed when `profile.name` changed.
    Raises ProfileInvalid on `name` when another customer has that name already.
    """
    profile = _json(profile)
    name = _customer_name(profile)
    begin_write(session)
    same_name = session.scalars(select(Customer).where(Customer.name == name)).one_or_none()
    if customer_id is None:
        customer = same_name
        if customer is not None and session.get(CustomerProfile, customer.id) is not None:
            raise ProfileInvalid({"name": [f"A customer called {name} exists already; open it "
                                           "from the customer list to change its profile."]})
        if customer is None:
            customer = Customer(name=name, created_at=utcnow())
            session.add(customer)
            session.flush()
    else:
        customer = session.get(Customer, customer_id)
        if customer is None:
            raise NotFound(f"customer {customer_id} does not exist")
        if same_name is not None and same_name.id != customer.id:
            raise ProfileInvalid({"name": [f"Another customer is called {name} already."]})
        customer.name = name
    stored = session.get(CustomerProfile, customer.id)
    if stored is None:
        session.add(CustomerProfile(customer_id=customer.id, profile=profile, updated_at=utcnow(),
                                    updated_by=updated_by))
    else:
        stored.profile = profile
        stored.updated_at = utcnow()
        stored.updated_by = updated_by
    session.flush()
    return customer.id


def get_customer(session: Session, customer_id: int) -> dict[str, Any]:
    """The customer, its current profile (or its latest configuration's), and its
    configurations, newest first."""
    customer = session.get(Customer, customer_id)
    if customer is None:
        raise NotFound(f"customer {customer_id} does not exist")
    stored = session.get(CustomerProfile, customer_id)
    configurations = session.execute(
        select(Configuration.id, Configuration.latest_revision, Configuration.created_at,
               Configuration.updated_at, Revision.status, Revision.totals, Revision.profile,
               Revision.created_by, Revision.state, Revision.valid_until)
        .join(Revision, and_(Revision.configuration_id == Configuration.id,
                             Revision.number == Configuration.latest_revision))
        .where(Configuration.customer_id == customer_id)
        .order_by(Configuration.id.desc())
    ).all()
    items = [{"id": r.id, "revision": r.latest_revision, "created_at": r.created_at,
              "updated_at": r.updated_at, "status": r.status, "totals": r.totals,
              "profile": r.profile, "created_by": r.created_by,
              "state": _read_state(r.state, r.valid_until), "valid_until": r.valid_until}
             for r in configurations]
    if stored is not None:
        profile, source = stored.profile, "stored"
    elif items:
        profile, source = items[0]["profile"], "configuration"
    else:
        profile, source = {"name": customer.name}, "none"
    return {"id": customer.id, "name": customer.name, "created_at": customer.created_at,
            "profile": profile, "profile_source": source,
            "profile_updated_at": stored.updated_at if stored else None,
            "profile_updated_by": stored.updated_by if stored else None,
            "configurations": items}


def list_customers(session: Session, search: str | None = None, page: int = 1,
                   page_size: int = 25) -> Page:
    """Customers by name (case-insensitive search in the name), with their number of
    configurations and when they last changed."""
    where = [Customer.name.icontains(search, autoescape=True)] if search else []
    total = session.scalar(select(func.count(Customer.id)).where(*where)) or 0
    counts = (select(Configuration.customer_id, func.count(Configuration.id).label("n"),
                     func.max(Configuration.updated_at).label("changed"))
              .group_by(Configuration.customer_id).subquery())
    rows = session.execute(
        select(Customer.id, Customer.name, Customer.created_at, CustomerProfile.profile,
               CustomerProfile.updated_at, counts.c.n, counts.c.changed)
        .outerjoin(CustomerProfile, CustomerProfile.customer_id == Customer.id)
        .outerjoin(counts, counts.c.customer_id == Customer.id)
        .where(*where)
        .order_by(func.lower(Customer.name), Customer.id)
        .limit(page_size).offset((page - 1) * page_size)
    ).all()
    items = []
    for r in rows:
        profile = r.profile or {}
        changed = [t for t in (r.created_at, r.updated_at, r.changed) if t is not None]
        items.append({"id": r.id, "name": r.name, "industry": profile.get("industry"),
                      "country": profile.get("country"), "configurations": r.n or 0,
                      "has_profile": r.profile is not None, "changed_at": max(changed)})
    return Page(items, page, page_size, total)
