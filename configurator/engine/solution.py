"""Assemble the solution from what rules and adjustments asked for: lines (with catalog
requires), exclusions, conflicts, recommendations, discounts and totals.

Pure Python over plain records; the pipeline calls it at the end of every stage so that later
stages see `solution.*` as it stood.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from ..content.document import (BILLINGS, Amount, Conflict, ConflictKind, Exclusion, LineDiscount,
                                PriceChangeKind, Recommendation, TotalKey)
from ..content.document import Line as LineDocument
from ..content.document import Reason as ReasonDocument
from ..content.facts import SOLUTION_FACTS
from ..content.model import Catalog
from ..money import HUNDRED, ZERO, cents, first_year_factor, line_total, number

CATALOG_RULE = "catalog"


@dataclass
class Reason:
    rule: str
    text: str

    def as_dict(self) -> ReasonDocument:
        return {"rule": self.rule, "text": self.text}


@dataclass
class Request:
    """One rule's (or adjustment's) wish about a module: include, exclude or recommend."""
    module: str
    reason: Reason
    quantity: int = 1
    exact: bool = False      # an adjusted quantity replaces the rules' largest quantity


@dataclass
class PriceChange:
    kind: PriceChangeKind
    applies_to: str          # module id, family:F or total
    reason: Reason
    percent: Decimal | None = None
    amount: Decimal | None = None


@dataclass
class Line:
    module: str
    quantity: int
    reasons: list[Reason]
    changes: list[LineDiscount] = field(default_factory=list)
    discount_percent: Decimal = ZERO
    total: Decimal = ZERO
    list_total: Decimal = ZERO


@dataclass
class Solution:
    lines: list[Line]
    exclusions: list[Exclusion]
    recommendations: list[Recommendation]
    conflicts: list[Conflict]
    totals: dict[TotalKey, Decimal]
    facts: dict[str, Any]      # name -> value of each of content.facts.SOLUTION_FACTS
    warnings: list[Reason]


def empty_facts() -> dict[str, Any]:
    """The solution facts before the first stage has built a solution."""
    return {name: fact.empty() for name, fact in SOLUTION_FACTS.items()}


def build(catalog: Catalog, order: dict[str, int], includes: list[Request],
          excludes: list[Request], recommends: list[Request], changes: list[PriceChange],
          approvals: list[str]) -> Solution:
    wanted: dict[str, Line] = {}
    exact: dict[str, int] = {}
    for req in includes:
        line = wanted.get(req.module)
        if line is None:
            line = wanted[req.module] = Line(req.module, req.quantity, [])
        elif not req.exact:
            line.quantity = max(line.quantity, req.quantity)
        if req.exact:
            exact[req.module] = req.quantity
        if req.reason not in line.reasons:
            line.reasons.append(req.reason)
    for module, quantity in exact.items():
        wanted[module].quantity = quantity

    excluded: dict[str, dict] = {}
    for req in excludes:
        entry = excluded.setdefault(req.module, {"module": req.module, "reasons": [], "overrides": []})
        if req.reason not in entry["reasons"]:
            entry["reasons"].append(req.reason)
    lines: dict[str, Line] = {}
    for module, line in wanted.items():
        if module in excluded:
            excluded[module]["overrides"].extend(line.reasons)
        elif line.quantity > 0:
            lines[module] = line

    # catalog `requires` pull modules in; requiring an excluded module is a conflict
    conflicts: list[Conflict] = []
    queue = list(lines)
    while queue:
        module = queue.pop(0)
        for needed in catalog.modules[module].requires:
            if needed in excluded:
                conflicts.append(_conflict("requires_excluded", module, needed, lines, excluded, catalog))
            elif needed not in lines:
                name = catalog.modules[module].name
                lines[needed] = Line(needed, 1, [Reason(CATALOG_RULE, f"Required by {name}")])
                queue.append(needed)
    ordered = sorted(lines.values(), key=lambda line: order[line.module])
    ids = [line.module for line in ordered]
    involved = _exclusive(catalog)
    pairs = [m for m in ids if m in involved]     # only these can exclude each other
    for i, a in enumerate(pairs):
        for b in pairs[i + 1:]:
            if b in catalog.modules[a].excludes or a in catalog.modules[b].excludes:
                conflicts.append(_conflict("excludes", a, b, lines, excluded, catalog))

    recommendations: dict[str, dict] = {}
    for req in recommends:
        if req.module in lines or req.module in excluded:
            continue   # already a line, or ruled out
        entry = recommendations.setdefault(req.module, {"module": req.module, "reasons": []})
        if req.reason not in entry["reasons"]:
            entry["reasons"].append(req.reason)

    warnings = _price(ordered, catalog, changes)
    totals = _totals(ordered, catalog)
    max_discount = max((line.discount_percent for line in ordered), default=ZERO)
    computed = {
        "modules": ids,
        "families": sorted({catalog.modules[m].family for m in ids}),
        "excluded": sorted(excluded),
        "recommended": sorted(recommendations),
        "quantities": {line.module: line.quantity for line in ordered},
        "line_count": len(ordered),
        "max_discount": max_discount,
        "approvals": sorted(set(approvals)),
    }
    facts = {name: totals[fact.total] if fact.total else computed[name]
             for name, fact in SOLUTION_FACTS.items()}
    return Solution(ordered, [_exclusion(e, catalog) for e in excluded.values()],
                    [_recommendation(r, catalog) for r in
                     sorted(recommendations.values(), key=lambda r: order[r["module"]])],
                    conflicts, totals, facts, warnings)


_EXCLUSIVE: dict[int, tuple[Catalog, frozenset]] = {}


def _exclusive(catalog: Catalog) -> frozenset:
    """The modules that take part in some catalog `excludes` (either side), per catalog."""
    known = _EXCLUSIVE.get(id(catalog))
    if known is not None and known[0] is catalog:
        return known[1]
    involved = frozenset(m for module in catalog.modules.values() if module.excludes
                         for m in (module.id, *module.excludes))
    if len(_EXCLUSIVE) > 16:
        _EXCLUSIVE.clear()
    _EXCLUSIVE[id(catalog)] = (catalog, involved)
    return involved


def _rules_of(module: str, lines: dict[str, Line], excluded: dict[str, dict]) -> list[str]:
    reasons = lines[module].reasons if module in lines else excluded[module]["reasons"]
    return list(dict.fromkeys(r.rule for r in reasons))


def _conflict(kind: ConflictKind, a: str, b: str, lines: dict, excluded: dict,
              catalog: Catalog) -> Conflict:
    name_a, name_b = catalog.modules[a].name, catalog.modules[b].name
    if kind == "excludes":
        message = (f"{name_a} ({a}) and {name_b} ({b}) cannot be in the same solution: the "
                   "catalog says one excludes the other. Remove one of them, or change the rules "
                   "that include them.")
    else:
        message = (f"{name_a} ({a}) requires {name_b} ({b}), which is excluded. Remove "
                   f"{name_a}, or change the rule that excludes {name_b}.")
    return {"kind": kind, "modules": [a, b], "message": message,
            "rules": {a: _rules_of(a, lines, excluded), b: _rules_of(b, lines, excluded)}}


def _exclusion(entry: dict, catalog: Catalog) -> Exclusion:
    module = catalog.modules[entry["module"]]
    return {"module": module.id, "name": module.name, "family": module.family,
            "reasons": [r.as_dict() for r in entry["reasons"]],
            "overrides": [r.as_dict() for r in entry["overrides"]]}


def _recommendation(entry: dict, catalog: Catalog) -> Recommendation:
    module = catalog.modules[entry["module"]]
    return {"module": module.id, "name": module.name, "family": module.family,
            "kind": module.kind, "unit_price": number(module.price.amount),
            "billing": module.price.billing, "reasons": [r.as_dict() for r in entry["reasons"]]}


def _targets(applies_to: str, lines: list[Line], catalog: Catalog) -> list[Line]:
    if applies_to == "total":
        return lines
    if applies_to.startswith("family:"):
        family = applies_to[7:]
        return [line for line in lines if catalog.modules[line.module].family == family]
    return [line for line in lines if line.module == applies_to]


def _price(lines: list[Line], catalog: Catalog, changes: list[PriceChange]) -> list[Reason]:
    """Set each line's discount percent and total; amounts become the equivalent percent."""
    warnings = []
    percents: dict[str, Decimal] = {line.module: ZERO for line in lines}
    for change in changes:
        targets = _targets(change.applies_to, lines, catalog)
        if not targets:
            continue
        sign = 1 if change.kind == "discount" else -1
        if change.percent is not None:
            percent = change.percent
        else:
            base = sum((_first_year_list(line, catalog) for line in targets), ZERO)
            if base == 0:
                warnings.append(Reason(change.reason.rule, f"{change.kind} of {change.amount} on "
                                       f"{change.applies_to} skipped: those lines cost nothing"))
                continue
            percent = change.amount / base * HUNDRED
        for line in targets:
            percents[line.module] += sign * percent
            line.changes.append({"rule": change.reason.rule, "kind": change.kind,
                                 "percent": number(percent), "text": change.reason.text})
    for line in lines:
        line.discount_percent = min(percents[line.module], HUNDRED)
        price = catalog.modules[line.module].price.amount
        line.list_total = cents(line_total(line.quantity, price, ZERO))
        line.total = cents(line_total(line.quantity, price, line.discount_percent))
    return warnings


def _first_year_list(line: Line, catalog: Catalog) -> Decimal:
    price = catalog.modules[line.module].price
    return line.quantity * price.amount * first_year_factor(price.billing)


def _totals(lines: list[Line], catalog: Catalog) -> dict[TotalKey, Decimal]:
    sums: dict[TotalKey, Decimal] = {billing: ZERO for billing in BILLINGS}
    for line in lines:
        sums[catalog.modules[line.module].price.billing] += line.total
    annual = 12 * sums["monthly"] + sums["yearly"]
    return {**sums, "annual_recurring": annual, "first_year": sums["one_time"] + annual}


def line_document(line: Line, catalog: Catalog) -> LineDocument:
    module, unit_price = _module_facts(catalog)[line.module]
    return {
        "module": module.id, "name": module.name, "family": module.family, "kind": module.kind,
        "quantity": line.quantity, "per": module.price.per,
        "unit_price": unit_price, "billing": module.price.billing,
        "discount_percent": ZERO_NUMBER if line.discount_percent == ZERO else number(line.discount_percent),
        "list_total": _rounded(line.list_total), "total": _rounded(line.total),
        "reasons": [{"rule": r.rule, "text": r.text} for r in line.reasons],
        "discounts": line.changes,
    }


ZERO_NUMBER = number(ZERO)
_MODULE_FACTS: dict[int, tuple[Catalog, dict]] = {}


def _module_facts(catalog: Catalog) -> dict:
    """module id -> (module, its unit price as a reported number), per catalog."""
    known = _MODULE_FACTS.get(id(catalog))
    if known is not None and known[0] is catalog:
        return known[1]
    facts = {m.id: (m, number(m.price.amount)) for m in catalog.modules.values()}
    if len(_MODULE_FACTS) > 16:
        _MODULE_FACTS.clear()
    _MODULE_FACTS[id(catalog)] = (catalog, facts)
    return facts


def _rounded(amount: Decimal) -> Amount:
    """`number` for an amount already rounded to cents (line totals): the same value."""
    return int(amount) if amount == amount.to_integral_value() else float(amount)
