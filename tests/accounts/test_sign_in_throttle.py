"""The sign-in throttle: failed sign-ins lock an account (from everywhere) or a client address
(for every account) for a while; a locked attempt is refused before any password is hashed; a
signed-in session keeps working; the counts live in the database, so every worker shares them;
X-Forwarded-For counts only behind trusted proxies. Both databases, through the test client."""
from __future__ import annotations

import datetime as dt
import re
import secrets
import threading
import time

import pytest

from configurator.accounts import services, throttle
from configurator.app import create_app
from configurator.config import load_config
from configurator.store.db import begin_write

PASSWORD = "correct-horse-battery"
SETTINGS = ("SIGN_IN_ACCOUNT_FAILURES", "SIGN_IN_ADDRESS_FAILURES", "SIGN_IN_LOCK_SECONDS",
            "TRUSTED_PROXIES", "API_AUTH_FAILURE_LIMIT")
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def make_app(database_url, content):
    """Apps on the test database with throttle settings of the test's own (small limits, a
    window of seconds); each app is a worker of its own, sharing only the database."""
    made = []

    def make(**config):
        app = create_app({"TESTING": True, "DATABASE_URL": database_url, "SECRET_KEY": "test",
                          "CONTENT_TRIAL": False, "SIGN_IN_ACCOUNT_FAILURES": 3,
                          "SIGN_IN_ADDRESS_FAILURES": 0, "SIGN_IN_LOCK_SECONDS": 60.0, **config},
                         content=content)
        made.append(app)
        return app

    yield make
    for app in made:
        app.extensions["configurator.db"].dispose()


@pytest.fixture
def hashes(monkeypatch):
    """Every password check's scrypt hash, counted (the real hash still runs)."""
    calls = []
    real = services.check_password_hash

    def counting(pwhash, password):
        calls.append(password)
        return real(pwhash, password)

    monkeypatch.setattr(services, "check_password_hash", counting)
    return calls


def make_user(app, role: str = "solution-lead") -> str:
    email = f"throttle-{secrets.token_hex(4)}@example.com"
    with app.extensions["configurator.db"].sessions() as session:
        services.create_user(session, email, "Thea Throttle", role, PASSWORD)
        session.commit()
    return email


def browser(app, address: str | None = None):
    """A test client from an address of its own (random unless given): tests share no counts."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address or ".".join(
        str(n) for n in (10, secrets.randbelow(250), secrets.randbelow(250),
                         secrets.randbelow(250) + 1))
    return client


def attempt(client, email: str, password: str, headers: dict | None = None):
    page = client.get("/sign-in", headers=headers).get_data(as_text=True)
    token = TOKEN.search(page).group(1)
    return client.post("/sign-in", data={"csrf_token": token, "email": email,
                                         "password": password}, headers=headers)


def text(response) -> str:
    return response.get_data(as_text=True)


def test_failed_sign_ins_lock_the_account_until_the_time_the_page_states(make_app):
    app = make_app(SIGN_IN_LOCK_SECONDS=2.0)
    email = make_user(app)
    client = browser(app)
    statuses = [attempt(client, email, "wrong-password").status_code for _ in range(3)]
    assert statuses == [401, 401, 429]          # the third failure sets the lock, and says so
    refused = attempt(client, email, PASSWORD)  # the right password, while locked
    assert refused.status_code == 429
    message = re.search(r"Too many failed sign-ins for this account; try again in (\d+) seconds? "
                        r"\(at (\d\d):(\d\d) UTC\)\.", text(refused))
    assert message, text(refused)
    wait = int(refused.headers["Retry-After"])
    assert 1 <= wait <= 2 and int(message.group(1)) == wait
    assert client.get("/customers").status_code == 302         # not signed in
    time.sleep(wait + 0.1)
    assert attempt(client, email, PASSWORD).status_code == 302  # the lock has ended
    assert client.get("/customers").status_code == 200


def test_a_refused_attempt_hashes_no_password(make_app, hashes):
    app = make_app()
    email = make_user(app)
    client = browser(app)
    for _ in range(3):
        attempt(client, email, "wrong-password")
    assert len(hashes) == 3                     # each failure before the lock costs one hash
    started = time.perf_counter()
    for password in (PASSWORD, "wrong-password", "another-guess"):
        assert attempt(client, email, password).status_code == 429
    refused_seconds = (time.perf_counter() - started) / 3
    assert len(hashes) == 3                     # the refused ones none
    other, elsewhere = make_user(app), browser(app)
    started = time.perf_counter()
    assert attempt(elsewhere, other, PASSWORD).status_code == 302
    hashed_seconds = time.perf_counter() - started
    assert len(hashes) == 4
    # for the record, never asserted (tests do not time): a refused attempt is a page view
    print(f"refused attempt {refused_seconds * 1e3:.1f} ms, "
          f"with a hash {hashed_seconds * 1e3:.1f} ms")


def test_unknown_email_addresses_are_counted_and_answered_like_known_ones(make_app, hashes):
    app = make_app()
    answers = {}
    for who, email in (("known", make_user(app)), ("unknown", "nobody-" + make_user(app))):
        client = browser(app)
        before = len(hashes)
        responses = [attempt(client, email, "wrong-password") for _ in range(4)]
        answers[who] = ([r.status_code for r in responses], len(hashes) - before,
                        [re.sub(r"\d+", "N", _summary(r)) for r in responses])
    assert answers["known"] == answers["unknown"]
    assert answers["known"][:2] == ([401, 401, 429, 429], 3)


def _summary(response) -> str:
    return re.search(r'<div class="error-summary".*?</div>', text(response), re.S).group(0)


def test_the_account_lock_holds_from_every_address_and_the_address_lock_only_at_its_own(make_app):
    app = make_app(SIGN_IN_ACCOUNT_FAILURES=3, SIGN_IN_ADDRESS_FAILURES=0)
    locked, other_user = make_user(app), make_user(app)
    here = browser(app)
    for _ in range(3):
        attempt(here, locked, "wrong-password")
    elsewhere = browser(app)
    refused = attempt(elsewhere, locked, PASSWORD)   # the account is locked wherever one is
    assert refused.status_code == 429 and "for this account" in text(refused)
    assert attempt(here, other_user, PASSWORD).status_code == 302  # other accounts are not

    app = make_app(SIGN_IN_ACCOUNT_FAILURES=0, SIGN_IN_ADDRESS_FAILURES=3)
    guesser = browser(app)
    for _ in range(3):                               # three accounts, one guess each
        attempt(guesser, make_user(app), "wrong-password")
    victim = make_user(app)
    refused = attempt(guesser, victim, PASSWORD)     # that address is locked for everyone
    assert refused.status_code == 429
    assert "Too many failed sign-ins from your network address" in text(refused)
    assert attempt(browser(app), victim, PASSWORD).status_code == 302  # other addresses are not


def test_a_signed_in_session_keeps_working_while_its_account_is_locked(make_app):
    app = make_app()
    email = make_user(app)
    mine = browser(app)
    assert attempt(mine, email, PASSWORD).status_code == 302
    guesser = browser(app)
    for _ in range(3):
        attempt(guesser, email, "wrong-password")
    assert attempt(guesser, email, PASSWORD).status_code == 429     # locked
    assert mine.get("/customers").status_code == 200                # and still signed in here
    page = text(mine.get("/customers/new"))
    token = TOKEN.search(page).group(1)
    assert mine.post("/customers/new", data={"csrf_token": token}).status_code == 422  # forms work


def test_a_success_clears_the_accounts_count_but_not_the_addresss(make_app):
    app = make_app(SIGN_IN_ACCOUNT_FAILURES=3, SIGN_IN_ADDRESS_FAILURES=5)
    email = make_user(app)
    client = browser(app)
    assert [attempt(client, email, "wrong").status_code for _ in range(2)] == [401, 401]
    assert attempt(client, email, PASSWORD).status_code == 302
    client.post("/sign-out", data={"csrf_token": TOKEN.search(text(client.get("/sign-out")))
                                   .group(1)})
    # the account starts afresh: two more failures do not lock it ...
    assert [attempt(client, email, "wrong").status_code for _ in range(2)] == [401, 401]
    # ... but its address has four, and its fifth (for any account) locks the address
    refused = attempt(client, make_user(app), "wrong")
    assert refused.status_code == 429 and "from your network address" in text(refused)


def test_a_new_password_ends_the_accounts_lock(make_app):
    app = make_app()
    email = make_user(app)
    client = browser(app)
    for _ in range(3):
        attempt(client, email, "wrong-password")
    assert attempt(client, email, PASSWORD).status_code == 429
    with app.extensions["configurator.db"].sessions() as session:   # an admin sets a new one
        services.set_password(session, services.get_user(session, email).id, "brand-new-pass")
        session.commit()
    assert attempt(client, email, "brand-new-pass").status_code == 302


def test_the_current_password_on_the_account_page_is_throttled_too(make_app, hashes):
    app = make_app()
    email = make_user(app)
    client = browser(app)
    assert attempt(client, email, PASSWORD).status_code == 302

    def change(current: str):
        token = TOKEN.search(text(client.get("/account"))).group(1)
        return client.post("/account", data={"csrf_token": token, "current": current,
                                             "password": "new-password-1",
                                             "confirm": "new-password-1"})

    assert [change("guess").status_code for _ in range(3)] == [422, 422, 429]
    before = len(hashes)
    refused = change(PASSWORD)
    assert refused.status_code == 429 and "Too many failed sign-ins" in text(refused)
    assert len(hashes) == before                                    # refused without a hash
    assert client.get("/customers").status_code == 200              # still signed in


def test_counts_are_shared_by_every_worker(make_app, hashes):
    """Two apps on one database stand for two gunicorn workers: nothing is counted in memory."""
    first, second = make_app(), make_app()
    email = make_user(first)
    address = "10.9.8.7"
    assert attempt(browser(first, address), email, "wrong").status_code == 401
    assert attempt(browser(second, address), email, "wrong").status_code == 401
    assert attempt(browser(first, address), email, "wrong").status_code == 429
    before = len(hashes)
    assert attempt(browser(second), email, PASSWORD).status_code == 429
    assert len(hashes) == before


def test_concurrent_failures_are_all_counted(make_app):
    app = make_app()
    database = app.extensions["configurator.db"]
    counts = throttle.Counts.of(f"race-{secrets.token_hex(4)}@example.com", "10.7.7.7")
    policy = throttle.Policy(account_failures=100, address_failures=100, seconds=60)
    errors = []

    def fail() -> None:
        try:
            with database.sessions() as session:
                begin_write(session)
                throttle.count_failure(session, counts, policy)
                session.commit()
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=fail) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    strict = throttle.Policy(account_failures=12, address_failures=12, seconds=60)
    with database.sessions() as session:
        assert throttle.lock_in_force(session, counts, strict) is not None
        assert throttle.lock_in_force(
            session, counts, throttle.Policy(account_failures=13, address_failures=13,
                                             seconds=60)) is None


def test_x_forwarded_for_is_ignored_by_default_and_honoured_behind_trusted_proxies(make_app):
    app = make_app(SIGN_IN_ACCOUNT_FAILURES=0, SIGN_IN_ADDRESS_FAILURES=2)
    client = browser(app)
    for n in range(2):  # no proxy trusted: writing the header does not change the address
        attempt(client, make_user(app), "wrong", headers={"X-Forwarded-For": f"192.0.2.{n}"})
    refused = attempt(client, make_user(app), PASSWORD,
                      headers={"X-Forwarded-For": "192.0.2.99"})
    assert refused.status_code == 429

    app = make_app(SIGN_IN_ACCOUNT_FAILURES=0, SIGN_IN_ADDRESS_FAILURES=2, TRUSTED_PROXIES=1)
    proxy = browser(app, "10.200.0.1")   # every client comes through this one proxy
    guesser = {"X-Forwarded-For": "198.51.100.7"}
    for _ in range(2):
        attempt(proxy, make_user(app), "wrong", headers=guesser)
    assert attempt(proxy, make_user(app), PASSWORD, headers=guesser).status_code == 429
    colleague = {"X-Forwarded-For": "198.51.100.8"}       # behind the same proxy: not locked
    assert attempt(browser(app, "10.200.0.1"), make_user(app), PASSWORD,
                   headers=colleague).status_code == 302
    spoofed = {"X-Forwarded-For": "198.51.100.8, 198.51.100.7"}   # the guesser wrote the first
    assert attempt(proxy, make_user(app), PASSWORD, headers=spoofed).status_code == 429


def test_the_client_address_of_an_ipv6_client_is_its_64_network():
    assert throttle.client_address("2001:db8:1:2:aaaa::1") == "2001:db8:1:2::/64"
    assert throttle.client_address("2001:db8:1:2:bbbb::9") == "2001:db8:1:2::/64"
    assert throttle.client_address("::ffff:192.0.2.1") == "192.0.2.1"
    assert throttle.client_address("192.0.2.1") == "192.0.2.1"
    assert throttle.client_address(None) == throttle.client_address("not an address") == "unknown"


def test_a_lock_says_when_it_ends():
    now = dt.datetime(2026, 12, 9, 10, 27, 30, tzinfo=dt.timezone.utc)
    lock = throttle.Lock(throttle.ACCOUNT, now + dt.timedelta(minutes=15))
    assert lock.message(now) == ("Too many failed sign-ins for this account; try again in "
                                 "15 minutes (at 10:42 UTC).")
    assert lock.retry_after(now) == 900
    soon = throttle.Lock(throttle.ADDRESS, now + dt.timedelta(seconds=40))
    assert soon.message(now) == ("Too many failed sign-ins from your network address; try "
                                 "again in 40 seconds (at 10:28 UTC).")


def test_the_settings_come_from_the_environment():
    assert {k: load_config(environ={})[k] for k in SETTINGS} == {
        "SIGN_IN_ACCOUNT_FAILURES": 5, "SIGN_IN_ADDRESS_FAILURES": 20,
        "SIGN_IN_LOCK_SECONDS": 900.0, "TRUSTED_PROXIES": 0,
        "API_AUTH_FAILURE_LIMIT": "30/minute"}
    config = load_config(environ={"CONFIGURATOR_SIGN_IN_ACCOUNT_FAILURES": "8",
                                  "CONFIGURATOR_SIGN_IN_ADDRESS_FAILURES": "0",
                                  "CONFIGURATOR_SIGN_IN_LOCK_SECONDS": "300",
                                  "CONFIGURATOR_TRUSTED_PROXIES": "2",
                                  "CONFIGURATOR_API_AUTH_FAILURES": "10/minute"})
    assert {k: config[k] for k in SETTINGS} == {
        "SIGN_IN_ACCOUNT_FAILURES": 8, "SIGN_IN_ADDRESS_FAILURES": 0,
        "SIGN_IN_LOCK_SECONDS": 300.0, "TRUSTED_PROXIES": 2,
        "API_AUTH_FAILURE_LIMIT": "10/minute"}
    for bad in ("-1", "one", "1.5"):
        with pytest.raises(ValueError, match="CONFIGURATOR_TRUSTED_PROXIES must be a whole"):
            load_config(environ={"CONFIGURATOR_TRUSTED_PROXIES": bad})


def test_behind_trusted_proxies_the_scheme_is_the_proxys_too(make_app):
    """X-Forwarded-Proto from a trusted proxy marks the session cookie Secure (TLS ends at the
    proxy); from an untrusted client it changes nothing."""
    def cookie(app) -> str:
        response = browser(app).get("/sign-in", headers={"X-Forwarded-Proto": "https",
                                                         "X-Forwarded-For": "198.51.100.1"})
        return next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("session="))

    assert "Secure" not in cookie(make_app())
    assert "Secure" in cookie(make_app(TRUSTED_PROXIES=1))
