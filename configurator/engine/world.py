"""The world fact: what durable-rules is given of a configuration's facts, as JSON text.

Every rule of a stage matches one fact, {profile, solution, derived, has} (engine/compile.py),
carrying only the facts the stage's rules compare (engine/stages.py, StagePlan). Here: the
values as durable-rules can take them (`durable_value`), the one JSON writer of every fact
(`to_json`), and `Shape`, which nests some facts' values as in the facts and writes them.
"""
from __future__ import annotations

import json
import math
from decimal import Decimal
from typing import Any, Callable

import orjson

# orjson writes what the standard library's compact encoder writes (ensure_ascii=False, the
# same float texts), several times faster. What it refuses (integers beyond 64 bits, lone
# surrogates, keys that are not text) or is told to pass on (dates and dataclasses, which the
# standard library refuses; subclasses of str, int, dict and list) goes to the standard
# library, so the text, or the error, is the one it gave before.
_ORJSON_OPTIONS = (orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS |
                   orjson.OPT_PASSTHROUGH_SUBCLASS)
_standard_json = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def to_json(value: Any) -> str:
    """Compact JSON text of plain data, non-ASCII characters as they are. For values as
    `durable_value` makes them: orjson would write NaN and infinities as null."""
    try:
        return orjson.dumps(value, option=_ORJSON_OPTIONS).decode()
    except TypeError:       # orjson.JSONEncodeError is one
        return _standard_json(value)


class Shape:
    """Some facts' paths, nested as in the facts: `json_of` writes the JSON object of their
    values. A path below one that is in the shape already is left out (the whole object is
    compared); a fact without a value is left out, and an object left with nothing too.

    (Measured against a Python function generated for each shape that joined the values' JSON
    texts, cached per fact: nesting the values and writing them with orjson is faster, on the
    demo pack and on a 10,000-rule pack whose split stages write a world for every part.)"""

    def __init__(self, paths: list[str]):
        self.tree: dict = {}      # key -> the path of a fact, or a tree of the keys below it
        for path in sorted(paths):
            parts = path.split(".")[1:]
            node = self.tree
            for part in parts[:-1]:
                child = node.setdefault(part, {})
                if not isinstance(child, dict):      # the whole object is compared already
                    break
                node = child
            else:
                node.setdefault(parts[-1], path)

    def json_of(self, value: Callable[[str], Any]) -> str:
        """The JSON object of the facts, given `value(path)`: a fact's value, None for none."""
        return to_json(_nest(self.tree, value))


def _nest(tree: dict, value: Callable[[str], Any]) -> dict:
    out = {}
    for key, sub in tree.items():
        if sub.__class__ is str:
            found = value(sub)
            if found is not None:
                out[key] = found
        else:
            inner = _nest(sub, value)
            if inner:
                out[key] = inner
    return out


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
