"""One profile's way through the pipeline (Evaluation): the facts and the world fact each stage
gives the engine, what firing a rule does (its actions), what happens at a stage's end (the
solution lead's adjustments, the solution built again), and the configuration document."""
from __future__ import annotations

import copy
import dataclasses
import math
from decimal import Decimal
from typing import TYPE_CHECKING, Any, cast

from ..content.adjustments import MAX_QUANTITY, Adjustment
from ..content.document import (Approval, ConfigurationDocument, FiredEntry, Note, Reason,
                                TeamMember, Totals, status_of)
from ..content.expressions import Expression, ExpressionError, MissingFact, lookup, to_quantity
from ..content.model import STAGES, Action, Rule, Template
from ..money import number
from . import solution as sol
from .stages import StagePlan
from .world import durable_value, has_value, to_json

if TYPE_CHECKING:
    from .pipeline import Pipeline

_UNSET = object()
CHANGED = "changed"      # fire()'s answer to an engine that does not read the world fact


class Evaluation:
    """One profile's way through the pipeline: what fired and everything the actions asked for."""

    def __init__(self, pipeline: Pipeline, profile: dict, adjustments: list[Adjustment],
                 as_of: str):
        self.pipeline = pipeline
        self.as_of = as_of
        self.not_effective: list[str] = []
        self.seen: dict[str, dict] = {}   # stage -> the facts its rules saw (derived: at its end)
        self.catalog = pipeline.pack.catalog
        self.profile = profile
        self.adjustments = adjustments
        self.stage = STAGES[0]
        self.derived: dict[str, Any] = {}
        self.fired: list[FiredEntry] = []
        self.fired_ids: set[str] = set()
        self.includes: list[sol.Request] = []
        self.excludes: list[sol.Request] = []
        self.recommends: list[sol.Request] = []
        self.changes: list[sol.PriceChange] = []
        self.approvals: list[tuple[str, sol.Reason]] = []
        self.service_level: dict[str, Any] = {}
        self.team: dict[str, TeamMember] = {}
        self.notes: list[Note] = []
        self.warnings: list[sol.Reason] = []
        self.solution_facts = sol.empty_facts()
        self._facts = {"profile": self.profile, "derived": self.derived,
                       "solution": self.solution_facts}
        self.solution: sol.Solution | None = None
        self._built: tuple | None = None     # what the solution was last built from
        self._plan: StagePlan | None = None
        self._world: str | None = None
        self._wants_world = True
        self._partitioned = False
        self._profile_json: str | None = None
        self._worlds: dict[int, tuple[str, dict]] = {}   # id(plan) -> its fixed parts, this stage
        self._profile_values: dict[str, Any] = {}          # path -> value, as durable gets it
        self._derived_values: dict[str, Any] = {}          # ... derived facts, until one changes

    # --- facts ---------------------------------------------------------------------------
    def facts(self) -> dict:
        """{profile, derived, solution} as they are now (one dict, kept up to date)."""
        facts = self._facts
        if facts["solution"] is not self.solution_facts:
            facts["solution"] = self.solution_facts
        return facts

    def begin_stage(self, plan: StagePlan, wants_world: bool = True,
                    partitioned: bool = False) -> None:
        """Prepare the stage's world fact: its profile and solution parts are fixed for the
        stage, only the derived part changes as rules fire. A split stage (`partitioned`) has a
        world per part, made by `world_for`."""
        self._plan = plan
        self._wants_world = wants_world
        self._partitioned = partitioned
        self._worlds = {}
        self._world = self.world_for(plan) if wants_world and not partitioned else None

    def world_for(self, plan: StagePlan) -> str:
        """The world fact as JSON, {profile, solution, derived, has}, with the facts `plan`'s
        rules compare, as they are now."""
        fixed = self._worlds.get(id(plan))
        if fixed is None:      # the profile and solution facts stay the same during the stage
            if plan.own_profile:
                profile = plan.shapes["profile"].json_of(self.value)
            else:
                if self._profile_json is None:
                    self._profile_json = self.pipeline.profile_shape.json_of(self.value)
                profile = self._profile_json
            solution = plan.shapes["solution"].json_of(self.value)
            fixed = self._worlds[id(plan)] = (
                '{"profile":' + profile + ',"solution":' + solution + ',"derived":',
                {flag: int(self.value(path) is not None)
                 for ns in ("profile", "solution") for path, flag in plan.flags[ns]})
        head, has = fixed
        if plan.flags["derived"]:
            has = dict(has)
            for path, flag in plan.flags["derived"]:
                has[flag] = int(self.value(path) is not None)
        return head + plan.shapes["derived"].json_of(self.value) + ',"has":' + to_json(has) + "}"

    def value(self, path: str) -> Any:
        """A fact's value as durable-rules is given it (cleaned), or None when it has none
        ("" and [] have none, as in the reference)."""
        if path.startswith("profile."):
            cache = self._profile_values
        elif path.startswith("derived."):
            cache = self._derived_values
        else:
            cache = None
        if cache is not None and path in cache:
            return cache[path]
        ns, _, name = path.partition(".")
        if "." not in name and ns != "profile":      # derived.x, solution.x: no walk needed
            value = (self.derived if ns == "derived" else self.solution_facts).get(name)
        else:
            try:
                value = lookup(self.facts(), path)
            except MissingFact:
                value = None
        value = durable_value(value) if has_value(value) else None
        if cache is not None:
            cache[path] = value
        return value

    def world(self) -> str | None:
        """The current stage's world fact (JSON), for durable-rules."""
        return self._world

    # --- firing --------------------------------------------------------------------------
    def fire(self, rule_id: str) -> str | None:
        """Apply a rule's actions. None when the engine need not look at the facts again;
        otherwise the new world fact (JSON), or CHANGED when the engine reads no world fact or
        makes a split stage's worlds itself (`world_for`)."""
        if rule_id in self.fired_ids:
            return None
        self.fired_ids.add(rule_id)
        rule = self.pipeline.rules[rule_id]
        if not rule.effective_on(self.as_of):
            self.not_effective.append(rule_id)
            return None
        entry: FiredEntry = {"rule": rule.id, "ruleset": rule.ruleset, "stage": rule.stage}
        changed = False
        for action in rule.then:
            changed |= self._apply(rule, action, entry)
        self.fired.append(entry)
        if not changed:
            return None
        if not self._wants_world:
            return CHANGED
        if self._partitioned:      # each part's world is made again, and compared, by the engine
            plan = self._plan
            return CHANGED if plan.paths["derived"] or plan.flags["derived"] else None
        world = self.world_for(self._plan)
        if world == self._world:
            return None      # no fact this stage's rules compare has changed
        self._world = world
        return world

    def _apply(self, rule: Rule, action: Action, entry: FiredEntry) -> bool:
        p, kind = action.params, action.kind
        facts = self.facts()
        if kind == "derive":
            changed = False
            for name, value in p["values"].items():
                if isinstance(value, Expression):
                    value = self._number(value, rule, f"derived.{name}")
                    if value is None:
                        continue
                value = _copy(value)   # documents never share objects with the rules
                entry.setdefault("derived", {})[name] = value
                if self.derived.get(name, _UNSET) != value:
                    self.derived[name] = value
                    changed = True
            if changed:
                self._derived_values.clear()
            return changed
        reason = sol.Reason(rule.id, self._text(p.get("reason"), rule, facts))
        if kind == "include":
            quantity = self._quantity(p["quantity"], rule, p["module"])
            self.includes.append(sol.Request(p["module"], reason, quantity))
        elif kind == "exclude":
            self.excludes.append(sol.Request(p["module"], reason))
        elif kind == "recommend":
            self.recommends.append(sol.Request(p["module"], reason))
        elif kind in ("discount", "surcharge"):
            key = "percent" if "percent" in p else "amount"
            value = self._number(p[key], rule, f"{kind} {key}")
            if value is not None:
                self.changes.append(sol.PriceChange(kind, p["applies_to"], reason,
                                                    **{key: Decimal(str(value))}))
        elif kind == "require_approval":
            self.approvals.append((p["role"], reason))
        elif kind == "service_level":
            self.service_level.update(_copy(p["values"]))
        elif kind == "team":
            member = _copy(p["member"])
            role = member["role"]
            self.team[role] = {**self.team.get(role, {}), **member, "rule": rule.id}
        elif kind == "note":
            self.notes.append({"section": p["section"], "text": self._text(p["text"], rule, facts),
                               "rule": rule.id})
        elif kind == "warn":
            self.warnings.append(sol.Reason(rule.id, self._text(p["text"], rule, facts)))
        return False

    def _number(self, expr: Expression, rule: Rule, what: str) -> int | float | None:
        try:
            value = expr.evaluate(self.facts())
        except (MissingFact, ExpressionError) as exc:
            self.warnings.append(sol.Reason(rule.id, f"{what} not computed: {exc}"))
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or \
                (isinstance(value, float) and not math.isfinite(value)):
            self.warnings.append(sol.Reason(rule.id, f"{what} gave {value!r}, not a number"))
            return None
        return int(value) if float(value).is_integer() and abs(value) < 1e15 else value

    def _quantity(self, expr: Expression, rule: Rule, module: str) -> int:
        value = self._number(expr, rule, f"quantity of {module}")
        if value is None:
            return 1
        try:
            quantity = to_quantity(value, expr.source)
        except ExpressionError as exc:
            self.warnings.append(sol.Reason(rule.id, str(exc)))
            return 1
        if quantity > MAX_QUANTITY:
            self.warnings.append(sol.Reason(rule.id, f"quantity of {module} capped at {MAX_QUANTITY}"))
            return MAX_QUANTITY
        return quantity

    def _text(self, template: Template | None, rule: Rule, facts: dict) -> str:
        if template is None or not template.parts:
            return rule.description or rule.id
        out = []
        for part in template.parts:
            if isinstance(part, Expression):
                try:
                    out.append(_format(part.evaluate(facts)))
                except (MissingFact, ExpressionError, TypeError):
                    out.append("(unknown)")
            else:
                out.append(part)
        return "".join(out)

    # --- stage ends ----------------------------------------------------------------------
    def end_stage(self) -> None:
        if self.stage == "solution":
            self._apply_module_adjustments()
        if self.stage == "pricing":
            self._apply_discount_adjustments()
        inputs = (len(self.includes), len(self.excludes), len(self.recommends), len(self.changes))
        roles = sorted({role for role, _ in self.approvals})
        if self.solution is not None and inputs == self._built:
            if roles != self.solution.facts["approvals"]:   # only approvals changed
                facts = dict(self.solution.facts, approvals=roles)
                self.solution = dataclasses.replace(self.solution, facts=facts)
        else:   # the requests only ever grow, so equal lengths mean nothing changed
            self.solution = sol.build(self.catalog, self.pipeline.order, self.includes,
                                      self.excludes, self.recommends, self.changes,
                                      [role for role, _ in self.approvals])
            self._built = inputs
        self.solution_facts = self.solution.facts

    def _adjustment_reason(self, adj: Adjustment, default: str) -> sol.Reason:
        text = default + (f": {adj.reason}" if adj.reason else "")
        return sol.Reason(adj.rule, text)

    def _apply_module_adjustments(self) -> None:
        for adj in self.adjustments:
            if adj.action == "accept":
                self.includes.append(sol.Request(adj.module, self._adjustment_reason(
                    adj, "Recommendation accepted by the solution lead")))
            elif adj.action == "add":
                self.includes.append(sol.Request(adj.module, self._adjustment_reason(
                    adj, "Added by the solution lead"), adj.quantity or 1,
                    exact=adj.quantity is not None))
            elif adj.action == "remove":
                self.excludes.append(sol.Request(adj.module, self._adjustment_reason(
                    adj, "Removed by the solution lead")))
            elif adj.action == "quantity":
                self.includes.append(sol.Request(adj.module, self._adjustment_reason(
                    adj, f"Quantity set to {adj.quantity} by the solution lead"), adj.quantity,
                    exact=True))
            else:
                continue
            self.fired.append({"rule": adj.rule, "ruleset": "adjustments", "stage": "solution",
                               "adjustment": adj.as_dict()})

    def _apply_discount_adjustments(self) -> None:
        for adj in self.adjustments:
            if adj.action == "discount":
                self.changes.append(sol.PriceChange("discount", adj.applies_to or "total",
                                                    self._adjustment_reason(
                                                        adj, "Discount granted by the solution lead"),
                                                    percent=adj.percent))
                self.fired.append({"rule": adj.rule, "ruleset": "adjustments", "stage": "pricing",
                                   "adjustment": adj.as_dict()})

    # --- the document --------------------------------------------------------------------
    def document(self) -> ConfigurationDocument:
        """The configuration document, as content/document.py types it."""
        solution = self.solution
        assert solution is not None
        by_role: dict[str, list[Reason]] = {}
        for role, reason in self.approvals:
            reasons = by_role.setdefault(role, [])
            if reason.as_dict() not in reasons:
                reasons.append(reason.as_dict())
        approvals: list[Approval] = [{"role": role, "reasons": reasons}
                                     for role, reasons in by_role.items()]
        totals = cast(Totals, {**{key: number(value) for key, value in solution.totals.items()},
                               "currency": self.catalog.currency})
        warnings = [w.as_dict() for w in self.warnings + solution.warnings]
        return {
            "status": status_of(solution.conflicts, approvals),
            "content_version": self.pipeline.pack.version,
            "as_of": self.as_of,
            "derived": dict(self.derived),
            "lines": [sol.line_document(line, self.catalog) for line in solution.lines],
            "recommendations": solution.recommendations,
            "exclusions": solution.exclusions,
            "approvals": approvals,
            "service_level": dict(self.service_level),
            "team": list(self.team.values()),
            "notes": self.notes,
            "warnings": warnings,
            "conflicts": solution.conflicts,
            "totals": totals,
            "fired": self.fired,
        }


def _copy(value: Any) -> Any:
    """A deep copy of plain data (what derived facts hold), faster than copy.deepcopy."""
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return copy.deepcopy(value)


def _format(value: Any) -> str:
    """A fact in a text: 12, 2026, 24,720, 1,234.5 (separators from 10,000 up), yes/no."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Decimal):
        value = float(value)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int):
        return f"{value:,}" if abs(value) >= 10_000 else str(value)
    if isinstance(value, float):
        text = f"{value:,.2f}" if abs(value) >= 10_000 else f"{value:.2f}"
        return text.rstrip("0").rstrip(".")
    if isinstance(value, list):
        return ", ".join(_format(v) for v in value)
    return str(value)
