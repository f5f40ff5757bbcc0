"""The pieces every content schema is made of (JSON Schema draft-07), and `pick`, which holds a
schema's words to exactly the keys the loader accepts. What the schemas are for: schemas.py.
"""
from __future__ import annotations

from typing import Any, Iterable

from .expressions import FUNCTIONS
from .rules import ID_PATTERN

DRAFT = "http://json-schema.org/draft-07/schema#"
Schema = dict[str, Any]


class SchemaGap(Exception):
    """A key the loader accepts has no description in its schema (or a description outlived its
    key)."""


ID = {"type": "string", "pattern": ID_PATTERN.pattern}
DATE = {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}$"}
SCALAR = {"type": ["string", "number", "boolean"]}


def id_(description: str) -> Schema:
    return {**ID, "description": description + " Lowercase letters, digits, `-` and `_`; no dots."}


def text(description: str, **extra: Any) -> Schema:
    return {"type": "string", "description": description, **extra}


def ids(description: str) -> Schema:
    return {"type": "array", "items": ID, "uniqueItems": True, "description": description}


def expression(description: str) -> Schema:
    functions = ", ".join(FUNCTIONS)
    return {"type": ["number", "string"], "minLength": 1, "maxLength": 500,
            "description": f"{description} A number or an arithmetic expression over facts: "
                           f"`profile.sites * 20`, with + - * / // % and {functions}. "
                           "Never run as code."}


def template(description: str) -> Schema:
    return text(f"{description} May hold placeholders filled when the rule fires: "
                "`{profile.sites}`, `{derived.tier}`, `{profile.sites * 20}`.")


def document(title: str, description: str, body: Schema, definitions: Schema | None = None) -> Schema:
    out = {"$schema": DRAFT, "title": title, "description": description, **body}
    if definitions:
        out["definitions"] = definitions
    return out


def ref(name: str) -> Schema:
    return {"$ref": f"#/definitions/{name}"}


def pick(table: dict[str, Schema], names: Iterable[str], what: str,
         module: str) -> dict[str, Schema]:
    """`table`'s entries for exactly `names` (the code's key list), in the code's order;
    `module` (its `__name__`) holds the words, and a gap names its file."""
    names = tuple(names)
    missing = [n for n in names if n not in table]
    stale = [n for n in table if n not in names]
    if missing or stale:
        raise SchemaGap(f"{module.replace('.', '/')}.py describes the {what} "
                        + "; ".join(filter(None, [
                            missing and f"without {', '.join(missing)} (add a description)",
                            stale and f"with {', '.join(stale)}, which the loader no longer "
                                      "accepts (remove it)"])))
    return {n: table[n] for n in names}


def closed(properties: dict[str, Schema], required: Iterable[str] = (), **extra: Any) -> Schema:
    out: Schema = {"type": "object", "properties": properties, "additionalProperties": False}
    required = [r for r in required if r in properties]
    if required:
        out["required"] = required
    out.update(extra)
    return out
