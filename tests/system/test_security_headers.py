"""Security headers on every kind of response, session cookies, and logs without tracebacks or
secrets (configurator/security.py)."""
from __future__ import annotations

import logging
import re
import secrets
import sys
from html.parser import HTMLParser
from urllib.parse import urlsplit

import flask
import pytest

from configurator import security
from configurator.accounts import services as accounts
from configurator.api import auth, errors
from configurator.app import create_app
from configurator.config import cookie_secure, load_config
from configurator.store import flaskdb as db

from helpers import unique

PASSWORD = "correct horse battery staple"
API_KEY_SHAPE = re.compile(r"cfg_[0-9a-f]{8}_[A-Za-z0-9_-]{43}")


# --- helpers ----------------------------------------------------------------------------------

def make_user(app, role: str = "admin") -> str:
    email = f"{role}-{secrets.token_hex(4)}@example.com"
    with app.app_context():
        session = db.session()
        accounts.create_user(session, email, f"{role.title()} User", role, PASSWORD)
        session.commit()
    return email


def sign_in(client, app, role: str = "admin", base_url: str = "http://localhost",
            headers: dict | None = None) -> flask.Response:
    email = make_user(app, role)
    page = client.get("/sign-in", base_url=base_url, headers=headers).get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    # over HTTPS Flask-WTF also wants the same-origin Referer (Referrer-Policy keeps it)
    response = client.post("/sign-in", data={"csrf_token": csrf, "email": email,
                                             "password": PASSWORD}, base_url=base_url,
                           headers={**(headers or {}), "Referer": f"{base_url}/sign-in"})
    assert response.status_code == 302, response.get_data(as_text=True)
    return response


def csp(response) -> dict[str, str]:
    policy = response.headers["Content-Security-Policy"]
    return {part.split()[0]: " ".join(part.split()[1:])
            for part in (p.strip() for p in policy.split(";")) if part}


def assert_secure_headers(response, what: str) -> None:
    headers = response.headers
    policy = csp(response)
    assert policy["default-src"] == "'none'", what
    assert policy["frame-ancestors"] == "'none'", what
    assert policy["object-src"] == "'none'" and policy["base-uri"] == "'none'", what
    assert policy["form-action"] == "'self'", what
    for directive in ("script-src", "style-src"):
        assert "unsafe-inline" not in policy[directive] and "unsafe-eval" not in policy[directive]
        assert policy[directive].startswith("'self'"), what
    assert headers["X-Frame-Options"] == "DENY", what
    assert headers["X-Content-Type-Options"] == "nosniff", what
    assert headers["Referrer-Policy"] == "same-origin", what
    assert "camera=()" in headers["Permissions-Policy"], what
    assert "geolocation=()" in headers["Permissions-Policy"], what
    assert headers["Cross-Origin-Opener-Policy"] == "same-origin", what
    assert headers["Cross-Origin-Resource-Policy"] == "same-origin", what
    assert "Strict-Transport-Security" not in headers, what   # plain http here


@pytest.fixture
def configuration(client, example_profiles) -> dict:
    profile = {**example_profiles[0]["profile"], "name": unique("Headers")}
    response = client.post("/api/v1/configurations", json={"profile": profile})
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()


@pytest.fixture
def proposal(client, configuration) -> dict:
    response = client.post(f"/api/v1/configurations/{configuration['id']}/revisions/1/proposals",
                           json={})
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()


@pytest.fixture
def failing_routes(app, monkeypatch):
    """Two real routes that fail with an error carrying secrets: one in the API, one on the web
    side (no error handler of its own, so Flask's own path runs)."""
    app.config["PROPAGATE_EXCEPTIONS"] = False     # as in production: errors become 500s
    monkeypatch.setitem(auth.OPERATION_SCOPES, ("failing.api_fails", "GET"), "configure")
    blueprint = flask.Blueprint("failing", __name__)
    errors.attach(blueprint)

    @blueprint.get("/api/v1/failing")
    def api_fails():
        _fail()

    @app.get("/failing-page")
    def page_fails():
        _fail()

    app.register_blueprint(blueprint)
    return app


def _fail() -> None:
    request = flask.request
    secret_bits = (f"password=hunter2-{secrets.token_hex(4)} "
                   f"postgresql://app:db-pass-{secrets.token_hex(4)}@db.internal/configurator "
                   f"headers {dict(request.headers)}")
    try:
        cookie_secure("maybe")   # a real error from project code: configurator/config.py
    except ValueError as exc:
        raise RuntimeError(f"could not handle it: {secret_bits}\nsecond line") from exc


# --- headers on every kind of response -----------------------------------------------------------

def test_every_kind_of_response_carries_the_security_headers(failing_routes, client, app,
                                                             configuration, proposal):
    pdf = client.get(proposal["pdf_url"])
    assert pdf.mimetype == "application/pdf"
    responses = {
        "API JSON": client.get(f"/api/v1/configurations/{configuration['id']}"),
        "API list": client.get("/api/v1/configurations?page_size=5"),
        "API PDF": pdf,
        "API 404 problem": client.get("/api/v1/no-such-thing"),
        "API 422 problem": client.post("/api/v1/configurations", json={"profile": {}}),
        "API 401 problem": app.test_client().get("/api/v1/configurations"),
        "API 500 problem": client.get("/api/v1/failing"),
        "API health": client.get("/api/v1/health"),
        "OpenAPI document": client.get("/api/v1/openapi.json"),
        "Swagger UI": client.get("/api/v1/docs"),
        "Swagger UI script": client.get("/api/v1/docs/assets/swagger-ui-bundle.js"),
        "web static file": client.get("/static/web/app.css"),
        "web redirect to sign-in": client.get("/customers"),
        "web sign-in page": client.get("/sign-in"),
        "web 404 page": client.get("/no-such-page"),
        "web 500 page": client.get("/failing-page"),
        "web 405 page": client.delete("/sign-in"),
    }
    expected = {"API 404 problem": 404, "API 422 problem": 422, "API 401 problem": 401,
                "API 500 problem": 500, "web redirect to sign-in": 302, "web 404 page": 404,
                "web 500 page": 500, "web 405 page": 405}
    for what, response in responses.items():
        assert response.status_code == expected.get(what, 200), what
        assert_secure_headers(response, what)
        response.close()
    sign_in(client, app)
    page = client.get("/customers")
    web_pdf = client.get(re.sub(r"^/api/v1/proposals/(\d+)/pdf$", r"/proposals/\1/pdf/x.pdf",
                                proposal["pdf_url"]))
    for what, response in {"web page": page, "web PDF": web_pdf}.items():
        assert response.status_code == 200, what
        assert_secure_headers(response, what)


def test_strict_transport_security_only_over_https(client, database_url, content):
    over_https = client.get("/api/v1/health", base_url="https://configurator.example")
    assert over_https.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    assert "Strict-Transport-Security" not in client.get("/api/v1/health").headers
    behind_proxy = client.get("/sign-in", headers={"X-Forwarded-Proto": "https"})
    assert "max-age=" in behind_proxy.headers["Strict-Transport-Security"]

    app = create_app({"TESTING": True, "DATABASE_URL": database_url, "SECRET_KEY": "test",
                      "CONTENT_TRIAL": False, "HSTS_SECONDS": 0}, content=content)
    try:
        response = app.test_client().get("/api/v1/health", base_url="https://x.example")
        assert "Strict-Transport-Security" not in response.headers
    finally:
        app.extensions["configurator.db"].dispose()


def test_plain_http_is_redirected_to_https_when_forced(database_url, content):
    app = create_app({"TESTING": True, "DATABASE_URL": database_url, "SECRET_KEY": "test",
                      "CONTENT_TRIAL": False, "FORCE_HTTPS": True}, content=content)
    try:
        response = app.test_client().get("/sign-in?next=/customers")
        assert response.status_code in (301, 302)
        assert response.location == "https://localhost/sign-in?next=/customers"
        assert app.test_client().get("/sign-in", base_url="https://localhost").status_code == 200
    finally:
        app.extensions["configurator.db"].dispose()


def test_api_answers_with_customer_data_are_never_stored_by_caches(client, configuration,
                                                                   proposal):
    for path in (f"/api/v1/configurations/{configuration['id']}", "/api/v1/configurations",
                 f"/api/v1/configurations/{configuration['id']}/revisions/1",
                 f"/api/v1/proposals/{proposal['id']}", proposal["pdf_url"],
                 "/api/v1/no-such-thing"):
        response = client.get(path)
        assert response.headers["Cache-Control"] == "no-store", path
    # the public documents may be cached
    assert client.get("/api/v1/openapi.json").headers.get("Cache-Control") != "no-store"
    with client.get("/api/v1/docs/assets/swagger-ui.css") as asset:
        assert "max-age" in asset.headers["Cache-Control"]


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.inline_scripts: list[dict] = []
        self.script_sources: list[str] = []
        self.styles = 0
        self.handlers: list[str] = []
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        attributes = dict(attrs)
        if tag == "script":
            if attributes.get("src"):
                self.script_sources.append(attributes["src"])
            else:
                self.inline_scripts.append(attributes)
        if tag == "style":
            self.styles += 1
        if "style" in attributes:
            self.styles += 1
        self.handlers += [name for name in attributes if name.startswith("on")]
        if tag == "a" and attributes.get("href", "").startswith("/"):
            self.links.append(attributes["href"])
        if tag in ("link", "img") and (attributes.get("href") or attributes.get("src") or "")\
                .startswith(("http:", "https:", "//")):
            self.script_sources.append(attributes.get("href") or attributes["src"])


def test_swagger_ui_runs_its_one_inline_script_with_this_responses_nonce(client):
    first, second = client.get("/api/v1/docs"), client.get("/api/v1/docs")
    nonces = []
    for response in (first, second):
        nonce = re.search(r"'nonce-([^']+)'", csp(response)["script-src"]).group(1)
        tags = _Tags()
        tags.feed(response.get_data(as_text=True))
        assert [s.get("nonce") for s in tags.inline_scripts] == [nonce]
        assert all(src.startswith("/api/v1/docs/assets/") for src in tags.script_sources)
        nonces.append(nonce)
    assert nonces[0] != nonces[1] and len(nonces[0]) >= 32
    # no other page gets a nonce
    assert "nonce-" not in client.get("/sign-in").headers["Content-Security-Policy"]


def test_every_web_page_works_under_the_policy_no_inline_script_style_or_handler(
        client, app, configuration, proposal):
    """Crawl every page an admin can reach from the home page: the policy allows only this
    origin's script and style files, so no page may carry inline script, style or on*=."""
    sign_in(client, app)
    seen: set[str] = set()
    queue = ["/", f"/configurations/{configuration['id']}/revisions/1/proposal",
             f"/configurations/{configuration['id']}/diff?from=1&to=1"]
    pages = 0
    while queue and pages < 60:
        path = queue.pop(0)
        key = urlsplit(path).path
        if key in seen or key.startswith(("/api/", "/static/", "/proposals/", "/sign-out")):
            continue
        seen.add(key)
        response = client.get(path, follow_redirects=True)
        if response.mimetype != "text/html":
            continue
        pages += 1
        assert_secure_headers(response, path)
        tags = _Tags()
        tags.feed(response.get_data(as_text=True))
        assert tags.inline_scripts == [], path
        assert tags.styles == 0, path
        assert tags.handlers == [], path
        assert all(src.startswith("/") for src in tags.script_sources), path
        queue += tags.links
    assert pages >= 8, seen


# --- cookies ------------------------------------------------------------------------------------

def _session_cookie(response) -> str:
    cookies = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("session=")]
    assert cookies, response.headers
    return cookies[-1]


def test_session_cookie_is_httponly_lax_and_secure_whenever_served_over_https(client, app):
    # the demo on plain http://127.0.0.1:8000 ("auto"): signing in works, the cookie is not Secure
    over_http = _session_cookie(sign_in(client, app))
    assert "HttpOnly" in over_http and "SameSite=Lax" in over_http
    assert "Secure" not in over_http
    assert client.get("/customers").status_code == 200

    https = app.test_client()
    over_https = _session_cookie(sign_in(https, app, base_url="https://configurator.example"))
    assert "Secure" in over_https and "HttpOnly" in over_https and "SameSite=Lax" in over_https
    assert https.get("/customers", base_url="https://configurator.example").status_code == 200

    proxied = app.test_client()
    behind_proxy = _session_cookie(sign_in(proxied, app, headers={"X-Forwarded-Proto": "https"}))
    # the test client is not a trusted proxy: only gunicorn (forwarded_allow_ips) turns the
    # header into the https scheme; HSTS may follow the header, the cookie follows the scheme
    assert "Secure" not in behind_proxy


@pytest.mark.parametrize("setting, over_http_secure", [(True, True), (False, False)])
def test_session_cookie_secure_can_be_forced_on_or_off(database_url, content, setting,
                                                       over_http_secure):
    app = create_app({"TESTING": True, "DATABASE_URL": database_url, "SECRET_KEY": "test",
                      "CONTENT_TRIAL": False, "SESSION_COOKIE_SECURE": setting}, content=content)
    try:
        cookie = _session_cookie(app.test_client().get("/sign-in"))
        assert ("Secure" in cookie) is over_http_secure
        assert "HttpOnly" in cookie
        assert app.config["REMEMBER_COOKIE_SECURE"] is setting
        assert app.config["REMEMBER_COOKIE_HTTPONLY"] is True
    finally:
        app.extensions["configurator.db"].dispose()


def test_cookie_secure_setting_comes_from_the_environment():
    assert load_config(environ={})["SESSION_COOKIE_SECURE"] == "auto"
    for value, expected in (("auto", "auto"), ("1", True), ("true", True), ("0", False),
                            ("off", False)):
        config = load_config(environ={"CONFIGURATOR_COOKIE_SECURE": value})
        assert config["SESSION_COOKIE_SECURE"] == expected, value
    with pytest.raises(ValueError, match="expected 1 or 0"):
        load_config(environ={"CONFIGURATOR_COOKIE_SECURE": "sometimes"})
    config = load_config(environ={"CONFIGURATOR_HSTS_SECONDS": "600",
                                  "CONFIGURATOR_FORCE_HTTPS": "yes",
                                  "CONFIGURATOR_RENDER_TIMEOUT": "90"})
    assert (config["HSTS_SECONDS"], config["FORCE_HTTPS"],
            config["PROPOSAL_RENDER_TIMEOUT"]) == (600, True, 90.0)


# --- no stack traces or secrets -------------------------------------------------------------------

def test_an_unexpected_api_error_answers_an_incident_and_logs_one_safe_line(
        failing_routes, client, api_key, caplog, capfd):
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
    logging.getLogger().addHandler(handler)
    try:
        with caplog.at_level(logging.INFO):
            client.set_cookie("session", "abc.def.ghi")
            response = client.get("/api/v1/failing")
    finally:
        logging.getLogger().removeHandler(handler)
    assert response.status_code == 500 and response.mimetype == "application/problem+json"
    body = response.get_data(as_text=True)
    for leak in ("hunter2", "db-pass", "Traceback", api_key, "config.py"):
        assert leak not in body
    incident = response.get_json()["instance"].removeprefix("urn:uuid:")
    lines = [r.getMessage() for r in caplog.records if incident in r.getMessage()]
    assert len(lines) == 1, caplog.text
    line = lines[0]
    assert "RuntimeError: could not handle it" in line
    assert re.search(r"\(at configurator/config\.py:\d+; caused by ValueError\)$", line), line
    assert "GET /api/v1/failing" in line
    for record in caplog.records:
        assert record.exc_info is None and record.stack_info is None
    printed = capfd.readouterr().err
    assert [out for out in printed.splitlines() if incident in out] != []
    for text in (caplog.text, printed):
        assert "Traceback" not in text and "second line" not in text
        assert "hunter2" not in text and "db-pass" not in text
        assert api_key not in text and api_key[13:] not in text
        assert "abc.def.ghi" not in text
        assert "password=***" in text and "postgresql://app:***@db.internal" in text
        assert "Bearer ***" in text
    assert not any(line.startswith(("  File ", "Traceback")) for line in printed.splitlines())
    assert "could not handle it" in printed


def test_an_unexpected_web_error_shows_an_incident_and_logs_one_safe_line(
        failing_routes, client, caplog):
    with caplog.at_level(logging.INFO):
        response = client.get("/failing-page")
    assert response.status_code == 500 and response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    incident = re.search(r"Incident reference: <code>([0-9a-f-]{36})</code>", page).group(1)
    assert "hunter2" not in page and "Traceback" not in page
    records = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(records) == 1, caplog.text       # Flask's own traceback log is not added
    assert incident in records[0].getMessage()
    assert "RuntimeError" in records[0].getMessage() and records[0].exc_info is None
    assert "hunter2" not in caplog.text and "Traceback" not in caplog.text


def test_log_lines_never_carry_keys_passwords_cookies_or_database_passwords(app, api_key):
    assert API_KEY_SHAPE.fullmatch(api_key)
    secret_key = "s3cr3t-signing-key-" + secrets.token_hex(8)
    security.remember_secret(secret_key)
    cases = {
        f"verified {api_key} for /api/v1/x": api_key[:13] + "***",
        f"Authorization: Bearer {api_key}": "Bearer ***",
        "Authorization: Basic dXNlcjpwYXNzd29yZA==": "Basic ***",
        "key cfg_notreallyakey_but_close": "cfg_***",
        "postgresql+psycopg://configurator:Very$ecret@db:5432/prod": "configurator:***@db",
        "Cookie: session=eyJfZnJlc2giOmZhbHNlfQ.Zx.abc; other=1": "Cookie: ***",
        "set session=eyJ.abc.def for user": "session=***",
        'login {"email": "a@b.c", "password": "hunter2"}': '"password": "***"',
        "form password=hunter2&csrf_token=abc123": "password=***&csrf_token=***",
        "api_key: hunter2": "api_key: ***",
        f"signing with {secret_key}": "signing with ***",
    }
    for text, shown in cases.items():
        record = logging.LogRecord("t", logging.INFO, __file__, 1, "%s", (text,), None)
        safe = security.sanitise(record).getMessage()
        assert shown in safe, (text, safe)
        for secret in ("hunter2", "Very$ecret", "dXNlcjpwYXNzd29yZA", api_key, secret_key,
                       "eyJ", "notreallyakey", "abc123"):
            assert secret not in safe, (text, safe)
    forged = logging.LogRecord("t", logging.INFO, __file__, 1, "user %s", ("x\nERROR forged",),
                               None)
    assert security.sanitise(forged).getMessage() == "user x\\nERROR forged"
    huge = logging.LogRecord("t", logging.INFO, __file__, 1, "%s", ("x" * 50_000,), None)
    assert len(security.sanitise(huge).getMessage()) < 10_100


def test_the_filter_covers_every_logger_and_keeps_plain_messages(app, caplog):
    with caplog.at_level(logging.INFO):
        logging.getLogger("some.library").warning("connecting to %s", "postgresql://u:pw1234@h/d")
        app.logger.info("plain %d%% done", 50)
        try:
            {}["missing"]
        except KeyError:
            logging.getLogger("configurator.somewhere").exception("lookup failed")
    messages = [r.getMessage() for r in caplog.records]
    assert "connecting to postgresql://u:***@h/d" in messages
    assert "plain 50% done" in messages
    failed = next(m for m in messages if m.startswith("lookup failed"))
    assert re.fullmatch(r"lookup failed \| KeyError: 'missing' \(at tests/system/"
                        r"test_security_headers\.py:\d+\)", failed), failed
