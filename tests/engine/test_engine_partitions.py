"""A large stage split into several durable-rules rulesets (pipeline.Partitions) gives exactly the
documents one ruleset per stage gives, and the reference engine too: same rules fired, in the same
order, with chaining on derived facts, drafts and effective dates. Behaviour only; bin/bench
measures the speed."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from configurator.content.pack import DEFAULT_CONTENT, load_pack
from configurator.engine.pipeline import Pipeline
from configurator.engine.reference_engine import ReferenceEngine
from helpers import write_pack

sys.path.insert(0, str(DEFAULT_CONTENT))
from bench.generate import generate  # noqa: E402

DAYS = ("2026-06-01", "2031-01-01")


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    root = generate(tmp_path_factory.mktemp("split") / "pack", rules=600, modules=200,
                    profiles=30, seed=11)
    return root, load_pack(root)


@pytest.mark.parametrize("include_drafts", [False, True], ids=["production", "with-drafts"])
def test_a_split_stage_gives_the_same_documents(generated, include_drafts):
    root, pack = generated
    profiles = json.loads((Path(root) / "profiles.json").read_text())
    split = Pipeline(pack, include_drafts=include_drafts, split_from=40)
    whole = Pipeline(pack, include_drafts=include_drafts, split_from=0)
    reference = Pipeline(pack, engine=ReferenceEngine(), include_drafts=include_drafts)
    try:
        assert set(split._partitions) == {"segment", "solution", "pricing", "delivery", "approval"}
        assert not whole._partitions and not reference._partitions
        skipped = 0
        for profile in profiles:
            clean = pack.profile.validate(profile)
            for day in DAYS:
                expected = whole.configure(clean, on=day)
                assert split.configure(clean, on=day) == expected, profile["name"]
                assert reference.configure(clean, on=day) == expected, profile["name"]
            run = split.run(clean, on=DAYS[0])
            for stage, partitions in split._partitions.items():
                skipped += len(partitions.parts) - len(partitions.chosen(run.value))
        assert skipped > 0          # the split leaves out parts whose lead cannot hold
    finally:
        for pipeline in (split, whole, reference):
            pipeline.close()


def test_a_split_stage_chains_on_facts_derived_in_it(tmp_path):
    # Rules led by `profile.industry` in several parts; one derives a fact that a rule of
    # another part (and a rule without a lead) compares, and a higher-priority rule of a third
    # part only holds once that fact is derived: the order is the one of a single ruleset.
    body = ["ruleset: r", "stage: segment", "rules:"]
    for i, industry in enumerate(["food", "pharma", "logistics", "telecom"] * 3):
        body += [f"  - id: lead-{i}", f"    when: {{profile.industry: {industry}, profile.sites: {{gte: {i}}}}}",
                 f"    then: [{{derive: {{seen_{i}: yes}}}}]"]
    body += ["  - id: derive-tier", "    priority: 5",
             "    when: {profile.industry: food, profile.sites: {gte: 3}}",
             "    then: [{derive: {tier: key}}]",
             "  - id: on-tier-first", "    priority: 50",
             "    when: {profile.industry: food, derived.tier: key}",
             "    then: [{derive: {after_tier: yes}}]",
             "  - id: on-tier-other-part", "    priority: 40",
             "    when: {profile.industry: {in: [food, pharma]}, derived.tier: key}",
             "    then: [{warn: tiered}]",
             "  - id: no-lead", "    priority: 45",
             "    when: {derived.tier: key}",
             "    then: [{warn: no lead}]"]
    root = write_pack(tmp_path, {"r.yaml": "\n".join(body) + "\n"})
    pack = load_pack(root)
    split = Pipeline(pack, split_from=5)
    whole = Pipeline(pack, split_from=0)
    try:
        assert "segment" in split._partitions
        for industry, sites in [("food", 5), ("food", 1), ("pharma", 9), ("telecom", 12)]:
            clean = pack.profile.validate({"name": "A", "industry": industry, "sites": sites})
            expected = whole.configure(clean, on=DAYS[0])
            assert split.configure(clean, on=DAYS[0]) == expected
        fired = [f["rule"] for f in expected["fired"]]
        food = split.configure(pack.profile.validate({"name": "A", "industry": "food", "sites": 5}),
                               on=DAYS[0])
        order = [f["rule"] for f in food["fired"]]
        assert order.index("derive-tier") < order.index("on-tier-first") < \
            order.index("no-lead") < order.index("on-tier-other-part")
        assert fired == ["lead-3", "lead-7", "lead-11"]    # telecom, 12 sites
    finally:
        split.close()
        whole.close()
