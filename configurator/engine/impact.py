"""What a content change does to existing customers: run the same profiles through a base pack
and the working pack and describe, per customer, how the configuration changes and which rules
are behind it.

Plain Python over packs and documents (no Flask, no SQLAlchemy). Draft rules take part: impact is
how a product manager sees a draft's effect before switching it on.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Iterable, Sequence, Set
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from ..content.adjustments import AdjustmentInvalid, parse_adjustments
from ..content.document import Approval, ConfigurationDocument, Line, Reason
from ..content.document_diff import changed_keys, diff_documents
from ..content.expressions import Expression
from ..content.model import ContentPack, Template
from ..content.profile import ProfileInvalid
from .errors import EngineError
from .pipeline import Pipeline
from .solution import CATALOG_RULE

SIDES = ("base", "work")
# document keys compared item by item when they differ in ways the categories do not name
OTHER_SECTIONS = ("derived", "recommendations", "exclusions", "conflicts", "service_level",
                  "team", "notes", "warnings")


@dataclass(frozen=True)
class Case:
    """One customer to run through both packs."""
    label: str                    # "test: NAME" or "customer: NAME (configuration ID)"
    kind: str                     # "test" | "customer"
    profile: Any
    adjustments: tuple = ()
    date: str | None = None       # the day to configure on; None: the report's day
    source: str = ""              # where the case comes from (file:line, configuration/revision)


@dataclass
class CaseImpact:
    case: Case
    status: tuple[str, str] | None = None
    modules_added: list[dict] = field(default_factory=list)
    modules_removed: list[dict] = field(default_factory=list)
    quantities: list[dict] = field(default_factory=list)
    line_totals: list[dict] = field(default_factory=list)
    totals: dict[str, dict] = field(default_factory=dict)
    approvals_added: list[dict] = field(default_factory=list)
    approvals_removed: list[dict] = field(default_factory=list)
    approvals_changed: list[dict] = field(default_factory=list)  # same role, other reasons
    fired_only_in_base: list[str] = field(default_factory=list)
    fired_only_in_work: list[str] = field(default_factory=list)
    other: list[str] = field(default_factory=list)
    rules: list[str] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)   # side -> why it could not run

    def as_dict(self) -> dict:
        return {
            "case": self.case.label, "kind": self.case.kind, "source": self.case.source,
            "status": ({"base": self.status[0], "work": self.status[1]}
                       if self.status else None),
            "modules_added": self.modules_added, "modules_removed": self.modules_removed,
            "quantities": self.quantities, "line_totals": self.line_totals,
            "totals": self.totals,
            "approvals_added": self.approvals_added, "approvals_removed": self.approvals_removed,
            "approvals_changed": self.approvals_changed,
            "fired_only_in_base": self.fired_only_in_base,
            "fired_only_in_work": self.fired_only_in_work,
            "other": self.other, "rules": self.rules, "errors": self.errors,
        }


@dataclass
class ImpactReport:
    base_version: str
    work_version: str
    as_of: str
    currency: str
    cases: int
    affected: list[CaseImpact]
    skipped: list[dict]                      # {case, kind, source, errors}: ran in neither pack
    counts: dict[str, dict[str, int]]        # kind -> {"cases", "affected"}
    content_changes: dict[str, dict[str, list[str]]]

    @property
    def unchanged(self) -> int:
        return self.cases - len(self.affected) - len(self.skipped)

    def as_dict(self) -> dict:
        return {
            "base": {"version": self.base_version}, "work": {"version": self.work_version},
            "as_of": self.as_of, "currency": self.currency,
            "content_changes": self.content_changes,
            "summary": {"cases": self.cases, "affected": len(self.affected),
                        "unchanged": self.unchanged, "skipped": len(self.skipped),
                        "by_kind": self.counts},
            "affected": [item.as_dict() for item in self.affected],
            "skipped": self.skipped,
        }


# --- running --------------------------------------------------------------------------------

def impact(base_pack: ContentPack, work_pack: ContentPack, cases: Iterable[Case],
           on: str | None = None) -> ImpactReport:
    """Run every case through both packs (drafts included) and report those whose documents
    differ. `on` (yyyy-mm-dd, default today in UTC) is the day for cases without a date of their
    own. Raises ContentError / EngineError when a pack cannot be compiled."""
    day = on or dt.datetime.now(dt.timezone.utc).date().isoformat()
    cases = list(cases)
    changes = content_changes(base_pack, work_pack)
    changed_rules = {rule for kind in ("added", "removed", "edited")
                     for rule in changes["rules"][kind]}
    pipelines: dict[str, Pipeline] = {}
    try:
        pipelines["base"] = Pipeline(base_pack, include_drafts=True)
        pipelines["work"] = Pipeline(work_pack, include_drafts=True)
        affected, skipped = [], []
        counts = {kind: {"cases": 0, "affected": 0} for kind in ("test", "customer")}
        for case in cases:
            count = counts.setdefault(case.kind, {"cases": 0, "affected": 0})
            count["cases"] += 1
            docs: dict[str, ConfigurationDocument] = {}
            errors: dict[str, str] = {}
            for side in SIDES:
                try:
                    docs[side] = _configure(pipelines[side], case, day)
                except (ProfileInvalid, AdjustmentInvalid, EngineError) as exc:
                    errors[side] = _error_text(exc)
            if len(errors) == 2:
                skipped.append({"case": case.label, "kind": case.kind, "source": case.source,
                                "errors": errors})
                continue
            if errors:
                found = CaseImpact(case, errors=errors)
                side, doc = next(iter(docs.items()))
                found.status = ((doc["status"], "not computed") if side == "base"
                                else ("not computed", doc["status"]))
            else:
                found = compare_documents(case, docs["base"], docs["work"], changed_rules)
            if found is not None:
                affected.append(found)
                count["affected"] += 1
    finally:
        for pipeline in pipelines.values():
            pipeline.close()
    return ImpactReport(base_pack.version, work_pack.version, day, work_pack.catalog.currency,
                        len(cases), affected, skipped, counts, changes)


def _configure(pipeline: Pipeline, case: Case, day: str) -> ConfigurationDocument:
    pack = pipeline.pack
    profile = pack.profile.validate(case.profile)
    adjustments = parse_adjustments(list(case.adjustments), pack.catalog)
    return pipeline.configure(profile, adjustments, on=case.date or day)


def _error_text(exc: Exception) -> str:
    if isinstance(exc, ProfileInvalid):
        return "; ".join(f"profile.{k}: {' '.join(v)}" for k, v in exc.errors.items())
    if isinstance(exc, AdjustmentInvalid):
        return "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.errors.items())
    return str(exc)


# --- comparing two documents ----------------------------------------------------------------

def compare_documents(case: Case, base: ConfigurationDocument, work: ConfigurationDocument,
                      changed_rules: Set[str] = frozenset()) -> CaseImpact | None:
    """How `work` differs from `base` (the documents' one comparison, content/document_diff.py),
    with the rules responsible; None when they are the same (the content version aside)."""
    if _without_version(base) == _without_version(work):
        return None
    diff = diff_documents(base, work)
    out = CaseImpact(case)
    responsible: set[str] = set()

    def narrowed(candidates: set[str], evidence: set[str]) -> set[str]:
        """The candidates with evidence of a change, else all of them."""
        return (candidates & evidence) or candidates

    if diff.status[0] != diff.status[1]:
        out.status = diff.status

    # rules that fired in one run only, or fired in both with a different effect (derived)
    fired = {side: _fired(doc) for side, doc in (("base", base), ("work", work))}
    out.fired_only_in_base = sorted(set(fired["base"]) - set(fired["work"]))
    out.fired_only_in_work = sorted(set(fired["work"]) - set(fired["base"]))
    fired_changed = {rule for rule in set(fired["base"]) & set(fired["work"])
                     if fired["base"][rule] != fired["work"][rule]}
    responsible |= set(out.fired_only_in_base) | set(out.fired_only_in_work) | fired_changed
    evidence = responsible | set(changed_rules)

    # lines
    for line in sorted(diff.lines_added, key=_module):
        module = line["module"]
        rules = _reason_rules(line["reasons"])
        responsible |= rules
        out.modules_added.append({"module": module, "quantity": line["quantity"],
                                  "billing": line["billing"], "total": line["total"],
                                  "rules": sorted(rules)})
    for line in sorted(diff.lines_removed, key=_module):
        module = line["module"]
        rules = _reason_rules(line["reasons"])
        excluded_by = [e for e in work["exclusions"] if e["module"] == module]
        rules |= {r["rule"] for e in excluded_by for r in e["reasons"]}
        responsible |= rules
        out.modules_removed.append({"module": module, "quantity": line["quantity"],
                                    "billing": line["billing"], "total": line["total"],
                                    "rules": sorted(rules)})
    for change in sorted(diff.lines_changed, key=lambda change: change.module):
        module, a, b = change.module, change.old, change.new
        reason_rules = _reason_rules(a["reasons"]) | _reason_rules(b["reasons"])
        reasons_changed = _rules_of_items(_symmetric(a["reasons"], b["reasons"]))
        quantity_rules: set[str] = set()
        if a["quantity"] != b["quantity"]:
            quantity_rules = narrowed(reason_rules, reasons_changed | evidence)
            responsible |= quantity_rules
            out.quantities.append({"module": module, "base": a["quantity"],
                                   "work": b["quantity"], "rules": sorted(quantity_rules)})
        if a["total"] != b["total"]:
            discount_rules = {d["rule"] for d in a["discounts"] + b["discounts"]}
            rules = _rules_of_items(_symmetric(a["discounts"], b["discounts"])) | quantity_rules
            if not rules and a["unit_price"] == b["unit_price"]:
                rules = narrowed(discount_rules | reason_rules, evidence)
            responsible |= rules
            entry = {"module": module, "billing": b["billing"], "base": a["total"],
                     "work": b["total"], "change": change.delta,
                     "discount_percent": {"base": a["discount_percent"],
                                          "work": b["discount_percent"]},
                     "rules": sorted(rules)}
            if a["unit_price"] != b["unit_price"]:
                entry["unit_price"] = {"base": a["unit_price"], "work": b["unit_price"]}
            out.line_totals.append(entry)
        if a["quantity"] == b["quantity"] and a["total"] == b["total"]:
            out.other.append(f"line {module}: {', '.join(change.keys)}")
            responsible |= reasons_changed | _rules_of_items(
                _symmetric(a["discounts"], b["discounts"]))

    # totals
    for total in diff.totals:
        if total.old != total.new:
            out.totals[total.key] = {"base": total.old, "work": total.new, "change": total.delta}

    # approvals
    for approval in sorted(diff.approvals_added, key=_role):
        rules = _reason_rules(approval["reasons"])
        responsible |= rules
        out.approvals_added.append({"role": approval["role"], "rules": sorted(rules),
                                    "reasons": [r["text"] for r in approval["reasons"]]})
    for approval in sorted(diff.approvals_removed, key=_role):
        rules = _reason_rules(approval["reasons"])
        responsible |= rules
        out.approvals_removed.append({"role": approval["role"], "rules": sorted(rules),
                                      "reasons": [r["text"] for r in approval["reasons"]]})
    for old, new in sorted(diff.approvals_changed, key=lambda pair: pair[1]["role"]):
        rules = _rules_of_items(_symmetric(old["reasons"], new["reasons"]))
        responsible |= rules
        out.approvals_changed.append({"role": new["role"], "rules": sorted(rules),
                                      "base": [r["text"] for r in old["reasons"]],
                                      "work": [r["text"] for r in new["reasons"]]})

    # everything else the categories above do not name
    for key in OTHER_SECTIONS:
        a, b = base.get(key), work.get(key)
        if a == b:
            continue
        if isinstance(a, list) and isinstance(b, list):
            out.other.append(key)
            responsible |= _rules_of_items(_symmetric(a, b))
        elif isinstance(a, dict) and isinstance(b, dict):
            names = set(changed_keys(a, b))
            out.other.append(f"{key}: {', '.join(sorted(names))}")
            if key == "derived":     # the rules that derived those facts
                for side in ("base", "work"):
                    responsible |= {rule for rule, entry in fired[side].items()
                                    if names & set(entry.get("derived") or {})}
        else:
            out.other.append(key)

    out.rules = sorted(rule for rule in responsible
                       if rule != CATALOG_RULE and not rule.startswith("adjustment"))
    return out


def _without_version(doc: ConfigurationDocument) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if k != "content_version"}


def _module(line: Line) -> str:
    return line["module"]


def _role(approval: Approval) -> str:
    return approval["role"]


def _fired(doc: ConfigurationDocument) -> dict[str, dict[str, Any]]:
    """rule id -> what its firing recorded (each rule fires at most once per run)."""
    out: dict[str, dict[str, Any]] = {}
    for entry in doc["fired"]:
        out.setdefault(entry["rule"], {k: v for k, v in entry.items() if k != "adjustment"})
    return out


def _reason_rules(reasons: Sequence[Reason]) -> set[str]:
    return {r["rule"] for r in reasons}


def _canonical(item: Any) -> str:
    return json.dumps(item, sort_keys=True, default=str)


def _symmetric(a: Sequence[Any], b: Sequence[Any]) -> list[Any]:
    """Items in one list and not in the other."""
    left, right = {_canonical(x) for x in a}, {_canonical(x) for x in b}
    return [x for x in a if _canonical(x) not in right] + [x for x in b if _canonical(x) not in left]


def _rules_of_items(items: Iterable[Any]) -> set[str]:
    """Every `rule` named inside the items (reasons, discounts, notes, team members, ...)."""
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("rule"), str):
                found.add(node["rule"])
            for key, value in node.items():
                if key == "rules" and isinstance(value, dict):     # conflicts: module -> rules
                    for rules in value.values():
                        found.update(r for r in rules if isinstance(r, str))
                else:
                    walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(list(items))
    return found


# --- what changed in the content ------------------------------------------------------------

def content_changes(base: ContentPack, work: ContentPack) -> dict[str, dict[str, list[str]]]:
    """Rules and catalog modules added, removed or edited between the two packs (file and line
    moves do not count as edits)."""
    out = {}
    for name, a, b in (("rules", {r.id: r for r in base.rules}, {r.id: r for r in work.rules}),
                       ("modules", base.catalog.modules, work.catalog.modules)):
        out[name] = {
            "added": sorted(set(b) - set(a)),
            "removed": sorted(set(a) - set(b)),
            "edited": sorted(k for k in set(a) & set(b) if _shape(a[k]) != _shape(b[k])),
        }
    return out


_POSITION_FIELDS = ("file", "line", "order")


def _shape(value: Any) -> Any:
    """A comparable picture of a rule or module: expressions and texts by their source, no
    positions in files."""
    if isinstance(value, (Expression, Template)):
        return (type(value).__name__, value.source)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return (type(value).__name__,) + tuple(
            (f.name, _shape(getattr(value, f.name))) for f in dataclasses.fields(value)
            if f.name not in _POSITION_FIELDS)
    if isinstance(value, dict):
        return ("dict",) + tuple(sorted(((str(k), _shape(v)) for k, v in value.items()),
                                        key=lambda kv: kv[0]))
    if isinstance(value, (list, tuple)):
        return ("list",) + tuple(_shape(v) for v in value)
    if isinstance(value, Decimal):
        return ("number", str(value.normalize()))
    return value
