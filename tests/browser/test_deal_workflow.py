"""A deal from configuration to accepted, in a real browser with two people at once: an admin
gives a colleague the approver roles on the users page; a solution lead configures a customer
whose solution needs approvals; the approver rejects one role with a comment, sees the revision
rejected, withdraws the rejection and approves every role; the lead marks the revision sent and
then accepted (each after its confirmation page), and the history says who did what.

The customer is the Kestrel example (examples/), whose solution needs finance, delivery director
and legal approval.
"""
from __future__ import annotations

import json
import re
import secrets

import pytest
from playwright.sync_api import expect

from configurator.content.yamlfile import plain, read_yaml

from helpers import PASSWORD, REPO, sign_in

pytestmark = pytest.mark.slow

ROLES = ("Finance", "Delivery director", "Legal")


def _sign_in_as(page, server, email: str, password: str) -> None:
    page.goto(server.url + "/sign-in")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator(".flash-success")).to_contain_text("Signed in as")


def _state(page):
    """The badge of the 'Where this deal stands' band."""
    return page.locator("section.deal h2 .badge")


def test_a_deal_is_rejected_withdrawn_approved_sent_and_accepted(page, browser, live_server,
                                                                 tmp_path):
    tag = secrets.token_hex(3)
    company = f"Kestrel Network Systems {tag} Ltd"
    approver_email, approver_name = f"ana.approver.{tag}@example.com", f"Ana Approver {tag}"

    # --- an admin adds a colleague and gives them the approver roles the rules name ---------
    admin = browser.new_context(viewport={"width": 1280, "height": 900})
    admin.set_default_timeout(20_000)
    admin_page = admin.new_page()
    sign_in(admin_page, live_server, "admin")
    admin_page.get_by_role("link", name="Users").click()
    admin_page.fill("#user-email", approver_email)
    admin_page.fill("#user-name", approver_name)
    admin_page.fill("#user-password", PASSWORD)
    admin_page.get_by_role("button", name="Add user").click()
    expect(admin_page.locator(".flash-success")).to_contain_text(f"Created {approver_name}")
    row = admin_page.get_by_role("row").filter(has_text=approver_email)
    for role in ROLES:
        row.get_by_label(role, exact=True).check()
    row.get_by_role("button", name=f"Save the approver roles of {approver_name}").click()
    expect(admin_page.locator(".flash-success")).to_contain_text(
        f"{approver_name} now approves as delivery director, finance and legal")
    admin.close()

    # --- the solution lead imports the customer's profile and configures -------------------
    profile = {**plain(read_yaml(REPO / "examples" / "kestrel-network-systems-ltd.yaml")),
               "name": company}
    upload = tmp_path / "kestrel.json"
    upload.write_text(json.dumps(profile, default=str))
    sign_in(page, live_server, "lead")
    page.get_by_role("link", name="New customer").first.click()
    page.get_by_text("Import a profile from a YAML or JSON file").click()
    page.set_input_files("#import-file", str(upload))
    page.get_by_role("button", name="Import", exact=True).click()
    expect(page.locator(".flash-success")).to_contain_text(f"Profile of {company} imported")
    page.get_by_role("button", name="Configure a solution").click()
    expect(_state(page)).to_have_text("Pending approval")
    expect(page.locator("section.deal")).to_contain_text("Waiting for approval by")
    expect(page.get_by_role("button", name=re.compile("^Approve as"))).to_have_count(0)
    review_url = page.url

    # --- the approver rejects one role with a comment, then withdraws it --------------------
    approver = browser.new_context(viewport={"width": 1280, "height": 900})
    approver.set_default_timeout(20_000)
    other = approver.new_page()
    _sign_in_as(other, live_server, approver_email, PASSWORD)
    other.goto(review_url)
    expect(other.get_by_role("button", name=re.compile("^Approve as"))).to_have_count(len(ROLES))
    finance = other.locator("#approval-finance")
    finance.get_by_label("Comment").fill("A 12% discount is too deep for a first deal")
    finance.get_by_role("button", name="Reject as Finance").click()
    expect(_state(other)).to_have_text("Rejected")
    expect(other.locator("#approval-finance")).to_contain_text(
        f"Rejected by {approver_name}")
    expect(other.locator("#approval-finance")).to_contain_text("too deep for a first deal")
    expect(other.locator("#approval-legal")).to_contain_text(
        "Not decided: another approver rejected this revision")
    page.reload()                                            # the lead sees it too
    expect(_state(page)).to_have_text("Rejected")
    expect(page.get_by_role("link", name="Mark as sent…")).to_have_count(0)

    other.get_by_role("button", name="Withdraw my rejection").click()
    expect(other.locator(".flash-success")).to_contain_text("Withdrew your decision as finance")
    expect(_state(other)).to_have_text("Pending approval")

    # --- ... and approves every role ---------------------------------------------------------
    for role in ROLES:
        other.get_by_role("button", name=f"Approve as {role}").click()
        expect(other.locator(".flash-success")).to_contain_text(
            f"Approved revision 1 as {role.lower()}")
    expect(_state(other)).to_have_text("Approved")
    expect(other.get_by_role("button", name="Withdraw my approval")).to_have_count(len(ROLES))
    approver.close()

    # --- the lead marks it sent, then accepted, each after its confirmation page -------------
    page.reload()
    expect(_state(page)).to_have_text("Approved")
    page.get_by_role("link", name="Mark as sent…").click()
    expect(page.get_by_role("heading", name=re.compile("Mark as sent?"))).to_be_visible()
    expect(page.locator(".confirm")).to_contain_text("This cannot be undone")
    page.get_by_role("button", name="Yes, mark as sent").click()
    expect(page.locator(".flash-success")).to_contain_text("Revision 1 is marked sent")
    expect(_state(page)).to_have_text(re.compile(r"^Sent, valid until \d{4}-\d\d-\d\d$"))
    page.get_by_role("link", name="Proposal PDF").click()     # accepted from the proposal page
    page.get_by_role("link", name="Mark as accepted…").click()
    page.get_by_role("button", name="Yes, mark as accepted").click()
    expect(page.locator(".flash-success")).to_contain_text("Revision 1 is marked accepted")
    expect(page.get_by_role("heading", name=re.compile("Proposal for"))).to_be_visible()
    expect(_state(page)).to_have_text("Accepted")

    # --- the history says who did what; the customer page where the deal stands --------------
    page.get_by_role("link", name="Back to the configuration").click()
    page.get_by_role("link", name="History and differences").click()
    revision = page.locator("#revision-1")
    expect(revision).to_contain_text("Accepted by Lea Lead")
    for role in ROLES:
        expect(revision).to_contain_text(f"{role}: Approved by {approver_name}")
    expect(revision).not_to_contain_text("too deep")          # the rejection was withdrawn
    page.get_by_role("link", name=company).first.click()
    expect(page.locator('[data-state="accepted"]')).to_have_text("Accepted")
