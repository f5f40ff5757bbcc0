"""The meaning of a rule condition, in plain Python.

The engine compiles conditions for durable-rules; this is the reference they must agree with
(tests compare the two on many profiles), and what explanations use to say which test failed.
A test on a fact that has no value is false, except `exists: false`; an empty list has no value.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Any

from .expressions import MissingFact, lookup
from .model import AllOf, AnyOf, Condition, Not, Test
from .regex import Matcher, python_pattern


@lru_cache(maxsize=1024)
def _regex(pattern: str) -> Matcher:
    return python_pattern(pattern)


def value_of(facts: dict, path: str) -> tuple[bool, Any]:
    """(has a value, the value)."""
    try:
        value = lookup(facts, path)
    except MissingFact:
        return False, None
    if isinstance(value, (list, dict, str)) and len(value) == 0:
        return False, value
    return True, value


def test_holds(test: Test, facts: dict) -> bool:
    present, value = value_of(facts, test.path)
    return compare(test.op, test.value, present, value)


def compare(op: str, operand: Any, present: bool, value: Any) -> bool:
    """A test's operator and operand on a fact's value (`present`: it has one, see value_of)."""
    if op == "exists":
        return present == bool(operand)
    if not present:
        return False
    if op == "eq":
        return value == operand
    if op == "ne":
        return value != operand
    if op == "lt":
        return value < operand
    if op == "lte":
        return value <= operand
    if op == "gt":
        return value > operand
    if op == "gte":
        return value >= operand
    if op == "in":
        return value in operand
    if op == "not_in":
        return value not in operand
    if op == "contains":
        return operand in value
    if op == "contains_any":
        return any(v in value for v in operand)
    if op == "contains_all":
        return all(v in value for v in operand)
    if op == "matches":
        return _regex(operand).fullmatch(str(value)) is not None
    raise ValueError(f"unknown operator {op}")  # pragma: no cover


def holds(cond: Condition, facts: dict) -> bool:
    if isinstance(cond, Test):
        return test_holds(cond, facts)
    if isinstance(cond, Not):
        return not holds(cond.item, facts)
    if isinstance(cond, AllOf):
        return all(holds(item, facts) for item in cond.items)
    if isinstance(cond, AnyOf):
        return any(holds(item, facts) for item in cond.items)
    raise TypeError(cond)  # pragma: no cover
