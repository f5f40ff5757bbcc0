"""A profile declaration (`rules/profile.yaml`, profile.py's ProfileSpec) as a JSON Schema of the
profiles it accepts: what the OpenAPI document publishes as the `Profile` component, so a
generated client types a profile without reading the declaration's own format.

The schema says what profile.py's validation checks, in the JSON Schema words OpenAPI 3.0 also
reads (no `$defs`, `const` or type lists): types, `required`, `enum`, bounds as `minimum` /
`maximum` (with the 10^15 every number is held to), `minLength` / `maxLength`, `maxItems`,
`pattern` (whole-value, as the declaration means it), nested objects and lists, no unknown fields
(`additionalProperties: false`), and ISO codes as the `enum` of iso.py's code lists, the standard
named in the description (no `format`: tools would not know one). It is stricter where the
validation forgives: JSON numbers and booleans only (no numbers in quotes), and no empty text
for an optional code or enum. What no JSON Schema says is left to the validation: text that
cannot be stored (NUL), and a pattern's `\\s` being ASCII only.
"""
from __future__ import annotations

from typing import Any

from .iso import CODE_SETS
from .profile import FieldSpec, ProfileSpec

Schema = dict[str, Any]

# What every number of a profile is held to (profile.py, `_finite`).
LIMIT = 10 ** 15
DATE_HELP = "A date, yyyy-mm-dd"


def profile_json_schema(spec: ProfileSpec) -> Schema:
    """The JSON Schema of the profiles `spec` accepts (without `$schema`: the same object is an
    OpenAPI 3.0 schema)."""
    return _object(spec.fields, {"title": "Profile", "description": (
        "A customer's business profile, with the fields the served content pack declares "
        "(rules/profile.yaml)")})


def _object(fields: dict[str, FieldSpec], words: Schema) -> Schema:
    out: Schema = {"type": "object", **words,
                   "properties": {name: _field(field) for name, field in fields.items()}}
    required = [name for name, field in fields.items() if field.required]
    if required:                        # OpenAPI 3.0 wants a list of at least one
        out["required"] = required
    out["additionalProperties"] = False
    return out


def _field(spec: FieldSpec) -> Schema:
    words: Schema = {}
    if spec.label:
        words["title"] = spec.label
    if spec.help:
        words["description"] = spec.help
    out = _typed(spec, words)
    if spec.default is not None:
        out["default"] = spec.default
    return out


def _typed(spec: FieldSpec, words: Schema) -> Schema:
    if spec.type == "string":
        out: Schema = {"type": "string", **words, "minLength": 1 if spec.required else 0,
                       "maxLength": spec.max_length}
        if spec.pattern:
            out["pattern"] = f"^(?:{spec.pattern})$"
        return out
    if spec.type in CODE_SETS:
        codes = CODE_SETS[spec.type]
        about = f"An {codes.standard} code: {codes.shape}, such as {', '.join(codes.examples)}."
        description = f"{words['description']} {about}" if "description" in words else about
        return {"type": "string", **words, "description": description,
                "enum": sorted(codes.names)}
    if spec.type == "enum":
        return {"type": "string", **words, "enum": list(spec.values)}
    if spec.type in ("integer", "number"):
        low = -LIMIT if spec.min is None else max(spec.min, -LIMIT)
        high = LIMIT if spec.max is None else min(spec.max, LIMIT)
        return {"type": spec.type, **words, "minimum": low, "maximum": high}
    if spec.type == "boolean":
        return {"type": "boolean", **words}
    if spec.type == "date":
        return {"type": "string", **words, "format": "date",
                **({} if "description" in words else {"description": DATE_HELP})}
    if spec.type == "list":
        assert spec.items is not None
        return {"type": "array", **words, "items": _field(spec.items),
                "maxItems": spec.max_items}
    if spec.type == "object":
        return _object(spec.fields, words)
    raise AssertionError(spec.type)  # pragma: no cover - the loader refuses other types
