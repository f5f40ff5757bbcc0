"""Load a content pack (catalog/, rules/, proposals/) from a directory, checking everything first."""
from __future__ import annotations

import datetime as dt
import hashlib
import os
from pathlib import Path
from typing import Any

from .catalog import check_catalog, parse_family
from .lint import linted
from .facts import FactTypes
from .model import ContentPack, Family, Module, RuleSet, RuleTest
from .problems import ContentError, Problem, ProblemLog
from .profile import ProfileInvalid, ProfileSpec, parse_profile_spec
from .rules import check_rules, derived_types, parse_ruleset, suggest
from .yamlfile import YamlSyntaxError, line_of, plain, read_yaml

# The repository's own top level is the default (demo) pack.
DEFAULT_CONTENT = Path(__file__).resolve().parents[2]
PACK_FOLDERS = ("catalog", "rules", "proposals")
EXPECT_KEYS = ("status", "includes", "absent", "excluded", "recommends", "quantities", "derived",
               "approvals", "totals", "warnings")
TEST_KEYS = ("name", "date", "profile", "adjustments", "expect")
TOTAL_KEYS = ("one_time", "monthly", "yearly", "annual_recurring", "first_year")
STATUSES = ("ok", "approval_required", "conflict")
MAX_PACK_BYTES = 50_000_000


def content_root(path: str | os.PathLike | None = None) -> Path:
    """The pack directory: the argument, else CONFIGURATOR_CONTENT, else the demo pack."""
    chosen = path or os.environ.get("CONFIGURATOR_CONTENT") or DEFAULT_CONTENT
    return Path(chosen).resolve()


def load_pack(path: str | os.PathLike | None = None) -> ContentPack:
    """The checked pack; raises ContentError listing every error (file:line, what, how to fix)."""
    pack, problems = check_pack(path)
    if pack is None:
        raise ContentError(problems)
    return pack


def check_pack(path: str | os.PathLike | None = None) -> tuple[ContentPack | None, list[Problem]]:
    """Read and check a pack: (the pack or None when it has errors, every problem found)."""
    root = content_root(path)
    logs: dict[str, ProblemLog] = {}

    def log_for(rel: str) -> ProblemLog:
        return logs.setdefault(rel, ProblemLog(rel))

    if not root.is_dir():
        return None, [Problem(str(root), None, "content directory does not exist",
                              "pass --content DIR with catalog/ and rules/ inside")]
    for folder in ("catalog", "rules"):
        if not (root / folder).is_dir():
            log_for(folder + "/").error(None, f"the pack has no {folder}/ folder",
                                        f"create {root / folder}")
    files = _pack_files(root, log_for)
    docs = {}
    for rel in files:
        if rel.endswith((".yaml", ".yml")) and rel.split("/")[0] in ("catalog", "rules"):
            try:
                docs[rel] = read_yaml(root / rel)
            except YamlSyntaxError as exc:
                log_for(rel).error(exc.line, exc.message, "fix the YAML syntax at this line")

    # profile declaration
    profile_rel = "rules/profile.yaml"
    profile: ProfileSpec | None = None
    if profile_rel in docs:
        profile = parse_profile_spec(docs[profile_rel], log_for(profile_rel))
    elif profile_rel not in [p.file for log in logs.values() for p in log.problems]:
        log_for(profile_rel).error(None, "rules/profile.yaml is missing",
                                   "declare the profile fields rules may use in rules/profile.yaml")

    # catalog
    families: list[Family] = []
    modules: list[Module] = []
    for rel, doc in sorted(docs.items()):
        if rel.startswith("catalog/") and rel.count("/") == 1:
            family, found = parse_family(doc, rel, log_for(rel))
            if family:
                families.append(family)
                modules.extend(found)
    catalog = check_catalog(families, modules, logs)

    # rule sets, in file order (sorted by path) so ties in priority are predictable
    rulesets: list[RuleSet] = []
    order = 0
    for rel, doc in sorted(docs.items()):
        if rel.startswith("rules/") and rel.count("/") == 1 and rel != profile_rel:
            ruleset = parse_ruleset(doc, rel, log_for(rel), order)
            if ruleset:
                rulesets.append(ruleset)
                order += len(ruleset.rules)
    if profile is not None:
        facts = FactTypes(profile, tuple(catalog.modules), tuple(catalog.families),
                          derived_types(rulesets, logs))
        check_rules(rulesets, facts, catalog, logs)

    # rule tests
    tests: list[RuleTest] = []
    if profile is not None:
        for rel, doc in sorted(docs.items()):
            if rel.startswith("rules/tests/"):
                tests.extend(_parse_tests(doc, rel, log_for(rel), profile, catalog))
        names: dict[str, RuleTest] = {}
        for test in tests:
            if test.name in names:
                log_for(test.file).error(test.line, f"test name `{test.name}` is already used at "
                                         f"{names[test.name].file}:{names[test.name].line}",
                                         "give every test a unique name")
            names[test.name] = test

    proposals = root / "proposals"
    if not proposals.is_dir():
        proposals = DEFAULT_CONTENT / "proposals"
    problems = [p for log in logs.values() for p in log.problems]
    problems.sort(key=lambda p: (p.file, p.line or 0))
    if any(p.severity == "error" for p in problems) or profile is None:
        return None, problems
    blobs = {rel: (root / rel).read_bytes() for rel in files}
    pack = ContentPack(root=root, version=_version(blobs), catalog=catalog, profile=profile,
                       rulesets=tuple(rulesets), tests=tuple(tests), proposals_dir=proposals,
                       files=blobs)
    return linted(pack, problems)     # rules that can never fire, shadowed, unreachable, overlaps


def _pack_files(root: Path, log_for) -> list[str]:
    """Paths (relative, '/'-separated) of the pack's files; other folders are ignored."""
    found, total = [], 0
    for folder in PACK_FOLDERS:
        base = root / folder
        if not base.is_dir():
            continue
        for dirpath, dirnames, filenames in os.walk(base):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith((".", "__")))
            for name in sorted(filenames):
                if name.startswith("."):
                    continue
                full = Path(dirpath) / name
                if full.is_symlink() and not full.resolve().is_relative_to(root):
                    log_for(full.relative_to(root).as_posix()).error(
                        None, "symbolic link points outside the content pack", "copy the file in")
                    continue
                total += full.stat().st_size
                found.append(full.relative_to(root).as_posix())
    if total > MAX_PACK_BYTES:
        log_for("catalog/").error(None, f"the pack holds {total} bytes; the limit is {MAX_PACK_BYTES}")
    return found


def _version(blobs: dict[str, bytes]) -> str:
    digest = hashlib.sha256()
    for rel in sorted(blobs):
        digest.update(rel.encode() + b"\0" + hashlib.sha256(blobs[rel]).digest())
    return digest.hexdigest()[:16]


def _parse_tests(doc: Any, file: str, log: ProblemLog, profile: ProfileSpec, catalog) -> list[RuleTest]:
    if not isinstance(doc, list):
        log.error(1, "a rule-test file must be a list of tests",
                  "write `- name: ...` items with profile and expect")
        return []
    tests = []
    for index, node in enumerate(doc):
        line = line_of(doc, index)
        if not isinstance(node, dict) or not isinstance(node.get("name"), str):
            log.error(line, "each test needs `name`, `profile` and `expect`")
            continue
        for key in node:
            if key not in TEST_KEYS:
                log.error(line_of(node, key) or line, f"unknown key `{key}` in test `{node['name']}`",
                          " ".join(filter(None, [suggest(key, TEST_KEYS),
                                                 f"allowed: {', '.join(TEST_KEYS)}"])))
        try:
            data = plain(node.get("profile"))
            profile.validate(data)
        except ProfileInvalid as exc:
            for field, messages in exc.errors.items():
                log.error(line_of(node, "profile") or line,
                          f"test `{node['name']}`: profile.{field}: {' '.join(messages)}",
                          "make the example profile match rules/profile.yaml")
            continue
        except YamlSyntaxError as exc:
            log.error(line, exc.message)
            continue
        expect = node.get("expect") or {}
        if not isinstance(expect, dict):
            log.error(line_of(node, "expect") or line, "`expect:` must be a mapping")
            continue
        _check_expect(expect, node["name"], log, line_of(node, "expect") or line, catalog)
        adjustments = plain(node.get("adjustments") or [])
        day = plain(node.get("date")) if node.get("date") is not None else None
        if day is not None:
            try:
                dt.date.fromisoformat(str(day))
            except ValueError:
                log.error(line_of(node, "date") or line, f"`date` of test `{node['name']}` is not "
                          f"a date: {day!r}", "write yyyy-mm-dd")
                day = None
        tests.append(RuleTest(node["name"], data, tuple(adjustments), plain(expect), file, line,
                              str(day) if day else None))
    return tests


def _check_expect(expect: dict, name: str, log: ProblemLog, line: int | None, catalog) -> None:
    def bad(kline, message: str, hint: str = "") -> None:
        log.error(kline, f"test `{name}`: {message}", hint)

    for key, value in expect.items():
        kline = line_of(expect, key) or line
        if key not in EXPECT_KEYS:
            bad(kline, f"unknown expectation `{key}`",
                " ".join(filter(None, [suggest(key, EXPECT_KEYS), f"allowed: {', '.join(EXPECT_KEYS)}"])))
        elif key == "status":
            if value not in STATUSES:
                bad(kline, f"status `{value}` is not a status", f"use one of: {', '.join(STATUSES)}")
        elif key in ("includes", "absent", "excluded", "recommends"):
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                bad(kline, f"`{key}` must be a list of module ids", f"write `{key}: [module-a, module-b]`")
                continue
            for module in value:
                if module not in catalog.modules:
                    bad(kline, f"expects module `{module}`, which is not in the catalog",
                        suggest(module, catalog.modules))
        elif key == "quantities":
            if not isinstance(value, dict):
                bad(kline, "`quantities` must map module id to a number", "write `quantities: {module-a: 2}`")
                continue
            for module, quantity in value.items():
                if module not in catalog.modules:
                    bad(kline, f"expects module `{module}`, which is not in the catalog",
                        suggest(module, catalog.modules))
                elif isinstance(quantity, bool) or not isinstance(quantity, int):
                    bad(kline, f"quantity of `{module}` must be a whole number, not {quantity!r}")
        elif key == "totals":
            if not isinstance(value, dict):
                bad(kline, "`totals` must map a total's name to an amount", "write `totals: {first_year: 1200}`")
                continue
            for total, amount in value.items():
                if total not in TOTAL_KEYS:
                    bad(kline, f"`{total}` is not a total", f"use: {', '.join(TOTAL_KEYS)}")
                elif isinstance(amount, bool) or not isinstance(amount, (int, float)):
                    bad(kline, f"total `{total}` must be a number, not {amount!r}")
        elif key == "derived":
            if not isinstance(value, dict):
                bad(kline, "`derived` must map a derived fact's name to its value",
                    "write `derived: {tier: key}`")
        elif key in ("approvals", "warnings"):
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                what = "roles (use [] for none)" if key == "approvals" else "texts"
                bad(kline, f"`{key}` must be a list of {what}", f"write `{key}: [a, b]`")
