"""JSON Schemas for the content files, built from the loader's own definitions.

A YAML-aware editor (VS Code with Red Hat's YAML extension, IntelliJ, Neovim with yaml-language-
server) reads the `# yaml-language-server: $schema=...` line at the top of a content file and then
completes keys, operators, actions, kinds, billing periods, stages and types, shows the
descriptions below on hover, and underlines what `configurator check` would refuse for its shape.

The key lists, operators, actions, kinds, billing periods, stages, types, statuses and totals come
from the modules that read the files (catalog.py, rules.py, profile.py, pack.py, model.py,
content/adjustments.py); this module adds only the words an editor shows. A key that has no
words here is an error when the schemas are built, so a new key cannot reach the editor
undocumented. What a schema cannot know (which module ids exist, which profile fields are declared,
which values an enum field allows) stays with `configurator check`.

`configurator schemas` writes the four files to `schemas/`; tests/test_schemas.py fails when the
committed files differ from what this module builds.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable, Iterable

from .adjustments import ACTIONS as ADJUSTMENT_ACTIONS
from .adjustments import KEYS as ADJUSTMENT_KEYS
from .adjustments import MAX_ADJUSTMENTS, MAX_QUANTITY
from .catalog import FAMILY_KEYS, MODULE_KEYS, PRICE_KEYS
from .expressions import FUNCTIONS, NAMESPACES
from .model import BILLINGS, KINDS, STAGES
from .pack import EXPECT_KEYS, STATUSES, TEST_KEYS, TOTAL_KEYS
from .profile import DEFAULT_MAX_ITEMS, DEFAULT_MAX_LENGTH, FIELD_KEYS, TYPES
from .rule_actions import ACTIONS, NOTE_SECTIONS
from .rule_conditions import OPERATORS
from .rules import ID_PATTERN, MAX_PRIORITY, RULE_KEYS, RULESET_KEYS

DRAFT = "http://json-schema.org/draft-07/schema#"
Schema = dict[str, Any]


class SchemaGap(Exception):
    """A key the loader accepts has no description here (or a description outlived its key)."""


# --- shared pieces ---------------------------------------------------------------------------

ID = {"type": "string", "pattern": ID_PATTERN.pattern}
DATE = {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}$"}
FACT_PATH = r"^(" + "|".join(NAMESPACES) + r")(\.[A-Za-z0-9_-]+)+$"
SCALAR = {"type": ["string", "number", "boolean"]}


def _id(description: str) -> Schema:
    return {**ID, "description": description + " Lowercase letters, digits, `-` and `_`; no dots."}


def _text(description: str, **extra: Any) -> Schema:
    return {"type": "string", "description": description, **extra}


def _ids(description: str) -> Schema:
    return {"type": "array", "items": ID, "uniqueItems": True, "description": description}


def _expression(description: str) -> Schema:
    functions = ", ".join(FUNCTIONS)
    return {"type": ["number", "string"], "minLength": 1, "maxLength": 500,
            "description": f"{description} A number or an arithmetic expression over facts: "
                           f"`profile.sites * 20`, with + - * / // % and {functions}. "
                           "Never run as code."}


def _template(description: str) -> Schema:
    return _text(f"{description} May hold placeholders filled when the rule fires: "
                 "`{profile.sites}`, `{derived.tier}`, `{profile.sites * 20}`.")


def _document(title: str, description: str, body: Schema, definitions: Schema | None = None) -> Schema:
    out = {"$schema": DRAFT, "title": title, "description": description, **body}
    if definitions:
        out["definitions"] = definitions
    return out


def _ref(name: str) -> Schema:
    return {"$ref": f"#/definitions/{name}"}


def _pick(table: dict[str, Schema], names: Iterable[str], what: str) -> dict[str, Schema]:
    """`table`'s entries for exactly `names` (the code's key list), in the code's order."""
    names = tuple(names)
    missing = [n for n in names if n not in table]
    stale = [n for n in table if n not in names]
    if missing or stale:
        raise SchemaGap(f"configurator/content/schemas.py describes the {what} "
                        + "; ".join(filter(None, [
                            missing and f"without {', '.join(missing)} (add a description)",
                            stale and f"with {', '.join(stale)}, which the loader no longer "
                                      "accepts (remove it)"])))
    return {n: table[n] for n in names}


def _closed(properties: dict[str, Schema], required: Iterable[str] = (), **extra: Any) -> Schema:
    out: Schema = {"type": "object", "properties": properties, "additionalProperties": False}
    required = [r for r in required if r in properties]
    if required:
        out["required"] = required
    out.update(extra)
    return out


# --- catalog/*.yaml --------------------------------------------------------------------------

def catalog_schema() -> Schema:
    price = _closed(_pick({
        "amount": {"anyOf": [{"type": "number", "minimum": 0},
                             {"type": "string", "pattern": r"^\d+(\.\d+)?$"}],
                   "description": "List price of one unit, 0 or more, without currency: `45`, "
                                  "`1250.50`."},
        "currency": _text("Three-letter currency code in capitals, e.g. USD. The whole catalog "
                          "uses one currency; it becomes the currency of every proposal.",
                          pattern="^[A-Z]{3}$"),
        "per": _text("What one unit is, as the proposal shows it: sensor, site, user, day. "
                     "Default: unit.", default="unit"),
        "billing": {"enum": list(BILLINGS),
                    "description": "How often the price is charged: " + ", ".join(BILLINGS)
                                   + ". Monthly and yearly prices count towards the annual "
                                   "recurring and first-year totals."},
    }, PRICE_KEYS, "price keys"), required=("amount", "currency", "billing"),
        description="The list price: `{amount: 45, currency: USD, per: sensor, billing: "
                    "one_time}`.")
    module = _closed(_pick({
        "id": _id("The module's id, unique across the whole catalog; rules and other modules "
                  "refer to it."),
        "name": _text("The module's name as customers read it in the proposal."),
        "kind": {"enum": list(KINDS),
                 "description": "What sort of building block this is: " + ", ".join(KINDS) + "."},
        "description": _text("Customer-facing description, shown in the proposal."),
        "price": _ref("price"),
        "requires": {**_ids("Modules this one needs. They are pulled into every solution that "
                            "holds this module, with the reason \"Required by ...\"."),
                     "type": ["array", "null"]},
        "excludes": {**_ids("Modules that may never be in the same solution as this one. "
                            "A rule that brings both in makes the configuration a conflict."),
                     "type": ["array", "null"]},
        "benefits": {"type": ["array", "null"], "items": {"type": "string"},
                     "description": "What the customer gains, one sentence each; the proposal "
                                    "lists them."},
    }, MODULE_KEYS, "module keys"), required=("id", "name", "kind", "price"),
        description="One building block of a solution.")
    family = _pick({
        "family": _id("The product family's id, unique across the catalog; one file per "
                      "family. Discounts can target it as `family:ID`."),
        "title": _text("The family's name as the proposal shows it."),
        "description": _text("What the family offers, in a sentence or two. Optional."),
        "modules": {"type": "array", "items": _ref("module"),
                    "description": "The family's modules."},
    }, FAMILY_KEYS, "catalog file keys")
    return _document(
        "Catalog file (catalog/FAMILY.yaml)",
        "One product family of the modular catalog: its modules with prices, what each requires "
        "and excludes, and what it brings the customer. `configurator check` also checks that ids "
        "are unique and every requires/excludes target exists.",
        _closed(family, required=("family", "modules")),
        {"module": module, "price": price})


# --- rules/*.yaml ----------------------------------------------------------------------------

OPERATOR_HELP: dict[str, Schema] = {
    "eq": {**SCALAR, "description": "Equal to this value (the same as writing the bare value)."},
    "ne": {**SCALAR, "description": "Has a value and it differs from this one."},
    "lt": {"type": ["number", "string"], "description": "Less than this number, or before this "
                                                        "date ('2026-01-01')."},
    "lte": {"type": ["number", "string"], "description": "At most this number, or on or before "
                                                         "this date."},
    "gt": {"type": ["number", "string"], "description": "More than this number, or after this "
                                                        "date."},
    "gte": {"type": ["number", "string"], "description": "At least this number, or on or after "
                                                         "this date."},
    "in": {"type": "array", "items": SCALAR, "minItems": 1,
           "description": "One of these values: `{in: [food, pharma]}`."},
    "not_in": {"type": "array", "items": SCALAR, "minItems": 1,
               "description": "None of these values."},
    "contains": {**SCALAR, "description": "The list field holds this value: "
                                          "`profile.needs: {contains: cold-chain}`."},
    "contains_any": {"type": "array", "items": SCALAR, "minItems": 1,
                     "description": "The list field holds at least one of these values."},
    "contains_all": {"type": "array", "items": SCALAR, "minItems": 1,
                     "description": "The list field holds every one of these values."},
    "matches": {"type": "string", "description": "The whole text matches this pattern: "
                                                 "`'D[EK]|N.'`. Letters, . [] () | * + ? {m,n}, "
                                                 "\\d and \\s; not \\w."},
    "exists": {"type": "boolean", "description": "true: the fact has a value; false: it has none "
                                                 "(an empty list or text has no value)."},
}

RULE_ACTION_HELP: dict[str, tuple[str, Schema]] = {
    "derive": ("Set derived facts that later rules read as `derived.NAME`: "
               "`derive: {tier: strategic, score: {expr: \"profile.scores.loyalty * 2\"}}`.",
               {"type": "object", "minProperties": 1,
                "propertyNames": {"pattern": "^[a-z_][a-z0-9_]*$"},
                "additionalProperties": {"anyOf": [
                    {"type": ["string", "number", "boolean", "array"]},
                    _closed({"expr": _expression("The value, computed when the rule fires.")},
                            required=("expr",))]},
                "description": "Fact name (lowercase letters, digits, _) to a value: text, "
                               "number, true/false, a list, or {expr: ...}."}),
    "include": ("Put a module in the solution as a line.",
                _id("The module to include.")),
    "recommend": ("Recommend a module: the solution lead sees it and may accept it.",
                  _id("The module to recommend.")),
    "exclude": ("Keep a module out of the solution. Exclusion beats inclusion: the module is "
                "listed under exclusions with this reason.",
                _id("The module to exclude.")),
    "discount": ("Lower the price of a module, a family or the whole solution: "
                 "`discount: {percent: 8, applies_to: family:modules, reason: Key account}`.",
                 _ref("price_change")),
    "surcharge": ("Raise the price of a module, a family or the whole solution; the same shape "
                  "as discount.", _ref("price_change")),
    "require_approval": ("Someone must sign off before the proposal goes out: "
                         "`require_approval: {role: finance, reason: ...}`.",
                         _closed({"role": _text("Who signs off, e.g. finance, legal, "
                                                "head-of-sales.", pattern=r"\S"),
                                  "reason": _template("Why the sign-off is needed.")},
                                 required=("role",))),
    "service_level": ("Service commitments for the proposal. Later rules override single keys: "
                      "`service_level: {response_hours: 4, availability: 99.9}`.",
                      {"type": "object", "minProperties": 1,
                       "properties": {
                           "response_hours": {"type": "number",
                                              "description": "Hours to respond to a critical "
                                                             "incident."},
                           "resolution_hours": {"type": "number",
                                                "description": "Hours to resolve a critical "
                                                               "incident."},
                           "availability": {"type": "number",
                                            "description": "Committed availability in percent, "
                                                           "e.g. 99.9."},
                           "coverage": {"type": "string",
                                        "description": "Support hours, e.g. 24x7 or "
                                                       "business-hours."},
                           "escalation": {"type": "array",
                                          "description": "The escalation path, one step per "
                                                         "level: `{level: 1, role: delivery lead, "
                                                         "within_hours: 2}`."},
                       },
                       "description": "Any keys; those above are the ones proposals show."}),
    "team": ("A role in the account team: `team: {role: delivery-lead, responsibility: ...}`.",
             {"type": "object", "required": ["role"],
              "properties": {"role": _text("The role, e.g. customer-lead, solution-lead, "
                                           "delivery-lead.", pattern=r"\S"),
                             "responsibility": _text("What this role does for the customer.")},
              "description": "`role` and any other details the proposal shows."}),
    "note": ("A text block for the proposal: `note: {section: executive-summary, text: ...}`.",
             _closed({"section": {"enum": list(NOTE_SECTIONS), "default": "solution",
                                  "description": "The proposal section: "
                                                 + ", ".join(NOTE_SECTIONS) + ". Default: solution."},
                      "text": _template("The text.")},
                     required=("text",))),
    "warn": ("A warning on the configuration for the solution lead: "
             "`warn: Budget below the first-year value`.",
             _template("The warning.")),
}

ACTION_OPTION_HELP: dict[str, Schema] = {
    "quantity": {**_expression("How many units; default 1. A fraction rounds up."), "default": 1},
    "reason": _template("Why, in the customer's terms; shown beside the line in the proposal. "
                        "Default: the rule's description."),
}


def _action_branch(kind: str, options: tuple[str, ...]) -> Schema:
    summary, value = RULE_ACTION_HELP[kind]
    value = {**value, "description": summary + (" " + value["description"]
                                                if "description" in value else "")}
    if "$ref" in value:     # draft-07 ignores siblings of $ref; editors still show the words
        value = {"allOf": [{"$ref": value["$ref"]}], "description": value["description"]}
    properties = {kind: value, **{o: ACTION_OPTION_HELP[o] for o in options}}
    return _closed(properties, required=(kind,), title=kind, description=summary)


def ruleset_schema() -> Schema:
    _pick(RULE_ACTION_HELP, ACTIONS, "rule actions")
    used_options = sorted({o for options in ACTIONS.values() for o in options})
    _pick(ACTION_OPTION_HELP, used_options, "action options")
    operators = _closed(_pick(OPERATOR_HELP, OPERATORS, "condition operators"), minProperties=1,
                        description="Operators, all of which must hold: `{gte: 5, lt: 50}`.")
    test = {"anyOf": [{**SCALAR, "description": "Equal to this value."}, _ref("operators")],
            "description": "A bare value (equal to it) or operators: `{gte: 5}`, "
                           "`{in: [food, pharma]}`, `{contains: cold-chain}`, `{exists: false}`."}
    condition = {
        "type": "object",
        "properties": {
            "any": {"type": "array", "minItems": 1, "items": _ref("condition"),
                    "description": "At least one of these conditions holds."},
            "all": {"type": "array", "minItems": 1, "items": _ref("condition"),
                    "description": "Every one of these conditions holds."},
            "not": {"allOf": [_ref("condition"), {"minProperties": 1}],
                    "description": "This condition does not hold."},
        },
        "patternProperties": {FACT_PATH: {
            **test, "description": "A fact: profile.FIELD (rules/profile.yaml), derived.NAME "
                                   "(set by derive) or solution.X (what earlier stages built). "
                                   + test["description"]}},
        "additionalProperties": False,
        "description": "Conditions, all of which must hold. Keys are fact paths "
                       "(`profile.sites: {gte: 5}`) or any / all / not.",
    }
    price_change = _closed({
        "percent": _expression("Percent of the list price, e.g. 8."),
        "amount": _expression("An amount of money; it becomes the equivalent percent of the "
                              "targeted lines' first-year list value."),
        "applies_to": {"type": "string", "default": "total",
                       "pattern": r"^(family:)?" + ID_PATTERN.pattern.lstrip("^"),
                       "description": "What it applies to: a module id, `family:FAMILY` or "
                                      "`total` (default)."},
        "reason": _template("Why, as the proposal shows it."),
    }, oneOf=[{"required": ["percent"]}, {"required": ["amount"]}],
        description="Exactly one of percent or amount, with applies_to and reason.")
    rule = _closed(_pick({
        "id": _id("The rule's id, unique across all rule files; traces and tests name it."),
        "description": _text("What the rule does and why, in business terms. It is the default "
                             "reason of the rule's actions."),
        "priority": {"type": "integer", "minimum": 0, "maximum": MAX_PRIORITY, "default": 0,
                     "description": f"0 to {MAX_PRIORITY}; within a stage higher fires first, "
                                    "ties in file order. Default 0."},
        "draft": {"type": "boolean", "default": False,
                  "description": "true keeps the rule out of production runs; `configurator "
                                 "test`, explain and impact still use it."},
        "effective": _closed({"from": {**DATE, "description": "First day the rule applies "
                                                              "(yyyy-mm-dd)."},
                              "until": {**DATE, "description": "Last day the rule applies "
                                                               "(yyyy-mm-dd)."}},
                             minProperties=1,
                             description="The dates between which the rule applies, both "
                                         "inclusive: `{from: 2026-01-01, until: 2026-12-31}`."),
        "when": {"anyOf": [_ref("condition"), {"type": "null"}],
                 "description": "When the rule fires: a mapping is all-of its entries; combine "
                                "with any / all / not. Leave it out (or `{}`) to always fire."},
        "then": {"type": "array", "minItems": 1, "items": _ref("action"),
                 "description": "What the rule does: a list of actions, each with one action "
                                "key (" + ", ".join(ACTIONS) + ") and its options."},
    }, RULE_KEYS, "rule keys"), required=("id", "then"), description="One rule: when, then.")
    action = {"oneOf": [_action_branch(kind, options) for kind, options in ACTIONS.items()],
              "description": "One action: " + ", ".join(ACTIONS) + "."}
    ruleset = _pick({
        "ruleset": _id("The rule set's name, unique across rules/."),
        "stage": {"enum": list(STAGES),
                  "description": "The stage the rules run in. Stages run in this order: "
                                 + ", ".join(STAGES) + "; each sees what earlier ones derived "
                                 "and built."},
        "description": _text("What this rule set is for. Optional."),
        "rules": {"type": "array", "items": _ref("rule"), "description": "The rules."},
    }, RULESET_KEYS, "rule-set file keys")
    return _document(
        "Rule-set file (rules/NAME.yaml)",
        "Rules of one stage: when conditions over profile, derived and solution facts hold, "
        "then actions. `configurator check` also checks that fact paths exist, values suit the "
        "field's type, and modules and families are in the catalog.",
        _closed(ruleset, required=("ruleset", "stage", "rules")),
        {"rule": rule, "condition": condition, "operators": operators, "action": action,
         "price_change": price_change})


# --- rules/profile.yaml ----------------------------------------------------------------------

FIELD_NAME = r"^[A-Za-z0-9_-]*[A-Za-z0-9][A-Za-z0-9_-]*$"
TYPE_HELP = {
    "string": "text", "integer": "a whole number", "number": "a number",
    "boolean": "true or false", "enum": "one of `values`", "date": "a date, yyyy-mm-dd",
    "list": "a list of `items`", "object": "a group of `fields`",
}


def profile_schema() -> Schema:
    _pick(TYPE_HELP, TYPES, "field types")
    numeric = ("integer", "number")

    def when_type(types: Iterable[str], then: Schema, otherwise: Schema | None = None) -> Schema:
        out = {"if": {"properties": {"type": {"enum": list(types)}}, "required": ["type"]},
               "then": then}
        if otherwise is not None:
            out["else"] = otherwise
        return out

    fields = {"type": "object", "minProperties": 1, "propertyNames": {"pattern": FIELD_NAME},
              "additionalProperties": _ref("field"),
              "description": "Field name (letters, digits, _ and -) to its declaration."}
    item = {"allOf": [_ref("field"),
                      {"properties": {"type": {"not": {"const": "list"}}}}],
            "description": "The declaration of one item: `{type: enum, values: [...]}` or "
                           "`{type: object, fields: {...}}`. Lists of lists are not allowed."}
    field = _closed(_pick({
        "type": {"enum": list(TYPES),
                 "description": "The field's type: " + "; ".join(f"{t}: {TYPE_HELP[t]}"
                                                                 for t in TYPES) + "."},
        "required": {"type": "boolean", "default": False,
                     "description": "true: every profile must give this field."},
        "min": {"type": "number", "description": "Smallest allowed value (integer and number "
                                                 "fields)."},
        "max": {"type": "number", "description": "Largest allowed value (integer and number "
                                                 "fields)."},
        "values": {"type": "array", "minItems": 1, "uniqueItems": True,
                   "items": {"type": "string", "minLength": 1},
                   "description": "The vocabulary of an enum field: `[cold-chain, multi-site]`."},
        "items": item,
        "fields": fields,
        "default": {"description": "The value a profile gets when it leaves the field out."},
        "label": _text("The field's name on the web form and in messages."),
        "help": _text("A sentence shown under the field on the web form: what to enter."),
        "max_length": {"type": "integer", "minimum": 1, "default": DEFAULT_MAX_LENGTH,
                       "description": f"Longest text allowed; default {DEFAULT_MAX_LENGTH} "
                                      "characters."},
        "max_items": {"type": "integer", "minimum": 1, "default": DEFAULT_MAX_ITEMS,
                      "description": f"Most items a list may hold; default {DEFAULT_MAX_ITEMS}."},
    }, FIELD_KEYS, "profile field keys"), required=("type",), allOf=[
        when_type(["enum"], {"required": ["values"]}, {"not": {"required": ["values"]}}),
        when_type(["list"], {"required": ["items"]}),
        when_type(["object"], {"required": ["fields"]}),
        when_type(numeric, {}, {"not": {"anyOf": [{"required": ["min"]},
                                                  {"required": ["max"]}]}}),
    ], description="One profile field: `{type: integer, min: 1, required: true, label: ...}`.")
    return _document(
        "Profile declaration (rules/profile.yaml)",
        "The fields a customer profile has. Profile validation, the web form and the rule checks "
        "all follow this one declaration; rules read the fields as `profile.NAME`.",
        _closed({"fields": {**fields, "required": ["name"],
                            "description": "The profile's fields; `name` (the company name) is "
                                           "required. " + fields["description"]}},
                required=("fields",)),
        {"field": field})


# --- rules/tests/*.yaml ----------------------------------------------------------------------

ADJUSTMENT_KEY_HELP: dict[str, Schema] = {
    "action": {"enum": list(ADJUSTMENT_ACTIONS),
               "description": "accept a recommendation, add or remove a module, change a "
                              "quantity, or add a discount."},
    "module": _id("The module the change is about."),
    "quantity": {"type": "integer", "minimum": 0, "maximum": MAX_QUANTITY,
                 "description": "The new quantity (0 removes the line)."},
    "percent": {"type": ["number", "string"], "description": "Discount in percent, above 0 and "
                                                             "at most 100."},
    "applies_to": _text("What the discount applies to: a module id, family:FAMILY or total."),
    "reason": _text("Why the solution lead made the change.", maxLength=500),
    "by": _text("Who made the change.", maxLength=100),
}

EXPECT_HELP: dict[str, Schema] = {
    "status": {"enum": list(STATUSES), "description": "The configuration's status: "
                                                      + ", ".join(STATUSES) + "."},
    "includes": _ids("Modules that must each be a line."),
    "absent": _ids("Modules that must not be a line."),
    "excluded": _ids("Modules that must each be listed under exclusions."),
    "recommends": _ids("Modules that must each be recommended."),
    "quantities": {"type": "object", "propertyNames": ID,
                   "additionalProperties": {"type": "integer"},
                   "description": "Module id to its expected quantity: `{temp-sensor-pack: 160}`."},
    "derived": {"type": "object", "description": "Derived fact name to its expected value: "
                                                 "`{tier: key}`."},
    "approvals": {"type": "array", "items": {"type": "string"}, "uniqueItems": True,
                  "description": "Exactly this set of approval roles; [] for none."},
    "warnings": {"type": "array", "items": {"type": "string"},
                 "description": "Texts that each must appear in some warning."},
}
TOTAL_HELP = {
    "one_time": "one-time charges", "monthly": "monthly charges", "yearly": "yearly charges",
    "annual_recurring": "12 x monthly + yearly", "first_year": "one-time + annual recurring",
}


def ruletests_schema() -> Schema:
    totals = _closed({k: {"type": "number", "description": f"Expected {v}, to the cent."}
                      for k, v in _pick(TOTAL_HELP, TOTAL_KEYS, "totals").items()},
                     description="Total name to the expected amount: `{first_year: 123456.78}`.")
    expect = _closed(_pick({**EXPECT_HELP, "totals": totals}, EXPECT_KEYS, "expectations"),
                     description="What the configuration must show. Only what is listed is "
                                 "compared.")
    adjustment = _closed(_pick(ADJUSTMENT_KEY_HELP, ADJUSTMENT_KEYS, "adjustment keys"),
                         required=("action",),
                         description="One change by a solution lead: "
                                     "`{action: add, module: training-onsite, quantity: 2}`.")
    test = _closed(_pick({
        "name": _text("What the example shows, in a sentence; unique across rules/tests/.",
                      minLength=1),
        "date": {**DATE, "description": "The day the configuration is made for (yyyy-mm-dd), "
                                        "for rules with `effective` dates. Default: today."},
        "profile": {"type": "object", "description": "The example customer's profile, with "
                                                     "the fields declared in rules/profile.yaml."},
        "adjustments": {"type": ["array", "null"], "items": _ref("adjustment"),
                        "maxItems": MAX_ADJUSTMENTS,
                        "description": "Changes a solution lead makes, applied before the "
                                       "expectations are compared. Optional."},
        "expect": _ref("expect"),
    }, TEST_KEYS, "rule-test keys"), required=("name", "profile"),
        description="One example customer with its expected outcome.")
    return _document(
        "Rule tests (rules/tests/NAME.yaml)",
        "Example customers with their expected outcome; `configurator test` runs them all and "
        "prints every difference in words.",
        {"type": "array", "items": _ref("test")},
        {"test": test, "expect": expect, "adjustment": adjustment})


# --- files -----------------------------------------------------------------------------------

SCHEMAS: dict[str, Callable[[], Schema]] = {
    "catalog": catalog_schema,
    "ruleset": ruleset_schema,
    "profile": profile_schema,
    "ruletests": ruletests_schema,
}


def file_name(name: str) -> str:
    return f"{name}.schema.json"


def schema_for(path: str) -> str | None:
    """Which schema a pack file follows ('catalog/x.yaml' -> 'catalog'), or None."""
    parts = path.split("/")
    if not parts[-1].endswith((".yaml", ".yml")):
        return None
    if parts[0] == "catalog" and len(parts) == 2:
        return "catalog"
    if parts[0] == "rules" and len(parts) == 2:
        return "profile" if parts[1] in ("profile.yaml", "profile.yml") else "ruleset"
    if parts[:2] == ["rules", "tests"] and len(parts) == 3:
        return "ruletests"
    return None


def header(path: str) -> str:
    """The first line a pack file carries so that editors find its schema."""
    name = schema_for(path)
    if name is None:
        raise ValueError(f"{path} is not a catalog, rule, profile or rule-test file")
    return f"# yaml-language-server: $schema={'../' * path.count('/')}schemas/{file_name(name)}"


def render(schema: Schema) -> str:
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def build_schemas() -> dict[str, str]:
    """File name -> file text, for every schema."""
    return {file_name(name): render(build()) for name, build in SCHEMAS.items()}


def write_schemas(directory: str | Path) -> list[Path]:
    """Write every schema into `directory` (created if missing); the paths written."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in build_schemas().items():
        path = directory / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written
