"""JSON Schemas for the content files, built from the loader's own definitions.

A YAML-aware editor (VS Code with Red Hat's YAML extension, IntelliJ, Neovim with yaml-language-
server) reads the `# yaml-language-server: $schema=...` line at the top of a content file and then
completes keys, operators, actions, kinds, billing periods, stages and types, shows the
descriptions below on hover, and underlines what `configurator check` would refuse for its shape.

The key lists, operators, actions, kinds, billing periods, stages, types, statuses and totals come
from the modules that read the files (catalog.py, rules.py, rule_conditions.py, rule_actions.py,
profile.py, pack.py, model.py, content/adjustments.py); the schema modules add only the words an
editor shows. A key that has no words is an error when the schemas are built, so a new key cannot
reach the editor undocumented. What a schema cannot know (which module ids exist, which profile
fields are declared, which values an enum field allows) stays with `configurator check`.

This module holds the schema of rule-set files (conditions, operators, actions) and the list of
the four schemas; data_schemas.py holds those of the catalog, profile and rule-test files, and
schema_parts.py the pieces all four are made of. `configurator schemas` writes the four files to
`schemas/`; tests/content/test_schemas.py fails when the committed files differ from what is built here.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

from .data_schemas import catalog_schema, profile_schema, ruletests_schema
from .document import NOTE_SECTIONS
from .expressions import NAMESPACES
from .model import STAGES
from .rule_actions import ACTIONS
from .rule_conditions import OPERATORS
from .rules import ID_PATTERN, MAX_PRIORITY, RULE_KEYS, RULESET_KEYS
from .schema_parts import (DATE, SCALAR, Schema, closed, document, expression, id_, pick, ref,
                           template, text)
from .schema_parts import SchemaGap  # noqa: F401 - what a build raises when words and keys differ

FACT_PATH = r"^(" + "|".join(NAMESPACES) + r")(\.[A-Za-z0-9_-]+)+$"


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
                    closed({"expr": expression("The value, computed when the rule fires.")},
                           required=("expr",))]},
                "description": "Fact name (lowercase letters, digits, _) to a value: text, "
                               "number, true/false, a list, or {expr: ...}."}),
    "include": ("Put a module in the solution as a line.",
                id_("The module to include.")),
    "recommend": ("Recommend a module: the solution lead sees it and may accept it.",
                  id_("The module to recommend.")),
    "exclude": ("Keep a module out of the solution. Exclusion beats inclusion: the module is "
                "listed under exclusions with this reason.",
                id_("The module to exclude.")),
    "discount": ("Lower the price of a module, a family or the whole solution: "
                 "`discount: {percent: 8, applies_to: family:modules, reason: Key account}`.",
                 ref("price_change")),
    "surcharge": ("Raise the price of a module, a family or the whole solution; the same shape "
                  "as discount.", ref("price_change")),
    "require_approval": ("Someone must sign off before the proposal goes out: "
                         "`require_approval: {role: finance, reason: ...}`.",
                         closed({"role": text("Who signs off, e.g. finance, legal, "
                                              "head-of-sales.", pattern=r"\S"),
                                 "reason": template("Why the sign-off is needed.")},
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
              "properties": {"role": text("The role, e.g. customer-lead, solution-lead, "
                                          "delivery-lead.", pattern=r"\S"),
                             "responsibility": text("What this role does for the customer.")},
              "description": "`role` and any other details the proposal shows."}),
    "note": ("A text block for the proposal: `note: {section: executive-summary, text: ...}`.",
             closed({"section": {"enum": list(NOTE_SECTIONS), "default": "solution",
                                 "description": "The proposal section: "
                                                + ", ".join(NOTE_SECTIONS) + ". Default: solution."},
                     "text": template("The text.")},
                    required=("text",))),
    "warn": ("A warning on the configuration for the solution lead: "
             "`warn: Budget below the first-year value`.",
             template("The warning.")),
}

ACTION_OPTION_HELP: dict[str, Schema] = {
    "quantity": {**expression("How many units; default 1. A fraction rounds up."), "default": 1},
    "reason": template("Why, in the customer's terms; shown beside the line in the proposal. "
                       "Default: the rule's description."),
}


def _action_branch(kind: str, options: tuple[str, ...]) -> Schema:
    summary, value = RULE_ACTION_HELP[kind]
    value = {**value, "description": summary + (" " + value["description"]
                                                if "description" in value else "")}
    if "$ref" in value:     # draft-07 ignores siblings of $ref; editors still show the words
        value = {"allOf": [{"$ref": value["$ref"]}], "description": value["description"]}
    properties = {kind: value, **{o: ACTION_OPTION_HELP[o] for o in options}}
    return closed(properties, required=(kind,), title=kind, description=summary)


def ruleset_schema() -> Schema:
    pick(RULE_ACTION_HELP, ACTIONS, "rule actions", __name__)
    used_options = sorted({o for options in ACTIONS.values() for o in options})
    pick(ACTION_OPTION_HELP, used_options, "action options", __name__)
    operators = closed(pick(OPERATOR_HELP, OPERATORS, "condition operators", __name__),
                       minProperties=1,
                       description="Operators, all of which must hold: `{gte: 5, lt: 50}`.")
    test = {"anyOf": [{**SCALAR, "description": "Equal to this value."}, ref("operators")],
            "description": "A bare value (equal to it) or operators: `{gte: 5}`, "
                           "`{in: [food, pharma]}`, `{contains: cold-chain}`, `{exists: false}`."}
    condition = {
        "type": "object",
        "properties": {
            "any": {"type": "array", "minItems": 1, "items": ref("condition"),
                    "description": "At least one of these conditions holds."},
            "all": {"type": "array", "minItems": 1, "items": ref("condition"),
                    "description": "Every one of these conditions holds."},
            "not": {"allOf": [ref("condition"), {"minProperties": 1}],
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
    price_change = closed({
        "percent": expression("Percent of the list price, e.g. 8."),
        "amount": expression("An amount of money; it becomes the equivalent percent of the "
                             "targeted lines' first-year list value."),
        "applies_to": {"type": "string", "default": "total",
                       "pattern": r"^(family:)?" + ID_PATTERN.pattern.lstrip("^"),
                       "description": "What it applies to: a module id, `family:FAMILY` or "
                                      "`total` (default)."},
        "reason": template("Why, as the proposal shows it."),
    }, oneOf=[{"required": ["percent"]}, {"required": ["amount"]}],
        description="Exactly one of percent or amount, with applies_to and reason.")
    rule = closed(pick({
        "id": id_("The rule's id, unique across all rule files; traces and tests name it."),
        "description": text("What the rule does and why, in business terms. It is the default "
                            "reason of the rule's actions."),
        "priority": {"type": "integer", "minimum": 0, "maximum": MAX_PRIORITY, "default": 0,
                     "description": f"0 to {MAX_PRIORITY}; within a stage higher fires first, "
                                    "ties in file order. Default 0."},
        "draft": {"type": "boolean", "default": False,
                  "description": "true keeps the rule out of production runs; `configurator "
                                 "test`, explain and impact still use it."},
        "effective": closed({"from": {**DATE, "description": "First day the rule applies "
                                                             "(yyyy-mm-dd)."},
                             "until": {**DATE, "description": "Last day the rule applies "
                                                              "(yyyy-mm-dd)."}},
                            minProperties=1,
                             description="The dates between which the rule applies, both "
                                         "inclusive: `{from: 2026-01-01, until: 2026-12-31}`."),
        "when": {"anyOf": [ref("condition"), {"type": "null"}],
                 "description": "When the rule fires: a mapping is all-of its entries; combine "
                                "with any / all / not. Leave it out (or `{}`) to always fire."},
        "then": {"type": "array", "minItems": 1, "items": ref("action"),
                 "description": "What the rule does: a list of actions, each with one action "
                                "key (" + ", ".join(ACTIONS) + ") and its options."},
    }, RULE_KEYS, "rule keys", __name__), required=("id", "then"),
        description="One rule: when, then.")
    action = {"oneOf": [_action_branch(kind, options) for kind, options in ACTIONS.items()],
              "description": "One action: " + ", ".join(ACTIONS) + "."}
    ruleset = pick({
        "ruleset": id_("The rule set's name, unique across rules/."),
        "stage": {"enum": list(STAGES),
                  "description": "The stage the rules run in. Stages run in this order: "
                                 + ", ".join(STAGES) + "; each sees what earlier ones derived "
                                 "and built."},
        "description": text("What this rule set is for. Optional."),
        "rules": {"type": "array", "items": ref("rule"), "description": "The rules."},
    }, RULESET_KEYS, "rule-set file keys", __name__)
    return document(
        "Rule-set file (rules/NAME.yaml)",
        "Rules of one stage: when conditions over profile, derived and solution facts hold, "
        "then actions. `configurator check` also checks that fact paths exist, values suit the "
        "field's type, and modules and families are in the catalog.",
        closed(ruleset, required=("ruleset", "stage", "rules")),
        {"rule": rule, "condition": condition, "operators": operators, "action": action,
         "price_change": price_change})


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
    for name, body in build_schemas().items():
        path = directory / name
        path.write_text(body, encoding="utf-8")
        written.append(path)
    return written
