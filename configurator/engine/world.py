"""The world fact: what durable-rules is given of a configuration's facts, as JSON text.

Every rule of a stage matches one fact, {profile, solution, derived, has} (engine/compile.py),
carrying only the facts the stage's rules compare (engine/stages.py, StagePlan). Here: the
values as durable-rules can take them (`durable_value`), the one JSON encoder of every fact
(`to_json`), and `Shape`, which writes the nested JSON object of some facts from their values'
JSON texts (engine/evaluation.py keeps those texts while the facts stay the same).
"""
from __future__ import annotations

import itertools
import json
import math
from decimal import Decimal
from typing import Any, Callable

# One encoder for every fact: json.dumps with options builds a new encoder on each call.
to_json = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


class Shape:
    """Some facts' paths, nested as in the facts: `emit` writes the JSON object of their values
    (each given as JSON text, None for no value) without building the nested dicts.

    The writing is compiled into one Python function per shape (`_emitter`): a split stage of a
    large pack writes a world for every part it runs, hundreds per configuration, and walking
    the nested paths each time cost more than durable-rules' own work on those facts."""

    def __init__(self, paths: list[str]):
        tree: dict = {}
        for path in sorted(paths):
            parts = path.split(".")[1:]
            node = tree
            for part in parts[:-1]:
                child = node.setdefault(part, {})
                if not isinstance(child, dict):      # the whole object is compared already
                    break
                node = child
            else:
                node.setdefault(parts[-1], path)
        self._write = _emitter(tree)

    def emit(self, fragment: Callable[[str], str | None]) -> str:
        return self._write(fragment) or "{}"


def _emitter(tree: dict) -> Callable[[Callable[[str], str | None]], str | None]:
    """A function writing `tree`'s JSON object from the values' JSON texts (None: left out; an
    object left with nothing is left out too; None when nothing at all has a value). Keys and
    paths go into the code only as `repr` literals of their texts."""
    lines = ["def write(fragment):"]
    counter = itertools.count()

    def body(node: dict, items: str, indent: str) -> None:
        lines.append(f"{indent}{items} = []")
        for key, sub in node.items():
            prefix = repr(to_json(key) + ":")
            if isinstance(sub, str):
                value = f"v{next(counter)}"
                lines.append(f"{indent}{value} = fragment({sub!r})")
                lines.append(f"{indent}if {value} is not None:")
                lines.append(f"{indent}    {items}.append({prefix} + {value})")
            else:
                inner = f"items{next(counter)}"
                body(sub, inner, indent)
                lines.append(f"{indent}if {inner}:")
                lines.append(f"{indent}    {items}.append({prefix} + '{{' + ','.join({inner}) + '}}')")

    body(tree, "items", "    ")
    lines.append("    return '{' + ','.join(items) + '}' if items else None")
    namespace: dict = {}
    exec(compile("\n".join(lines), "<world shape>", "exec"), namespace)  # noqa: S102
    return namespace["write"]


def durable_value(value: Any) -> Any:
    """Values as durable-rules can take them: no Decimal, no exponent floats, no NUL."""
    if isinstance(value, dict):
        return {k: durable_value(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [durable_value(v) for v in value if v is not None]
    if isinstance(value, Decimal):
        value = float(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return 0
        if value.is_integer() and abs(value) < 1e15:
            return int(value)
        return 0.0 if abs(value) < 1e-4 else round(value, 6)
    if isinstance(value, str):
        return value.replace("\x00", "")
    return value


def has_value(value: Any) -> bool:
    """Whether the rules see a value: "" and [] have none, as in the reference."""
    return value is not None and value != "" and value != []
