"""PDF proposals: a configuration revision rendered through a template folder of the pack.

- `render.py`: `render(pack, source, template, language, standard=..., timeout=...)`, the one
  entry point; it runs no rules (services.proposals runs the standard offer and calls it)
- `check.py`: the content check of a pack's own templates
- `source.py`: what a proposal is made from (a revision: `ProposalInput`, `RecordedApproval`)
- `view.py`: the view model built from a configuration document (plain text, formatted numbers),
  its larger sections in `sections.py`, numbers and money per language in `formatting.py`
- `analysis.py`: needs answered by lines, and the tailored solution against the standard offer
- `templates.py`: a template folder: theme, message catalogs, sandboxed Jinja environment
- `pdf.py`: the WeasyPrint adapter and its folder-only URL fetcher (the only weasyprint import)
"""
from .render import RenderedProposal, StandardOffer, render, render_html, standard_profile
from .errors import ProposalInvalid, RenderFailed, TemplateBroken
from .templates import DEFAULT_LANGUAGE, DEFAULT_TEMPLATE, available_templates, open_template
from .source import ProposalInput, RecordedApproval

__all__ = ["DEFAULT_LANGUAGE", "DEFAULT_TEMPLATE", "ProposalInput", "ProposalInvalid",
           "RecordedApproval", "RenderFailed", "RenderedProposal", "StandardOffer",
           "TemplateBroken", "available_templates", "open_template", "render", "render_html",
           "standard_profile"]
