"""Proposals of a revision: generate the PDF (through the same service as the API),
preview its first page as a picture, download it."""
from __future__ import annotations

import logging
import shutil
import subprocess
import tempfile
import threading
from collections import OrderedDict
from pathlib import Path

import flask
from flask import flash, redirect, render_template, request, url_for

from ..accounts import require
from ..accounts.services import names_by_email
from ..proposals import (DEFAULT_LANGUAGE, DEFAULT_TEMPLATE, ProposalInvalid, RenderFailed,
                         TemplateBroken, available_templates, open_template)
from ..current import render_timeout
from ..proposals.errors import RenderTimeout
from ..services import approvals as approval_service
from ..services import proposals as service
from ..store import flaskdb as db
from ..store import proposals as store
from ..store.configurations import get_configuration, get_revision
from ..store.models import ROUTE_ID
from .blueprint import actor, bp, content
from .deal import deal_view

log = logging.getLogger(__name__)

LANGUAGE_NAMES = {"en": "English", "zh": "Chinese (Simplified)", "de": "German",
                  "fr": "French", "es": "Spanish"}
PREVIEW_WIDTH = 720          # pixels across the first page's picture
PREVIEW_TIMEOUT_S = 20
_PREVIEWS: OrderedDict[str, bytes] = OrderedDict()   # sha256 of the PDF -> PNG
_PREVIEWS_LOCK = threading.Lock()
_PREVIEWS_KEPT = 32


def proposals_of_revision(configuration_id: int, number: int) -> list[dict]:
    return [p for p in store.list_proposals(db.session(), configuration_id)
            if p["revision"] == number]


def _choices() -> list[dict]:
    """The pack's templates and the languages each has."""
    pipeline = content().pipeline
    if pipeline is None:
        return []
    pack = pipeline.pack
    out = []
    for name in available_templates(pack.proposals_dir):
        try:
            languages = sorted(open_template(pack.proposals_dir, name, pack.root).languages,
                               key=lambda code: (code != DEFAULT_LANGUAGE, code))
        except TemplateBroken:
            continue
        out.append({"name": name, "languages": [(code, LANGUAGE_NAMES.get(code, code))
                                                 for code in languages]})
    return out


@bp.get(f"/configurations/<{ROUTE_ID}:configuration_id>/revisions/<{ROUTE_ID}:number>/proposal")
@require("customers")
def proposal(configuration_id: int, number: int):
    session = db.session()
    configuration = get_configuration(session, configuration_id)
    revision = get_revision(session, configuration_id, number)
    approvals = approval_service.status(session, configuration_id, number)
    proposals = proposals_of_revision(configuration_id, number)
    chosen = request.args.get("proposal", type=int)
    shown = next((p for p in proposals if p["id"] == chosen), proposals[0] if proposals else None)
    authors = names_by_email(session, {p["created_by"] for p in proposals} - {None})
    return render_template("web/proposal.html", configuration=configuration, revision=revision,
                           approvals=approvals, proposals=proposals, shown=shown,
                           deal=deal_view(revision, configuration["revision"], approvals),
                           choices=_choices(), authors=authors, default_template=DEFAULT_TEMPLATE,
                           language_names=LANGUAGE_NAMES,
                           too_many=len(revision["document"]["lines"]) > service.MAX_LINES_IN_REQUEST)


@bp.post(f"/configurations/<{ROUTE_ID}:configuration_id>/revisions/<{ROUTE_ID}:number>/proposal")
@require("customers")
def generate_proposal(configuration_id: int, number: int):
    template = request.form.get("template") or DEFAULT_TEMPLATE
    language = request.form.get("language") or DEFAULT_LANGUAGE
    session = db.session()
    here = url_for("web.proposal", configuration_id=configuration_id, number=number)
    try:
        made, new = service.create_proposal(session, content(), configuration_id, number,
                                            template, language, actor(),
                                            timeout=render_timeout())
    except ProposalInvalid as exc:
        session.rollback()
        flash(" ".join(m for messages in exc.errors.values() for m in messages), "error")
        return redirect(here)
    except service.TooLarge as exc:
        session.rollback()
        flash(exc.message, "error")
        return redirect(here)
    except TemplateBroken as exc:
        session.rollback()
        flash(f"The proposal template is broken: {exc.file}: {exc.message}"
              + (f" ({exc.hint})" if exc.hint else "") + ". A product manager can fix it.", "error")
        return redirect(here)
    except RenderFailed as exc:
        session.rollback()
        log.error("proposal of configuration %s revision %s failed: %s", configuration_id,
                  number, exc)
        if isinstance(exc, RenderTimeout):
            flash(f"The PDF took longer than {exc.seconds:g} seconds to render and was stopped; "
                  "nothing was stored and the configuration is unchanged. Tell an administrator: "
                  "the proposal template or the profile's texts may be too large.", "error")
        else:
            flash("The PDF could not be rendered; nothing was stored. Try again, and tell an "
                  "administrator if it fails again.", "error")
        return redirect(here)
    session.commit()
    what = "generated" if new else "already generated with the same content and approvals"
    draft = "; it carries a DRAFT mark until the approvals are recorded" if made["draft"] else ""
    flash(f"Proposal {what}: {made['pages']} page{'s' if made['pages'] != 1 else ''}{draft}.",
          "success")
    return redirect(url_for("web.proposal", configuration_id=configuration_id, number=number,
                            proposal=made["id"]))


@bp.get(f"/proposals/<{ROUTE_ID}:proposal_id>/pdf/<file_name>")
@require("customers")
def proposal_pdf(proposal_id: int, file_name: str):
    """The PDF, downloaded under its own file name."""
    pdf, name, sha256 = store.proposal_pdf(db.session(), proposal_id)
    response = flask.make_response(pdf)
    response.mimetype = "application/pdf"
    disposition = "inline" if request.args.get("view") else "attachment"
    response.headers["Content-Disposition"] = f'{disposition}; filename="{name}"'
    response.headers["ETag"] = f'"{sha256}"'
    return response


@bp.get(f"/proposals/<{ROUTE_ID}:proposal_id>/first-page.png")
@require("customers")
def proposal_preview(proposal_id: int):
    """The first page as a PNG, rendered by pdftoppm (poppler-utils) and kept in memory."""
    pdf, _name, sha256 = store.proposal_pdf(db.session(), proposal_id)
    with _PREVIEWS_LOCK:
        png = _PREVIEWS.get(sha256)
    if png is None:
        png = first_page_png(pdf)
        if png is None:
            flask.abort(404)
        with _PREVIEWS_LOCK:
            _PREVIEWS[sha256] = png
            while len(_PREVIEWS) > _PREVIEWS_KEPT:
                _PREVIEWS.popitem(last=False)
    response = flask.make_response(png)
    response.mimetype = "image/png"
    return response


def first_page_png(pdf: bytes, width: int = PREVIEW_WIDTH) -> bytes | None:
    """The first page of `pdf` as PNG bytes, or None when pdftoppm is missing or fails."""
    tool = shutil.which("pdftoppm")
    if tool is None:
        log.warning("pdftoppm (poppler-utils) is missing: no proposal previews")
        return None
    with tempfile.TemporaryDirectory(prefix="configurator-preview-") as folder:
        source = Path(folder) / "proposal.pdf"
        source.write_bytes(pdf)
        target = Path(folder) / "page"
        try:
            subprocess.run([tool, "-png", "-f", "1", "-l", "1", "-singlefile",
                            "-scale-to-x", str(width), "-scale-to-y", "-1",
                            str(source), str(target)],
                           check=True, capture_output=True, timeout=PREVIEW_TIMEOUT_S)
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
            log.warning("pdftoppm failed on a proposal: %s", exc)
            return None
        return (Path(folder) / "page.png").read_bytes()


