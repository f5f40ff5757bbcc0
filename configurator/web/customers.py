"""Customers: the list with search, the generated profile form, import from a YAML or JSON
file, and the customer page from which a solution lead configures."""
from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from ..accounts import require
from ..content.problems import ContentError
from ..content.profile import ProfileInvalid
from ..content.yamlfile import YamlSyntaxError
from ..services import customers as customer_service
from ..services.configurations import create_configuration
from ..store import customers as store
from ..store import flaskdb as db
from ..store.db import begin_write
from ..store.errors import NotFound
from ..store.models import ROUTE_ID
from .blueprint import actor, bp, content
from .profile_form import build_form, parse_form
from .textinput import read_profile_text

PAGE_SIZE = 25


@bp.errorhandler(ContentError)
def _content_unusable(exc: ContentError):
    return render_template("web/error.html", code=503, title="The content pack is not usable",
                           text="The catalog and rules could not be loaded, so profiles cannot "
                                "be checked or configured right now. A product manager can see "
                                "why on the content page.", incident=None), 503


@bp.errorhandler(NotFound)
def _not_found(exc: NotFound):
    return render_template("web/error.html", code=404, title="Not found", text=exc.message,
                           incident=None), 404


@bp.get("/customers")
@require("customers")
def customers():
    search = request.args.get("q", "").strip()[:300]
    page = max(1, request.args.get("page", 1, type=int) or 1)
    found = store.list_customers(db.session(), search or None, page, PAGE_SIZE)
    return render_template("web/customers.html", page=found, search=search)


def _profile_page(customer: dict | None, values: Any, errors: dict | None = None,
                  status: int = 200, imported: str | None = None, defaults: bool = False):
    spec = content().pack.profile
    form = build_form(spec, values, errors, defaults=defaults)
    return render_template("web/profile_form.html", customer=customer, form=form,
                           imported=imported), status


def _save(customer_id: int | None, profile: Any, imported: str | None = None,
          customer: dict | None = None):
    """Validate and store a profile; on failure the form again with every error in place."""
    session = db.session()
    try:
        saved_id, clean = customer_service.save_profile(session, content(), profile,
                                                        current_user.signature, customer_id)
    except ProfileInvalid as exc:
        session.rollback()
        return _profile_page(customer, profile, exc.errors, 422, imported)
    session.commit()
    what = f"imported from {imported}" if imported else "saved"
    flash(f"Profile of {clean['name']} {what}.", "success")
    return redirect(url_for("web.customer", customer_id=saved_id))


@bp.get("/customers/new")
@require("customers")
def new_customer():
    return _profile_page(None, {}, defaults=True)


@bp.post("/customers/new")
@require("customers")
def create_customer():
    return _save(None, parse_form(content().pack.profile, request.form))


@bp.get(f"/customers/<{ROUTE_ID}:customer_id>")
@require("customers")
def customer(customer_id: int):
    found = store.get_customer(db.session(), customer_id)
    spec = content().pack.profile
    return render_template("web/customer.html", customer=found, spec=spec)


@bp.get(f"/customers/<{ROUTE_ID}:customer_id>/profile")
@require("customers")
def edit_profile(customer_id: int):
    found = store.get_customer(db.session(), customer_id)
    return _profile_page(found, found["profile"])


@bp.post(f"/customers/<{ROUTE_ID}:customer_id>/profile")
@require("customers")
def update_profile(customer_id: int):
    session = db.session()
    begin_write(session)  # read the customer and write its profile in one write transaction
    found = store.get_customer(session, customer_id)
    return _save(customer_id, parse_form(content().pack.profile, request.form), customer=found)


def read_profile_upload(upload: Any) -> tuple[Any, str]:
    """(profile, file name) from an uploaded YAML or JSON file: a profile, or a document with a
    `profile:` key (as `configurator configure` reads). Raises ProfileInvalid for a file that
    cannot be read, naming the line."""
    name = (upload.filename or "profile").rsplit("/", 1)[-1][:200] if upload else ""
    if upload is None or not upload.filename:
        raise ProfileInvalid({"_profile": ["Choose a YAML or JSON file to import."]})
    raw = upload.read()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ProfileInvalid({"_profile": [f"{name} is not UTF-8 text."]}) from None
    try:
        data = read_profile_text(text)  # YAML 1.2 reads JSON too
    except YamlSyntaxError as exc:
        where = f"{name}, line {exc.line}" if exc.line else name
        raise ProfileInvalid({"_profile": [f"{where}: {exc.message}"]}) from None
    if isinstance(data, dict) and isinstance(data.get("profile"), dict):
        data = data["profile"]
    if not isinstance(data, dict):
        raise ProfileInvalid({"_profile": [f"{name} does not hold a profile: expected fields "
                                           "such as `name:` and `industry:` at the top level."]})
    return data, name


@bp.post("/customers/import")
@require("customers")
def import_profile():
    """Import into a new customer, or (with customer_id) into an existing one's profile."""
    customer_id = request.form.get("customer_id", type=int)
    session = db.session()
    begin_write(session)
    found = store.get_customer(session, customer_id) if customer_id else None
    try:
        data, name = read_profile_upload(request.files.get("file"))
    except ProfileInvalid as exc:
        values = found["profile"] if found else {}
        return _profile_page(found, values, exc.errors, 422, defaults=found is None)
    return _save(customer_id, data, imported=name, customer=found)


@bp.post(f"/customers/<{ROUTE_ID}:customer_id>/configure")
@require("customers")
def configure_customer(customer_id: int):
    """Run the pipeline on the customer's profile: a new configuration, revision 1."""
    session = db.session()
    begin_write(session)
    found = store.get_customer(session, customer_id)
    try:
        result = create_configuration(session, content(), found["profile"],
                                      actor=actor())
    except ProfileInvalid as exc:
        session.rollback()
        flash("The profile no longer passes the profile declaration; fix it, then configure.",
              "error")
        return _profile_page(found, found["profile"], exc.errors, 422)
    session.commit()
    flash(f"Configured {found['name']}: configuration {result['id']}, revision 1.", "success")
    return redirect(url_for("web.configuration", configuration_id=result["id"]))
