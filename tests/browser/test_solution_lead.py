"""A solution lead's whole journey in a real browser: sign in, create a customer with a
multi-field profile, see an inline error and fix it, configure, accept a recommendation, change a
quantity, see the new revision and its difference, generate and download the PDF, sign out.

The profile is the key-account example whose rule test expects the recommendation
training-elearning (rules/tests/key-accounts.yaml).
"""
from __future__ import annotations

import re
import secrets

import pytest
from playwright.sync_api import expect

from helpers import sign_in

pytestmark = pytest.mark.slow


def test_solution_lead_from_new_customer_to_pdf_proposal(page, live_server, tmp_path):
    company = f"Hanseatic Fulfilment {secrets.token_hex(3)} GmbH"
    sign_in(page, live_server, "lead")
    expect(page.get_by_role("heading", name="Customers")).to_be_visible()

    # --- a new customer with a multi-field profile, with one mistake ---------------------------
    page.get_by_role("link", name="New customer").first.click()
    expect(page.get_by_role("heading", name="New customer")).to_be_visible()
    page.fill("#f-name", company)
    page.select_option("#f-industry", "logistics")
    page.select_option("#f-country", label="Germany (DE)")   # a select of names with codes
    page.check('input[name="regions"][value="emea"]')
    page.fill("#f-employees", "1,800")
    page.fill("#f-annual_revenue", "420000000")
    page.fill("#f-sites", "6")
    page.fill("#f-scores-value_contribution", "4")
    page.fill("#f-scores-loyalty", "7")          # out of range: 1 to 5
    page.fill("#f-scores-growth", "5")
    page.fill("#f-scores-financial_risk", "2")
    for need in ("custom-supply-chain", "visibility", "returns", "erp-integration"):
        page.check(f'input[name="needs"][value="{need}"]')
    page.select_option("#f-end_customer_industry", "fashion")
    page.check('input[name="sales_channels"][value="direct"]')
    page.select_option("#f-erp_system", "sap")
    page.select_option("#f-hosting", "cloud")
    page.fill("#f-contacts-0-name", "Katrin Albers")
    page.select_option("#f-contacts-0-role", "economic-buyer")
    page.select_option("#f-contacts-0-stance", "supporter")
    page.fill("#f-contacts-1-name", "Jonas Petersen")
    page.select_option("#f-contacts-1-role", "technical-evaluator")
    page.select_option("#f-contacts-1-stance", "skeptic")
    page.get_by_role("button", name=re.compile("Add decision chain entry")).click()  # JavaScript
    page.fill("#f-contacts-2-name", "Mira Okafor")
    page.select_option("#f-contacts-2-role", "coach")
    page.select_option("#f-contacts-2-stance", "champion")
    page.fill("#f-budget", "900000")
    page.select_option("#f-timeline", "half-year")
    page.fill("#f-competitors", "Manhattan Associates")
    page.get_by_role("button", name="Create customer").click()

    # the error is named in the summary and next to the field; every value is kept
    summary = page.locator(".error-summary")
    expect(summary).to_contain_text("1 problem to fix")
    expect(summary).to_contain_text("Account scores › Loyalty")
    expect(page.locator("#f-scores-loyalty-error")).to_contain_text("less than or equal to 5")
    expect(page.locator("#f-scores-loyalty")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#f-scores-loyalty")).to_have_value("7")
    expect(page.locator("#f-name")).to_have_value(company)
    expect(page.locator("#f-employees")).to_have_value("1800")
    expect(page.locator("#f-contacts-2-name")).to_have_value("Mira Okafor")
    expect(page.locator('input[name="needs"][value="returns"]')).to_be_checked()
    summary.get_by_role("link").first.click()
    expect(page.locator("#f-scores-loyalty")).to_be_focused()

    page.fill("#f-scores-loyalty", "4")
    page.get_by_role("button", name="Create customer").click()
    expect(page.locator(".flash-success")).to_contain_text(f"Profile of {company} saved")
    expect(page.get_by_role("heading", name=company)).to_be_visible()
    expect(page.locator("dl.profile")).to_contain_text("Mira Okafor")

    # --- configure --------------------------------------------------------------------------
    page.get_by_role("button", name="Configure a solution").click()
    expect(page.locator(".flash-success")).to_contain_text("revision 1")
    expect(page.locator(".meta")).to_contain_text("Revision 1 of 1")
    expect(page.locator(".meta .badge")).to_have_text(["Approval required", "Pending approval"])
    expect(page.locator("#line-handheld-scanner")).to_contain_text("72")
    expect(page.locator("#line-handheld-scanner")).to_contain_text(
        "Twelve scanners per site for receiving, picking and shipping")
    expect(page.get_by_role("heading", name="Approvals needed")).to_be_visible()
    expect(page.locator("#recommendation-training-elearning")).to_be_visible()
    expect(page.locator("#line-training-elearning")).to_have_count(0)

    # --- accept a recommendation: revision 2 --------------------------------------------------
    page.get_by_role("button", name="Accept Northwind Academy e-learning").click()
    expect(page.locator(".flash-success")).to_contain_text(
        "Accepted the recommendation Northwind Academy e-learning: revision 2")
    expect(page.locator("#line-training-elearning")).to_contain_text(
        "Recommendation accepted by the solution lead")
    expect(page.locator("#recommendation-training-elearning")).to_have_count(0)

    # --- change a quantity: revision 3 ------------------------------------------------------
    page.fill("#qty-handheld-scanner", "80")
    page.locator("#form-quantity-handheld-scanner").get_by_role("button", name="Set").click()
    expect(page.locator(".flash-success")).to_contain_text(
        "Set the quantity of Rugged handheld scanner to 80: revision 3")
    expect(page.locator(".meta")).to_contain_text("Revision 3 of 3")
    expect(page.locator(".meta")).to_contain_text("by Lea Lead")
    expect(page.locator("#qty-handheld-scanner")).to_have_value("80")

    # --- the history and the difference ---------------------------------------------------------
    page.get_by_role("link", name="History and differences").click()
    rows = page.locator("table.history tbody tr")
    expect(rows).to_have_count(3)
    expect(page.locator("#revision-3")).to_contain_text("Lea Lead")
    expect(page.locator("#revision-3")).to_contain_text(
        "Set the quantity of Rugged handheld scanner to 80")
    expect(page.locator("#revision-2")).to_contain_text(
        "Accepted the recommendation Northwind Academy e-learning")
    page.locator("#revision-3").get_by_role("link", name="Difference from 2").click()
    expect(page.get_by_role("heading", name="What changed from revision 2 to 3")).to_be_visible()
    changed = page.locator("section", has=page.get_by_role("heading", name="Lines that changed"))
    expect(changed).to_contain_text("Rugged handheld scanner")
    expect(changed).to_contain_text("72 → 80")
    expect(changed).to_contain_text("+7,600.00")          # 8 more scanners at 950.00
    page.select_option("#from", "1")
    page.get_by_role("button", name="Show").click()
    added = page.locator("section", has=page.get_by_role("heading",
                                                          name="Lines added and removed"))
    expect(added).to_contain_text("Northwind Academy e-learning")

    # --- the proposal: generate, preview, download --------------------------------------------
    page.get_by_role("link", name="Latest revision").click()
    page.get_by_role("link", name="Proposal PDF").click()
    expect(page.get_by_role("heading", name=re.compile("Proposal for"))).to_be_visible()
    page.get_by_role("button", name=re.compile("Generate")).click()
    expect(page.locator(".flash-success")).to_contain_text("Proposal")
    preview = page.locator("img.first-page")
    expect(preview).to_be_visible()
    page.wait_for_function(  # the first page, rendered to a picture on the server
        "() => { const img = document.querySelector('img.first-page');"
        " return img.complete && img.naturalWidth >= 600; }")
    with page.expect_download() as info:
        page.get_by_role("link", name=re.compile("Download")).first.click()
    download = info.value
    assert download.suggested_filename.endswith(".pdf")
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    data = saved.read_bytes()
    assert data.startswith(b"%PDF-") and len(data) > 5_000

    # --- sign out -----------------------------------------------------------------------------
    page.get_by_role("button", name="Sign out").click()
    expect(page.locator(".flash-success")).to_contain_text("You are signed out")
    page.goto(live_server.url + "/customers")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
