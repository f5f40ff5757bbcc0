"""Edge cases found in review (each comment says what used to go wrong), pinned so they stay fixed.

Anything that could hang or crash the interpreter runs in a child process with a timeout.
"""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from configurator.content.pack import check_pack
from configurator.engine.pipeline import compile_pack
from configurator.content.conditions import holds
from configurator.services.trial import minimal_profile
from helpers import PROFILE, Configurator, fired, lines, write_pack

REPO = Path(__file__).resolve().parents[2]


def ruleset(stage: str, body: str, name: str = "r") -> str:
    return f"ruleset: {name}\nstage: {stage}\nrules:\n" + body


def errors_of(root: Path) -> list[str]:
    """Every error `configurator check --no-trial` would report for the pack at `root`."""
    pack, problems = check_pack(root)
    if pack is not None:
        problems = problems + compile_pack(pack)[2]
    return [str(p) for p in problems if p.severity == "error"]


def run_child(code: str, timeout: float = 60) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": f"{REPO}{os.pathsep}{REPO / 'tests'}"}
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, timeout=timeout, cwd=REPO, env=env)


def cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", "configurator.cli", *args], capture_output=True,
                          text=True, timeout=timeout, cwd=REPO, env=env)


# --- 1. durable's 64-comparison limit: check counts only lt/lte/gt/gte/matches ------------------

@pytest.mark.parametrize("condition, profile", [
    # 64 ordinary rules asking "does the customer need cold-chain?"
    ("{profile.needs: {contains: cold-chain}}", {"needs": ["cold-chain"]}),
    # 64 rules each leaving out other countries (`ne`/`not_in` compile to durable's $neq)
    ("{profile.country: {not_in: [C%d, X%d]}}", {"country": "NO"}),
], ids=["contains", "not_in"])
def test_many_contains_or_not_in_tests_on_one_field_are_refused_by_check_or_run(
        tmp_path, condition, profile):
    # was: check counts only lt/lte/gt/gte/matches toward durable's 64-comparison limit; it
    # passes, then every matching configuration fails with engine error 303
    conds = [condition.replace("%d", str(i)) for i in range(64)]
    body = "".join(f"  - id: r{i}\n    when: {c}\n    then: [{{warn: w}}]\n"
                   for i, c in enumerate(conds))
    root = write_pack(tmp_path, {"r.yaml": ruleset("segment", body)})
    if errors_of(root):
        return          # refused by check, in the product manager's terms: fine
    conf = Configurator(root)
    try:
        assert len(fired(conf.run(profile))) == len(conds)
    finally:
        conf.close()


# --- 2. a failed evaluation leaks its durable session; after ~1,024 nothing works any more ----

def test_a_failed_evaluation_releases_its_engine_state():
    # was: evaluate() skips delete_state when assert_fact failed; after 1,024 failures every
    # configuration on that ruleset fails (MemoryError inside durable), good profiles included
    done = run_child("""
        import logging
        logging.disable(logging.CRITICAL)
        from configurator.engine.durable_adapter import DurableEngine
        from configurator.engine.errors import EngineError
        engine = DurableEngine()
        rules = {f"r{i}": {"all": [{"m": {"$iany": {"needs": {"$i": "x"}}}}], "pri": i}
                 for i in range(64)}
        rules["good"] = {"all": [{"m": {"$gte": {"sites": 1}}}], "pri": 100}
        name = engine.register("leak", rules)
        fired = []
        for _ in range(1100):
            try:
                engine.evaluate(name, {"needs": ["x"], "sites": 1}, lambda r: None)
            except EngineError:
                pass
        engine.evaluate(name, {"needs": [], "sites": 1}, lambda r: fired.append(r))
        print("FIRED", fired)
        """)
    assert "FIRED ['good']" in done.stdout, done.stderr[-2000:]


# --- 3. an empty text has no value, says the reference; durable compares it ------------------

def test_an_empty_text_has_no_value_for_ne_and_not_in(tmp_path):
    # was: `ne: DE` and `not_in: [NO]` fire for country "" although a test on a fact without
    # a value is false (the reference, `value_of`, treats "" as no value)
    root = write_pack(tmp_path, {"r.yaml": ruleset("segment", """\
  - id: ne
    when: {profile.country: {ne: DE}}
    then: [{warn: w}]
  - id: not-in
    when: {profile.country: {not_in: [NO]}}
    then: [{warn: w}]
""")})
    conf = Configurator(root)
    try:
        data = {"name": "Acme", "industry": "food", "sites": 1, "country": ""}
        doc = conf.run(data)
        facts = {"profile": conf.pack.profile.validate(data), "derived": {}, "solution": {}}
        expected = {r.id for r in conf.pack.rules if holds(r.when, facts)}
        assert set(fired(doc)) == expected == set()
    finally:
        conf.close()


# --- 4. `not` of an always-true group compiles to "always" --------------------------------------

def test_not_of_an_always_true_group_never_fires(tmp_path):
    # was: nnf turns `not: {any: [{}]}` into an empty any-of, which _expr drops as "always
    # true", so the rule fires for every profile
    root = write_pack(tmp_path, {"r.yaml": ruleset("segment", """\
  - id: never
    when: {not: {any: [{}]}}
    then: [{warn: w}]
""")})
    if errors_of(root):
        return
    conf = Configurator(root)
    try:
        assert fired(conf.run()) == []
    finally:
        conf.close()


# --- 5/6. `matches` patterns that check accepts but durable reads differently ------------------

def test_matches_backslash_w_is_refused_by_check(tmp_path):
    # was: \w was translated to durable's %w, which matches neither `_` nor non-ASCII letters,
    # so the rule silently never fired for "Nord_Frost" or "Müller"; now check refuses \w
    root = write_pack(tmp_path, {"r.yaml": ruleset("segment", """\
  - id: word
    when: {profile.country: {matches: '\\w+'}}
    then: [{warn: w}]
""")})
    assert any("r.yaml:" in e and "\\w is not supported" in e for e in errors_of(root))


def test_matches_open_lower_bound_repetition_is_refused_or_correct(tmp_path):
    # was: `a{,2}` passes check and durable matches "aaaa" with it
    root = write_pack(tmp_path, {"r.yaml": ruleset("segment", """\
  - id: at-most-two
    when: {profile.country: {matches: 'a{,2}'}}
    then: [{warn: w}]
""")})
    if errors_of(root):
        return
    conf = Configurator(root)
    try:
        assert fired(conf.run(country="aaaa")) == []
    finally:
        conf.close()


def test_a_pattern_the_engine_cannot_read_is_refused_by_check(tmp_path):
    # was: `[-a]+` passes check_pack and compile_pack; Pipeline() then raises EngineError 501
    root = write_pack(tmp_path, {"r.yaml": ruleset("segment", """\
  - id: dash-class
    when: {profile.country: {matches: '[-a]+'}}
    then: [{warn: w}]
""")})
    assert any("r.yaml:" in e for e in errors_of(root))


# --- 7. condition values durable cannot parse --------------------------------------------------

def test_a_small_decimal_in_a_condition_works_or_is_refused_by_check(tmp_path):
    # was: 0.00001 reaches durable as 1e-05; registering the stage fails with error 204
    root = write_pack(tmp_path, {"r.yaml": ruleset("segment", """\
  - id: any-revenue
    when: {profile.revenue: {gt: 0.00001}}
    then: [{warn: w}]
""")})
    if errors_of(root):
        return
    conf = Configurator(root)
    try:
        assert fired(conf.run(revenue=5.0)) == ["any-revenue"]
    finally:
        conf.close()


def test_tiny_profile_numbers_are_not_compared_as_zero(tmp_path):
    # was: _clean turns any number below 1e-4 into 0.0, so `gt: 0` is false for 0.00005
    root = write_pack(tmp_path, {"r.yaml": ruleset("segment", """\
  - id: positive
    when: {profile.revenue: {gt: 0}}
    then: [{warn: w}]
""")})
    conf = Configurator(root)
    try:
        assert fired(conf.run(revenue=0.00005)) == ["positive"]
    finally:
        conf.close()


# --- 8. the CLI shows a traceback when the engine refuses ----------------------------------------

def test_cli_configure_reports_an_engine_failure_without_a_traceback(tmp_path):
    # was: EngineError (error 303 here) escapes `configurator configure` as a traceback
    body = "".join(f"  - id: r{i}\n    when: {{profile.needs: {{contains: cold-chain}}}}\n"
                   f"    then: [{{warn: w}}]\n" for i in range(64))
    root = write_pack(tmp_path / "pack", {"r.yaml": ruleset("segment", body)})
    profile = tmp_path / "p.yaml"
    profile.write_text("name: Acme\nindustry: food\nsites: 1\nneeds: [cold-chain]\n")
    done = cli("--content", str(root), "configure", str(profile))
    assert "Traceback" not in done.stderr, done.stderr[-1500:]
    assert done.returncode in (0, 1, 2)


# --- 9. YAML dates: ruamel builds datetime.date, `plain` then raises ---------------------------

def test_check_reports_dates_in_a_list_instead_of_crashing(tmp_path):
    # was: check_pack raises YamlSyntaxError ("YAML tags such as 2020-01-01 ...") from
    # parse_ruleset: `in: [2020-01-01]`, a derived date or a date in service_level all crash it
    root = write_pack(tmp_path, {"r.yaml": ruleset("segment", """\
  - id: recent
    when: {profile.founded: {in: [2020-01-01, 2021-01-01]}}
    then: [{derive: {since: 2020-01-01}}]
""")})
    pack, problems = check_pack(root)      # must not raise
    assert pack is not None or all(p.line for p in problems)


def test_an_unquoted_date_in_a_rule_test_profile_is_a_date(tmp_path):
    # was: YAML 1.2 reads 2001-05-01 as text, but ruamel gives a date and the test is refused
    # with "YAML tags such as 2001-05-01 are not allowed"
    root = write_pack(tmp_path, {"r.yaml": ruleset("segment", """\
  - id: old
    when: {profile.founded: {lt: '2010-01-01'}}
    then: [{derive: {old: true}}]
""")}, tests={"t.yaml": """\
- name: Old company
  profile: {name: Acme, industry: food, sites: 1, founded: 2001-05-01}
  expect: {derived: {old: true}}
"""})
    assert errors_of(root) == []


# --- 10. solution.quantities of a module id with a dot --------------------------------------

def test_solution_quantities_works_for_module_ids_with_a_dot(tmp_path):
    # was: ids may contain `.`; `solution.quantities.sensor.v2` passes check but is looked up
    # as quantities -> sensor -> v2, so the test is never true and expressions warn "no value"
    from helpers import CATALOG
    catalog = dict(CATALOG)
    catalog["catalog/extra.yaml"] = """
        family: extra
        modules:
          - id: sensor.v2
            name: Sensor v2
            kind: hardware
            price: {amount: 10, currency: USD, per: unit, billing: one_time}
        """
    root = write_pack(tmp_path, {
        "a.yaml": ruleset("solution", "  - id: inc\n    then: [{include: sensor.v2, quantity: 5}]\n"),
        "b.yaml": ruleset("pricing", "  - id: many\n    when: {solution.quantities.sensor.v2: {gte: 5}}\n"
                                     "    then: [{warn: five}]\n", name="p"),
    }, catalog=catalog)
    if errors_of(root):
        return
    conf = Configurator(root)
    try:
        assert "many" in fired(conf.run())
    finally:
        conf.close()


# --- 11. the trial's minimal profile ignores min and max_length ---------------------------------

def test_the_minimal_trial_profile_is_valid_for_a_valid_declaration(tmp_path):
    # was: minimal_profile gives int(min) = 0 for `min: 0.5` and "Trial" for max_length 3, so
    # the trial run (and `configurator check`) refuses a valid pack
    profile = textwrap.dedent(PROFILE) + (
        "  share: {type: number, min: 0.5, max: 1, required: true}\n"
        "  code: {type: string, max_length: 3, required: true}\n")
    root = write_pack(tmp_path, {"r.yaml": ruleset("segment", "  - id: a\n    then: [{warn: w}]\n")},
                      profile=profile)
    pack, problems = check_pack(root)
    assert pack is not None, problems
    pack.profile.validate(minimal_profile(pack.profile.fields))


# --- 12. `required: no` (YAML 1.2 text) is read as required ------------------------------------

def test_required_no_in_the_profile_declaration_is_refused(tmp_path):
    # was: bool("no") is True: the field silently becomes required
    profile = textwrap.dedent(PROFILE) + "  region: {type: string, required: no}\n"
    root = write_pack(tmp_path, {"r.yaml": ruleset("segment", "  - id: a\n    then: [{warn: w}]\n")},
                      profile=profile)
    errors = errors_of(root)
    assert any("profile.yaml:" in e and "required" in e for e in errors), errors


# --- 13. malformed `expect` in rule tests ----------------------------------------------------

def test_check_reports_a_mapping_in_expect_includes(tmp_path):
    # was: `includes: [sensor: 2]` makes check_pack raise TypeError (unhashable CommentedMap)
    root = write_pack(tmp_path, {"r.yaml": ruleset("segment", "  - id: a\n    then: [{warn: w}]\n")},
                      tests={"t.yaml": """\
- name: t
  profile: {name: Acme, industry: food, sites: 1}
  expect: {includes: [sensor: 2]}
"""})
    pack, problems = check_pack(root)      # must not raise
    assert pack is None and any("t.yaml:3" in str(p) for p in problems)


def test_check_reports_expect_derived_that_is_not_a_mapping(tmp_path):
    # was: `derived: [tier]` passes check; `configurator test` then dies with AttributeError
    root = write_pack(tmp_path, {"r.yaml": ruleset("segment",
                                                   "  - id: a\n    then: [{derive: {tier: key}}]\n")},
                      tests={"t.yaml": """\
- name: t
  profile: {name: Acme, industry: food, sites: 1}
  expect: {derived: [tier], warnings: budget}
"""})
    errors = errors_of(root)
    assert any("derived" in e for e in errors) and any("warnings" in e for e in errors), errors


# --- 14. arithmetic overflow escapes the expression evaluator ----------------------------------

def test_an_expression_that_overflows_gives_a_warning_not_an_exception(tmp_path):
    # was: ceil(inf) raises OverflowError (and floor(nan) ValueError) out of configure
    root = write_pack(tmp_path, {"r.yaml": ruleset("solution", """\
  - id: huge
    then: [{include: sensor, quantity: 'ceil(profile.revenue * 1e300)'}]
""")})
    conf = Configurator(root)
    try:
        doc = conf.run(revenue=1e15)
        assert any(w["rule"] == "huge" for w in doc["warnings"])
    finally:
        conf.close()


def test_a_huge_integer_in_a_profile_is_refused_or_configured(tmp_path):
    # was: integer fields have no bound; employees = 10**400 passes validation and
    # Evaluation._number's float(value) raises OverflowError out of configure
    from configurator.content.profile import ProfileInvalid
    root = write_pack(tmp_path, {"r.yaml": ruleset("solution", """\
  - id: seats
    then: [{include: sensor, quantity: profile.employees}]
""")})
    conf = Configurator(root)
    try:
        try:
            doc = conf.run(employees=10 ** 400)
        except ProfileInvalid as exc:
            assert "employees" in exc.errors
        else:
            assert lines(doc)["sensor"]["quantity"] >= 1
    finally:
        conf.close()


# --- 15. configuration documents share lists with the loaded rules ------------------------------

def test_changing_one_configuration_document_does_not_change_the_next(tmp_path):
    # was: derived lists, service_level values and team members are the rule's own objects
    # (shallow copies only), so a caller editing a document edits the content pack itself
    root = write_pack(tmp_path, {"r.yaml": ruleset("segment", """\
  - id: a
    then:
      - derive: {codes: [x, y]}
      - service_level: {escalation: [l1, l2]}
      - team: {role: lead, tags: [a]}
""")})
    conf = Configurator(root)
    try:
        first = conf.run()
        first["derived"]["codes"].append("edited")
        first["service_level"]["escalation"].append("edited")
        first["team"][0]["tags"].append("edited")
        second = conf.run()
        assert second["derived"]["codes"] == ["x", "y"]
        assert second["service_level"]["escalation"] == ["l1", "l2"]
        assert second["team"][0]["tags"] == ["a"]
    finally:
        conf.close()
