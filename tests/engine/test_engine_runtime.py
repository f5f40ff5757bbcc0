"""The engine adapter: isolated evaluations, no state left behind, bad content never served."""
from __future__ import annotations

import shutil
import threading
from pathlib import Path

import pytest

from configurator.content.expressions import ExpressionError, parse_expression
from configurator.content.pack import DEFAULT_CONTENT, load_pack
from configurator.engine.pipeline import Pipeline, shared_engine
from configurator.services.configurations import configure
from configurator.services.content import Content
from configurator.services.trial import trial_run
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


def pack_with_template(tmp_path: Path, line: str) -> tuple[Path, int]:
    """The test pack with the demo's proposal template, `line` added after its <body> line;
    returns the pack and the number of the added line."""
    root = write_pack(tmp_path, RULES)
    shutil.copytree(DEFAULT_CONTENT / "proposals" / "standard", root / "proposals" / "standard")
    page = root / "proposals" / "standard" / "proposal.html"
    lines = page.read_text().splitlines(keepends=True)
    body = next(i for i, text in enumerate(lines) if text.lstrip().startswith("<body"))
    lines.insert(body + 1, line + "\n")
    page.write_text("".join(lines))
    return root, body + 2


def test_trial_run_renders_each_template_and_names_the_line_that_fails(tmp_path):
    root, line = pack_with_template(tmp_path, "{{ (revision - 1) // (revision - 1) }}")
    problems = trial_run(load_pack(root))
    assert [(p.file, p.line) for p in problems] == [("proposals/standard/proposal.html", line)]
    assert problems[0].message == (
        "rendering the proposal (en) of a minimal profile failed: the template raised "
        "ZeroDivisionError: integer division or modulo by zero")


@pytest.mark.slow
def test_trial_run_stops_a_template_that_never_finishes_and_names_it(tmp_path):
    root, _ = pack_with_template(tmp_path, "{% for i in range(100000) %}{% for j in "
                                           "range(100000) %}{% endfor %}{% endfor %}")
    problems = trial_run(load_pack(root), timeout=15)
    assert [(p.file, p.message) for p in problems] == [(
        "proposals/standard/proposal.html",
        "the proposal template `standard` (en) did not finish rendering within 15 s in a "
        "trial run")]


def test_a_template_that_fails_on_a_real_document_never_replaces_serving_content(tmp_path):
    root, _ = pack_with_template(tmp_path, "<p>{{ customer }}</p>")
    content = Content(root, trial=True)
    assert content.load().ok
    good = content.pack.version
    page = root / "proposals" / "standard" / "proposal.html"
    page.write_text(page.read_text().replace("<p>{{ customer }}</p>",
                                             "<p>{{ customer | int // 0 }}</p>"))
    status = content.load()
    assert not status.ok and status.version == good
    errors = [p for p in status.problems if p.severity == "error"]
    assert [p.file for p in errors] == ["proposals/standard/proposal.html"]


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
