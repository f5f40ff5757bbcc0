"""Safe arithmetic over facts: parsed once with Python's ast, evaluated by a whitelist.

`profile.sites * 20`, `max(5, ceil(profile.employees / 50))`. Only numbers, fact paths,
+ - * / // %, unary minus and the functions below are allowed; nothing is ever eval()'d.
"""
from __future__ import annotations

import ast
import math
import operator
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Callable

FUNCTIONS: dict[str, Callable[..., Any]] = {
    "min": min,
    "max": max,
    "ceil": math.ceil,
    "floor": math.floor,
    "round": round,
    "abs": abs,
}
BINARY = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
}
NAMESPACES = ("profile", "derived", "solution")


class ExpressionError(ValueError):
    pass


class MissingFact(LookupError):
    """An expression used a fact the configuration does not have."""

    def __init__(self, path: str):
        self.path = path
        super().__init__(f"{path} has no value")


Facts = dict[str, Any]


def lookup(facts: Facts, path: str) -> Any:
    """The value at dotted `path` in nested `facts`; raises MissingFact.

    Through a list of objects the path collects the field of every item:
    `profile.contacts.role` is the list of the contacts' roles.
    """
    node: Any = facts
    for part in path.split("."):
        if isinstance(node, list):
            values = [item[part] for item in node
                      if isinstance(item, dict) and item.get(part) is not None]
            node = [v for value in values for v in (value if isinstance(value, list) else [value])]
        elif isinstance(node, dict) and part in node and node[part] is not None:
            node = node[part]
        else:
            raise MissingFact(path)
    return node


@dataclass(frozen=True)
class Expression:
    source: str
    paths: tuple[str, ...]
    _fn: Callable[[Facts], Any]

    def evaluate(self, facts: Facts) -> Any:
        try:
            return self._fn(facts)
        except ZeroDivisionError:
            raise ExpressionError(f"`{self.source}` divides by zero") from None
        except (TypeError, OverflowError, ValueError) as exc:
            raise ExpressionError(f"`{self.source}`: {exc}") from None


def _dotted(node: ast.AST) -> str | None:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None


def parse_expression(source: str | int | float) -> Expression:
    """Compile `source` or raise ExpressionError saying what is not allowed."""
    if isinstance(source, bool):
        raise ExpressionError("expected a number or an arithmetic expression, not true/false")
    if isinstance(source, (int, float)):
        value = source
        return Expression(str(source), (), lambda facts: value)
    text = str(source).strip()
    if len(text) > 500:
        raise ExpressionError("expression is longer than 500 characters")
    text, aliases = _alias_paths(text)
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        raise ExpressionError(f"`{text}` is not a valid expression ({exc.msg})") from None
    paths: list[str] = []
    fn = _compile(tree.body, text, paths, aliases)
    return Expression(text, tuple(dict.fromkeys(paths)), fn)


# A fact path; a dash followed by a letter belongs to the name (`solution.quantities.temp-sensor`),
# a dash before a digit or a space is a minus (`profile.sites-1`, `profile.sites - 1`).
PATH = re.compile(r"\b(?:profile|derived|solution)(?:\.[A-Za-z_][A-Za-z0-9_]*(?:-[A-Za-z][A-Za-z0-9_]*)*)+")


def _alias_paths(text: str) -> tuple[str, dict[str, str]]:
    """Replace dashed paths with plain names Python can parse; returns the text and the aliases."""
    aliases: dict[str, str] = {}

    def swap(match: re.Match) -> str:
        path = match.group(0)
        if "-" not in path:
            return path
        alias = f"_p{len(aliases)}_"
        aliases[alias] = path
        return alias

    return PATH.sub(swap, text), aliases


def _compile(node: ast.AST, text: str, paths: list[str],
             aliases: dict[str, str] | None = None) -> Callable[[Facts], Any]:
    aliases = aliases or {}
    if isinstance(node, ast.Name) and node.id in aliases:
        path = aliases[node.id]
        paths.append(path)
        return lambda facts: _number_or_value(lookup(facts, path))
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) \
            and not isinstance(node.value, bool):
        value = node.value
        return lambda facts: value
    if isinstance(node, (ast.Attribute, ast.Name)):
        path = _dotted(node)
        if path is None or path.split(".")[0] not in NAMESPACES or "." not in path:
            raise ExpressionError(
                f"`{path or ast.unparse(node)}` in `{text}` is not a fact; "
                f"use a path such as profile.sites or derived.tier")
        paths.append(path)
        return lambda facts: _number_or_value(lookup(facts, path))
    if isinstance(node, ast.BinOp) and type(node.op) in BINARY:
        op = BINARY[type(node.op)]
        left = _compile(node.left, text, paths, aliases)
        right = _compile(node.right, text, paths, aliases)
        return lambda facts: op(left(facts), right(facts))
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        inner = _compile(node.operand, text, paths, aliases)
        sign = -1 if isinstance(node.op, ast.USub) else 1
        return lambda facts: sign * inner(facts)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
            and node.func.id in FUNCTIONS and not node.keywords and node.args:
        func = FUNCTIONS[node.func.id]
        args = [_compile(a, text, paths, aliases) for a in node.args]
        return lambda facts: func(*(a(facts) for a in args))
    allowed = "numbers, fact paths, + - * / // %, " + ", ".join(f"{f}()" for f in FUNCTIONS)
    raise ExpressionError(f"`{ast.unparse(node)}` is not allowed in `{text}`; use only {allowed}")


def _number_or_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    return value


def to_quantity(value: Any, source: str) -> int:
    """A quantity is a whole number >= 0; fractional results round up (you cannot buy 2.5 sensors)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ExpressionError(f"quantity `{source}` gave {value!r}, not a number")
    quantity = math.ceil(value - 1e-9)
    if quantity < 0:
        raise ExpressionError(f"quantity `{source}` gave {value}, below zero")
    return int(quantity)
