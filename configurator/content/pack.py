"""Load a content pack (catalog/, rules/, proposals/) from a directory, checking everything first.

Before any file is parsed, the pack's layout is checked (docs/content-format.md, "Limits and
refused input"): at most MAX_PACK_FILES files; each YAML file at most MAX_FILE_BYTES and every
other file at most MAX_ASSET_BYTES; all YAML together at most MAX_YAML_BYTES and everything at
most MAX_PACK_BYTES; only regular files (no pipes or devices, which would block a read); no
symbolic link that leads out of the pack, and no linked folder inside it. A pack over a total
is refused without parsing anything, so refusing it takes about as long as listing its files.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import os
import stat
from pathlib import Path, PurePosixPath
from typing import Any, Callable

from ..gcpause import gc_paused
from .catalog import check_catalog, parse_family
from .document import STATUSES, TOTAL_KEYS
from .lint import linted
from .facts import FactTypes
from .model import ContentPack, Family, Module, RuleSet, RuleTest
from .problems import ContentError, Problem, ProblemLog
from .profile import ProfileInvalid, ProfileSpec, parse_profile_spec
from .rules import check_rules, derived_types, parse_ruleset, suggest
from .yamlfile import MAX_FILE_BYTES, YamlSyntaxError, line_of, plain, read_yaml_file

# The repository's own top level is the default (demo) pack.
DEFAULT_CONTENT = Path(__file__).resolve().parents[2]
PACK_FOLDERS = ("catalog", "rules", "proposals")
EXPECT_KEYS = ("status", "includes", "absent", "excluded", "recommends", "quantities", "derived",
               "approvals", "totals", "warnings")
TEST_KEYS = ("name", "date", "profile", "adjustments", "expect")
# Measured: bench/generate.py's 10,000-rule pack (5,000 modules) is 3.9 MB of YAML in 102 files,
# its largest file 72 KB; the demo pack is 164 KB in 31 files. The limits leave 4x room for
# YAML, and room for a template's fonts and images.
MAX_PACK_FILES = 2_000
MAX_YAML_BYTES = 16_000_000
MAX_ASSET_BYTES = 10_000_000          # the PDF renderer's own limit per file
MAX_PACK_BYTES = 50_000_000
YAML_SUFFIXES = (".yaml", ".yml")


def content_root(path: str | os.PathLike | None = None) -> Path:
    """The pack directory: the argument, else CONFIGURATOR_CONTENT, else the demo pack."""
    chosen = path or os.environ.get("CONFIGURATOR_CONTENT") or DEFAULT_CONTENT
    return Path(chosen).resolve()


# A check of the pack's proposals/ folder that a higher layer adds (the content check knows no
# templates): called with (root, the proposals folder, log_for), it logs what it finds.
MoreChecks = Callable[[Path, Path, Callable[[str], ProblemLog]], None]


def load_pack(path: str | os.PathLike | None = None, more_checks: MoreChecks | None = None
              ) -> ContentPack:
    """The checked pack; raises ContentError listing every error (file:line, what, how to fix)."""
    pack, problems = check_pack(path, more_checks)
    if pack is None:
        raise ContentError(problems)
    return pack


def check_pack(path: str | os.PathLike | None = None, more_checks: MoreChecks | None = None
               ) -> tuple[ContentPack | None, list[Problem]]:
    """Read and check a pack: (the pack or None when it has errors, every problem found).

    `more_checks` checks the pack's own proposals/ folder (services.checks passes the proposal
    templates' check)."""
    with gc_paused():
        return _check_pack(path, more_checks)


def _check_pack(path: str | os.PathLike | None, more_checks: MoreChecks | None
                ) -> tuple[ContentPack | None, list[Problem]]:
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
    files, refused = _pack_files(root, log_for)
    if refused:                      # over a limit for the whole pack: nothing is parsed
        return None, _sorted_problems(logs)
    docs, parsed = {}, {}     # parsed: the bytes each document was read from
    for rel in files:
        if rel.endswith(YAML_SUFFIXES) and rel.split("/")[0] in ("catalog", "rules"):
            try:
                docs[rel], parsed[rel] = read_yaml_file(root / rel)
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
    elif more_checks is not None:
        more_checks(root, proposals, log_for)
    problems = _sorted_problems(logs)
    if any(p.severity == "error" for p in problems) or profile is None:
        return None, problems
    blobs = {}
    for rel in files:
        if rel in parsed:      # the version is the digest of exactly what was parsed
            blobs[rel] = parsed[rel]
            continue
        try:
            blobs[rel] = _read_bytes(root / rel)
        except OSError as exc:         # removed, or grown past its limit, since it was listed
            log_for(rel).error(None, f"the file changed while the pack was read ({exc})",
                               "save all files, then check again")
    if len(blobs) < len(files):
        return None, _sorted_problems(logs)
    pack = ContentPack(root=root, version=_version(blobs), catalog=catalog, profile=profile,
                       rulesets=tuple(rulesets), tests=tuple(tests), proposals_dir=proposals,
                       files=blobs)
    return linted(pack, problems, facts)   # rules that never fire, shadowed, unreachable, overlaps


def _sorted_problems(logs: dict[str, ProblemLog]) -> list[Problem]:
    problems = [p for log in logs.values() for p in log.problems]
    problems.sort(key=lambda p: (p.file, p.line or 0))
    return problems


def _inside(path: Path, root: Path) -> bool:
    """Is `path`, with every link followed, within `root` (already resolved)?"""
    try:
        return path.resolve().is_relative_to(root)
    except (OSError, RuntimeError, ValueError):     # a link loop, a NUL in the name
        return False


def _pack_files(root: Path, log_for) -> tuple[list[str], bool]:
    """(paths, relative and '/'-separated, of the pack's files; True when the pack is over a
    limit for the whole pack, so that nothing should be parsed). Other folders are ignored.
    Files that break a rule of their own are reported and left out."""
    found: list[str] = []
    total = yaml_total = 0
    for folder in PACK_FOLDERS:
        base = root / folder
        if base.is_symlink() and not _inside(base, root):
            log_for(folder + "/").error(None, f"{folder}/ is a symbolic link to a folder outside "
                                        "the content pack", "copy the folder into the pack")
            continue
        if not base.is_dir():
            continue
        for dirpath, dirnames, filenames in os.walk(base):
            here = Path(dirpath)
            kept = []
            for name in sorted(dirnames):
                if name.startswith((".", "__")):
                    continue
                if (here / name).is_symlink():
                    log_for((here / name).relative_to(root).as_posix() + "/").error(
                        None, "a folder in the content pack is a symbolic link",
                        "copy the folder into the pack instead of linking it")
                    continue
                kept.append(name)
            dirnames[:] = kept
            for name in sorted(filenames):
                if name.startswith("."):
                    continue
                full = here / name
                rel = full.relative_to(root).as_posix()
                if full.is_symlink() and not _inside(full, root):
                    log_for(rel).error(None, "symbolic link points outside the content pack",
                                       "copy the file in")
                    continue
                try:
                    info = full.stat()
                except OSError as exc:
                    log_for(rel).error(None, f"the file cannot be read ({exc.strerror or exc}; "
                                       "a broken link?)", "remove it or fix the link")
                    continue
                if not stat.S_ISREG(info.st_mode):
                    log_for(rel).error(None, "is not a regular file (a pipe, socket or device)",
                                       "content files are plain files; remove it")
                    continue
                is_yaml = name.endswith(YAML_SUFFIXES)
                limit = MAX_FILE_BYTES if is_yaml else MAX_ASSET_BYTES
                if info.st_size > limit:
                    log_for(rel).error(None, f"the file is {info.st_size:,} bytes; a "
                                       f"{'YAML' if is_yaml else 'template'} file may have at "
                                       f"most {limit:,}",
                                       "split it into several files" if is_yaml else
                                       "use a smaller file")
                    continue
                found.append(rel)
                total += info.st_size
                yaml_total += info.st_size if is_yaml else 0
                if len(found) > MAX_PACK_FILES:
                    log_for(folder + "/").error(None, f"the content pack has more than "
                                                f"{MAX_PACK_FILES:,} files", "remove files the "
                                                "pack does not need (only catalog/, rules/ and "
                                                "proposals/ are read)")
                    return found, True
    over = False
    if yaml_total > MAX_YAML_BYTES:
        log_for("rules/").error(None, f"the pack's YAML files add up to {yaml_total:,} bytes; "
                                f"a pack may have at most {MAX_YAML_BYTES:,}",
                                "remove rules or catalog entries the pack does not need")
        over = True
    if total > MAX_PACK_BYTES:
        log_for("proposals/").error(None, f"the pack's files add up to {total:,} bytes; a pack "
                                    f"may have at most {MAX_PACK_BYTES:,}",
                                    "remove large images or fonts from proposals/")
        over = True
    return found, over


def _read_bytes(path: Path) -> bytes:
    limit = MAX_FILE_BYTES if path.name.endswith(YAML_SUFFIXES) else MAX_ASSET_BYTES
    with path.open("rb") as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise OSError(f"it now has more than {limit:,} bytes")
    return data


def pack_path(root: Path, rel: str) -> Path:
    """`root` joined with a pack-relative path from stored content (a content version's file
    list), refusing one that would land outside `root` (absolute, `..`, a drive, a NUL)."""
    relative = PurePosixPath(rel)
    if not rel or "\0" in rel or "\\" in rel or relative.is_absolute() or ".." in relative.parts \
            or relative.parts[0] not in PACK_FOLDERS:
        raise ValueError(f"refusing the stored file name {rel[:200]!r}: not a path inside a "
                         "content pack")
    return root.joinpath(*relative.parts)


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
