"""Property tests of the pipeline (Hypothesis), on the demo content pack.

Profiles are generated from the profile declaration itself (`rules/profile.yaml`, parsed into a
ProfileSpec), so the strategies follow every declared field: its type, bounds, vocabulary,
nested objects and lists, `max_length` and `max_items`, required or optional (and then often
left out), with the edge values drawn more often than chance would. The properties:

- any profile that validates configures without error, with any valid adjustments;
- the document is deterministic: the same input gives the identical document, also when other
  evaluations run in between and on a second, separately compiled pipeline;
- money adds up exactly (Decimal): each line's list total and total, the discount percent from
  its discounts and surcharges, and the totals `one_time`, `monthly`, `yearly`,
  `annual_recurring` and `first_year` from the lines;
- a profile broken in one place (missing, wrong type, out of range, not in the vocabulary, too
  long, unknown field, not an object) is refused with ProfileInvalid naming that field's path,
  never any other exception.

The demo declaration has no boolean or date field, so the validation properties also run on a
declaration (`ALL_TYPES`) that uses every field type and key.
"""
from __future__ import annotations

import copy
import datetime as dt
import json
import math
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from configurator.content.iso import CODE_SETS
from configurator.content.problems import ProblemLog
from configurator.content.profile import (DEFAULT_MAX_ITEMS, DEFAULT_MAX_LENGTH, TYPES,
                                          FieldSpec, ProfileInvalid, ProfileSpec,
                                          parse_profile_spec)
from configurator.content.adjustments import MAX_QUANTITY, parse_adjustments
from configurator.content.regex import python_pattern
from configurator.engine.pipeline import Pipeline
from configurator.services.configurations import configure
from configurator.services.content import Content

# Numbers a profile may hold at all (ProfileSpec's own bound, beyond any declared min/max).
LIMIT = 10 ** 15
DAY = "2025-06-30"          # the day determinism runs are computed for
CENT = Decimal("0.01")
DOCUMENT_KEYS = {"status", "content_version", "as_of", "derived", "lines", "recommendations",
                 "exclusions", "approvals", "service_level", "team", "notes", "warnings",
                 "conflicts", "totals", "fired"}
LINE_KEYS = {"module", "name", "family", "kind", "quantity", "per", "unit_price", "billing",
             "discount_percent", "list_total", "total", "reasons", "discounts"}
TOTAL_KEYS = {"one_time", "monthly", "yearly", "annual_recurring", "first_year", "currency"}

FAST = settings(max_examples=120, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
LONG = settings(FAST, max_examples=500)

# A declaration with every field type and key, for the validation properties.
ALL_TYPES = {"fields": {
    "name": {"type": "string", "required": True, "max_length": 40},
    "kind": {"type": "enum", "values": ["a", "b-c", "NO"], "required": True},
    "active": {"type": "boolean"},
    "founded": {"type": "date", "required": True},
    "renewal": {"type": "date"},
    "headcount": {"type": "integer", "min": 1, "max": 100000, "required": True},
    "offset": {"type": "integer"},
    "ratio": {"type": "number", "min": -1.5, "max": 2.5},
    "revenue": {"type": "number", "min": 0},
    "tags": {"type": "list", "items": {"type": "string", "max_length": 8}, "max_items": 4},
    "regions": {"type": "list", "items": {"type": "enum", "values": ["x", "y"]}, "default": []},
    "hosting": {"type": "enum", "values": ["cloud", "edge"], "default": "cloud"},
    "home": {"type": "country", "required": True},
    "billing": {"type": "currency", "default": "EUR"},
    "offices": {"type": "list", "items": {"type": "country"}, "max_items": 5},
    "code": {"type": "string", "pattern": "[A-Z]{2}-[0-9]{3}(/[a-z]+)?", "max_length": 20},
    "scores": {"type": "object", "required": True, "fields": {
        "loyalty": {"type": "integer", "min": 1, "max": 5, "required": True},
        "note": {"type": "string"},
        "flags": {"type": "object", "fields": {"vip": {"type": "boolean", "required": True}}},
    }},
    "contacts": {"type": "list", "max_items": 3, "items": {"type": "object", "fields": {
        "name": {"type": "string", "required": True},
        "since": {"type": "date"},
        "weight": {"type": "number", "min": 0, "max": 1},
    }}},
}}


def _all_types_spec() -> ProfileSpec:
    log = ProblemLog("all-types.yaml")
    spec = parse_profile_spec(ALL_TYPES, log)
    assert spec is not None and not log.problems, log.problems
    return spec


# --- valid values, from a declaration ---------------------------------------------------------

def _text(spec: FieldSpec, min_size: int) -> st.SearchStrategy[str]:
    longest = spec.max_length
    edges = [st.just("x" * longest), st.just("é" * longest)] if longest <= 10_000 else []
    storable = st.characters(codec="utf-8", exclude_characters="\x00")  # no NUL, no surrogate
    return st.one_of(st.text(storable, min_size=min_size, max_size=min(longest, 30)), *edges)


def _bounds(spec: FieldSpec) -> tuple[float, float]:
    low = -LIMIT if spec.min is None else max(spec.min, -LIMIT)
    high = LIMIT if spec.max is None else min(spec.max, LIMIT)
    return low, high


def _matching(spec: FieldSpec) -> st.SearchStrategy[str]:
    """Texts of a `pattern` field: Python's reading of the pattern over printable ASCII (where
    it means what the automaton means), kept when the automaton agrees."""
    matcher = python_pattern(spec.pattern)
    ascii_ = st.characters(min_codepoint=32, max_codepoint=126)
    return st.from_regex(spec.pattern, fullmatch=True, alphabet=ascii_).filter(
        lambda text: len(text) <= spec.max_length and bool(matcher.fullmatch(text)))


def value_of(spec: FieldSpec) -> st.SearchStrategy[Any]:
    """Values that `spec` accepts, as JSON would carry them (dates as ISO text)."""
    if spec.type == "string" and spec.pattern:
        return _matching(spec)
    if spec.type == "string":
        return _text(spec, 1 if spec.required else 0)
    if spec.type in CODE_SETS:
        return st.sampled_from(sorted(CODE_SETS[spec.type].names))
    if spec.type == "enum":
        return st.sampled_from(spec.values)
    if spec.type == "integer":
        low, high = _bounds(spec)
        low, high = math.ceil(low), math.floor(high)
        return st.one_of(st.sampled_from(sorted({low, high, min(max(0, low), high)})),
                         st.integers(low, high))
    if spec.type == "number":
        low, high = _bounds(spec)
        return st.one_of(st.sampled_from(sorted({low, high})),
                         st.integers(math.ceil(low), math.floor(high)),
                         st.floats(low, high, allow_nan=False, allow_infinity=False))
    if spec.type == "boolean":
        return st.booleans()
    if spec.type == "date":
        return st.dates(dt.date(1, 1, 1), dt.date(9999, 12, 31)).map(dt.date.isoformat)
    if spec.type == "list":
        assert spec.items is not None
        items = value_of(spec.items)
        full = items.map(lambda item: copies(item, spec.max_items))   # the longest allowed
        return st.one_of(st.lists(items, max_size=min(spec.max_items, 6)), full)
    if spec.type == "object":
        return object_of(spec.fields)
    raise AssertionError(spec.type)


def copies(item: Any, count: int) -> list:
    """`count` independent copies of `item` (a broken profile changes one of them)."""
    return [copy.deepcopy(item) for _ in range(count)]


def object_of(fields: dict[str, FieldSpec]) -> st.SearchStrategy[dict]:
    """Objects with every required field and any of the optional ones."""
    return st.fixed_dictionaries(
        {name: value_of(f) for name, f in fields.items() if f.required},
        optional={name: value_of(f) for name, f in fields.items() if not f.required})


def profiles(spec: ProfileSpec) -> st.SearchStrategy[dict]:
    return object_of(spec.fields)


def adjustments(content: Content) -> st.SearchStrategy[list[dict]]:
    """Valid adjustments for the served catalog (every action, edge quantities and percents)."""
    catalog = content.pack.catalog
    modules = st.sampled_from(sorted(catalog.modules))
    quantity = st.one_of(st.sampled_from([0, 1, MAX_QUANTITY]), st.integers(0, 500))
    percent = st.one_of(st.sampled_from([100, 0.01, 12.5, "33.3333"]),
                        st.floats(0.0001, 100, allow_nan=False), st.integers(1, 100))
    targets = st.one_of(modules, st.just("total"),
                        st.sampled_from([f"family:{f}" for f in sorted(catalog.families)]))
    words = st.text(max_size=20)
    common = {"reason": words, "by": st.text(max_size=10)}
    one = st.one_of(
        st.fixed_dictionaries({"action": st.just("accept"), "module": modules}, optional=common),
        st.fixed_dictionaries({"action": st.just("remove"), "module": modules}, optional=common),
        st.fixed_dictionaries({"action": st.just("add"), "module": modules},
                              optional={"quantity": quantity, **common}),
        st.fixed_dictionaries({"action": st.just("quantity"), "module": modules,
                               "quantity": quantity}, optional=common),
        st.fixed_dictionaries({"action": st.just("discount"), "percent": percent},
                              optional={"applies_to": targets, **common}),
    )
    return st.lists(one, max_size=6)


# --- invalid profiles: one thing broken, and the path that must be named ----------------------

def _fields_at(spec: ProfileSpec, path: list[str]) -> dict[str, FieldSpec]:
    scope = spec.fields
    for part in path:
        if part.isdigit():
            continue
        node = scope[part]
        scope = node.items.fields if node.type == "list" else node.fields
    return scope


def _wrong_type(spec: FieldSpec) -> st.SearchStrategy[Any]:
    """A value of another JSON type than `spec` takes."""
    if spec.type in ("string", "enum", "date", "country", "currency"):
        return st.one_of(st.integers(), st.booleans(), st.just([]), st.just({}))
    if spec.type == "integer":
        return st.one_of(st.text(), st.booleans(), st.just(1.5), st.just([1]))
    if spec.type == "number":
        return st.one_of(st.just("12,5"), st.just([]), st.just({}), st.just(float("nan")),
                         st.just(float("inf")))
    if spec.type == "boolean":
        return st.one_of(st.just([True]), st.just({}), st.just("maybe"), st.just(2))
    if spec.type == "list":
        return st.one_of(st.text(min_size=1), st.integers(), st.just({}))
    return st.one_of(st.text(), st.integers(), st.just([]), st.just([{}]))


def _invalid_values(spec: FieldSpec) -> st.SearchStrategy[Any]:
    """Values that break `spec` (its type, bounds, vocabulary or size)."""
    options = [_wrong_type(spec), st.just(None)]
    if spec.type in ("integer", "number"):
        low, high = _bounds(spec)
        step = 1 if spec.type == "integer" else 0.001
        if spec.min is not None and spec.min > -LIMIT:
            options.append(st.just(math.ceil(low) - 1 if step == 1 else low - step))
        if spec.max is not None and spec.max < LIMIT:
            options.append(st.just(math.floor(high) + 1 if step == 1 else high + step))
        options.append(st.just(LIMIT * 10))
    if spec.type == "enum":
        options.append(st.text(max_size=12).filter(lambda v: v not in spec.values))
    if spec.type in CODE_SETS:
        codes = CODE_SETS[spec.type]
        options.append(st.one_of(
            st.sampled_from(sorted(codes.names)).flatmap(lambda c: st.sampled_from(
                [c.lower(), f" {c}", f"{c} ", codes.name(c)])),      # what people type
            st.text(max_size=12)).filter(lambda v: not codes.valid(v)))
    if spec.type == "string" and spec.pattern:
        matcher = python_pattern(spec.pattern)
        options.append(st.text(min_size=1, max_size=12).filter(
            lambda v: not matcher.fullmatch(v)))
    if spec.type == "string":
        options.append(st.just("x" * (spec.max_length + 1)))
        if spec.required:
            options.append(st.just(""))
    if spec.type == "date":
        options.append(st.sampled_from(["2024-02-30", "30.06.2025", "tomorrow", "2024-13-01"]))
    if spec.type == "list":
        assert spec.items is not None
        options.append(value_of(spec.items).map(lambda item: copies(item, spec.max_items + 1)))
    return st.one_of(options)


@st.composite
def broken_profiles(draw: st.DrawFn, spec: ProfileSpec) -> tuple[Any, str]:
    """(a profile broken in one place, the dotted path the refusal must name)."""
    profile = draw(profiles(spec))
    kind = draw(st.sampled_from(["value", "missing", "unknown", "not-an-object"]))
    if kind == "not-an-object":
        return draw(st.one_of(st.lists(st.integers(), max_size=2), st.text(), st.none(),
                              st.integers())), "_profile"
    # walk into the generated profile: objects, and items of lists of objects
    path: list[str] = []
    node: dict = profile
    while True:
        fields = _fields_at(spec, path)
        nested = [name for name, f in fields.items() if name in node and (
            f.type == "object" or (f.type == "list" and f.items.type == "object" and node[name]))]
        if not nested or not draw(st.booleans()):
            break
        name = draw(st.sampled_from(nested))
        if fields[name].type == "object":
            path, node = path + [name], node[name]
        else:
            index = draw(st.integers(0, len(node[name]) - 1))
            path, node = path + [name, str(index)], node[name][index]
    fields = _fields_at(spec, path)
    if kind == "missing":
        required = [name for name, f in fields.items() if f.required]
        if required:
            name = draw(st.sampled_from(required))
            node.pop(name, None)
            return profile, ".".join(path + [name])
        kind = "unknown"
    if kind == "unknown":
        name = draw(st.text(min_size=1, max_size=10).filter(lambda n: n not in fields))
        node[name] = draw(st.one_of(st.integers(), st.text()))
        return profile, ".".join(path + [name])
    name = draw(st.sampled_from(sorted(fields)))
    node[name] = draw(_invalid_values(fields[name]))
    return profile, ".".join(path + [name])


# --- money ------------------------------------------------------------------------------------

def money(value: Any) -> Decimal:
    """A reported amount as the exact decimal it stands for."""
    assert isinstance(value, (int, float)) and not isinstance(value, bool), value
    amount = Decimal(str(value))
    assert amount == amount.quantize(CENT), f"{value} is not rounded to cents"
    return amount


def cents(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def assert_money_adds_up(document: dict, content: Content) -> None:
    catalog = content.pack.catalog
    sums = {"one_time": Decimal(0), "monthly": Decimal(0), "yearly": Decimal(0)}
    for line in document["lines"]:
        assert set(line) == LINE_KEYS, line
        module = catalog.modules[line["module"]]
        price = module.price
        quantity = line["quantity"]
        assert isinstance(quantity, int) and 1 <= quantity <= MAX_QUANTITY, line
        assert (line["family"], line["kind"], line["billing"], line["per"]) == \
            (module.family, module.kind, price.billing, price.per)
        assert Decimal(str(line["unit_price"])) == price.amount
        list_total = money(line["list_total"])
        assert list_total == cents(quantity * price.amount), line
        # the percent is reported rounded to cents; the total was computed with the exact one
        percent = Decimal(str(line["discount_percent"]))
        assert percent <= 100, line
        signed = sum((Decimal(str(d["percent"])) * (1 if d["kind"] == "discount" else -1)
                      for d in line["discounts"]), Decimal(0))
        slack = Decimal("0.005") * (len(line["discounts"]) + 1)
        assert abs(min(signed, Decimal(100)) - percent) <= slack, line
        total = money(line["total"])
        if not line["discounts"]:
            assert percent == 0 and total == list_total, line
        expected = quantity * price.amount * (1 - percent / 100)
        assert abs(total - expected) <= quantity * price.amount * Decimal("0.00005") + CENT, line
        assert total >= 0
        assert line["reasons"], line
        sums[line["billing"]] += total
    totals = document["totals"]
    assert set(totals) == TOTAL_KEYS
    assert totals["currency"] == catalog.currency
    for key, amount in sums.items():
        assert money(totals[key]) == amount, (key, totals[key], amount)
    annual = 12 * sums["monthly"] + sums["yearly"]
    assert money(totals["annual_recurring"]) == annual
    assert money(totals["first_year"]) == sums["one_time"] + annual


def assert_document_is_whole(document: dict, content: Content) -> None:
    assert set(document) == DOCUMENT_KEYS
    assert document["status"] in ("ok", "approval_required", "conflict")
    assert (document["status"] == "conflict") == bool(document["conflicts"])
    if document["status"] == "ok":
        assert not document["approvals"]
    assert document["content_version"] == content.pack.version
    lines = {line["module"] for line in document["lines"]}
    assert len(lines) == len(document["lines"]), "a module is on two lines"
    assert not lines & {e["module"] for e in document["exclusions"]}
    assert not lines & {r["module"] for r in document["recommendations"]}
    # what is stored and served as JSON: no NaN, no Decimal, the same after a round trip
    assert json.loads(json.dumps(document, allow_nan=False)) == document


# --- fixtures ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def second_pipeline(content: Content):
    """The same pack compiled a second time: its own rulesets in the engine."""
    pipeline = Pipeline(content.pack)
    yield pipeline
    pipeline.close()


def _configure_on(pipeline: Pipeline, profile: dict, changes: list) -> dict:
    clean = pipeline.pack.profile.validate(profile)
    return pipeline.configure(clean, parse_adjustments(changes, pipeline.pack.catalog), on=DAY)


# --- the properties ---------------------------------------------------------------------------

def test_the_strategies_cover_every_field_type(content: Content) -> None:
    """Between the demo declaration and ALL_TYPES every type, and every key that shapes values,
    is generated."""
    seen: set[str] = set()
    keys: set[str] = set()

    def walk(fields: dict[str, FieldSpec]) -> None:
        for f in fields.values():
            seen.add(f.type)
            keys.update(k for k in ("min", "max", "values", "default", "pattern")
                        if getattr(f, k) not in (None, (), ""))
            keys.update(k for k, usual in (("max_length", DEFAULT_MAX_LENGTH),
                                           ("max_items", DEFAULT_MAX_ITEMS))
                        if getattr(f, k) != usual)
            keys.update(["required"] if f.required else [])
            if f.items:
                walk({f.items.name: f.items})
            walk(f.fields)

    walk(content.pack.profile.fields)
    walk(_all_types_spec().fields)
    assert seen == set(TYPES)
    assert keys == {"min", "max", "values", "default", "max_length", "max_items", "required",
                    "pattern"}


def _configures(content: Content, profile: dict, changes: list) -> None:
    document = configure(content, profile, changes)
    assert_document_is_whole(document, content)
    assert_money_adds_up(document, content)


def test_any_valid_profile_configures(content: Content) -> None:
    @FAST
    @given(profile=profiles(content.pack.profile), changes=adjustments(content))
    def run(profile: dict, changes: list) -> None:
        _configures(content, profile, changes)
    run()


@pytest.mark.slow
def test_any_valid_profile_configures_long(content: Content) -> None:
    @LONG
    @given(profile=profiles(content.pack.profile), changes=adjustments(content))
    def run(profile: dict, changes: list) -> None:
        _configures(content, profile, changes)
    run()


def test_example_customers_with_random_adjustments_add_up(content: Content,
                                                          example_profiles: list[dict]) -> None:
    """The example customers reach far more rules than random profiles do: their documents,
    adjusted at random, add up too."""
    @FAST
    @given(example=st.sampled_from(example_profiles), changes=adjustments(content))
    def run(example: dict, changes: list) -> None:
        _configures(content, example["profile"], example["adjustments"] + changes)
    run()


def _deterministic(content: Content, second: Pipeline, profile: dict, changes: list,
                   other: dict) -> None:
    first = _configure_on(content.pipeline, profile, changes)
    _configure_on(content.pipeline, other, [])            # another evaluation in between
    again = _configure_on(content.pipeline, profile, changes)
    elsewhere = _configure_on(second, profile, changes)
    assert again == first
    assert json.dumps(again) == json.dumps(first)          # the same order of keys and items
    assert elsewhere == first


def test_the_document_is_deterministic(content: Content, second_pipeline: Pipeline,
                                       example_profiles: list[dict]) -> None:
    spec = content.pack.profile
    examples = [example["profile"] for example in example_profiles]
    any_profile = st.one_of(profiles(spec), st.sampled_from(examples))

    @FAST
    @given(profile=any_profile, changes=adjustments(content), other=any_profile)
    def run(profile: dict, changes: list, other: dict) -> None:
        _deterministic(content, second_pipeline, profile, changes, other)
    run()


def _parent(path: str) -> str:
    """ProfileSpec names an object field given a non-object as `scores._schema` (marshmallow's
    key; reported, see test_a_wrong_typed_object_is_named_by_its_path); the API says `scores`."""
    return path[:-len("._schema")] if path.endswith("._schema") else path


def _refused(spec: ProfileSpec, profile: Any, path: str) -> None:
    with pytest.raises(ProfileInvalid) as refused:
        spec.validate(profile)
    errors = {_parent(key): messages for key, messages in refused.value.errors.items()}
    assert path in errors, (path, errors)
    assert all(isinstance(m, str) and m for messages in errors.values() for m in messages)


@pytest.mark.parametrize("which", ["demo", "all-types"])
def test_valid_profiles_validate(content: Content, which: str) -> None:
    spec = content.pack.profile if which == "demo" else _all_types_spec()

    @FAST
    @given(profile=profiles(spec))
    def run(profile: dict) -> None:
        clean = spec.validate(profile)
        assert json.loads(json.dumps(clean, allow_nan=False)) == clean
        assert spec.validate(clean) == clean           # validating is idempotent
    run()


@pytest.mark.parametrize("which", ["demo", "all-types"])
def test_invalid_profiles_are_refused_naming_the_field(content: Content, which: str) -> None:
    spec = content.pack.profile if which == "demo" else _all_types_spec()

    @settings(FAST, max_examples=300)
    @given(broken=broken_profiles(spec))
    def run(broken: tuple[Any, str]) -> None:
        _refused(spec, *broken)
    run()


def test_invalid_profiles_are_refused_by_the_service(content: Content) -> None:
    """Through `configure`: the same refusal, never an engine error."""
    spec = content.pack.profile

    @FAST
    @given(broken=broken_profiles(spec))
    def run(broken: tuple[Any, str]) -> None:
        profile, path = broken
        with pytest.raises(ProfileInvalid) as refused:
            configure(content, profile)
        assert path in {_parent(key) for key in refused.value.errors}
    run()


def test_a_wrong_typed_object_is_named_by_its_path(content: Content,
                                                   example_profiles: list[dict]) -> None:
    """Found by test_invalid_profiles_are_refused_naming_the_field: `scores: 3` was refused as
    `scores._schema`, not `scores`."""
    profile = {**example_profiles[0]["profile"], "scores": 3}
    with pytest.raises(ProfileInvalid) as refused:
        content.pack.profile.validate(profile)
    assert list(refused.value.errors) == ["scores"]


@pytest.mark.parametrize("text", ["Nul\x00Co", "Half \ud800 pair"])
def test_text_no_database_can_store_is_refused_by_the_profile(content: Content,
                                                              example_profiles: list[dict],
                                                              text: str) -> None:
    """Caught at the API's edge too, but the web forms and the CLI validate through here."""
    profile = {**example_profiles[0]["profile"], "name": text}
    with pytest.raises(ProfileInvalid) as refused:
        content.pack.profile.validate(profile)
    assert list(refused.value.errors) == ["name"]
    assert "cannot be stored" in refused.value.errors["name"][0]
