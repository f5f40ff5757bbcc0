"""Each clause of BRIEF.md's "Semantics" pinned by a test on a small pack."""
from __future__ import annotations

import pytest

from helpers import Configurator, fired, lines, write_pack


@pytest.fixture
def make(tmp_path):
    made = []

    def _make(rules: dict[str, str], **kwargs) -> Configurator:
        root = write_pack(tmp_path / f"pack{len(made)}", rules, **kwargs)
        conf = Configurator(root)
        made.append(conf)
        return conf

    yield _make
    for conf in made:
        conf.close()


def test_stages_run_in_order_and_see_the_previous_stage_solution(make):
    conf = make({
        "a-solution.yaml": """
            ruleset: build
            stage: solution
            rules:
              - id: add-gateway
                then: [{include: gateway}]
              - id: sees-own-stage
                when: {solution.modules: {contains: gateway}}
                then: [{include: training}]
            """,
        "b-pricing.yaml": """
            ruleset: price
            stage: pricing
            rules:
              - id: sees-solution-stage
                when: {solution.modules: {contains: gateway}}
                then: [{derive: {saw_gateway: true}}]
            """,
        "c-segment.yaml": """
            ruleset: seg
            stage: segment
            rules:
              - id: segment-first
                then: [{derive: {tier: key}}]
            """,
    })
    doc = conf.run()
    assert fired(doc) == ["segment-first", "add-gateway", "sees-solution-stage"]
    assert "training" not in lines(doc)          # the solution stage cannot see itself
    assert doc["derived"] == {"tier": "key", "saw_gateway": True}


def test_higher_priority_fires_first_and_ties_keep_file_order(make):
    conf = make({
        "r.yaml": """
            ruleset: order
            stage: segment
            rules:
              - id: low
                then: [{derive: {x: 1}}]
              - id: tie-a
                priority: 5
                then: [{derive: {y: 1}}]
              - id: high
                priority: 10
                then: [{derive: {z: 1}}]
              - id: tie-b
                priority: 5
                then: [{derive: {w: 1}}]
            """,
    })
    assert fired(conf.run()) == ["high", "tie-a", "tie-b", "low"]


def test_rules_chain_forward_within_a_stage(make):
    conf = make({
        "r.yaml": """
            ruleset: chain
            stage: segment
            rules:
              - id: needs-key
                priority: 10
                when: {derived.tier: key}
                then: [{derive: {strategic: true}}]
              - id: big-is-key
                when: {profile.sites: {gte: 10}}
                then: [{derive: {tier: key}}]
            """,
    })
    doc = conf.run(sites=12)
    assert fired(doc) == ["big-is-key", "needs-key"]
    assert doc["derived"] == {"tier": "key", "strategic": True}
    assert fired(conf.run(sites=2)) == []


def test_derived_fact_set_twice_takes_the_later_value_and_both_rules_are_traced(make):
    conf = make({
        "r.yaml": """
            ruleset: tiers
            stage: segment
            rules:
              - id: first
                priority: 2
                then: [{derive: {tier: growth}}]
              - id: second
                priority: 1
                then: [{derive: {tier: key}}]
            """,
    })
    doc = conf.run()
    assert doc["derived"]["tier"] == "key"
    assert [(f["rule"], f["derived"]) for f in doc["fired"]] == [
        ("first", {"tier": "growth"}), ("second", {"tier": "key"})]


def test_quantity_defaults_to_one_and_the_largest_wins_keeping_every_reason(make):
    conf = make({
        "r.yaml": """
            ruleset: q
            stage: solution
            rules:
              - id: one
                then: [{include: gateway, reason: first reason}]
              - id: many
                then: [{include: gateway, quantity: profile.sites * 2, reason: "two per site ({profile.sites} sites)"}]
              - id: few
                then: [{include: gateway, quantity: 3, reason: third reason}]
              - id: plain
                then: [{include: training}]
            """,
    })
    doc = conf.run(sites=4)
    gateway = lines(doc)["gateway"]
    assert gateway["quantity"] == 8
    assert [r["rule"] for r in gateway["reasons"]] == ["one", "many", "few"]
    assert gateway["reasons"][1]["text"] == "two per site (4 sites)"
    assert lines(doc)["training"]["quantity"] == 1


def test_quantity_expressions_round_fractions_up(make):
    conf = make({
        "r.yaml": """
            ruleset: q
            stage: solution
            rules:
              - id: per-fifty
                then: [{include: gateway, quantity: "max(2, ceil(profile.employees / 50)) + profile.sites % 3"}]
              - id: half
                then: [{include: sensor, quantity: profile.sites / 2}]
            """,
    })
    doc = conf.run(sites=5, employees=420)
    assert lines(doc)["gateway"]["quantity"] == 9 + 2
    assert lines(doc)["sensor"]["quantity"] == 3


def test_missing_fact_in_a_quantity_gives_one_and_a_warning(make):
    conf = make({
        "r.yaml": """
            ruleset: q
            stage: solution
            rules:
              - id: per-employee
                then: [{include: gateway, quantity: profile.employees / 10}]
            """,
    })
    doc = conf.run()
    assert lines(doc)["gateway"]["quantity"] == 1
    assert "profile.employees has no value" in doc["warnings"][0]["text"]


def test_recommendation_of_a_module_already_a_line_is_dropped(make):
    conf = make({
        "r.yaml": """
            ruleset: rec
            stage: solution
            rules:
              - id: include-gateway
                then: [{include: gateway}]
              - id: recommend-both
                then:
                  - {recommend: gateway, reason: nice}
                  - {recommend: training, reason: Your team learns the platform in a day}
            """,
    })
    doc = conf.run()
    assert [r["module"] for r in doc["recommendations"]] == ["training"]
    assert doc["recommendations"][0]["reasons"] == [
        {"rule": "recommend-both", "text": "Your team learns the platform in a day"}]


def test_exclusion_beats_inclusion_and_is_not_a_conflict(make):
    conf = make({
        "r.yaml": """
            ruleset: ex
            stage: solution
            rules:
              - id: include-onprem
                then: [{include: onprem, reason: wants own data centre}]
              - id: no-onprem-in-norway
                when: {profile.country: NO}
                then: [{exclude: onprem, reason: not offered in Norway}]
            """,
    })
    doc = conf.run(country="NO")
    assert "onprem" not in lines(doc)
    assert doc["status"] == "ok" and doc["conflicts"] == []
    exclusion, = doc["exclusions"]
    assert exclusion["module"] == "onprem"
    assert exclusion["reasons"] == [{"rule": "no-onprem-in-norway", "text": "not offered in Norway"}]
    assert exclusion["overrides"] == [{"rule": "include-onprem", "text": "wants own data centre"}]
    assert "onprem" in lines(conf.run(country="SE"))


def test_yaml_1_2_keeps_country_code_no_a_string(make):
    conf = make({
        "r.yaml": """
            ruleset: yaml12
            stage: segment
            rules:
              - id: norway
                when: {profile.country: NO}
                then: [{derive: {nordic: yes}}]
            """,
    })
    assert conf.run(country="NO")["derived"] == {"nordic": "yes"}
    assert conf.run(country="SE")["derived"] == {}


def test_catalog_requires_pull_modules_in_with_a_reason(make):
    conf = make({
        "r.yaml": """
            ruleset: req
            stage: solution
            rules:
              - id: sensors
                then: [{include: sensor, quantity: 20}]
            """,
    })
    core = lines(conf.run())["core"]
    assert core["quantity"] == 1
    assert core["reasons"] == [{"rule": "catalog", "text": "Required by Sensor"}]


def test_lines_whose_catalog_entries_exclude_each_other_are_a_conflict(make):
    conf = make({
        "r.yaml": """
            ruleset: both
            stage: solution
            rules:
              - id: wants-onprem
                then: [{include: onprem}]
              - id: wants-cloud
                then: [{include: cloud}]
            """,
    })
    doc = conf.run()
    assert doc["status"] == "conflict"
    conflict, = doc["conflicts"]
    assert conflict["modules"] == ["onprem", "cloud"]
    assert conflict["rules"] == {"onprem": ["wants-onprem"], "cloud": ["wants-cloud"]}
    assert "On-premise hosting" in conflict["message"] and "Cloud hosting" in conflict["message"]


def test_line_requiring_an_excluded_module_is_a_conflict(make):
    conf = make({
        "r.yaml": """
            ruleset: req
            stage: solution
            rules:
              - id: sensors
                then: [{include: sensor}]
              - id: no-core
                then: [{exclude: core, reason: customer has its own platform}]
            """,
    })
    doc = conf.run()
    assert doc["status"] == "conflict"
    conflict, = doc["conflicts"]
    assert conflict["kind"] == "requires_excluded"
    assert conflict["modules"] == ["sensor", "core"]
    assert conflict["rules"] == {"sensor": ["sensors"], "core": ["no-core"]}


PRICING = {
    "a-solution.yaml": """
        ruleset: build
        stage: solution
        rules:
          - id: build
            then:
              - {include: sensor, quantity: 3}
              - {include: training, quantity: 2}
              - {include: support-basic}
        """,
}


def test_money_is_decimal_rounded_to_cents_per_billing_period(make):
    doc = make(PRICING).run()
    got = {m: (line["quantity"], line["unit_price"], line["total"], line["billing"])
           for m, line in lines(doc).items()}
    assert got == {
        "core": (1, 100, 100, "monthly"),
        "sensor": (3, 10.5, 31.5, "one_time"),
        "support-basic": (1, 1000, 1000, "yearly"),
        "training": (2, 999.99, 1999.98, "one_time"),
    }
    assert doc["totals"] == {"one_time": 2031.48, "monthly": 100, "yearly": 1000,
                             "annual_recurring": 2200, "first_year": 4231.48, "currency": "USD"}


def test_percent_discounts_add_up_surcharges_subtract_and_cap_at_100(make):
    conf = make({**PRICING, "b-pricing.yaml": """
        ruleset: price
        stage: pricing
        rules:
          - id: tier
            then: [{discount: {percent: 10, applies_to: family:support, reason: key account}}]
          - id: volume
            then: [{discount: {percent: 7.5, applies_to: training, reason: two days}}]
          - id: rush
            then: [{surcharge: {percent: 2.5, applies_to: total, reason: rush delivery}}]
          - id: giveaway
            then: [{discount: {percent: 95, applies_to: sensor, reason: demo units}}]
          - id: giveaway2
            then: [{discount: {percent: 20, applies_to: sensor, reason: more demo}}]
        """})
    doc = conf.run()
    got = {m: (line["discount_percent"], line["total"]) for m, line in lines(doc).items()}
    assert got == {
        "core": (-2.5, 102.5),                       # surcharge only
        "sensor": (100, 0),                          # 95 + 20 - 2.5 capped at 100
        "support-basic": (7.5, 925),                 # 10 - 2.5
        "training": (15, 1699.98),                   # 10 + 7.5 - 2.5 of 1999.98 = 1699.983
    }
    assert [c["rule"] for c in lines(doc)["training"]["discounts"]] == ["tier", "volume", "rush"]


def test_amount_discount_becomes_the_equivalent_percent(make):
    conf = make({**PRICING, "b-pricing.yaml": """
        ruleset: price
        stage: pricing
        rules:
          - id: goodwill
            then: [{discount: {amount: 100, applies_to: support-basic, reason: goodwill}}]
        """})
    support = lines(conf.run())["support-basic"]
    assert (support["discount_percent"], support["total"]) == (10, 900)


def test_max_discount_is_the_largest_percent_on_any_line_and_drives_approval(make):
    conf = make({**PRICING,
                 "b-pricing.yaml": """
                    ruleset: price
                    stage: pricing
                    rules:
                      - id: deal
                        when: {profile.sites: {gte: 10}}
                        then:
                          - {discount: {percent: 12, applies_to: sensor, reason: big}}
                          - {discount: {percent: 5, applies_to: core, reason: big}}
                    """,
                 "c-approval.yaml": """
                    ruleset: approve
                    stage: approval
                    rules:
                      - id: deep-discount
                        when: {solution.max_discount: {gt: 10}}
                        then: [{require_approval: {role: sales-director, reason: "discount of {solution.max_discount}%"}}]
                    """})
    doc = conf.run(sites=10)
    assert doc["status"] == "approval_required"
    assert doc["approvals"] == [{"role": "sales-director",
                                 "reasons": [{"rule": "deep-discount", "text": "discount of 12%"}]}]
    assert conf.run(sites=2)["status"] == "ok"


def test_the_document_has_every_contract_key(make):
    doc = make(PRICING).run()
    assert set(doc) >= {"status", "content_version", "derived", "lines", "recommendations",
                        "exclusions", "approvals", "service_level", "team", "notes", "warnings",
                        "conflicts", "totals", "fired"}
    for line in doc["lines"]:
        assert set(line) >= {"module", "name", "family", "kind", "quantity", "unit_price",
                             "billing", "discount_percent", "total", "reasons"}
        assert all(set(r) == {"rule", "text"} for r in line["reasons"])


def test_same_profile_and_content_version_give_the_same_result(make):
    conf = make({**PRICING, "seg.yaml": """
        ruleset: seg
        stage: segment
        rules:
          - id: key
            when: {profile.sites: {gte: 3}}
            then: [{derive: {tier: key}}]
        """})
    first = conf.run(sites=4, needs=["cold-chain"])
    for _ in range(5):
        conf.run(sites=1)
        assert conf.run(sites=4, needs=["cold-chain"]) == first


def test_adjustments_rerun_the_pipeline_so_constraints_and_approvals_still_hold(make):
    conf = make({
        **PRICING,
        "rec.yaml": """
            ruleset: rec
            stage: solution
            rules:
              - id: suggest-gateway
                then: [{recommend: gateway, reason: more range}]
            """,
        "c-approval.yaml": """
            ruleset: approve
            stage: approval
            rules:
              - id: deep-discount
                when: {solution.max_discount: {gt: 15}}
                then: [{require_approval: {role: sales-director, reason: deep discount}}]
            """,
    })
    doc = conf.run(adjustments=[
        {"action": "accept", "module": "gateway"},
        {"action": "quantity", "module": "sensor", "quantity": 7},
        {"action": "remove", "module": "training", "reason": "customer trains in-house"},
        {"action": "add", "module": "onprem"},
        {"action": "add", "module": "cloud"},
        {"action": "discount", "percent": 20, "applies_to": "gateway", "reason": "launch deal"},
    ])
    got = lines(doc)
    assert got["gateway"]["reasons"] == [{"rule": "adjustment",
                                          "text": "Recommendation accepted by the solution lead"}]
    assert got["gateway"]["discount_percent"] == 20
    assert got["sensor"]["quantity"] == 7
    assert "training" not in got
    assert doc["exclusions"][0]["reasons"][0]["text"] == \
        "Removed by the solution lead: customer trains in-house"
    assert doc["recommendations"] == []
    assert doc["status"] == "conflict"                     # onprem and cloud still exclude
    assert {a["role"] for a in doc["approvals"]} == {"sales-director"}


def test_paths_through_a_list_of_objects_collect_every_item(make):
    conf = make({"r.yaml": """
        ruleset: chain
        stage: segment
        rules:
          - id: no-buyer
            when: {not: {profile.contacts.role: {contains: economic-buyer}}}
            then: [{warn: "No economic buyer among {profile.contacts.name}"}]
        """})
    users = [{"name": "Ann", "role": "user"}, {"name": "Bo", "role": "influencer"}]
    doc = conf.run(contacts=users)
    assert doc["warnings"] == [{"rule": "no-buyer", "text": "No economic buyer among Ann, Bo"}]
    assert conf.run(contacts=users + [{"name": "Cy", "role": "economic-buyer"}])["warnings"] == []


def test_expressions_read_module_ids_with_dashes(make):
    conf = make({
        "a.yaml": """
            ruleset: a
            stage: solution
            rules:
              - id: sensors
                then: [{include: support-basic, quantity: profile.sites * 4}]
            """,
        "b.yaml": """
            ruleset: b
            stage: pricing
            rules:
              - id: gateways
                when: {solution.quantities.support-basic: {gte: 8}}
                then:
                  - include: gateway
                    quantity: ceil(solution.quantities.support-basic / 8) + profile.sites-1
                    reason: "{solution.quantities.support-basic} support seats"
            """})
    gateway = lines(conf.run(sites=3))["gateway"]
    assert gateway["quantity"] == 2 + 2
    assert gateway["reasons"][0]["text"] == "12 support seats"
