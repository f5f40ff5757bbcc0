"""JSON text for the database's JSON columns and the API's answers, written and read by orjson.

A configure-and-save request writes its document twice (the revision's row, the answer) and the
standard library's encoder was about a tenth of the request (docs/performance.md); orjson
writes the same JSON several times faster. What orjson refuses (integers beyond 64 bits, keys
that are not text, lone surrogates, NaN when reading) goes to the standard library instead, so
nothing that was accepted before is refused now. Numbers and key order come out as before;
text is written as UTF-8 instead of `\\u` escapes (the same JSON value). The Flask app's JSON
provider on top of these is webjson.py.
"""
from __future__ import annotations

import json
from typing import Any

import orjson


def dumps(value: Any) -> str:
    """Compact JSON text of plain data (the JSON columns' serializer)."""
    try:
        return orjson.dumps(value).decode()
    except TypeError:   # orjson.JSONEncodeError is one
        return json.dumps(value, separators=(",", ":"))


def loads(text: str | bytes) -> Any:
    """The value of JSON text (the JSON columns' deserializer)."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)
