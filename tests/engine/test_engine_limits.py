"""Limits of durable-rules' tree of tests that `configurator check` must find without a trial run.

durable-rules builds one tree of tests per stage (rete.c): the tests that follow one test, or
that begin the stage's conditions, share a table of 512 places across all fields, and looking for
a 513th loops forever in `create_ruleset`. Checking each field on its own let such a pack pass
`check --no-trial`; only the trial run caught it, as a 60 s timeout. Anything that could hang runs
in a child process with a timeout.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from configurator.content.pack import load_pack
from configurator.engine import limits
from configurator.engine.errors import EngineError
from configurator.engine.pipeline import Pipeline, compile_pack
from helpers import Configurator, fired, write_pack

REPO = Path(__file__).resolve().parents[2]
ADAPTER_TESTS = len(limits.ADAPTER_FIRST_TESTS)     # the sentinel's and the marker's first tests


def stage_file(conditions: list[str], stage: str = "segment") -> str:
    body = "".join(f"  - id: r{i}\n    when: {c}\n    then: [{{derive: {{hit: r{i}}}}}]\n"
                   for i, c in enumerate(conditions))
    return f"ruleset: wide\nstage: {stage}\nrules:\n" + body


def first_tests(count: int) -> list[str]:
    """`count` rules whose conditions begin with different tests, spread over two fields and
    two operators so that no field on its own comes near a per-field limit."""
    out = []
    for i in range(count):
        if i % 2:
            out.append(f"{{profile.country: C{i:04d}}}")
        else:
            out.append(f"{{profile.name: N{i:04d}}}")
    return out


def check(root: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", "configurator.cli", "check", "--content",
                           str(root), "--no-trial", *args], capture_output=True, text=True,
                          timeout=120, cwd=REPO, env=env)


def run_child(code: str, timeout: float) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": f"{REPO}{os.pathsep}{REPO / 'tests'}"}
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, timeout=timeout, cwd=REPO, env=env)


def test_a_stage_with_too_many_different_first_tests_across_fields_is_refused_by_check(tmp_path):
    # was: 600 first tests over several fields passed `check --no-trial` (each field stayed
    # under 500 values) and hung durable-rules creating the stage's ruleset
    count = limits.MAX_TESTS_AFTER_ONE - ADAPTER_TESTS + 1
    root = write_pack(tmp_path, {"wide.yaml": stage_file(first_tests(count))})
    done = check(root, "--format", "json")
    assert done.returncode != 0, done.stdout
    errors = [p for p in json.loads(done.stdout)["problems"] if p["severity"] == "error"]
    assert len(errors) == 1, errors
    (error,) = errors
    last = count - 1
    assert (error["file"], error["line"]) == ("rules/wide.yaml", 4 + 3 * last)
    assert error["message"] == (
        f"the segment stage's rule conditions begin with more than 500 different tests, across "
        f"all fields (each value of an `in` list and each `contains` or `matches` counts; here "
        f"`profile.name = \"N{last:04d}\"` in `r{last}`); the rules engine hangs above 512")
    assert "derived" in error["hint"] and "another stage" in error["hint"]


def test_the_same_stage_just_under_the_limit_compiles_and_runs(tmp_path):
    count = limits.MAX_TESTS_AFTER_ONE - ADAPTER_TESTS
    root = write_pack(tmp_path, {"wide.yaml": stage_file(first_tests(count))})
    done = check(root)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith("OK:")
    conf = Configurator(root)
    try:
        doc = conf.run({"country": "C0007"})
        assert fired(doc) == ["r7"]
        assert doc["derived"] == {"hit": "r7"}
        assert fired(conf.run({"name": "N0010"})) == ["r10"]
    finally:
        conf.close()


def test_each_value_of_an_in_list_and_each_contains_counts(tmp_path):
    # 170 rules with a 2-value `in` (340 tests) and 170 `contains` tests (never shared by
    # durable-rules: one node each) begin 510 + 2 different tests: over the check's 500
    conditions = [f"{{profile.country: {{in: [A{i}, B{i}]}}}}" for i in range(170)]
    conditions += ["{profile.needs: {contains: cold-chain}, profile.sites: %d}" % (i + 1)
                   for i in range(170)]
    root = write_pack(tmp_path, {"wide.yaml": stage_file(conditions)})
    problems = compile_pack(load_pack(root))[2]
    messages = [p.message for p in problems]
    assert any("begin with more than 500 different tests" in m and "profile.needs contains"
               in m for m in messages), messages


def test_too_many_different_tests_after_one_shared_test_are_refused(tmp_path):
    # the same table exists after every test: 520 rules that all begin with `industry: food`
    count = 520
    conditions = [f"{{profile.industry: food, {c[1:]}" for c in first_tests(count)]
    root = write_pack(tmp_path, {"wide.yaml": stage_file(conditions, stage="pricing")})
    problems = compile_pack(load_pack(root))[2]
    assert [(p.file, p.line) for p in problems] == [("rules/wide.yaml", 4 + 3 * 500)]
    assert problems[0].message.startswith(
        "the pricing stage's rule conditions continue with, right after `profile.industry = "
        "\"food\"`, more than 500 different tests, across all fields")


def test_many_in_lists_ending_with_the_same_test_are_refused(tmp_path):
    # durable-rules lists an `in` group after the last test of each of its values, 128 times at
    # most at one test (then error 107, or worse: it writes past the list)
    conditions = ["{profile.industry: {in: [food, pharma]}, profile.sites: %d}" % (i + 1)
                  for i in range(limits.MAX_GROUPS_ENDING_AT_ONE + 1)]
    root = write_pack(tmp_path, {"wide.yaml": stage_file(conditions)})
    problems = compile_pack(load_pack(root))[2]
    assert len(problems) == 2      # after `food` and after `pharma`, both at the 121st rule
    assert {(p.line, p.message.split(" (here")[0]) for p in problems} == {
        (4 + 3 * 120, "in the segment stage more than 120 `in`/`any` lists end with the test "
                      "`profile.industry = \"food\"`"),
        (4 + 3 * 120, "in the segment stage more than 120 `in`/`any` lists end with the test "
                      "`profile.industry = \"pharma\"`")}


def test_a_condition_with_too_many_groups_is_refused(tmp_path):
    # an all-of 15 `any` groups: 16 groups, and durable-rules refuses the stage (error 113)
    def when(groups: int) -> str:
        parts = [{"any": [{"profile.country": f"C{i}"}, {"profile.sites": {"gte": i + 1}}]}
                 for i in range(groups)]
        return json.dumps({"all": parts})

    root = write_pack(tmp_path / "over", {"wide.yaml": stage_file([when(15)])})
    problems = compile_pack(load_pack(root))[2]
    assert [(p.line, p.message.split(";")[0]) for p in problems] == [(4, (
        "the condition of `r0` has 16 groups (each `all`/`any`/`not` with several parts, and "
        "each `in`, `not_in`, `contains_any`, `contains_all` list with several values, makes one)"))]
    root = write_pack(tmp_path / "under", {"wide.yaml": stage_file([when(14)])})
    pack = load_pack(root)
    assert compile_pack(pack)[2] == []
    Pipeline(pack).close()       # durable-rules takes it


def test_the_generated_benchmark_packs_pass(tmp_path):
    # bench/generate.py keeps its packs inside every limit `check` enforces
    out = tmp_path / "p1000"
    subprocess.run([sys.executable, str(REPO / "bench" / "generate.py"), str(out), "--rules",
                    "1000", "--modules", "500"], check=True, capture_output=True, timeout=300)
    assert compile_pack(load_pack(out))[2] == []


@pytest.mark.slow
def test_the_check_counts_what_durable_rules_counts():
    # 510 rules + the adapter's 2 first tests: 512, durable-rules' table is full and it works;
    # one more and `create_ruleset` never returns. (The check stops at 500, a margin.)
    code = """
        from configurator.engine.durable_adapter import DurableEngine
        n = {n}
        rules = {{f"r{{i}}": {{"all": [{{"m": {{("a" if i % 2 else "b"): i}}}}], "pri": i}}
                 for i in range(n)}}
        DurableEngine().register("wide", rules)
        print("CREATED")
        """
    fits = 512 - ADAPTER_TESTS
    assert "CREATED" in run_child(code.format(n=fits), timeout=60).stdout
    with pytest.raises(subprocess.TimeoutExpired):
        run_child(code.format(n=fits + 1), timeout=15)


def test_an_engine_error_107_has_a_meaning():
    # past 128 it may also write beyond its list instead, so it is only ever provoked in a child
    error = EngineError.from_durable("the rules of pricing", RuntimeError(
        "Could not create ruleset, error code: 107"))
    assert str(error) == ("the rules engine refused the rules of pricing: too many `in`/`any` "
                          "lists ending with the same test (error 107)")
