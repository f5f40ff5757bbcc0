"""`check` finds what a product manager can get wrong, naming file and line and how to fix it."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from configurator.content.pack import DEFAULT_CONTENT, check_pack, load_pack
from configurator.content.problems import ContentError
from configurator.engine.pipeline import compile_pack
from helpers import write_pack

RULE = """
    ruleset: r
    stage: solution
    rules:
      - id: one
        when: {{{when}}}
        then: [{{include: gateway}}]
    """


def problems_for(tmp_path: Path, **kwargs) -> list[str]:
    pack, problems = check_pack(write_pack(tmp_path, **kwargs))
    assert pack is None, "the broken pack was accepted"
    return [str(p) for p in problems]


def rule_with(when: str) -> dict:
    return {"r.yaml": RULE.format(when=when)}


@pytest.mark.parametrize("when, message", [
    ("profile.sitez: {gte: 5}",
     "rules/r.yaml:5: error: `profile.sitez` is not declared in rules/profile.yaml\n"
     "    fix: did you mean `profile.sites`?"),
    ("profile.sites: {gtee: 5}",
     "rules/r.yaml:5: error: unknown operator `gtee` on profile.sites\n"
     "    fix: did you mean `gte`? operators: eq, ne, lt, lte, gt, gte, in, not_in, contains, "
     "contains_any, contains_all, matches, exists"),
    ("profile.sites: {gte: '5'}",
     "rules/r.yaml:5: error: profile.sites is a number but is compared with '5'\n"
     "    fix: write the number without quotes, e.g. `profile.sites: {gte: 5}`"),
    ("profile.industry: fod",
     "rules/r.yaml:5: error: `fod` is not a value of profile.industry\n"
     "    fix: did you mean `food`? allowed: food, pharma, logistics, telecom"),
    ("profile.industry: {in: [food, farma]}",
     "rules/r.yaml:5: error: `farma` is not a value of profile.industry\n"
     "    fix: did you mean `pharma`? allowed: food, pharma, logistics, telecom"),
    ("profile.needs: cold-chain",
     "rules/r.yaml:5: error: profile.needs is a list; `eq` does not apply to lists\n"
     "    fix: use contains, contains_any, contains_all or exists"),
    ("profile.sites: {contains: 3}",
     "rules/r.yaml:5: error: profile.sites is a integer, not a list; `contains` applies to lists\n"
     "    fix: use a bare value for equality or `in: [...]`"),
    ("any: []",
     "rules/r.yaml:5: error: `any:` needs a non-empty list of conditions\n"
     "    fix: write `any: [{profile.sites: {gte: 5}}, ...]`"),
    ("derived.tier: key",
     "rules/r.yaml:5: error: `derived.tier` is never set by a `derive` action"),
    ("profile.country: {matches: '(?=N)O'}",
     "rules/r.yaml:5: error: regular expression '(?=N)O' on profile.country: (?...) groups, "
     "look-arounds and flags are not supported"),
    ("profile.founded: {lt: '2020-13-01'}",
     "rules/r.yaml:5: error: profile.founded is a date but `2020-13-01` is not yyyy-mm-dd\n"
     "    fix: write e.g. 2026-12-31"),
    ("profile.scores: {gte: 3}",
     "rules/r.yaml:5: error: profile.scores is an object; compare one of its fields\n"
     "    fix: fields: profile.scores.loyalty, profile.scores.risk"),
])
def test_condition_mistakes_are_reported_with_file_line_and_fix(tmp_path, when, message):
    found = problems_for(tmp_path, rules=rule_with(when))
    assert any(p.startswith(message) for p in found), found


def test_a_rule_key_typo_suggests_the_right_key(tmp_path):
    found = problems_for(tmp_path, rules={"r.yaml": """
        ruleset: r
        stage: solution
        rules:
          - id: one
            whne: {profile.sites: 3}
            then: [{include: gateway}]
        """})
    assert found == ["rules/r.yaml:5: error: unknown key `whne` in a rule\n"
                     "    fix: did you mean `when`? allowed: id, description, priority, draft, effective, when, then"]


def test_unknown_module_stage_and_family_are_reported(tmp_path):
    found = problems_for(tmp_path, rules={
        "r.yaml": """
            ruleset: r
            stage: solution
            rules:
              - id: one
                then:
                  - {include: gatway}
                  - {discount: {percent: 5, applies_to: family:platfrom}}
            """,
        "s.yaml": """
            ruleset: s
            stage: soluton
            rules: []
            """})
    assert found == [
        "rules/r.yaml:6: error: module `gatway` is not in the catalog\n    fix: did you mean `gateway`?",
        "rules/r.yaml:7: error: family `platfrom` is not in the catalog\n"
        "    fix: did you mean `platform`?",
        "rules/s.yaml:2: error: `stage: soluton` is not a stage\n"
        "    fix: did you mean `solution`? use one of: segment, solution, pricing, delivery, approval",
    ]


def test_yaml_syntax_errors_name_the_line(tmp_path):
    found = problems_for(tmp_path, rules={"r.yaml": "ruleset: r\nstage: solution\nrules:\n  - id: [x\n"})
    assert found[0].startswith("rules/r.yaml:5: error: YAML syntax:")


def test_duplicate_rule_and_module_ids_are_reported(tmp_path):
    catalog = {"catalog/a.yaml": """
        family: a
        modules:
          - {id: x, name: X, kind: software, price: {amount: 1, currency: USD, per: unit, billing: monthly}}
          - {id: x, name: X2, kind: software, price: {amount: 1, currency: USD, per: unit, billing: monthly}}
        """}
    rules = {"r.yaml": """
        ruleset: r
        stage: solution
        rules:
          - {id: one, then: [{include: x}]}
          - {id: one, then: [{include: x}]}
        """}
    found = problems_for(tmp_path, rules=rules, catalog=catalog)
    assert found == [
        "catalog/a.yaml:4: error: module id `x` is already used at catalog/a.yaml:3\n"
        "    fix: give every module a unique id",
        "rules/r.yaml:5: error: rule id `one` is already used at rules/r.yaml:4\n"
        "    fix: give every rule a unique id",
    ]


def test_requires_cycles_are_reported(tmp_path):
    catalog = {"catalog/a.yaml": """
        family: a
        modules:
          - {id: x, name: X, kind: software, requires: [y], price: {amount: 1, currency: USD, per: unit, billing: monthly}}
          - {id: y, name: Y, kind: software, requires: [z], price: {amount: 1, currency: USD, per: unit, billing: monthly}}
          - {id: z, name: Z, kind: software, requires: [x], price: {amount: 1, currency: USD, per: unit, billing: monthly}}
        """}
    found = problems_for(tmp_path, catalog=catalog)
    assert found == ["catalog/a.yaml:3: error: `requires` forms a cycle: x -> y -> z -> x\n"
                     "    fix: remove one of these requires so the chain ends"]


def test_catalog_mistakes_are_reported(tmp_path):
    catalog = {"catalog/a.yaml": """
        family: a
        modules:
          - id: x
            name: X
            kind: softwre
            price: {amount: -1, currency: USD, per: unit, billing: monthly}
          - id: y
            name: Y
            kind: software
            price: {amount: 1, currency: USD, per: unit, billing: weekly}
            requires: [nope]
        """}
    found = problems_for(tmp_path, catalog=catalog)
    assert found == [
        "catalog/a.yaml:5: error: module `x` has kind 'softwre'\n"
        "    fix: did you mean `software`? use one of: hardware, software, service, support",
        "catalog/a.yaml:6: error: price amount of `x` must be a number of at least 0, not -1\n"
        "    fix: write e.g. `amount: 45`",
        "catalog/a.yaml:10: error: billing of `y` is 'weekly'\n"
        "    fix: use one of: one_time, monthly, yearly",
    ]


def test_a_broken_rule_test_is_reported(tmp_path):
    found = problems_for(tmp_path, tests={"t.yaml": """
        - name: bad
          profile: {name: A, industry: food, sites: 0}
          expect: {includes: [gatewya]}
        """})
    assert found == ["rules/tests/t.yaml:2: error: test `bad`: profile.sites: "
                     "Must be greater than or equal to 1.\n"
                     "    fix: make the example profile match rules/profile.yaml"]


def test_missing_profile_declaration_is_reported(tmp_path):
    found = problems_for(tmp_path, profile=None)
    assert found == ["rules/profile.yaml: error: rules/profile.yaml is missing\n"
                     "    fix: declare the profile fields rules may use in rules/profile.yaml"]


def test_not_around_matches_is_refused_before_the_engine_sees_it(tmp_path):
    pack = load_pack(write_pack(tmp_path, rules=rule_with("not: {profile.country: {matches: 'N.'}}")))
    problems = [str(p) for p in compile_pack(pack)[2]]
    assert problems == ["rules/r.yaml:5: error: `not` around `matches` cannot be evaluated by the "
                        "rules engine; write the condition positively (e.g. `not_in: [...]`)\n"
                        "    fix: rewrite the condition without `not` around it"]


def test_hundreds_of_equality_values_on_one_field_are_refused(tmp_path):
    # durable-rules hangs the whole process at 513 distinct values; check stops it first
    values = ", ".join(f"c{i}" for i in range(520))
    pack = load_pack(write_pack(tmp_path, rules=rule_with(f"profile.country: {{in: [{values}]}}")))
    problems = [str(p) for p in compile_pack(pack)[2]]
    assert problems == ["rules/r.yaml:4: error: the solution stage compares profile.country with more "
                        "than 500 different values (here, in `one`); the rules engine hangs above 500\n"
                        "    fix: derive a grouping fact first (e.g. derived.region) and test that"]


def test_pack_may_omit_proposals_and_hold_other_folders(tmp_path):
    root = write_pack(tmp_path, rules=rule_with("profile.sites: 1"), extra={"docs/x.md": "# notes"})
    pack = load_pack(root)
    assert pack.proposals_dir == DEFAULT_CONTENT / "proposals"
    assert not any(rel.startswith("docs/") for rel in pack.files)


def test_content_version_is_a_hash_of_the_pack_files(tmp_path):
    root = write_pack(tmp_path, rules=rule_with("profile.sites: 1"))
    first = load_pack(root).version
    assert load_pack(root).version == first
    (root / "rules" / "r.yaml").write_text((root / "rules" / "r.yaml").read_text() + "\n")
    assert load_pack(root).version != first


def test_load_pack_raises_with_every_error(tmp_path):
    with pytest.raises(ContentError) as caught:
        load_pack(write_pack(tmp_path, rules=rule_with("profile.sitez: 1, profile.industry: fod")))
    assert len(caught.value.problems) == 2


def test_demo_pack_passes_and_a_broken_copy_fails_with_file_and_line(tmp_path):
    pack, problems = check_pack(DEFAULT_CONTENT)
    assert pack is not None, [str(p) for p in problems]
    assert compile_pack(pack)[2] == []
    copy = tmp_path / "demo"
    for folder in ("catalog", "rules"):
        shutil.copytree(DEFAULT_CONTENT / folder, copy / folder)
    target = copy / "rules" / "pricing.yaml"
    text = target.read_text().splitlines()
    line_no, line = next((i, l) for i, l in enumerate(text) if "derived.tier" in l)
    text[line_no] = line.replace("derived.tier", "derived.tierr")
    target.write_text("\n".join(text) + "\n")
    broken, problems = check_pack(copy)
    assert broken is None
    assert [str(p).split(" error: ")[0] for p in problems] == [f"rules/pricing.yaml:{line_no + 1}:"]
    assert "`derived.tierr` is never set by a `derive` action" in str(problems[0])
    assert "did you mean `derived.tier`?" in str(problems[0])


def test_the_version_is_the_digest_of_exactly_the_files_that_were_parsed(tmp_path):
    """A file saved while the pack is being checked must not give a version that names bytes
    the served pack was not built from: each YAML file is read once, parsed and hashed."""
    from configurator.proposals.check import check_templates

    root = tmp_path / "pack"
    for folder in ("catalog", "rules", "proposals"):
        shutil.copytree(Path(DEFAULT_CONTENT) / folder, root / folder)
    hardware = root / "catalog" / "hardware.yaml"
    original = hardware.read_bytes()
    def edit_meanwhile(*args, **kwargs):       # runs after parsing, before the files are hashed
        hardware.write_bytes(original.replace(b"amount: 1400,", b"amount: 9999,"))
        return check_templates(*args, **kwargs)

    pack, problems = check_pack(root, more_checks=edit_meanwhile)
    assert pack is not None, problems
    assert pack.files["catalog/hardware.yaml"] == original
    assert 1400 in {float(m.price.amount) for m in pack.catalog.modules.values()}
    hardware.write_bytes(original)
    assert load_pack(root).version == pack.version
