"""The staged pipeline: segment -> solution -> pricing -> delivery -> approval.

Each stage's rules are one durable-rules ruleset over one "world" fact. When a rule fires, its
actions are applied here in Python; when it derives a new fact value the world is re-asserted
so the stage's other rules see it (forward chaining). Each rule fires at most once per
configuration, which also guarantees that chaining ends.
"""
from __future__ import annotations

import contextlib
import copy
import dataclasses
import datetime as dt
import json
import math
import re
import threading
from decimal import Decimal
from typing import Any

from ..content.expressions import Expression, ExpressionError, MissingFact, lookup, to_quantity
from ..content.model import STAGES, Action, ContentPack, Rule, Template
from ..content.problems import ContentError, Problem
from ..pricing.money import number
from . import solution as sol
from .adjustments import MAX_QUANTITY, Adjustment
from .compile import FlagRegistry, NotCompilable, compile_condition, limit_problems
from .compile import tests_of as _tests
from .durable_adapter import DurableEngine

MAX_WORLD_PROPERTIES = 240
_shared_engine: DurableEngine | None = None


def shared_engine() -> DurableEngine:
    """One durable-rules host per process."""
    global _shared_engine
    if _shared_engine is None:
        _shared_engine = DurableEngine()
    return _shared_engine


def compile_pack(pack: ContentPack, include_drafts: bool = True
                 ) -> tuple[dict[str, dict[str, dict]], FlagRegistry, list[Problem]]:
    """Durable rule definitions per stage, and every problem durable-rules would have with them."""
    flags = FlagRegistry()
    stages: dict[str, dict[str, dict]] = {}
    problems: list[Problem] = []
    for stage in STAGES:
        rules = [r for r in pack.stage_rules(stage) if include_drafts or not r.draft]
        compiled: dict[str, dict] = {}
        for position, rule in enumerate(rules):
            try:
                expression = compile_condition(rule.when, flags)
            except NotCompilable as exc:
                problems.append(Problem(rule.file, exc.test.line or rule.line, str(exc),
                                        "rewrite the condition without `not` around it"))
                continue
            # durable runs lower `pri` first: the firing order becomes the priority
            compiled[rule.id] = {"all": [{"m": expression}], "pri": position}
        problems += limit_problems(stage, rules, {k: v["all"][0]["m"] for k, v in compiled.items()})
        stages[stage] = compiled
    count = _leaf_count(pack.profile.fields) + len(flags.flags) + 40
    if count > MAX_WORLD_PROPERTIES:
        problems.append(Problem("rules/profile.yaml", None, f"profiles have about {count} facts; the "
                                f"rules engine takes at most {MAX_WORLD_PROPERTIES} per profile",
                                "declare fewer fields, or group them into lists"))
    return stages, flags, problems


def _leaf_count(fields: dict) -> int:
    return sum(_leaf_count(f.fields) if f.fields and f.type == "object" else 1
               for f in fields.values())


class Pipeline:
    """A content pack compiled for the rules engine; `configure` runs one profile through it.

    Production pipelines leave out `draft: true` rules; the ones behind `test`, `explain` and
    `impact` take them in (include_drafts=True).
    """

    def __init__(self, pack: ContentPack, engine: DurableEngine | None = None,
                 include_drafts: bool = False):
        self.pack = pack
        self.engine = engine or shared_engine()
        self.include_drafts = include_drafts
        stages, self.flags, problems = compile_pack(pack, include_drafts)
        if problems:
            raise ContentError(problems)
        self.rules = {rule.id: rule for rule in pack.rules if include_drafts or not rule.draft}
        self.order = {module: i for i, module in enumerate(
            m for family in pack.catalog.families.values() for m in family.modules)}
        self.plans = {stage: StagePlan(stage, [self.rules[r] for r in compiled], compiled, self.flags)
                      for stage, compiled in stages.items()}
        # The world fact carries only the facts some condition compares: durable-rules
        # serialises it on every activation, so a smaller fact is a faster evaluation.
        self.compared = sorted({path for plan in self.plans.values()
                                for items in plan.paths.values() for path, _ in items})
        # the profile is the same in every stage: one projection of what any stage compares
        self.profile_paths = sorted({item for plan in self.plans.values()
                                     for item in plan.paths["profile"]})
        self._rulesets: dict[str, str] = {}
        self._users = 0                      # evaluations running on this pipeline
        self._users_lock = threading.Lock()
        self._closing = False
        try:
            for stage, compiled in stages.items():
                if compiled:
                    self._rulesets[stage] = self.engine.register(
                        f"{stage}-{pack.version}", compiled, self.plans[stage].rules)
        except Exception:
            self.close()
            raise

    def close(self) -> None:
        """Free the engine's rulesets, once no evaluation is using them any more."""
        with self._users_lock:
            self._closing = True
            if self._users:
                return          # the last evaluation to finish frees them
        self._free()

    def _free(self) -> None:
        for name in self._rulesets.values():
            self.engine.unregister(name)
        self._rulesets.clear()

    @contextlib.contextmanager
    def _in_use(self):
        with self._users_lock:
            if self._closing and not self._users and not self._rulesets:
                raise ContentError([Problem("rules/", None, "this content was replaced; "
                                            "configure again")])
            self._users += 1
        try:
            yield
        finally:
            with self._users_lock:
                self._users -= 1
                free = self._closing and not self._users
            if free:
                self._free()

    def configure(self, profile: dict, adjustments: list[Adjustment] = (),
                  on: str | None = None) -> dict:
        """The configuration document for a validated profile and parsed adjustments, made on
        day `on` (yyyy-mm-dd, default today in UTC), which decides the `effective` rules."""
        return self.run(profile, adjustments, on).document()

    def run(self, profile: dict, adjustments: list[Adjustment] = (),
            on: str | None = None) -> Evaluation:
        """The whole evaluation, with the facts each stage saw (for explanations)."""
        run = Evaluation(self, profile, list(adjustments),
                         on or dt.datetime.now(dt.timezone.utc).date().isoformat())
        with self._in_use():
            self._run(run)
        return run

    def _run(self, run: Evaluation) -> None:
        wants_world = getattr(self.engine, "wants_world", True)
        for stage in STAGES:
            run.stage = stage
            run.seen[stage] = {"profile": run.profile, "solution": run.solution_facts}
            if stage in self._rulesets:
                run.begin_stage(self.plans[stage], wants_world)
                self.engine.evaluate(self._rulesets[stage], run.world(), run.fire, run.facts)
            run.seen[stage]["derived"] = _copy(run.derived)
            run.end_stage()


class StagePlan:
    """What one stage's rules compare: the world fact of a stage carries only these derived and
    solution facts (and the profile facts any stage compares), so durable-rules reads less, and
    a derived fact no rule of the stage compares is no reason to assert the world again."""

    def __init__(self, stage: str, rules: list[Rule], compiled: dict[str, dict], flags: FlagRegistry):
        self.stage = stage
        self.rules = rules
        paths = sorted({t.path for rule in rules for t in _tests(rule.when) if t.op != "exists"})
        self.paths: dict[str, list[tuple[str, tuple[str, ...]]]] = {
            ns: [(p, tuple(p.split(".")[1:])) for p in paths if p.startswith(ns + ".")]
            for ns in ("profile", "derived", "solution")}
        by_flag = {flag: path for path, flag in flags.flags.items()}
        used = sorted(set(_FLAG.findall(_dumps([e["all"][0]["m"] for e in compiled.values()]))))
        self.flags: dict[str, list[tuple[str, str]]] = {ns: [] for ns in ("profile", "derived", "solution")}
        for flag in used:
            path = by_flag[flag]
            self.flags[path.split(".")[0]].append((path, flag))


_FLAG = re.compile(r'"has\.(f\d+)"')   # a "has a value" flag in a compiled expression


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
        self.fired: list[dict] = []
        self.fired_ids: set[str] = set()
        self.includes: list[sol.Request] = []
        self.excludes: list[sol.Request] = []
        self.recommends: list[sol.Request] = []
        self.changes: list[sol.PriceChange] = []
        self.approvals: list[tuple[str, sol.Reason]] = []
        self.service_level: dict[str, Any] = {}
        self.team: dict[str, dict] = {}
        self.notes: list[dict] = []
        self.warnings: list[sol.Reason] = []
        self.solution_facts = sol.empty_facts()
        self.solution: sol.Solution | None = None
        self._built: tuple | None = None     # what the solution was last built from
        self._plan: StagePlan | None = None
        self._world: str | None = None
        self._wants_world = True
        self._profile_json: str | None = None

    # --- facts ---------------------------------------------------------------------------
    def facts(self) -> dict:
        return {"profile": self.profile, "derived": self.derived, "solution": self.solution_facts}

    def begin_stage(self, plan: StagePlan, wants_world: bool = True) -> None:
        """Prepare the stage's world fact: its profile and solution parts are fixed for the
        stage, only the derived part changes as rules fire."""
        self._plan = plan
        self._wants_world = wants_world
        if not wants_world:
            self._world = None
            return
        facts = self.facts()
        if self._profile_json is None:
            self._profile_json = _dumps(_project(facts, self.pipeline.profile_paths))
        self._fixed = ('{"profile":' + self._profile_json +
                       ',"solution":' + _dumps(_project(facts, plan.paths["solution"])) + ',"derived":')
        self._fixed_has = {flag: int(_has_value(facts, path))
                           for ns in ("profile", "solution") for path, flag in plan.flags[ns]}
        self._world = self._make_world()

    def _make_world(self) -> str:
        """The world fact as JSON: {profile, solution, derived, has} with the stage's facts."""
        plan, facts = self._plan, self.facts()
        has = self._fixed_has
        if plan.flags["derived"]:
            has = dict(has)
            for path, flag in plan.flags["derived"]:
                has[flag] = int(_has_value(facts, path))
        return (self._fixed + _dumps(_project(facts, plan.paths["derived"])) + ',"has":' +
                _dumps(has) + "}")

    def world(self) -> str | None:
        """The current stage's world fact (JSON), for durable-rules."""
        return self._world

    # --- firing --------------------------------------------------------------------------
    def fire(self, rule_id: str) -> dict | None:
        """Apply a rule's actions; returns the new world when a derived fact changed."""
        if rule_id in self.fired_ids:
            return None
        self.fired_ids.add(rule_id)
        rule = self.pipeline.rules[rule_id]
        if not rule.effective_on(self.as_of):
            self.not_effective.append(rule_id)
            return None
        entry: dict[str, Any] = {"rule": rule.id, "ruleset": rule.ruleset, "stage": rule.stage}
        changed = False
        for action in rule.then:
            changed |= self._apply(rule, action, entry)
        self.fired.append(entry)
        if not changed:
            return None
        if not self._wants_world:
            return CHANGED
        world = self._make_world()
        if world == self._world:
            return None      # no fact this stage's rules compare has changed
        self._world = world
        return world

    def _apply(self, rule: Rule, action: Action, entry: dict) -> bool:
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
    def document(self) -> dict:
        solution = self.solution
        assert solution is not None
        approvals: dict[str, list[dict]] = {}
        for role, reason in self.approvals:
            reasons = approvals.setdefault(role, [])
            if reason.as_dict() not in reasons:
                reasons.append(reason.as_dict())
        if solution.conflicts:
            status = "conflict"
        elif approvals:
            status = "approval_required"
        else:
            status = "ok"
        totals = {key: number(value) for key, value in solution.totals.items()}
        totals["currency"] = self.catalog.currency
        warnings = [w.as_dict() for w in self.warnings + solution.warnings]
        return {
            "status": status,
            "content_version": self.pipeline.pack.version,
            "as_of": self.as_of,
            "derived": dict(self.derived),
            "lines": [sol.line_document(line, self.catalog) for line in solution.lines],
            "recommendations": solution.recommendations,
            "exclusions": solution.exclusions,
            "approvals": [{"role": role, "reasons": reasons} for role, reasons in approvals.items()],
            "service_level": dict(self.service_level),
            "team": list(self.team.values()),
            "notes": self.notes,
            "warnings": warnings,
            "conflicts": solution.conflicts,
            "totals": totals,
            "fired": self.fired,
        }


_UNSET = object()
CHANGED = "changed"      # fire()'s answer to an engine that does not read the world fact


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _project(facts: dict, paths: list[tuple[str, tuple[str, ...]]]) -> dict:
    """The compared facts, nested as in the facts, cleaned for durable-rules."""
    out: dict = {}
    for path, parts in paths:
        try:
            value = lookup(facts, path)
        except MissingFact:
            continue
        if not _has_content(value):   # "" and [] have no value, as in the reference
            continue
        node = out
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = _clean(value)
    return out


def _copy(value: Any) -> Any:
    """A deep copy of plain data (what derived facts hold), faster than copy.deepcopy."""
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return copy.deepcopy(value)


def _has_value(facts: dict, path: str) -> bool:
    try:
        value = lookup(facts, path)
    except MissingFact:
        return False
    return not (isinstance(value, (list, dict, str)) and len(value) == 0)


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


def _clean(value: Any) -> Any:
    """Values as durable-rules can take them: no Decimal, no exponent floats, no NUL."""
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_clean(v) for v in value if v is not None]
    if isinstance(value, Decimal):
        value = float(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return 0
        if value.is_integer() and abs(value) < 1e15:
            return int(value)
        return 0.0 if abs(value) < 1e-4 else round(value, 6)
    if isinstance(value, str):
        return value.replace("\x00", "")
    return value


def _has_content(value: Any) -> bool:
    return value is not None and value != "" and value != []
