"""A double click on a button that stores something stores it once (app.js ignores a form's
second submit while its answer is on the way)."""
from __future__ import annotations

import re
import secrets
import time

import pytest
from playwright.sync_api import expect

from configurator.store import flaskdb as db
from configurator.web import customers as customer_pages
from configurator.store.configurations import list_configurations
from configurator.store.customers import save_profile

from helpers import sign_in

pytestmark = pytest.mark.slow


def test_a_second_click_while_the_first_is_answered_makes_one_configuration(
        page, live_server, example_profiles, monkeypatch):
    name = f"Double Click {secrets.token_hex(3)} Ltd"
    content = live_server.app.extensions["configurator.content"]
    with live_server.app.app_context():
        session = db.session()
        profile = content.pack.profile.validate({**example_profiles[0]["profile"], "name": name})
        customer_id = save_profile(session, profile, "tests")
        session.commit()
    sign_in(page, live_server, "lead")
    page.goto(f"{live_server.url}/customers/{customer_id}")
    configure = customer_pages.create_configuration

    def slow(*args, **kwargs):            # a busy server: the page stays while it works
        time.sleep(1.0)
        return configure(*args, **kwargs)

    monkeypatch.setattr(customer_pages, "create_configuration", slow)
    expect(page.get_by_role("button", name="Configure a solution")).to_be_visible()
    # a click, and another 0.3 s later while the first request is on its way (by a script in the
    # page: Playwright's own click would wait for the navigation to finish first)
    page.evaluate("""() => {
        const button = document.querySelector('form[action$="/configure"] button');
        setTimeout(() => button.click(), 0);
        setTimeout(() => button.click(), 300);
    }""")
    expect(page).to_have_url(re.compile(r"/configurations/\d+$"))
    expect(page.locator(".flash-success")).to_contain_text(f"Configured {name}")
    with live_server.app.app_context():
        assert list_configurations(db.session(), customer=name).total == 1
