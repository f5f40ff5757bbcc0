"""`configurator impact --base REF`: which customers a content change affects, run as a real
process against real git repositories, directories and a real SQLite database.

The expected customers are worked out independently of the impact report: a one-rule change to
a discount affects exactly the customers for whom that rule fired with the base content.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from configurator.content.pack import load_pack
from configurator.content.yamlfile import line_of, read_yaml
from configurator.content.adjustments import parse_adjustments
from configurator.cli.impact import impact_command
from configurator.engine.impact import Case, impact
from configurator.engine.pipeline import Pipeline
from configurator.services import configurations as store
from configurator.store import migrate
from configurator.store.db import Database
from configurator.store.profiles import read_latest_profiles

from helpers import REPO

RULE = "pr-tier-strategic"       # the demo's strategic-tier discount on business applications
GIT_ENV = {"GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1",
           "GIT_AUTHOR_NAME": "Test", "GIT_AUTHOR_EMAIL": "test@example.com",
           "GIT_COMMITTER_NAME": "Test", "GIT_COMMITTER_EMAIL": "test@example.com"}


# --- helpers ---------------------------------------------------------------------------------

def copy_demo(target: Path) -> Path:
    target.mkdir(parents=True, exist_ok=True)
    for folder in ("catalog", "rules"):
        shutil.copytree(REPO / folder, target / folder)
    return target


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, timeout=60,
                   env={**os.environ, **GIT_ENV})


def commit_all(repo: Path, message: str = "content") -> None:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)


def find_rule(root: Path, rule_id: str) -> tuple[Path, dict]:
    for path in sorted((root / "rules").glob("*.yaml")):
        doc = read_yaml(path)
        if isinstance(doc, dict):
            for rule in doc.get("rules") or []:
                if rule.get("id") == rule_id:
                    return path, rule
    raise LookupError(rule_id)


def replace_on_line(path: Path, line: int, pattern: str, replacement: str) -> None:
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[line - 1], count = re.subn(pattern, replacement, lines[line - 1], count=1)
    assert count == 1, (path, line, lines[line - 1])
    path.write_text("".join(lines), encoding="utf-8")


def set_discount_percent(root: Path, rule_id: str, percent: int) -> int:
    """Change the percent of the rule's discount where it is written; returns the old one."""
    path, rule = find_rule(root, rule_id)
    discount = next(action["discount"] for action in rule["then"] if "discount" in action)
    old = discount["percent"]
    replace_on_line(path, line_of(discount, "percent"), r"(percent:\s*)[^\s,}]+",
                    rf"\g<1>{percent}")
    assert next(a["discount"] for a in find_rule(root, rule_id)[1]["then"]
                if "discount" in a)["percent"] == percent
    return old


def firing_tests(root: Path, rule_id: str) -> tuple[set[str], int]:
    """(names of the pack's rule tests whose run fires `rule_id`, number of tests): from the
    runs' `fired` lists, drafts included as impact includes them."""
    pack = load_pack(root)
    pipeline = Pipeline(pack, include_drafts=True)
    try:
        names = set()
        for test in pack.tests:
            document = pipeline.configure(pack.profile.validate(test.profile),
                                          parse_adjustments(list(test.adjustments), pack.catalog),
                                          on=test.date)
            if rule_id in {entry["rule"] for entry in document["fired"]}:
                names.add(test.name)
        return names, len(pack.tests)
    finally:
        pipeline.close()


def run_impact(content: Path, *args: str, cwd: Path = REPO) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items()
           if k not in ("CONFIGURATOR_CONTENT", "DATABASE_URL")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    return subprocess.run([sys.executable, "-m", "configurator.cli", "--content", str(content),
                           "impact", *args], cwd=cwd, capture_output=True, text=True, env=env,
                          timeout=300)


def impact_json(content: Path, *args: str) -> dict:
    done = run_impact(content, *args, "--format", "json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def labels(report: dict, kind: str = "test") -> set[str]:
    return {item["case"] for item in report["affected"] if item["kind"] == kind}


# --- tests -----------------------------------------------------------------------------------

@pytest.mark.parametrize("where", ["", "packs/demo"], ids=["repo-top", "repo-subdirectory"])
def test_a_changed_discount_affects_exactly_the_customers_it_fired_for(tmp_path, where):
    repo = tmp_path / "repo"
    root = copy_demo(repo / where if where else repo)
    git(repo, "init", "-q")
    commit_all(repo)
    expected, total = firing_tests(root, RULE)
    assert 0 < len(expected) < total          # the change matters to some customers, not all
    old = set_discount_percent(root, RULE, 20)
    assert old != 20

    report = impact_json(root, "--base", "HEAD", "--no-database")

    assert labels(report) == {f"test: {name}" for name in expected}
    assert report["summary"]["cases"] == total
    assert report["summary"]["affected"] == len(expected)
    assert report["summary"]["unchanged"] == total - len(expected)
    assert report["content_changes"]["rules"] == {"added": [], "removed": [], "edited": [RULE]}
    assert report["base"]["source"].startswith("git HEAD")
    assert report["database"] == {"read": False, "note": "not read (--no-database)"}
    for item in report["affected"]:
        assert RULE in item["rules"]
        assert item["line_totals"], item["case"]
        assert all(RULE in line["rules"] and line["work"] < line["base"]
                   for line in item["line_totals"])
        first = item["totals"]["first_year"]
        assert first["work"] < first["base"]
        assert first["change"] == pytest.approx(first["work"] - first["base"])
        assert not item["modules_added"] and not item["modules_removed"]


def test_a_directory_base_and_the_text_report(tmp_path):
    base = copy_demo(tmp_path / "base")
    work = copy_demo(tmp_path / "work")
    expected, total = firing_tests(base, RULE)
    set_discount_percent(work, RULE, 20)

    done = run_impact(work, "--base", str(base), "--no-database")

    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[-1] == (f"{len(expected)} of {total} customers affected ({len(expected)} of "
                         f"{total} rule-test customers, 0 of 0 stored customers)")
    assert f"directory {base}" in done.stdout
    assert "Content changes: rules edited: pr-tier-strategic" in done.stdout
    table = lines[lines.index(next(l for l in lines if l.startswith("case "))):]
    header = table[0].split()
    assert header[:4] == ["case", "status", "modules", "first"] and header[-1] == "approvals"
    details = {line.split("  (rules/tests/")[0] for line in lines if "  (rules/tests/" in line}
    assert details == {f"test: {name}" for name in expected}
    assert "rules responsible: " in done.stdout and f"{RULE} (changed)" in done.stdout


def test_identical_content_affects_no_one(tmp_path, runner):
    root = copy_demo(tmp_path / "pack")
    done = runner.invoke(impact_command, ["--base", str(root), "--no-database"],
                         obj={"content": root})
    assert done.exit_code == 0, done.output
    assert "No customer's solution changes." in done.output
    assert "Content changes: no rule or module changed" in done.output
    total = len(load_pack(root).tests)
    assert done.output.splitlines()[-1] == (f"0 of {total} customers affected (0 of {total} "
                                            "rule-test customers, 0 of 0 stored customers)")


def test_stored_customers_are_compared_by_their_latest_revision(tmp_path, content):
    base = copy_demo(tmp_path / "base")
    work = copy_demo(tmp_path / "work")
    set_discount_percent(work, RULE, 20)
    pack = load_pack(base)
    fired, _ = firing_tests(base, RULE)
    strategic = next(t for t in pack.tests if t.name in fired)
    standard = next(t for t in pack.tests if t.name not in fired and not t.adjustments)

    url = f"sqlite:///{tmp_path / 'store.db'}"
    migrate.upgrade(url)
    db = Database(url)
    try:
        with db.sessions() as session:
            one = store.create_configuration(
                session, content, {**strategic.profile, "name": "Stored Strategic"},
                [{"action": "discount", "percent": 2, "applies_to": "total"}])
            two = store.create_configuration(session, content,
                                             {**standard.profile, "name": "Stored Standard"})
            # revision 1 is a standard account; the latest revision is a strategic one
            three = store.create_configuration(session, content,
                                               {**standard.profile, "name": "Moved On"})
            store.add_revision(session, content, three["id"], [],
                               profile={**strategic.profile, "name": "Moved On"})
            # and the other way round: revision 1 strategic, latest revision standard
            four = store.create_configuration(session, content,
                                              {**strategic.profile, "name": "Moved Away"})
            store.add_revision(session, content, four["id"], [],
                               profile={**standard.profile, "name": "Moved Away"})
            session.commit()
    finally:
        db.dispose()

    report = impact_json(work, "--base", str(base), "--database", url)

    assert report["database"]["read"] is True
    assert labels(report, "customer") == {f"customer: Stored Strategic (configuration {one['id']})",
                                          f"customer: Moved On (configuration {three['id']})"}
    assert report["summary"]["by_kind"]["customer"] == {"cases": 4, "affected": 2}
    assert labels(report, "test") == {f"test: {name}" for name in fired}
    sources = {item["case"]: item["source"] for item in report["affected"]}
    assert sources[f"customer: Moved On (configuration {three['id']})"] == \
        "latest revision 2"
    assert report["database"]["note"].endswith(": 4 stored configuration(s)")
    assert len({one["id"], two["id"], three["id"], four["id"]}) == 4


def test_a_database_that_is_missing_or_not_migrated_is_skipped_with_a_note(tmp_path):
    missing = tmp_path / "nothing.db"
    found, note = read_latest_profiles(f"sqlite:///{missing}")
    assert found is None and note.startswith("no database at ")
    assert not missing.exists()               # reading never creates a database
    empty = tmp_path / "empty.db"
    database = Database(f"sqlite:///{empty}")
    database.engine.connect().close()
    database.dispose()
    found, note = read_latest_profiles(f"sqlite:///{empty}")
    assert found is None and "is not migrated" in note


def test_a_broken_base_revision_exits_1_naming_file_and_line(tmp_path):
    repo = copy_demo(tmp_path / "repo")
    path, rule = find_rule(repo, RULE)
    line = line_of(rule, "priority")
    good = path.read_text(encoding="utf-8")
    replace_on_line(path, line, r"priority:", "priorty:")
    git(repo, "init", "-q")
    commit_all(repo, "broken")
    path.write_text(good, encoding="utf-8")          # fixed in the working tree only

    done = run_impact(repo, "--base", "HEAD", "--no-database")

    assert done.returncode == 1
    assert "The base content (git HEAD" in done.stderr
    assert f"rules/pricing.yaml:{line}: error: unknown key `priorty`" in done.stderr
    assert done.stdout == ""


def test_a_broken_working_pack_exits_1_naming_file_and_line(tmp_path):
    base = copy_demo(tmp_path / "base")
    work = copy_demo(tmp_path / "work")
    path, rule = find_rule(work, RULE)
    line = line_of(rule, "priority")
    replace_on_line(path, line, r"priority:", "priorty:")
    done = run_impact(work, "--base", str(base), "--no-database")
    assert done.returncode == 1
    assert "The working content at" in done.stderr
    assert f"rules/pricing.yaml:{line}: error: unknown key `priorty`" in done.stderr


def test_a_base_that_is_neither_a_directory_nor_a_revision_is_a_usage_error(tmp_path):
    repo = copy_demo(tmp_path / "repo")
    git(repo, "init", "-q")
    commit_all(repo)
    done = run_impact(repo, "--base", "no-such-branch", "--no-database")
    assert done.returncode == 2
    assert "neither a directory nor a git revision" in done.stderr


def test_removed_modules_and_quantities_name_the_rules_behind_them(tmp_path):
    """In-process: a rule that no longer fires removes its module; a changed quantity names
    the including rule."""
    base_root = copy_demo(tmp_path / "base")
    work_root = copy_demo(tmp_path / "work")
    path, rule = find_rule(work_root, "sol-log-carrier-network")
    replace_on_line(path, line_of(rule["when"], "profile.sites"), r"gte: 3", "gte: 1000")
    path, rule = find_rule(work_root, "sol-log-warehouse")
    scanners = next(a for a in rule["then"] if a.get("include") == "handheld-scanner")
    replace_on_line(path, line_of(scanners, "quantity"), r"profile\.sites \* 12",
                    "profile.sites * 15")
    with (work_root / "catalog" / "modules.yaml").open("a", encoding="utf-8") as catalog:
        catalog.write("\n  - id: dock-scheduling\n    name: Dock appointment scheduling\n"
                      "    kind: software\n    description: Carriers book dock slots online.\n"
                      "    price: {amount: 180, currency: USD, per: site, billing: monthly}\n")
    base, work = load_pack(base_root), load_pack(work_root)
    carrier, _ = firing_tests(base_root, "sol-log-carrier-network")
    warehouse, _ = firing_tests(base_root, "sol-log-warehouse")
    cases = [Case(f"test: {t.name}", "test", t.profile, t.adjustments, t.date) for t in base.tests]
    adds_new_module = Case("customer: New (configuration 1)", "customer", base.tests[0].profile,
                           ({"action": "add", "module": "dock-scheduling"},))
    invalid = Case("customer: Invalid (configuration 2)", "customer", {"name": "Invalid"})

    report = impact(base, work, cases + [adds_new_module, invalid])

    assert report.content_changes["modules"]["added"] == ["dock-scheduling"]
    assert [s["case"] for s in report.skipped] == [invalid.label]
    assert "profile.sites: " in report.skipped[0]["errors"]["work"]
    added = next(item for item in report.affected if item.case is adds_new_module)
    assert added.errors == {"base": "adjustments.0.module: `dock-scheduling` is not a module "
                                    "in the catalog"}
    assert added.status[0] == "not computed"
    report.affected.remove(added)
    assert report.counts["customer"] == {"cases": 2, "affected": 1}

    assert {item.case.label for item in report.affected} == \
        {f"test: {name}" for name in carrier | warehouse}
    assert report.content_changes["rules"]["edited"] == ["sol-log-carrier-network",
                                                         "sol-log-warehouse"]
    for item in report.affected:
        name = item.case.label[len("test: "):]
        if name in carrier:
            assert {"module": "carrier-network-api", "quantity": 1, "billing": "monthly",
                    "total": 500, "rules": ["sol-log-carrier-network"]} in item.modules_removed
            assert "sol-log-carrier-network" in item.fired_only_in_base
        if name in warehouse:
            change = next(q for q in item.quantities if q["module"] == "handheld-scanner")
            assert change["work"] == change["base"] // 12 * 15
            assert change["rules"] == ["sol-log-warehouse"]
        assert not item.modules_added
    as_json = json.dumps(report.as_dict())          # the report is plain JSON data
    assert json.loads(as_json)["summary"]["affected"] == len(report.affected)
