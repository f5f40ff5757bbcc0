"""PDF proposals, rendered for real with WeasyPrint and read back as text.

Every check reads the produced PDF (pypdf's text extraction), not the HTML: the customer's name,
every line and every reason, the totals, the approvals and the DRAFT mark, the tailored-versus-
standard section, the table of contents and page numbers, Chinese text and its embedded font.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import io
import re
import shutil
import socket

import pypdf
import pytest

from configurator.content.document import NOTE_SECTIONS
from configurator.content.pack import load_pack
from configurator.content.yamlfile import plain, read_yaml
from configurator.engine.pipeline import Pipeline
from configurator.proposals import (ProposalInput, ProposalInvalid, RecordedApproval,
                                    TemplateBroken, open_template)
from configurator.services.rendering import render_proposal as render
from configurator.proposals.analysis import compare, needs_answered
from configurator.proposals.pdf import FolderFetcher, Refused
from configurator.proposals.view import NOTE_PLACES, SECTIONS, Format

from helpers import REPO, write_pack

TEMPLATE = REPO / "proposals" / "standard"
REVISION_TIME = dt.datetime(2026, 11, 28, 9, 30, tzinfo=dt.timezone.utc)


# --- helpers ----------------------------------------------------------------------------------

def pdf_text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() or "" for page in pypdf.PdfReader(io.BytesIO(pdf)).pages)


def page_texts(pdf: bytes) -> list[str]:
    return [page.extract_text() or "" for page in pypdf.PdfReader(io.BytesIO(pdf)).pages]


def squash(text: str) -> str:
    """Text without whitespace: a phrase wrapped over two lines still matches."""
    return re.sub(r"\s+", "", text)


def assert_in_pdf(expected: str, text: str) -> None:
    assert squash(expected) in squash(text), f"{expected!r} is not in the PDF text"


def money(amount: float) -> str:
    return f"{amount:,.2f}"


def example(name: str) -> dict:
    return plain(read_yaml(REPO / "examples" / f"{name}.yaml"))


def source_for(pipeline: Pipeline, profile: dict, approvals=(), adjustments=(),
               revision: int = 3) -> ProposalInput:
    document = pipeline.configure(pipeline.pack.profile.validate(profile), [])
    if adjustments:
        from configurator.content.adjustments import parse_adjustments
        document = pipeline.configure(pipeline.pack.profile.validate(profile),
                                      parse_adjustments(list(adjustments), pipeline.pack.catalog))
    return ProposalInput(customer=profile["name"], configuration_id=12, revision=revision,
                         created_at=REVISION_TIME, profile=profile,
                         adjustments=list(adjustments), document=document,
                         approvals=tuple(approvals))


def approve_all(source: ProposalInput) -> ProposalInput:
    approvals = tuple(RecordedApproval(a["role"], "Dana Whitfield", REVISION_TIME, "ok")
                      for a in source.document["approvals"])
    return dataclasses.replace(source, approvals=approvals)


# --- fixtures ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def pipeline(content):
    return content.pipeline


@pytest.fixture(scope="module")
def kestrel(pipeline):
    """A strategic account whose revision needs three approvals."""
    return source_for(pipeline, example("kestrel-network-systems-ltd"))


@pytest.fixture(scope="module")
def draft_pdf(pipeline, kestrel):
    return render(pipeline, kestrel, "standard", "en")


@pytest.fixture(scope="module")
def draft_text(draft_pdf):
    return pdf_text(draft_pdf.pdf)


@pytest.fixture(scope="module")
def chinese_pdf(pipeline, kestrel):
    return render(pipeline, kestrel, "standard", "zh")


# --- what the customer reads ------------------------------------------------------------------

def test_pdf_names_the_customer_every_line_and_every_reason(draft_pdf, draft_text, kestrel):
    assert draft_pdf.pdf.startswith(b"%PDF-")
    assert_in_pdf("Kestrel Network Systems Ltd", draft_text)
    lines = kestrel.document["lines"]
    assert len(lines) > 10
    for line in lines:
        assert_in_pdf(line["name"], draft_text)
        for reason in line["reasons"]:
            assert_in_pdf(reason["text"], draft_text)
        for change in line["discounts"]:
            assert_in_pdf(change["text"], draft_text)


def test_pdf_restates_the_business_and_answers_each_need(draft_text):
    assert_in_pdf("telecommunications business based in the United Kingdom", draft_text)
    assert_in_pdf("Europe, the Middle East and Africa, Asia-Pacific and mainland China", draft_text)
    assert_in_pdf("One project delivered across regions", draft_text)      # need: cross-region
    assert_in_pdf("An escalation path that closes the loop", draft_text)   # need: escalation
    assert_in_pdf("Cross-region project delivery hub", draft_text)
    assert_in_pdf("4-level escalation path", draft_text)
    assert_in_pdf("Priya Raman", draft_text)
    assert_in_pdf("decides on the investment", draft_text)


def test_pdf_shows_totals_with_currency_and_every_discount(draft_text, kestrel):
    totals = kestrel.document["totals"]
    for key in ("one_time", "monthly", "yearly", "annual_recurring", "first_year"):
        assert_in_pdf(money(totals[key]), draft_text)
    assert_in_pdf(f"{money(totals['first_year'])} USD", draft_text)
    assert_in_pdf("Strategic account price on business applications", draft_text)
    assert_in_pdf("Discounts and surcharges", draft_text)


def test_pdf_lists_outstanding_approvals_and_carries_the_draft_mark(draft_pdf, draft_text, kestrel):
    assert draft_pdf.draft
    pages = page_texts(draft_pdf.pdf)
    assert all("DRAFT" in page for page in pages), "the DRAFT mark is on every page"
    for approval in kestrel.document["approvals"]:
        for reason in approval["reasons"]:
            assert_in_pdf(reason["text"], draft_text)
    assert_in_pdf("Awaiting approval", draft_text)
    assert_in_pdf("Draft: awaiting approval by Finance, Delivery director and Legal", draft_text)


def test_approved_revision_renders_clean(pipeline, kestrel):
    approved = approve_all(kestrel)
    assert not approved.draft
    rendered = render(pipeline, approved, "standard", "en")
    text = pdf_text(rendered.pdf)
    assert not rendered.draft
    assert "DRAFT" not in text
    assert_in_pdf("Approved by Dana Whitfield on 28 November 2026", text)
    assert_in_pdf("Every required approval has been given. This proposal is final.", text)


def test_tailored_versus_standard_shows_what_changed_and_why(draft_text, kestrel, pipeline):
    assert_in_pdf("Tailored versus standard", draft_text)
    assert_in_pdf("Price against the standard offer", draft_text)
    # the standard offer: the same profile without needs, decision chain or account scores
    from configurator.proposals.analysis import baseline_profile, load_baseline
    baseline = load_baseline(pipeline.pack.proposals_dir)
    standard = pipeline.configure(pipeline.pack.profile.validate(
        baseline_profile(kestrel.profile, baseline)))
    diff = compare(kestrel.document, standard)
    assert diff.added and diff.removed
    for line in diff.added:
        assert_in_pdf(line["name"], draft_text)
    for line in diff.removed:   # the standard implementation and support packages
        assert_in_pdf(line["name"], draft_text)
    assert_in_pdf(money(standard["totals"]["first_year"]), draft_text)
    assert_in_pdf("+" + money(diff.difference["first_year"]), draft_text)
    assert_in_pdf("The rules that made the difference", draft_text)
    assert_in_pdf("sol-cross-region-project", draft_text)


def test_every_note_section_has_its_place_in_the_proposal():
    assert set(NOTE_PLACES) == set(NOTE_SECTIONS)
    assert set(NOTE_PLACES.values()) <= set(SECTIONS)


def test_notes_service_level_team_and_terms_are_in_their_sections(draft_text, kestrel):
    for note in kestrel.document["notes"]:
        assert_in_pdf(note["text"], draft_text)
    assert_in_pdf("Escalation path", draft_text)
    assert_in_pdf("Executive sponsor", draft_text)
    assert_in_pdf("99.95%", draft_text)
    for role in ("Customer lead", "Solution lead", "Delivery lead"):
        assert_in_pdf(role, draft_text)
    # valid 60 days from the revision date (theme.yaml)
    assert_in_pdf("valid until 27 January 2027, 60 days from its date", draft_text)


def test_contents_page_numbers_and_running_headers(draft_pdf):
    pages = page_texts(draft_pdf.pdf)
    count = len(pages)
    assert count == draft_pdf.pages >= 8
    contents = pages[1]
    assert "Contents" in contents
    # every chapter is listed with the page it starts on, and starts there
    for title in ("Executive summary", "Your solution", "Why this fits you",
                  "Tailored versus standard", "Investment", "Service level and escalation",
                  "Your account team", "Approval status", "Terms and validity"):
        match = re.search(re.escape(title) + r"[ .]*?(\d+)\s*$", contents, re.M)
        assert match, f"{title} is not in the contents"
        start = int(match.group(1))
        assert title in pages[start - 1], f"{title} does not start on page {start}"
    for number, text in enumerate(pages[1:], start=2):
        assert f"Page {number} of {count}" in text
        assert "Northwind Operations Cloud" in text          # running header
        assert "Kestrel Network Systems Ltd" in text         # running footer
    assert "Page 1 of" not in pages[0]                       # the cover has none


def test_private_profile_fields_are_never_printed(draft_text):
    assert "Ericsson Managed Services" not in draft_text     # competitors
    assert "supporter" not in draft_text.lower()             # a contact's stance


# --- Chinese ----------------------------------------------------------------------------------

def test_chinese_proposal_embeds_a_cjk_font_and_its_text_extracts(chinese_pdf, kestrel):
    reader = pypdf.PdfReader(io.BytesIO(chinese_pdf.pdf))
    fonts = set()
    for page in reader.pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            fonts.add(str(font["/BaseFont"]))
            descendant = font.get("/DescendantFonts")
            if descendant:
                descriptor = descendant[0].get_object()["/FontDescriptor"].get_object()
                assert any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3")), \
                    f"{font['/BaseFont']} is not embedded"
    assert any(re.search(r"CJK|WenQuanYi|WQY", name, re.I) for name in fonts), fonts
    text = pdf_text(chinese_pdf.pdf)
    for label in ("执行摘要", "您的解决方案", "为什么适合您", "定制方案与标准方案对比", "审批状态",
                  "条款与有效期", "首年合计", "草稿"):
        assert label in text, label
    assert_in_pdf("Kestrel Network Systems Ltd 是一家总部位于英国的电信企业", text)
    assert_in_pdf("有效期至 2027年1月27日", text)
    for line in kestrel.document["lines"]:   # the catalog's own text, as written
        assert_in_pdf(line["name"], text)
    assert re.search(r"第 2 页，共 \d+ 页", text)


def test_a_chinese_customer_name_renders_in_an_english_proposal(pipeline):
    profile = {**example("kestrel-network-systems-ltd"), "name": "凯斯特网络系统有限公司"}
    text = pdf_text(render(pipeline, source_for(pipeline, profile), language="en").pdf)
    assert "凯斯特网络系统有限公司" in text


def test_a_country_the_messages_do_not_name_is_printed_by_its_iso_name(pipeline):
    # was: the proposal printed what was typed, made readable: "based in Cn"; now the profile
    # holds an ISO code, and one the message catalog lacks is named as ISO names it
    profile = {**example("kestrel-network-systems-ltd"), "country": "AR"}
    text = pdf_text(render(pipeline, source_for(pipeline, profile), language="en").pdf)
    assert_in_pdf("business based in Argentina", text)


def test_a_pack_on_the_default_templates_renders_without_the_demo_baseline(tmp_path):
    # the demo's baseline.yaml overrides demo profile fields this pack does not declare
    pack = load_pack(write_pack(tmp_path, {"r.yaml": """
        ruleset: r
        stage: solution
        rules:
          - id: core-for-all
            when: {profile.sites: {gte: 1}}
            then: [{include: core}]
        """}))
    assert not pack.own_proposals and pack.proposals_dir == TEMPLATE.parent
    pipeline = Pipeline(pack)
    try:
        profile = {"name": "Plain Ltd", "industry": "food", "sites": 2}
        text = pdf_text(render(pipeline, source_for(pipeline, profile)).pdf)
        assert_in_pdf("Plain Ltd", text)
        assert "Tailored versus standard" not in text
    finally:
        pipeline.close()


def test_every_english_message_has_a_chinese_translation():
    template = open_template(REPO / "proposals", "standard")
    english, chinese = template.messages("en").entries, template.messages("zh").entries
    missing = sorted(key for key in english if key not in chinese)
    assert missing == []


# --- reproducible -----------------------------------------------------------------------------

def test_same_revision_content_and_template_give_the_same_pdf(pipeline, kestrel, draft_pdf):
    again = render(pipeline, kestrel, "standard", "en")
    assert pdf_text(again.pdf) == pdf_text(draft_pdf.pdf)
    assert again.sha256 == draft_pdf.sha256
    meta = pypdf.PdfReader(io.BytesIO(again.pdf)).metadata
    assert meta["/CreationDate"].startswith("D:20261128093000")


# --- safety -----------------------------------------------------------------------------------

@pytest.fixture
def listening_socket():
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    server.setblocking(False)
    yield server
    server.close()


def test_markup_in_customer_text_is_printed_literally_and_fetches_nothing(tmp_path,
                                                                          listening_socket):
    port = listening_socket.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    # a copy of the demo pack whose profile declares a free-text `notes` field
    pack_dir = tmp_path / "pack"
    for folder in ("catalog", "rules", "proposals"):
        shutil.copytree(REPO / folder, pack_dir / folder)
    profile_yaml = pack_dir / "rules" / "profile.yaml"
    profile_yaml.write_text(profile_yaml.read_text() + "\n  notes:\n    type: string\n"
                            "    label: Notes from the customer\n")
    pack = load_pack(pack_dir)
    pipeline = Pipeline(pack)
    try:
        name = f'<img src="{url}/x">'
        notes = (f'<link rel="stylesheet" href="{url}/style.css"><script>alert(1)</script>'
                 f'<b>bold</b> <iframe src="{url}/frame"></iframe>')
        contact = f'<object data="{url}/object"></object>'
        profile = {**example("kestrel-network-systems-ltd"), "name": name, "notes": notes,
                   "contacts": [{"name": contact, "role": "economic-buyer"}]}
        adjustments = [{"action": "discount", "percent": 2, "applies_to": "total",
                        "reason": f'<img src="{url}/adjustment"> goodwill', "by": "<b>lead</b>"}]
        source = source_for(pipeline, profile, adjustments=adjustments)
        rendered = render(pipeline, source, "standard", "en")
    finally:
        pipeline.close()
    with pytest.raises(BlockingIOError):
        listening_socket.accept()     # nobody connected
    text = pdf_text(rendered.pdf)
    for literal in (name, notes, contact, f'<img src="{url}/adjustment"> goodwill'):
        assert_in_pdf(literal, text)
    assert "&lt;" not in text and "&amp;" not in text   # escaped once, shown as typed
    assert_in_pdf("Notes from the customer", text)


def test_fetcher_serves_only_the_template_folder(tmp_path):
    fetcher = FolderFetcher(TEMPLATE)
    css = fetcher.fetch((TEMPLATE / "proposal.css").as_uri())
    assert css.content_type == "text/css" and b"@page" in css.read()
    assert fetcher.fetch("data:text/plain;base64,aGk=").read() == b"hi"
    secret = tmp_path / "secret.css"
    secret.write_text("body{}")
    for url in ("http://127.0.0.1:9/x", "https://example.org/logo.png", secret.as_uri(),
                (TEMPLATE / ".." / ".." / "pyproject.toml").as_uri(), "file:///etc/passwd",
                "ftp://127.0.0.1/x", (TEMPLATE / "missing.svg").as_uri(),
                "file://otherhost" + str(TEMPLATE / "proposal.css")):
        with pytest.raises(Refused):
            fetcher.fetch(url)
    assert len(fetcher.refused) == 8


def test_template_never_marks_text_safe():
    source = (TEMPLATE / "proposal.html").read_text()
    assert "|safe" not in source.replace(" ", "") and "Markup" not in source
    assert "autoescape false" not in source


# --- what the renderer keeps between renders --------------------------------------------------

def test_kept_style_sheets_fonts_and_lean_user_agent_sheet_change_no_byte(draft_pdf):
    """pdf.py keeps parsed style sheets, a font configuration and a leaner user-agent style sheet
    between renders: the PDF is byte for byte the one WeasyPrint makes on its own."""
    import weasyprint
    from configurator.proposals import pdf

    html = draft_pdf.html
    alone = weasyprint.HTML(string=html, base_url=TEMPLATE.resolve().as_uri() + "/",
                            url_fetcher=FolderFetcher(TEMPLATE)).render()
    expected = alone.write_pdf(pdf_identifier=b"0" * 32)
    document = pdf._HTML(string=html, base_url=TEMPLATE.resolve().as_uri() + "/",
                         url_fetcher=FolderFetcher(TEMPLATE))
    sheets, lean = pdf._prepared(document, html, FolderFetcher(TEMPLATE))
    assert len(sheets) == 2 and lean          # proposal.css and the theme's colours
    for _ in range(2):                        # parsed, then kept
        rendered = pdf._render(html, TEMPLATE, b"0" * 32)
        assert rendered.pdf == expected and rendered.pages == len(alone.pages)


def test_pages_the_kept_parts_cannot_cover_are_left_to_weasyprint(tmp_path):
    from configurator.proposals import pdf

    (tmp_path / "fonts.css").write_text("@font-face { font-family: X; src: url(x.ttf) }")
    (tmp_path / "plain.css").write_text("p { color: #123456 }")

    def prepared(head: str, body: str = "<p>x</p>"):
        html = f"<!doctype html><html><head>{head}</head><body>{body}</body></html>"
        fetcher = FolderFetcher(tmp_path)
        document = pdf._HTML(string=html, base_url=tmp_path.as_uri() + "/", url_fetcher=fetcher)
        found = pdf._prepared(document, html, fetcher)
        assert not fetcher.refused            # nothing outside the folder was asked for
        return found

    plain = '<link rel="stylesheet" href="plain.css">'
    assert prepared('<link rel="stylesheet" href="fonts.css">') is None     # fonts of its own
    assert prepared('<link rel="stylesheet" href="plain.css" media="screen">') is None
    assert prepared('<link rel="stylesheet" href="http://127.0.0.1:9/x.css">') is None
    assert prepared(plain + '<style>@import "other.css";</style>') is None
    sheets, lean = prepared(plain + "<style>p { margin: 0 }</style>")
    assert len(sheets) == 2 and lean
    # WeasyPrint's own user-agent sheet when the page may need its footnote or list rules
    assert prepared(plain, '<p style="display: list-item">x</p>')[1] is False
    assert prepared("<style>p { float: footnote }</style>")[1] is False
    # the same sheet text is parsed once
    assert prepared(plain)[0][0] is prepared(plain)[0][0]


def test_an_edited_template_is_compiled_again(tmp_path):
    folder = tmp_path / "proposals" / "standard"
    shutil.copytree(TEMPLATE, folder)
    page = folder / "proposal.html"

    def rendered() -> str:
        template = open_template(tmp_path / "proposals", "standard", tmp_path)
        return template.environment.get_template("proposal.html").render(n=2)

    page.write_text("<p>{{ n + 1 }}</p>")
    assert rendered() == rendered() == "<p>3</p>"
    page.write_text("<p>{{ n * 10 }}</p>")
    assert rendered() == "<p>20</p>"


# --- templates and languages ------------------------------------------------------------------

def test_unknown_template_and_language_are_refused_by_name(pipeline, kestrel):
    with pytest.raises(ProposalInvalid) as caught:
        render(pipeline, kestrel, "glossy", "en")
    assert "template" in caught.value.errors and "standard" in caught.value.errors["template"][0]
    with pytest.raises(ProposalInvalid) as caught:
        render(pipeline, kestrel, "standard", "fr")
    assert "language" in caught.value.errors and "zh" in caught.value.errors["language"][0]
    with pytest.raises(ProposalInvalid):
        render(pipeline, kestrel, "../standard", "en")


def test_a_broken_theme_names_its_file_and_the_fix(tmp_path):
    folder = tmp_path / "proposals" / "standard"
    shutil.copytree(TEMPLATE, folder)
    theme = folder / "theme.yaml"
    theme.write_text(theme.read_text().replace('primary: "#12355b"', "primary: red; } body {"))
    with pytest.raises(TemplateBroken) as caught:
        open_template(tmp_path / "proposals", "standard", tmp_path)
    assert caught.value.file == "proposals/standard/theme.yaml"
    assert "hex colour" in caught.value.message


def test_theme_logo_must_stay_inside_the_template_folder(tmp_path):
    folder = tmp_path / "proposals" / "standard"
    shutil.copytree(TEMPLATE, folder)
    theme = folder / "theme.yaml"
    theme.write_text(theme.read_text().replace("logo: assets/logo.svg", "logo: ../../../etc/passwd"))
    with pytest.raises(TemplateBroken, match="not a file in the template folder"):
        open_template(tmp_path / "proposals", "standard", tmp_path)


# --- the analysis behind the text -------------------------------------------------------------

def test_each_need_is_answered_by_the_lines_of_the_rules_that_test_it(pipeline, kestrel):
    answers = needs_answered(pipeline.pack, kestrel.document, kestrel.profile["needs"])
    assert "project-delivery-hub" in answers["cross-region-project"].modules
    assert "escalation-desk" in answers["escalation"].modules
    # through a derived fact: fast-response -> response_critical -> follow-the-sun coverage
    assert "follow-the-sun-coverage" in answers["fast-response"].modules
    assert "del-closed-loop-escalation" in answers["escalation"].rules


def test_money_and_dates_follow_the_language(pipeline):
    template = open_template(REPO / "proposals", "standard")
    en, zh = Format(template.messages("en")), Format(template.messages("zh"))
    assert en.money(1234567.5, "USD") == "1,234,567.50 USD"
    assert en.money(-12.345) == "\u221212.35"
    assert en.date(dt.date(2027, 1, 27)) == "27 January 2027"
    assert zh.date(dt.date(2027, 1, 27)) == "2027年1月27日"
    assert en.hours(1) == "1 hour" and en.hours(24) == "24 hours"
    assert en.join(["a", "b", "c"]) == "a, b and c" and zh.join(["甲", "乙"]) == "甲和乙"
