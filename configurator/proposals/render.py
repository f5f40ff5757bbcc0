"""Render a configuration revision as a PDF proposal: `render(pack, source, ...)`.

Plain inputs only: the revision as a `ProposalInput`, the pack of the revision's content version,
a template name, a language, and the standard offer (`StandardOffer`) that the tailored solution
is compared with. This module runs no rules: the caller (services.proposals) runs the standard
offer through the pipeline, using `standard_profile` to know which profile to run.

Steps: pick the template folder from the pack's `proposals/`; build the view model; render the
Jinja template (autoescaped, sandboxed); turn the HTML into PDF with a fetcher that only reads
the template folder. The PDF's dates and identifier come from the revision, so the same revision,
content version, template and language give the same document.

Time limit: with `timeout` (seconds; the web app passes its PROPOSAL_RENDER_TIMEOUT), the PDF is
made in a child process that is stopped when the time is up (RenderTimeout, a RenderFailed);
nothing is stored then and the configuration is untouched. Without one it renders in-process.
"""
from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

from ..content.document import ConfigurationDocument
from ..content.model import ContentPack
from ..content.profile import ProfileInvalid
from .analysis import Baseline, baseline_profile, compare, load_baseline
from .errors import TemplateBroken
from .templates import DEFAULT_LANGUAGE, DEFAULT_TEMPLATE, open_template
from .view import ProposalInput, build_view


@dataclass(frozen=True)
class RenderedProposal:
    pdf: bytes
    pages: int
    draft: bool
    html: str

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.pdf).hexdigest()


@dataclass(frozen=True)
class StandardOffer:
    """What the customer would get as a standard offer: the pack's baseline declaration and the
    configuration document of the baseline profile."""
    baseline: Baseline
    document: ConfigurationDocument


def standard_profile(pack: ContentPack, profile: dict) -> tuple[Baseline, dict] | None:
    """(the baseline, the validated profile of the standard offer for `profile`), or None when
    the pack has no standard offer to compare with. The baseline names profile fields, so only
    a pack's own is used: a pack on the default templates has none. Raises TemplateBroken when
    the baseline makes a profile the declaration refuses."""
    baseline = load_baseline(pack.proposals_dir, pack.root) if pack.own_proposals else None
    if baseline is None:
        return None
    try:
        return baseline, pack.profile.validate(baseline_profile(profile, baseline))
    except ProfileInvalid as exc:
        raise TemplateBroken(baseline.file, f"the baseline makes an invalid profile: {exc}",
                             "make the overrides match rules/profile.yaml") from None


def render(pack: ContentPack, source: ProposalInput, template: str = DEFAULT_TEMPLATE,
           language: str = DEFAULT_LANGUAGE, *, standard: StandardOffer | None = None,
           timeout: float = 0.0) -> RenderedProposal:
    """The proposal PDF for one revision, with its page count, the draft flag and the HTML.

    Raises ProposalInvalid (no such template or language), TemplateBroken (a template file is
    wrong), RenderFailed (WeasyPrint failed) or RenderTimeout (it took longer than `timeout`
    seconds; 0: no limit).
    """
    html = render_html(pack, source, template, language, standard=standard)
    folder = pack.proposals_dir / template
    from .pdf import html_to_pdf   # start-up time: WeasyPrint loads only when a PDF is made
    rendered = html_to_pdf(html, folder, identifier=_identifier(source, pack, template, language),
                           timeout=timeout)
    return RenderedProposal(rendered.pdf, rendered.pages, source.draft, html)


def render_html(pack: ContentPack, source: ProposalInput, template: str = DEFAULT_TEMPLATE,
                language: str = DEFAULT_LANGUAGE, *, standard: StandardOffer | None = None
                ) -> str:
    """The proposal as HTML, before it becomes a PDF (for tests and template authors)."""
    chosen = open_template(pack.proposals_dir, template, pack.root)
    chosen.messages(language)   # an unknown language is refused before any work
    context = build_view(source, pack, chosen, language,
                         standard=standard.document if standard else None,
                         comparison=compare(source.document, standard.document)
                         if standard else None,
                         baseline=standard.baseline if standard else None)
    return chosen.render_html(context)


def _identifier(source: ProposalInput, pack: ContentPack, template: str, language: str) -> bytes:
    key = "|".join([str(source.configuration_id), str(source.revision), pack.version, template,
                    language, source.approvals_key()])
    return hashlib.sha256(key.encode()).hexdigest()[:32].encode()


def revision_time(value: dt.datetime | None = None) -> dt.datetime:
    """A timezone-aware time for a proposal that has no stored revision (the CLI): now, to the
    second."""
    return (value or dt.datetime.now(dt.timezone.utc)).replace(microsecond=0)


__all__ = ["RenderedProposal", "StandardOffer", "render", "render_html", "revision_time",
           "standard_profile"]
