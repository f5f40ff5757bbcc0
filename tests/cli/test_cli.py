"""The `configurator` command as a product manager and a script use it: real processes."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from configurator.content.pack import DEFAULT_CONTENT, load_pack
from configurator.services.configurations import configure
from configurator.engine.pipeline import Pipeline
from helpers import write_pack


def run(*args: str, content: Path | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "CONFIGURATOR_CONTENT"}
    cmd = [sys.executable, "-m", "configurator.cli"]
    if content is not None:
        cmd += ["--content", str(content)]
    return subprocess.run(cmd + list(args), capture_output=True, text=True, env=env, timeout=120)


@pytest.fixture(scope="module")
def demo_profile(tmp_path_factory) -> tuple[Path, dict]:
    test = load_pack(DEFAULT_CONTENT).tests[0]
    path = tmp_path_factory.mktemp("profiles") / "customer.yaml"
    path.write_text(yaml.safe_dump(test.profile, allow_unicode=True))
    return path, test.profile


def test_check_passes_on_the_demo_pack():
    done = run("check")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("OK: content ")


def test_check_fails_with_file_line_and_no_traceback(tmp_path):
    root = write_pack(tmp_path, {"r.yaml": """
        ruleset: r
        stage: solution
        rules:
          - id: one
            when: {profile.sitez: 3}
            then: [{include: gateway}]
        """})
    done = run("check", content=root)
    assert done.returncode == 1
    assert "rules/r.yaml:5: error: `profile.sitez` is not declared in rules/profile.yaml" in done.stderr
    assert "fix: did you mean `profile.sites`?" in done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    report = json.loads(run("check", "--format", "json", content=root).stdout)
    assert report["ok"] is False
    assert report["problems"][0]["line"] == 5 and report["problems"][0]["file"] == "rules/r.yaml"


# The demo pack's example customers (rules/tests/*.yaml), one test each: a failing one is named.
RULE_TESTS = [test.name for test in load_pack(DEFAULT_CONTENT).tests]


@pytest.mark.parametrize("name", RULE_TESTS)
def test_rule_tests_pass_on_the_demo_pack(name):
    done = run("test", "-k", name)
    assert done.returncode == 0, done.stdout
    count = sum(name.lower() in other.lower() for other in RULE_TESTS)  # -k selects by substring
    assert done.stdout.strip().endswith(f"{count} passed, 0 failed")


def test_a_failing_rule_test_shows_the_difference(tmp_path):
    root = write_pack(tmp_path, {"r.yaml": """
        ruleset: r
        stage: solution
        rules:
          - id: gw
            then: [{include: gateway, quantity: profile.sites}]
        """}, tests={"t.yaml": """
        - name: two sites
          profile: {name: A, industry: food, sites: 2}
          expect:
            quantities: {gateway: 3}
            includes: [training]
            approvals: []
        """})
    done = run("test", content=root)
    assert done.returncode == 1
    assert done.stdout.splitlines() == [
        "FAIL  two sites  (rules/tests/t.yaml:1)",
        "      - includes: expected training as a line, but no rule included it (lines: gateway)",
        "      - quantities: expected gateway × 3, got 2 (gw: gw)",
        "Coverage: all 1 rules fired in some test.",
        "0 passed, 1 failed",
    ]


def test_configure_json_prints_exactly_the_configuration_document(demo_profile):
    path, profile = demo_profile
    done = run("configure", str(path), "--json")
    assert done.returncode == 0, done.stderr
    pack = load_pack(DEFAULT_CONTENT)
    pipeline = Pipeline(pack)
    try:
        assert json.loads(done.stdout) == configure(pipeline, profile)
    finally:
        pipeline.close()


def test_configure_prints_a_readable_summary(demo_profile):
    path, profile = demo_profile
    doc = json.loads(run("configure", str(path), "--json").stdout)
    text = run("configure", str(path)).stdout
    assert text.startswith(f"{profile['name']}: status {doc['status']}")
    for line in doc["lines"]:
        assert line["module"] in text
        for reason in line["reasons"]:
            assert f"because {reason['text']}" in text
    assert f"first year {doc['totals']['first_year']:,.2f}" in text


def test_configure_names_the_bad_field_and_exits_2(tmp_path, demo_profile):
    _, profile = demo_profile
    bad = dict(profile, sites=0, industry="shipping")
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(bad))
    done = run("configure", str(path))
    assert done.returncode == 2
    assert f"{path}: profile.sites: Must be greater than or equal to 1." in done.stderr
    assert f"{path}: profile.industry: Must be one of:" in done.stderr
    assert "Traceback" not in done.stderr


def test_configure_reports_yaml_errors_with_the_line(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("name: A\nsites: [3\n")
    done = run("configure", str(path))
    assert done.returncode == 2
    assert f"{path}:3: YAML syntax:" in done.stderr


def test_content_option_works_after_the_command_name(tmp_path):
    root = write_pack(tmp_path, {"r.yaml": "ruleset: r\nstage: solution\nrules: []\n"})
    done = run("check", "--no-trial", "--content", str(root))
    assert done.returncode == 0, done.stderr
    assert "0 rules in 0 stages" in done.stdout
