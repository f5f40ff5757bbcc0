"""The `then:` of a rule: read actions, with their quantity expressions and text templates (each
parsed once and shared), and check them against the catalog and the fact types.

The rule-set file and the rule around the actions are read in rules.py.
"""
from __future__ import annotations

import functools
import math
import re
from typing import Any

from .document import NOTE_SECTIONS
from .expressions import Expression, ExpressionError, parse_expression
from .facts import FactTypes, literal_type
from .model import Action, Catalog, Rule, Template
from .problems import ProblemLog, suggest
from .rule_conditions import MAX_NUMBER, hint, known_paths
from .yamlfile import line_of, plain

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
PLACEHOLDER = re.compile(r"\{([^{}]+)\}")


# --- reading ---------------------------------------------------------------------------------

def parse_action(item: Any, log: ProblemLog, line: int | None) -> Action | None:
    if not isinstance(item, dict):
        log.error(line, "each action must be a mapping such as `include: MODULE`",
                  f"actions: {', '.join(ACTIONS)}")
        return None
    kinds = [k for k in item if k in ACTIONS]
    if len(kinds) != 1:
        unknown = [k for k in item if k not in ACTIONS]
        what = (f"unknown action `{unknown[0]}`" if not kinds and unknown
                else "an action item needs exactly one action key")
        log.error(line, what, hint(suggest(unknown[0], ACTIONS) if unknown else "",
                                    f"actions: {', '.join(ACTIONS)}"))
        return None
    kind = kinds[0]
    for key in item:
        if key != kind and key not in ACTIONS[kind]:
            log.error(line_of(item, key) or line, f"`{key}` is not an option of `{kind}`",
                      hint(suggest(key, ACTIONS[kind]),
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
                      hint(suggest(section, NOTE_SECTIONS), f"use: {', '.join(NOTE_SECTIONS)}"))
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
                      hint(suggest(key, keys), f"allowed: {', '.join(keys)}"))


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


# --- checking against the catalog and the fact types --------------------------------------

def check_action(action: Action, rule: Rule, facts: FactTypes, catalog: Catalog,
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
                      hint(suggest(target, catalog.modules), "use a module id, family:FAMILY or total"))
    if action.kind == "require_approval" and not params["role"].strip():
        log.error(action.line, "approval role is empty")
    if action.kind == "team" and not str(params["member"].get("role", "")).strip():
        log.error(action.line, "team role is empty")
    for paths in _expressions_and_templates(params):
        for path in paths:
            ftype, why = facts.resolve(path)
            if ftype is None:
                log.error(action.line, why, suggest(path, known_paths(facts)))
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
