"""The users API (scope `users:admin`, only the admin role has it): list the users, set the
approver roles one holds; the same rule as the users page (a role the rules name, or one held
already). Every test runs on SQLite and PostgreSQL."""
from __future__ import annotations

from configurator.accounts import services as accounts
from configurator.accounts.roles import ROLE_SCOPES, SCOPES
from configurator.content.yamlfile import plain, read_yaml

from helpers import REPO, keyed_client, make_api_key, person_client, unique

PROBLEM = "application/problem+json"


def problem(response, status: int) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM
    return response.get_json(force=True)


def roles_url(email: str) -> str:
    return f"/api/v1/users/{email}/approver-roles"


def test_the_list_names_each_user_with_role_status_and_approver_roles(app, client):
    person = person_client(app, "Fin Ance", ("finance", "legal")).user
    listed = client.get("/api/v1/users")
    assert listed.status_code == 200
    found = next(u for u in listed.get_json() if u["email"] == person.email)
    assert found == {"email": person.email, "name": "Fin Ance", "role": "solution-lead",
                     "active": True, "approver_roles": ["finance", "legal"]}


def test_roles_set_through_the_api_let_the_user_approve_at_once(app, client):
    lead = person_client(app, "Lea Lead")
    kestrel = plain(read_yaml(REPO / "examples" / "kestrel-network-systems-ltd.yaml"))
    deal = lead.post("/api/v1/configurations",
                     json={"profile": {**kestrel, "name": unique("Users API")}}).get_json()
    approver = person_client(app, "Ada Approver")
    approvals = f"/api/v1/configurations/{deal['id']}/revisions/1/approvals"
    problem(approver.post(approvals, json={"role": "finance"}), 403)
    done = client.put(roles_url(approver.user.email.upper()), json={"roles": ["finance"]})
    assert done.status_code == 200, done.get_json()
    assert done.get_json()["approver_roles"] == ["finance"]
    assert approver.post(approvals, json={"role": "finance"}).status_code == 201
    cleared = client.put(roles_url(approver.user.email), json={"roles": []}).get_json()
    assert cleared["approver_roles"] == []


def test_a_role_the_rules_do_not_name_is_422_unless_the_user_holds_it(app, client):
    person = person_client(app, "Old Board").user
    with app.extensions["configurator.db"].sessions() as session:
        accounts.set_approver_roles(session, person.id, ["board"])    # as the CLI may
        session.commit()
    body = problem(client.put(roles_url(person.email), json={"roles": ["finance", "finanse"]}),
                   422)
    assert list(body["errors"]) == ["roles"]
    assert "`finanse` is not an approver role the rules name" in body["errors"]["roles"][0]
    kept = client.put(roles_url(person.email), json={"roles": ["board", "finance"]})
    assert kept.status_code == 200 and kept.get_json()["approver_roles"] == ["board", "finance"]
    assert client.put(roles_url(person.email), json={"roles": ["finance"]}).status_code == 200
    problem(client.put(roles_url(person.email), json={"roles": ["board"]}), 422)
    body = problem(client.put(roles_url(person.email), json={"roles": ["Not A Role"]}), 422)
    assert "is not a role name" in body["errors"]["roles"][0]


def test_bad_bodies_and_unknown_users_are_problems(app, client):
    person = person_client(app, "Shape Shifter").user
    for bad in ({}, {"roles": "finance"}, {"roles": [""]}, {"roles": [], "extra": 1}):
        body = problem(client.put(roles_url(person.email), json=bad), 422)
        assert body["errors"], bad
    body = problem(client.put(roles_url("nobody@example.com"), json={"roles": []}), 404)
    assert "no user with email nobody@example.com" in body["detail"]
    problem(client.put(roles_url("a%00b@example.com"), json={"roles": []}), 404)
    problem(client.put(roles_url("x" * 3000), json={"roles": []}), 404)
    problem(client.put(roles_url(person.email), data="roles=finance",
                       content_type="application/x-www-form-urlencoded"), 415)


def test_only_a_key_with_users_admin_may_list_or_change_users(app):
    assert ROLE_SCOPES["admin"] >= {"users:admin"}
    assert all("users:admin" not in scopes for role, scopes in ROLE_SCOPES.items()
               if role != "admin")
    person = person_client(app, "Key Less").user
    every_other = keyed_client(app, make_api_key(app, tuple(s for s in SCOPES
                                                           if s != "users:admin")))
    for response in (every_other.get("/api/v1/users"),
                     every_other.put(roles_url(person.email), json={"roles": ["finance"]})):
        body = problem(response, 403)
        assert body["required_scope"] == "users:admin"
    problem(app.test_client().get("/api/v1/users"), 401)


def test_the_openapi_document_describes_the_users_operations(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    listing = spec["paths"]["/api/v1/users"]["get"]
    put = spec["paths"]["/api/v1/users/{email}/approver-roles"]["put"]
    for operation in (listing, put):
        assert "`users:admin`" in operation["description"]
        assert {"401", "403", "429"} <= set(operation["responses"])
    assert {"200", "404", "422", "415"} <= set(put["responses"])
    assert spec["components"]["schemas"]["ApproverRoles"]["required"] == ["roles"]
    assert set(spec["components"]["schemas"]["User"]["properties"]) == {
        "email", "name", "role", "active", "approver_roles"}
