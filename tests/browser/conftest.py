"""Browser tests: Debian's chromium driven by Playwright against a real HTTP server.

The server is the app on a free 127.0.0.1 port (werkzeug, threaded) over its own migrated SQLite
database, started and stopped by the tests. Chromium is /usr/bin/chromium (bin/system-packages
installs it); Playwright never downloads a browser. Without chromium the tests are skipped,
except under CI, where that is a failure.
"""
from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from werkzeug.serving import make_server

from configurator.accounts import services
from configurator.app import create_app
from configurator.store import flaskdb as db
from configurator.store import migrate
from helpers import PASSWORD, USERS, LiveServer

CHROMIUM = os.environ.get("CONFIGURATOR_CHROMIUM", "/usr/bin/chromium")
# As the machine notes advise for a closed network: no background traffic, no first-run work.
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update",
               "--disable-sync", "--disable-dev-shm-usage"]


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory, content: Any) -> Iterator[LiveServer]:
    url = f"sqlite:///{tmp_path_factory.mktemp('browser-db') / 'configurator.db'}"
    migrate.upgrade(url)
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "browser-tests", "CONTENT_TRIAL": False},
                     content=content)
    with app.app_context():
        session = db.session()
        for email, name, role in USERS.values():
            services.create_user(session, email, name, role, PASSWORD)
        session.commit()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield LiveServer(f"http://127.0.0.1:{server.server_port}", app)
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        app.extensions["configurator.db"].dispose()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not os.path.exists(CHROMIUM):
        message = f"{CHROMIUM} is missing: bin/system-packages installs Debian's chromium"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    context.set_default_timeout(20_000)
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()
