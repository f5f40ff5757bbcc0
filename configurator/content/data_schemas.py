"""JSON Schemas of the content files that declare rather than decide: catalog/*.yaml (modules and
prices), rules/profile.yaml (the profile's fields) and rules/tests/*.yaml (example customers).

The rule-set schema, and what all of them are for, are in schemas.py.
"""
from __future__ import annotations

from typing import Iterable

from .adjustments import ACTIONS as ADJUSTMENT_ACTIONS
from .adjustments import KEYS as ADJUSTMENT_KEYS
from .adjustments import MAX_ADJUSTMENTS, MAX_QUANTITY
from .catalog import FAMILY_KEYS, MODULE_KEYS, PRICE_KEYS
from .document import BILLINGS, STATUSES, TOTAL_KEYS
from .model import KINDS
from .pack import EXPECT_KEYS, TEST_KEYS
from .profile import DEFAULT_MAX_ITEMS, DEFAULT_MAX_LENGTH, FIELD_KEYS, TYPES
from .regex import MAX_LENGTH as MAX_PATTERN
from .schema_parts import DATE, ID, Schema, closed, document, id_, ids, pick, ref, text


# --- catalog/*.yaml --------------------------------------------------------------------------

def catalog_schema() -> Schema:
    price = closed(pick({
        "amount": {"anyOf": [{"type": "number", "minimum": 0},
                             {"type": "string", "pattern": r"^\d+(\.\d+)?$"}],
                   "description": "List price of one unit, 0 or more, without currency: `45`, "
                                  "`1250.50`."},
        "currency": text("Three-letter currency code in capitals, e.g. USD. The whole catalog "
                         "uses one currency; it becomes the currency of every proposal.",
                          pattern="^[A-Z]{3}$"),
        "per": text("What one unit is, as the proposal shows it: sensor, site, user, day. "
                    "Default: unit.", default="unit"),
        "billing": {"enum": list(BILLINGS),
                    "description": "How often the price is charged: " + ", ".join(BILLINGS)
                                   + ". Monthly and yearly prices count towards the annual "
                                   "recurring and first-year totals."},
    }, PRICE_KEYS, "price keys", __name__), required=("amount", "currency", "billing"),
        description="The list price: `{amount: 45, currency: USD, per: sensor, billing: "
                    "one_time}`.")
    module = closed(pick({
        "id": id_("The module's id, unique across the whole catalog; rules and other modules "
                  "refer to it."),
        "name": text("The module's name as customers read it in the proposal."),
        "kind": {"enum": list(KINDS),
                 "description": "What sort of building block this is: " + ", ".join(KINDS) + "."},
        "description": text("Customer-facing description, shown in the proposal."),
        "price": ref("price"),
        "requires": {**ids("Modules this one needs. They are pulled into every solution that "
                           "holds this module, with the reason \"Required by ...\"."),
                     "type": ["array", "null"]},
        "excludes": {**ids("Modules that may never be in the same solution as this one. "
                           "A rule that brings both in makes the configuration a conflict."),
                     "type": ["array", "null"]},
        "benefits": {"type": ["array", "null"], "items": {"type": "string"},
                     "description": "What the customer gains, one sentence each; the proposal "
                                    "lists them."},
    }, MODULE_KEYS, "module keys", __name__), required=("id", "name", "kind", "price"),
        description="One building block of a solution.")
    family = pick({
        "family": id_("The product family's id, unique across the catalog; one file per "
                      "family. Discounts can target it as `family:ID`."),
        "title": text("The family's name as the proposal shows it."),
        "description": text("What the family offers, in a sentence or two. Optional."),
        "modules": {"type": "array", "items": ref("module"),
                    "description": "The family's modules."},
    }, FAMILY_KEYS, "catalog file keys", __name__)
    return document(
        "Catalog file (catalog/FAMILY.yaml)",
        "One product family of the modular catalog: its modules with prices, what each requires "
        "and excludes, and what it brings the customer. `configurator check` also checks that ids "
        "are unique and every requires/excludes target exists.",
        closed(family, required=("family", "modules")),
        {"module": module, "price": price})


# --- rules/profile.yaml ----------------------------------------------------------------------

FIELD_NAME = r"^[A-Za-z0-9_-]*[A-Za-z0-9][A-Za-z0-9_-]*$"
TYPE_HELP = {
    "string": "text", "integer": "a whole number", "number": "a number",
    "boolean": "true or false", "enum": "one of `values`", "date": "a date, yyyy-mm-dd",
    "list": "a list of `items`", "object": "a group of `fields`",
    "country": "an ISO 3166-1 alpha-2 country code such as DE or CN",
    "currency": "an ISO 4217 currency code such as EUR or USD",
}


def profile_schema() -> Schema:
    pick(TYPE_HELP, TYPES, "field types", __name__)
    numeric = ("integer", "number")

    def when_type(types: Iterable[str], then: Schema, otherwise: Schema | None = None) -> Schema:
        out = {"if": {"properties": {"type": {"enum": list(types)}}, "required": ["type"]},
               "then": then}
        if otherwise is not None:
            out["else"] = otherwise
        return out

    fields = {"type": "object", "minProperties": 1, "propertyNames": {"pattern": FIELD_NAME},
              "additionalProperties": ref("field"),
              "description": "Field name (letters, digits, _ and -) to its declaration."}
    item = {"allOf": [ref("field"),
                      {"properties": {"type": {"not": {"const": "list"}}}}],
            "description": "The declaration of one item: `{type: enum, values: [...]}` or "
                           "`{type: object, fields: {...}}`. Lists of lists are not allowed."}
    field = closed(pick({
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
        "label": text("The field's name on the web form and in messages."),
        "help": text("A sentence shown under the field on the web form: what to enter."),
        "pattern": {"type": "string", "minLength": 1, "maxLength": MAX_PATTERN,
                    "description": "string fields: a regular expression the whole value must "
                                   "match, written as for a rule's `matches` (letters, . [] () | "
                                   "* + ? {m,n}, \\d, \\s): `'[A-Z]{2}[0-9]{8,12}'`."},
        "max_length": {"type": "integer", "minimum": 1, "default": DEFAULT_MAX_LENGTH,
                       "description": f"Longest text allowed; default {DEFAULT_MAX_LENGTH} "
                                      "characters."},
        "max_items": {"type": "integer", "minimum": 1, "default": DEFAULT_MAX_ITEMS,
                      "description": f"Most items a list may hold; default {DEFAULT_MAX_ITEMS}."},
    }, FIELD_KEYS, "profile field keys", __name__), required=("type",), allOf=[
        when_type(["enum"], {"required": ["values"]}, {"not": {"required": ["values"]}}),
        when_type(["string"], {}, {"not": {"required": ["pattern"]}}),
        when_type(["list"], {"required": ["items"]}),
        when_type(["object"], {"required": ["fields"]}),
        when_type(numeric, {}, {"not": {"anyOf": [{"required": ["min"]},
                                                  {"required": ["max"]}]}}),
    ], description="One profile field: `{type: integer, min: 1, required: true, label: ...}`.")
    return document(
        "Profile declaration (rules/profile.yaml)",
        "The fields a customer profile has. Profile validation, the web form and the rule checks "
        "all follow this one declaration; rules read the fields as `profile.NAME`.",
        closed({"fields": {**fields, "required": ["name"],
                           "description": "The profile's fields; `name` (the company name) is "
                                          "required. " + fields["description"]}},
               required=("fields",)),
        {"field": field})


# --- rules/tests/*.yaml ----------------------------------------------------------------------

ADJUSTMENT_KEY_HELP: dict[str, Schema] = {
    "action": {"enum": list(ADJUSTMENT_ACTIONS),
               "description": "accept a recommendation, add or remove a module, change a "
                              "quantity, or add a discount."},
    "module": id_("The module the change is about."),
    "quantity": {"type": "integer", "minimum": 0, "maximum": MAX_QUANTITY,
                 "description": "The new quantity (0 removes the line)."},
    "percent": {"type": ["number", "string"], "description": "Discount in percent, above 0 and "
                                                             "at most 100."},
    "applies_to": text("What the discount applies to: a module id, family:FAMILY or total."),
    "reason": text("Why the solution lead made the change.", maxLength=500),
    "by": text("Who made the change.", maxLength=100),
}

EXPECT_HELP: dict[str, Schema] = {
    "status": {"enum": list(STATUSES), "description": "The configuration's status: "
                                                      + ", ".join(STATUSES) + "."},
    "includes": ids("Modules that must each be a line."),
    "absent": ids("Modules that must not be a line."),
    "excluded": ids("Modules that must each be listed under exclusions."),
    "recommends": ids("Modules that must each be recommended."),
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
    totals = closed({k: {"type": "number", "description": f"Expected {v}, to the cent."}
                     for k, v in pick(TOTAL_HELP, TOTAL_KEYS, "totals", __name__).items()},
                    description="Total name to the expected amount: `{first_year: 123456.78}`.")
    expect = closed(pick({**EXPECT_HELP, "totals": totals}, EXPECT_KEYS, "expectations", __name__),
                    description="What the configuration must show. Only what is listed is "
                                "compared.")
    adjustment = closed(pick(ADJUSTMENT_KEY_HELP, ADJUSTMENT_KEYS, "adjustment keys", __name__),
                        required=("action",),
                         description="One change by a solution lead: "
                                     "`{action: add, module: training-onsite, quantity: 2}`.")
    test = closed(pick({
        "name": text("What the example shows, in a sentence; unique across rules/tests/.",
                     minLength=1),
        "date": {**DATE, "description": "The day the configuration is made for (yyyy-mm-dd), "
                                        "for rules with `effective` dates. Default: today."},
        "profile": {"type": "object", "description": "The example customer's profile, with "
                                                     "the fields declared in rules/profile.yaml."},
        "adjustments": {"type": ["array", "null"], "items": ref("adjustment"),
                        "maxItems": MAX_ADJUSTMENTS,
                        "description": "Changes a solution lead makes, applied before the "
                                       "expectations are compared. Optional."},
        "expect": ref("expect"),
    }, TEST_KEYS, "rule-test keys", __name__), required=("name", "profile"),
        description="One example customer with its expected outcome.")
    return document(
        "Rule tests (rules/tests/NAME.yaml)",
        "Example customers with their expected outcome; `configurator test` runs them all and "
        "prints every difference in words.",
        {"type": "array", "items": ref("test")},
        {"test": test, "expect": expect, "adjustment": adjustment})
