"""Profile fields that cannot be mistyped: `country` (ISO 3166-1 alpha-2) and `currency`
(ISO 4217) fields, and `pattern` on strings. The declaration is checked with file:line, a bad
value is refused naming its path with the code it probably means (never silently changed), and
`check` warns when a rule compares such a field with something that is not a code."""
from __future__ import annotations

import pytest

from configurator.content.iso import COUNTRIES, CURRENCIES
from configurator.content.pack import check_pack
from configurator.content.problems import ProblemLog
from configurator.content.profile import ProfileInvalid, parse_profile_spec
from configurator.content.regex import example, python_pattern
from configurator.content.yamlfile import parse_yaml
from configurator.services.trial import minimal_profile
from helpers import write_pack

DECLARATION = """\
fields:
  name: {type: string, required: true}
  country: {type: country, required: true}
  billing_currency: {type: currency, default: EUR}
  offices: {type: list, items: {type: country}, default: []}
  vat_id: {type: string, pattern: '[A-Z]{2}[0-9]{8,12}', label: VAT number}
  crm_id: {type: string, pattern: 'C-\\d+'}
"""


def spec_of(text: str = DECLARATION):
    log = ProblemLog("rules/profile.yaml")
    spec = parse_profile_spec(parse_yaml(text), log)
    return spec, [str(p) for p in log.problems]


def refusal(profile: dict, text: str = DECLARATION) -> dict[str, list[str]]:
    spec, problems = spec_of(text)
    assert problems == []
    with pytest.raises(ProfileInvalid) as caught:
        spec.validate({"name": "Acme", "country": "DE", **profile})
    return caught.value.errors


# --- the declaration ---------------------------------------------------------------------------

def test_country_currency_and_pattern_are_declared_and_described():
    spec, problems = spec_of()
    assert problems == []
    described = spec.describe()["fields"]
    assert described["country"] == {"type": "country", "required": True, "label": "Country",
                                     "format": "ISO 3166-1 alpha-2"}
    assert described["billing_currency"]["format"] == "ISO 4217"
    assert described["billing_currency"]["default"] == "EUR"
    assert described["offices"]["items"]["type"] == "country"
    assert described["vat_id"]["pattern"] == "[A-Z]{2}[0-9]{8,12}"


@pytest.mark.parametrize("field, message", [
    ("{type: integer, pattern: 'a+'}",
     "rules/profile.yaml:3: error: `pattern` is only for string fields (`code` is integer)\n"
     "    fix: remove `pattern`, or make the field a string"),
    ("{type: country, pattern: '[A-Z]{2}'}",
     "rules/profile.yaml:3: error: `pattern` is only for string fields (`code` is country)\n"
     "    fix: remove `pattern`: the type already allows only ISO codes"),
    ("{type: string, pattern: 12}",
     "rules/profile.yaml:3: error: `pattern` of field `code` must be a regular expression in "
     "quotes, not 12\n    fix: write e.g. pattern: '[A-Z]{2}[0-9]{4}'"),
    ("{type: string, pattern: '[A-Z'}",
     "rules/profile.yaml:3: error: `pattern` '[A-Z' of field `code`: unterminated character set "
     "at position 0\n    fix: use letters, . [] () | * + ? {m,n}, \\d and \\s, as in a rule's "
     "`matches`; the whole value must match (docs/content-format.md, Profile declaration)"),
    ("{type: string, pattern: '\\w+'}",
     "rules/profile.yaml:3: error: `pattern` '\\\\w+' of field `code`: \\w is not supported (the "
     "rules engine's letters differ from Python's); list the characters, e.g. [A-Za-z0-9_]"),
    ("{type: string, pattern: '(a|)*'}",
     "rules/profile.yaml:3: error: `pattern` '(a|)*' of field `code`: a repeated part that can "
     "match nothing"),
    ("{type: country, default: cn}",
     "rules/profile.yaml:3: error: default of `code` is not valid: [\"'cn' is not an ISO 3166-1 "
     "alpha-2 country code (two capital letters); did you mean CN (China)?\"]"),
    ("{type: string, pattern: '[0-9]+', default: abc}",
     "rules/profile.yaml:3: error: default of `code` is not valid: [\"'abc' does not match the "
     "pattern [0-9]+ (the whole value must match).\"]"),
    ("{type: countries}",
     "rules/profile.yaml:3: error: field `code` has type 'countries'\n    fix: did you mean "
     "`country`? use one of: string, integer, number, boolean, enum, date, list, object, "
     "country, currency"),
])
def test_a_mistake_in_a_declaration_is_reported_with_file_line_and_fix(field, message):
    _, problems = spec_of(f"fields:\n  name: {{type: string, required: true}}\n  code: {field}\n")
    assert len(problems) == 1 and problems[0].startswith(message), problems


# --- values: refused with what they probably mean ----------------------------------------------

COUNTRY_CODE = "is not an ISO 3166-1 alpha-2 country code"


@pytest.mark.parametrize("value, message", [
    ("cn", f"'cn' {COUNTRY_CODE} (two capital letters); did you mean CN (China)?"),
    ("China", f"'China' {COUNTRY_CODE}; did you mean CN (China)?"),
    (" CN", "' CN' has spaces around it; did you mean CN (China)?"),
    ("CN\n", "'CN\n' has spaces around it; did you mean CN (China)?"),
    ("Germany", f"'Germany' {COUNTRY_CODE}; did you mean DE (Germany)?"),
    ("germnay", f"'germnay' {COUNTRY_CODE}; did you mean DE (Germany)?"),
    ("DEU", f"'DEU' {COUNTRY_CODE}; did you mean DE (Germany)?"),
    ("UK", f"'UK' {COUNTRY_CODE}; did you mean GB (United Kingdom)?"),
    ("Korea", f"'Korea' {COUNTRY_CODE}; did you mean KP (North Korea) or KR (South Korea)?"),
    ("XX", f"'XX' {COUNTRY_CODE}; write the country's code, two capital letters, such as "
           "DE (Germany), CN (China) or US (United States)."),
    ("AN", f"'AN' {COUNTRY_CODE}: it was Netherlands Antilles, withdrawn in 2010; write the "
           "country's code, two capital letters, such as DE (Germany), CN (China) or "
           "US (United States)."),
    ("England", f"'England' {COUNTRY_CODE}; write the country's code, two capital letters, "
                "such as DE (Germany), CN (China) or US (United States)."),
])
def test_a_country_that_is_not_a_code_is_refused_with_the_code_it_probably_means(value, message):
    assert refusal({"country": value}) == {"country": [message]}


@pytest.mark.parametrize("value, message", [
    ("usd", "'usd' is not an ISO 4217 currency code (three capital letters); did you mean "
            "USD (US Dollar)?"),
    ("euro", "'euro' is not an ISO 4217 currency code; did you mean EUR (Euro)?"),
    ("yuan", "'yuan' is not an ISO 4217 currency code; did you mean CNY (Yuan Renminbi)?"),
    ("dollar", "'dollar' is not an ISO 4217 currency code; write the currency's code, three "
               "capital letters, such as EUR (Euro), USD (US Dollar) or CNY (Yuan Renminbi)."),
])
def test_a_currency_that_is_not_a_code_is_refused_with_the_code_it_probably_means(value, message):
    assert refusal({"billing_currency": value}) == {"billing_currency": [message]}


def test_codes_are_kept_exactly_as_given_and_lists_name_the_bad_item():
    spec, _ = spec_of()
    profile = spec.validate({"name": "Acme", "country": "NO", "offices": ["CN", "US"],
                             "billing_currency": "NOK"})
    assert profile["country"] == "NO" and profile["offices"] == ["CN", "US"]
    assert profile["billing_currency"] == "NOK"
    assert spec.validate({"name": "Acme", "country": "DE"})["billing_currency"] == "EUR"
    assert refusal({"offices": ["CN", "china"]}) == {
        "offices.1": [f"'china' {COUNTRY_CODE}; did you mean CN (China)?"]}
    assert refusal({"country": 49})["country"] == ["Not a valid string."]
    assert refusal({"country": ""})["country"][0].startswith(f"'' {COUNTRY_CODE}")   # required
    assert "billing_currency" not in spec.validate({"name": "A", "country": "DE",
                                                    "billing_currency": ""})


def test_a_long_wrong_value_is_quoted_short():
    message = refusal({"country": "x" * 5000})["country"][0]
    assert message.startswith("'" + "x" * 40 + "...' " + COUNTRY_CODE) and len(message) < 200


# --- pattern ---------------------------------------------------------------------------------------

def test_a_pattern_must_match_the_whole_value():
    spec, _ = spec_of()
    assert spec.validate({"name": "A", "country": "DE", "vat_id": "DE123456789",
                          "crm_id": "C-17"})["vat_id"] == "DE123456789"
    message = "'{}' does not match the pattern [A-Z]{{2}}[0-9]{{8,12}} (the whole value must match)."
    for value in ("de123456789", "DE123", "xDE123456789", "DE123456789 "):
        assert refusal({"vat_id": value}) == {"vat_id": [message.format(value)]}
    assert refusal({"crm_id": "C-1x"}) == {
        "crm_id": ["'C-1x' does not match the pattern C-\\d+ (the whole value must match)."]}


def test_a_pattern_check_never_backtracks_on_what_a_customer_types():
    # `(a|a)*b` takes Python's `re` minutes on 30 `a`s; the automaton is one step a character
    text = "fields:\n  name: {type: string, required: true}\n  code: {type: string, pattern: '(a|a)*b'}\n"
    spec, problems = spec_of(text)
    assert problems == []
    with pytest.raises(ProfileInvalid) as caught:
        spec.validate({"name": "Acme", "code": "a" * 2000})
    assert list(caught.value.errors) == ["code"]
    assert spec.validate({"name": "Acme", "code": "a" * 1999 + "b"})["code"].endswith("ab")


def test_an_example_of_a_pattern_is_the_shortest_text_it_matches():
    for pattern, text in (("[A-Z]{2}[0-9]{3}", "AA000"), ("C-\\d+", "C-0"), ("a*", "a"),
                          ("(DE|AT)\\d{2}", "DE00"), ("[^a-z]x", "Ax")):
        assert example(pattern) == text and python_pattern(pattern).fullmatch(text)


def test_the_trial_profile_fills_required_codes_and_patterns_with_valid_values():
    text = DECLARATION.replace("{type: currency, default: EUR}", "{type: currency, required: true}")
    text = text.replace("label: VAT number}", "required: true}")
    spec, _ = spec_of(text)
    profile = minimal_profile(spec.fields)
    assert profile == {"name": "Trial", "country": "AD", "billing_currency": "AED",
                       "vat_id": "AA00000000"}
    assert spec.validate(profile) == {**profile, "offices": []}


# --- the lists themselves ------------------------------------------------------------------------

def test_the_code_lists_come_from_iso_with_names_sorted_as_people_read_them():
    assert len(COUNTRIES.names) >= 249 and len(CURRENCIES.names) >= 170
    assert ("CN", "China (CN)") in COUNTRIES.choices
    assert ("TW", "Taiwan (TW)") in COUNTRIES.choices          # the common name
    assert ("EUR", "Euro (EUR)") in CURRENCIES.choices
    names = [text for _, text in COUNTRIES.choices]
    assert names.index("Åland Islands (AX)") < names.index("Albania (AL)")   # Å sorts as A
    assert names[:2] == ["Afghanistan (AF)", "Åland Islands (AX)"]
    assert COUNTRIES.valid("NO") and not COUNTRIES.valid("UK") and not CURRENCIES.valid("usd")


# --- `check`: rules that compare a code field with something that is not a code -------------------

CODE_PROFILE = """
    fields:
      name: {type: string, required: true}
      industry: {type: enum, values: [food, pharma], required: true}
      sites: {type: integer, min: 1, required: true}
      country: {type: country}
      offices: {type: list, items: {type: country}, default: []}
      currency: {type: currency}
    """


def rules_with(when: str) -> dict[str, str]:
    return {"r.yaml": f"""
        ruleset: r
        stage: solution
        rules:
          - id: cn
            when: {when}
            then: [{{include: core}}]
          - id: base
            then: [{{include: sensor}}]
        """}


@pytest.mark.parametrize("when, warnings", [
    ("{profile.country: {in: [CN, UK]}}",
     ["rules/r.yaml:5: warning: profile.country is compared with `UK`, which is not an ISO "
      "3166-1 alpha-2 country code, so no profile has it\n"
      "    fix: did you mean GB (United Kingdom)?"]),
    ("{profile.country: cn}",
     ["rules/r.yaml:5: warning: profile.country is compared with `cn`, which is not an ISO "
      "3166-1 alpha-2 country code, so no profile has it\n    fix: did you mean CN (China)?"]),
    ("{profile.offices: {contains_any: [DE, Germany, XX]}}",
     ["rules/r.yaml:5: warning: profile.offices is compared with `Germany`, which is not an "
      "ISO 3166-1 alpha-2 country code, so no profile has it\n"
      "    fix: did you mean DE (Germany)?",
      "rules/r.yaml:5: warning: profile.offices is compared with `XX`, which is not an ISO "
      "3166-1 alpha-2 country code, so no profile has it\n    fix: write the country's code, "
      "two capital letters, such as DE (Germany), CN (China) or US (United States)"]),
    ("{profile.currency: {ne: euro}}",
     ["rules/r.yaml:5: warning: profile.currency is compared with `euro`, which is not an ISO "
      "4217 currency code, so no profile has it\n    fix: did you mean EUR (Euro)?"]),
    ("{profile.country: {in: [CN, NO, DE]}, profile.currency: {not_in: [EUR, USD]}}", []),
    ("{profile.country: {matches: 'D[EK]|N.'}}", []),
])
def test_check_warns_when_a_rule_compares_a_code_field_with_what_is_not_a_code(tmp_path, when,
                                                                              warnings):
    pack, problems = check_pack(write_pack(tmp_path, rules_with(when), profile=CODE_PROFILE))
    assert pack is not None, problems          # warnings: the pack still loads
    assert [str(p) for p in problems if "ISO" in p.message] == warnings


def test_a_code_field_is_compared_like_text(tmp_path):
    pack, problems = check_pack(write_pack(tmp_path, rules_with("{profile.country: {gte: 5}}"),
                                           profile=CODE_PROFILE))
    assert pack is None
    assert [p.message for p in problems if p.severity == "error"] == [
        "`gte` compares numbers or dates; profile.country is a country"]


def test_a_code_field_compared_with_a_number_is_an_error(tmp_path):
    pack, problems = check_pack(write_pack(tmp_path, rules_with("{profile.currency: 978}"),
                                           profile=CODE_PROFILE))
    assert pack is None
    assert [str(p) for p in problems if p.severity == "error"] == [
        "rules/r.yaml:5: error: profile.currency is a currency code but is compared with 978\n"
        "    fix: put the value in quotes: \"978\""]


def test_check_warns_about_a_catalog_currency_that_is_not_iso_4217(tmp_path):
    catalog = {"catalog/platform.yaml": """
        family: platform
        modules:
          - {id: core, name: Core, kind: software, price: {amount: 1, currency: EUD, per: unit, billing: monthly}}
        """}
    rules = {"r.yaml": "ruleset: r\nstage: solution\nrules:\n  - {id: base, then: [{include: core}]}\n"}
    pack, problems = check_pack(write_pack(tmp_path, rules, catalog=catalog))
    assert pack is not None
    assert [str(p) for p in problems] == [
        "catalog/platform.yaml:3: warning: the currency `EUD` of `core` is not an ISO 4217 "
        "currency code\n    fix: write the currency's code, three capital letters, such as "
        "EUR (Euro), USD (US Dollar) or CNY (Yuan Renminbi)"]
