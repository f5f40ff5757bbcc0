"""What the faster content load keeps to: the YAML reader's values and lines, the tests a
compiled condition notes while it is built, and the parse caches, each against the plain way."""
from __future__ import annotations

import random

import pytest

from configurator.content import model
from configurator.content.yamlfile import item_lines, key_lines, line_of, parse_yaml, plain
from configurator.engine.compile import (Compiled, FlagRegistry, NotCompilable, _collect,
                                         _comparisons, compile_condition)

YAML = """\
# a comment
ruleset: "r"
stage: solution
rules:
  - id: a
    when: {profile.sites: {gte: 5, lt: 10}, profile.country: NO, "quoted": 'x'}
    then:
      - include: m
        quantity: profile.sites * 2
      - {warn: "w", reason: yes}
  - id: b
    priority: 0x1f
    when:
      any:
        - profile.industry: {in: [food, on, off, ~, null, 1.5e3, .inf, 2026-01-31]}
        - not: {profile.needs: {contains: cold-chain}}
    then: [{derive: {tier: key, n: -0o17, b: True, t: "2026-01-31"}}]
  - plain scalar
  - [nested, [list, {k: v}]]
"""


def _lines(doc):
    """Every line the reader records, by where it is in the document."""
    out = []
    if isinstance(doc, dict):
        out.append(("map", line_of(doc)))
        for key, value in doc.items():
            out.append((repr(key), line_of(doc, key), key_lines(doc).get(key)))
            out += _lines(value)
    elif isinstance(doc, list):
        out.append(("seq", line_of(doc)))
        for index, value in enumerate(doc):
            out.append((index, line_of(doc, index), item_lines(doc)[index]))
            out += _lines(value)
    return out


def test_the_reader_gives_yaml_1_2_values_and_the_line_of_every_key_and_item():
    doc = parse_yaml(YAML)
    assert plain(doc) == {"ruleset": "r", "stage": "solution", "rules": [
        {"id": "a",
         "when": {"profile.sites": {"gte": 5, "lt": 10}, "profile.country": "NO", "quoted": "x"},
         "then": [{"include": "m", "quantity": "profile.sites * 2"},
                  {"warn": "w", "reason": "yes"}]},
        {"id": "b", "priority": 31,
         "when": {"any": [
             {"profile.industry": {"in": ["food", "on", "off", None, None, 1500.0, float("inf"),
                                          "2026-01-31"]}},
             {"not": {"profile.needs": {"contains": "cold-chain"}}}]},
         "then": [{"derive": {"tier": "key", "n": -15, "b": True, "t": "2026-01-31"}}]},
        "plain scalar",
        ["nested", ["list", {"k": "v"}]]]}
    derive = plain(doc)["rules"][1]["then"][0]["derive"]
    assert [type(v) for v in derive.values()] == [str, int, bool, str]
    industries = plain(doc)["rules"][1]["when"]["any"][0]["profile.industry"]["in"]
    assert [type(v) for v in industries] == [str, str, str, type(None), type(None), float, float,
                                             str]
    assert _lines(doc)[:5] == [("map", 2), ("'ruleset'", 2, 2), ("'stage'", 3, 3),
                               ("'rules'", 4, 4), ("seq", 5)]
    rules = doc["rules"]
    assert item_lines(rules) == [5, 11, 18, 19] and line_of(rules, 1) == 11
    assert key_lines(rules[0]) == {"id": 5, "when": 6, "then": 7}
    assert key_lines(rules[1]) == {"id": 11, "priority": 12, "when": 13, "then": 17}
    assert line_of(rules[1]["when"]) == 14 and line_of(rules[1]["when"]["any"]) == 15
    assert item_lines(rules[1]["when"]["any"]) == [15, 16]
    assert item_lines(rules[0]["then"]) == [8, 10] and line_of(rules[0]["then"][0], "quantity") == 9
    assert None not in [line for where in _lines(doc) for line in where[1:]]   # every one known
    assert line_of(doc, "missing") is None and line_of(doc["rules"], 99) is None
    assert line_of(doc["rules"], -1) is None and line_of({"a": 1}, "a") is None


def test_items_of_a_flow_list_over_several_lines_have_their_own_lines():
    doc = parse_yaml("a: [x,\n  y,\n\n  {k: 1,\n   j: 2}]\n")
    assert item_lines(doc["a"]) == [1, 2, 4] and key_lines(doc["a"][2]) == {"k": 4, "j": 5}


@pytest.mark.parametrize("text, value", [
    ("hello", "hello"), ("'quoted'", "quoted"), ("12", 12), ("~", None), ("", None), ("NO", "NO"),
    ("2026-01-31", "2026-01-31")])
def test_a_file_of_one_scalar(text, value):
    assert plain(parse_yaml(text)) == value and type(plain(parse_yaml(text))) is type(value)


def test_an_explicit_tag_named_like_the_readers_markers_is_refused():
    from configurator.content.yamlfile import YamlSyntaxError
    for text in ("a: !plain 5", "a: !text x", "a: !map {b: 1}", "a: !seq [1]"):
        with pytest.raises(YamlSyntaxError, match="tags"):
            parse_yaml(text)


# --- compiled conditions note their tests -------------------------------------------------------

def _random_condition(rng: random.Random, depth: int = 0):
    roll = rng.random()
    if depth > 3 or roll < 0.5:
        op = rng.choice(["eq", "ne", "lt", "lte", "gt", "gte", "in", "not_in", "contains",
                         "contains_any", "contains_all", "matches", "exists"])
        path = rng.choice(["profile.a", "profile.b", "derived.c", "solution.modules"])
        value = {"in": ["x", "y"], "not_in": ["x"], "contains_any": ["p", "q"],
                 "contains_all": ["p"], "exists": rng.random() < 0.5, "matches": "a.c",
                 "lt": 3, "gte": 2.5}.get(op, rng.choice(["x", 1, True]))
        return model.Test(path, op, value)
    if roll < 0.65:
        return model.Not(_random_condition(rng, depth + 1))
    items = tuple(_random_condition(rng, depth + 1) for _ in range(rng.randint(0, 3)))
    return model.AllOf(items) if roll < 0.85 else model.AnyOf(items)


def test_a_compiled_condition_notes_exactly_the_tests_a_walk_finds():
    rng = random.Random(7)
    checked = 0
    for _ in range(3000):
        cond = _random_condition(rng)
        try:
            compiled = compile_condition(cond, FlagRegistry())
        except NotCompilable:
            continue
        walked: list = []
        _collect(compiled, walked)
        assert isinstance(compiled, Compiled) and compiled.comparisons == walked, cond
        assert _comparisons(compiled) is compiled.comparisons
        assert _comparisons(dict(compiled)) == walked          # a plain dict is walked
        checked += 1
    assert checked > 2000


def test_flags_are_numbered_as_before_also_when_a_negation_is_refused():
    flags = FlagRegistry()
    with pytest.raises(NotCompilable):
        compile_condition(model.Not(model.Test("profile.a", "matches", "a.")), flags)
    compile_condition(model.Not(model.Test("profile.b", "eq", "x")), flags)
    assert flags.flags == {"profile.a": "f0", "profile.b": "f1"}


# --- parsed once: shared expressions and templates, the same problems ---------------------------

def test_repeated_quantities_and_reasons_are_parsed_once_and_still_reported_per_line():
    from configurator.content.problems import ProblemLog
    from configurator.content.rule_actions import _expression, _template

    log = ProblemLog("rules/r.yaml")
    first, second = _expression("profile.sites * 2", log, 3), _expression("profile.sites * 2", log, 9)
    assert first is second and not log.problems
    one, two = _template("at {profile.sites} sites", log, 4), _template("at {profile.sites} sites",
                                                                         log, 5)
    assert one is two
    _expression("1 +", log, 11)
    _expression("1 +", log, 12)
    _template("bad {1 +}", log, 13)
    _template("bad {1 +}", log, 14)
    assert [p.line for p in log.problems] == [11, 12, 13, 14]
    assert _expression(True, log, 20).source == "0" and log.problems[-1].line == 20   # not 1
    long = "x" * 600
    assert _template(long, log, 21).source == long


def test_identical_conditions_are_counted_whole_and_reported_in_rule_order():
    from configurator.engine.limits import MAX_IDENTICAL_CONDITIONS, limit_problems

    def rule(i: int, cond) -> model.Rule:
        return model.Rule(f"r{i}", "s", "segment", "", 0, cond, (), "rules/s.yaml", i + 1, i)

    same_shape = [model.AllOf((model.Test("profile.a", "eq", "x"), model.Test("profile.b", "gt", n)))
                  for n in (1, 2)]                      # same tests and ops, other values
    anyway = model.AnyOf((model.Test("profile.a", "eq", "x"), model.Test("profile.b", "gt", 1)))
    rules, conds = [], [same_shape[1]] * 3 + [anyway] * 300 + [same_shape[0]] * 260 + \
        [same_shape[1]] * 255 + [model.Test("profile.c", "eq", "y")] * 10
    rules = [rule(i, c) for i, c in enumerate(conds)]
    flags = FlagRegistry()
    compiled = {r.id: compile_condition(r.when, flags) for r in rules}
    found = [p for p in limit_problems("segment", rules, compiled, flags)
             if "exactly the same `when`" in p.message]
    assert [(p.line, p.message.split(" rules")[0]) for p in found] == \
        [(1, "258"), (4, "300"), (304, "260")]
    assert MAX_IDENTICAL_CONDITIONS == 250
