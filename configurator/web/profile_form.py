"""The profile form, generated from the profile declaration (`rules/profile.yaml`).

`build_form(spec, values, errors)` turns the declaration, the values to show and the errors of a
failed validation into a tree of `Field`s that one Jinja macro renders; `parse_form(spec, form)`
turns the posted form back into a profile for `ProfileSpec.validate`, keeping what cannot be
converted as typed, so validation names it and the form shows it again.

Field names are the profile paths (`scores.loyalty`, `contacts.0.name`), the same paths that
`ProfileInvalid.errors` uses, so each error lands next to its field.

| declared type | widget |
|---|---|
| string | text input |
| integer, number | text input with a numeric keyboard (kept as typed when it is not a number) |
| enum | select |
| country, currency | select of every ISO code by name: "China (CN)", "Euro (EUR)" |
| boolean | select: yes / no / not given |
| date | date input (yyyy-mm-dd) |
| list of enums | checkboxes |
| list of other scalars | textarea, one per line |
| object | fieldset of its fields |
| list of objects | rows of fieldsets; empty rows are ignored; JavaScript adds and removes rows |
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from werkzeug.datastructures import MultiDict

from ..content.iso import CODE_SETS
from ..content.profile import FieldSpec, ProfileSpec

EXTRA_ROWS = 2          # empty rows offered after a list of objects' items (without JavaScript)
ROW_PLACEHOLDER = "__index__"
_THOUSANDS = re.compile(r"[+-]?\d{1,3}(,\d{3})+(\.\d+)?")

# marshmallow's messages, said for a person filling in a form
FRIENDLY = {
    "Missing data for required field.": "Fill this in: it is required.",
    "Not a valid integer.": "Enter a whole number, such as 12.",
    "Not a valid number.": "Enter a number, such as 1500 or 12.5.",
    "Not a valid date.": "Enter a date as yyyy-mm-dd.",
    "Not a valid boolean.": "Choose yes or no.",
    "Unknown field.": "This field is not in the profile declaration (rules/profile.yaml).",
    "Not a valid list.": "Give a list of values.",
    "Not a valid string.": "Enter text.",
    "Field may not be null.": "Fill this in, or remove it.",
    "Invalid input type.": "This must be a group of fields.",
}


@dataclass
class Field:
    spec: FieldSpec
    path: str
    label: str
    widget: str
    value: Any = ""                      # text for inputs; a set of values for checkboxes
    errors: list[str] = field(default_factory=list)
    children: list[Field] = field(default_factory=list)   # object fields, or the rows
    template: Field | None = None        # an empty row, for JavaScript to copy
    index: int | None = None             # a row's position
    title: str = ""                      # the label chain: "Account scores › Loyalty"

    @property
    def id(self) -> str:
        return "f-" + re.sub(r"[^A-Za-z0-9_-]", "-", self.path)

    @property
    def help(self) -> str:
        return self.spec.help

    @property
    def required(self) -> bool:
        return self.spec.required

    @property
    def options(self) -> tuple[str, ...]:
        spec = self.spec.items if self.spec.type == "list" and self.spec.items else self.spec
        return spec.values

    @property
    def choices(self) -> list[tuple[str, str]]:
        """A select's (value, text) pairs: an enum's values as they are, ISO codes by name."""
        if self.spec.type in CODE_SETS:
            return CODE_SETS[self.spec.type].choices
        return [(value, value) for value in self.options]

    @property
    def unlisted(self) -> bool:
        """The value is not one of the select's choices (an imported `cn`): shown as it is,
        selected, so the error next to it names what was given."""
        if not self.value:
            return False
        if self.spec.type in CODE_SETS:
            return not CODE_SETS[self.spec.type].valid(self.value)
        return self.value not in self.options

    @property
    def inputmode(self) -> str:
        return "numeric" if self.spec.type == "integer" else "decimal"

    @property
    def invalid(self) -> bool:
        return bool(self.errors)

    def walk(self):
        yield self
        for child in self.children:
            yield from child.walk()


@dataclass
class ProblemLink:
    anchor: str
    title: str
    message: str


@dataclass
class ProfileForm:
    fields: list[Field]
    problems: list[ProblemLink]

    @property
    def has_errors(self) -> bool:
        return bool(self.problems)


# --- building the form -------------------------------------------------------------------------

def build_form(spec: ProfileSpec, values: dict[str, Any] | None = None,
               errors: dict[str, list[str]] | None = None, *, defaults: bool = False) -> ProfileForm:
    """The form for `values` (a profile, or what a failed post held) with `errors` placed next to
    their fields. `defaults` fills the declared defaults (a new customer)."""
    values = values if isinstance(values, dict) else {}
    fields = [_field(f, f.name, values.get(f.name), f.title, defaults and f.name not in values)
              for f in spec.fields.values()]
    problems = _place_errors(fields, errors or {})
    return ProfileForm(fields, problems)


def _field(spec: FieldSpec, path: str, value: Any, title: str, use_default: bool) -> Field:
    if value is None and use_default and spec.default is not None:
        value = spec.default
    label = spec.title
    if spec.type == "object":
        sub = value if isinstance(value, dict) else {}
        children = [_field(f, f"{path}.{name}", sub.get(name), f"{title} › {f.title}",
                           use_default and name not in sub)
                    for name, f in spec.fields.items()]
        return Field(spec, path, label, "fieldset", children=children, title=title)
    if spec.type == "list":
        items = spec.items
        assert items is not None
        if items.type == "object":
            rows_in = [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []
            count = len(rows_in) + (1 if rows_in else EXTRA_ROWS)
            rows = [_row(spec, path, i, rows_in[i] if i < len(rows_in) else {}, title)
                    for i in range(count)]
            template = _row(spec, path, ROW_PLACEHOLDER, {}, title)
            return Field(spec, path, label, "rows", children=rows, template=template, title=title)
        if items.type == "enum":
            chosen = {str(v) for v in value} if isinstance(value, list) else set()
            return Field(spec, path, label, "checkboxes", value=chosen, title=title)
        lines = value if isinstance(value, list) else ([] if value is None else [value])
        return Field(spec, path, label, "lines", value="\n".join(_text(v) for v in lines),
                     title=title)
    widget = {"enum": "select", "country": "select", "currency": "select", "boolean": "boolean",
              "date": "date", "integer": "number", "number": "number"}.get(spec.type, "text")
    return Field(spec, path, label, widget, value=_text(value), title=title)


def _row(spec: FieldSpec, path: str, index: int | str, value: dict, title: str) -> Field:
    assert spec.items is not None
    row_path = f"{path}.{index}"
    number = index + 1 if isinstance(index, int) else ""
    children = [_field(f, f"{row_path}.{name}", value.get(name), f"{title} {number} › {f.title}",
                       False)
                for name, f in spec.items.fields.items()]
    return Field(spec.items, row_path, f"{spec.title} {number}".strip(), "row",
                 children=children, index=index if isinstance(index, int) else None,
                 title=f"{title} {number}".strip())


def _text(value: Any) -> str:
    """A value as an input shows it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _place_errors(fields: list[Field], errors: dict[str, list[str]]) -> list[ProblemLink]:
    by_path: dict[str, tuple[Field, str]] = {}
    for top in fields:
        for node in top.walk():
            by_path[node.path] = (node, node.title)
    problems = []
    for path, messages in errors.items():
        messages = [FRIENDLY.get(m, m) for m in messages]
        target, rest = path, []
        while target not in by_path and "." in target:
            target, tail = target.rsplit(".", 1)
            rest.insert(0, tail)
        if target in by_path:
            node, title = by_path[target]
            prefix = _describe_rest(node, rest)
            node.errors.extend(prefix + m for m in messages)
            problems.extend(ProblemLink(node.id, title, prefix + m) for m in messages)
        else:  # a field the declaration does not have (from an imported file), or the whole profile
            title = "Profile" if path in ("_profile", "_schema", "") else path
            problems.extend(ProblemLink("profile-form", title, m) for m in messages)
    return problems


def _describe_rest(node: Field, rest: list[str]) -> str:
    if not rest:
        return ""
    if node.spec.type == "list" and rest[0].isdigit():
        return f"Item {int(rest[0]) + 1}: " + (f"{'.'.join(rest[1:])}: " if rest[1:] else "")
    return f"{'.'.join(rest)}: "


# --- reading the posted form -------------------------------------------------------------------

def parse_form(spec: ProfileSpec, form: MultiDict) -> dict[str, Any]:
    """The profile a posted form describes. Empty inputs are left out; what cannot be converted
    to the declared type stays as typed, for validation to report."""
    return _fields(spec.fields, form, "")


def _fields(fields: dict[str, FieldSpec], form: MultiDict, prefix: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, spec in fields.items():
        path = f"{prefix}{name}"
        value = _value(spec, form, path)
        if value is not _MISSING:
            out[name] = value
    return out


class _Missing:
    pass


_MISSING = _Missing()


def _value(spec: FieldSpec, form: MultiDict, path: str) -> Any:
    if spec.type == "object":
        if not spec.required and not _anything_under(form, path + "."):
            return _MISSING
        return _fields(spec.fields, form, path + ".")
    if spec.type == "list":
        assert spec.items is not None
        items = spec.items
        if items.type == "object":
            rows = []
            for index in _row_indices(form, path):
                row_prefix = f"{path}.{index}."
                if _anything_under(form, row_prefix):
                    rows.append(_fields(items.fields, form, row_prefix))
            return rows if rows or _present(form, path) else _MISSING
        if items.type == "enum":
            if path not in form and not _present(form, path):
                return _MISSING
            return [v for v in form.getlist(path) if v != ""]
        if path not in form:
            return _MISSING
        lines = [line.strip() for line in form.get(path, "").splitlines()]
        return [_scalar(items, line) for line in lines if line]
    if path not in form:
        return _MISSING
    text = form.get(path, "").strip()
    if text == "":
        return _MISSING
    return _scalar(spec, text)


def _scalar(spec: FieldSpec, text: str) -> Any:
    if spec.type == "integer":
        cleaned = _number_text(text)
        try:
            return int(cleaned)
        except ValueError:
            return text
    if spec.type == "number":
        cleaned = _number_text(text)
        try:
            number = float(cleaned)
        except ValueError:
            return text
        return int(number) if number.is_integer() and abs(number) < 1e15 else number
    if spec.type == "boolean":
        return {"true": True, "false": False}.get(text.lower(), text)
    return text


def _number_text(text: str) -> str:
    text = text.replace(" ", "").replace("_", "").replace("\u00a0", "")
    return text.replace(",", "") if _THOUSANDS.fullmatch(text) else text


def _anything_under(form: MultiDict, prefix: str) -> bool:
    return any(key.startswith(prefix) and any(v.strip() for v in form.getlist(key))
               for key in form.keys())


def _present(form: MultiDict, path: str) -> bool:
    """Whether the form had this list at all (a marker input is rendered with every list)."""
    return f"{path}.__present" in form


def _row_indices(form: MultiDict, path: str) -> list[int]:
    pattern = re.compile(re.escape(path) + r"\.(\d+)\.")
    found = {int(m.group(1)) for key in form.keys() if (m := pattern.match(key))}
    return sorted(found)
