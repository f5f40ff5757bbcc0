"""The content check of a pack's own proposal templates: every template opens (theme, every
language, the baseline, the Jinja syntax), so a broken or hostile template file keeps the pack
from loading instead of failing when a proposal is asked for. `services.checks` hands it to the
content check (`content.pack.check_pack(..., more_checks=check_templates)`)."""
from __future__ import annotations

from pathlib import Path
from typing import Callable

from ..content.problems import ProblemLog
from .analysis import load_baseline
from .errors import TemplateBroken
from .templates import available_templates, open_template


def check_templates(root: Path, proposals: Path, log_for: Callable[[str], ProblemLog]) -> None:
    """Log every problem of the templates in `proposals` (a pack's own folder under `root`)."""
    def report(exc: TemplateBroken) -> None:
        file, line = exc.where
        log_for(file).error(line, exc.message, exc.hint)

    try:
        load_baseline(proposals, root)
    except TemplateBroken as exc:
        report(exc)
    for name in available_templates(proposals):
        try:
            template = open_template(proposals, name, root)
            for language in sorted(template.languages):
                template.messages(language)
            template.environment.get_template("proposal.html")
        except TemplateBroken as exc:
            report(exc)
        except Exception as exc:      # Jinja's syntax errors, and anything else it raises
            line = getattr(exc, "lineno", None)
            log_for(f"proposals/{name}/proposal.html").error(
                line, f"the template cannot be read: {type(exc).__name__}: {exc}",
                "fix the Jinja template")
