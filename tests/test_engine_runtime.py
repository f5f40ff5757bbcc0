"""The engine adapter: isolated evaluations, no state left behind, bad content never served."""
from __future__ import annotations

import threading

import pytest

from configurator.content.expressions import ExpressionError, parse_expression
from configurator.content.pack import DEFAULT_CONTENT, load_pack
from configurator.engine.pipeline import Pipeline, shared_engine
from configurator.engine.trial import trial_run
from configurator.services import Content, configure
from helpers import Configurator, write_pack

RULES = {"r.yaml": """
    ruleset: r
    stage: segment
    rules:
      - id: big
        when: {profile.sites: {gte: 10}}
        then: [{derive: {tier: key, seats: {expr: profile.sites * 3}}}]
    """}


def test_evaluations_release_their_engine_state(tmp_path):
    # durable-rules fails with MemoryError past 1,024 live sessions in one ruleset, so 1,500
    # configurations in a row prove that every evaluation deletes its state.
    conf = Configurator(write_pack(tmp_path, RULES))
    try:
        for i in range(1500):
            assert conf.run(sites=10 + i % 3)["derived"]["tier"] == "key"
    finally:
        conf.close()


def test_threads_get_exactly_their_own_results(tmp_path):
    conf = Configurator(write_pack(tmp_path, RULES))
    profiles = [{"sites": s, "name": f"C{s}"} for s in range(1, 41)]
    alone = {p["name"]: conf.run(p) for p in profiles}
    results: dict[str, list] = {p["name"]: [] for p in profiles}
    errors = []

    def worker(offset: int) -> None:
        try:
            for i in range(40):
                profile = profiles[(i + offset) % len(profiles)]
                results[profile["name"]].append(conf.run(profile))
        except Exception as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n * 5,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    conf.close()
    assert errors == []
    for name, docs in results.items():
        assert docs and all(doc == alone[name] for doc in docs)


def test_unregistered_pipelines_free_their_rulesets(tmp_path):
    pack = load_pack(write_pack(tmp_path, RULES))
    engine = shared_engine()
    before = len(engine._handles)
    for _ in range(50):
        Pipeline(pack).close()
    assert len(engine._handles) == before


def test_trial_run_passes_good_content():
    assert trial_run(load_pack(DEFAULT_CONTENT)) == []


def test_trial_run_names_the_rule_the_engine_refuses(tmp_path):
    # A regular expression whose automaton is too large for durable-rules: the content check
    # cannot predict it, the trial run in a child process finds it.
    pattern = "(.*a){20}"
    rules = {"r.yaml": f"""
        ruleset: r
        stage: segment
        rules:
          - id: blowup
            when: {{profile.country: {{matches: '{pattern}'}}}}
            then: [{{derive: {{odd: true}}}}]
        """}
    problems = trial_run(load_pack(write_pack(tmp_path, rules)))
    assert [str(p) for p in problems] == [
        "rules/r.yaml:4: error: rule `blowup` has a `matches` pattern that is too complex "
        "(engine error 504)\n    fix: simplify this rule's condition"]


def test_trial_run_reports_a_hang_within_its_timeout(tmp_path):
    # Every hang we know of is stopped by the check before the engine sees it, so no pack
    # here hangs for real; a timeout shorter than the child's start-up takes the same path.
    problems = trial_run(load_pack(write_pack(tmp_path, RULES)), timeout=0.01)
    assert [p.message for p in problems] == [
        "the rules engine did not finish a trial run within 0 s (it hangs on this content)"]


def test_broken_content_never_replaces_serving_content(tmp_path):
    root = write_pack(tmp_path, RULES)
    content = Content(root, trial=True)
    assert content.load().ok
    good = content.pack.version
    (root / "rules" / "r.yaml").write_text("ruleset: r\nstage: segment\nrules:\n  - id: [broken\n")
    status = content.load()
    assert not status.ok
    assert status.version == good                       # still serving the last good pack
    assert str(status.problems[0]).startswith("rules/r.yaml:5: error: YAML syntax")
    doc = configure(content, {"name": "A", "industry": "food", "sites": 12})
    assert doc["content_version"] == good and doc["derived"]["tier"] == "key"


def test_a_broken_pack_at_start_is_reported_not_raised(tmp_path):
    root = write_pack(tmp_path, {"r.yaml": "ruleset: r\nstage: nowhere\nrules: []\n"})
    content = Content(root, trial=False)
    status = content.load()
    assert not status.ok and status.version is None
    assert status.as_dict()["problems"][0]["file"] == "rules/r.yaml"


@pytest.mark.parametrize("source, message", [
    ("__import__('os').system('x')", "is not allowed"),
    ("profile.sites ** 100", "is not allowed"),
    ("sites * 2", "`sites` in `sites * 2` is not a fact"),
    ("'a' * 3", "is not allowed"),
    ("profile.sites *", "is not a valid expression"),
])
def test_expressions_refuse_anything_but_arithmetic_over_facts(source, message):
    with pytest.raises(ExpressionError, match=message if not message.startswith("`") else None) as err:
        parse_expression(source)
    assert message in str(err.value)


def test_expressions_compute_with_the_whitelisted_functions():
    expr = parse_expression("max(5, ceil(profile.employees / 50)) + floor(2.7) + round(2.5) + abs(-1) + 7 // 2 + 7 % 4 - min(1, 2)")
    assert expr.paths == ("profile.employees",)
    assert expr.evaluate({"profile": {"employees": 451}}) == 10 + 2 + 2 + 1 + 3 + 3 - 1
