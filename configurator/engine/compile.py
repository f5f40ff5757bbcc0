"""Translate rule conditions into durable-rules condition expressions.

Every rule matches one fact, the "world": {profile, derived, solution, has}. Missing values are
made explicit in `has` (one 0/1 flag per path that an `exists` test or a negation needs),
because durable-rules' own `$nex` hangs in several positions and `$neq` is false on a missing
value. Negations are pushed down to single tests (De Morgan) and replaced by the complementary
operator or-ed with "has no value". What durable-rules would refuse in the result is checked
in engine/limits.py.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..content.model import AllOf, Condition, Not, Test
from ..content.regex import translate

COMPLEMENT = {"lt": "gte", "lte": "gt", "gt": "lte", "gte": "lt"}
DURABLE_OP = {"lt": "$lt", "lte": "$lte", "gt": "$gt", "gte": "$gte", "ne": "$neq"}


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


# --- reading conditions and compiled expressions ------------------------------------

def tests_of(cond: Condition):
    """Every test in a condition, in order."""
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
