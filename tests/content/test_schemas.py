"""The JSON Schemas editors use: committed and current, named by every demo file, followed by
every demo file, and refusing what `configurator check` refuses for its shape."""
from __future__ import annotations

import functools
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft7Validator

from configurator.content import schemas
from configurator.content.pack import DEFAULT_CONTENT, check_pack
from configurator.content.rule_actions import ACTIONS
from configurator.content.rule_conditions import OPERATORS
from configurator.content.rules import RULE_KEYS
from configurator.content.yamlfile import parse_yaml, plain, read_yaml
from helpers import PROFILE, write_pack

DEMO_FILES = sorted(p.relative_to(DEFAULT_CONTENT).as_posix()
                    for folder in ("catalog", "rules")
                    for p in (DEFAULT_CONTENT / folder).rglob("*.y*ml"))


@functools.cache
def validator(name: str) -> Draft7Validator:
    return Draft7Validator(schemas.SCHEMAS[name]())


def errors(name: str, doc: Any) -> list[str]:
    return [f"{e.json_path}: {e.message}" for e in validator(name).iter_errors(doc)]


def as_editor_reads(text: str) -> Any:
    """YAML 1.2 as plain JSON values: what yaml-language-server validates (dates stay text)."""
    return plain(parse_yaml(textwrap.dedent(text).lstrip("\n")))


# --- the committed files ---------------------------------------------------------------------

def test_committed_schemas_are_current():
    fresh = schemas.build_schemas()
    folder = DEFAULT_CONTENT / "schemas"
    for name, text in fresh.items():
        committed = folder / name
        assert committed.is_file() and committed.read_text(encoding="utf-8") == text, (
            f"schemas/{name} is stale or missing: run `configurator schemas` and commit the result")
    assert sorted(p.name for p in folder.iterdir()) == sorted(fresh), (
        "schemas/ holds files `configurator schemas` does not write; remove them")


@pytest.mark.parametrize("name", sorted(schemas.SCHEMAS))
def test_each_schema_is_a_valid_draft_07_schema(name):
    Draft7Validator.check_schema(schemas.SCHEMAS[name]())


def test_a_key_without_a_description_stops_the_build(monkeypatch):
    monkeypatch.setattr(schemas, "OPERATORS", OPERATORS + ("near",))
    with pytest.raises(schemas.SchemaGap, match="condition operators without near"):
        schemas.ruleset_schema()


def test_schemas_command_writes_the_files(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "CONFIGURATOR_CONTENT"}
    pack = write_pack(tmp_path / "pack")
    for args, folder in ((["schemas", "--out", str(tmp_path / "out")], tmp_path / "out"),
                         (["--content", str(pack), "schemas"], pack / "schemas")):
        done = subprocess.run([sys.executable, "-m", "configurator.cli", *args], env=env,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        assert {p.name: p.read_text(encoding="utf-8") for p in folder.iterdir()} \
            == schemas.build_schemas()


# --- the demo pack ---------------------------------------------------------------------------

@pytest.mark.parametrize("rel", DEMO_FILES)
def test_demo_file_names_its_schema_on_the_first_line_and_follows_it(rel):
    path = DEFAULT_CONTENT / rel
    first = path.read_text(encoding="utf-8").splitlines()[0]
    name = schemas.schema_for(rel)
    assert name is not None, f"{rel} is in no schema's scope"
    assert first == f"# yaml-language-server: $schema={'../' * rel.count('/')}schemas/{name}.schema.json"
    target = (path.parent / first.split("$schema=", 1)[1]).resolve()
    assert target == (DEFAULT_CONTENT / "schemas" / schemas.file_name(name)).resolve()
    assert errors(name, plain(read_yaml(path))) == []


def test_demo_pack_has_files_of_every_kind():
    assert {schemas.schema_for(rel) for rel in DEMO_FILES} == set(schemas.SCHEMAS)


# --- the schemas agree with `configurator check` ---------------------------------------------

CATALOG = """
    family: platform
    title: Platform
    modules:
      - id: gateway
        name: Gateway
        kind: hardware
        description: A gateway.
        price: {amount: 200, currency: USD, per: unit, billing: one_time}
        requires: []
        benefits: [One box per site]
    """
RULES = """
    ruleset: r
    stage: solution
    rules:
      - id: one
        priority: 10
        when:
          profile.sites: {gte: 5}
        then:
          - include: gateway
            quantity: profile.sites * 2
            reason: At all {profile.sites} sites
          - note: {section: solution, text: Gateways}
          - discount: {percent: 5, applies_to: gateway, reason: Volume}
    """
TESTS = """
    - name: six sites
      date: 2026-06-01
      profile: {name: Acme, industry: food, sites: 6}
      expect:
        status: ok
        includes: [gateway]
        quantities: {gateway: 12}
        totals: {first_year: 2280}
    """
FILES = {"catalog": ("catalog/platform.yaml", CATALOG), "ruleset": ("rules/r.yaml", RULES),
         "profile": ("rules/profile.yaml", PROFILE), "ruletests": ("rules/tests/t.yaml", TESTS)}


def pack_with(root: Path, name: str, text: str) -> Path:
    files = {rel: body for rel, body in FILES.values()}
    files[FILES[name][0]] = text
    return write_pack(root, catalog={}, profile=None, extra=files)


def test_the_valid_examples_pass_both_check_and_the_schemas(tmp_path):
    pack, problems = check_pack(pack_with(tmp_path, "ruleset", RULES))
    assert pack is not None, [str(p) for p in problems]
    for name, (_, text) in FILES.items():
        assert errors(name, as_editor_reads(text)) == [], name


BROKEN = [
    # (what, schema, text fragment, replaced by)
    ("unknown rule key", "ruleset", "    when:", "    whne:"),
    ("unknown operator", "ruleset", "{gte: 5}", "{gtee: 5}"),
    ("unknown stage", "ruleset", "stage: solution", "stage: soluton"),
    ("priority out of range", "ruleset", "priority: 10", "priority: 5000"),
    ("fact path outside profile/derived/solution", "ruleset", "profile.sites: {gte", "sites: {gte"),
    ("two actions in one item", "ruleset", "- note: {section: solution, text: Gateways}",
     "- {note: {section: solution, text: Gateways}, warn: Careful}"),
    ("unknown action", "ruleset", "- include: gateway", "- includes: gateway"),
    ("option of another action", "ruleset", "reason: Volume}", "reason: Volume}\n        quantity: 2"),
    ("discount with percent and amount", "ruleset", "percent: 5,", "percent: 5, amount: 100,"),
    ("unknown note section", "ruleset", "section: solution", "section: appendix"),
    ("bad billing", "catalog", "billing: one_time", "billing: weekly"),
    ("wrong kind", "catalog", "kind: hardware", "kind: hardwear"),
    ("lowercase currency", "catalog", "currency: USD", "currency: usd"),
    ("negative price", "catalog", "amount: 200", "amount: -200"),
    ("unknown module key", "catalog", "benefits:", "benefit:"),
    ("module without price", "catalog", "    price: {amount: 200, currency: USD, per: unit, "
                                         "billing: one_time}\n", ""),
    ("unknown field type", "profile", "founded: {type: date}", "founded: {type: datetime}"),
    ("enum without values", "profile", "industry: {type: enum, values: [food, pharma, logistics, "
                                       "telecom], required: true}", "industry: {type: enum}"),
    ("values on a text field", "profile", "country: {type: string}",
     "country: {type: string, values: [DE, NO]}"),
    ("unknown field key", "profile", "country: {type: string}", "country: {type: string, lable: C}"),
    ("unknown status", "ruletests", "status: ok", "status: approved"),
    ("unknown expectation", "ruletests", "includes:", "include:"),
    ("unknown total", "ruletests", "first_year:", "first-year:"),
    ("quantity in words", "ruletests", "{gateway: 12}", "{gateway: twelve}"),
    ("test without a name", "ruletests", "- name: six sites\n  ", "- "),
]


@pytest.mark.parametrize("what, name, old, new", BROKEN, ids=[case[0] for case in BROKEN])
def test_schema_refuses_what_check_refuses(tmp_path, what, name, old, new):
    text = textwrap.dedent(FILES[name][1])
    assert text.count(old) == 1, f"the fragment for {what!r} must occur once"
    broken = text.replace(old, new)
    assert errors(name, as_editor_reads(broken)), f"the {name} schema accepts: {what}"
    pack, _ = check_pack(pack_with(tmp_path, name, broken))
    assert pack is None, f"check accepts {what}; the schema must not be stricter than check"


EVERYTHING = """
    ruleset: everything
    stage: pricing
    description: Every operator and every action, once at least.
    rules:
      - id: every-operator
        description: Each operator in one rule.
        priority: 1000
        draft: true
        effective: {from: 2026-01-01, until: 2026-12-31}
        when:
          profile.industry: food
          profile.country: {ne: DE, matches: 'D[EK]|N.'}
          profile.sites: {gte: 5, lt: 50, eq: 6}
          profile.employees: {lte: 100, gt: 1}
          profile.founded: {gte: '2000-01-01'}
          profile.revenue: {exists: true}
          any:
            - profile.needs: {contains: cold-chain}
            - profile.needs: {contains_any: [multi-site, 24x7]}
          all:
            - profile.needs: {contains_all: [cold-chain]}
            - profile.industry: {in: [food, pharma]}
          not: {profile.industry: {not_in: [food]}}
        then:
          - derive: {tier: key, score: {expr: "profile.sites * 2"}, flags: [a, b], big: true}
          - include: gateway
            quantity: max(1, ceil(profile.sites / 4))
            reason: One per four sites
          - recommend: gateway
            reason: Spare
          - exclude: gateway
          - discount: {percent: 5, applies_to: total, reason: Loyal}
          - surcharge: {amount: 100, applies_to: "family:platform", reason: Rush}
          - require_approval: {role: finance, reason: "Above {derived.score}"}
          - service_level: {response_hours: 4, escalation: [{level: 1, role: lead, within_hours: 2}]}
          - team: {role: delivery-lead, responsibility: Delivers}
          - note: {section: commercial, text: Valid for 30 days}
          - warn: Check the budget of {profile.name}
      - id: always
        when: {}
        then: [{warn: Always}]
      - id: always-without-when
        then: [{warn: Always too}]
    """


def test_a_rule_file_using_every_operator_and_action_passes_both(tmp_path):
    doc = as_editor_reads(EVERYTHING)
    operators, actions, keys = set(), set(), set()

    def walk(cond: dict) -> None:
        for key, value in cond.items():
            if key in ("any", "all"):
                for item in value:
                    walk(item)
            elif key == "not":
                walk(value)
            else:
                operators.update(value if isinstance(value, dict) else ["eq"])

    for rule in doc["rules"]:
        keys.update(rule)
        walk(rule.get("when") or {})
        actions.update(k for item in rule["then"] for k in item if k in ACTIONS)
    assert (operators, actions, keys) == (set(OPERATORS), set(ACTIONS), set(RULE_KEYS)), \
        "add the new operator, action or rule key to EVERYTHING"
    assert errors("ruleset", doc) == []
    pack, problems = check_pack(pack_with(tmp_path, "ruleset", EVERYTHING))
    assert pack is not None, [str(p) for p in problems]
