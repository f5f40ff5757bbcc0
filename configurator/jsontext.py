"""JSON text for the database's JSON columns and the API's answers, written and read by orjson.

A configure-and-save request writes its document twice (the revision's row, the answer) and the
standard library's encoder was about a tenth of the request (docs/performance.md); orjson
writes the same JSON several times faster. What orjson refuses (integers beyond 64 bits, keys
that are not text, lone surrogates, NaN when reading) goes to the standard library instead, so
nothing that was accepted before is refused now. Numbers and key order come out as before;
text is written as UTF-8 instead of `\\u` escapes (the same JSON value).
"""
from __future__ import annotations

import json
from typing import Any

import orjson
from flask.json.provider import DefaultJSONProvider


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


class JSONProvider(DefaultJSONProvider):
    """Flask's JSON with orjson doing the writing and reading. Dates, decimals, dataclasses and
    the like still go through Flask's own `default` (dates as HTTP dates, as before); a call
    with json.dumps options (indentation in debug mode) is Flask's own."""

    _OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        if set(kwargs) - {"separators"} or kwargs.get("separators", (",", ":")) != (",", ":"):
            return super().dumps(obj, **kwargs)
        options = self._OPTIONS | (orjson.OPT_SORT_KEYS if self.sort_keys else 0)
        try:
            return orjson.dumps(obj, default=self.default, option=options).decode()
        except TypeError:
            return super().dumps(obj, **kwargs)

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        if kwargs:
            return super().loads(s, **kwargs)
        return loads(s)
