"""The `when:` of a rule: read conditions into tests (`Test`, `AllOf`, `AnyOf`, `Not`), and check
each test against the declared type of its fact.

What a condition means when it runs is conditions.py; the engine compiles it in engine/compile.py.
The rule-set file and the rule around the condition are read in rules.py.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from .facts import FactType, FactTypes, whole_solution_facts
from .iso import CODE_SETS
from .model import ALWAYS, AllOf, AnyOf, Condition, Not, Test
from .problems import ProblemLog, suggest
from .regex import RegexError, translate
from .yamlfile import item_lines, key_lines, plain

OPERATORS = ("eq", "ne", "lt", "lte", "gt", "gte", "in", "not_in", "contains", "contains_any",
             "contains_all", "matches", "exists")
MIN_NUMBER, MAX_NUMBER = 0.0001, 1e15   # what durable-rules reads without an exponent


def hint(*parts: str) -> str:
    """The parts of a hint that are not empty, joined (rules.py and rule_actions.py use it too)."""
    return " ".join(p for p in parts if p)


# --- reading ---------------------------------------------------------------------------------

def parse_condition(node: Any, log: ProblemLog, line: int | None) -> Condition:
    if node is None:
        return ALWAYS
    if not isinstance(node, dict):
        log.error(line, "`when:` must be a mapping of fact: condition",
                  "to combine alternatives write `any: [ {...}, {...} ]`")
        return ALWAYS
    items: list[Condition] = []
    lines = key_lines(node)
    for key, value in node.items():
        kline = lines.get(key) or line
        cls = value.__class__
        if cls is str or cls is int or cls is float or cls is bool:
            if key not in ("any", "all", "not"):     # `path: value`: equals (the common case)
                items.append(Test(str(key), "eq", value, kline))
                continue
        if key in ("any", "all"):
            if not isinstance(value, list) or not value:
                log.error(kline, f"`{key}:` needs a non-empty list of conditions",
                          f"write `{key}: [{{profile.sites: {{gte: 5}}}}, ...]`")
                continue
            value_lines = item_lines(value)
            parts = tuple(parse_condition(v, log, value_lines[i] or kline)
                          for i, v in enumerate(value))
            items.append(AnyOf(parts) if key == "any" else AllOf(parts))
        elif key == "not":
            if not isinstance(value, dict) or not value:
                log.error(kline, "`not:` needs a condition mapping", "write `not: {profile.x: 1}`")
                continue
            items.append(Not(parse_condition(value, log, kline)))
        else:
            items.extend(_parse_tests(str(key), value, log, kline))
    return items[0] if len(items) == 1 else AllOf(tuple(items))


def _parse_tests(path: str, value: Any, log: ProblemLog, line: int | None) -> list[Test]:
    if isinstance(value, dict):
        if not value:
            log.error(line, f"`{path}: {{}}` has no operator", f"write e.g. `{path}: {{gte: 5}}`")
        tests = []
        lines = key_lines(value)
        for op, operand in value.items():
            if op not in OPERATORS:
                log.error(lines.get(op) or line, f"unknown operator `{op}` on {path}",
                          hint(suggest(op, OPERATORS), f"operators: {', '.join(OPERATORS)}"))
                continue
            tests.append(Test(path, str(op), _plain_value(operand), lines.get(op) or line))
        return tests
    if isinstance(value, list):
        log.error(line, f"`{path}` is compared with a list", "write `{in: [a, b]}` for one of "
                  "several values, or `{contains_any: [...]}` for a list field")
        return []
    if value is None:
        log.error(line, f"`{path}` has no value to compare with",
                  f"write `{path}: {{exists: false}}` to test that it is missing")
        return []
    return [Test(path, "eq", _plain_value(value), line)]


def _plain_value(value: Any) -> Any:
    if isinstance(value, dt.date):
        return value.isoformat()
    return plain(value)


# --- checking against the fact types ------------------------------------------------------

Found = tuple[tuple[str, str] | None, list[tuple[str, str]]]   # an error, warnings


def check_condition(cond: Condition, facts: FactTypes, log: ProblemLog,
                    checked: dict[tuple, Found]) -> None:
    if isinstance(cond, (AllOf, AnyOf)):
        for item in cond.items:
            check_condition(item, facts, log, checked)
    elif isinstance(cond, Not):
        check_condition(cond.item, facts, log, checked)
    else:
        try:
            key = (cond.path, cond.op, frozen(cond.value))
            error, warnings = checked[key]
        except KeyError:
            error, warnings = checked[key] = _check(cond, facts)
        except TypeError:          # an operand that cannot be a key
            error, warnings = _check(cond, facts)
        if error:
            log.error(cond.line, *error)
        for warning in warnings:
            log.warning(cond.line, *warning)


def _check(test: Test, facts: FactTypes) -> Found:
    error = check_test(test, facts)
    return error, [] if error else code_warnings(test, facts)


def frozen(value: Any) -> Any:
    """`value` as a key that tells apart what compares equal across types (1, 1.0, true): a
    text is itself, anything else a tuple (its type, its value)."""
    cls = value.__class__
    if cls is str:
        return value
    if cls is list:
        return list, tuple(frozen(v) for v in value)
    return cls, value


def known_paths(facts: FactTypes) -> list[str]:
    paths = [f"profile.{k}" for k in facts.profile.fields]
    for name, spec in facts.profile.fields.items():
        paths += [f"profile.{name}.{sub}" for sub in spec.fields]
    paths += [f"derived.{k}" for k in facts.derived]
    paths += [f"solution.{k}" for k in whole_solution_facts()]
    return paths


def check_test(test: Test, facts: FactTypes) -> tuple[str, str] | None:
    """(message, hint) when the test cannot work with the fact's declared type."""
    ftype, why = facts.resolve(test.path)
    if ftype is None:
        return why, suggest(test.path, known_paths(facts)) or "check the spelling of the path"
    op, value, path = test.op, test.value, test.path
    if op == "exists":
        if not isinstance(value, bool):
            return f"`exists` on {path} takes true or false, not {value!r}", ""
        return None
    if ftype.type == "object":
        return (f"{path} is an object; compare one of its fields",
                f"fields: {', '.join(f'{path}.{f}' for f in ftype.fields)}")
    if ftype.type == "list":
        item = ftype.items or FactType("string")
        if op == "contains":
            return _value_problem(path + " items", item, value)
        if op in ("contains_any", "contains_all"):
            if not isinstance(value, list) or not value:
                return f"`{op}` on {path} needs a non-empty list", f"write `{op}: [a, b]`"
            for v in value:
                problem = _value_problem(path + " items", item, v)
                if problem:
                    return problem
            return None
        return (f"{path} is a list; `{op}` does not apply to lists",
                "use contains, contains_any, contains_all or exists")
    if op in ("contains", "contains_any", "contains_all"):
        return f"{path} is a {ftype.type}, not a list; `{op}` applies to lists", \
            "use a bare value for equality or `in: [...]`"
    if op in ("eq", "ne"):
        return _value_problem(path, ftype, value)
    if op in ("in", "not_in"):
        if not isinstance(value, list) or not value:
            return f"`{op}` on {path} needs a non-empty list of values", f"write `{op}: [a, b]`"
        for v in value:
            problem = _value_problem(path, ftype, v)
            if problem:
                return problem
        return None
    if op in ("lt", "lte", "gt", "gte"):
        if ftype.numeric:
            return _value_problem(path, ftype, value)
        if ftype.type == "date":
            return _value_problem(path, ftype, value)
        return f"`{op}` compares numbers or dates; {path} is a {ftype.type}", \
            "use a bare value or `in: [...]`"
    if op == "matches":
        if ftype.type not in ("string", "enum", "date", "country", "currency"):
            return f"`matches` works on text; {path} is a {ftype.type}", ""
        if not isinstance(value, str):
            return f"`matches` on {path} needs a regular expression in quotes", ""
        try:
            translate(value)
        except RegexError as exc:
            return f"regular expression {value!r} on {path}: {exc}", \
                ("use letters, . [] () | * + ? {m,n}, \\d and \\s; matches are whole-value "
                 "(docs/content-format.md, Conditions)")
        return None
    return None  # pragma: no cover - every operator is handled above


def code_warnings(test: Test, facts: FactTypes) -> list[tuple[str, str]]:
    """(message, hint) for each value a `country` or `currency` fact is compared with that is
    not an ISO code (`{in: [CN, UK]}`: UK). A warning, not an error: the rule still works for
    its other values, and a code that ISO withdraws in a later pycountry release must not stop a
    pack that loaded the day before from loading."""
    ftype, _ = facts.resolve(test.path)
    if ftype is not None and ftype.type == "list":
        ftype = ftype.items if test.op in ("contains", "contains_any", "contains_all") else None
    elif test.op not in ("eq", "ne", "in", "not_in"):
        return []
    if ftype is None or ftype.type not in CODE_SETS:
        return []
    codes = CODE_SETS[ftype.type]
    values = test.value if isinstance(test.value, list) else [test.value]
    return [(f"{test.path} is compared with `{value}`, which is not an {codes.standard} "
             f"{codes.kind} code, so no profile has it", codes.hint(value))
            for value in dict.fromkeys(v for v in values if isinstance(v, str))
            if not codes.valid(value)]


def _value_problem(path: str, ftype: FactType, value: Any) -> tuple[str, str] | None:
    if ftype.numeric:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return f"{path} is a number but is compared with {value!r}", \
                f"write the number without quotes, e.g. `{path}: {{gte: 5}}`"
        if isinstance(value, float) and value != 0 and not MIN_NUMBER <= abs(value) < MAX_NUMBER:
            return (f"{value!r} is too small or too large to compare: numbers in conditions "
                    f"are 0 or between {MIN_NUMBER} and {MAX_NUMBER:.0e} in size",
                    "profile numbers are kept to 4 decimal places")
        return None
    if ftype.type == "boolean":
        if not isinstance(value, bool):
            return f"{path} is true/false but is compared with {value!r}", "write true or false"
        return None
    if not isinstance(value, str):
        kind = f"a {ftype.type} code" if ftype.type in CODE_SETS else f"{ftype.type} text"
        return f"{path} is {kind} but is compared with {value!r}", \
            f"put the value in quotes: \"{value}\""
    if ftype.type == "enum" and value not in ftype.values:
        return (f"`{value}` is not a value of {path}",
                hint(suggest(value, ftype.values), f"allowed: {', '.join(ftype.values)}"))
    if ftype.type == "date":
        try:
            dt.date.fromisoformat(value)
        except ValueError:
            return f"{path} is a date but `{value}` is not yyyy-mm-dd", "write e.g. 2026-12-31"
    return None
