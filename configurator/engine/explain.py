"""Why each rule did or did not fire for one profile, and which small changes would make a
rule fire ("2 more operating sites would add temp-sensor-pack")."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..content.conditions import holds, test_holds, value_of
from ..content.model import STAGES, AllOf, Condition, Not, Rule, Test
from ..content.adjustments import Adjustment
from .pipeline import Evaluation, Pipeline

MAX_NEAR_MISSES = 10


def _show(value: Any) -> str:
    if isinstance(value, list):
        return "(" + ", ".join(_show(v) for v in value) + ")" if value else "empty"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


PHRASES = {
    "eq": "needs {v}", "ne": "must not be {v}", "lt": "needs less than {v}",
    "lte": "needs at most {v}", "gt": "needs more than {v}", "gte": "needs at least {v}",
    "in": "needs one of {v}", "not_in": "must not be one of {v}",
    "contains": "needs to contain {v}", "contains_any": "needs to contain one of {v}",
    "contains_all": "needs to contain all of {v}", "matches": "needs to match '{v}'",
}


def describe_failure(test: Test, facts: dict) -> str:
    """A failed test in words: "profile.sites is 3, needs at least 5"."""
    present, value = value_of(facts, test.path)
    operand = ", ".join(_show(v) for v in test.value) if isinstance(test.value, list) else _show(test.value)
    if test.op == "exists":
        return f"{test.path} has no value" if test.value else f"{test.path} is {_show(value)}, needs no value"
    if not present:
        return f"{test.path} has no value"
    return f"{test.path} is {_show(value)}, {PHRASES[test.op].format(v=operand)}"


def why_not(cond: Condition, facts: dict) -> str:
    """The first reason `cond` does not hold."""
    if isinstance(cond, Test):
        return describe_failure(cond, facts)
    if isinstance(cond, Not):
        inner = cond.item
        shown = _condition_text(inner)
        return f"it must not hold that {shown}, but it does"
    if isinstance(cond, AllOf):
        for item in cond.items:
            if not holds(item, facts):
                return why_not(item, facts)
        return "all conditions hold"   # pragma: no cover - called only when cond fails
    return "none of: " + "; ".join(why_not(item, facts) for item in cond.items)


def _condition_text(cond: Condition) -> str:
    if isinstance(cond, Test):
        value = ", ".join(map(_show, cond.value)) if isinstance(cond.value, list) else _show(cond.value)
        return f"{cond.path} {cond.op} {value}"
    if isinstance(cond, Not):
        return f"not ({_condition_text(cond.item)})"
    joiner = " and " if isinstance(cond, AllOf) else " or "
    return "(" + joiner.join(_condition_text(i) for i in cond.items) + ")"


def effects(rule: Rule) -> str:
    """What a rule does, briefly: "include temp-sensor-pack; require approval of finance"."""
    parts = []
    for action in rule.then:
        p = action.params
        if action.kind in ("include", "exclude", "recommend"):
            parts.append(f"{action.kind} {p['module']}")
        elif action.kind == "derive":
            parts.append("derive " + ", ".join(p["values"]))
        elif action.kind in ("discount", "surcharge"):
            amount = p.get("percent") or p.get("amount")
            unit = "%" if "percent" in p else ""
            parts.append(f"{action.kind} {amount.source}{unit} on {p['applies_to']}")
        elif action.kind == "require_approval":
            parts.append(f"require approval of {p['role']}")
        else:
            parts.append(action.kind.replace("_", " "))
    return "; ".join(parts)


@dataclass
class RuleExplanation:
    rule: Rule
    fired: bool
    why: str

    def as_dict(self) -> dict:
        return {"rule": self.rule.id, "ruleset": self.rule.ruleset, "stage": self.rule.stage,
                "file": self.rule.file, "line": self.rule.line, "fired": self.fired,
                "why": self.why, "effects": effects(self.rule)}


def explain(pipeline: Pipeline, profile: dict, adjustments: list[Adjustment] = (),
            on: str | None = None, near_misses: bool = True, only: str | None = None) -> dict:
    """Every rule (or only rule `only`) with why it fired or not, and near misses."""
    run = pipeline.run(profile, adjustments, on)
    fired = {entry["rule"] for entry in run.fired}
    rules: list[RuleExplanation] = []
    for stage in STAGES:
        facts = run.seen.get(stage)
        for rule in pipeline.pack.stage_rules(stage):
            if rule.id in fired:
                rules.append(RuleExplanation(rule, True, "fired"))
            elif rule.id not in pipeline.rules:
                rules.append(RuleExplanation(rule, False, "draft: left out of production runs"))
            elif rule.id in run.not_effective:
                rules.append(RuleExplanation(rule, False, _not_effective(rule, run.as_of)))
            elif facts is not None and not holds(rule.when, facts):
                rules.append(RuleExplanation(rule, False, why_not(rule.when, facts)))
            else:
                rules.append(RuleExplanation(rule, False, "its conditions held only before an "
                                             "earlier rule of the stage changed a fact"))
    out = {"document": run.document(), "as_of": run.as_of,
           "rules": [r.as_dict() for r in rules], "near_misses": []}
    if only:
        out["rules"] = [r for r in out["rules"] if r["rule"] == only]
    if near_misses:
        out["near_misses"] = _near_misses(pipeline, run, rules, adjustments, only)
    return out


def _not_effective(rule: Rule, day: str) -> str:
    span = " ".join(filter(None, [f"from {rule.effective_from}" if rule.effective_from else "",
                                  f"until {rule.effective_until}" if rule.effective_until else ""]))
    return f"not effective on {day} (effective {span})"


def _near_misses(pipeline: Pipeline, run: Evaluation, rules: list[RuleExplanation],
                 adjustments, only: str | None = None) -> list[dict]:
    """Rules that fail on exactly one profile test that a small change would pass; the ones
    that change the solution come first, and each is verified by configuring the changed
    profile."""
    candidates = []
    for item in rules:
        if item.fired or item.rule.id not in pipeline.rules or (only and item.rule.id != only):
            continue
        facts = run.seen.get(item.rule.stage)
        if facts is None:
            continue
        failing = [t for t in _all_of_tests(item.rule.when) if not test_holds(t, facts)]
        if len(failing) != 1 or not failing[0].path.startswith("profile."):
            continue
        change = _smallest_change(failing[0], facts, pipeline)
        if change is not None:
            shapes_solution = any(a.kind in ("include", "recommend", "exclude")
                                  for a in item.rule.then)
            candidates.append((not shapes_solution, item.rule, change))
    candidates.sort(key=lambda c: c[0])      # stable: stage and priority order within each group
    found = []
    for _, rule, (field, new_value, words) in candidates:
        if len(found) >= MAX_NEAR_MISSES:
            break
        try:
            clean = pipeline.pack.profile.validate(_with(run.profile, field, new_value))
        except Exception:   # the change would make the profile invalid: not a near miss
            continue
        if rule.id not in {e["rule"] for e in pipeline.run(clean, adjustments, run.as_of).fired}:
            continue
        found.append({"rule": rule.id, "change": {field: new_value},
                      "text": f"{words} would fire {rule.id}: {effects(rule)}"})
    return found


def _all_of_tests(cond: Condition) -> list[Test]:
    """The tests of a plain all-of condition (near misses are only sought for those)."""
    if isinstance(cond, Test):
        return [cond]
    if isinstance(cond, AllOf) and all(isinstance(i, (Test, AllOf)) for i in cond.items):
        return [t for i in cond.items for t in _all_of_tests(i)]
    return []


def _smallest_change(test: Test, facts: dict, pipeline: Pipeline):
    """(profile field, new value, words) for the smallest change that passes `test`."""
    field = test.path[len("profile."):]
    spec, through_list = pipeline.pack.profile.field_at(field)
    if spec is None or through_list:
        return None
    present, value = value_of(facts, test.path)
    label = spec.title.lower()
    if spec.type in ("integer", "number") and test.op in ("gt", "gte", "lt", "lte"):
        step = 1 if spec.type == "integer" else 0.01
        target = {"gte": test.value, "gt": test.value + step,
                  "lte": test.value, "lt": test.value - step}[test.op]
        if spec.type == "integer":
            target = int(target) if float(target).is_integer() else int(target) + (test.op in ("gt", "gte"))
        if not present:
            return field, target, f"{label} of {_show(target)}"
        delta = target - value
        more = "more" if delta > 0 else "less"
        return field, target, f"{label} {_show(target)} instead of {_show(value)} ({_show(abs(delta))} {more})"
    if spec.type == "list" and test.op == "contains":
        current = list(value) if present else []
        return field, current + [test.value], f"adding {test.value} to {label}"
    return None


def _with(profile: dict, field: str, value: Any) -> dict:
    out = dict(profile)
    node = out
    parts = field.split(".")
    for part in parts[:-1]:
        node[part] = dict(node.get(part) or {})
        node = node[part]
    node[parts[-1]] = value
    return out
