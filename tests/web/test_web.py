"""The web forms through Flask's test client: sign-in, roles, CSRF, the generated profile form,
import, configure, adjustments as revisions, history and differences, the product-manager page,
the users page, and the `configurator user` commands."""
from __future__ import annotations

import datetime as dt
import io
import json
import re
import secrets

import pytest
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from configurator.accounts import services as accounts
from configurator.cli.users import register as register_users
from configurator.app import create_app
from configurator.content import document
from configurator.content.pack import load_pack
from configurator.services import workflow
from configurator.services.content import Content
from configurator.store import flaskdb as db
from configurator.store.configurations import get_revision
from configurator.store.models import Revision
from configurator.store.proposals import approval_status
from configurator.web import changes, formatting
from configurator.web.profile_form import build_form, parse_form

from helpers import unique, write_pack

PASSWORD = "correct-horse-9"
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


# --- helpers ----------------------------------------------------------------------------------

def make_user(app, role: str = "solution-lead", password: str = PASSWORD) -> str:
    email = f"{role}-{secrets.token_hex(4)}@example.com"
    with app.app_context():
        session = db.session()
        accounts.create_user(session, email, f"{role.title()} {email[:6]}", role, password)
        session.commit()
    return email


def token(client, path: str = "/sign-in") -> str:
    page = client.get(path)
    found = TOKEN.search(page.get_data(as_text=True))
    assert found, f"no CSRF token on {path} ({page.status_code})"
    return found.group(1)


def sign_in(client, app, role: str = "solution-lead") -> str:
    email = make_user(app, role)
    response = client.post("/sign-in", data={"csrf_token": token(client), "email": email,
                                             "password": PASSWORD})
    assert response.status_code == 302, response.get_data(as_text=True)
    return email


def text(response) -> str:
    return response.get_data(as_text=True)


def profile_form_data(profile: dict, prefix: str = "") -> MultiDict:
    """A profile as the generated form posts it."""
    data = MultiDict()
    for key, value in profile.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict):
            data.update(profile_form_data(value, path + "."))
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            data.add(f"{path}.__present", "")
            for index, item in enumerate(value):
                data.update(profile_form_data(item, f"{path}.{index}."))
        elif isinstance(value, list) and key in ("competitors",):
            data.add(path, "\n".join(value))
        elif isinstance(value, list):
            data.add(f"{path}.__present", "")
            for item in value:
                data.add(path, str(item))
        else:
            data.add(path, str(value))
    return data


@pytest.fixture
def hanseatic(example_profiles) -> dict:
    profile = next(e["profile"] for e in example_profiles
                   if e["profile"]["name"] == "Hanseatic Fulfilment GmbH")
    return {**profile, "name": unique("Hanseatic")}


def create_customer(client, profile: dict) -> str:
    data = profile_form_data(profile)
    data["csrf_token"] = token(client, "/customers/new")
    response = client.post("/customers/new", data=data)
    assert response.status_code == 302, text(response)
    return response.location


def configure(client, customer_url: str) -> str:
    page = client.get(customer_url)
    action = re.search(r'action="(/customers/\d+/configure)"', text(page)).group(1)
    response = client.post(action, data={"csrf_token": token(client, customer_url)})
    assert response.status_code == 302, text(response)
    return response.location


def adjust(client, url: str, base: int, **fields) -> object:
    data = {"csrf_token": token(client, url), "base_revision": str(base), **fields}
    return client.post(url + "/adjust", data=data)


# --- sign-in, sign-out, roles, CSRF -----------------------------------------------------------

def test_every_page_asks_a_visitor_to_sign_in(client):
    for path in ("/", "/customers", "/customers/new", "/configurations/1", "/content",
                 "/admin/users"):
        response = client.get(path)
        assert response.status_code == 302 and response.location.startswith("/sign-in"), path
    assert "Sign in" in text(client.get("/sign-in"))


def test_sign_in_with_a_wrong_password_is_refused_with_a_message(client, app):
    email = make_user(app)
    response = client.post("/sign-in", data={"csrf_token": token(client), "email": email,
                                             "password": "wrong-password"})
    assert response.status_code == 401
    assert "do not match an active user" in text(response)
    assert f'value="{email}"' in text(response)       # the email is kept
    assert client.get("/customers").status_code == 302


def test_sign_in_goes_to_the_page_asked_for_but_never_to_another_site(client, app):
    email = make_user(app)
    response = client.post("/sign-in", data={"csrf_token": token(client), "email": email.upper(),
                                             "password": PASSWORD, "next": "/customers?q=x"})
    assert response.location == "/customers?q=x"
    client.post("/sign-out", data={"csrf_token": token(client, "/customers")})
    for evil in ("https://evil.example/", "//evil.example/", "/\\evil.example"):
        response = client.post("/sign-in", data={"csrf_token": token(client), "email": email,
                                                 "password": PASSWORD, "next": evil})
        assert response.location == "/", evil
        client.post("/sign-out", data={"csrf_token": token(client, "/customers")})


def test_sign_out_ends_the_session(client, app):
    sign_in(client, app)
    assert client.get("/customers").status_code == 200
    response = client.post("/sign-out", data={"csrf_token": token(client, "/customers")})
    assert response.location == "/sign-in"
    assert client.get("/customers").status_code == 302
    assert "You are signed out" in text(client.get("/sign-in"))


def test_a_form_post_without_the_csrf_token_is_refused_with_a_friendly_page(client, app):
    sign_in(client, app)
    for data in ({}, {"csrf_token": "forged"}):
        response = client.post("/customers/new", data={**data, "name": "Acme"})
        assert response.status_code == 400
        assert response.mimetype == "text/html"
        page = text(response)
        assert "The form has expired" in page and "Nothing was changed" in page
        assert "Traceback" not in page
    response = client.post("/sign-out", data={})
    assert response.status_code == 400
    assert client.get("/customers").status_code == 200     # still signed in
    # the sign-in form itself needs the token too
    client.post("/sign-out", data={"csrf_token": token(client, "/customers")})
    email = make_user(app)
    assert client.post("/sign-in", data={"email": email, "password": PASSWORD}).status_code == 400


def test_the_api_is_not_a_form_target_and_keeps_working_without_csrf_tokens(client, hanseatic):
    response = client.post("/api/v1/configurations", json={"profile": hanseatic})
    assert response.status_code == 201


def test_a_solution_lead_cannot_reach_admin_or_product_manager_pages(client, app):
    sign_in(client, app, "solution-lead")
    for path in ("/admin/users", "/content"):
        response = client.get(path)
        assert response.status_code == 403, path
        assert response.mimetype == "text/html"
        assert "You cannot open this page" in text(response)
        assert "Traceback" not in text(response)
    response = client.post("/admin/users", data={"csrf_token": token(client, "/customers"),
                                                 "email": "x@example.com", "name": "X",
                                                 "role": "admin"})
    assert response.status_code == 403
    nav = text(client.get("/customers"))
    assert 'href="/admin/users"' not in nav and 'href="/content"' not in nav


def test_each_role_starts_on_its_own_page(client, app):
    expected = {"solution-lead": "/customers", "product-manager": "/content",
                "admin": "/customers"}
    for role, start in expected.items():
        sign_in(client, app, role)
        assert client.get("/").location == start, role
        client.post("/sign-out", data={"csrf_token": token(client, start)})
    sign_in(client, app, "product-manager")
    assert client.get("/customers").status_code == 403
    assert client.get("/content").status_code == 200


def test_unknown_pages_are_html_for_people_and_problem_json_for_the_api(client, app):
    sign_in(client, app)
    page = client.get("/no-such-page")
    assert page.status_code == 404 and page.mimetype == "text/html"
    assert "Page not found" in text(page)
    assert client.get("/configurations/999999").status_code == 404
    assert "does not exist" in text(client.get("/customers/999999"))
    api = client.get("/api/v1/no-such-thing")
    assert api.status_code == 404 and api.mimetype == "application/problem+json"


# --- the generated profile form -----------------------------------------------------------------

ALL_TYPES = """
    fields:
      name: {type: string, required: true, label: Company name, help: As on the contract.}
      industry: {type: enum, values: [food, pharma], required: true}
      sites: {type: integer, min: 1, max: 5000, required: true, label: Operating sites}
      revenue: {type: number, min: 0}
      founded: {type: date, label: Founded}
      listed: {type: boolean, label: Publicly listed}
      home: {type: country, label: Country}
      billing: {type: currency, label: Billing currency}
      offices: {type: list, items: {type: country}}
      vat: {type: string, pattern: '[A-Z]{2}[0-9]{8,12}', label: VAT number}
      needs: {type: list, items: {type: enum, values: [cold-chain, multi-site]}, default: []}
      competitors: {type: list, items: {type: string}, default: []}
      scores:
        type: object
        required: true
        fields:
          loyalty: {type: integer, min: 1, max: 5, required: true, label: Loyalty}
      contacts:
        type: list
        items:
          type: object
          fields:
            name: {type: string, required: true, label: Name}
            role: {type: enum, values: [economic-buyer, user], label: Role}
    """


@pytest.fixture(scope="module")
def all_types_pack(tmp_path_factory):
    return load_pack(write_pack(tmp_path_factory.mktemp("pack"), profile=ALL_TYPES))


def test_the_form_has_a_widget_for_every_declared_type(all_types_pack):
    form = build_form(all_types_pack.profile, {}, defaults=True)
    widgets = {f.path: f.widget for top in form.fields for f in top.walk()}
    assert widgets["name"] == "text" and widgets["industry"] == "select"
    assert widgets["sites"] == "number" and widgets["revenue"] == "number"
    assert widgets["founded"] == "date" and widgets["listed"] == "boolean"
    assert widgets["home"] == "select" and widgets["billing"] == "select"
    assert widgets["offices"] == "lines" and widgets["vat"] == "text"   # a code per line
    assert widgets["needs"] == "checkboxes" and widgets["competitors"] == "lines"
    assert widgets["scores"] == "fieldset" and widgets["scores.loyalty"] == "number"
    assert widgets["contacts"] == "rows" and widgets["contacts.0"] == "row"
    assert widgets["contacts.1.name"] == "text"      # empty rows to fill without JavaScript
    name = form.fields[0]
    assert name.label == "Company name" and name.help == "As on the contract."


def test_a_posted_form_becomes_the_profile_it_describes(all_types_pack):
    form = MultiDict([
        ("name", " Acme Foods "), ("industry", "food"), ("sites", "1,200"), ("revenue", "12.5"),
        ("founded", "1999-04-01"), ("listed", "true"), ("needs.__present", ""),
        ("needs", "cold-chain"), ("needs", "multi-site"), ("competitors", "Blue Yonder\n\n SAP \n"),
        ("scores.loyalty", "4"), ("contacts.__present", ""),
        ("contacts.0.name", "Ann"), ("contacts.0.role", "user"),
        ("contacts.1.name", ""), ("contacts.1.role", ""),          # an empty row is ignored
        ("contacts.7.name", "Bo"), ("contacts.7.role", ""),        # a row JavaScript added
    ])
    profile = parse_form(all_types_pack.profile, form)
    assert profile == {"name": "Acme Foods", "industry": "food", "sites": 1200, "revenue": 12.5,
                       "founded": "1999-04-01", "listed": True,
                       "needs": ["cold-chain", "multi-site"], "competitors": ["Blue Yonder", "SAP"],
                       "scores": {"loyalty": 4},
                       "contacts": [{"name": "Ann", "role": "user"}, {"name": "Bo"}]}
    assert all_types_pack.profile.validate(profile)["sites"] == 1200


def test_what_cannot_be_converted_is_kept_as_typed_for_validation_to_name(all_types_pack):
    spec = all_types_pack.profile
    form = MultiDict([("name", "Acme"), ("sites", "twelve"), ("revenue", "1,5"),
                      ("listed", "maybe"), ("scores.loyalty", "")])
    profile = parse_form(spec, form)
    assert profile["sites"] == "twelve" and profile["revenue"] == "1,5"
    assert profile["scores"] == {}       # a required group is sent so its fields are named
    with pytest.raises(Exception) as caught:
        spec.validate(profile)
    errors = caught.value.errors
    rebuilt = build_form(spec, profile, errors)
    fields = {f.path: f for top in rebuilt.fields for f in top.walk()}
    assert fields["sites"].value == "twelve"
    assert fields["sites"].errors == ["Enter a whole number, such as 12."]
    assert fields["scores.loyalty"].errors == ["Fill this in: it is required."]
    assert fields["industry"].errors == ["Fill this in: it is required."]
    titles = {p.title for p in rebuilt.problems}
    assert "Scores › Loyalty" in titles and "Operating sites" in titles
    assert {p.anchor for p in rebuilt.problems} >= {"f-sites", "f-scores-loyalty"}


def test_errors_inside_lists_land_on_their_row_or_group(all_types_pack):
    spec = all_types_pack.profile
    errors = {"needs.1": ["Must be one of: cold-chain, multi-site."],
              "contacts.0.name": ["Missing data for required field."],
              "contacts.1.age": ["Unknown field."], "shoe_size": ["Unknown field."]}
    values = {"needs": ["cold-chain", "frozen"], "contacts": [{"role": "user"}, {"age": 3}]}
    form = build_form(spec, values, errors)
    fields = {f.path: f for top in form.fields for f in top.walk()}
    assert fields["needs"].errors == ["Item 2: Must be one of: cold-chain, multi-site."]
    assert fields["contacts.0.name"].errors == ["Fill this in: it is required."]
    assert fields["contacts.1"].errors[0].startswith("age: This field is not in the profile")
    unknown = [p for p in form.problems if p.title == "shoe_size"]
    assert unknown and unknown[0].anchor == "profile-form"


def test_new_customer_form_shows_inline_errors_and_keeps_every_value(client, app, hanseatic):
    sign_in(client, app)
    page = text(client.get("/customers/new"))
    for label in ("Company name", "Account scores", "Decision chain", "Business needs",
                  "ISO 3166-1 alpha-2 code"):
        assert label in page
    assert 'value="no-preference" selected' in page           # the declared default
    bad = {**hanseatic, "scores": {**hanseatic["scores"], "loyalty": 7}, "employees": "lots"}
    data = profile_form_data(bad)
    data["csrf_token"] = token(client, "/customers/new")
    response = client.post("/customers/new", data=data)
    assert response.status_code == 422
    page = text(response)
    assert "2 problems to fix" in page
    assert re.search(r'id="f-scores-loyalty-error">.*less than or equal to 5', page)
    assert re.search(r'id="f-employees-error">.*Enter a whole number', page)
    assert 'id="f-scores-loyalty" name="scores.loyalty" value="7"' in page
    assert 'value="lots"' in page and "Katrin Albers" in page
    assert 'value="returns" checked' in page
    assert "Manhattan Associates</textarea>" in page


def test_country_and_currency_selects_list_names_with_codes_sorted_by_name(all_types_pack):
    form = build_form(all_types_pack.profile, {"home": "CN", "billing": "EUR"})
    fields = {f.path: f for top in form.fields for f in top.walk()}
    home, billing = fields["home"], fields["billing"]
    assert ("CN", "China (CN)") in home.choices and ("EUR", "Euro (EUR)") in billing.choices
    names = [name for _, name in home.choices]
    assert names.index("Åland Islands (AX)") < names.index("Albania (AL)") \
        < names.index("China (CN)") < names.index("Germany (DE)") < names.index("Norway (NO)")
    assert not home.unlisted and not billing.unlisted
    assert fields["industry"].choices == [("food", "food"), ("pharma", "pharma")]


def test_codes_and_patterns_are_refused_next_to_their_fields_with_a_suggestion(all_types_pack):
    spec = all_types_pack.profile
    posted = parse_form(spec, MultiDict([("name", "Acme"), ("industry", "food"), ("sites", "2"),
                                         ("home", "cn"), ("billing", "euro"),
                                         ("offices", "DE\nGermany"), ("vat", "DE12")]))
    assert posted["offices"] == ["DE", "Germany"]
    with pytest.raises(Exception) as caught:
        spec.validate(posted)
    form = build_form(spec, posted, caught.value.errors)
    fields = {f.path: f for top in form.fields for f in top.walk()}
    assert fields["home"].errors == ["'cn' is not an ISO 3166-1 alpha-2 country code (two "
                                     "capital letters); did you mean CN (China)?"]
    assert fields["home"].unlisted and fields["home"].value == "cn"    # kept, to be corrected
    assert fields["billing"].errors == ["'euro' is not an ISO 4217 currency code; did you mean "
                                        "EUR (Euro)?"]
    assert fields["offices"].errors == ["Item 2: 'Germany' is not an ISO 3166-1 alpha-2 "
                                        "country code; did you mean DE (Germany)?"]
    assert fields["vat"].errors == ["'DE12' does not match the pattern [A-Z]{2}[0-9]{8,12} (the "
                                    "whole value must match)."]


def test_the_country_select_works_without_javascript_and_a_wrong_code_is_shown_next_to_it(
        client, app, hanseatic):
    sign_in(client, app)
    page = text(client.get("/customers/new"))
    select = re.search(r'<select id="f-country" name="country".*?</select>', page, re.S).group(0)
    options = re.findall(r'<option value="([A-Z]{2})" >([^<]+)</option>', select)
    assert len(options) >= 249 and ("CN", "China (CN)") in options
    assert [code for code, _ in options].index("DE") < [code for code, _ in options].index("NO")
    assert "<script" not in select
    # what a select cannot send, a hand-made post or an old import can: refused, and kept
    bad = {**hanseatic, "country": "cn"}
    data = profile_form_data(bad)
    data["csrf_token"] = token(client, "/customers/new")
    response = client.post("/customers/new", data=data)
    assert response.status_code == 422
    page = text(response)
    assert re.search(r'id="f-country-error"><span>&#39;cn&#39; is not an ISO 3166-1 alpha-2 '
                     r'country code \(two capital letters\); did you mean CN \(China\)\?</span>',
                     page), page[:2000]
    assert '<option value="cn" selected>cn</option>' in page
    assert "1 problem to fix" in page
    url = create_customer(client, {**hanseatic, "country": "CN"})
    assert 'value="CN" selected>China (CN)</option>' in text(client.get(url + "/profile"))
    assert "<dt>Country</dt><dd>China (CN)</dd>" in text(client.get(url))     # the summary


def test_create_customer_then_edit_and_rename_its_profile(client, app, hanseatic):
    sign_in(client, app)
    url = create_customer(client, hanseatic)
    page = text(client.get(url))
    assert hanseatic["name"] in page and "Katrin Albers" in page
    assert "Not configured yet" in page
    # the same name again is an error on the name field
    data = profile_form_data(hanseatic)
    data["csrf_token"] = token(client, "/customers/new")
    again = client.post("/customers/new", data=data)
    assert again.status_code == 422
    assert re.search(r'id="f-name-error">.*exists already', text(again))
    # edit: rename and change a number
    renamed = {**hanseatic, "name": unique("Renamed"), "sites": 8}
    data = profile_form_data(renamed)
    data["csrf_token"] = token(client, url + "/profile")
    response = client.post(url + "/profile", data=data)
    assert response.status_code == 302 and response.location == url
    page = text(client.get(url))
    assert renamed["name"] in page and hanseatic["name"] not in page
    listing = text(client.get("/customers?q=" + renamed["name"][-8:]))
    assert renamed["name"] in listing
    assert "No customer" in text(client.get("/customers?q=zz-nobody-zz"))


def _upload(client, content: bytes, filename: str, customer_id: int | None = None):
    data = {"csrf_token": token(client, "/customers/new"),
            "file": (io.BytesIO(content), filename)}
    if customer_id:
        data["customer_id"] = str(customer_id)
    return client.post("/customers/import", data=data, content_type="multipart/form-data")


def test_import_a_profile_from_yaml_or_json(client, app, hanseatic):
    sign_in(client, app)
    as_yaml = "\n".join(f"{k}: {json.dumps(v)}" for k, v in hanseatic.items()).encode()
    response = _upload(client, as_yaml, "hanseatic.yaml")
    assert response.status_code == 302, text(response)
    assert "imported from hanseatic.yaml" in text(client.get(response.location))
    other = {**hanseatic, "name": unique("Json")}
    response = _upload(client, json.dumps({"profile": other, "adjustments": []}).encode(),
                       "other.json")
    assert response.status_code == 302
    assert other["name"] in text(client.get(response.location))


def test_an_imported_profile_with_errors_fills_the_form_with_the_errors_in_place(client, app,
                                                                               hanseatic):
    sign_in(client, app)
    bad = {**hanseatic, "name": unique("Imported"), "sites": 0, "industry": "astrology",
           "shoe_size": 44}
    response = _upload(client, json.dumps(bad).encode(), "bad.json")
    assert response.status_code == 422
    page = text(response)
    assert "bad.json could not be imported as it is" in page
    assert re.search(r'id="f-sites-error">.*greater than or equal to 1', page)
    assert re.search(r'id="f-industry-error">.*Must be one of', page)
    assert "shoe_size: This field is not in the profile declaration" in page
    assert f'value="{bad["name"]}"' in page
    broken = _upload(client, b"name: [unclosed\n", "broken.yaml")
    assert broken.status_code == 422 and "broken.yaml, line" in text(broken)
    assert _upload(client, b"- just\n- a list\n", "list.yaml").status_code == 422
    bomb = _upload(client, b"a: &x [1, 2]\nb: [*x, *x]\n", "bomb.yaml")
    assert bomb.status_code == 422 and "aliases (*name) are not accepted" in text(bomb)
    assert "Choose a YAML or JSON file" in text(_upload(client, b"", ""))


# --- configure, adjust, history, difference -----------------------------------------------------

def test_configure_and_review_a_solution(client, app, hanseatic):
    email = sign_in(client, app)
    url = configure(client, create_customer(client, hanseatic))
    page = text(client.get(url))
    assert "Revision 1 of 1" in page and "Approval required" in page
    for heading in ("Devices and sensors", "Business applications", "Recommendations",
                    "Approvals needed", "Service level", "Account team", "Totals"):
        assert heading in page, heading
    assert "Twelve scanners per site for receiving, picking and shipping" in page
    assert "sol-log-warehouse" in page
    assert "Strategic account price on business applications" in page      # a discount
    assert "Northwind Academy e-learning" in page and "Accept" in page
    assert "First-year value of" in page and "Sales director" in page
    with app.app_context():
        configuration_id = int(url.rsplit("/", 1)[1])
        assert get_revision(db.session(), configuration_id, 1)["created_by"] == email


def _give_roles(app, email: str, roles: list[str]) -> str:
    """Give `email` these approver roles; returns the user's name."""
    with app.app_context():
        session = db.session()
        user = accounts.get_user(session, email)
        accounts.set_approver_roles(session, user.id, roles)
        session.commit()
    return user.name


def test_a_person_with_the_approver_role_approves_in_the_review_page_never_the_author(
        client, app, hanseatic):
    lead = sign_in(client, app)                             # a solution lead configures
    url = configure(client, create_customer(client, hanseatic))
    configuration_id = int(url.rsplit("/", 1)[1])
    with app.app_context():
        roles = [a["role"] for a in get_revision(db.session(), configuration_id, 1)
                 ["document"]["approvals"]]
    assert roles, "the Hanseatic solution needs approvals"
    page = text(client.get(url))
    assert "Approve as" not in page and "Pending approval" in page
    approve_url = f"/configurations/{configuration_id}/revisions/1/approve"
    refused = client.post(approve_url, data={"csrf_token": token(client, url), "role": roles[0]},
                          follow_redirects=True)
    assert "does not hold the approver role" in text(refused)
    _give_roles(app, lead, roles)                           # the author cannot, even holding it
    page = text(client.get(url))
    assert "Approve as" not in page
    refused = client.post(approve_url, data={"csrf_token": token(client, url), "role": roles[0]},
                          follow_redirects=True)
    assert "cannot approve it" in text(refused)

    client.post("/sign-out", data={"csrf_token": token(client, url)})
    approver = sign_in(client, app)
    name = _give_roles(app, approver, roles)
    page = text(client.get(url))
    assert page.count("Approve as") == len(roles)
    for role in roles:
        response = client.post(approve_url, data={"csrf_token": token(client, url), "role": role,
                                                  "note": "Checked margins"})
        assert response.status_code == 302
    again = client.post(approve_url, data={"csrf_token": token(client, url), "role": roles[0]},
                        follow_redirects=True)
    assert "Revision 1 is approved" in text(again)
    bogus = client.post(approve_url, data={"csrf_token": token(client, url), "role": "nobody"},
                        follow_redirects=True)
    assert "does not require approval by" in text(bogus)
    page = text(client.get(url))
    assert page.count(f"Approved by {name}") == len(roles) and "Checked margins" in page
    assert "Every required approval is recorded" in page
    with app.app_context():
        status = approval_status(db.session(), configuration_id, 1)
        state = get_revision(db.session(), configuration_id, 1)["state"]
    assert status["approved"] and {a["approved_by"] for a in status["approvals"]} == {name}
    assert state == "approved"


def test_a_rejection_needs_a_comment_and_rejects_the_revision(client, app, hanseatic):
    sign_in(client, app)
    url = configure(client, create_customer(client, hanseatic))
    configuration_id = int(url.rsplit("/", 1)[1])
    client.post("/sign-out", data={"csrf_token": token(client, url)})
    approver = sign_in(client, app)
    with app.app_context():
        role = get_revision(db.session(), configuration_id, 1)["document"]["approvals"][0]["role"]
    _give_roles(app, approver, [role])
    approve_url = f"/configurations/{configuration_id}/revisions/1/approve"
    bare = client.post(approve_url, data={"csrf_token": token(client, url), "role": role,
                                          "decision": "rejected"}, follow_redirects=True)
    assert "A rejection needs a comment" in text(bare)
    client.post(approve_url, data={"csrf_token": token(client, url), "role": role,
                                   "decision": "rejected", "note": "Discount too deep"})
    page = text(client.get(url))
    assert "Rejected by" in page and "Discount too deep" in page and "Rejected" in page
    with app.app_context():
        assert get_revision(db.session(), configuration_id, 1)["state"] == "rejected"


def _roles_of(app, configuration_id: int, number: int = 1) -> list[str]:
    with app.app_context():
        return [a["role"] for a in get_revision(db.session(), configuration_id, number)
                ["document"]["approvals"]]


def _decide(client, url: str, number: int, role: str, decision: str = "approved",
            note: str = "") -> str:
    """Approve or reject as the client's user from the review page; the page it lands on."""
    response = client.post(f"{url}/revisions/{number}/approve",
                           data={"csrf_token": token(client, url), "role": role,
                                 "decision": decision, "note": note}, follow_redirects=True)
    return text(response)


def _move(client, url: str, number: int, target: str, back: str = "") -> str:
    """Open the confirmation page of a move, confirm it; the page it lands on."""
    confirm = client.get(f"{url}/revisions/{number}/state/{target}" + (f"?back={back}" if back
                                                                        else ""))
    assert confirm.status_code == 200, text(confirm)
    assert "This cannot be undone" in text(confirm)
    response = client.post(f"{url}/revisions/{number}/state/{target}",
                           data={"csrf_token": TOKEN.search(text(confirm)).group(1),
                                 "back": back}, follow_redirects=True)
    assert response.status_code == 200
    return text(response)


def test_a_deal_goes_from_rejected_to_accepted_and_every_page_says_where_it_stands(
        client, app, hanseatic):
    lead = sign_in(client, app)
    customer_url = create_customer(client, hanseatic)
    url = configure(client, customer_url)
    configuration_id = int(url.rsplit("/", 1)[1])
    roles = _roles_of(app, configuration_id)
    assert len(roles) >= 2, "the Hanseatic solution needs several approvals"
    assert "Pending approval" in text(client.get(customer_url))
    approver = app.test_client()
    name = _give_roles(app, sign_in(approver, app), roles)

    page = _decide(approver, url, 1, roles[0], "rejected", "Discount too deep for this tier")
    assert f"Rejected revision 1 as {roles[0].replace('-', ' ')}: the revision is rejected" in page
    assert f"Rejected by {name}" in page and "Discount too deep for this tier" in page
    assert "Withdraw my rejection" in page and "It cannot be sent" in page
    assert "Not decided: another approver rejected this revision" in page
    assert "Approve as" not in page
    review = text(client.get(url))                      # the lead: not theirs to withdraw
    assert "Withdraw my" not in review and "Mark as sent" not in review
    assert '<span class="badge bad" data-state="rejected">Rejected</span>' in review
    refused = client.post(f"{url}/revisions/1/withdraw-decision",
                          data={"csrf_token": token(client, url), "role": roles[0]},
                          follow_redirects=True)
    assert f"Only {name}, who gave it, can withdraw" in text(refused)
    assert "Rejected" in text(client.get(customer_url))

    page = text(approver.post(f"{url}/revisions/1/withdraw-decision",
                              data={"csrf_token": token(approver, url), "role": roles[0]},
                              follow_redirects=True))
    assert "Withdrew your decision" in page and "the revision is pending approval" in page
    assert page.count("Approve as") == len(roles)
    for role in roles:
        page = _decide(approver, url, 1, role, note=f"{role} checked")
    assert "the revision is approved" in page and page.count("Withdraw my approval") == len(roles)
    assert "Every required approval is recorded" in page

    review = text(client.get(url))
    assert "Mark as sent…" in review and "Mark as accepted" not in review
    confirm = text(client.get(f"{url}/revisions/1/state/sent"))
    assert "Mark as sent?" in confirm and "valid until" in confirm
    page = _move(client, url, 1, "sent")
    until = re.search(r"Revision 1 is marked sent: the offer is valid until (\d{4}-\d\d-\d\d)",
                      page).group(1)
    assert f"Sent, valid until {until}" in page
    assert "Mark as accepted…" in page and "Mark as declined…" in page
    assert f"Sent, valid until {until}" in text(client.get(customer_url))
    page = text(approver.get(url))                      # sent: decisions are final
    assert "Withdraw my" not in page and "they can no longer change" in page
    refused = approver.post(f"{url}/revisions/1/withdraw-decision",
                            data={"csrf_token": token(approver, url), "role": roles[0]},
                            follow_redirects=True)
    assert "Revision 1 is sent: its approvals can no longer be withdrawn" in text(refused)

    proposal_url = f"{url}/revisions/1/proposal"
    proposal = text(client.get(proposal_url))
    assert f"Sent, valid until {until}" in proposal and f"Approved by {name}" in proposal
    assert "back=proposal" in proposal
    page = _move(client, url, 1, "accepted", back="proposal")
    assert "Revision 1 is marked accepted." in page and "Proposal for" in page
    assert '<span class="badge ok" data-state="accepted">Accepted</span>' in page
    again = client.post(f"{url}/revisions/1/state/declined",
                        data={"csrf_token": token(client, url)}, follow_redirects=True)
    assert "Revision 1 is accepted: it can be declined only when it is sent." in text(again)

    history = text(client.get(url + "/history"))
    with app.app_context():
        lead_name = accounts.get_user(db.session(), lead).name
    assert f"Accepted by {lead_name}" in history
    assert history.count(f"Approved by {name}") == len(roles)
    for role in roles:
        assert f"{role} checked" in history
    assert "Discount too deep" not in history             # withdrawn: no longer a decision


def test_moves_that_cannot_be_made_are_explained_never_a_traceback(client, app, hanseatic):
    sign_in(client, app)
    url = configure(client, create_customer(client, hanseatic))
    assert "Mark as" not in text(client.get(url))          # pending approval: nothing to send
    early = client.get(f"{url}/revisions/1/state/sent", follow_redirects=True)
    assert "Revision 1 is pending approval: it cannot be marked sent now." in text(early)
    refused = client.post(f"{url}/revisions/1/state/sent",
                          data={"csrf_token": token(client, url)}, follow_redirects=True)
    assert refused.status_code == 200
    assert "Revision 1 is pending approval: it can be sent only when it is approved." in \
        text(refused)
    assert client.get(f"{url}/revisions/1/state/expired").status_code == 404
    assert client.post(f"{url}/revisions/1/state/sent").status_code == 400     # no CSRF token
    assert client.get(f"{url}/revisions/9/state/sent").status_code == 404
    adjust(client, url, 1, action="quantity", module="handheld-scanner", quantity="80")
    older = text(client.get(url + "?revision=1"))
    assert "Replaced by revision 2" in older and "Mark as" not in older
    assert "Not decided: replaced by revision 2" in older
    assert "approvals are given there" in older
    refused = client.post(f"{url}/revisions/1/state/sent",
                          data={"csrf_token": token(client, url)}, follow_redirects=True)
    assert "replaced by revision 2: only the latest revision can be sent" in text(refused)


def test_a_sent_offer_past_its_date_reads_expired_everywhere_and_offers_no_move(
        client, app, hanseatic):
    sign_in(client, app)
    customer_url = create_customer(client, hanseatic)
    url = configure(client, customer_url)
    configuration_id = int(url.rsplit("/", 1)[1])
    approver = app.test_client()
    _give_roles(app, sign_in(approver, app), _roles_of(app, configuration_id))
    for role in _roles_of(app, configuration_id):
        _decide(approver, url, 1, role)
    _move(client, url, 1, "sent")
    with app.app_context():                  # a month later: valid_until has passed
        session = db.session()
        revision = session.scalars(select(Revision).where(
            Revision.configuration_id == configuration_id)).one()
        revision.valid_until = dt.datetime(2026, 1, 7, 12, 0, tzinfo=dt.timezone.utc)
        session.commit()
    review = text(client.get(url))
    assert "Expired on 2026-01-07" in review and "ran out on 2026-01-07" in review
    assert "Mark as" not in review
    assert "Expired on 2026-01-07" in text(client.get(customer_url))
    assert "Expired on 2026-01-07" in text(client.get(url + "/history"))
    refused = client.post(f"{url}/revisions/1/state/accepted",
                          data={"csrf_token": token(client, url)}, follow_redirects=True)
    assert "Revision 1 is expired: it can be accepted only when it is sent." in text(refused)


def test_an_approval_kept_by_the_next_revision_is_marked_on_the_review_and_the_history(
        client, app, hanseatic):
    sign_in(client, app)
    url = configure(client, create_customer(client, hanseatic))
    configuration_id = int(url.rsplit("/", 1)[1])
    roles = _roles_of(app, configuration_id)
    approver = app.test_client()
    name = _give_roles(app, sign_in(approver, app), roles)
    _decide(approver, url, 1, roles[0], note="Margins fine")
    client.post(url + "/reconfigure", data={"csrf_token": token(client, url),
                                            "base_revision": "1"})   # the same document again
    review = text(client.get(url))
    assert "Revision 2 of 2" in review and "kept from revision 1" in review
    assert review.count(">Waiting</span>") == len(roles) - 1
    first = text(client.get(url + "?revision=1"))
    assert f"Approved by {name}" in first and "Margins fine" in first
    assert first.count("Not decided: replaced by revision 2") == len(roles) - 1
    page = text(approver.get(url))
    assert "Withdraw my approval" in page     # a kept approval is still its approver's own
    for role in roles[1:]:
        page = _decide(approver, url, 2, role)
    assert "the revision is approved" in page
    history = text(client.get(url + "/history"))
    assert "Replaced by revision 2" in history and ">Approved</span>" in history
    assert history.count("kept from revision 1") == 1
    assert history.count(f"Approved by {name}") == len(roles) + 1


def test_each_change_makes_a_revision_recorded_with_who_made_it(client, app, hanseatic):
    email = sign_in(client, app)
    url = configure(client, create_customer(client, hanseatic))
    configuration_id = int(url.rsplit("/", 1)[1])
    steps = [dict(action="accept", module="training-elearning"),
             dict(action="quantity", module="handheld-scanner", quantity="80"),
             dict(action="discount", percent="3", applies_to="total", reason="Pilot customer"),
             dict(action="remove", module="rfid-dock-portal"),
             dict(action="add", module="health-check", quantity="")]
    for number, step in enumerate(steps, start=2):
        response = adjust(client, url, number - 1, **step)
        assert response.status_code == 302, text(response)
    with app.app_context():
        latest = get_revision(db.session(), configuration_id, 6)
    assert latest["created_by"] == email
    assert [a["action"] for a in latest["adjustments"]] == \
        ["accept", "quantity", "discount", "remove", "add"]
    assert all(a["by"] == email for a in latest["adjustments"])
    lines = {line["module"]: line for line in latest["document"]["lines"]}
    assert lines["handheld-scanner"]["quantity"] == 80 and "training-elearning" in lines
    assert "rfid-dock-portal" not in lines and "health-check" in lines
    page = text(client.get(url))
    assert "Revision 6 of 6" in page
    assert "Removed by the solution lead" in page and "Put it back" in page
    assert "Discount of 3% on the whole solution (Pilot customer)" in page
    # putting the module back withdraws the removal: revision 7
    index = [a["action"] for a in latest["adjustments"]].index("remove")
    response = client.post(url + "/withdraw", data={"csrf_token": token(client, url),
                                                    "base_revision": "6", "index": str(index)})
    assert response.status_code == 302
    with app.app_context():
        seventh = get_revision(db.session(), configuration_id, 7)
    assert "rfid-dock-portal" in {line["module"] for line in seventh["document"]["lines"]}
    # removing an accepted recommendation drops the acceptance instead of excluding it
    adjust(client, url, 7, action="remove", module="training-elearning")
    with app.app_context():
        eighth = get_revision(db.session(), configuration_id, 8)
    assert not any(a.get("module") == "training-elearning" for a in eighth["adjustments"])
    assert "training-elearning" in {r["module"] for r in eighth["document"]["recommendations"]}


def test_a_bad_change_is_explained_and_makes_no_revision(client, app, hanseatic):
    sign_in(client, app)
    url = configure(client, create_customer(client, hanseatic))
    response = adjust(client, url, 1, action="quantity", module="handheld-scanner",
                      quantity="lots")
    assert response.status_code == 422
    page = text(response)
    assert "That change was not made" in page
    assert "Quantity: must be a whole number" in page
    assert 'value="lots"' in page
    assert "Revision 1 of 1" in page
    response = adjust(client, url, 1, action="discount", percent="150", applies_to="total")
    assert response.status_code == 422 and "Percent: must be a number above 0" in text(response)
    assert "Revision 1 of 1" in text(client.get(url))


def test_a_change_from_a_page_showing_an_older_revision_changes_nothing(client, app, hanseatic):
    sign_in(client, app)
    url = configure(client, create_customer(client, hanseatic))
    assert adjust(client, url, 1, action="accept", module="training-elearning").status_code == 302
    stale = adjust(client, url, 1, action="quantity", module="handheld-scanner", quantity="5")
    assert stale.status_code == 302
    page = text(client.get(url))
    assert "changed since you opened it" in page and "Revision 2 of 2" in page
    old = text(client.get(url + "?revision=1"))
    assert "You are looking at revision 1" in old and "Adjust the solution" not in old


def test_two_changes_from_the_same_revision_at_once_make_exactly_one_revision(client, app,
                                                                                hanseatic):
    import threading
    sign_in(client, app)
    url = configure(client, create_customer(client, hanseatic))
    other = app.test_client()
    sign_in(other, app)
    forms = [(c, {"csrf_token": token(c, url), "base_revision": "1", "action": "quantity",
                  "module": "handheld-scanner", "quantity": str(q)})
             for c, q in ((client, 10), (other, 20))]
    results = []
    start = threading.Barrier(2)

    def post(c, data):
        start.wait()
        try:
            results.append(c.post(url + "/adjust", data=data).status_code)
        except Exception as exc:  # surfaced by the assertion below
            results.append(repr(exc))

    threads = [threading.Thread(target=post, args=pair) for pair in forms]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [302, 302]
    configuration_id = int(url.rsplit("/", 1)[1])
    with app.app_context():
        from configurator.store.configurations import get_configuration
        latest = get_configuration(db.session(), configuration_id)
    assert latest["revision"] == 2
    assert len(latest["adjustments"]) == 1
    pages = text(client.get(url)) + text(other.get(url))
    assert pages.count("changed since you opened it") == 1


def test_history_and_the_difference_between_two_revisions(client, app, hanseatic):
    email = sign_in(client, app)
    customer_url = create_customer(client, hanseatic)
    url = configure(client, customer_url)
    adjust(client, url, 1, action="accept", module="training-elearning")
    adjust(client, url, 2, action="quantity", module="handheld-scanner", quantity="80")
    history = text(client.get(url + "/history"))
    assert "Configured from the customer&#39;s profile" in history
    assert "Accepted the recommendation Northwind Academy e-learning" in history
    assert "Set the quantity of Rugged handheld scanner to 80" in history
    assert history.count(f"<td>Solution-Lead {email[:6]}</td>") == 3
    diff = text(client.get(url + "/diff?from=1&to=3"))
    assert "What changed from revision 1 to 3" in diff
    assert "+ Northwind Academy e-learning" in diff
    assert re.search(r"72 → <strong>80</strong>", diff)
    assert "+7,600.00" in diff
    assert "No longer recommended: Northwind Academy e-learning" in diff
    assert client.get(url + "/diff?from=0&to=9").status_code == 302
    # the profile changes: the review offers to re-configure, the history says what changed
    data = profile_form_data({**hanseatic, "sites": 8})
    data["csrf_token"] = token(client, customer_url + "/profile")
    client.post(customer_url + "/profile", data=data)
    review = text(client.get(url))
    assert "The customer's profile was changed" in review
    response = client.post(url + "/reconfigure", data={"csrf_token": token(client, url),
                                                       "base_revision": "3"})
    assert response.status_code == 302
    history = text(client.get(url + "/history"))
    assert "Operating sites: 6 → 8" in history
    diff = text(client.get(url + "/diff?from=3&to=4"))
    assert "Profile: Operating sites: 6 → 8" in diff


def test_diff_documents_names_every_kind_of_change():
    line = {"module": "a", "name": "A", "quantity": 1, "unit_price": 10, "discount_percent": 0,
            "total": 10, "billing": "one_time", "reasons": []}
    totals = {"one_time": 10, "monthly": 0, "yearly": 0, "annual_recurring": 0,
              "first_year": 10, "currency": "USD"}
    old = {"status": "ok", "lines": [line], "approvals": [], "recommendations": [],
           "exclusions": [], "conflicts": [], "totals": totals}
    new = {**old, "status": "approval_required",
           "lines": [{**line, "quantity": 2, "total": 20}, {**line, "module": "b", "name": "B"}],
           "approvals": [{"role": "finance", "reasons": []}],
           "totals": {**totals, "one_time": 30, "first_year": 30}}
    diff = changes.diff_documents(old, new)
    assert [x["module"] for x in diff["added"]] == ["b"] and not diff["removed"]
    assert diff["changed"][0]["keys"] == ["quantity", "total"] and diff["changed"][0]["delta"] == 10
    assert diff["approvals_added"][0]["role"] == "finance"
    assert diff["status"] == ("ok", "approval_required") and not diff["same"]
    assert changes.diff_documents(old, old)["same"]


def test_the_pages_have_words_for_every_status_billing_and_total_of_the_document():
    assert set(formatting.STATE) == set(workflow.STATES)
    until = dt.datetime(2027, 1, 7, 9, 30, tzinfo=dt.timezone.utc)
    assert formatting.state_label("sent", until) == "Sent, valid until 2027-01-07"
    assert formatting.state_label("expired", until) == "Expired on 2027-01-07"
    assert formatting.state_label("superseded", None, 4) == "Replaced by revision 4"
    assert formatting.state_label("pending_approval") == "Pending approval"
    assert set(formatting.STATUS) == set(document.STATUSES)
    assert set(formatting.BILLING) == set(document.BILLINGS)
    assert [key for key, _ in formatting.TOTALS] == list(document.TOTAL_KEYS)
    assert list(changes.TOTAL_LABELS) == list(document.TOTAL_KEYS)


# --- the product-manager page -------------------------------------------------------------------

def test_product_manager_sees_content_status_rules_and_tries_a_profile(client, app, hanseatic):
    sign_in(client, app, "product-manager")
    page = text(client.get("/content"))
    content = app.extensions["configurator.content"]
    assert content.status.version in page and "Passed" in page
    assert "Stage: segment" in page and "Stage: approval" in page
    assert 'id="rule-sol-log-warehouse"' in page
    assert "- id: sol-log-warehouse" in page                       # the rule's own YAML
    response = client.post("/content/try", data={"csrf_token": token(client, "/content"),
                                                 "profile": json.dumps(hanseatic)})
    assert response.status_code == 200
    result = text(response)
    assert "Trace: the rules that fired, in order" in result
    assert "seg-account-score" in result and "derived account score 15" in result
    assert "Rugged handheld scanner" in result and "Northwind Academy e-learning" in result
    bad = client.post("/content/try", data={"csrf_token": token(client, "/content"),
                                            "profile": "name: [oops\n"})
    assert bad.status_code == 422 and "Line 2" in text(bad)
    invalid = client.post("/content/try", data={"csrf_token": token(client, "/content"),
                                                "profile": "name: Acme\nsites: -1\n"})
    assert invalid.status_code == 422 and "profile.sites:" in text(invalid)


def test_content_page_shows_a_broken_pack_with_file_and_line(database_url, tmp_path):
    root = write_pack(tmp_path, {"broken.yaml": """
        ruleset: broken
        stage: solution
        rules:
          - id: r1
            when: {profile.sitez: 3}
            then: [{include: core}]
        """})
    content = Content(root, trial=False)
    content.load()
    app = create_app({"TESTING": True, "DATABASE_URL": database_url, "SECRET_KEY": "t",
                      "CONTENT_TRIAL": False}, content=content)
    client = app.test_client()
    sign_in(client, app, "admin")
    page = text(client.get("/content"))
    assert "Failed" in page and "rules/broken.yaml:5" in page
    assert "The content pack is not usable" in text(client.get("/customers/new"))
    app.extensions["configurator.db"].dispose()


RELOAD_RULE = """
    ruleset: extra
    stage: solution
    rules:
      - id: extra-core
        when: {profile.sites: {gt: 1}}
        then: [{include: core}]
    """


def test_product_manager_loads_the_files_on_disk_from_the_page(database_url, tmp_path):
    root = write_pack(tmp_path, {"base.yaml": RELOAD_RULE.replace("extra", "base")})
    content = Content(root, trial=False)
    assert content.load().ok
    first = content.status.version
    app = create_app({"TESTING": True, "DATABASE_URL": database_url, "SECRET_KEY": "t",
                      "CONTENT_TRIAL": False}, content=content)
    lead, manager = app.test_client(), app.test_client()
    sign_in(lead, app, "solution-lead")
    sign_in(manager, app, "product-manager")

    def reload(client, page: str = "/content"):
        return client.post("/content/reload", data={"csrf_token": token(client, page)})

    assert reload(lead, "/customers").status_code == 403
    unchanged = manager.get(reload(manager).headers["Location"])
    assert "nothing changed" in text(unchanged) and content.status.version == first

    write_pack(root, {"extra.yaml": RELOAD_RULE})                     # a good edit
    response = reload(manager)
    assert response.status_code == 302 and response.headers["Location"].endswith("/content")
    second = content.status.version
    page = text(manager.get("/content"))
    assert second != first and f"version {second[:12]} is served now" in page
    assert 'id="rule-extra-core"' in page

    write_pack(root, {"broken.yaml": RELOAD_RULE.replace("extra", "broken")    # a broken one
                      .replace("profile.sites", "profile.sitez")})
    page = text(manager.get(reload(manager).headers["Location"]))
    assert "were not loaded: 1 error" in page and f"version {second[:12]} keeps serving" in page
    assert "rules/broken.yaml:5" in page and "Failed" in page
    assert content.status.version == second and content.pipeline.pack.version == second
    app.extensions["configurator.db"].dispose()


# --- users ------------------------------------------------------------------------------------------

def test_admin_creates_deactivates_and_reactivates_users(client, app):
    sign_in(client, app, "admin")
    email = f"new-{secrets.token_hex(3)}@example.com"
    response = client.post("/admin/users", data={"csrf_token": token(client, "/admin/users"),
                                                 "email": email, "name": "New Lead",
                                                 "role": "solution-lead", "password": ""})
    assert response.status_code == 302
    flashed = text(client.get("/admin/users"))
    password = re.search(r"Their password is (\S+) \(shown once", flashed).group(1)
    assert email in flashed
    bad = client.post("/admin/users", data={"csrf_token": token(client, "/admin/users"),
                                            "email": "not-an-email", "name": "", "role": "boss",
                                            "password": "short"})
    assert bad.status_code == 422
    for message in ("Enter an email address", "Enter the person", "Choose one of",
                    "at least 8 characters"):
        assert message in text(bad)
    other = app.test_client()
    assert other.post("/sign-in", data={"csrf_token": token(other), "email": email,
                                        "password": password}).status_code == 302
    assert other.get("/customers").status_code == 200
    with app.app_context():
        user_id = accounts.get_user(db.session(), email).id
    client.post(f"/admin/users/{user_id}/active", data={"csrf_token": token(client, "/admin/users"),
                                                        "active": "false"})
    assert other.get("/customers").status_code == 302            # their session has ended
    assert other.post("/sign-in", data={"csrf_token": token(other), "email": email,
                                        "password": password}).status_code == 401
    client.post(f"/admin/users/{user_id}/active", data={"csrf_token": token(client, "/admin/users"),
                                                        "active": "true"})
    client.post(f"/admin/users/{user_id}/role", data={"csrf_token": token(client, "/admin/users"),
                                                      "role": "product-manager"})
    assert other.post("/sign-in", data={"csrf_token": token(other), "email": email,
                                        "password": password}).location == "/"
    assert other.get("/").location == "/content"


def test_admin_gives_and_takes_approver_roles_the_rules_name(client, app, content):
    sign_in(client, app, "admin")
    named = content.pack.approver_roles
    assert {"finance", "legal"} <= set(named)
    person = make_user(app)
    with app.app_context():
        session = db.session()
        user = accounts.get_user(session, person)
        accounts.set_approver_roles(session, user.id, ["board"])   # as the CLI may, any name
        session.commit()
    page = text(client.get("/admin/users"))
    form = page[page.index(f'id="approver-roles-{user.id}"'):]
    form = form[:form.index("</form>")]
    for role in named:
        assert f'value="{role}"' in form
    assert re.search(r'value="board" checked> Board <span class="muted small">\(the rules no '
                     r'longer name it\)', form)
    assert f"The rules name {', '.join(r.replace('-', ' ') for r in named)}." in page

    def save(*roles: str) -> str:
        data = MultiDict([("csrf_token", token(client, "/admin/users"))] +
                         [("roles", role) for role in roles])
        return text(client.post(f"/admin/users/{user.id}/approver-roles", data=data,
                                follow_redirects=True))

    page = save("board", "finance", "legal")
    assert f"{user.name} now approves as board, finance and legal (added finance and legal)." \
        in page
    page = save("finance", "legal")
    assert "now approves as finance and legal (removed board)" in page
    assert 'value="board"' not in page                 # gone once unticked
    assert "approver roles are unchanged: finance and legal" in save("finance", "legal")
    page = save("finance", "finanse")
    assert "`finanse` is not an approver role the rules name" in page
    assert "Nothing was changed" in page
    assert "`board` is not an approver role" in save("board")   # given up: not offered again
    assert "now approves nothing any more (removed finance and legal)" in save()
    with app.app_context():
        assert accounts.get_user(db.session(), person).approver_roles == ()
    assert client.post("/admin/users/2147483000/approver-roles",
                       data={"csrf_token": token(client, "/admin/users")}).status_code == 404
    lead = app.test_client()
    sign_in(lead, app)
    assert lead.post(f"/admin/users/{user.id}/approver-roles",
                     data={"csrf_token": token(lead, "/customers"),
                           "roles": "finance"}).status_code == 403


def test_an_admin_cannot_lock_themselves_out(client, app):
    email = sign_in(client, app, "admin")
    with app.app_context():
        me = accounts.get_user(db.session(), email).id
    response = client.post(f"/admin/users/{me}/active",
                           data={"csrf_token": token(client, "/admin/users"), "active": "false"})
    assert "You cannot deactivate yourself" in text(client.get(response.location))
    assert client.get("/admin/users").status_code == 200


def test_change_your_own_password(client, app):
    email = sign_in(client, app)
    wrong = client.post("/account", data={"csrf_token": token(client, "/account"),
                                          "current": "nope", "password": "new-password-1",
                                          "confirm": "new-password-1"})
    assert wrong.status_code == 422 and "not your current password" in text(wrong)
    ok = client.post("/account", data={"csrf_token": token(client, "/account"),
                                       "current": PASSWORD, "password": "new-password-1",
                                       "confirm": "new-password-1"})
    assert ok.status_code == 302
    assert client.get("/customers").status_code == 200                 # still signed in here
    with app.app_context():
        assert accounts.authenticate(db.session(), email, "new-password-1") is not None


def test_passwords_are_stored_hashed(app):
    email = make_user(app)
    with app.app_context():
        from sqlalchemy import select
        from configurator.store.models import User
        stored = db.session().scalars(select(User).where(User.email == email)).one()
    assert PASSWORD not in stored.password_hash
    assert stored.password_hash.startswith(("scrypt:", "pbkdf2:"))


# --- the `configurator user` commands ---------------------------------------------------------------

@pytest.fixture
def user_cli(database_url, monkeypatch):
    import click

    @click.group()
    def cli():
        pass

    register_users(cli)
    monkeypatch.setenv("DATABASE_URL", database_url)
    return cli


def test_user_commands_create_list_deactivate(user_cli, runner):
    email = f"cli-{secrets.token_hex(3)}@example.com"
    created = runner.invoke(user_cli, ["user", "create", email, "--name", "Cli Lead",
                                       "--role", "product-manager"])
    assert created.exit_code == 0, created.output
    password = re.search(r"password: (\S+)", created.output).group(1)
    assert len(password) >= 16
    listed = runner.invoke(user_cli, ["user", "list"])
    assert email in listed.output and "product-manager" in listed.output
    again = runner.invoke(user_cli, ["user", "create", email, "--name", "X"])
    assert again.exit_code == 1 and "exists already" in again.output
    assert runner.invoke(user_cli, ["user", "deactivate", email]).exit_code == 0
    assert "deactivated" in runner.invoke(user_cli, ["user", "list"]).output
    changed = runner.invoke(user_cli, ["user", "set-password", email, "--password-stdin"],
                            input="another-password\n")
    assert changed.exit_code == 0
    assert runner.invoke(user_cli, ["user", "activate", "nobody@example.com"]).exit_code == 1


def test_ensure_demo_creates_the_demo_user_once_and_prints_its_credentials(user_cli, tmp_path,
                                                                           database_url, runner):
    secret = tmp_path / "demo-password"
    first = runner.invoke(user_cli, ["user", "ensure-demo", "--password-file", str(secret)])
    assert first.exit_code == 0, first.output
    password = secret.read_text().strip()
    assert f"email demo@example.com  password {password}" in first.output
    assert (secret.stat().st_mode & 0o777) == 0o600
    second = runner.invoke(user_cli, ["user", "ensure-demo", "--password-file", str(secret)])
    assert password in second.output and ("unchanged" in second.output
                                          or "created" not in second.output)
    from configurator.store.db import make_engine
    from sqlalchemy.orm import Session
    engine = make_engine(database_url)
    with Session(engine) as session:
        assert accounts.authenticate(session, "demo@example.com", password).role == "admin"
    engine.dispose()


def test_a_form_posted_after_the_session_ended_leads_back_to_its_page_after_sign_in(client, app):
    response = client.post("/configurations/1/adjust", data={},
                           headers={"Referer": "http://localhost/configurations/1?revision=2"})
    from urllib.parse import parse_qs, urlsplit

    def next_of(location: str) -> list[str] | None:
        parts = urlsplit(location)
        assert parts.path == "/sign-in"
        return parse_qs(parts.query).get("next")

    assert response.status_code == 302
    assert next_of(response.location) == ["/configurations/1?revision=2"]
    outside = client.post("/customers/new", headers={"Referer": "https://evil.example/x"})
    assert next_of(outside.location) is None
    assert next_of(client.get("/customers?q=a").location) == ["/customers?q=a"]


def test_ids_beyond_the_database_integer_are_404_pages(client, app):
    sign_in(client, app, "admin")
    for url in ("/configurations/99999999999999999999", "/customers/99999999999999999999",
                "/configurations/0"):
        response = client.get(url)
        assert response.status_code == 404, url
        assert "Traceback" not in text(response)
