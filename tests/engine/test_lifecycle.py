"""Rule lifecycle: `draft: true` and `effective: {from, until}`."""
from __future__ import annotations

from configurator.content.pack import load_pack
from configurator.engine.pipeline import Pipeline
from configurator.engine.ruletests import run_rule_tests
from helpers import fired, write_pack

RULES = {"r.yaml": """
    ruleset: r
    stage: segment
    rules:
      - id: live
        then: [{derive: {a: 1}}]
      - id: trying-out
        draft: true
        then: [{derive: {b: 1}}]
      - id: campaign-2027
        effective: {from: 2027-01-01, until: 2027-03-31}
        then: [{derive: {c: 1}}]
    """}
PROFILE = {"name": "A", "industry": "food", "sites": 1}


def test_draft_rules_stay_out_of_production_but_not_out_of_tests(tmp_path):
    pack = load_pack(write_pack(tmp_path, RULES, tests={"t.yaml": """
        - name: sees the draft
          date: 2026-06-01
          profile: {name: A, industry: food, sites: 1}
          expect: {derived: {a: 1, b: 1}}
        """}))
    production, authoring = Pipeline(pack), Pipeline(pack, include_drafts=True)
    try:
        clean = pack.profile.validate(PROFILE)
        assert fired(production.configure(clean, on="2026-06-01")) == ["live"]
        assert fired(authoring.configure(clean, on="2026-06-01")) == ["live", "trying-out"]
        assert [r.passed for r in run_rule_tests(authoring)] == [True]
    finally:
        production.close()
        authoring.close()


def test_effective_dates_bound_a_rule_inclusively(tmp_path):
    pack = load_pack(write_pack(tmp_path, RULES))
    pipeline = Pipeline(pack)
    try:
        clean = pack.profile.validate(PROFILE)
        by_day = {day: fired(pipeline.configure(clean, on=day))
                  for day in ("2026-12-31", "2027-01-01", "2027-03-31", "2027-04-01")}
        assert by_day == {"2026-12-31": ["live"], "2027-01-01": ["live", "campaign-2027"],
                          "2027-03-31": ["live", "campaign-2027"], "2027-04-01": ["live"]}
        assert pipeline.configure(clean, on="2027-02-01")["as_of"] == "2027-02-01"
    finally:
        pipeline.close()


def test_bad_lifecycle_keys_are_reported(tmp_path):
    from configurator.content.pack import check_pack
    root = write_pack(tmp_path, {"r.yaml": """
        ruleset: r
        stage: segment
        rules:
          - id: odd
            draft: maybe
            effective: {from: 2027-05-01, until: 2027-01-01}
            then: [{derive: {a: 1}}]
        """})
    assert [str(p) for p in check_pack(root)[1]] == [
        "rules/r.yaml:5: error: `draft` of rule `odd` must be true or false\n"
        "    fix: write `draft: true` to keep the rule out of production runs",
        "rules/r.yaml:6: error: rule `odd` is effective from 2027-05-01 until 2027-01-01: the end "
        "comes before the start\n    fix: swap the two dates",
    ]
