"""Read rule-set files (`rules/*.yaml`) into Rule objects, and check them against the catalog and profile."""
from __future__ import annotations

import datetime as dt
import functools
import math
import re
from typing import Any

from .expressions import Expression, ExpressionError, parse_expression
from .facts import FactType, FactTypes, literal_type
from .model import (ALWAYS, STAGES, Action, AllOf, AnyOf, Catalog, Condition, Not, Rule, RuleSet,
                    Template, Test)
from .problems import ProblemLog, suggest
from .regex import RegexError, translate
from .yamlfile import item_lines, key_lines, line_of, plain

OPERATORS = ("eq", "ne", "lt", "lte", "gt", "gte", "in", "not_in", "contains", "contains_any",
             "contains_all", "matches", "exists")
ACTIONS: dict[str, tuple[str, ...]] = {   # action key -> the option keys allowed beside it
    "derive": (),
    "include": ("quantity", "reason"),
    "recommend": ("reason",),
    "exclude": ("reason",),
    "discount": (),
    "surcharge": (),
    "require_approval": (),
    "service_level": (),
    "team": (),
    "note": (),
    "warn": (),
}
RULESET_KEYS = ("ruleset", "stage", "description", "rules")
RULE_KEYS = ("id", "description", "priority", "draft", "effective", "when", "then")
# no dots: ids appear inside fact paths (`solution.quantities.temp-sensor-pack`)
ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
PLACEHOLDER = re.compile(r"\{([^{}]+)\}")
NOTE_SECTIONS = ("executive-summary", "solution", "delivery", "commercial", "terms")
MAX_PRIORITY = 1000
MIN_NUMBER, MAX_NUMBER = 0.0001, 1e15   # what durable-rules reads without an exponent


def _hint(*parts: str) -> str:
    return " ".join(p for p in parts if p)


# --- structure ------------------------------------------------------------------------------

def parse_ruleset(doc: Any, file: str, log: ProblemLog, first_order: int) -> RuleSet | None:
    if not isinstance(doc, dict):
        log.error(1, "a rule-set file must be a mapping with `ruleset`, `stage` and `rules`",
                  "start with `ruleset: NAME`, `stage: solution`, `rules:`")
        return None
    for key in doc:
        if key not in RULESET_KEYS:
            log.error(line_of(doc, key), f"unknown key `{key}` in a rule-set file",
                      _hint(suggest(key, RULESET_KEYS), f"allowed: {', '.join(RULESET_KEYS)}"))
    name = doc.get("ruleset")
    if not isinstance(name, str) or not ID_PATTERN.match(name):
        log.error(line_of(doc, "ruleset") or 1, "`ruleset:` must name the rule set in lowercase "
                  "letters, digits and dashes", "write e.g. `ruleset: cold-chain`")
        name = file
    stage = doc.get("stage")
    if stage not in STAGES:
        log.error(line_of(doc, "stage") or 1, f"`stage: {stage}` is not a stage",
                  _hint(suggest(stage, STAGES), f"use one of: {', '.join(STAGES)}"))
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
                      _hint(suggest(key, RULE_KEYS), f"allowed: {', '.join(RULE_KEYS)}"))
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
        action = _parse_action(item, log, then_lines[index] or line)
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
                          _hint(suggest(op, OPERATORS), f"operators: {', '.join(OPERATORS)}"))
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


def _parse_action(item: Any, log: ProblemLog, line: int | None) -> Action | None:
    if not isinstance(item, dict):
        log.error(line, "each action must be a mapping such as `include: MODULE`",
                  f"actions: {', '.join(ACTIONS)}")
        return None
    kinds = [k for k in item if k in ACTIONS]
    if len(kinds) != 1:
        unknown = [k for k in item if k not in ACTIONS]
        what = (f"unknown action `{unknown[0]}`" if not kinds and unknown
                else "an action item needs exactly one action key")
        log.error(line, what, _hint(suggest(unknown[0], ACTIONS) if unknown else "",
                                    f"actions: {', '.join(ACTIONS)}"))
        return None
    kind = kinds[0]
    for key in item:
        if key != kind and key not in ACTIONS[kind]:
            log.error(line_of(item, key) or line, f"`{key}` is not an option of `{kind}`",
                      _hint(suggest(key, ACTIONS[kind]),
                            f"`{kind}` takes: {', '.join(ACTIONS[kind]) or 'no options beside it'}"))
    value = item[kind]
    params: dict[str, Any] = {}
    if kind in ("include", "recommend", "exclude"):
        if not isinstance(value, str):
            log.error(line, f"`{kind}:` must name one module id", f"write `{kind}: platform-core`")
            return None
        params["module"] = value
        params["reason"] = _template(item.get("reason", ""), log, line_of(item, "reason") or line)
        if kind == "include":
            params["quantity"] = _expression(item.get("quantity", 1), log,
                                             line_of(item, "quantity") or line)
    elif kind == "derive":
        if not isinstance(value, dict) or not value:
            log.error(line, "`derive:` must be a mapping of name: value", "write `derive: {tier: key}`")
            return None
        values = {}
        for name, raw in value.items():
            if not isinstance(name, str) or not re.match(r"^[a-z_][a-z0-9_]*$", name):
                log.error(line_of(value, name) or line, f"derived fact name `{name}` must be "
                          "lowercase letters, digits and _", "write e.g. `account_tier`")
                continue
            if isinstance(raw, dict):
                if set(raw) != {"expr"}:
                    log.error(line_of(value, name) or line, f"`{name}:` as a mapping must be "
                              "`{expr: ...}`", "write e.g. `{expr: profile.sites * 2}`")
                    continue
                values[name] = _expression(raw["expr"], log, line_of(value, name) or line)
            elif literal_type(plain(raw)) is None:
                log.error(line_of(value, name) or line, f"`{name}` must be a number, text, "
                          "true/false, a list, or {expr: ...}")
            else:
                values[name] = plain(raw)
        params["values"] = values
    elif kind in ("discount", "surcharge"):
        params.update(_parse_price_change(kind, value, log, line))
    elif kind == "require_approval":
        if not isinstance(value, dict) or not isinstance(value.get("role"), str):
            log.error(line, "`require_approval:` needs `role`", "write `{role: finance, reason: ...}`")
            return None
        _only_keys(value, ("role", "reason"), kind, log, line)
        params["role"] = value["role"]
        params["reason"] = _template(value.get("reason", ""), log, line)
    elif kind == "service_level":
        if not isinstance(value, dict) or not value:
            log.error(line, "`service_level:` must be a mapping such as {response_hours: 4}")
            return None
        params["values"] = plain(value)
    elif kind == "team":
        if not isinstance(value, dict) or not isinstance(value.get("role"), str):
            log.error(line, "`team:` needs `role`", "write `{role: delivery-lead, responsibility: ...}`")
            return None
        params["member"] = plain(value)
    elif kind == "note":
        if not isinstance(value, dict) or not isinstance(value.get("text"), str):
            log.error(line, "`note:` needs `section` and `text`",
                      f"sections: {', '.join(NOTE_SECTIONS)}")
            return None
        _only_keys(value, ("section", "text"), kind, log, line)
        section = value.get("section", "solution")
        if section not in NOTE_SECTIONS:
            log.error(line, f"note section `{section}` is not a proposal section",
                      _hint(suggest(section, NOTE_SECTIONS), f"use: {', '.join(NOTE_SECTIONS)}"))
        params["section"] = section
        params["text"] = _template(value["text"], log, line)
    elif kind == "warn":
        if not isinstance(value, str):
            log.error(line, "`warn:` takes a text")
            return None
        params["text"] = _template(value, log, line)
    return Action(kind, params, line)


def _only_keys(node: dict, keys: tuple[str, ...], kind: str, log: ProblemLog, line: int | None):
    for key in node:
        if key not in keys:
            log.error(line_of(node, key) or line, f"`{key}` is not a key of `{kind}`",
                      _hint(suggest(key, keys), f"allowed: {', '.join(keys)}"))


def _parse_price_change(kind: str, value: Any, log: ProblemLog, line: int | None) -> dict:
    if not isinstance(value, dict):
        log.error(line, f"`{kind}:` must be a mapping with percent or amount, applies_to, reason",
                  f"write `{kind}: {{percent: 5, applies_to: total, reason: ...}}`")
        return {}
    _only_keys(value, ("percent", "amount", "applies_to", "reason"), kind, log, line)
    has = [k for k in ("percent", "amount") if k in value]
    if len(has) != 1:
        log.error(line, f"`{kind}` needs exactly one of `percent` or `amount`")
        return {}
    number = _expression(value[has[0]], log, line_of(value, has[0]) or line)
    applies_to = value.get("applies_to", "total")
    if not isinstance(applies_to, str):
        log.error(line, "`applies_to` must be a module id, family:FAMILY or total")
        applies_to = "total"
    return {has[0]: number, "applies_to": applies_to,
            "reason": _template(value.get("reason", ""), log, line)}


def _expression(source: Any, log: ProblemLog, line: int | None):
    if source.__class__ in (int, float, bool) or \
            (source.__class__ is str and len(source) <= MAX_KEPT_TEXT):
        expression, error = _parsed_expression(source)
    else:                      # long, or not hashable (a list or mapping): not kept
        expression, error = _parsed_expression.__wrapped__(source)
    if error:
        log.error(line, error, "see the quantity expressions section of README.md")
    return expression


# Rules repeat the same quantities, reasons and texts; each is parsed once (an Expression or
# Template is immutable, so rules can share it). Only short texts are kept, so that the caches
# stay small whatever the packs loaded.
MAX_KEPT_TEXT = 500


@functools.lru_cache(maxsize=4096, typed=True)
def _parsed_expression(source: Any) -> tuple[Any, str]:
    """(the expression, "") or (the expression 0, why `source` is not one)."""
    try:
        return parse_expression(source), ""
    except ExpressionError as exc:
        return parse_expression(0), str(exc)


def _template(source: Any, log: ProblemLog, line: int | None) -> Template:
    if not isinstance(source, str):
        log.error(line, "a reason or text must be a string")
        source = str(source)
    template, errors = (_parsed_template(source) if len(source) <= MAX_KEPT_TEXT
                        else _parsed_template.__wrapped__(source))
    for message in errors:
        log.error(line, message, "placeholders hold a fact path such as {profile.sites}")
    return template


@functools.lru_cache(maxsize=4096)
def _parsed_template(source: str) -> tuple[Template, tuple[str, ...]]:
    """The template, and what is wrong with its placeholders."""
    parts: list[Any] = []
    errors: list[str] = []
    pos = 0
    for match in PLACEHOLDER.finditer(source):
        parts.append(source[pos:match.start()])
        try:
            parts.append(parse_expression(match.group(1)))
        except ExpressionError as exc:
            errors.append(f"placeholder {{{match.group(1)}}}: {exc}")
            parts.append(match.group(0))
        pos = match.end()
    parts.append(source[pos:])
    return Template(source, tuple(p for p in parts if p != "")), tuple(errors)


# --- meaning: facts, types, modules ----------------------------------------------------------

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
    checked: dict[tuple, tuple[str, str] | None] = {}     # rules repeat the same tests
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
            _check_condition(rule.when, facts, log, checked)
            for action in rule.then:
                _check_action(action, rule, facts, catalog, log)


def _check_condition(cond: Condition, facts: FactTypes, log: ProblemLog,
                     checked: dict[tuple, tuple[str, str] | None]) -> None:
    if isinstance(cond, (AllOf, AnyOf)):
        for item in cond.items:
            _check_condition(item, facts, log, checked)
    elif isinstance(cond, Not):
        _check_condition(cond.item, facts, log, checked)
    else:
        try:
            key = (cond.path, cond.op, frozen(cond.value))
            message = checked[key]
        except KeyError:
            message = checked[key] = check_test(cond, facts)
        except TypeError:          # an operand that cannot be a key
            message = check_test(cond, facts)
        if message:
            log.error(cond.line, *message)


def frozen(value: Any) -> Any:
    """`value` as a key that tells apart what compares equal across types (1, 1.0, true): a
    text is itself, anything else a tuple (its type, its value)."""
    cls = value.__class__
    if cls is str:
        return value
    if cls is list:
        return list, tuple(frozen(v) for v in value)
    return cls, value


def _known_paths(facts: FactTypes) -> list[str]:
    paths = [f"profile.{k}" for k in facts.profile.fields]
    for name, spec in facts.profile.fields.items():
        paths += [f"profile.{name}.{sub}" for sub in spec.fields]
    paths += [f"derived.{k}" for k in facts.derived]
    paths += [f"solution.{k}" for k in ("modules", "families", "excluded", "recommended",
                                         "line_count", "total_one_time", "total_monthly",
                                         "total_yearly", "annual_recurring", "first_year",
                                         "max_discount", "approvals")]
    return paths


def check_test(test: Test, facts: FactTypes) -> tuple[str, str] | None:
    """(message, hint) when the test cannot work with the fact's declared type."""
    ftype, why = facts.resolve(test.path)
    if ftype is None:
        return why, suggest(test.path, _known_paths(facts)) or "check the spelling of the path"
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
        if ftype.type not in ("string", "enum", "date"):
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
        return f"{path} is {ftype.type} text but is compared with {value!r}", \
            f"put the value in quotes: \"{value}\""
    if ftype.type == "enum" and value not in ftype.values:
        return (f"`{value}` is not a value of {path}",
                _hint(suggest(value, ftype.values), f"allowed: {', '.join(ftype.values)}"))
    if ftype.type == "date":
        try:
            dt.date.fromisoformat(value)
        except ValueError:
            return f"{path} is a date but `{value}` is not yyyy-mm-dd", "write e.g. 2026-12-31"
    return None


def _check_action(action: Action, rule: Rule, facts: FactTypes, catalog: Catalog,
                  log: ProblemLog) -> None:
    params = action.params
    if "module" in params and params["module"] not in catalog.modules:
        log.error(action.line, f"module `{params['module']}` is not in the catalog",
                  suggest(params["module"], catalog.modules) or "check catalog/*.yaml for the id")
    if "applies_to" in params:
        target = params["applies_to"]
        if target.startswith("family:"):
            if target[7:] not in catalog.families:
                log.error(action.line, f"family `{target[7:]}` is not in the catalog",
                          suggest(target[7:], catalog.families) or "")
        elif target != "total" and target not in catalog.modules:
            log.error(action.line, f"`applies_to: {target}` names no module",
                      _hint(suggest(target, catalog.modules), "use a module id, family:FAMILY or total"))
    if action.kind == "require_approval" and not params["role"].strip():
        log.error(action.line, "approval role is empty")
    if action.kind == "team" and not str(params["member"].get("role", "")).strip():
        log.error(action.line, "team role is empty")
    for paths in _expressions_and_templates(params):
        for path in paths:
            ftype, why = facts.resolve(path)
            if ftype is None:
                log.error(action.line, why, suggest(path, _known_paths(facts)))
    numeric = [params.get(k) for k in ("quantity", "percent", "amount")]
    if isinstance(params.get("values"), dict) and action.kind == "derive":
        numeric += list(params["values"].values())
    for name, raw in (params.get("values") or {}).items() if action.kind == "derive" else ():
        if isinstance(raw, float) and not (math.isfinite(raw) and abs(raw) < MAX_NUMBER):
            log.error(action.line, f"derived `{name}: {raw!r}` is not a number the rules engine "
                      f"can compare", f"use a number between -{MAX_NUMBER:.0e} and {MAX_NUMBER:.0e}")
    for expr in numeric:
        if not isinstance(expr, Expression):
            continue
        if not expr.paths:            # a constant: its value is known now
            problem = _constant_problem(expr, action.kind)
            if problem:
                log.error(action.line, problem, "write a plain number such as 5 or 12.5")
        for path in expr.paths:
            ftype, _ = facts.resolve(path)
            if ftype is not None and not ftype.numeric:
                log.error(action.line, f"`{expr.source}` does arithmetic on {path}, "
                          f"which is a {ftype.type}", "use number fields in expressions")


MAX_AMOUNT = 1e12        # money in an action (as for a catalog price): cents of it stay exact


def _constant_problem(expr: Any, kind: str) -> str | None:
    """Why a constant number in an action cannot be used (`.nan`, `.inf`, 1e308, 1/0), or None."""
    try:
        value = expr.evaluate({})
    except ExpressionError as exc:
        return str(exc)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return f"`{expr.source}` is not a number"
    limit = MAX_AMOUNT if kind in ("discount", "surcharge") else MAX_NUMBER
    if not math.isfinite(value) or abs(value) >= limit:
        return f"`{expr.source}` is not a usable number: it must be finite and smaller than " \
               f"{limit:.0e}"
    return None


def _expressions_and_templates(params: dict):
    """The fact paths each expression or template in an action's parameters reads."""
    values = list(params.values())
    if isinstance(params.get("values"), dict):
        values += list(params["values"].values())
    for value in values:
        if isinstance(value, Expression):
            yield value.paths
        elif isinstance(value, Template):
            yield [p for part in value.parts if isinstance(part, Expression) for p in part.paths]
