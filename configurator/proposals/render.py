"""Render a configuration revision as a PDF proposal: `render_proposal(...) -> bytes`.

One plain function with plain inputs (the revision as a `ProposalInput`, the pipeline of the
revision's content version, a template name and a language), so the API calls it inside the
request today and a job queue can call it tomorrow without change.

Steps: pick the template folder from the pack's `proposals/`; run the pipeline once more on the
pack's baseline profile (the standard offer); build the view model; render the Jinja template
(autoescaped, sandboxed); turn the HTML into PDF with a fetcher that only reads the template
folder. The PDF's dates and identifier come from the revision, so the same revision, content
version, template and language give the same document.

Time limit: inside the web app the PDF is made in a child process that is stopped after
PROPOSAL_RENDER_TIMEOUT seconds (RenderTimeout, a RenderFailed); nothing is stored then and the
configuration is untouched. Elsewhere (the CLI, tests) it renders in-process unless `timeout` is
given.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import logging
from dataclasses import dataclass
from typing import Any

from ..content.profile import ProfileInvalid
from ..engine.pipeline import Pipeline
from .analysis import baseline_profile, compare, load_baseline
from .errors import RenderTimeout, TemplateBroken
from .templates import DEFAULT_LANGUAGE, DEFAULT_TEMPLATE, open_template
from .view import ProposalInput, build_view

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RenderedProposal:
    pdf: bytes
    pages: int
    draft: bool
    html: str

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.pdf).hexdigest()


def render_proposal(pipeline: Pipeline, source: ProposalInput, template: str = DEFAULT_TEMPLATE,
                    language: str = DEFAULT_LANGUAGE, *, timeout: float | None = None) -> bytes:
    """The proposal PDF for one revision.

    Raises ProposalInvalid (no such template or language), TemplateBroken (a template file is
    wrong), RenderFailed (WeasyPrint failed) or RenderTimeout (it took longer than `timeout`
    seconds; by default the app's PROPOSAL_RENDER_TIMEOUT inside the app, no limit outside).
    """
    return render(pipeline, source, template, language, timeout=timeout).pdf


def render(pipeline: Pipeline, source: ProposalInput, template: str = DEFAULT_TEMPLATE,
           language: str = DEFAULT_LANGUAGE, *, timeout: float | None = None
           ) -> RenderedProposal:
    """`render_proposal`, with the page count, the draft flag and the HTML."""
    html = render_html(pipeline, source, template, language)
    folder = pipeline.pack.proposals_dir / template
    from .pdf import html_to_pdf   # WeasyPrint loads only when a PDF is made
    rendered = html_to_pdf(html, folder, identifier=_identifier(source, pipeline, template,
                                                                language),
                           timeout=render_timeout() if timeout is None else timeout)
    return RenderedProposal(rendered.pdf, rendered.pages, source.draft, html)


def render_timeout() -> float:
    """The time limit of a render: the Flask app's PROPOSAL_RENDER_TIMEOUT when called inside
    one (0: none), no limit elsewhere."""
    import flask
    if flask.has_app_context():
        return float(flask.current_app.config.get("PROPOSAL_RENDER_TIMEOUT") or 0)
    return 0.0


def render_html(pipeline: Pipeline, source: ProposalInput, template: str = DEFAULT_TEMPLATE,
                language: str = DEFAULT_LANGUAGE) -> str:
    """The proposal as HTML, before it becomes a PDF (for tests and template authors)."""
    pack = pipeline.pack
    chosen = open_template(pack.proposals_dir, template, pack.root)
    chosen.messages(language)   # an unknown language is refused before any work
    standard = comparison = None
    # The baseline names profile fields, so only a pack's own is used: a pack on the default
    # templates has no standard offer to compare with.
    baseline = load_baseline(pack.proposals_dir, pack.root) if pack.own_proposals else None
    if baseline is not None:
        standard = pipeline.configure(_baseline_profile(pack, source.profile, baseline))
        comparison = compare(source.document, standard)
    context = build_view(source, pack, chosen, language, standard=standard,
                         comparison=comparison, baseline=baseline)
    return chosen.render_html(context)


def _baseline_profile(pack: Any, profile: dict, baseline: Any) -> dict:
    try:
        return pack.profile.validate(baseline_profile(profile, baseline))
    except ProfileInvalid as exc:
        raise TemplateBroken(baseline.file, f"the baseline makes an invalid profile: {exc}",
                             "make the overrides match rules/profile.yaml") from None


def _identifier(source: ProposalInput, pipeline: Pipeline, template: str, language: str) -> bytes:
    key = "|".join([str(source.configuration_id), str(source.revision),
                    pipeline.pack.version, template, language, source.approvals_key()])
    return hashlib.sha256(key.encode()).hexdigest()[:32].encode()


def revision_time(value: dt.datetime | None = None) -> dt.datetime:
    """A timezone-aware time for a proposal that has no stored revision (the CLI): now, to the
    second."""
    return (value or dt.datetime.now(dt.timezone.utc)).replace(microsecond=0)
