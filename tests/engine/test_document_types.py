"""The configuration document the pipeline builds is the one content/document.py types, key by
key, and the solution facts it computes are the vocabulary content/facts.py declares."""
from __future__ import annotations

import types
import typing
from decimal import Decimal
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

import pytest

from configurator.content import document
from configurator.content.adjustments import parse_adjustments
from configurator.content.facts import SOLUTION_FACTS
from configurator.content.pack import load_pack
from configurator.engine.pipeline import Pipeline
from configurator.engine.solution import empty_facts

# a solution lead's changes, so that adjustments show in the lines and the trace
ADJUSTMENTS = [{"action": "add", "module": "training-elearning", "quantity": 3, "by": "Dana"},
               {"action": "discount", "percent": 2, "applies_to": "total", "reason": "Loyalty"}]


@pytest.fixture(scope="module")
def pipeline():
    pipeline = Pipeline(load_pack())
    yield pipeline
    pipeline.close()


def problems(value: Any, expected: Any, path: str) -> list[str]:
    """Where `value` is not of the type `expected` (a TypedDict, list[...], dict[...], a Literal,
    a union, a plain type or Any)."""
    if expected is Any:
        return []
    origin, args = get_origin(expected), get_args(expected)
    if typing.is_typeddict(expected):
        if not isinstance(value, dict):
            return [f"{path}: {value!r} is not a mapping"]
        hints = get_type_hints(expected)
        missing = expected.__required_keys__ - value.keys()
        unknown = value.keys() - hints.keys()
        found = [f"{path}: missing {sorted(missing)}"] if missing else []
        found += [f"{path}: untyped keys {sorted(unknown)}"] if unknown and \
            expected is not document.TeamMember else []
        for key in value.keys() & hints.keys():
            found += problems(value[key], hints[key], f"{path}.{key}")
        return found
    if origin is Literal:
        return [] if value in args else [f"{path}: {value!r} is not one of {args}"]
    if origin in (Union, types.UnionType):
        options = [problems(value, option, path) for option in args]
        return [] if any(not found for found in options) else [f"{path}: {value!r} is none of "
                                                               f"{args}"]
    if origin is list:
        if not isinstance(value, list):
            return [f"{path}: {value!r} is not a list"]
        return [p for i, item in enumerate(value) for p in problems(item, args[0], f"{path}[{i}]")]
    if origin is dict:
        if not isinstance(value, dict):
            return [f"{path}: {value!r} is not a mapping"]
        return [p for key, item in value.items()
                for p in problems(key, args[0], f"{path} key") + problems(item, args[1],
                                                                         f"{path}.{key}")]
    if expected is float:
        return [] if isinstance(value, float) else [f"{path}: {value!r} is not a float"]
    if expected is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
        return [] if ok else [f"{path}: {value!r} is not an integer"]
    return [] if isinstance(value, expected) else [f"{path}: {value!r} is not {expected}"]


def test_every_document_the_pipeline_builds_has_the_typed_keys_and_values(pipeline,
                                                                          example_profiles):
    catalog = pipeline.pack.catalog
    seen: set[str] = set()
    for example in example_profiles:
        profile = pipeline.pack.profile.validate(example["profile"])
        for adjustments in ([], ADJUSTMENTS):
            doc = pipeline.configure(profile, parse_adjustments(adjustments, catalog),
                                     on="2026-12-01")
            assert problems(doc, document.ConfigurationDocument, "document") == [], \
                example["name"]
            seen |= {key for key, value in doc.items() if value}
            seen |= {"fired.adjustment" for entry in doc["fired"] if "adjustment" in entry}
            seen |= {"fired.derived" for entry in doc["fired"] if "derived" in entry}
    # the examples fill every part of a document, so every part's type was checked
    assert seen == set(document.ConfigurationDocument.__annotations__) | {"fired.adjustment",
                                                                          "fired.derived"}


def test_the_words_are_the_literal_types_values():
    assert document.STATUSES == ("ok", "approval_required", "conflict")
    assert document.TOTAL_KEYS == ("one_time", "monthly", "yearly", "annual_recurring",
                                   "first_year")
    assert document.BILLINGS == ("one_time", "monthly", "yearly")
    assert set(document.BILLINGS) <= set(document.TOTAL_KEYS)
    assert list(get_type_hints(document.Totals)) == [*document.TOTAL_KEYS, "currency"]


def test_the_engine_computes_exactly_the_declared_solution_facts(pipeline, example_profiles):
    assert list(empty_facts()) == list(SOLUTION_FACTS)
    for example in example_profiles[:6]:
        run = pipeline.run(pipeline.pack.profile.validate(example["profile"]), on="2026-12-01")
        facts = run.solution_facts
        assert list(facts) == list(SOLUTION_FACTS)
        doc = run.document()
        for name, fact in SOLUTION_FACTS.items():
            value = facts[name]
            if fact.total:
                assert float(value) == doc["totals"][fact.total]
            if fact.type == "list":
                assert isinstance(value, list) and all(isinstance(v, str) for v in value)
            elif fact.type == "mapping":
                assert isinstance(value, dict) and all(isinstance(v, int) for v in value.values())
            elif fact.type == "integer":
                assert isinstance(value, int)
            else:
                assert isinstance(value, (int, Decimal))
