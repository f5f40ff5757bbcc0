"""The profile declaration (`rules/profile.yaml`): field types, and the validation built from them.

One declaration drives profile validation (marshmallow, here), the web form and rule checking.
`country` and `currency` fields hold ISO codes (iso.py); a string's `pattern` is written and
matched like a rule's `matches` (regex.py), in time linear in the value whatever the pattern.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import marshmallow as ma
from marshmallow import validate

from .iso import CODE_SETS, CodeSet
from .problems import ProblemLog, suggest
from .regex import RegexError, python_pattern
from .yamlfile import line_of, plain

TYPES = ("string", "integer", "number", "boolean", "enum", "date", "list", "object", "country",
         "currency")
FIELD_KEYS = ("type", "required", "min", "max", "values", "items", "fields", "default", "label",
              "help", "pattern", "max_length", "max_items")
PATTERN_HINT = ("use letters, . [] () | * + ? {m,n}, \\d and \\s, as in a rule's `matches`; the "
                "whole value must match (docs/content-format.md, Profile declaration)")
# Generous bounds so that nothing a customer types can exhaust memory or the rules engine.
DEFAULT_MAX_LENGTH = 2000
DEFAULT_MAX_ITEMS = 200
# What a declaration may raise them to, and how deep objects and lists may nest.
# durable-rules keeps a matched text's length in 16 bits, so texts stay well under 65,535.
MAX_LENGTH_LIMIT = 10_000
MAX_ITEMS_LIMIT = 10_000
MAX_DEPTH = 5
# A profile's errors are reported up to this many, naming at most this many characters of a path.
MAX_ERRORS = 100
MAX_PATH = 200


@dataclass
class FieldSpec:
    name: str
    type: str
    required: bool = False
    min: float | None = None
    max: float | None = None
    values: tuple[str, ...] = ()
    items: FieldSpec | None = None
    fields: dict[str, FieldSpec] = field(default_factory=dict)
    default: Any = None
    label: str = ""
    help: str = ""
    pattern: str = ""
    max_length: int = DEFAULT_MAX_LENGTH
    max_items: int = DEFAULT_MAX_ITEMS
    line: int | None = None

    @property
    def title(self) -> str:
        return self.label or self.name.replace("_", " ").capitalize()

    def describe(self) -> dict:
        """A JSON-friendly description, served to forms and API clients."""
        out: dict[str, Any] = {"type": self.type, "required": self.required, "label": self.title}
        if self.type in CODE_SETS:
            out["format"] = CODE_SETS[self.type].standard
        for key in ("min", "max", "pattern", "help"):
            if getattr(self, key) not in (None, ""):
                out[key] = getattr(self, key)
        if self.values:
            out["values"] = list(self.values)
        if self.default is not None:
            out["default"] = self.default
        if self.items:
            out["items"] = self.items.describe()
        if self.fields:
            out["fields"] = {k: f.describe() for k, f in self.fields.items()}
        return out


class ProfileInvalid(Exception):
    """A profile that does not match the declaration; `errors` maps field path to messages."""

    def __init__(self, errors: dict[str, list[str]]):
        self.errors = errors
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items()))


@dataclass
class ProfileSpec:
    fields: dict[str, FieldSpec]

    def field_at(self, dotted: str) -> tuple[FieldSpec | None, bool]:
        """The field at `scores.loyalty` (path relative to the profile), and whether the path
        goes through a list of objects (`contacts.role`: one value per contact)."""
        node: FieldSpec | None = None
        scope = self.fields
        through_list = False
        parts = dotted.split(".")
        for index, part in enumerate(parts):
            node = scope.get(part)
            if node is None:
                return None, through_list
            if node.type == "list" and node.items is not None and node.items.type == "object":
                through_list = through_list or index < len(parts) - 1
                scope = node.items.fields
            else:
                scope = node.fields
        return node, through_list

    def describe(self) -> dict:
        return {"fields": {k: f.describe() for k, f in self.fields.items()}}

    def validate(self, data: Any) -> dict:
        """Validated, normalised profile (dates as ISO strings); raises ProfileInvalid."""
        if not isinstance(data, dict):
            raise ProfileInvalid({"_profile": ["a profile must be an object of fields"]})
        try:
            loaded = self.schema().load(data)
        except ma.ValidationError as exc:
            raise ProfileInvalid(_bounded(_flatten(exc.messages))) from None
        return _normalise(loaded)

    def schema(self) -> ma.Schema:
        if not hasattr(self, "_schema"):
            self._schema = _schema_class(self.fields, "Profile")()
        return self._schema


def _flatten(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    if isinstance(messages, dict):
        for key, value in messages.items():
            if key == "_schema":   # marshmallow's name for "this object as a whole"
                path = prefix or "_profile"
            else:
                path = f"{prefix}.{key}" if prefix else str(key)
            if isinstance(value, list) and all(isinstance(v, str) for v in value):
                out[path] = list(value)
            else:
                out.update(_flatten(value, path))
    elif isinstance(messages, list):
        out[prefix or "_profile"] = [str(m) for m in messages]
    return out


def _bounded(errors: dict[str, list[str]]) -> dict[str, list[str]]:
    """At most MAX_ERRORS fields, their paths cut to MAX_PATH characters: an unknown field named
    with a megabyte of text is not sent back whole, nor are a thousand unknown fields."""
    out: dict[str, list[str]] = {}
    for path, messages in errors.items():
        if len(out) == MAX_ERRORS:
            out.setdefault("_profile", []).append(
                f"and {len(errors) - MAX_ERRORS} more fields with errors")
            break
        shown = path if len(path) <= MAX_PATH else path[:MAX_PATH] + "..."
        out.setdefault(shown, []).extend(messages)
    return out


def _normalise(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _normalise(v) for k, v in value.items() if v is not None and v != ""}
    if isinstance(value, list):
        return [_normalise(v) for v in value]
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _ma_field(spec: FieldSpec) -> ma.fields.Field:
    kwargs: dict[str, Any] = {"required": spec.required}
    if spec.default is not None and not spec.required:
        default = spec.default
        kwargs["load_default"] = (lambda: list(default)) if isinstance(default, list) else default
    rng = validate.Range(min=spec.min, max=spec.max) if (spec.min, spec.max) != (None, None) else None
    if spec.type == "string":
        # an empty optional text counts as not given; a required one must not be empty
        length = validate.Length(min=1 if spec.required else 0, max=spec.max_length)
        checks = [length, _storable]
        if spec.pattern:
            checks.append(_matching(spec.pattern, spec.max_length))
        return ma.fields.String(validate=checks, **kwargs)
    if spec.type in CODE_SETS:
        return ma.fields.String(validate=_iso_code(CODE_SETS[spec.type], spec.required), **kwargs)
    if spec.type == "enum":
        return ma.fields.String(validate=validate.OneOf(spec.values), **kwargs)
    if spec.type == "integer":
        return ma.fields.Integer(strict=True, validate=_finite(rng), **kwargs)
    if spec.type == "number":
        return FourDecimals(allow_nan=False, validate=_finite(rng), **kwargs)
    if spec.type == "boolean":
        return ma.fields.Boolean(**kwargs)
    if spec.type == "date":
        return ma.fields.Date(**kwargs)
    if spec.type == "list":
        assert spec.items is not None
        return ma.fields.List(_ma_field(spec.items), validate=validate.Length(max=spec.max_items),
                              **kwargs)
    if spec.type == "object":
        return ma.fields.Nested(_schema_class(spec.fields, spec.name), **kwargs)
    raise AssertionError(spec.type)  # pragma: no cover - the loader rejects other types


class FourDecimals(ma.fields.Float):
    """A number kept to 4 decimal places: what the rules engine can compare exactly."""

    def _deserialize(self, value, attr, data, **kwargs):
        number = super()._deserialize(value, attr, data, **kwargs)
        return round(number, 4) if number is not None else None


def _storable(text: str) -> None:
    """No NUL (PostgreSQL text cannot hold it) and no half of a UTF-16 surrogate pair (not
    encodable as UTF-8): JSON can carry both as escapes, no database or PDF can keep them."""
    if any(ch == "\0" or "\ud800" <= ch <= "\udfff" for ch in text):
        raise ma.ValidationError("Holds a character that cannot be stored (NUL, or half of a "
                                 "UTF-16 surrogate pair).")


def _matching(pattern: str, max_length: int):
    """The whole text matches `pattern` (regex.py's automaton: linear in the text, never `re`)."""
    matcher = python_pattern(pattern)

    def check(text: str) -> None:
        if len(text) <= max_length and text and not matcher.fullmatch(text):
            shown = text if len(text) <= 40 else text[:40] + "..."
            raise ma.ValidationError(f"'{shown}' does not match the pattern {pattern} (the whole "
                                     "value must match).")
    return check


def _iso_code(codes: CodeSet, required: bool):
    """A code of the ISO list, exactly as listed: `cn`, ` CN` and `China` are refused, each with
    the code it probably means (iso.py), never changed into it."""

    def check(text: str) -> None:
        if text == "" and not required:
            return                      # like an empty optional text: not given
        if not codes.valid(text):
            raise ma.ValidationError(codes.refusal(text))
    return check


def _finite(rng: validate.Range | None) -> list:
    bound = validate.Range(min=-1e15, max=1e15, error="Must be between -10^15 and 10^15.")
    return [bound] + ([rng] if rng else [])


def _schema_class(fields: dict[str, FieldSpec], name: str) -> type[ma.Schema]:
    attrs: dict[str, Any] = {k: _ma_field(f) for k, f in fields.items()}

    class Meta:
        unknown = ma.RAISE

    attrs["Meta"] = Meta
    return type(f"{name.title().replace('_', '')}Schema", (ma.Schema,), attrs)


def parse_profile_spec(doc: Any, log: ProblemLog) -> ProfileSpec | None:
    if not isinstance(doc, dict) or not isinstance(doc.get("fields"), dict):
        log.error(1, "profile.yaml must have a `fields:` mapping of field name to declaration",
                  "start the file with `fields:` and declare each field under it")
        return None
    unknown = [k for k in doc if k != "fields"]
    for key in unknown:
        log.error(line_of(doc, key), f"unknown key `{key}` in profile.yaml", "only `fields:` is allowed")
    fields = _parse_fields(doc["fields"], log, "", 1)
    for required in ("name",):
        if required not in fields:
            log.error(line_of(doc, "fields"), f"profile.yaml does not declare `{required}`",
                      f"add `{required}: {{type: string, required: true}}`")
    return ProfileSpec(fields)


def _parse_pattern(decl: dict, path: str, ftype: str, log: ProblemLog) -> str:
    """The field's `pattern`, or "" after logging why it cannot be used."""
    pattern, line = decl["pattern"], line_of(decl, "pattern")
    if ftype != "string":
        hint = ("remove `pattern`: the type already allows only ISO codes" if ftype in CODE_SETS
                else "remove `pattern`, or make the field a string")
        log.error(line, f"`pattern` is only for string fields (`{path}` is {ftype})", hint)
        return ""
    if not isinstance(pattern, str):
        log.error(line, f"`pattern` of field `{path}` must be a regular expression in quotes, "
                  f"not {pattern!r}", "write e.g. pattern: '[A-Z]{2}[0-9]{4}'")
        return ""
    try:
        python_pattern(pattern)
    except RegexError as exc:
        log.error(line, f"`pattern` {pattern!r} of field `{path}`: {exc}", PATTERN_HINT)
        return ""
    return pattern


def _parse_fields(node: Any, log: ProblemLog, prefix: str, depth: int) -> dict[str, FieldSpec]:
    out = {}
    for name, decl in node.items():
        spec = _parse_field(str(name), decl, log, line_of(node, name), prefix, depth=depth)
        if spec is not None:
            out[str(name)] = spec
    return out


def _parse_field(name: str, decl: Any, log: ProblemLog, line: int | None,
                 prefix: str, is_item: bool = False, depth: int = 1) -> FieldSpec | None:
    path = f"{prefix}{name}"
    if depth > MAX_DEPTH:
        log.error(line, f"field `{path}` nests objects and lists {depth} levels deep; at most "
                  f"{MAX_DEPTH} are allowed", "flatten the declaration: move the inner fields up")
        return None
    if not is_item and not (name.replace("_", "").replace("-", "").isalnum() and name.isascii()):
        log.error(line, f"field name `{path}` may use only letters, digits, _ and -",
                  "rename the field")
        return None
    if not isinstance(decl, dict):
        log.error(line, f"field `{path}` must be a mapping such as {{type: string}}",
                  f"write `{name}: {{type: string}}`")
        return None
    for key in decl:
        if key not in FIELD_KEYS:
            log.error(line_of(decl, key) or line, f"unknown key `{key}` in field `{path}`",
                      " ".join(filter(None, [suggest(key, FIELD_KEYS),
                                             f"allowed keys: {', '.join(FIELD_KEYS)}"])))
    ftype = decl.get("type")
    if ftype not in TYPES:
        log.error(line_of(decl, "type") or line, f"field `{path}` has type {ftype!r}",
                  " ".join(filter(None, [suggest(ftype, TYPES), f"use one of: {', '.join(TYPES)}"])))
        return None
    required = decl.get("required", False)
    if not isinstance(required, bool):
        log.error(line_of(decl, "required") or line, f"`required` of field `{path}` must be true "
                  f"or false, not {required!r}", "write `required: true` or leave it out")
        required = False
    spec = FieldSpec(name=name, type=ftype, line=line, required=required,
                     label=str(decl.get("label", "")), help=str(decl.get("help", "")))
    for key in ("min", "max"):
        if key in decl:
            value = decl[key]
            if ftype not in ("integer", "number") or isinstance(value, bool) \
                    or not isinstance(value, (int, float)):
                log.error(line_of(decl, key), f"`{key}` of field `{path}` must be a number and "
                          "is allowed only on integer and number fields", f"remove `{key}`")
            else:
                setattr(spec, key, value)
    for key in ("max_length", "max_items"):
        if key in decl:
            limit = MAX_LENGTH_LIMIT if key == "max_length" else MAX_ITEMS_LIMIT
            if not isinstance(decl[key], int) or isinstance(decl[key], bool) or decl[key] < 1:
                log.error(line_of(decl, key), f"`{key}` of field `{path}` must be a whole number >= 1")
            elif decl[key] > limit:
                log.error(line_of(decl, key), f"`{key}` of field `{path}` is {decl[key]}; at most "
                          f"{limit} is allowed", f"write `{key}: {limit}` or less")
            else:
                setattr(spec, key, int(decl[key]))
    if ftype == "enum":
        values = decl.get("values")
        if not isinstance(values, list) or not values or \
                not all(isinstance(v, str) and v for v in values):
            log.error(line_of(decl, "values") or line,
                      f"enum field `{path}` needs `values:`, a list of strings",
                      "write values: [first, second]")
        else:
            spec.values = tuple(str(v) for v in values)
            if len(set(spec.values)) != len(spec.values):
                log.error(line_of(decl, "values"), f"enum field `{path}` lists a value twice")
    elif "values" in decl:
        log.error(line_of(decl, "values"), f"`values` is only for enum fields (`{path}` is {ftype})",
                  "change the type to enum or remove `values`")
    if "pattern" in decl:
        spec.pattern = _parse_pattern(decl, path, ftype, log)
    if ftype == "list":
        items = decl.get("items")
        if items is None:
            log.error(line, f"list field `{path}` needs `items:` declaring one item",
                      "write items: {type: string}")
            return None
        spec.items = _parse_field(f"{name}[]", items, log, line_of(decl, "items"), prefix,
                                  is_item=True, depth=depth + 1)
        if spec.items is None:
            return None
        if spec.items.type == "list":
            log.error(line_of(decl, "items"), f"list field `{path}` holds lists; nest an object instead")
            return None
    if ftype == "object":
        sub = decl.get("fields")
        if not isinstance(sub, dict) or not sub:
            log.error(line, f"object field `{path}` needs `fields:`", "declare its fields under fields:")
            return None
        spec.fields = _parse_fields(sub, log, f"{path}.", depth + 1)
    if "default" in decl:
        spec.default = plain(decl["default"])
        try:
            ma_field = _ma_field(FieldSpec(**{**spec.__dict__, "default": None}))
            ma_field.deserialize(spec.default)
        except ma.ValidationError as exc:
            log.error(line_of(decl, "default"), f"default of `{path}` is not valid: {exc.messages}")
    return spec
