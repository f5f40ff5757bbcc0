"""What durable-rules would crash, hang or refuse on in a stage's compiled rules, found before
it is given them, and told in a product manager's terms.

The limits are those of durable-rules 2.0.28, measured (docs/notes/durable-rules.md), with a
margin. Most are counted on the compiled expressions (engine/compile.py); the tests after one
test are counted on a model of the tree of tests durable-rules builds (`network_problems`).
"""
from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

from ..content.model import Rule
from ..content.problems import Problem
from .compile import FlagRegistry, _comparisons

MAX_RULES_PER_STAGE = 4000          # 4,096 fails with error 106
MAX_IDENTICAL_CONDITIONS = 250      # 257 identical conditions fail with error 108
MAX_EQUALITY_VALUES = 500           # 513 distinct equality values on one attribute HANG
MAX_RANGE_TESTS = 60                # 65 sibling comparisons on one attribute fail with 303
MAX_WORLD_PROPERTIES = 240          # 253 properties in one fact fail with 302
MAX_TESTS_AFTER_ONE = 500           # 513 different tests right after one test (or as first tests)
                                    # of a stage HANG creating the ruleset, across fields
MAX_GROUPS_ENDING_AT_ONE = 120      # 129 `in`/`any` groups whose alternative ends at the same
                                    # test fail with error 107
MAX_GROUPS_PER_RULE = 15            # 16 and/or groups in one rule's condition fail with 113

# The tests durable_adapter.register adds to every stage: the sentinel's and the marker's.
ADAPTER_FIRST_TESTS = (("eq", "t", '"w"'), ("eq", "t", '"m"'))


def world_problems(fields: dict, flags: FlagRegistry) -> list[Problem]:
    """A world fact of more properties than durable-rules takes: the profile's fields (each
    leaf of an object counted), the "has" flags, and room for the derived and solution facts."""
    count = _leaf_count(fields) + len(flags.flags) + 40
    if count <= MAX_WORLD_PROPERTIES:
        return []
    return [Problem("rules/profile.yaml", None, f"profiles have about {count} facts; the "
                    f"rules engine takes at most {MAX_WORLD_PROPERTIES} per profile",
                    "declare fewer fields, or group them into lists")]


def _leaf_count(fields: dict) -> int:
    return sum(_leaf_count(f.fields) if f.fields and f.type == "object" else 1
               for f in fields.values())


def limit_problems(stage: str, rules: list[Rule], compiled: dict[str, dict],
                   flags: FlagRegistry | None = None) -> list[Problem]:
    """What in this stage durable-rules would crash, hang or refuse on, in a product manager's terms."""
    problems: list[Problem] = []
    if len(rules) > MAX_RULES_PER_STAGE:
        first = rules[MAX_RULES_PER_STAGE]
        problems.append(Problem(first.file, first.line, f"the {stage} stage has {len(rules)} rules; "
                                f"the rules engine takes at most {MAX_RULES_PER_STAGE} per stage",
                                "merge similar rules (use `in: [...]`) or move rules to another stage"))
    for count, rule in _identical(rules, compiled):
        problems.append(Problem(rule.file, rule.line, f"{count} rules in the {stage} stage have "
                                f"exactly the same `when` as `{rule.id}`; the rules engine "
                                f"takes at most {MAX_IDENTICAL_CONDITIONS}",
                                "merge them into fewer rules with more actions each"))
    # Counted on what durable-rules receives: equality values hash (it hangs past 512 distinct
    # values on one attribute), every other comparison is a node of its own (past 64 on one
    # attribute it fails while matching, error 303) - `contains`, `ne`, `not_in` and negations
    # included.
    equal_values: dict[str, set] = defaultdict(set)
    comparisons: dict[str, int] = {}
    reported: set[str] = set()
    for rule in rules:
        expression = compiled.get(rule.id)
        if expression is None:
            continue
        for attribute, op, value in _comparisons(expression):
            if attribute[:4] == "has." or attribute == "t":
                continue
            if op == "eq":
                values = equal_values[attribute]
                cls = value.__class__    # distinct as their repr() is, without writing it
                values.add(value if cls is str else (cls, value) if cls is int or cls is bool
                           else (None, repr(value)))
                count, limit = len(values), MAX_EQUALITY_VALUES
            else:
                count = comparisons[attribute] = comparisons.get(attribute, 0) + 1
                limit = MAX_RANGE_TESTS
            if count <= limit or attribute in reported:
                continue
            reported.add(attribute)
            if op == "eq":
                problems.append(Problem(
                    rule.file, rule.line, f"the {stage} stage compares {attribute} with more than "
                    f"{limit} different values (here, in `{rule.id}`); the rules engine hangs above "
                    f"{limit}", "derive a grouping fact first (e.g. derived.region) and test that"))
            else:
                problems.append(Problem(
                    rule.file, rule.line, f"the {stage} stage has more than {limit} tests other than "
                    f"equality on {attribute} (here, in `{rule.id}`): ranges, ne, not_in, contains, "
                    f"matches and negations; the rules engine fails above {limit}",
                    "derive a fact once (e.g. derived.size or derived.cold_chain) and compare "
                    "with that in the other rules"))
    over_values = {a for a, values in equal_values.items() if len(values) > MAX_EQUALITY_VALUES}
    problems += network_problems(stage, rules, compiled, flags, over_values)
    return problems


def _identical(rules: list[Rule], compiled: dict[str, dict]) -> list[tuple[int, Rule]]:
    """(how many, the first) for each condition more than MAX_IDENTICAL_CONDITIONS rules have,
    in the order of the first rules. Conditions are compared whole (their repr) only within
    groups that share their number of tests and the first and last (a cheap key), and large
    enough to matter."""
    groups: dict[tuple, list[int]] = {}
    for position, rule in enumerate(rules):
        expression = compiled.get(rule.id)
        if expression is None:          # already reported as not compilable
            continue
        tests = _comparisons(expression)
        key = (len(tests), tests[0][:2], tests[-1][:2]) if tests else ()
        groups.setdefault(key, []).append(position)
    found = []
    for positions in groups.values():
        if len(positions) <= MAX_IDENTICAL_CONDITIONS:
            continue
        same: dict[str, list[int]] = {}
        for position in positions:
            same.setdefault(repr(compiled[rules[position].id]), []).append(position)
        found += [(members[0], len(members)) for members in same.values()
                  if len(members) > MAX_IDENTICAL_CONDITIONS]
    return [(count, rules[first]) for first, count in sorted(found)]


# --- durable-rules' tree of tests -----------------------------------------------------------
#
# durable-rules (rete.c) turns every rule's condition into a path of test nodes from one root,
# in condition order, sharing a node between rules when the test (field, operator, value) is
# the same at the same place. Measured and read in its source:
# - the tests right after one node (the root: every different first test of the stage) live in a
#   table of 512 places, across all fields and operators; looking for the 513th loops forever
#   inside `create_ruleset`, holding the GIL (the whole process hangs);
# - `contains`/`$iany`, `$iall` and `matches` nodes are never shared: each occurrence is a node;
# - an `or` group (from `in`, `any`, `contains_any`, negations...) ends in a node of its own,
#   which is listed, up to 128 times, after the last test of each alternative (129: error 107);
#   the tests after the group hang off that new node;
# - one rule's condition holds at most 31 and/or entries (two per group; 32: error 113).


class _Node:
    __slots__ = ("test", "chain", "children", "unshared", "groups", "counted")

    def __init__(self, test: tuple | None, parent: "_Node | None"):
        self.test = test                          # (op, field, value)
        # the tests from the root down to this one (no link back to the parent: the tree has no
        # cycles, so it is freed as soon as it is done with, without the garbage collector)
        self.chain: tuple = parent.chain + (test,) if parent is not None else ()
        self.children: dict[tuple, _Node] = {}   # shared successors by (op, field, _same(value))
        self.unshared = 0                         # successors never shared (contains, matches)
        self.groups = 0                           # `or` groups ending at this node
        self.counted = False                      # already reported

    def successors(self) -> int:
        return len(self.children) + self.unshared


_OPS = {"eq": "=", "$neq": "!=", "$lt": "<", "$lte": "<=", "$gt": ">", "$gte": ">=",
        "$mt": "matches", "$iany": "contains", "$iall": "has no item"}


def _describe(test: tuple | None, flags: dict[str, str]) -> str:
    """A durable test in the terms of the rule files: `profile.sites >= 5`."""
    if test is None:
        return "an `in`/`any` group"
    op, attribute, value = test
    value = _json(value)                         # as the engine reads it
    if attribute.startswith("has."):
        path = flags.get(attribute[4:], attribute)
        return f"{path} {'exists' if value == '1' else 'is missing'}"
    if attribute == "t":
        return "the rules engine's own marker test"
    text = value
    if op in ("$iany", "$iall"):
        inner = json.loads(value) if value else {}
        text = json.dumps(inner.get("$i", inner.get("$neq", {}).get("$i")), ensure_ascii=False)
    return f"{attribute} {_OPS.get(op, op)} {text}"


def _chain(node: _Node, flags: dict[str, str]) -> str:
    return " and ".join(f"`{_describe(test, flags)}`" for test in node.chain)


def network_problems(stage: str, rules: list[Rule], compiled: dict[str, dict],
                     flags: FlagRegistry | None = None,
                     reported_fields: set[str] = frozenset()) -> list[Problem]:
    """Build durable-rules' tree of tests for the stage, as its `create_ruleset` would, and
    report each place where it would hang or fail. `reported_fields`: fields already reported
    for too many equality values (not reported twice for the same cause)."""
    by_flag = {flag: path for path, flag in (flags.flags.items() if flags else ())}
    problems: list[Problem] = []
    root = _Node(None, None)
    for op, attribute, value in ADAPTER_FIRST_TESTS:
        value = json.loads(value)
        root.children[(op, attribute, _same(value))] = _Node((op, attribute, value), root)

    def successor(parent: _Node, op: str, attribute: str, value: Any, rule: Rule) -> _Node:
        if op == "$iany" or op == "$iall" or op == "$mt":        # never shared
            node = _Node((op, attribute, value), parent)
            parent.unshared += 1
        else:
            key = (op, attribute, value if value.__class__ is str else _same(value))
            children = parent.children
            node = children.get(key)
            if node is not None:
                return node
            node = children[key] = _Node((op, attribute, value), parent)
        if len(parent.children) + parent.unshared > MAX_TESTS_AFTER_ONE and not parent.counted:
            fields = [k[1] for k in parent.children if k[1] in reported_fields]
            if parent.successors() - len(fields) > MAX_TESTS_AFTER_ONE:
                parent.counted = True
                problems.append(_too_many_after(stage, parent, node, rule, by_flag))
        return node

    def walk(expression: dict, parent: _Node, rule: Rule, groups: list[int]) -> _Node:
        ((key, body),) = expression.items()
        if key == "$and":
            groups[0] += 1
            node = parent
            for part in body:
                ((op, inner),) = part.items()
                if op == "$and" or op == "$or":
                    node = walk(part, node, rule, groups)
                elif op[:1] == "$":        # one test, as below, without a call
                    ((attribute, value),) = inner.items()
                    node = successor(node, op, attribute, value, rule)
                else:
                    node = successor(node, "eq", op, inner, rule)
            return node
        if key == "$or":
            groups[0] += 1
            joined = _Node(None, parent)
            for part in body:
                end = walk(part, parent, rule, groups)
                end.groups += 1
                if end.groups > MAX_GROUPS_ENDING_AT_ONE and not end.counted:
                    end.counted = True
                    problems.append(Problem(
                        rule.file, rule.line, f"in the {stage} stage more than "
                        f"{MAX_GROUPS_ENDING_AT_ONE} `in`/`any` lists end with the test "
                        f"{_chain(end, by_flag)} (here, in `{rule.id}`); the rules engine "
                        f"refuses more than 128", "put the test shared by these rules in a "
                        "derived fact (e.g. derived.segment) and compare that instead"))
            return joined
        if key[:1] == "$":
            ((attribute, value),) = body.items()
            return successor(parent, key, attribute, value, rule)
        return successor(parent, "eq", key, body, rule)

    for rule in rules:
        expression = compiled.get(rule.id)
        if expression is None:      # already reported as not compilable
            continue
        groups = [0]
        walk(expression, root, rule, groups)
        if groups[0] > MAX_GROUPS_PER_RULE:
            problems.append(Problem(
                rule.file, rule.line, f"the condition of `{rule.id}` has {groups[0]} groups "
                f"(each `all`/`any`/`not` with several parts, and each `in`, `not_in`, "
                f"`contains_any`, `contains_all` list with several values, makes one); the rules "
                f"engine takes at most {MAX_GROUPS_PER_RULE} in one rule",
                "split the rule in two, or derive a fact in the segment stage for part of it"))
    return problems


def _too_many_after(stage: str, parent: _Node, node: _Node, rule: Rule,
                    by_flag: dict[str, str]) -> Problem:
    test = _describe(node.test, by_flag)
    if not parent.chain:                  # the root
        where = "begin with"
        hint = ("start these rules with a test they share, e.g. a fact derived in the segment "
                "stage (derived.segment), or move some of them to another stage")
    else:
        where = f"continue with, right after {_chain(parent, by_flag)},"
        hint = ("reorder these rules' conditions so that they continue with a test they share "
                "(e.g. a derived fact), or move some of them to another stage")
    return Problem(rule.file, rule.line,
                   f"the {stage} stage's rule conditions {where} more than {MAX_TESTS_AFTER_ONE} "
                   f"different tests, across all fields (each value of an `in` list and each "
                   f"`contains` or `matches` counts; here `{test}` in `{rule.id}`); the rules "
                   f"engine hangs above 512", hint)


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def _same(value: Any) -> Any:
    """A key equal for two values exactly when the engine reads them the same (their `_json`),
    without writing the common ones out: a text, a whole number, true/false."""
    cls = value.__class__
    if cls is str:
        return value
    if cls is int or cls is bool:
        return cls, value
    return None, _json(value)
