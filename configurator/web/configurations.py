"""Configure and review: the configuration of one revision, the solution lead's changes (each
makes a new revision through the same services as the API), the history (with where each
revision stood and who decided what), and the difference between two revisions. Approvals and
the deal's moves are in deal.py."""
from __future__ import annotations

from typing import Any

import flask
from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from ..accounts import require
from ..accounts.services import names_by_email
from ..content.adjustments import ACTIONS, AdjustmentInvalid
from ..content.document import ConfigurationDocument, Line
from ..content.profile import ProfileInvalid
from ..services import configurations as service
from ..services import approvals
from ..store import customers as customer_store
from ..store import flaskdb as db
from ..store.configurations import get_configuration, get_revision
from ..store.history import revision_history
from ..store.models import ROUTE_ID
from ..store.proposals import approvals_by_revision
from . import changes
from .blueprint import actor, bp, content
from .deal import approval_rows, deal_view
from .proposals import proposals_of_revision
from .rules_text import condition_words, rule_index

ADJUSTMENT_FIELDS = {"module": "Module", "quantity": "Quantity", "percent": "Percent",
                     "applies_to": "Applies to", "reason": "Reason", "action": "Change"}


def _catalog() -> Any:
    pipeline = content().pipeline
    return pipeline.pack.catalog if pipeline is not None else None


def _spec() -> Any:
    pipeline = content().pipeline
    return pipeline.pack.profile if pipeline is not None else None


def family_groups(lines: list[Line], catalog: Any) -> list[dict]:
    """Lines grouped by family, in the document's order, with each family's subtotals."""
    groups: dict[str, dict] = {}
    for line in lines:
        family = line["family"]
        if family not in groups:
            title = catalog.families[family].title if catalog and family in catalog.families \
                else family
            groups[family] = {"id": family, "title": title, "lines": [], "totals": {}}
        group = groups[family]
        group["lines"].append(line)
        group["totals"][line["billing"]] = group["totals"].get(line["billing"], 0) + line["total"]
    return list(groups.values())


def _review(configuration_id: int, number: int | None = None,
            adjust_error: dict | None = None, status: int = 200):
    session = db.session()
    latest = get_configuration(session, configuration_id)
    shown = get_revision(session, configuration_id, number or latest["revision"])
    document: ConfigurationDocument = shown["document"]
    catalog = _catalog()
    customer = customer_store.get_customer(session, latest["customer"]["id"])
    profile_changed = customer["profile_source"] == "stored" and \
        customer["profile"] != latest["profile"]
    authors = names_by_email(session, ({shown["created_by"]} | {a.get("by") for a in
                                        shown["adjustments"]}) - {None, ""})
    lines = {line["module"] for line in document["lines"]}
    pack = content().pipeline.pack if content().pipeline is not None else None
    rules = rule_index(pack)
    rule_conditions = {r["rule"]: condition_words(rules[r["rule"]].when, pack)
                       for e in document["exclusions"] for r in e["reasons"] if r["rule"] in rules}
    approval_status = approvals.status(session, configuration_id, shown["number"])
    addable = []
    if catalog is not None:
        for family in catalog.families.values():
            modules = [catalog.modules[m] for m in family.modules if m not in lines]
            if modules:
                addable.append({"title": family.title, "modules": modules})
    return render_template(
        "web/configuration.html", configuration=latest, shown=shown, document=document,
        is_latest=shown["number"] == latest["revision"], groups=family_groups(document["lines"],
                                                                              catalog),
        catalog=catalog, customer=customer, profile_changed=profile_changed, authors=authors,
        addable=addable, adjust_error=adjust_error,
        adjustments=[(i, a, changes.describe_adjustment(a, catalog))
                     for i, a in enumerate(shown["adjustments"])],
        proposals=proposals_of_revision(configuration_id, shown["number"]),
        rule_conditions=rule_conditions, approval_status=approval_status,
        deal=deal_view(shown, latest["revision"], approval_status),
        approval_rows=approval_rows(shown, latest["revision"], approval_status),
    ), status


@bp.get(f"/configurations/<{ROUTE_ID}:configuration_id>")
@require("customers")
def configuration(configuration_id: int):
    number = request.args.get("revision", type=int)
    return _review(configuration_id, number)


def _number(text: str | None, kind: type) -> Any:
    """A number from a form field, or the text as typed (validation then names it)."""
    text = (text or "").strip().replace(",", "") if text else ""
    if text == "":
        return None
    try:
        return kind(text)
    except ValueError:
        return text


def change_from_form(form: Any) -> dict:
    action = form.get("action", "")
    change: dict[str, Any] = {"action": action}
    if form.get("module"):
        change["module"] = form["module"]
    if action in ("quantity", "add"):
        quantity = _number(form.get("quantity"), int)
        if quantity is not None or action == "quantity":
            change["quantity"] = quantity
    if action == "discount":
        change["percent"] = _number(form.get("percent"), float)
        change["applies_to"] = form.get("applies_to") or "total"
    reason = form.get("reason", "").strip()
    if reason:
        change["reason"] = reason
    change["by"] = current_user.signature[:100]
    return change


def _base_revision() -> int | None:
    """The revision the page the form came from showed."""
    return request.form.get("base_revision", type=int)


def _stale(configuration_id: int, exc: service.StaleRevision) -> Any:
    """Back to the latest revision, saying nothing was changed."""
    db.session().rollback()
    flash(f"This configuration changed since you opened it (it is now at revision "
          f"{exc.latest}). Nothing was changed: review the latest revision and make your "
          "change again.", "error")
    return redirect(url_for("web.configuration", configuration_id=configuration_id))


def _invalid(configuration_id: int, exc: AdjustmentInvalid, form_key: str | None) -> Any:
    """The review again, with the change's errors next to its form."""
    db.session().rollback()
    messages = []
    for path, texts in exc.errors.items():
        field = path.rsplit(".", 1)[-1]
        label = ADJUSTMENT_FIELDS.get(field, "")
        messages += [f"{label}: {t}" if label else t for t in texts]
    error = {"form": form_key, "messages": messages, "values": request.form.to_dict()}
    return _review(configuration_id, adjust_error=error, status=422)


def _done(configuration_id: int, revision: dict, done: str) -> Any:
    db.session().commit()
    flash(f"{done}: revision {revision['number']} is {_status_words(revision['status'])}.",
          "success")
    return redirect(url_for("web.configuration", configuration_id=configuration_id))


def _status_words(status: str) -> str:
    return {"ok": "ready", "approval_required": "waiting for approvals",
            "conflict": "in conflict"}.get(status, status)


@bp.post(f"/configurations/<{ROUTE_ID}:configuration_id>/adjust")
@require("customers")
def adjust(configuration_id: int):
    change = change_from_form(request.form)
    if change["action"] not in ACTIONS:
        flask.abort(400)
    key = f"{change['action']}:{change.get('module', '')}"
    try:
        revision = service.apply_changes(db.session(), content(), configuration_id, [change],
                                         base_revision=_base_revision(),
                                         actor=actor())
    except service.StaleRevision as exc:
        return _stale(configuration_id, exc)
    except AdjustmentInvalid as exc:
        return _invalid(configuration_id, exc, key)
    return _done(configuration_id, revision, changes.describe_adjustment(change, _catalog()))


@bp.post(f"/configurations/<{ROUTE_ID}:configuration_id>/withdraw")
@require("customers")
def withdraw(configuration_id: int):
    index = request.form.get("index", type=int)
    try:
        revision, withdrawn = service.withdraw_change(
            db.session(), content(), configuration_id, index if index is not None else -1,
            base_revision=_base_revision(), actor=actor())
    except service.StaleRevision as exc:
        return _stale(configuration_id, exc)
    except IndexError:
        db.session().rollback()
        flask.abort(400)
    except AdjustmentInvalid as exc:
        return _invalid(configuration_id, exc, None)
    return _done(configuration_id, revision,
                 "Withdrew: " + changes.describe_adjustment(withdrawn, _catalog()))


@bp.post(f"/configurations/<{ROUTE_ID}:configuration_id>/reconfigure")
@require("customers")
def reconfigure(configuration_id: int):
    """A new revision from the customer's current profile, keeping the adjustments."""
    session = db.session()
    latest = get_configuration(session, configuration_id)
    customer = customer_store.get_customer(session, latest["customer"]["id"])
    try:
        revision = service.reconfigure(session, content(), configuration_id, customer["profile"],
                                       base_revision=_base_revision(),
                                       actor=actor())
    except service.StaleRevision as exc:
        return _stale(configuration_id, exc)
    except AdjustmentInvalid as exc:
        return _invalid(configuration_id, exc, None)
    except ProfileInvalid:
        session.rollback()
        flash("The customer's profile does not pass the profile declaration any more; fix it "
              "first.", "error")
        return redirect(url_for("web.edit_profile", customer_id=customer["id"]))
    return _done(configuration_id, revision, "Re-configured with the current profile")


@bp.get(f"/configurations/<{ROUTE_ID}:configuration_id>/history")
@require("customers")
def history(configuration_id: int):
    session = db.session()
    latest = get_configuration(session, configuration_id)
    revisions = revision_history(session, configuration_id)
    catalog, spec = _catalog(), _spec()
    rows = []
    for index, revision in enumerate(revisions):
        previous = revisions[index - 1] if index else None
        rows.append({**revision, "changes": changes.describe_revision_change(
            previous, revision, catalog, spec)})
    decisions = approvals_by_revision(session, configuration_id)
    authors = names_by_email(session, {who for r in revisions
                                       for who in (r["created_by"], r["state_changed_by"])}
                             - {None})
    return render_template("web/history.html", configuration=latest, rows=list(reversed(rows)),
                           authors=authors, decisions=decisions)


@bp.get(f"/configurations/<{ROUTE_ID}:configuration_id>/diff")
@require("customers")
def diff(configuration_id: int):
    session = db.session()
    latest = get_configuration(session, configuration_id)
    newest = latest["revision"]
    to = request.args.get("to", newest, type=int)
    start = request.args.get("from", max(1, (to or newest) - 1), type=int)
    if not (1 <= start <= newest and 1 <= to <= newest):
        flash(f"Choose revisions from 1 to {newest}.", "error")
        return redirect(url_for("web.history", configuration_id=configuration_id))
    a = get_revision(session, configuration_id, start)
    b = get_revision(session, configuration_id, to)
    catalog, spec = _catalog(), _spec()
    authors = names_by_email(session, {a["created_by"], b["created_by"]} - {None})
    return render_template(
        "web/diff.html", configuration=latest, a=a, b=b, authors=authors,
        diff=changes.diff_documents(a["document"], b["document"]),
        profile_changes=changes.profile_changes(a["profile"], b["profile"], spec),
        adjustments_added=[changes.describe_adjustment(x, catalog)
                           for x in b["adjustments"] if x not in a["adjustments"]],
        adjustments_removed=[changes.describe_adjustment(x, catalog)
                             for x in a["adjustments"] if x not in b["adjustments"]],
        numbers=range(1, newest + 1))
