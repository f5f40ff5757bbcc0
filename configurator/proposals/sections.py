"""The larger parts of a proposal's view model (view.py): the customer's situation and the facts
of their profile, what fired rules commit to for each need, the tailored solution against the
standard offer, pricing with every discount and surcharge, service, team and approvals. Each is
plain text and numbers, formatted in the proposal's language.
"""
from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from ..content.document import (BILLINGS, TOTAL_KEYS, ConfigurationDocument, ServiceLevel,
                                TeamMember)
from ..content.iso import COUNTRIES
from ..content.model import ContentPack
from ..content.profile import FieldSpec
from .analysis import Baseline, Comparison
from .formatting import Format
from .source import ProposalInput
from .templates import Messages, readable

CORE_TEAM = ("customer-lead", "solution-lead", "delivery-lead")
# Profile fields the situation sentences use; the others are listed in a table.
SENTENCE_FIELDS = ("name", "industry", "country", "employees", "sites", "regions",
                   "end_customer_industry", "sales_channels", "erp_system", "timeline", "needs",
                   "contacts")
SERVICE_KEYS = ("response_hours", "resolution_hours", "availability", "coverage")


class SectionBuilder:
    """The view's larger parts; holds the pack, messages and formatter they share."""

    def __init__(self, pack: ContentPack, t: Messages, f: Format, profile: dict,
                 private: tuple[str, ...], doc: ConfigurationDocument):
        self.texts = _texts_by_rule(doc)
        self.pack = pack
        self.t = t
        self.f = f
        self.profile = profile
        self.private = set(private)
        self.rules = {rule.id: rule for rule in pack.rules}

    def unit(self, per: str) -> str:
        """A price unit (`site`, `consultant day`) in the proposal's language, else as written."""
        found = self.t.raw(f"units.{per}")
        return found if isinstance(found, str) else per

    # --- the customer's situation ----------------------------------------------------------
    def field_label(self, name: str) -> str:
        spec = self.pack.profile.fields.get(name)
        if self.t.has(f"fields.{name}"):
            return self.t(f"fields.{name}")
        return spec.title if spec else readable(name)

    def value(self, name: str, spec: FieldSpec | None, value: Any) -> str:
        if isinstance(value, list):
            items = [self.value(name, spec.items if spec else None, v) for v in value]
            return self.f.join(items)
        if isinstance(value, dict):
            parts = []
            for key, item in value.items():
                if f"{name}.{key}" in self.private:
                    continue
                sub = spec.fields.get(key) if spec else None
                parts.append(self.value(f"{name}.{key}", sub, item))
            return ", ".join(p for p in parts if p)
        if isinstance(value, bool):
            return self.t("format.yes") if value else self.t("format.no")
        if spec is not None and spec.type == "enum":
            return self.t.label(f"values.{name.split('.')[-1]}", value)
        if spec is not None and spec.type == "country" and COUNTRIES.valid(value):
            # the message catalog's name (translated), else ISO's English name: never "Cn"
            named = self.t.raw(f"countries.{value}")
            return named if isinstance(named, str) else COUNTRIES.name(value)
        if name == "country":
            return self.t.label("countries", value)
        if isinstance(value, (int, float)):
            return self.f.number(value)
        if spec is not None and spec.type == "date":
            try:
                return self.f.date(dt.date.fromisoformat(str(value)))
            except ValueError:
                return str(value)
        return str(value)

    def shown(self, name: str) -> Any:
        if name in self.private:
            return None
        value = self.profile.get(name)
        return None if value in (None, "", [], {}) else value

    def situation(self, customer: str) -> list[str]:
        t, fields = self.t, self.pack.profile.fields
        out: list[str] = []

        def text(name: str) -> str:
            return self.value(name, fields.get(name), self.shown(name))

        if self.shown("industry") is not None:
            sites = self.shown("sites")
            key = "situation.company"
            params = {"customer": customer, "industry": text("industry"),
                      "country": text("country") if self.shown("country") else "",
                      "employees": text("employees") if self.shown("employees") else ""}
            if sites is not None:
                key, params = "situation.company_sites", {**params, "sites": text("sites"),
                                                          "count": sites}
            if not params["country"] and t.has(key + "_nowhere"):
                key += "_nowhere"
            out.append(t(key, **params))
        for name, key in (("regions", "situation.regions"),
                          ("end_customer_industry", "situation.end_customer"),
                          ("sales_channels", "situation.channels"),
                          ("timeline", "situation.timeline")):
            if self.shown(name) is not None and t.has(key):
                out.append(t(key, value=text(name), customer=customer))
        erp = self.shown("erp_system")
        if erp is not None and t.has(f"situation.erp_{erp}"):
            out.append(t(f"situation.erp_{erp}", customer=customer))
        elif erp is not None and t.has("situation.erp"):
            out.append(t("situation.erp", value=text("erp_system"), customer=customer))
        return out

    def facts(self) -> list[dict[str, str]]:
        """The profile's other visible fields, with their labels, in declaration order."""
        out = []
        for name, spec in self.pack.profile.fields.items():
            if name in SENTENCE_FIELDS or self.shown(name) is None:
                continue
            if spec.type == "enum" and self.profile[name] == "no-preference":
                continue
            out.append({"label": self.field_label(name),
                        "value": self.value(name, spec, self.profile[name])})
        return out

    def commitments(self, rule_ids: list[str], doc: ConfigurationDocument) -> list[str]:
        """The delivery commitments and team roles that fired rules make for a need."""
        t, f = self.t, self.f
        out: list[str] = []
        sl = doc.get("service_level") or {}
        for rule_id in rule_ids:
            rule = self.rules.get(rule_id)
            if rule is None:
                continue
            for action in rule.then:
                text = ""
                if action.kind == "service_level":
                    params = action.params.get("values") or {}
                    if "escalation" in params and sl.get("escalation"):
                        text = t("needs.escalation", levels=len(sl["escalation"]),
                                 count=len(sl["escalation"]))
                    elif "response_hours" in sl:
                        text = t("needs.service", hours=f.hours(sl["response_hours"]),
                                 coverage=t.label("coverage", sl.get("coverage", "")))
                    elif "coverage" in sl:
                        text = t("needs.coverage", coverage=t.label("coverage", sl["coverage"]))
                elif action.kind == "team":
                    member = action.params.get("member") or {}
                    role = member.get("role") if isinstance(member, dict) else None
                    if role:
                        text = t("needs.team", role=t.label("roles", role))
                if text and text not in out:
                    out.append(text)
        return out

    # --- tailored versus standard ----------------------------------------------------------
    def tailored(self, c: Comparison, standard: ConfigurationDocument | None,
                 baseline: Baseline | None, currency: str) -> dict[str, Any]:
        t, f = self.t, self.f
        # only what the customer told us and may read about: never the private fields
        changed_fields = [_in_sentence(self.field_label(k))
                          for k in (baseline.overrides if baseline else {})
                          if k not in self.private and self.shown(k) is not None]
        rows = []
        for key in ("one_time", "annual_recurring", "first_year"):
            rows.append({"label": t(f"totals.{key}"),
                         "standard": f.money(c.standard_totals[key]),
                         "tailored": f.money(c.tailored_totals[key]),
                         "difference": f.signed_money(c.difference[key]),
                         "strong": key == "first_year"})
        return {
            "intro": t("tailored.intro", fields=f.join(changed_fields)) if changed_fields
            else t("tailored.intro_plain"),
            "rows": rows,
            "currency": currency,
            "added": [{"name": line["name"],
                       "quantity": f.number(line["quantity"]), "per": self.unit(line.get("per", "")),
                       "total": t("tailored.price", price=f.money(line["total"]),
                                  billing=t.label("billings", line["billing"])),
                       "reasons": unique([r["text"] for r in line["reasons"]])}
                      for line in c.added],
            "removed": [{"name": line["name"],
                         "reasons": unique([r["text"] for r in c.removed_because.get(line["module"], [])])
                         or [t("tailored.not_needed")]}
                        for line in c.removed],
            "changed": [{"name": new["name"], "standard": f.number(old["quantity"]),
                         "tailored": f.number(new["quantity"]), "per": self.unit(new.get("per", "")),
                         "reasons": unique([r["text"] for r in new["reasons"]])}
                        for old, new in c.changed],
            "rules_added": [self.rule_row(r) for r in c.rules_added],
            "rules_removed": [self.rule_row(r) for r in c.rules_removed],
            "summary": t("tailored.summary", added=len(c.added), removed=len(c.removed),
                         difference=f.signed_money(c.difference["first_year"], currency),
                         count=len(c.added)),
        }

    def rule_row(self, rule_id: str) -> dict[str, str]:
        rule = self.rules.get(rule_id)
        if rule is None:   # an adjustment by the solution lead
            return {"id": rule_id, "stage": self.t.label("stages", "adjustment"),
                    "text": self.t("tailored.adjustment")}
        text = " ".join(rule.description.split()) if rule.description else ""
        if not text:   # what the rule said in this document, else what it commits to
            text = "; ".join(self.texts.get(rule.id, [])[:2]) or self._action_text(rule)
        return {"id": rule.id, "stage": self.t.label("stages", rule.stage),
                "text": text or readable(rule.id)}

    def _action_text(self, rule: Any) -> str:
        for action in rule.then:
            values = action.params.get("values") or {}
            if action.kind == "service_level" and "response_hours" in values:
                return self.t("needs.service", hours=self.f.hours(values["response_hours"]),
                              coverage=self.t.label("coverage", values.get("coverage", "")))
            if action.kind == "team":
                role = (action.params.get("member") or {}).get("role")
                if role:
                    return self.t("needs.team", role=self.t.label("roles", role))
        return ""

    # --- pricing ---------------------------------------------------------------------------
    def pricing(self, doc: ConfigurationDocument, currency: str) -> dict[str, Any]:
        t, f = self.t, self.f
        groups = []
        for billing in BILLINGS:
            lines = [line for line in doc["lines"] if line["billing"] == billing]
            if not lines:
                continue
            rows = []
            for line in lines:
                pct = line.get("discount_percent") or 0
                change = ""
                if pct > 0:
                    change = "\u2212" + f.percent(pct)
                elif pct < 0:
                    change = "+" + f.percent(pct)
                rows.append({"name": line["name"], "quantity": f.number(line["quantity"]),
                             "per": self.unit(line.get("per", "")),
                             "unit_price": f.money(line["unit_price"]),
                             "list_total": f.money(line.get("list_total", line["total"])),
                             "change": change, "total": f.money(line["total"])})
            subtotal = sum(Decimal(str(line["total"])) for line in lines)
            list_subtotal = sum(Decimal(str(line.get("list_total", line["total"]))) for line in lines)
            groups.append({"title": t(f"pricing.group.{billing}"), "rows": rows,
                           "list_subtotal": f.money(list_subtotal),
                           "subtotal": f.money(subtotal)})
        # each discount and surcharge, with the lines it touches and its first-year effect
        changes: dict[tuple, dict] = {}
        for line in doc["lines"]:
            periods = 12 if line["billing"] == "monthly" else 1
            for d in line.get("discounts", []):
                key = (d.get("rule"), d.get("kind"), d.get("text"), d.get("percent"))
                entry = changes.setdefault(key, {"kind": d.get("kind", "discount"),
                                                 "percent": d.get("percent", 0),
                                                 "text": d.get("text", ""), "modules": [],
                                                 "effect": Decimal(0)})
                entry["modules"].append(line["name"])
                share = Decimal(str(line.get("list_total", 0))) * Decimal(str(d.get("percent", 0))) / 100
                entry["effect"] += share * periods
        change_rows = []
        saved = Decimal(0)
        for entry in changes.values():
            surcharge = entry["kind"] == "surcharge"
            effect = entry["effect"].quantize(Decimal("0.01"), ROUND_HALF_UP)
            saved += -effect if surcharge else effect
            change_rows.append({
                "kind": t(f"pricing.kind.{'surcharge' if surcharge else 'discount'}"),
                "surcharge": surcharge,
                "percent": ("+" if surcharge else "\u2212") + f.percent(entry["percent"]),
                "text": entry["text"], "modules": f.join(entry["modules"]),
                "effect": ("+" if surcharge else "\u2212") + f.money(effect, currency)})
        totals = doc["totals"]
        list_first_year = sum(Decimal(str(line.get("list_total", line["total"])))
                              * (12 if line["billing"] == "monthly" else 1)
                              for line in doc["lines"])
        rows = [{"label": t(f"totals.{key}"), "value": f.money(totals[key], currency),
                 "strong": key == "first_year"}
                for key in TOTAL_KEYS]
        return {"groups": groups, "changes": change_rows, "totals": rows,
                "list_first_year": f.money(list_first_year, currency),
                "net_effect": t("pricing.net_saving" if saved >= 0 else "pricing.net_surcharge",
                                amount=f.money(abs(saved), currency),
                                list=f.money(list_first_year, currency)),
                "has_changes": bool(change_rows)}

    # --- delivery --------------------------------------------------------------------------
    def service(self, sl: ServiceLevel) -> dict[str, Any]:
        t, f = self.t, self.f
        items = []
        for key in SERVICE_KEYS:
            if key not in sl:
                continue
            value = sl[key]
            if key.endswith("_hours"):
                text = f.hours(value)
            elif key == "availability":
                text = f.number(value) + "%"
            else:
                text = t.label("coverage", value)
            items.append({"label": t(f"service.{key}"), "value": text})
        for key, value in sl.items():
            if key in SERVICE_KEYS or key == "escalation":
                continue
            items.append({"label": t.label("service", key), "value": self.f.number(value)
                          if isinstance(value, (int, float)) and not isinstance(value, bool)
                          else str(value)})
        steps = [{"level": step.get("level", i + 1), "role": t.label("roles", step.get("role", "")),
                  "within": f.hours(step["within_hours"]) if "within_hours" in step else ""}
                 for i, step in enumerate(sl.get("escalation") or []) if isinstance(step, dict)]
        return {"items": items, "escalation": steps}

    def team(self, team: list[TeamMember]) -> dict[str, Any]:
        def member(m: TeamMember) -> dict[str, str]:
            return {"role": self.t.label("roles", m.get("role", "")),
                    "name": str(m.get("name", "")),
                    "responsibility": " ".join(str(m.get("responsibility", "")).split())}
        core = [member(m) for role in CORE_TEAM for m in team if m.get("role") == role]
        others = [member(m) for m in team if m.get("role") not in CORE_TEAM]
        return {"core": core, "others": others}

    def approvals(self, source: ProposalInput, f: Format) -> dict[str, Any]:
        t = self.t
        recorded = {a.role: a for a in source.approvals}
        items = []
        for required in source.document.get("approvals", []):
            role = required["role"]
            done = recorded.get(role)
            items.append({
                "role": t.label("roles", role),
                "reasons": unique([r["text"] for r in required.get("reasons", [])]),
                "approved": done is not None,
                "state": t("approvals.approved", by=done.approved_by,
                           date=f.date(done.approved_at.date())) if done else t("approvals.awaiting"),
                "note": done.note if done and done.note else ""})
        conflicts = [c.get("message", "") for c in source.document.get("conflicts", [])]
        outstanding = [t.label("roles", r) for r in source.outstanding]
        if conflicts:
            status = t("approvals.status_conflicts")
        elif outstanding:
            status = t("approvals.status_draft", roles=f.join(outstanding),
                       count=len(outstanding))
        elif items:
            status = t("approvals.status_approved")
        else:
            status = t("approvals.status_none")
        return {"items": items, "conflicts": conflicts, "status": status,
                "outstanding": outstanding}


def _texts_by_rule(doc: ConfigurationDocument) -> dict[str, list[str]]:
    """Every customer-facing text of a document, by the rule that wrote it."""
    out: dict[str, list[str]] = {}

    def add(rule: Any, text: Any) -> None:
        text = " ".join(str(text or "").split())
        if rule and text and text not in out.setdefault(rule, []):
            out[rule].append(text)

    for line in doc.get("lines", []):
        for reason in line.get("reasons", []):
            add(reason.get("rule"), reason.get("text"))
        for change in line.get("discounts", []):
            add(change.get("rule"), change.get("text"))
    for group in ("recommendations", "exclusions", "approvals"):
        for item in doc.get(group, []):
            for reason in item.get("reasons", []):
                add(reason.get("rule"), reason.get("text"))
    for note in doc.get("notes", []):
        add(note.get("rule"), note.get("text"))
    for member in doc.get("team", []):
        add(member.get("rule"), member.get("responsibility"))
    return out


def _in_sentence(label: str) -> str:
    """`Business needs` -> `business needs` inside a sentence; `ERP system` stays."""
    if len(label) > 1 and label[0].isupper() and not label[1].isupper():
        return label[0].lower() + label[1:]
    return label


def unique(texts: list[str]) -> list[str]:
    """The texts with their whitespace folded, in order, without empty ones and repeats."""
    out: list[str] = []
    for text in texts:
        text = " ".join(str(text).split())
        if text and text not in out:
            out.append(text)
    return out
