"""Hostile content: files a product manager (or anyone who can write to the pack) might push that
would hang, crash or mislead the service. Each is refused with file:line and what to do, within
bounded time, and a serving pack keeps serving (docs/content-format.md, "Limits and refused
input"; docs/security.md).

Bounded time is shown by design (a limit that refuses before the work starts) and, where a
mistake would hang, by running the check in a child process with a generous timeout: a hang
fails the test instead of freezing the suite.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from configurator.content import pack as pack_module
from configurator.content.pack import (MAX_ASSET_BYTES, MAX_PACK_BYTES, MAX_PACK_FILES,
                                       MAX_YAML_BYTES, DEFAULT_CONTENT, load_pack, pack_path)
from configurator.content.problems import Problem
from configurator.content.regex import (MAX_CLASS_CHARS, MAX_STATES, RegexError, engine_text,
                                        python_pattern, translate)
from configurator.content.yamlfile import (MAX_DEPTH, MAX_FILE_BYTES, YamlSyntaxError, parse_yaml,
                                           plain, read_yaml)
from configurator.proposals import ProposalInvalid, TemplateBroken, open_template
from configurator.proposals.templates import available_templates
from configurator.services.checks import check_pack
from configurator.services.content import Content
from jinja2 import TemplateNotFound
from helpers import write_pack

REPO = Path(__file__).resolve().parents[2]
CHILD_TIMEOUT = 120     # generous: each child below finishes in a few seconds

RULES = {"r.yaml": """
    ruleset: r
    stage: segment
    rules:
      - id: big-account
        when: {profile.sites: {gte: 5}}
        then: [{derive: {tier: key}}]
    """}

LAUGHS = textwrap.dedent("""\
    ruleset: lol
    stage: segment
    a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]
    b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]
    c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]
    d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]
    e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]
    f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]
    g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]
    h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g]
    i: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h]
    rules: *i
    """)


def errors(problems: list[Problem]) -> list[str]:
    return [str(p) for p in problems if p.severity == "error"]


def pack_errors(root: Path) -> list[str]:
    pack, problems = check_pack(root)
    assert pack is None
    return errors(problems)


def check_in_child(root: Path) -> dict:
    """`configurator check --no-trial --format json` on `root` in a child process: a hang
    fails the test with TimeoutExpired after CHILD_TIMEOUT seconds, a crash by its exit code."""
    env = {k: v for k, v in os.environ.items() if k != "CONFIGURATOR_CONTENT"}
    done = subprocess.run([sys.executable, "-m", "configurator.cli", "--content", str(root),
                           "check", "--no-trial", "--format", "json"], capture_output=True,
                          text=True, env=env, timeout=CHILD_TIMEOUT, cwd=REPO)
    assert done.returncode in (0, 1), done.stderr[-2000:]     # 1: the pack has errors
    assert "Traceback" not in done.stderr
    return json.loads(done.stdout)


def child_errors(root: Path) -> list[str]:
    report = check_in_child(root)
    assert report["ok"] is False
    return [f"{p['file']}:{p['line']}: {p['message']}" for p in report["problems"]
            if p["severity"] == "error"]


def parse_error(text: str) -> YamlSyntaxError:
    with pytest.raises(YamlSyntaxError) as caught:
        parse_yaml(text)
    return caught.value


def demo_copy(tmp_path: Path) -> Path:
    root = tmp_path / "pack"
    for folder in ("catalog", "rules", "proposals"):
        shutil.copytree(DEFAULT_CONTENT / folder, root / folder)
    return root


# --- 1. aliases that expand exponentially ------------------------------------------------------

def test_billion_laughs_is_refused_at_its_first_alias(tmp_path):
    # 9 levels of 9 aliases: 387 million values once expanded; refused at the first alias
    root = write_pack(tmp_path, {**RULES, "lol.yaml": LAUGHS})
    assert child_errors(root) == [
        "rules/lol.yaml:3: YAML anchors and aliases (`&name` ... `*name`) are not allowed in "
        "content files (a few lines of them can expand to billions of values); write the value "
        "out in full"]


@pytest.mark.parametrize("text, line", [
    ("a: &x hello\nb: *x\n", 1),                           # an alias of a text
    ("a: &x {k: 1}\nb:\n  - *x\n", 1),                      # of a mapping
])
def test_every_alias_is_refused_whatever_it_points_to(text, line):
    error = parse_error(text)
    assert error.line == line and "anchors and aliases" in error.message


def test_merge_keys_are_refused():
    for text in ("base: {x: 1}\nc:\n  <<: {x: 2}\n  y: 2\n", "c:\n  <<: [{x: 1}]\n"):
        error = parse_error(text)
        assert "merge keys (`<<`) are not allowed" in error.message and error.line in (2, 3)


def test_the_demo_pack_needs_no_aliases_tags_or_merge_keys():
    assert check_pack(DEFAULT_CONTENT)[0] is not None


# --- 2. Python object tags and any other tag ----------------------------------------------------

@pytest.mark.parametrize("tag", [
    "!!python/object/apply:os.system", "!!python/object:collections.OrderedDict",
    "!!python/name:os.system", "!!binary", "!!set", "!!str", "!custom", "!<tag:example.com,2026:x>",
])
def test_tags_are_refused_with_their_line_and_nothing_is_built(tag):
    text = f"family: x\nmodules:\n  - id: m\n    name: {tag} ['rm -rf /']\n"
    error = parse_error(text)
    assert error.line == text.count("\n", 0, text.index(tag)) + 1
    assert "YAML tags such as" in error.message and "not allowed" in error.message


def test_a_python_tag_in_a_catalog_file_stops_the_pack_naming_the_file(tmp_path):
    root = write_pack(tmp_path, RULES, extra={"catalog/evil.yaml": """
        family: evil
        title: !!python/object/apply:os.system ["touch pwned"]
        modules: []
        """})
    assert pack_errors(root) == [
        "catalog/evil.yaml:2: error: YAML tags such as `!!python/object/apply:os.system` are not "
        "allowed in content files; write plain values (quote a text that starts with !)\n"
        "    fix: fix the YAML syntax at this line"]
    assert not (tmp_path / "pwned").exists() and not Path("pwned").exists()


def test_a_quoted_text_starting_with_an_exclamation_mark_is_fine():
    assert plain(parse_yaml("a: '!!python/object'\nb: \"!x\"\n")) == \
        {"a": "!!python/object", "b": "!x"}


# --- 3. huge files ------------------------------------------------------------------------------

def test_a_file_over_the_size_limit_is_refused_before_it_is_read(tmp_path):
    root = write_pack(tmp_path, RULES)
    big = root / "rules" / "big.yaml"
    with big.open("wb") as handle:           # an alias bomb after the limit: never parsed
        handle.truncate(MAX_FILE_BYTES + 1)
    errors_found = pack_errors(root)
    assert errors_found == [
        f"rules/big.yaml: error: the file is {MAX_FILE_BYTES + 1:,} bytes; a YAML file may have "
        f"at most {MAX_FILE_BYTES:,}\n    fix: split it into several files"]
    with pytest.raises(YamlSyntaxError, match="a content file may have at most"):
        read_yaml(big)


def test_a_pack_over_the_total_limits_is_refused_without_parsing_anything(tmp_path):
    root = write_pack(tmp_path, {**RULES, "broken.yaml": "rules: [unclosed\n"})
    count = MAX_YAML_BYTES // MAX_FILE_BYTES + 1
    for i in range(count):                   # sparse files: no disk space used
        with (root / "catalog" / f"f{i}.yaml").open("wb") as handle:
            handle.truncate(MAX_FILE_BYTES)
    # nothing is parsed: rules/broken.yaml is not reported
    assert pack_errors(root) == [
        f"rules/: error: the pack's YAML files add up to {_yaml_bytes(root):,} bytes; a pack may "
        f"have at most {MAX_YAML_BYTES:,}\n"
        "    fix: remove rules or catalog entries the pack does not need"]


def _yaml_bytes(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*.yaml"))


def test_a_pack_over_the_byte_limit_for_all_files_is_refused(tmp_path):
    root = write_pack(tmp_path, RULES)
    assets = root / "proposals" / "standard" / "assets"
    assets.mkdir(parents=True)
    for i in range(MAX_PACK_BYTES // MAX_ASSET_BYTES + 1):
        with (assets / f"font{i}.ttf").open("wb") as handle:
            handle.truncate(MAX_ASSET_BYTES)
    found = pack_errors(root)
    assert len(found) == 1 and found[0].startswith("proposals/: error: the pack's files add up to")
    assert f"a pack may have at most {MAX_PACK_BYTES:,}" in found[0]


def test_a_pack_with_too_many_files_is_refused_as_soon_as_it_has_one_too_many(tmp_path):
    root = write_pack(tmp_path, RULES)
    assets = root / "proposals" / "many"
    assets.mkdir(parents=True)
    for i in range(MAX_PACK_FILES + 10):
        (assets / f"{i}.txt").write_bytes(b"x")
    assert pack_errors(root) == [
        f"proposals/: error: the content pack has more than {MAX_PACK_FILES:,} files\n"
        "    fix: remove files the pack does not need (only catalog/, rules/ and proposals/ are "
        "read)"]


def test_the_limits_fit_a_generated_10000_rule_pack(tmp_path):
    """The measured basis of the defaults: bench/generate.py's 10,000-rule pack is far inside
    every limit (about 3.9 MB of YAML in about 100 files, the largest about 72 KB)."""
    done = subprocess.run([sys.executable, str(REPO / "bench" / "generate.py"), str(tmp_path),
                           "--rules", "10000", "--modules", "5000", "--profiles", "3"],
                          capture_output=True, text=True, timeout=CHILD_TIMEOUT, cwd=REPO)
    assert done.returncode == 0, done.stderr[-2000:]
    problems: list[Problem] = []
    logs: dict = {}
    files, over = pack_module._pack_files(tmp_path.resolve(),
                                          lambda rel: logs.setdefault(rel, _Log(rel, problems)))
    assert not over and problems == []
    sizes = [(tmp_path / rel).stat().st_size for rel in files]
    assert len(files) < MAX_PACK_FILES / 10
    assert sum(sizes) < MAX_YAML_BYTES / 3
    assert max(sizes) < MAX_FILE_BYTES / 20


class _Log:
    def __init__(self, rel: str, problems: list):
        self.rel, self.problems = rel, problems

    def error(self, line, message, hint=""):
        self.problems.append(Problem(self.rel, line, message, hint))


def test_a_pipe_in_the_pack_is_refused_instead_of_blocking_the_read(tmp_path):
    root = write_pack(tmp_path, RULES)
    os.mkfifo(root / "rules" / "pipe.yaml")      # reading it would wait for a writer forever
    assert child_errors(root) == [
        "rules/pipe.yaml:None: is not a regular file (a pipe, socket or device)"]


# --- 4. path traversal and links out of the pack ------------------------------------------------

def test_a_file_linked_from_outside_the_pack_is_refused(tmp_path):
    secret = tmp_path / "secret.yaml"
    secret.write_text("family: secret\ntitle: Secret\nmodules: []\n")
    root = write_pack(tmp_path / "p", RULES)
    (root / "catalog" / "secret.yaml").symlink_to(secret)
    assert pack_errors(root) == ["catalog/secret.yaml: error: symbolic link points outside the "
                                 "content pack\n    fix: copy the file in"]


def test_linked_folders_and_broken_links_are_refused(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "x.yaml").write_text("family: x\ntitle: X\nmodules: []\n")
    root = write_pack(tmp_path / "p", RULES)
    (root / "catalog" / "linked").symlink_to(outside, target_is_directory=True)
    (root / "rules" / "gone.yaml").symlink_to(root / "rules" / "missing.yaml")
    found = pack_errors(root)
    assert found[0] == ("catalog/linked/: error: a folder in the content pack is a symbolic link"
                        "\n    fix: copy the folder into the pack instead of linking it")
    assert found[1].startswith("rules/gone.yaml: error: the file cannot be read (")
    assert len(found) == 2


def test_a_pack_folder_that_links_out_of_the_pack_is_refused(tmp_path):
    outside = write_pack(tmp_path / "elsewhere", RULES)
    root = write_pack(tmp_path / "p", RULES)
    shutil.rmtree(root / "catalog")
    (root / "catalog").symlink_to(outside / "catalog", target_is_directory=True)
    assert "catalog/: error: catalog/ is a symbolic link to a folder outside the content pack" \
        "\n    fix: copy the folder into the pack" in pack_errors(root)


def test_a_link_to_a_file_inside_the_pack_is_fine(tmp_path):
    root = write_pack(tmp_path, RULES)
    (root / "shared").mkdir()
    (root / "rules" / "r.yaml").rename(root / "shared" / "r.yaml")
    (root / "rules" / "r.yaml").symlink_to(root / "shared" / "r.yaml")
    pack = load_pack(root)
    assert [r.id for r in pack.rules] == ["big-account"]


@pytest.mark.parametrize("name", ["../standard", "standard/../standard", "/etc", "..", ".",
                                  "standard/", "Standard", "stan dard", "a" * 1000, "standard\0",
                                  "%2e%2e", "~"])
def test_template_names_cannot_leave_the_proposals_folder(name):
    with pytest.raises(ProposalInvalid) as caught:
        open_template(DEFAULT_CONTENT / "proposals", name, DEFAULT_CONTENT)
    assert caught.value.errors["template"][0].startswith("there is no proposal template")
    assert len(caught.value.errors["template"][0]) < 200


def test_a_template_folder_linked_from_elsewhere_is_not_a_template(tmp_path):
    proposals = tmp_path / "proposals"
    proposals.mkdir()
    shutil.copytree(DEFAULT_CONTENT / "proposals" / "standard", tmp_path / "elsewhere")
    (proposals / "linked").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    assert available_templates(proposals) == []
    with pytest.raises(ProposalInvalid):
        open_template(proposals, "linked", tmp_path)


def test_template_files_linked_from_outside_are_refused(tmp_path):
    folder = tmp_path / "proposals" / "standard"
    shutil.copytree(DEFAULT_CONTENT / "proposals" / "standard", folder)
    secret = tmp_path / "secret.html"
    secret.write_text("SECRET")
    (folder / "leak.html").symlink_to(secret)
    html = folder / "proposal.html"
    html.write_text(html.read_text().replace("</body>", "{% include 'leak.html' %}</body>", 1))
    template = open_template(tmp_path / "proposals", "standard", tmp_path)
    with pytest.raises(TemplateNotFound, match="outside the template folder"):
        template.environment.from_string("{% include 'leak.html' %}").render()
    for name in ("../secret.html", "/etc/hostname", "assets/../../secret.html"):
        with pytest.raises(TemplateNotFound):
            template.environment.get_template(name)

    theme = folder / "theme.yaml"
    (tmp_path / "theme.yaml").write_text(theme.read_text())
    theme.unlink()
    theme.symlink_to(tmp_path / "theme.yaml")
    with pytest.raises(TemplateBroken) as caught:
        open_template(tmp_path / "proposals", "standard", tmp_path)
    assert caught.value.file == "proposals/standard/theme.yaml"
    assert caught.value.message == "is a link to a file outside the template folder"


def test_a_hostile_template_file_keeps_the_pack_from_loading(tmp_path):
    root = demo_copy(tmp_path)
    theme = root / "proposals" / "standard" / "theme.yaml"
    theme.write_text(LAUGHS.replace("ruleset: lol\nstage: segment\n", "") + theme.read_text())
    assert pack_errors(root) == [
        "proposals/standard/theme.yaml:1: error: YAML anchors and aliases (`&name` ... `*name`) "
        "are not allowed in content files (a few lines of them can expand to billions of values); "
        "write the value out in full\n    fix: fix the YAML"]


@pytest.mark.parametrize("rel", ["../etc/passwd", "/etc/passwd", "rules/../../x", "", "x/y.yaml",
                                 "rules/a\0b", "rules\\..\\..\\x", "C:/x"])
def test_stored_file_names_cannot_leave_the_pack(tmp_path, rel):
    with pytest.raises(ValueError, match="not a path inside a content pack"):
        pack_path(tmp_path, rel)
    assert pack_path(tmp_path, "rules/tests/a.yaml") == tmp_path / "rules" / "tests" / "a.yaml"


# --- 5. regular expressions ---------------------------------------------------------------------

CATASTROPHIC = ["(a+)+", "(a+)+$", "^(a|a)*b$", "(a|aa)*b", "([a-z]+)*[0-9]", "(.*a){12}",
                "(a|b)*b", "(.*.*.*.*.*)x"]


def test_patterns_that_make_python_re_backtrack_run_in_linear_time():
    """Python's `re` takes minutes (or for ever) on these against a long text; the reference
    evaluation, explanations and lint use our automaton instead. Run in a child so that a
    regression fails the test after a timeout instead of hanging the suite."""
    code = textwrap.dedent(f"""
        from configurator.content.regex import python_pattern
        text = "a" * 100_000
        print([bool(python_pattern(p).fullmatch(text)) for p in {CATASTROPHIC!r}])
        print([bool(python_pattern(p).fullmatch("aaab")) for p in {CATASTROPHIC!r}])
        """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=CHILD_TIMEOUT, cwd=REPO)
    assert done.returncode == 0, done.stderr
    long_result, short_result = done.stdout.splitlines()
    assert long_result == str([True, True, False, False, False, True, False, False])
    assert short_result == str([False, False, True, True, False, False, True, False])


@pytest.mark.parametrize("pattern, message", [
    ("[一-龥]+", f"a [...] of 20,902 characters is more than the rules engine can list (at most "
                f"{MAX_CLASS_CHARS:,}); use `.` or a narrower range"),
    ("[^一-龥]", "a [...] of 20,902 characters"),
    ("b{1,3}(a|)*", "a repeated part that can match nothing, such as (a|)* or (a*)+, can hang "
                    "the rules engine"),
    ("x(a*)+", "a repeated part that can match nothing"),
    ("(a|b)*a(a|b){8}", f"its automaton has more than {MAX_STATES} states"),
    ("((a{100}){100})", "more than 1000 characters to match once its repeats are written out"),
    ("(" * 11 + "a" + ")" * 11, "groups are nested more than 10 deep"),
    ("a+?", "a repeat right after another"),
    ("a*+", "a repeat right after another"),
    ("a{0}", "a repeat of 0 times ({0}) is not supported"),
    ('say "hi"', 'a `"` is not supported in a pattern'),
    ("C:\\\\temp", "a backslash (`\\\\`) is not supported in a pattern"),
    ("a\tb", "the control character U+0009 is not supported"),
    ("a" * 201, "longer than 200 characters"),
])
def test_check_refuses_patterns_the_engine_would_crash_hang_or_misread_on(pattern, message):
    with pytest.raises(RegexError) as caught:
        translate(pattern)
    assert message in str(caught.value)


def test_a_hostile_pattern_in_a_rule_is_refused_with_its_file_and_line(tmp_path):
    root = write_pack(tmp_path, {"r.yaml": """
        ruleset: r
        stage: segment
        rules:
          - id: cjk
            when: {profile.country: {matches: '[一-龥]+'}}
            then: [{warn: w}]
          - id: hang
            when: {profile.country: {matches: 'b{1,3}(a|)*'}}
            then: [{warn: w}]
        """})
    found = child_errors(root)    # the engine never sees them: it would crash and hang
    assert found[0].startswith("rules/r.yaml:5: regular expression '[一-龥]+' on profile.country:"
                               " a [...] of 20,902 characters")
    assert found[1].startswith("rules/r.yaml:8: regular expression 'b{1,3}(a|)*' on "
                               "profile.country: a repeated part that can match nothing")


def test_refusing_a_pattern_takes_bounded_work():
    """Every limit stops the analysis early: the worst patterns within 200 characters are
    refused after at most WORK_BUDGET steps, never after exploring a huge automaton."""
    from configurator.content import regex
    worst = ["(" + "(a|b|c|d)" * 9 + "){100}", "([a-z]|[a-y]|[b-z]){100}" * 3,
             "((((a{100}){100}){100}){100})", "(a|b)*a(a|b){20}", ".{3,100}[^a]*(.?.){3,100}"]
    for pattern in worst:
        with pytest.raises(RegexError, match="too complex"):
            regex._automaton.__wrapped__(pattern)


ACCEPTED = ["(a+)+", "(a|a)*b", "(a|aa)*b", "([a-z]+)*[0-9]", "D[EK]|N.", "\\d{3}-\\d{4}",
            "[A-Z]{2}\\d{2}[A-Z0-9]{1,30}", "(a|b)*a(a|b){5}", "a..b", ".*x.*"]


def test_patterns_check_accepts_compile_in_the_engine_and_match_as_the_reference_does(tmp_path):
    """The engine's side: every accepted pattern compiles (no crash, no hang: in a child with
    a timeout) and fires exactly when the Python-side automaton says it matches, on long texts
    and on texts with line breaks, quotes and backslashes (the engine reads them JSON-escaped)."""
    rules = "\n".join(f"""
          - id: p{i}
            when: {{profile.country: {{matches: '{p}'}}}}
            then: [{{warn: p{i}}}]""" for i, p in enumerate(ACCEPTED))
    root = write_pack(tmp_path, {"r.yaml": "ruleset: r\nstage: segment\nrules:" + rules})
    texts = ["a" * 1999, "a" * 1998 + "b", "a" * 1000 + "1", "DK", "NO", "555-1234",
             "DE89370400440532013000", "abbbbb", "a\nb", 'a"b', "a\\b", "xx\n\nx", "ab\tc"]
    code = textwrap.dedent(f"""
        import json, sys
        sys.path.insert(0, "tests")
        from helpers import Configurator, fired
        conf = Configurator({str(root)!r})
        print(json.dumps([sorted(fired(conf.run(country=t))) for t in {texts!r}]))
        """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=CHILD_TIMEOUT, cwd=REPO)
    assert done.returncode == 0, done.stderr[-2000:]
    engine = json.loads(done.stdout.splitlines()[-1])
    expected = [sorted(f"p{i}" for i, p in enumerate(ACCEPTED) if python_pattern(p).fullmatch(t))
                for t in texts]
    assert engine == expected
    assert "p8" in engine[texts.index("a\nb")]         # `..` covers the escaped line break


def test_the_reference_reads_values_as_the_engine_does():
    assert engine_text('a\nb"c\\d\te') == 'a\\nb\\"c\\\\d\\te'
    assert python_pattern("a..b").fullmatch("a\nb")
    assert not python_pattern("a.b").fullmatch("a\nb")
    assert python_pattern("[^a]+").fullmatch("中文 text") and python_pattern(".+").fullmatch("é")


# --- 6. other hostile input in the loader -------------------------------------------------------

def test_deep_nesting_is_refused_without_recursion_errors(tmp_path):
    flow = "[" * 100_000 + "]" * 100_000
    block = "".join("  " * i + "k:\n" for i in range(MAX_DEPTH + 5)) + "  " * (MAX_DEPTH + 5) + "v: 1\n"
    for text, line in ((flow, 1), (block, MAX_DEPTH + 1), ("a: " + "{b: " * 50 + "1" + "}" * 50, 1)):
        error = parse_error(text)
        assert error.line == line and f"nested more than {MAX_DEPTH} levels deep" in error.message
    root = write_pack(tmp_path, {**RULES, "deep.yaml": "ruleset: d\nrules: " + flow})
    assert child_errors(root) == [
        f"rules/deep.yaml:2: nested more than {MAX_DEPTH} levels deep; content files need far "
        "fewer (split the condition, or check for a run of unclosed [ or {)"]


def test_nesting_the_demo_pack_uses_is_well_inside_the_limit():
    nested = "".join("  " * i + "k:\n" for i in range(MAX_DEPTH - 1)) + "  " * (MAX_DEPTH - 1) + "v: 1\n"
    assert parse_yaml(nested)


@pytest.mark.parametrize("data, line, words", [
    (b"ruleset: r\nstage: segment\x00\n", 2, "a NUL character is not allowed in YAML"),
    (b"ruleset: r\n\nstage: \x1b[31msegment\n", 3, "the character U+001B is not allowed in YAML"),
    (b"ruleset: r\nstage: s\xe9gment\n", 2, "the file is not UTF-8 text (byte 0xe9 at this line"),
    (b"\xff\xfer\x00u\x00", 1, "the file is not UTF-8 text (byte 0xff"),
])
def test_binary_and_non_utf8_bytes_are_refused_with_their_line(tmp_path, data, line, words):
    path = tmp_path / "f.yaml"
    path.write_bytes(data)
    with pytest.raises(YamlSyntaxError) as caught:
        read_yaml(path)
    assert caught.value.line == line and words in caught.value.message


def test_duplicate_keys_name_both_lines():
    error = parse_error("rules:\n  - id: a\n    when: {}\n    when: {profile.sites: 1}\n")
    assert error.line == 4
    assert error.message == ('YAML syntax: found duplicate key "when" (first at line 3); each key '
                             'may appear once in a mapping')


def test_very_long_lines_and_keys():
    assert len(plain(parse_yaml("description: " + "x" * 1_500_000))["description"]) == 1_500_000
    error = parse_error("k" * 2000 + ": 1\n")
    assert error.line == 1 and "a key may be at most 1,024 characters long" in error.message
    error = parse_error("a: 1\n" + "k" * 200_000 + "\nb: 2\n")
    assert error.line == 3 and len(error.message) < 1000


def test_huge_numbers_are_refused_instead_of_raising():
    for text in ("a: " + "9" * 5000, "a: [1, -" + "9" * 5000 + "]", "a: 0x" + "f" * 200):
        error = parse_error(text)
        assert "numbers in content files have at most 100" in error.message


def test_numbers_that_are_not_usable_in_actions_or_prices_are_refused(tmp_path):
    catalog = {"catalog/c.yaml": """
        family: c
        title: C
        modules:
          - {id: m, name: M, kind: software, description: M,
             price: {amount: 1e300, currency: USD, per: unit, billing: one_time}}
        """}
    rules = {"r.yaml": """
        ruleset: r
        stage: pricing
        rules:
          - id: nan-discount
            then: [{discount: {percent: .nan, applies_to: total}}]
          - id: huge-amount
            then: [{discount: {amount: 1e308, applies_to: total}}]
          - id: divide
            then: [{surcharge: {percent: "1 / 0", applies_to: total}}]
          - id: derive-inf
            then: [{derive: {x: .inf}}]
        """}
    found = pack_errors(write_pack(tmp_path, rules, catalog=catalog))
    assert [e.split("\n")[0] for e in found] == [
        "catalog/c.yaml:5: error: price amount of `m` must be below 1,000,000,000,000, not 1e+300",
        "rules/r.yaml:5: error: `nan` is not a usable number: it must be finite and smaller than "
        "1e+12",
        "rules/r.yaml:7: error: `1e+308` is not a usable number: it must be finite and smaller "
        "than 1e+12",
        "rules/r.yaml:9: error: `1 / 0` divides by zero",
        "rules/r.yaml:11: error: derived `x: inf` is not a number the rules engine can compare"]


def test_messages_never_quote_a_whole_hostile_value(tmp_path):
    stage = "k" * 500_000
    root = write_pack(tmp_path, {"r.yaml": f"ruleset: r\nstage: {stage}\nrules: []\n"})
    found = pack_errors(root)
    assert len(found) == 1 and len(found[0]) < 2_500 and "characters)" in found[0]


# --- 7. YAML the reader does not take on ---------------------------------------------------------
# Content never needs directives, a list or mapping as a key, a date with a time or a plain `=` or
# `<<`; each is refused with its line and how to write it instead (there is no second reader).

DIRECTIVE = ("YAML directives (`%YAML`, `%TAG`) are not supported in content files: they are read "
             "as YAML 1.2; remove the line")
COMPLEX_KEY = ("a list or mapping used as a key (`? [a, b]` or `{[a, b]: c}`) is not supported; "
               "keys are plain values: write the key as text")


@pytest.mark.parametrize("text, line", [
    ("%YAML 1.1\n---\ncountry: NO\n", 1),                  # would make Norway false
    ("# yaml-language-server: $schema=x\n\n  # a comment\n%YAML 1.2\n---\na: 1\n", 4),
    ("%TAG !e! tag:example.com,2026:\n---\na: !e!x 1\n", 1),
    ("\ufeff%ANY directive\n---\na: 1\n", 1),
    ("# a comment\r\n\r\n%YAML 1.2\r\n---\r\na: 1\r\n", 3),
])
def test_yaml_directives_are_refused_at_their_line(text, line):
    error = parse_error(text)
    assert (error.line, error.message) == (line, DIRECTIVE)


def test_a_percent_sign_starting_a_line_inside_a_value_is_not_a_directive():
    assert plain(parse_yaml('a: "50\n%off"\nb: |\n  %d items\n')) == {"a": "50 %off",
                                                                     "b": "%d items\n"}


def test_a_directive_in_a_rule_file_stops_the_pack_naming_the_file_and_line(tmp_path):
    root = write_pack(tmp_path, {"r.yaml": "# rules\n%YAML 1.1\n---\n" + RULES["r.yaml"]})
    assert pack_errors(root) == [
        f"rules/r.yaml:2: error: {DIRECTIVE}\n    fix: fix the YAML syntax at this line"]


@pytest.mark.parametrize("text, line", [
    ("? [a, b]\n: c\n", 1),
    ("x: 1\n[a]: 1\n", 2),
    ("x:\n  {[a]: 1}\n", 2),
    ("x:\n  y: 1\n  ? {a: 1}\n  : 2\n", 3),
])
def test_a_list_or_mapping_as_a_key_is_refused_at_its_line(text, line):
    error = parse_error(text)
    assert (error.line, error.message) == (line, COMPLEX_KEY)


def test_an_explicit_key_that_is_plain_text_is_fine():
    assert plain(parse_yaml("? a\n: b\n")) == {"a": "b"}


@pytest.mark.parametrize("text, line, message", [
    ("effective:\n  from: 2026-01-31T10:00:00Z\n", 2,
     "`2026-01-31T10:00:00Z` is a date with a time, which content files do not take; write the "
     "date alone (2026-01-31), or quote the value to keep it as text"),
    ("d: [2026-01-31, 2026-1-5 10:00:00]\n", 1,
     "`2026-1-5 10:00:00` is a date with a time, which content files do not take; write the "
     "date alone (2026-01-31), or quote the value to keep it as text"),
    ("effective: {from: 2026-02-30}\n", 1,
     "`2026-02-30` is not a date (day is out of range for month); write a real date, or quote it "
     "to keep it as text"),
    ("a: 1\nb: 0x_\n", 2, "`0x_` is read as a number but has no digits; quote it to keep it as text"),
    ("a: -_\n", 1, "`-_` is read as a number but has no digits; quote it to keep it as text"),
    ("a: [1,\n  ._]\n", 2, "`._` is read as a number but has no digits; quote it to keep it as text"),
    ("op: =\n", 1, 'a plain `=` has a meaning of its own in YAML; quote it ("=") to write it as text'),
    ("a:\n  - <<\n", 2,
     'a plain `<<` has a meaning of its own in YAML; quote it ("<<") to write it as text'),
])
def test_values_the_reader_does_not_take_are_refused_at_their_line(text, line, message):
    error = parse_error(text)
    assert (error.line, error.message) == (line, message)


def test_quoted_they_are_text_and_a_date_alone_is_a_date():
    assert plain(parse_yaml("a: '2026-01-31T10:00:00Z'\nb: '2026-02-30'\nc: '0x_'\nd: '='\n"
                            "e: \"<<\"\nf: 2026-01-31\n")) == {
        "a": "2026-01-31T10:00:00Z", "b": "2026-02-30", "c": "0x_", "d": "=", "e": "<<",
        "f": "2026-01-31"}


def test_a_date_that_does_not_exist_stops_the_pack_naming_the_file_and_line(tmp_path):
    # it used to escape the reader as a ValueError
    root = write_pack(tmp_path, {"r.yaml": """
        ruleset: r
        stage: segment
        rules:
          - id: big-account
            effective: {from: 2026-02-30}
            when: {profile.sites: {gte: 5}}
            then: [{derive: {tier: key}}]
        """})
    assert pack_errors(root) == [
        "rules/r.yaml:5: error: `2026-02-30` is not a date (day is out of range for month); write "
        "a real date, or quote it to keep it as text\n    fix: fix the YAML syntax at this line"]


def test_yaml_1_2_words_stay_text_and_numbers_read_as_yaml_1_2_reads_them():
    values = plain(parse_yaml("[on, off, yes, no, NO, y, n, Off, YES, true, False, TRUE, ~, null, "
                              "'', 017, 0o17, 0x1F, -0b101, 1_000, 1e3, .5, .5e3, 1:30, -.inf, _1]"))
    assert [(type(v), v) for v in values] == [(type(v), v) for v in [
        "on", "off", "yes", "no", "NO", "y", "n", "Off", "YES", True, False, True, None, None,
        "", 17, 15, 31, -5, 1000, 1000.0, 0.5, ".5e3", "1:30", float("-inf"), "_1"]]


# --- serving content is never replaced by hostile content ---------------------------------------

HOSTILE_FILES = {
    "rules/lol.yaml": LAUGHS,
    "catalog/tag.yaml": "family: t\ntitle: !!python/object/apply:os.system [id]\nmodules: []\n",
    "rules/deep.yaml": "ruleset: d\nrules: " + "[" * 5000,
    "rules/nul.yaml": "ruleset: n\x00\n",
    "rules/regex.yaml": "ruleset: x\nstage: segment\nrules:\n  - id: x\n    when: {profile.country:"
                        " {matches: 'b?(a|)*'}}\n    then: [{warn: w}]\n",
    "proposals/standard/messages/en.yaml": "a: &a [1]\nb: *a\n",
}


def test_a_hostile_file_dropped_into_a_serving_pack_leaves_the_served_version_unchanged(tmp_path):
    root = demo_copy(tmp_path)
    content = Content(root, trial=False)
    assert content.load().ok
    good = content.pack.version
    for rel, text in HOSTILE_FILES.items():
        path = root / rel
        before = path.read_bytes() if path.exists() else None
        path.write_bytes(text.encode("utf-8"))
        status = content.load()
        assert not status.ok, rel
        assert status.version == good and content.pack.version == good
        assert any(p.file == rel for p in status.problems), (rel, status.problems)
        if before is None:
            path.unlink()
        else:
            path.write_bytes(before)
    big = root / "rules" / "big.yaml"
    with big.open("wb") as handle:
        handle.truncate(MAX_FILE_BYTES + 1)
    status = content.load()
    assert not status.ok and content.pack.version == good
    big.unlink()
    (root / "catalog" / "out.yaml").symlink_to("/etc/hostname")
    status = content.load()
    assert not status.ok and content.pack.version == good
    (root / "catalog" / "out.yaml").unlink()
    assert content.load().ok and content.pack.version == good
