"""`explain`: why each rule fired or not, with the actual values, and verified near misses."""
from __future__ import annotations

import json
import subprocess
import sys

import yaml

from configurator.content.pack import load_pack
from configurator.engine.explain import explain
from configurator.engine.pipeline import Pipeline
from configurator.services.configurations import configure, explain_revision
from configurator.services.content import Content
from helpers import write_pack

RULES = {"r.yaml": """
    ruleset: r
    stage: solution
    rules:
      - id: cold-chain-sensors
        when:
          profile.industry: {in: [food, pharma]}
          profile.sites: {gte: 5}
        then: [{include: sensor, quantity: profile.sites * 20}]
      - id: telecom-only
        when: {profile.industry: telecom}
        then: [{include: gateway}]
      - id: needs-24x7
        when: {profile.needs: {contains: 24x7}}
        then: [{include: support-basic}]
      - id: new-idea
        draft: true
        then: [{include: training}]
      - id: next-year
        effective: {from: 2030-01-01}
        then: [{include: cloud}]
      - id: no-budget
        when: {profile.revenue: {exists: true}, profile.sites: {lt: 2}}
        then: [{warn: small}]
    """}
PROFILE = {"name": "Acme", "industry": "food", "sites": 3}


def by_rule(result: dict) -> dict[str, dict]:
    return {r["rule"]: r for r in result["rules"]}


def test_each_rule_says_why_it_did_not_fire(tmp_path):
    pack = load_pack(write_pack(tmp_path, RULES))
    pipeline = Pipeline(pack, include_drafts=False)
    try:
        result = explain(pipeline, pack.profile.validate(PROFILE), on="2026-06-01")
    finally:
        pipeline.close()
    rules = by_rule(result)
    assert rules["cold-chain-sensors"]["why"] == "profile.sites is 3, needs at least 5"
    assert rules["telecom-only"]["why"] == "profile.industry is food, needs telecom"
    assert rules["needs-24x7"]["why"] == "profile.needs has no value"
    assert rules["new-idea"]["why"] == "draft: left out of production runs"
    assert rules["next-year"]["why"] == "not effective on 2026-06-01 (effective from 2030-01-01)"
    assert rules["no-budget"]["why"] == "profile.revenue has no value"
    assert not any(r["fired"] for r in result["rules"])
    assert rules["cold-chain-sensors"]["effects"] == "include sensor"


def test_near_misses_are_verified_by_configuring_the_changed_profile(tmp_path):
    pack = load_pack(write_pack(tmp_path, RULES))
    pipeline = Pipeline(pack, include_drafts=True)
    try:
        result = explain(pipeline, pack.profile.validate(PROFILE), on="2026-06-01")
    finally:
        pipeline.close()
    assert [m["text"] for m in result["near_misses"]] == [
        "sites 5 instead of 3 (2 more) would fire cold-chain-sensors: include sensor",
        "adding 24x7 to needs would fire needs-24x7: include support-basic",
    ]
    assert result["near_misses"][0]["change"] == {"sites": 5}
    assert by_rule(result)["new-idea"]["fired"] is True      # drafts count in explain


def test_cli_explain_prints_every_rule_and_the_near_misses(tmp_path):
    root = write_pack(tmp_path / "pack", RULES)
    profile = tmp_path / "acme.yaml"
    profile.write_text(yaml.safe_dump(PROFILE))
    cmd = [sys.executable, "-m", "configurator.cli", "--content", str(root), "explain", str(profile)]
    done = subprocess.run(cmd + ["--date", "2026-06-01"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    out = done.stdout.splitlines()
    assert out[0].startswith("Acme: status ok  (content ") and out[0].endswith("as of 2026-06-01)")
    assert "  not    cold-chain-sensors                 profile.sites is 3, needs at least 5" in out
    assert "  fired  new-idea                           include training" in out
    assert out[-2:] == [
        "  sites 5 instead of 3 (2 more) would fire cold-chain-sensors: include sensor",
        "  adding 24x7 to needs would fire needs-24x7: include support-basic"]
    as_json = subprocess.run(cmd + ["--format", "json", "--rule", "telecom-only"],
                             capture_output=True, text=True, timeout=120)
    assert [r["rule"] for r in json.loads(as_json.stdout)["rules"]] == ["telecom-only"]


def test_a_revision_is_explained_with_the_content_version_it_was_computed_with(tmp_path):
    old_root = write_pack(tmp_path / "old", RULES)
    old = Content(old_root, trial=False)
    old.load()
    revision_profile = dict(PROFILE, sites=6)
    document = configure(old, revision_profile)
    stored = {"content_version": document["content_version"], "profile": revision_profile,
              "adjustments": [], "document": document}
    old_files = dict(old.pack.files)
    newer = RULES["r.yaml"].replace("gte: 5", "gte: 10")
    served = Content(write_pack(tmp_path / "new", {"r.yaml": newer}), trial=False)
    served.load()
    assert served.pack.version != stored["content_version"]
    result = explain_revision(served, stored, lambda version: old_files)
    assert result["matches_stored_document"] is True
    assert by_rule(result)["cold-chain-sensors"]["fired"] is True


def test_api_explains_a_stored_revision(client, example_profiles):
    created = client.post("/api/v1/configurations", json={"profile": example_profiles[0]["profile"]})
    assert created.status_code == 201
    config_id = created.get_json()["id"]
    response = client.get(f"/api/v1/configurations/{config_id}/revisions/1/explanation")
    assert response.status_code == 200
    body = response.get_json()
    assert body["matches_stored_document"] is True
    fired = {r["rule"] for r in body["rules"] if r["fired"]}
    assert fired == {f["rule"] for f in created.get_json()["document"]["fired"]}
    assert all(r["why"] for r in body["rules"] if not r["fired"])
    missing = client.get(f"/api/v1/configurations/{config_id}/revisions/9/explanation")
    assert missing.status_code == 404
