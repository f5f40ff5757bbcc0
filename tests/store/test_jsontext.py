"""configurator/jsontext.py: orjson writes the JSON columns and the API's answers; what it
refuses goes to the standard library, so nothing accepted before is refused now."""
from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

from flask import Flask

from configurator import jsontext, webjson


def test_the_same_json_values_as_the_standard_library():
    value = {"b": [1, 2.5, -0.1, 1e-7, 12345678901234, "ü 中", None, True], "a": {"x": ""}}
    assert json.loads(jsontext.dumps(value)) == value
    assert list(json.loads(jsontext.dumps(value))) == ["b", "a"]      # key order kept
    assert jsontext.loads(json.dumps(value)) == value


def test_what_orjson_refuses_falls_back_to_the_standard_library():
    big = {"n": 2 ** 70, 3: "a key that is not text", "s": "\ud800"}
    assert jsontext.dumps(big) == json.dumps(big, separators=(",", ":"))
    assert jsontext.loads('{"x": NaN, "n": 123456789012345678901234567890}')["n"] == \
        123456789012345678901234567890


def test_the_flask_provider_keeps_flasks_dates_decimals_and_options():
    app = Flask(__name__)
    app.json = webjson.JSONProvider(app)
    app.json.sort_keys = False
    when = dt.datetime(2026, 11, 28, 7, 30, tzinfo=dt.timezone.utc)
    with app.app_context():
        body = app.json.response({"z": when, "a": Decimal("1.10")}).get_data(as_text=True)
        assert json.loads(body) == {"z": "Sat, 28 Nov 2026 07:30:00 GMT", "a": "1.10"}
        assert body.index('"z"') < body.index('"a"')
        assert app.json.dumps({"b": 1, "a": 2}, indent=2) == '{\n  "b": 1,\n  "a": 2\n}'
        app.json.sort_keys = True
        assert app.json.dumps({"b": 1, "a": 2}) == '{"a":2,"b":1}'
