"""Read rule-set files (`rules/*.yaml`) into Rule objects, and check them against the catalog and profile.

This module reads the file and each rule's own keys (id, priority, draft, effective) and makes the
checks across rule sets (unique names and ids, one type for each derived fact). A rule's `when:`
is read and checked in rule_conditions.py, its `then:` in rule_actions.py.
"""
from __future__ import annotations

import datetime as dt
import re
from typing import Any

from .facts import FactType, FactTypes, literal_type
from .model import STAGES, Catalog, Rule, RuleSet
from .problems import ProblemLog, suggest
from .rule_actions import check_action, parse_action
from .rule_conditions import Found, check_condition, hint, parse_condition
from .yamlfile import item_lines, key_lines, line_of

RULESET_KEYS = ("ruleset", "stage", "description", "rules")
RULE_KEYS = ("id", "description", "priority", "draft", "effective", "when", "then")
# no dots: ids appear inside fact paths (`solution.quantities.temp-sensor-pack`)
ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
MAX_PRIORITY = 1000


# --- structure ------------------------------------------------------------------------------

def parse_ruleset(doc: Any, file: str, log: ProblemLog, first_order: int) -> RuleSet | None:
    if not isinstance(doc, dict):
        log.error(1, "a rule-set file must be a mapping with `ruleset`, `stage` and `rules`",
                  "start with `ruleset: NAME`, `stage: solution`, `rules:`")
        return None
    for key in doc:
        if key not in RULESET_KEYS:
            log.error(line_of(doc, key), f"unknown key `{key}` in a rule-set file",
                      hint(suggest(key, RULESET_KEYS), f"allowed: {', '.join(RULESET_KEYS)}"))
    name = doc.get("ruleset")
    if not isinstance(name, str) or not ID_PATTERN.match(name):
        log.error(line_of(doc, "ruleset") or 1, "`ruleset:` must name the rule set in lowercase "
                  "letters, digits and dashes", "write e.g. `ruleset: cold-chain`")
        name = file
    stage = doc.get("stage")
    if stage not in STAGES:
        log.error(line_of(doc, "stage") or 1, f"`stage: {stage}` is not a stage",
                  hint(suggest(stage, STAGES), f"use one of: {', '.join(STAGES)}"))
        return None
    rules_node = doc.get("rules")
    if not isinstance(rules_node, list):
        log.error(line_of(doc, "rules") or 1, "`rules:` must be a list of rules",
                  "write `rules:` followed by `- id: ...` items")
        return None
    rules = []
    lines = item_lines(rules_node)
    for index, node in enumerate(rules_node):
        rule = _parse_rule(node, name, stage, file, log, lines[index], first_order + index)
        if rule is not None:
            rules.append(rule)
    return RuleSet(name, stage, str(doc.get("description", "")), tuple(rules), file)


def _parse_rule(node: Any, ruleset: str, stage: str, file: str, log: ProblemLog,
                line: int | None, order: int) -> Rule | None:
    if not isinstance(node, dict):
        log.error(line, "each rule must be a mapping with `id`, `when` and `then`")
        return None
    lines = key_lines(node)
    for key in node:
        if key not in RULE_KEYS:
            log.error(lines.get(key), f"unknown key `{key}` in a rule",
                      hint(suggest(key, RULE_KEYS), f"allowed: {', '.join(RULE_KEYS)}"))
    rule_id = node.get("id")
    if not isinstance(rule_id, str) or not ID_PATTERN.match(rule_id):
        log.error(lines.get("id") or line, "a rule needs an `id` in lowercase letters, digits "
                  "and dashes", "add e.g. `id: cold-chain-sensors`")
        return None
    priority = node.get("priority", 0)
    if isinstance(priority, bool) or not isinstance(priority, int) \
            or not 0 <= priority <= MAX_PRIORITY:
        log.error(lines.get("priority"), f"priority of rule `{rule_id}` must be a whole number "
                  f"from 0 to {MAX_PRIORITY}", "higher fires first; leave it out for 0")
        priority = 0
    draft = node.get("draft", False)
    if not isinstance(draft, bool):
        log.error(lines.get("draft"), f"`draft` of rule `{rule_id}` must be true or false",
                  "write `draft: true` to keep the rule out of production runs")
        draft = False
    effective = node.get("effective")
    effective_from = effective_until = None
    if effective is not None:
        effective_from, effective_until = _parse_effective(effective, rule_id, log,
                                                           lines.get("effective") or line)
    when = parse_condition(node.get("when"), log, lines.get("when") or line)
    then_node = node.get("then")
    if not isinstance(then_node, list) or not then_node:
        log.error(lines.get("then") or line, f"rule `{rule_id}` needs `then:`, a list of actions",
                  "write e.g. `then: [{include: platform-core}]`")
        then_node = []
    actions = []
    then_lines = item_lines(then_node)
    for index, item in enumerate(then_node):
        action = parse_action(item, log, then_lines[index] or line)
        if action is not None:
            actions.append(action)
    return Rule(rule_id, ruleset, stage, str(node.get("description", "")), priority, when,
                tuple(actions), file, line, order, draft, effective_from, effective_until)


def _parse_effective(node: Any, rule_id: str, log: ProblemLog,
                     line: int | None) -> tuple[str | None, str | None]:
    if node is None:
        return None, None
    if not isinstance(node, dict) or not node or set(node) - {"from", "until"}:
        log.error(line, f"`effective` of rule `{rule_id}` must be a mapping with `from` and/or "
                  "`until` dates", "write `effective: {from: 2026-01-01, until: 2026-12-31}`")
        return None, None
    days = []
    for key in ("from", "until"):
        value = node.get(key)
        if value is None:
            days.append(None)
            continue
        value = value.isoformat() if isinstance(value, dt.date) else str(value)
        try:
            dt.date.fromisoformat(value)
        except ValueError:
            log.error(line_of(node, key) or line, f"`effective.{key}` of rule `{rule_id}` is not a "
                      f"date: {value!r}", "write yyyy-mm-dd, e.g. 2026-12-31")
            value = None
        days.append(value)
    if days[0] and days[1] and days[0] > days[1]:
        log.error(line, f"rule `{rule_id}` is effective from {days[0]} until {days[1]}: the end "
                  "comes before the start", "swap the two dates")
    return days[0], days[1]


# --- across rule sets: facts, types, ids ----------------------------------------------------

def derived_types(rulesets: list[RuleSet], logs: dict[str, ProblemLog]) -> dict[str, FactType]:
    """The type of every derived fact, from the `derive` actions that set it."""
    found: dict[str, FactType] = {}
    for ruleset in rulesets:
        for rule in ruleset.rules:
            for action in rule.then:
                if action.kind != "derive":
                    continue
                for name, value in action.params["values"].items():
                    ftype = FactType("number") if not isinstance(value, (str, bool, int, float, list)) \
                        else literal_type(value)
                    assert ftype is not None
                    known = found.get(name)
                    if known is None:
                        found[name] = ftype
                    elif known.type != ftype.type:
                        logs[rule.file].error(action.line, f"derived.{name} is set to a {ftype.type} "
                                              f"here but to a {known.type} elsewhere",
                                              "give a derived fact one type everywhere")
                    elif ftype.type == "string":
                        found[name] = FactType("string", tuple(dict.fromkeys(known.values + ftype.values)))
    return found


def check_rules(rulesets: list[RuleSet], facts: FactTypes, catalog: Catalog,
                logs: dict[str, ProblemLog]) -> None:
    seen: dict[str, Rule] = {}
    names: dict[str, RuleSet] = {}
    checked: dict[tuple, Found] = {}     # rules repeat the same tests
    for ruleset in rulesets:
        log = logs[ruleset.file]
        if ruleset.id in names:
            log.error(1, f"rule set `{ruleset.id}` is also defined in {names[ruleset.id].file}",
                      "give each rule set a unique name")
        names[ruleset.id] = ruleset
        for rule in ruleset.rules:
            if rule.id in seen:
                other = seen[rule.id]
                log.error(rule.line, f"rule id `{rule.id}` is already used at {other.file}:{other.line}",
                          "give every rule a unique id")
            seen[rule.id] = rule
            check_condition(rule.when, facts, log, checked)
            for action in rule.then:
                check_action(action, rule, facts, catalog, log)
