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
import functools
import itertools
import json
import math
import threading
from decimal import Decimal
from typing import Any, Callable

from ..content.expressions import Expression, ExpressionError, MissingFact, lookup, to_quantity
from ..content.model import STAGES, Action, ContentPack, Rule, Template
from ..content.problems import ContentError, Problem
from ..gcpause import gc_paused
from ..money import number
from . import solution as sol
from ..content.adjustments import MAX_QUANTITY, Adjustment
from .compile import FlagRegistry, NotCompilable, _comparisons, compile_condition, limit_problems
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
    with gc_paused():
        return _compile_pack(pack, include_drafts)


def _compile_pack(pack: ContentPack, include_drafts: bool
                  ) -> tuple[dict[str, dict[str, dict]], FlagRegistry, list[Problem]]:
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
        problems += limit_problems(stage, rules, {k: v["all"][0]["m"] for k, v in compiled.items()},
                                   flags)
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
    `impact` take them in (include_drafts=True). A stage of `split_from` rules or more
    (default PARTITION_MIN_RULES; 0: never) is split into several rulesets (see Partitions).
    """

    def __init__(self, pack: ContentPack, engine: DurableEngine | None = None,
                 include_drafts: bool = False, split_from: int | None = None):
        with gc_paused():
            self._build(pack, engine, include_drafts, split_from)

    def _build(self, pack: ContentPack, engine: DurableEngine | None, include_drafts: bool,
               split_from: int | None) -> None:
        self.pack = pack
        self.engine = engine or shared_engine()
        self.include_drafts = include_drafts
        stages, self.flags, problems = compile_pack(pack, include_drafts)
        if problems:
            raise ContentError(problems)
        self.rules = {rule.id: rule for rule in pack.rules if include_drafts or not rule.draft}
        self.order = {module: i for i, module in enumerate(
            m for family in pack.catalog.families.values() for m in family.modules)}
        attributes = {stage: attributes_of(compiled) for stage, compiled in stages.items()}
        self.plans = {stage: StagePlan(stage, [self.rules[r] for r in compiled], compiled, self.flags,
                                       attributes=attributes[stage])
                      for stage, compiled in stages.items()}
        # The world fact carries only the facts some condition compares: durable-rules
        # serialises it on every activation, so a smaller fact is a faster evaluation.
        self.compared = sorted({path for plan in self.plans.values()
                                for items in plan.paths.values() for path, _ in items})
        # the profile is the same in every stage: one projection of what any stage compares
        self.profile_paths = sorted({item for plan in self.plans.values()
                                     for item in plan.paths["profile"]})
        self.profile_shape = _Shape([path for path, _ in self.profile_paths])
        self._rulesets: dict[str, str] = {}
        self._partitions: dict[str, Partitions] = {}
        self._registered: list[str] = []     # every ruleset this pipeline made, to free them
        self._users = 0                      # evaluations running on this pipeline
        self._users_lock = threading.Lock()
        self._closing = False
        try:
            for stage, compiled in stages.items():
                if not compiled:
                    continue
                split = None
                if split_from is None:
                    split_from = PARTITION_MIN_RULES
                if hasattr(self.engine, "evaluate_merged") and split_from and \
                        len(compiled) >= split_from:
                    split = Partitions.plan(stage, self.plans[stage].rules, compiled, self.flags,
                                            attributes[stage])
                if split is None:
                    self._rulesets[stage] = self._register(
                        f"{stage}-{pack.version}", compiled, self.plans[stage].rules)
                    continue
                for i, part in enumerate(split.parts):
                    part.ruleset = self._register(f"{stage}-{pack.version}-{i}", part.compiled,
                                                  part.plan.rules)
                self._partitions[stage] = split
        except Exception:
            self.close()
            raise

    def _register(self, name: str, compiled: dict[str, dict], rules: Any = ()) -> str:
        ruleset = self.engine.register(name, compiled, rules)
        self._registered.append(ruleset)
        return ruleset

    def close(self) -> None:
        """Free the engine's rulesets, once no evaluation is using them any more."""
        with self._users_lock:
            self._closing = True
            if self._users:
                return          # the last evaluation to finish frees them
        self._free()

    def _free(self) -> None:
        for name in self._registered:
            self.engine.unregister(name)
        self._registered.clear()
        self._rulesets.clear()
        self._partitions.clear()

    @contextlib.contextmanager
    def _in_use(self):
        with self._users_lock:
            if self._closing and not self._users and not self._registered:
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
            elif stage in self._partitions:
                split = self._partitions[stage]
                run.begin_stage(self.plans[stage], partitioned=True)
                parts = split.chosen(run.value)
                if parts:
                    self.engine.evaluate_merged(
                        [(part.ruleset, functools.partial(run.world_for, part.plan)) for part in parts],
                        run.fire, split.order)
            run.seen[stage]["derived"] = dict(run.derived)   # values are private copies (derive)
            run.end_stage()


class StagePlan:
    """What one stage's rules compare: the world fact of a stage carries only these derived and
    solution facts (and the profile facts any stage compares), so durable-rules reads less, and
    a derived fact no rule of the stage compares is no reason to assert the world again."""

    def __init__(self, stage: str, rules: list[Rule], compiled: dict[str, dict], flags: FlagRegistry,
                 own_profile: bool = False, attributes: dict[str, frozenset] | None = None):
        self.stage = stage
        self.rules = rules
        # own_profile: the world carries only the profile facts these rules compare (a part of a
        # split stage); otherwise those any stage compares, serialised once per configuration
        self.own_profile = own_profile
        if attributes is None:
            attributes = attributes_of(compiled)
        compared = set().union(*(attributes[rule_id] for rule_id in compiled))
        paths = sorted(a for a in compared if a != "t" and not a.startswith("has."))
        self.paths: dict[str, list[tuple[str, tuple[str, ...]]]] = {
            ns: [(p, tuple(p.split(".")[1:])) for p in paths if p.startswith(ns + ".")]
            for ns in ("profile", "derived", "solution")}
        self.shapes = {ns: _Shape([p for p, _ in items]) for ns, items in self.paths.items()}
        by_flag = {flag: path for path, flag in flags.flags.items()}
        used = sorted(a[4:] for a in compared if a.startswith("has."))
        self.flags: dict[str, list[tuple[str, str]]] = {ns: [] for ns in ("profile", "derived", "solution")}
        for flag in used:
            path = by_flag[flag]
            self.flags[path.split(".")[0]].append((path, flag))
        # what a change of the derived facts can change in this plan's world fact
        self.derived_paths = tuple(sorted({p for p, _ in self.paths["derived"]} |
                                          {p for p, _ in self.flags["derived"]}))


def attributes_of(compiled: dict[str, dict]) -> dict[str, frozenset]:
    """The facts (and "has" flags) each compiled rule compares."""
    return {rule_id: frozenset(a for a, _, _ in _comparisons(definition["all"][0]["m"]))
            for rule_id, definition in compiled.items()}



# A stage with this many rules is split (see Partitions).
PARTITION_MIN_RULES = 300
# Small parts: a session costs little since the malloc tuning (durable_adapter), so the fewer
# rules of leads that do not hold share a session, the better (10,000 rules: 12/24 -> 4/8 took
# a configuration from 6.6 to 5.0 ms; 2/4 was no better).
LEAD_ALONE = 4            # the rules of a lead this common get a ruleset of their own
BIN_RULES = 8             # rarer leads share rulesets of about this many rules


@dataclasses.dataclass
class Part:
    """Some of a split stage's rules, in a ruleset of their own."""
    compiled: dict[str, dict]
    plan: StagePlan
    leads: frozenset[int]         # evaluated when one of these leads holds
    always: bool = False          # ... or always: rules without a lead that stays put
    ruleset: str = ""


class Partitions:
    """A large stage split by its rules' first tests, so that an evaluation pays durable-rules'
    per-session state (about 8 KB per rule, allocated and cleared for every rule of a ruleset
    on each new session) only for rules that can fire.

    A rule whose condition begins with an equality (or an `in`) on a text fact that cannot
    change while the stage runs (a profile fact, a solution fact, a derived fact that no rule
    of this stage derives) goes with the other rules beginning with that same test, its lead;
    rare leads on the same field share a part (they exclude each other), the other rules form
    one part that always runs. An evaluation looks up which leads hold (the fact's value in an
    index; any value that is not text counts as "may hold"), then runs those parts as one stage:
    `DurableEngine.evaluate_merged` fires the rules that hold in any of them in the stage's one
    firing order and re-asserts each part's world after a fact changed. A rule whose lead does
    not hold cannot fire, and its condition is still tested in full by durable-rules where its
    part runs, so the result is the one of a single ruleset. Each part's world fact carries
    only the facts its own rules compare.
    """

    def __init__(self, index: dict[str, dict[str, set[int]]], parts: list[Part],
                 order: dict[str, int]):
        self.index, self.parts, self.order = index, parts, order
        self.by_path = {path: set().union(*values.values()) for path, values in index.items()}
        self._always = frozenset(i for i, part in enumerate(parts) if part.always)
        self._by_lead: dict[int, list[int]] = {}      # lead -> the parts it runs
        for i, part in enumerate(parts):
            for lead in part.leads:
                self._by_lead.setdefault(lead, []).append(i)

    def leads(self, value_of: Callable[[str], Any]) -> set[int]:
        """The leads that may hold, given the facts' (cleaned) values."""
        hit: set[int] = set()
        for path, by_value in self.index.items():
            value = value_of(path)
            if value is None:           # no value: an equality cannot hold
                continue
            if isinstance(value, str):
                hit |= by_value.get(value, set())
            else:                       # durable-rules compares across types: may hold
                hit |= self.by_path[path]
        return hit

    def chosen(self, value_of: Callable[[str], Any]) -> list[Part]:
        """The parts to run, in their order: those that always run, and those of the leads that
        may hold."""
        chosen = set(self._always)
        by_lead = self._by_lead
        for lead in self.leads(value_of):
            chosen.update(by_lead.get(lead, ()))
        parts = self.parts
        return [parts[i] for i in sorted(chosen)]

    @classmethod
    def plan(cls, stage: str, rules: list[Rule], compiled: dict[str, dict], flags: FlagRegistry,
             attributes: dict[str, frozenset] | None = None) -> "Partitions | None":
        """How to split the stage, or None when splitting would not pay."""
        by_id = {rule.id: rule for rule in rules}
        written = {name for rule in rules for action in rule.then if action.kind == "derive"
                   for name in action.params["values"]}

        def fixed(path: str) -> bool:
            """A fact that cannot change while the stage runs."""
            ns, _, rest = path.partition(".")
            if ns in ("profile", "solution"):
                return True
            return ns == "derived" and rest.split(".")[0] not in written

        def lead(expression: dict) -> list[tuple[str, str]] | None:
            """(path, text) pairs one of which must be equal, or None."""
            alternatives = expression["$or"] if "$or" in expression else [expression]
            pairs = []
            for item in alternatives:
                if len(item) != 1:
                    return None
                ((path, value),) = item.items()
                if path.startswith("$") or path.startswith("has.") or path == "t" or \
                        not isinstance(value, str) or not fixed(path):
                    return None
                pairs.append((path, value))
            return pairs

        groups: dict[str, list[str]] = {}
        pairs_of: dict[str, list[tuple[str, str]]] = {}
        rest: list[str] = []
        for rule_id, definition in compiled.items():
            expression = definition["all"][0]["m"]
            first = expression["$and"][0] if "$and" in expression else expression
            pairs = lead(first)
            if pairs is None:
                rest.append(rule_id)
                continue
            key = _dumps(pairs)
            groups.setdefault(key, []).append(rule_id)
            pairs_of[key] = pairs
        if len(groups) < 4 or len(rest) > len(compiled) // 2:
            return None
        number = {key: i for i, key in enumerate(groups)}
        index: dict[str, dict[str, set[int]]] = {}
        for key, pairs in pairs_of.items():
            for path, value in pairs:
                index.setdefault(path, {}).setdefault(value, set()).add(number[key])
        # A rare lead shares a part with other rare leads on the same field: those usually
        # exclude each other (industry = food, industry = pharma), so one session per field
        # serves them, where a session each would cost more than their rules' state.
        bins: list[tuple[list[str], set[int]]] = []
        small: dict[str, tuple[list[str], set[int]]] = {}
        for key, ids in groups.items():
            if len(ids) >= LEAD_ALONE:
                bins.append((ids, {number[key]}))
                continue
            field = " ".join(sorted({path for path, _ in pairs_of[key]}))
            ids_so_far, leads = small.setdefault(field, ([], set()))
            ids_so_far.extend(ids)
            leads.add(number[key])
            if len(ids_so_far) >= BIN_RULES:
                bins.append(small.pop(field))
        bins += small.values()
        parts = []
        for ids, leads in bins + ([(rest, set())] if rest else []):
            ids = sorted(ids, key=lambda rule_id: compiled[rule_id]["pri"])
            sub = {rule_id: compiled[rule_id] for rule_id in ids}
            parts.append(Part(sub, StagePlan(stage, [by_id[i] for i in ids], sub, flags, True,
                                             attributes), frozenset(leads), always=not leads))
        order = {rule_id: definition["pri"] for rule_id, definition in compiled.items()}
        return cls(index, parts, order)


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
        self._fragments: dict[str, str | None] = {}        # path -> its JSON, profile facts
        self._stage_fragments: dict[str, str | None] = {}  # ... solution facts, this stage
        self._derived_values: dict[str, Any] = {}          # ... derived facts, until one changes
        self._derived_fragments: dict[str, str | None] = {}

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
        self._stage_fragments = {}
        self._world = self.world_for(plan) if wants_world and not partitioned else None

    def world_for(self, plan: StagePlan) -> str:
        """The world fact as JSON, {profile, solution, derived, has}, with the facts `plan`'s
        rules compare, as they are now."""
        fixed = self._worlds.get(id(plan))
        if fixed is None:
            if plan.own_profile:
                profile = plan.shapes["profile"].emit(self._profile_fragment)
            else:
                if self._profile_json is None:
                    self._profile_json = self.pipeline.profile_shape.emit(self._profile_fragment)
                profile = self._profile_json
            fixed = self._worlds[id(plan)] = [
                '{"profile":' + profile + ',"solution":' +
                plan.shapes["solution"].emit(self._solution_fragment) + ',"derived":',
                {flag: int(self.value(path) is not None)
                 for ns in ("profile", "solution") for path, flag in plan.flags[ns]},
                None, ""]
        head, has, seen, world = fixed
        # the world changes only with the derived facts this plan compares
        now = tuple(map(self._derived_fragment, plan.derived_paths))
        if now == seen:
            return world
        if plan.flags["derived"]:
            has = dict(has)
            for path, flag in plan.flags["derived"]:
                has[flag] = int(self.value(path) is not None)
        fixed[2] = now
        fixed[3] = world = (head + plan.shapes["derived"].emit(self._derived_fragment) +
                            ',"has":' + _dumps(has) + "}")
        return world

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
        value = _clean(value) if _has_content(value) else None
        if cache is not None:
            cache[path] = value
        return value

    def _profile_fragment(self, path: str) -> str | None:
        try:
            return self._fragments[path]
        except KeyError:
            value = self.value(path)
            text = self._fragments[path] = None if value is None else _dumps(value)
            return text

    def _solution_fragment(self, path: str) -> str | None:
        try:
            return self._stage_fragments[path]
        except KeyError:
            value = self.value(path)
            text = self._stage_fragments[path] = None if value is None else _dumps(value)
            return text

    def _derived_fragment(self, path: str) -> str | None:
        try:
            return self._derived_fragments[path]
        except KeyError:
            value = self.value(path)
            text = self._derived_fragments[path] = None if value is None else _dumps(value)
            return text

    def _make_world(self) -> str:
        return self.world_for(self._plan)

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
        if self._partitioned:      # each part's world is made again, and compared, by the engine
            plan = self._plan
            return CHANGED if plan.paths["derived"] or plan.flags["derived"] else None
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
            if changed:
                self._derived_values.clear()
                self._derived_fragments.clear()
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


class _Shape:
    """Some facts' paths, nested as in the facts: `emit` writes the JSON object of their values
    (each given as JSON text, None for no value) without building the nested dicts.

    The writing is compiled into one Python function per shape (`_emitter`): a split stage of a
    large pack writes a world for every part it runs, hundreds per configuration, and walking
    the nested paths each time cost more than durable-rules' own work on those facts."""

    def __init__(self, paths: list[str]):
        tree: dict = {}
        for path in sorted(paths):
            parts = path.split(".")[1:]
            node = tree
            for part in parts[:-1]:
                child = node.setdefault(part, {})
                if not isinstance(child, dict):      # the whole object is compared already
                    break
                node = child
            else:
                node.setdefault(parts[-1], path)
        self._write = _emitter(tree)

    def emit(self, fragment: Callable[[str], str | None]) -> str:
        return self._write(fragment) or "{}"


def _emitter(tree: dict) -> Callable[[Callable[[str], str | None]], str | None]:
    """A function writing `tree`'s JSON object from the values' JSON texts (None: left out; an
    object left with nothing is left out too; None when nothing at all has a value). Keys and
    paths go into the code only as `repr` literals of their texts."""
    lines = ["def write(fragment):"]
    counter = itertools.count()

    def body(node: dict, items: str, indent: str) -> None:
        lines.append(f"{indent}{items} = []")
        for key, sub in node.items():
            prefix = repr(_dumps(key) + ":")
            if isinstance(sub, str):
                value = f"v{next(counter)}"
                lines.append(f"{indent}{value} = fragment({sub!r})")
                lines.append(f"{indent}if {value} is not None:")
                lines.append(f"{indent}    {items}.append({prefix} + {value})")
            else:
                inner = f"items{next(counter)}"
                body(sub, inner, indent)
                lines.append(f"{indent}if {inner}:")
                lines.append(f"{indent}    {items}.append({prefix} + '{{' + ','.join({inner}) + '}}')")

    body(tree, "items", "    ")
    lines.append("    return '{' + ','.join(items) + '}' if items else None")
    namespace: dict = {}
    exec(compile("\n".join(lines), "<pipeline shape>", "exec"), namespace)  # noqa: S102
    return namespace["write"]


_UNSET = object()
CHANGED = "changed"      # fire()'s answer to an engine that does not read the world fact


# One encoder for every fact: json.dumps with options builds a new encoder on each call.
_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


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
