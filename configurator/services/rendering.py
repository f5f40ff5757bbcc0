"""Render the proposal of a configured document: run the standard offer it is compared with,
then hand both to the renderer (proposals/ runs no rules). Used by the proposal use case, the
CLI's `configure --pdf` and the trial run of new content."""
from __future__ import annotations

from ..engine.pipeline import Pipeline
from ..proposals import (DEFAULT_LANGUAGE, DEFAULT_TEMPLATE, ProposalInput, RenderedProposal,
                         StandardOffer, render, render_html, standard_profile)


def standard_offer(pipeline: Pipeline, profile: dict) -> StandardOffer | None:
    """The standard offer for `profile`: the pack's baseline overrides applied and run through
    the same pipeline; None when the pack declares no baseline."""
    found = standard_profile(pipeline.pack, profile)
    if found is None:
        return None
    baseline, standard = found
    return StandardOffer(baseline, pipeline.configure(standard))


def render_proposal(pipeline: Pipeline, source: ProposalInput, template: str = DEFAULT_TEMPLATE,
                    language: str = DEFAULT_LANGUAGE, *, timeout: float = 0.0
                    ) -> RenderedProposal:
    """The proposal PDF of `source`, made with the templates of `pipeline`'s pack. `timeout`
    seconds (0: none) bounds the PDF step; see proposals.render."""
    return render(pipeline.pack, source, template, language,
                  standard=standard_offer(pipeline, source.profile), timeout=timeout)


def proposal_html(pipeline: Pipeline, source: ProposalInput, template: str = DEFAULT_TEMPLATE,
                  language: str = DEFAULT_LANGUAGE) -> str:
    """The proposal as HTML (the trial run renders templates this far)."""
    return render_html(pipeline.pack, source, template, language,
                       standard=standard_offer(pipeline, source.profile))
