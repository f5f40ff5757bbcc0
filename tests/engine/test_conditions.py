"""Every operator, alone and under `not`, `any` and `all`, fires exactly when the plain-Python
reference says it holds, including on missing values and empty lists."""
from __future__ import annotations

import itertools

import pytest

from configurator.content.conditions import holds
from helpers import Configurator, write_pack

CONDITIONS = {
    "eq-enum": "{profile.industry: food}",
    "eq-string": "{profile.country: NO}",
    "eq-bool": "{profile.public: true}",
    "ne": "{profile.country: {ne: DE}}",
    "lt": "{profile.sites: {lt: 5}}",
    "lte": "{profile.sites: {lte: 5}}",
    "gt-number": "{profile.revenue: {gt: 1000000.5}}",
    "gte": "{profile.sites: {gte: 5}}",
    "range": "{profile.sites: {gte: 2, lt: 10}}",
    "in": "{profile.industry: {in: [food, pharma]}}",
    "not_in": "{profile.industry: {not_in: [food, pharma]}}",
    "contains": "{profile.needs: {contains: cold-chain}}",
    "contains_any": "{profile.needs: {contains_any: [cold-chain, 24x7]}}",
    "contains_all": "{profile.needs: {contains_all: [cold-chain, multi-site]}}",
    "matches": "{profile.country: {matches: 'N[OL]|D.'}}",
    "matches-digits": "{profile.country: {matches: '\\d+'}}",
    "exists": "{profile.employees: {exists: true}}",
    "absent": "{profile.employees: {exists: false}}",
    "list-exists": "{profile.needs: {exists: true}}",
    "date-before": "{profile.founded: {lt: '2000-01-01'}}",
    "nested": "{profile.scores.loyalty: {gte: 4}}",
    "any": "{any: [{profile.sites: {gte: 10}}, {profile.needs: {contains: 24x7}}]}",
    "all-any": "{profile.industry: food, any: [{profile.country: NO}, {profile.scores.risk: {lte: 2}}]}",
}
NEGATABLE = [k for k in CONDITIONS if not k.startswith("matches")]

PROFILES = [
    {"sites": 1},
    {"sites": 5, "industry": "pharma", "country": "NO", "needs": ["cold-chain"], "public": True},
    {"sites": 12, "industry": "logistics", "country": "DE", "needs": ["cold-chain", "multi-site"],
     "employees": 300, "revenue": 1000000.75, "founded": "1999-12-31",
     "scores": {"loyalty": 4, "risk": 1}},
    {"sites": 3, "industry": "telecom", "country": "NL", "needs": ["24x7"], "public": False,
     "revenue": 1000000.5, "founded": "2000-01-01", "scores": {"loyalty": 2}},
    {"sites": 10, "industry": "food", "country": "123", "needs": [], "scores": {"risk": 1}},
]


def _rules() -> str:
    out = ["ruleset: ops", "stage: segment", "rules:"]
    for name, cond in CONDITIONS.items():
        out += [f"  - id: {name}", f"    when: {cond}", f"    then: [{{derive: {{x: 1}}}}]"]
    for name in NEGATABLE:
        out += [f"  - id: not-{name}", f"    when: {{not: {CONDITIONS[name]}}}",
                f"    then: [{{derive: {{x: 1}}}}]"]
    return "\n".join(out) + "\n"


@pytest.fixture(scope="module")
def conf(tmp_path_factory):
    root = write_pack(tmp_path_factory.mktemp("ops"), {"ops.yaml": _rules()})
    made = Configurator(root)
    yield made
    made.close()


@pytest.mark.parametrize("profile", PROFILES, ids=lambda p: f"sites={p['sites']}")
def test_engine_agrees_with_the_reference_meaning(conf, profile):
    data = {"name": "Acme", "industry": "food", **profile}
    doc = conf.run(data)
    fired = {f["rule"] for f in doc["fired"]}
    facts = {"profile": conf.pack.profile.validate(data), "derived": {}, "solution": {}}
    expected = {r.id for r in conf.pack.rules if holds(r.when, facts)}
    assert fired == expected


def test_each_operator_fires_for_some_profile_and_not_for_another(conf):
    seen = {name: set() for name in CONDITIONS}
    for profile in PROFILES:
        doc = conf.run({"name": "Acme", "industry": "food", **profile})
        fired = {f["rule"] for f in doc["fired"]}
        for name in CONDITIONS:
            seen[name].add(name in fired)
    assert {name for name, outcomes in seen.items() if outcomes != {True, False}} == set()


def test_negations_of_missing_values_hold(conf):
    doc = conf.run({"name": "Acme", "industry": "food", "sites": 1})
    fired = {f["rule"] for f in doc["fired"]}
    assert {"not-lt", "not-eq-string", "not-ne", "not-contains", "not-exists",
            "not-date-before", "not-nested"} - fired == {"not-lt"}   # sites=1 is < 5
    assert "ne" not in fired            # a missing country is not "different from DE"


def test_interleaved_configurations_do_not_see_each_others_facts(conf):
    profiles = [{"name": f"C{i}", "industry": "food", **p} for i, p in
                enumerate(itertools.islice(itertools.cycle(PROFILES), 20))]
    alone = [conf.run(p) for p in profiles]
    mixed = [conf.run(p) for p in reversed(profiles)][::-1]
    assert mixed == alone
