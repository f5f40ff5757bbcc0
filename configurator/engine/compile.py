"""Translate rule conditions into durable-rules condition expressions.

Every rule matches one fact, the "world": {profile, derived, solution, has}. Missing values are
made explicit in `has` (one 0/1 flag per path that an `exists` test or a negation needs),
because durable-rules' own `$nex` hangs in several positions and `$neq` is false on a missing
value. Negations are pushed down to single tests (De Morgan) and replaced by the complementary
operator or-ed with "has no value".
"""
from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from ..content.model import ALWAYS, AllOf, Condition, Not, Rule, Test
from ..content.problems import Problem
from ..content.regex import translate

COMPLEMENT = {"lt": "gte", "lte": "gt", "gt": "lte", "gte": "lt"}
DURABLE_OP = {"lt": "$lt", "lte": "$lte", "gt": "$gt", "gte": "$gte", "ne": "$neq"}

# Limits of durable-rules 2.0.28, measured (docs/notes/durable-rules.md), with a margin.
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


@dataclass
class FlagRegistry:
    """Short attribute names for "has a value" flags: has.f0, has.f1, ..."""
    flags: dict[str, str] = field(default_factory=dict)

    def flag(self, path: str) -> str:
        if path not in self.flags:
            self.flags[path] = f"f{len(self.flags)}"
        return self.flags[path]


class NotCompilable(ValueError):
    def __init__(self, test: Test, message: str):
        self.test = test
        super().__init__(message)


class Compiled(dict):
    """A compiled condition: the durable expression (a dict, as it is sent), with the tests in
    it, in order, as `_comparisons` lists them, noted while it was built (so the limit checks
    and the pipeline do not walk it again)."""
    __slots__ = ("comparisons",)


def compile_condition(cond: Condition, flags: FlagRegistry) -> Compiled:
    """The durable expression for `cond` over the world fact."""
    found: list[tuple[str, str, Any]] = []
    expression = _expr(cond, flags, False, found)
    if expression is TRUE:       # every world fact; an empty $and would hang durable-rules
        expression, found = {"t": "w"}, [("t", "eq", "w")]
    elif expression is FALSE:    # no world fact
        expression, found = {"t": "never"}, [("t", "eq", "never")]
    out = Compiled(expression)
    out.comparisons = found
    return out


TRUE, FALSE = object(), object()   # a group with nothing left in it: all-of [] / any-of []


def _expr(cond: Condition, flags: FlagRegistry, negate: bool, found: list) -> Any:
    """The expression for `cond` (negated: for `not cond`), as of its negation normal form:
    De Morgan on the way down, a negation ends at a single test. Each test made is
    added to `found` (attribute, op, value), in the order of the expression; a group that
    comes to nothing (TRUE or FALSE) takes its tests out again."""
    if isinstance(cond, Test):
        return _negative(cond, flags, found) if negate else _positive(cond, flags, found)
    if isinstance(cond, Not):
        return _expr(cond.item, flags, not negate, found)
    mark = len(found)
    parts = [_expr(item, flags, negate, found) for item in cond.items]
    if isinstance(cond, AllOf) != negate:          # all-of, or not(any-of)
        if any(p is FALSE for p in parts):
            del found[mark:]
            return FALSE
        parts = [p for p in parts if p is not TRUE]
        if not parts:
            return TRUE
        return parts[0] if len(parts) == 1 else {"$and": parts}
    if any(p is TRUE for p in parts):
        del found[mark:]
        return TRUE
    parts = [p for p in parts if p is not FALSE]
    if not parts:
        return FALSE
    return parts[0] if len(parts) == 1 else {"$or": parts}


# Each builder returns one test's expression and notes the test in `found`, as `_comparisons`
# would list it.

def _eq(path: str, value: Any, found: list) -> dict:
    found.append((path, "eq", value))
    return {path: value}


def _op(op: str, path: str, value: Any, found: list) -> dict:
    found.append((path, op, value))
    return {op: {path: value}}


def _has(flag: str, present: bool, found: list) -> dict:
    attribute, value = f"has.{flag}", 1 if present else 0
    found.append((attribute, "eq", value))
    return {attribute: value}


def _item(path: str, value: Any, found: list) -> dict:
    return _op("$iany", path, {"$i": value}, found)


def _no_item(path: str, value: Any, found: list) -> dict:
    return _op("$iall", path, {"$neq": {"$i": value}}, found)


def _any_of(parts: list[dict]) -> dict:
    return parts[0] if len(parts) == 1 else {"$or": parts}


def _all_of(parts: list[dict]) -> dict:
    return parts[0] if len(parts) == 1 else {"$and": parts}


def _positive(test: Test, flags: FlagRegistry, found: list) -> dict:
    path, op, value = test.path, test.op, test.value
    if op == "eq":
        return _eq(path, value, found)
    if op in DURABLE_OP:
        return _op(DURABLE_OP[op], path, value, found)
    if op == "in":
        return _any_of([_eq(path, v, found) for v in value])
    if op == "not_in":
        return _all_of([_op("$neq", path, v, found) for v in value])
    if op == "contains":
        return _item(path, value, found)
    if op == "contains_any":
        return _any_of([_item(path, v, found) for v in value])
    if op == "contains_all":
        return _all_of([_item(path, v, found) for v in value])
    if op == "matches":
        return _op("$mt", path, translate(value), found)
    if op == "exists":
        return _has(flags.flag(path), bool(value), found)
    raise NotCompilable(test, f"operator `{op}` is not supported")  # pragma: no cover


def _negative(test: Test, flags: FlagRegistry, found: list) -> dict:
    """`not test`: true when the fact has no value, or has one that fails the test."""
    path, op, value = test.path, test.op, test.value
    if op == "exists":
        return _has(flags.flag(path), not value, found)
    flag = flags.flag(path)            # (named first, also when the test is refused below)
    if op == "eq":
        inverse = _op("$neq", path, value, found)
    elif op == "ne":
        inverse = _eq(path, value, found)
    elif op in COMPLEMENT:
        inverse = _op(DURABLE_OP[COMPLEMENT[op]], path, value, found)
    elif op == "in":
        inverse = _all_of([_op("$neq", path, v, found) for v in value])
    elif op == "not_in":
        inverse = _any_of([_eq(path, v, found) for v in value])
    elif op == "contains":
        inverse = _no_item(path, value, found)
    elif op == "contains_any":
        inverse = _all_of([_no_item(path, v, found) for v in value])
    elif op == "contains_all":
        inverse = _any_of([_no_item(path, v, found) for v in value])
    else:
        raise NotCompilable(test, f"`not` around `{op}` cannot be evaluated by the rules engine; "
                                  "write the condition positively (e.g. `not_in: [...]`)")
    return {"$or": [inverse, _has(flag, False, found)]}


# --- limits ---------------------------------------------------------------------------------

def tests_of(cond: Condition):
    if isinstance(cond, Test):
        yield cond
    elif isinstance(cond, Not):
        yield from tests_of(cond.item)
    else:
        for item in cond.items:
            yield from tests_of(item)


def _comparisons(expression: dict) -> list[tuple[str, str, Any]]:
    """(attribute, op, value) for each test in a compiled durable expression, in order (for
    `$iany`/`$iall` the value is the item test, e.g. {"$i": "cold-chain"}). Read it, do not
    change it: for a `Compiled` expression it is the list noted when it was compiled."""
    if expression.__class__ is Compiled:
        return expression.comparisons
    found: list[tuple[str, str, Any]] = []
    _collect(expression, found)
    return found


def _collect(expression: dict, found: list) -> None:
    append = found.append
    for key, body in expression.items():
        if key == "$and" or key == "$or":
            for part in body:
                if len(part) != 1 or "$and" in part or "$or" in part:
                    _collect(part, found)
                    continue
                # one test: as below, without a call (most parts are one test)
                ((op, inner),) = part.items()
                if op[:1] != "$":
                    append((op, "eq", inner))
                else:
                    for attribute, value in inner.items():
                        append((attribute, op, value))
        elif key[:1] == "$":
            for attribute, value in body.items():
                append((attribute, key, value))
        else:
            append((key, "eq", body))


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
