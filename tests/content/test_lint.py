"""`check` in depth: rules that can never fire, exclusions that always win, modules no rule can
reach, include/exclude pairs that overlap. Each check with a deliberately broken pack and the
exact message a product manager reads."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from configurator.content.lint import lint_pack
from configurator.content.pack import DEFAULT_CONTENT, check_pack, load_pack
from helpers import write_pack

PRICE = "price: {amount: 1, currency: USD, per: unit, billing: monthly}"
NEVER = "keep the condition you mean and remove the other; if either one should do, put them " \
        "under `any: [...]`"


def catalog(*modules: str) -> dict[str, str]:
    """One family holding the given modules; `cloud>core` is cloud requiring core."""
    lines = ["family: platform", "title: Platform", "modules:"]
    for spec in modules:
        module, _, required = spec.partition(">")
        requires = f" requires: [{required}]," if required else ""
        lines.append(f"  - {{id: {module}, name: {module.title()}, kind: software,{requires} {PRICE}}}")
    return {"catalog/platform.yaml": "\n".join(lines) + "\n"}


def check(tmp_path: Path, rules: str, modules: tuple[str, ...] = ("core",)) -> tuple[bool, list[str]]:
    """(whether the pack loads, every problem as `check` prints it)."""
    pack, problems = check_pack(write_pack(tmp_path, {"r.yaml": rules}, catalog=catalog(*modules)))
    return pack is not None, [str(p) for p in problems]


def one_rule(when: str) -> str:
    return f"""
        ruleset: r
        stage: solution
        rules:
          - id: big-order
            when: {{{when}}}
            then: [{{include: core}}]
        """


# --- 1. rules that can never fire: an error, the pack is not loaded -----------------------------

@pytest.mark.parametrize("when, what", [
    ("profile.sites: {gte: 10, lt: 5}", "profile.sites must be at least 10 and less than 5 at once"),
    ("all: [{profile.industry: food}, {profile.industry: pharma}]",
     "profile.industry must be food and pharma at once"),
    ("profile.industry: {in: [food, pharma]}, all: [{profile.industry: {in: [logistics, telecom]}}]",
     "profile.industry must be one of food, pharma and one of logistics, telecom at once"),
    ("profile.revenue: {exists: false, gte: 1000}",
     "profile.revenue must be empty and at least 1000 at once"),
    ("profile.sites: {gt: 4, lt: 5}", "profile.sites must be more than 4 and less than 5 at once"),
    ("profile.industry: food, not: {profile.industry: {in: [food, pharma]}}",
     "profile.industry must be food and none of food, pharma at once"),
])
def test_contradictory_conditions_on_one_field_are_an_error(tmp_path, when, what):
    loads, problems = check(tmp_path, one_rule(when))
    assert not loads
    assert problems == [f"rules/r.yaml:5: error: rule `big-order` can never fire: {what}\n"
                        f"    fix: {NEVER}"]


def test_a_rule_whose_every_alternative_contradicts_is_an_error(tmp_path):
    loads, problems = check(tmp_path, one_rule(
        "profile.sites: {gte: 10}, any: [{profile.sites: {lt: 5}}, {profile.sites: {lt: 3}}]"))
    assert not loads
    assert problems == ["rules/r.yaml:5: error: rule `big-order` can never fire: in every "
                        "alternative of its `any`: profile.sites must be at least 10 and less than "
                        "5 at once; profile.sites must be at least 10 and less than 3 at once\n"
                        f"    fix: {NEVER}"]


@pytest.mark.parametrize("when, message", [
    ("profile.scores.loyalty: {gt: 5}",
     "profile.scores.loyalty must be more than 5, but rules/profile.yaml declares it from 1 to 5\n"
     "    fix: compare with a value from 1 to 5, or change min/max of `scores.loyalty` in "
     "rules/profile.yaml"),
    ("profile.sites: {lt: 1}",
     "profile.sites must be less than 1, but rules/profile.yaml declares it at least 1\n"
     "    fix: compare with a value of at least 1, or change min of `sites` in rules/profile.yaml"),
    ("profile.scores.risk: {in: [0, 6]}",
     "profile.scores.risk must be one of 0, 6, but rules/profile.yaml declares it from 1 to 5\n"
     "    fix: compare with a value from 1 to 5, or change min/max of `scores.risk` in "
     "rules/profile.yaml"),
])
def test_a_value_outside_the_declared_range_is_an_error(tmp_path, when, message):
    loads, problems = check(tmp_path, one_rule(when))
    assert not loads
    assert problems == [f"rules/r.yaml:5: error: rule `big-order` can never fire: {message}"]


def test_a_derived_value_that_no_rule_sets_is_an_error(tmp_path):
    loads, problems = check(tmp_path, """
        ruleset: r
        stage: segment
        rules:
          - {id: tier-strategic, when: {profile.sites: {gte: 50}}, then: [{derive: {tier: strategic}}]}
          - {id: tier-standard, when: {profile.sites: {lt: 50}}, then: [{derive: {tier: standard}}]}
          - {id: platform, when: {derived.tier: strategc}, then: [{include: core}]}
        """)
    assert not loads
    assert problems == ["rules/r.yaml:6: error: rule `platform` can never fire: derived.tier must "
                        "be strategc, but rules only ever set it to strategic, standard\n"
                        "    fix: did you mean `strategic`? use one of: strategic, standard"]


@pytest.mark.parametrize("when", [
    "profile.sites: {gte: 5, lt: 10}",
    "profile.revenue: {gt: 4, lt: 5}",                      # numbers have decimals: 4.5 will do
    "profile.industry: {in: [food, pharma], ne: food}",
    "profile.scores.loyalty: {gte: 5}",
    "profile.industry: pharma, not: {profile.industry: food}",
    "profile.needs: {contains: cold-chain}, not: {profile.needs: {contains: 24x7}}",
    "profile.founded: {gte: '2020-01-01', lt: '2020-01-02'}",
    "profile.country: {matches: 'D.', ne: DE}",
    "any: [{profile.sites: {gte: 10, lt: 5}}, {profile.sites: 3}]",   # one alternative can hold
])
def test_conditions_that_some_customer_meets_are_not_reported(tmp_path, when):
    assert check(tmp_path, one_rule(when)) == (True, [])


# --- 2. an exclusion that always wins ----------------------------------------------------------

def test_an_unconditional_exclusion_shadows_an_include(tmp_path):
    loads, problems = check(tmp_path, """
        ruleset: r
        stage: solution
        rules:
          - id: base
            then: [{include: core}, {include: sensor}]
          - id: no-sensor
            then: [{exclude: sensor}]
        """, ("core", "sensor"))
    assert loads
    assert problems == [
        "rules/r.yaml:5: warning: rule `base` (rules/r.yaml:4) includes `sensor`, but rule "
        "`no-sensor` (rules/r.yaml:6) excludes it whenever `base` fires: the exclusion always "
        "wins, so `base` never adds `sensor`\n"
        "    fix: remove the include from `base`, or narrow `no-sensor` so that it does not apply "
        "to every customer of `base`"]


def test_an_exclusion_whose_conditions_the_include_always_meets_shadows_it(tmp_path):
    loads, problems = check(tmp_path, """
        ruleset: r
        stage: solution
        rules:
          - id: base
            then: [{include: core}]
          - id: big-food
            when: {profile.industry: food, profile.sites: {gte: 10}}
            then: [{include: sensor}]
          - id: no-sensor-multi-site
            when: {profile.sites: {gte: 5}}
            then: [{exclude: sensor}]
        """, ("core", "sensor"))
    assert loads
    assert problems == [
        "rules/r.yaml:8: warning: rule `big-food` (rules/r.yaml:6) includes `sensor`, but rule "
        "`no-sensor-multi-site` (rules/r.yaml:9) excludes it whenever `big-food` fires: the "
        "exclusion always wins, so `big-food` never adds `sensor`\n"
        "    fix: remove the include from `big-food`, or narrow `no-sensor-multi-site` so that it "
        "does not apply to every customer of `big-food`"]


def test_a_dated_exclusion_does_not_always_win_and_is_reported_as_an_overlap(tmp_path):
    loads, problems = check(tmp_path, """
        ruleset: r
        stage: solution
        rules:
          - id: food
            when: {profile.industry: food}
            then: [{include: core}, {include: sensor}]
          - id: no-sensor-2027
            effective: {from: 2027-01-01}
            then: [{exclude: sensor}]
        """, ("core", "sensor"))
    assert loads
    assert problems == [
        "rules/r.yaml:6: warning: rule `food` (rules/r.yaml:4) includes `sensor` and rule "
        "`no-sensor-2027` (rules/r.yaml:7) excludes it; a customer can meet both (e.g. "
        "profile.industry food), and then the exclusion wins\n"
        "    fix: if that is meant, add the opposite of `no-sensor-2027`'s condition to `food` so "
        "the two no longer overlap; otherwise narrow `no-sensor-2027`"]


# --- 3. modules no rule can include --------------------------------------------------------------

def test_a_module_no_rule_can_include_is_reported_at_its_catalog_line(tmp_path):
    loads, problems = check(tmp_path, """
        ruleset: r
        stage: solution
        rules:
          - id: base
            then: [{include: cloud}, {recommend: training}]
        """, ("core", "cloud>core", "training", "spare>core"))
    assert loads
    assert problems == [
        "catalog/platform.yaml:7: warning: module `spare` is never part of a solution: no rule "
        "includes or recommends it and no module that rules bring in requires it, so only a "
        "solution lead's `add` can put it in\n"
        "    fix: include or recommend it in a rule, add it to the `requires` of a module that is "
        "sold, or remove it from the catalog"]


# --- 4. include/exclude pairs that overlap -------------------------------------------------------

def test_include_and_exclude_that_one_customer_can_meet_both_are_reported(tmp_path):
    loads, problems = check(tmp_path, """
        ruleset: r
        stage: solution
        rules:
          - id: food-sensors
            when: {profile.industry: food}
            then: [{include: sensor}, {include: core}]
          - id: no-sensors-in-norway
            when: {profile.country: "NO"}
            then: [{exclude: sensor}]
          - id: pharma-no-sensors                 # never meets food-sensors: not reported
            when: {profile.industry: pharma}
            then: [{exclude: sensor}]
          - id: small-food-no-sensors             # a deliberate exception to food-sensors
            when: {profile.industry: food, profile.sites: {lt: 2}}
            then: [{exclude: sensor}]
        """, ("core", "sensor"))
    assert loads
    assert problems == [
        "rules/r.yaml:6: warning: rule `food-sensors` (rules/r.yaml:4) includes `sensor` and rule "
        "`no-sensors-in-norway` (rules/r.yaml:7) excludes it; a customer can meet both (e.g. "
        "profile.industry food, profile.country NO), and then the exclusion wins\n"
        "    fix: if that is meant, add the opposite of `no-sensors-in-norway`'s condition to "
        "`food-sensors` so the two no longer overlap; otherwise narrow `no-sensors-in-norway`"]


# --- 5. warnings versus errors on the command line -------------------------------------------------

def run(*args: str, content: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "CONFIGURATOR_CONTENT"}
    return subprocess.run([sys.executable, "-m", "configurator.cli", "--content", str(content),
                           "check", "--no-trial", *args],
                          capture_output=True, text=True, env=env, timeout=120)


def test_check_prints_warnings_and_exits_0_and_json_carries_their_severity(tmp_path):
    root = write_pack(tmp_path, {"r.yaml": """
        ruleset: r
        stage: solution
        rules:
          - {id: base, then: [{include: core}]}
        """}, catalog=catalog("core", "spare"))
    done = run(content=root)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("OK: content ")
    assert done.stderr.startswith("catalog/platform.yaml:5: warning: module `spare` is never part "
                                  "of a solution")
    report = json.loads(run("--format", "json", content=root).stdout)
    assert report["ok"] is True
    assert [(p["file"], p["line"], p["severity"]) for p in report["problems"]] == \
        [("catalog/platform.yaml", 5, "warning")]
    assert report["problems"][0]["hint"].startswith("include or recommend it in a rule")


def test_check_exits_1_on_a_rule_that_can_never_fire(tmp_path):
    root = write_pack(tmp_path, {"r.yaml": one_rule("profile.sites: {gte: 10, lt: 5}")},
                      catalog=catalog("core"))
    done = run(content=root)
    assert done.returncode == 1
    assert "rules/r.yaml:5: error: rule `big-order` can never fire" in done.stderr
    report = json.loads(run("--format", "json", content=root).stdout)
    assert report["ok"] is False and report["problems"][0]["severity"] == "error"


def test_the_demo_pack_has_no_rule_that_can_never_fire():
    problems = lint_pack(load_pack(DEFAULT_CONTENT))
    assert [str(p) for p in problems if p.severity == "error"] == []


# --- did you mean: misspelt keys everywhere get a suggestion -------------------------------------

def test_misspelt_option_field_and_price_keys_get_a_suggestion(tmp_path):
    profile = """
        fields:
          name: {type: string, requird: true}
          sites: {type: intger}
        """
    shop = {"catalog/platform.yaml": """
        family: platform
        modules:
          - {id: core, name: Core, kind: software, price: {amount: 1, currency: USD, pre: unit, billing: monthly}}
        """}
    rules = {"r.yaml": """
        ruleset: r
        stage: solution
        rules:
          - id: base
            then: [{include: core, quantiy: 2}]
        """}
    pack, problems = check_pack(write_pack(tmp_path, rules, catalog=shop, profile=profile))
    assert pack is None
    assert [str(p) for p in problems] == [
        "catalog/platform.yaml:3: error: unknown key `pre` in the price of `core`\n"
        "    fix: did you mean `per`? allowed: amount, currency, per, billing",
        "rules/profile.yaml:2: error: unknown key `requird` in field `name`\n"
        "    fix: did you mean `required`? allowed keys: type, required, min, max, values, items, "
        "fields, default, label, help, pattern, max_length, max_items",
        "rules/profile.yaml:3: error: field `sites` has type 'intger'\n"
        "    fix: did you mean `integer`? use one of: string, integer, number, boolean, enum, date, "
        "list, object, country, currency",
        "rules/r.yaml:5: error: `quantiy` is not an option of `include`\n"
        "    fix: did you mean `quantity`? `include` takes: quantity, reason",
    ]
