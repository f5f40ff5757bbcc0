"""The view model of a proposal: everything the template shows, as plain text and numbers.

Built from one configuration revision (a ProposalInput, source.py: profile, document, recorded
approvals), the pack that computed it, the standard offer's document, and one language's
messages. Every string here is plain text; the template escapes all of it. Numbers, money and
dates are formatted per language (formatting.py), so the template only lays things out. This
module assembles the view; its larger sections are built in sections.py.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from ..content.document import ConfigurationDocument, NoteSection
from ..content.model import ContentPack
from .analysis import Baseline, Comparison, needs_answered
from .formatting import Format
from .sections import SectionBuilder, unique
from .source import ProposalInput
from .templates import ProposalTemplate, fill

SECTIONS = ("summary", "solution", "fit", "tailored", "pricing", "service", "team", "approvals",
            "terms")
# the proposal section each note section (content.document.NOTE_SECTIONS) is shown in
NOTE_PLACES: dict[NoteSection, str] = {"executive-summary": "summary", "solution": "solution",
                                       "delivery": "service", "commercial": "pricing",
                                       "terms": "terms"}


def build_view(source: ProposalInput, pack: ContentPack, template: ProposalTemplate,
               language: str, *, standard: ConfigurationDocument | None = None,
               comparison: Comparison | None = None,
               baseline: Baseline | None = None) -> dict[str, Any]:
    """The template's context: plain values only."""
    t = template.messages(language)
    f = Format(t)
    theme = template.theme
    doc = source.document
    profile = pack.profile.validate(source.profile)
    currency = doc["totals"]["currency"]
    modules = pack.catalog.modules
    day = source.created_at.date()
    valid_until = day + dt.timedelta(days=theme.validity_days)
    number = fill(theme.proposal_number, {
        "configuration": f"{source.configuration_id:05d}" if source.configuration_id
        else "PREVIEW",
        "revision": source.revision, "year": day.year})
    names = {line["module"]: line["name"] for line in doc["lines"]}
    b = SectionBuilder(pack, t, f, profile, theme.private_fields, doc)

    notes: dict[str, list[str]] = {section: [] for section in SECTIONS}
    other_notes: list[str] = []
    for note in doc.get("notes", []):
        section = NOTE_PLACES.get(note.get("section", ""))
        (notes[section] if section else other_notes).append(note["text"])

    view: dict[str, Any] = {
        "language": language,
        "t": t,
        "draft": source.draft,
        "vendor": theme.vendor,
        "logo": theme.logo,
        "colours": theme.colours,
        "customer": source.customer,
        "number": number,
        "revision": source.revision,
        "date": f.date(day),
        "date_iso": source.created_at.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "valid_until": f.date(valid_until),
        "currency": currency,
        "sections": [{"id": s, "title": t(f"sections.{s}")} for s in SECTIONS
                     if s != "tailored" or comparison is not None],
        "notes": notes,
        "other_notes": other_notes,
    }
    view["contacts"] = [{"name": c.get("name", ""), "role": t.label("values.role", c.get("role", "")),
                         "part": t(f"contact_parts.{c.get('role', '')}")
                         if t.has(f"contact_parts.{c.get('role', '')}") else ""}
                        for c in profile.get("contacts", []) if "contacts" not in theme.private_fields]
    view["situation"] = b.situation(source.customer)
    view["facts"] = b.facts()

    answers = needs_answered(pack, doc, profile.get("needs", []))
    needs = []
    for need, answer in answers.items():
        commitments = b.commitments(answer.rules, doc)
        needs.append({"label": t.label("values.needs", need),
                      "modules": [names[m] for m in answer.modules],
                      "commitments": commitments,
                      "open": not answer.modules and not commitments})
    view["needs"] = needs
    totals = doc["totals"]
    sl = doc.get("service_level") or {}
    figures = [{"label": t("figures.first_year"), "value": f.money(totals["first_year"], currency)},
               {"label": t("figures.one_time"), "value": f.money(totals["one_time"], currency)},
               {"label": t("figures.recurring"), "value": f.money(totals["annual_recurring"], currency)}]
    if "response_hours" in sl:
        figures.append({"label": t("figures.response"), "value": f.hours(sl["response_hours"])})
    view["figures"] = figures

    # the solution, by family, in catalog order
    families = []
    for family in pack.catalog.families.values():
        lines = [line for line in doc["lines"] if line["family"] == family.id]
        if not lines:
            continue
        families.append({"title": family.title, "description": family.description, "lines": [
            {"name": line["name"], "kind": t.label("kinds", line["kind"]),
             "quantity": f.number(line["quantity"]), "per": b.unit(line.get("per", "")),
             "description": modules[line["module"]].description if line["module"] in modules else "",
             "benefits": list(modules[line["module"]].benefits) if line["module"] in modules else []}
            for line in lines]})
    view["families"] = families
    view["solution_intro"] = t("solution.intro", count=len(doc["lines"]),
                               modules=f.number(len(doc["lines"])),
                               families=f.number(len(families)))
    view["recommendations"] = [
        {"name": r["name"], "reasons": [x["text"] for x in r.get("reasons", [])],
         "price": t("pricing.unit_price", price=f.money(r["unit_price"], currency),
                    per=b.unit(modules[r["module"]].price.per) if r["module"] in modules else "",
                    billing=t.label("billings", r["billing"]))}
        for r in doc.get("recommendations", [])]

    # why this fits you
    view["fit"] = [{"name": line["name"], "family": pack.catalog.families[line["family"]].title
                    if line["family"] in pack.catalog.families else line["family"],
                    "reasons": unique([r["text"] for r in line["reasons"]])}
                   for line in doc["lines"]]
    view["exclusions"] = [{"name": e.get("name") or e["module"],
                           "reasons": unique([r["text"] for r in e.get("reasons", [])])}
                          for e in doc.get("exclusions", [])]

    view["tailored"] = b.tailored(comparison, standard, baseline, currency) \
        if comparison is not None else None
    view["pricing"] = b.pricing(doc, currency)
    view["service"] = b.service(sl)
    view["team"] = b.team(doc.get("team", []))
    view["approvals"] = b.approvals(source, f)
    view["terms"] = {"validity": t("terms.validity", date=view["valid_until"],
                                   days=theme.validity_days, number=number),
                     "legal": theme.legal_text(language)}
    return view
