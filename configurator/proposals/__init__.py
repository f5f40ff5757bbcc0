"""PDF proposals: a configuration revision rendered through a template folder of the pack.

- `render.py`: `render_proposal(pipeline, source, template, language) -> bytes`, the one entry
  point (the API calls it in the request; a job queue could call it unchanged)
- `view.py`: the view model built from a configuration document (plain text, formatted numbers)
- `analysis.py`: needs answered by lines, and the tailored solution against the standard offer
- `templates.py`: a template folder: theme, message catalogs, sandboxed Jinja environment
- `pdf.py`: the WeasyPrint adapter and its folder-only URL fetcher (the only weasyprint import)
"""
from .render import RenderedProposal, render, render_html, render_proposal
from .errors import ProposalInvalid, RenderFailed, TemplateBroken
from .templates import DEFAULT_LANGUAGE, DEFAULT_TEMPLATE, available_templates, open_template
from .source import ProposalInput, RecordedApproval

__all__ = ["DEFAULT_LANGUAGE", "DEFAULT_TEMPLATE", "ProposalInput", "ProposalInvalid",
           "RecordedApproval", "RenderFailed", "RenderedProposal", "TemplateBroken", "available_templates",
           "open_template", "render", "render_html", "render_proposal"]
