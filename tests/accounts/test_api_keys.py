"""API keys: every operation needs one (but health and the API documents), scopes decide what a
key may do, keys are stored hashed, revoked and rotated with the CLI, and rate-limited per key."""
from __future__ import annotations

import datetime as dt
import json
import re
import secrets

import click
import pytest
from sqlalchemy import select, text

from configurator.accounts import apikeys
from configurator.cli.users import register as register_accounts
from configurator.accounts.roles import ROLE_SCOPES, SCOPES, allowed
from configurator.api import auth
from configurator.app import create_app
from configurator.store.models import ApiKey

from helpers import keyed_client, make_api_key, unique

PROBLEM = "application/problem+json"
# Values for the URL variables of every API route; the resources need not exist: a request the
# key may make gets past the key check (200, 404, 422, ...), one it may not gets 401 or 403.
URL_VALUES = {"configuration_id": 1, "number": 1, "proposal_id": 1, "family_id": "x",
              "module_id": "x"}


def api_operations(app) -> list[tuple[str, str, str]]:
    """(endpoint, method, url) of every operation under /api/."""
    found = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/"):
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            url = rule.rule
            for name in rule.arguments:
                url = re.sub(rf"<([^<>:]+:)?{name}>", str(URL_VALUES.get(name, "x")), url)
            found.append((rule.endpoint, method, url))
    return found


def call(client, method: str, url: str):
    body = {} if method in ("POST", "PUT", "PATCH") else None
    return client.open(url, method=method, json=body)


def assert_problem(response, status: int) -> dict:
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True))
    assert response.mimetype == PROBLEM
    return response.get_json(force=True)


# --- which operations need which scope ----------------------------------------------------------

def test_every_api_operation_is_public_or_has_a_declared_scope(app):
    operations = api_operations(app)
    undeclared = [(endpoint, method) for endpoint, method, _ in operations
                  if endpoint not in auth.PUBLIC_ENDPOINTS
                  and (endpoint, method) not in auth.OPERATION_SCOPES]
    assert undeclared == []
    routed = {(endpoint, method) for endpoint, method, _ in operations}
    assert set(auth.OPERATION_SCOPES) <= routed, "the table names an operation that is gone"
    assert set(auth.OPERATION_SCOPES.values()) == set(SCOPES)


def test_health_and_the_api_documents_need_no_key(app):
    anonymous = app.test_client()
    assert anonymous.get("/api/v1/health").status_code in (200, 503)
    assert anonymous.get("/api/v1/openapi.json").status_code == 200
    assert anonymous.get("/api/v1/docs").status_code == 200


def test_without_a_key_every_other_operation_is_401_with_a_bearer_challenge(app):
    anonymous = app.test_client()
    checked = 0
    for endpoint, method, url in api_operations(app):
        if endpoint in auth.PUBLIC_ENDPOINTS:
            continue
        response = call(anonymous, method, url)
        body = assert_problem(response, 401)
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        assert "Authorization: Bearer" in body["detail"]
        checked += 1
    assert checked == len(auth.OPERATION_SCOPES)


@pytest.mark.parametrize("header", [
    "Bearer cfg_0123abcd_" + "A" * 43,          # well formed, unknown
    "Bearer not-a-key",                         # malformed
    "Basic dXNlcjpwYXNz",                      # another scheme
    "Bearer ",                                  # empty
])
def test_a_bad_key_is_401(app, header):
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = header
    assert_problem(client.get("/api/v1/catalog/families"), 401)


def test_a_key_whose_secret_is_wrong_is_401(app):
    key = make_api_key(app)
    forged = key[:-1] + ("A" if key[-1] != "A" else "B")
    assert_problem(keyed_client(app, forged).get("/api/v1/catalog/families"), 401)
    assert keyed_client(app, key).get("/api/v1/catalog/families").status_code == 200


@pytest.mark.parametrize("scope", SCOPES)
def test_a_key_may_do_exactly_what_its_scope_allows(app, scope):
    client = keyed_client(app, make_api_key(app, (scope,)))
    for endpoint, method, url in api_operations(app):
        needed = auth.required_scope(endpoint, method)
        response = call(client, method, url)
        if needed is None or needed == scope:
            assert response.status_code not in (401, 403), (endpoint, method,
                                                              response.get_json())
        else:
            body = assert_problem(response, 403)
            assert body["required_scope"] == needed
            assert repr(needed) in body["detail"] and scope in body["detail"]


def test_a_configure_key_configures_and_cannot_reload_content(app, example_profiles):
    client = keyed_client(app, make_api_key(app, ("configure",)))
    profile = {**example_profiles[0]["profile"], "name": unique("Scoped")}
    assert client.post("/api/v1/configurations", json={"profile": profile}).status_code == 201
    assert_problem(client.post("/api/v1/content/reload"), 403)


# --- storage, revocation, rotation --------------------------------------------------------------

def test_keys_are_stored_as_a_hash_only(app, db_session):
    info, key = apikeys.create(db_session, "crm-sync", ["configure"])
    assert re.fullmatch(r"cfg_[0-9a-f]{8}_[A-Za-z0-9_-]{43}", key)
    row = db_session.scalar(select(ApiKey).where(ApiKey.prefix == info.prefix))
    assert row.secret_sha256 == apikeys.digest(key)
    stored = db_session.execute(text("SELECT * FROM api_keys WHERE prefix = :p"),
                                {"p": info.prefix}).one()
    secret = key.split("_", 2)[2]           # the secret itself may contain "_"
    assert all(secret not in str(value) for value in stored)


def test_a_revoked_key_stops_working(content, database_url):
    app = create_app({"TESTING": True, "DATABASE_URL": database_url, "SECRET_KEY": "t",
                      "CONTENT_TRIAL": False, "API_KEY_CACHE_SECONDS": 0}, content=content)
    try:
        key = make_api_key(app)
        client = keyed_client(app, key)
        assert client.get("/api/v1/catalog/families").status_code == 200
        with app.extensions["configurator.db"].sessions() as session:
            apikeys.revoke(session, key.split("_")[1])
            session.commit()
        assert_problem(client.get("/api/v1/catalog/families"), 401)
    finally:
        app.extensions["configurator.db"].dispose()


def test_rotation_gives_a_new_key_and_ends_the_old_after_the_grace(db_session):
    info, old_key = apikeys.create(db_session, "erp", ["configure", "proposals"],
                                   rate_limit="100/minute")
    new, new_key, old = apikeys.rotate(db_session, info.prefix, grace=dt.timedelta(hours=1))
    assert new_key != old_key and new.prefix != info.prefix
    assert (new.name, new.scopes, new.rate_limit) == ("erp", info.scopes, "100/minute")
    assert new.replaces_id == info.id
    assert apikeys.authenticate(db_session, new_key) == new
    assert apikeys.authenticate(db_session, old_key) is not None  # still in its grace
    assert old.status() == "expiring"
    later = old.expires_at + dt.timedelta(seconds=1)
    assert not old.active(later) and new.active(later)
    _, _, ended = apikeys.rotate(db_session, new.prefix)  # no grace: at once
    assert not ended.active()
    assert apikeys.authenticate(db_session, new_key) is None
    with pytest.raises(apikeys.ApiKeyInvalid, match="only an active key can be rotated"):
        apikeys.rotate(db_session, new.prefix)


@pytest.mark.parametrize("name, scopes, rate, field", [
    ("", ["configure"], None, "name"),
    ("x", [], None, "scopes"),
    ("x", ["root"], None, "scopes"),
    ("x", ["configure"], "lots", "rate_limit"),
])
def test_invalid_keys_are_refused_naming_the_field(db_session, name, scopes, rate, field):
    with pytest.raises(apikeys.ApiKeyInvalid) as caught:
        apikeys.create(db_session, name, scopes, rate_limit=rate)
    assert list(caught.value.errors) == [field]


@pytest.fixture
def key_cli(database_url, monkeypatch):
    @click.group()
    def cli():
        pass

    register_accounts(cli)
    monkeypatch.setenv("DATABASE_URL", database_url)
    return cli


def test_apikey_commands_create_list_rotate_revoke(key_cli, app, runner):
    name = f"cli-{secrets.token_hex(3)}"
    created = runner.invoke(key_cli, ["apikey", "create", "--name", name, "--scope", "configure",
                                      "--scope", "catalog:read", "--rate-limit", "50/second"])
    assert created.exit_code == 0, created.output
    key = created.stdout.strip()
    assert re.fullmatch(r"cfg_[0-9a-f]{8}_\S{43}", key), "stdout is the key alone"
    prefix = key.split("_")[1]
    assert keyed_client(app, key).get("/api/v1/catalog/families").status_code == 200

    listed = json.loads(runner.invoke(key_cli, ["apikey", "list", "--json"]).stdout)
    mine = next(k for k in listed if k["prefix"] == prefix)
    assert mine["scopes"] == ["catalog:read", "configure"] and mine["status"] == "active"
    assert mine["rate_limit"] == "50/second"
    assert key.split("_", 2)[2] not in runner.invoke(key_cli, ["apikey", "list", "--all"]).output

    rotated = runner.invoke(key_cli, ["apikey", "rotate", prefix, "--grace", "600"])
    assert rotated.exit_code == 0, rotated.output
    new_key = rotated.stdout.strip()
    assert new_key != key and "works until" in rotated.stderr
    revoked = runner.invoke(key_cli, ["apikey", "revoke", new_key.split("_")[1]])
    assert revoked.exit_code == 0 and "revoked" in revoked.output

    unknown = runner.invoke(key_cli, ["apikey", "revoke", "ffffffff"])
    assert unknown.exit_code == 1 and "no API key with prefix" in unknown.output
    bad = runner.invoke(key_cli, ["apikey", "create", "--name", "x", "--scope", "root"])
    assert bad.exit_code == 2 and "root" in bad.output


# --- rate limits ----------------------------------------------------------------------------------

def test_a_key_over_its_rate_gets_429_with_retry_after_and_others_are_unaffected(app):
    slow = keyed_client(app, make_api_key(app, rate_limit="3/minute"))
    assert [slow.get("/api/v1/catalog/families").status_code for _ in range(3)] == [200] * 3
    response = slow.get("/api/v1/catalog/families")
    body = assert_problem(response, 429)
    assert 1 <= int(response.headers["Retry-After"]) <= 61
    assert "3 per 1 minute" in body["detail"]
    assert keyed_client(app).get("/api/v1/catalog/families").status_code == 200
    assert app.test_client().get("/api/v1/health").status_code in (200, 503)


def _redis_reachable() -> bool:
    import redis
    try:
        return bool(redis.Redis(host="127.0.0.1", port=6379, socket_timeout=1).ping())
    except redis.RedisError:
        return False


@pytest.mark.skipif(not _redis_reachable(), reason="Redis is not reachable at 127.0.0.1:6379")
def test_with_redis_the_rate_is_shared_by_every_worker(content, database_url):
    """Two apps stand for two gunicorn workers: with redis:// storage they share one count."""
    config = {"TESTING": True, "DATABASE_URL": database_url, "SECRET_KEY": "t",
              "CONTENT_TRIAL": False, "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379"}
    first = create_app(config, content=content)
    second = create_app(config, content=content)
    try:
        key = make_api_key(first, rate_limit="4/minute")
        statuses = [keyed_client(app, key).get("/api/v1/catalog/families").status_code
                    for app in (first, second, first, second, first)]
        assert statuses == [200, 200, 200, 200, 429]
    finally:
        first.extensions["configurator.db"].dispose()
        second.extensions["configurator.db"].dispose()


# --- the OpenAPI document and the web roles -------------------------------------------------------

def test_the_openapi_document_says_which_scope_each_operation_needs(app):
    spec = app.test_client().get("/api/v1/openapi.json").get_json()
    assert spec["components"]["securitySchemes"]["apiKey"]["scheme"] == "bearer"
    assert spec["paths"]["/api/v1/health"]["get"]["security"] == []
    create = spec["paths"]["/api/v1/configurations"]["post"]
    assert create["security"] == [{"apiKey": []}]
    assert "`configure`" in create["description"]
    assert {"401", "403", "429"} <= set(create["responses"])
    reload = spec["paths"]["/api/v1/content/reload"]["post"]
    assert "`content:admin`" in reload["description"]


def test_web_roles_are_sets_of_the_same_scopes():
    assert ROLE_SCOPES["admin"] == set(SCOPES)
    assert allowed("solution-lead", "customers") and not allowed("solution-lead", "content")
    assert allowed("product-manager", "content") and not allowed("product-manager", "customers")
    assert allowed("admin", "users") and not allowed("solution-lead", "users")


def test_apikey_ensure_demo_keeps_one_working_key(key_cli, app, tmp_path, runner):
    key_file = tmp_path / "var" / "demo-api-key"
    first = runner.invoke(key_cli, ["apikey", "ensure-demo", "--key-file", str(key_file)])
    assert first.exit_code == 0, first.output
    key = key_file.read_text().strip()
    assert "created" in first.output and key in first.output
    assert key_file.stat().st_mode & 0o077 == 0
    again = runner.invoke(key_cli, ["apikey", "ensure-demo", "--key-file", str(key_file)])
    assert "kept" in again.output and key_file.read_text().strip() == key
    assert keyed_client(app, key).get("/api/v1/content").status_code == 200
    with app.extensions["configurator.db"].sessions() as session:  # revoked: a new one is made
        apikeys.revoke(session, key.split("_")[1])
        session.commit()
    third = runner.invoke(key_cli, ["apikey", "ensure-demo", "--key-file", str(key_file)])
    assert "created" in third.output and key_file.read_text().strip() != key


def _keys_app(content, database_url, **config):
    return create_app({"TESTING": True, "DATABASE_URL": database_url, "SECRET_KEY": "t",
                       "CONTENT_TRIAL": False, "API_AUTH_FAILURE_LIMIT": "5/minute", **config},
                      content=content)


def _guesser(app, address: str = "127.0.0.1", key: str | None = None):
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {key or 'cfg_0123abcd_' + 'A' * 43}"
    client.environ_base["REMOTE_ADDR"] = address
    return client


def test_apikey_ensure_demo_replaces_a_kept_key_that_lacks_a_scope(key_cli, app, tmp_path,
                                                                   runner):
    """A demo key made before a scope was added (users:admin) is replaced, since the demo key
    is the one with every scope."""
    key_file = tmp_path / "demo-api-key"
    assert runner.invoke(key_cli, ["apikey", "ensure-demo", "--key-file", str(key_file)]
                         ).exit_code == 0
    with app.extensions["configurator.db"].sessions() as session:
        demo_user = apikeys.authenticate(session, key_file.read_text().strip()).user_id
    old = make_api_key(app, tuple(s for s in SCOPES if s != "users:admin"), user_id=demo_user)
    key_file.write_text(old)
    again = runner.invoke(key_cli, ["apikey", "ensure-demo", "--key-file", str(key_file)])
    assert "created" in again.output, again.output
    new = key_file.read_text().strip()
    assert new != old and keyed_client(app, new).get("/api/v1/users").status_code == 200


def test_invalid_keys_from_an_address_get_429_and_never_block_a_valid_key_from_it(content,
                                                                                database_url):
    app = _keys_app(content, database_url)
    try:
        guesser = _guesser(app)
        statuses = [guesser.get("/api/v1/catalog/families").status_code for _ in range(5)]
        assert statuses == [401] * 5
        refused = guesser.get("/api/v1/catalog/families")
        body = assert_problem(refused, 429)
        assert 1 <= int(refused.headers["Retry-After"]) <= 61
        assert "Too many invalid API keys from this address" in body["detail"]
        another_bad_key = _guesser(app, key=f"cfg_{secrets.token_hex(4)}_" + "B" * 43)
        assert_problem(another_bad_key.get("/api/v1/catalog/families"), 429)
        # a valid key from the same address: one verified before and one never seen (the
        # database is asked), on every request, however many invalid keys keep coming
        known = keyed_client(app)
        assert known.get("/api/v1/catalog/families").status_code == 200
        assert_problem(guesser.get("/api/v1/catalog/families"), 429)
        assert known.get("/api/v1/catalog/families").status_code == 200
        assert keyed_client(app).get("/api/v1/catalog/families").status_code == 200
        # another address is not counted with this one
        assert_problem(_guesser(app, "10.0.0.2").get("/api/v1/catalog/families"), 401)
    finally:
        app.extensions["configurator.db"].dispose()


def test_a_repeated_invalid_key_is_refused_without_asking_the_database_again(content,
                                                                            database_url,
                                                                            monkeypatch):
    looked_up = []
    real = apikeys.authenticate

    def counting(session, presented):
        looked_up.append(presented)
        return real(session, presented)

    monkeypatch.setattr(apikeys, "authenticate", counting)
    app = _keys_app(content, database_url, API_AUTH_FAILURE_LIMIT="1000/minute")
    try:
        stale = _guesser(app, "10.0.0.3")
        assert [stale.get("/api/v1/catalog/families").status_code for _ in range(20)] == [401] * 20
        assert len(looked_up) == 1   # remembered as invalid for API_KEY_CACHE_SECONDS
        valid = keyed_client(app)
        assert [valid.get("/api/v1/catalog/families").status_code for _ in range(3)] == [200] * 3
        assert len(looked_up) == 2   # and a valid key once, too
    finally:
        app.extensions["configurator.db"].dispose()


def test_x_forwarded_for_is_ignored_by_default_and_honoured_behind_trusted_proxies(content,
                                                                                  database_url):
    app = _keys_app(content, database_url, API_AUTH_FAILURE_LIMIT="2/minute")
    try:  # no proxy trusted: a client cannot escape its count by writing the header itself
        guesser = _guesser(app, "10.0.1.1")
        statuses = [guesser.get("/api/v1/catalog/families",
                                headers={"X-Forwarded-For": f"192.0.2.{n}"}).status_code
                    for n in range(3)]
        assert statuses == [401, 401, 429]
    finally:
        app.extensions["configurator.db"].dispose()
    app = _keys_app(content, database_url, API_AUTH_FAILURE_LIMIT="2/minute", TRUSTED_PROXIES=1)
    try:  # one proxy at 10.0.1.2: its clients are counted apart, by what the proxy appended
        proxy = _guesser(app, "10.0.1.2")
        first = {"X-Forwarded-For": "192.0.2.10"}
        assert [proxy.get("/api/v1/catalog/families", headers=first).status_code
                for _ in range(3)] == [401, 401, 429]
        second = {"X-Forwarded-For": "192.0.2.11"}
        assert proxy.get("/api/v1/catalog/families", headers=second).status_code == 401
        spoofed = {"X-Forwarded-For": "192.0.2.11, 192.0.2.10"}  # the client wrote the first
        assert proxy.get("/api/v1/catalog/families", headers=spoofed).status_code == 429
        valid = keyed_client(app)
        valid.environ_base["REMOTE_ADDR"] = "10.0.1.2"
        assert valid.get("/api/v1/catalog/families", headers=first).status_code == 200
    finally:
        app.extensions["configurator.db"].dispose()


def test_with_rate_limits_switched_off_keys_are_still_checked(content, database_url):
    """`RATELIMIT_ENABLED = False` (Flask-Limiter's switch) turns off the per-key limits and the
    count of invalid keys; it must not turn the API into 500s, nor let an invalid key in."""
    app = create_app({"TESTING": True, "DATABASE_URL": database_url, "SECRET_KEY": "t",
                      "CONTENT_TRIAL": False, "RATELIMIT_ENABLED": False,
                      "API_AUTH_FAILURE_LIMIT": "2/minute"}, content=content)
    try:
        assert keyed_client(app).get("/api/v1/catalog/families").status_code == 200
        guesser = app.test_client()
        guesser.environ_base["HTTP_AUTHORIZATION"] = "Bearer cfg_0123abcd_" + "A" * 43
        assert [guesser.get("/api/v1/catalog/families").status_code for _ in range(4)] == [401] * 4
    finally:
        app.extensions["configurator.db"].dispose()
