"""The Flask app's JSON: orjson (jsontext.py) doing Flask's writing and reading."""
from __future__ import annotations

from typing import Any

import orjson
from flask.json.provider import DefaultJSONProvider

from .jsontext import loads


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
