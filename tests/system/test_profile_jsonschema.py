"""The published JSON Schema of a profile (content/profile_jsonschema.py) agrees with the
validation it describes (content/profile.py), on the demo declaration and on one with every type
and key (test_properties.ALL_TYPES): every profile the declaration accepts, the schema accepts,
and every profile broken in one place that JSON can carry, the schema refuses too."""
from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import assume, given, settings
from jsonschema import Draft202012Validator

from configurator.content.profile_jsonschema import profile_json_schema
from configurator.services.content import Content

from .test_properties import FAST, _all_types_spec, broken_profiles, profiles


def _spec(content: Content, which: str) -> Any:
    return content.pack.profile if which == "demo" else _all_types_spec()


def _validator(spec: Any) -> Draft202012Validator:
    schema = profile_json_schema(spec)
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


@pytest.mark.parametrize("which", ["demo", "all-types"])
def test_every_profile_the_declaration_accepts_the_schema_accepts(content: Content,
                                                                  which: str) -> None:
    spec = _spec(content, which)
    schema = _validator(spec)

    @FAST
    @given(profile=profiles(spec))
    def run(profile: dict) -> None:
        assert list(schema.iter_errors(profile)) == []
    run()


@pytest.mark.parametrize("which", ["demo", "all-types"])
def test_every_profile_the_declaration_refuses_the_schema_refuses(content: Content,
                                                                  which: str) -> None:
    spec = _spec(content, which)
    schema = _validator(spec)

    @settings(FAST, max_examples=300)
    @given(broken=broken_profiles(spec))
    def run(broken: tuple[Any, str]) -> None:
        profile, path = broken
        try:
            json.dumps(profile, allow_nan=False)
        except ValueError:
            assume(False)             # NaN: no JSON carries it, so no schema speaks of it
        assert not schema.is_valid(profile), path
    run()
