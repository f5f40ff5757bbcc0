"""The plain-Python reference engine and durable-rules give identical configuration documents:
on the demo pack's example customers (with their adjustments and dates), and on a generated pack
with every kind of condition, chaining, drafts and effective dates. Behaviour only: the
benchmarks (bin/bench) measure speed, tests never do."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from configurator.content.pack import DEFAULT_CONTENT, load_pack
from configurator.content.adjustments import parse_adjustments
from configurator.engine.pipeline import Pipeline
from configurator.engine.reference_engine import ReferenceEngine
from helpers import write_pack

sys.path.insert(0, str(DEFAULT_CONTENT))
from bench.generate import generate  # noqa: E402

DAYS = ("2026-06-01", "2031-01-01")


def _pipelines(pack, include_drafts: bool):
    return (Pipeline(pack, include_drafts=include_drafts),
            Pipeline(pack, engine=ReferenceEngine(), include_drafts=include_drafts))


def _assert_same(pack, cases, include_drafts: bool) -> int:
    durable, reference = _pipelines(pack, include_drafts)
    compared = 0
    try:
        for profile, adjustments, day in cases:
            clean = pack.profile.validate(profile)
            changes = parse_adjustments(adjustments, pack.catalog)
            expected = durable.configure(clean, changes, on=day)
            assert reference.configure(clean, changes, on=day) == expected, profile.get("name")
            compared += 1
    finally:
        durable.close()
        reference.close()
    return compared


@pytest.fixture(scope="module")
def demo():
    return load_pack(DEFAULT_CONTENT)


@pytest.mark.parametrize("include_drafts", [False, True], ids=["production", "with-drafts"])
def test_reference_engine_matches_durable_on_the_demo_example_customers(demo, include_drafts):
    cases = [(t.profile, list(t.adjustments), t.date or day) for t in demo.tests for day in DAYS]
    examples = sorted((DEFAULT_CONTENT / "examples").glob("*.yaml"))
    from configurator.content.yamlfile import plain, read_yaml
    cases += [(plain(read_yaml(path)), [], DAYS[0]) for path in examples]
    assert _assert_same(demo, cases, include_drafts) == len(cases) > 30


def test_reference_engine_matches_durable_with_adjustments(demo):
    modules = list(demo.catalog.modules)
    cases = []
    for i, test in enumerate(demo.tests):
        cases.append((test.profile, [
            {"action": "add", "module": modules[(7 * i) % len(modules)], "quantity": 3},
            {"action": "remove", "module": modules[(11 * i + 3) % len(modules)]},
            {"action": "discount", "percent": 5, "applies_to": "total"}], DAYS[0]))
    assert _assert_same(demo, cases, False) == len(demo.tests)


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    root = generate(tmp_path_factory.mktemp("generated") / "pack", rules=400, modules=150,
                    profiles=30, seed=7)
    return root, load_pack(root)


@pytest.mark.parametrize("include_drafts", [False, True], ids=["production", "with-drafts"])
def test_reference_engine_matches_durable_on_a_generated_pack(generated, include_drafts):
    root, pack = generated
    profiles = json.loads((Path(root) / "profiles.json").read_text())
    cases = [(p, [], day) for p in profiles for day in DAYS]
    assert _assert_same(pack, cases, include_drafts) == len(cases)


def test_generated_pack_uses_every_kind_of_condition_and_chains(generated):
    root, pack = generated
    ops = {t.op for rule in pack.rules for t in _tests(rule.when)}
    assert {"eq", "in", "ne", "lt", "gte", "contains", "contains_any", "exists"} <= ops
    paths = {t.path.split(".")[0] for rule in pack.rules for t in _tests(rule.when)}
    assert paths == {"profile", "derived", "solution"}
    assert any(rule.draft for rule in pack.rules)
    assert any(rule.effective_from or rule.effective_until for rule in pack.rules)
    durable = Pipeline(pack)
    try:
        profile = pack.profile.validate(json.loads((Path(root) / "profiles.json").read_text())[0])
        fired = durable.configure(profile, on=DAYS[0])["fired"]
    finally:
        durable.close()
    assert [f["rule"] for f in fired][:2] == ["seg-score-total", "seg-size-index"]
    assert any(f["rule"].startswith("seg-tier-") for f in fired)     # chained on derived facts


def _tests(cond):
    from configurator.engine.compile import tests_of
    return tests_of(cond)


def test_chaining_priority_and_fire_once_agree_on_a_small_pack(tmp_path):
    root = write_pack(tmp_path, {"r.yaml": """
        ruleset: r
        stage: segment
        rules:
          - id: low
            when: {derived.level: {gte: 2}}
            then: [{derive: {seen_low: true}}]
          - id: step-two
            priority: 5
            when: {derived.level: 1}
            then: [{derive: {level: 2}}]
          - id: step-one
            priority: 1
            when: {profile.sites: {gte: 1}}
            then: [{derive: {level: 1}}]
          - id: high
            priority: 9
            when: {derived.level: {gte: 1}}
            then: [{derive: {level: 1}}, {warn: high fired}]
          - id: later
            effective: {from: 2030-01-01}
            when: {profile.sites: {gte: 1}}
            then: [{warn: later}]
          - id: draft
            draft: true
            when: {profile.sites: {gte: 1}}
            then: [{warn: draft}]
        """})
    pack = load_pack(root)
    profile = {"name": "A", "industry": "food", "sites": 3}
    for drafts in (False, True):
        for day in ("2026-01-01", "2031-01-01"):
            assert _assert_same(pack, [(profile, [], day)], drafts) == 1
    durable = Pipeline(pack)
    try:
        order = [f["rule"] for f in durable.configure(pack.profile.validate(profile),
                                                       on="2026-01-01")["fired"]]
    finally:
        durable.close()
    assert order == ["step-one", "high", "step-two", "low"]
