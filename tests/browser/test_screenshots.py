"""A screenshot of each main page, taken in the real browser.

Every run visits each page (so a page that breaks fails here); the pictures are written to
$CONFIGURATOR_SCREENSHOTS when it is set (`CONFIGURATOR_SCREENSHOTS=docs/screenshots bin/test
tests/browser/test_screenshots.py` refreshes the ones README shows), else to a temporary folder.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import expect

from configurator.accounts import services as accounts
from configurator.content.yamlfile import plain, read_yaml
from configurator.store import customers
from configurator.store import flaskdb as db
from configurator.services.configurations import add_revision, create_configuration
from configurator.services.workflow import Actor

from helpers import USERS, sign_in

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]


def _seed(server) -> dict:
    """The four demo key accounts as customers; Hanseatic configured and adjusted twice."""
    app = server.app
    content = app.extensions["configurator.content"]
    lead = USERS["lead"][0]
    ids = {}
    with app.app_context():
        session = db.session()
        for path in sorted((REPO / "examples").glob("*.yaml")):
            profile = plain(read_yaml(path))
            found = customers.list_customers(session, profile["name"]).items
            if found:
                ids[profile["name"]] = {"customer": found[0]["id"]}
                continue
            customer_id = customers.save_profile(session, profile, lead)
            ids[profile["name"]] = {"customer": customer_id}
        session.commit()
        hanseatic = ids["Hanseatic Fulfilment GmbH"]
        existing = customers.get_customer(session, hanseatic["customer"])["configurations"]
        if existing:
            hanseatic["configuration"] = existing[-1]["id"]
        else:
            profile = customers.get_customer(session, hanseatic["customer"])["profile"]
            user = accounts.get_user(session, lead)
            actor = Actor(user.id, user.email, user.name)
            first = create_configuration(session, content, profile, actor=actor)
            by = lead[:100]
            accept = {"action": "accept", "module": "training-elearning", "by": by}
            quantity = {"action": "quantity", "module": "handheld-scanner", "quantity": 80,
                        "by": by}
            add_revision(session, content, first["id"], [accept], actor=actor)
            add_revision(session, content, first["id"], [accept, quantity], actor=actor)
            hanseatic["configuration"] = first["id"]
        session.commit()
    return ids


def test_screenshots_of_each_main_page(browser, live_server, tmp_path):
    out = Path(os.environ.get("CONFIGURATOR_SCREENSHOTS") or tmp_path)
    out.mkdir(parents=True, exist_ok=True)
    ids = _seed(live_server)
    hanseatic = ids["Hanseatic Fulfilment GmbH"]
    base = live_server.url

    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()

    def shot(name: str, full: bool = True, longest: int = 3000) -> None:
        """The page (whole, up to `longest` pixels down, or the window) as out/name.png."""
        page.wait_for_load_state("networkidle")
        if not full:
            page.screenshot(path=str(out / f"{name}.png"))
            return
        height = min(longest, page.evaluate("document.documentElement.scrollHeight"))
        page.screenshot(path=str(out / f"{name}.png"), full_page=True,
                        clip={"x": 0, "y": 0, "width": 1280, "height": height})

    page.goto(base + "/sign-in")
    shot("sign-in", full=False)
    sign_in(page, live_server, "admin")

    page.goto(base + "/customers")
    expect(page.get_by_role("link", name="Hanseatic Fulfilment GmbH")).to_be_visible()
    shot("customers", full=False)

    page.goto(base + "/customers/new")
    page.fill("#f-name", "Nordfrost AS")
    page.select_option("#f-industry", "food")
    page.select_option("#f-country", "NO")
    page.fill("#f-employees", "about 400")
    page.fill("#f-sites", "8")
    page.fill("#f-scores-loyalty", "7")
    page.check('input[name="needs"][value="cold-chain"]')
    page.get_by_role("button", name="Create customer").click()
    expect(page.locator(".error-summary")).to_be_visible()
    shot("profile-form-errors")

    page.goto(f"{base}/customers/{hanseatic['customer']}")
    shot("customer")

    page.goto(f"{base}/configurations/{hanseatic['configuration']}")
    expect(page.locator(".meta")).to_contain_text("Revision 3 of 3")
    shot("configuration-review")

    page.goto(f"{base}/configurations/{hanseatic['configuration']}/history")
    shot("history", full=False)

    page.goto(f"{base}/configurations/{hanseatic['configuration']}/diff?from=1&to=3")
    shot("revision-difference")

    page.goto(f"{base}/configurations/{hanseatic['configuration']}/revisions/3/proposal")
    generate = page.get_by_role("button", name="Generate the PDF")
    if generate.count():
        generate.click()
        page.wait_for_function(
            "() => { const img = document.querySelector('img.first-page');"
            " return img.complete && img.naturalWidth > 0; }")
    shot("proposal")

    page.goto(base + "/content")
    page.get_by_role("button", name="Configure this profile").click()
    expect(page.locator("#try-result")).to_be_visible()
    page.locator("#try-title").scroll_into_view_if_needed()
    shot("content-and-rules")

    page.goto(base + "/admin/users")
    shot("users", full=False)
    context.close()

    # a tablet in portrait: the review page still reads and works
    tablet = browser.new_context(viewport={"width": 768, "height": 1024}, has_touch=True)
    page = tablet.new_page()
    sign_in(page, live_server, "lead")
    page.goto(f"{base}/configurations/{hanseatic['configuration']}")
    shot("configuration-review-tablet", full=False)
    page.goto(base + "/admin/users")
    expect(page.get_by_role("heading", name="You cannot open this page")).to_be_visible()
    shot("forbidden", full=False)
    tablet.close()
