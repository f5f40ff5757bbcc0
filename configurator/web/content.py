"""The product-manager page: the content version being served, its check status with every
problem, a button that checks and loads the files on disk now, the rule sets and their rules,
and a "try a profile" box that configures a pasted profile and shows the trace of the rules that
fired."""
from __future__ import annotations

import datetime as dt
from typing import Any

import yaml
from flask import flash, redirect, render_template, request, url_for

from ..accounts import require
from ..content.model import STAGES
from ..content.problems import ContentError
from ..content.profile import ProfileInvalid
from ..content.yamlfile import YamlSyntaxError
from ..content.adjustments import AdjustmentInvalid
from ..services.configurations import configure
from .blueprint import bp, content
from .configurations import family_groups
from .rules_text import condition_words, rule_source
from .textinput import read_profile_text

MAX_TRY_CHARS = 200_000


def _pack() -> Any:
    pipeline = content().pipeline
    return pipeline.pack if pipeline is not None else None


def _example_profile(pack: Any) -> str:
    """The first rule test's profile, as YAML-ish JSON a product manager can edit."""
    if pack is None or not pack.tests:
        return "name: Example Ltd\n"
    with_recommendation = [t for t in pack.tests if t.expect.get("recommends")]
    return _as_yaml((with_recommendation or list(pack.tests))[0].profile)


def _as_yaml(profile: dict) -> str:
    """The profile as YAML, in its own key order (PyYAML writes it; our reader reads it back)."""
    return yaml.safe_dump(profile, sort_keys=False, default_flow_style=None, width=100,
                          allow_unicode=True)


def _rulesets(pack: Any) -> list[dict]:
    if pack is None:
        return []
    out = []
    for stage in STAGES:
        sets = [rs for rs in pack.rulesets if rs.stage == stage]
        out.append({"stage": stage, "rulesets": [
            {"id": rs.id, "description": rs.description, "file": rs.file,
             "rules": [{"rule": r, "when": condition_words(r.when, pack),
                        "source": rule_source(pack, r)} for r in rs.rules]}
            for rs in sets]})
    return out


def _page(text: str | None = None, result: dict | None = None, errors: list[str] | None = None,
          status: int = 200):
    served = content()
    pack = _pack()
    state = served.status
    loaded_at = dt.datetime.fromtimestamp(state.loaded_at, dt.timezone.utc) \
        if state.loaded_at else None
    return render_template(
        "web/content.html", state=state, loaded_at=loaded_at, pack=pack,
        errors_found=[p for p in state.problems if p.severity == "error"],
        warnings_found=[p for p in state.problems if p.severity != "error"],
        stages=_rulesets(pack), text=text if text is not None else _example_profile(pack),
        result=result, try_errors=errors or [],
        groups=family_groups(result["lines"], pack.catalog if pack else None) if result else [],
    ), status


@bp.get("/content", endpoint="content")
@require("content")
def content_page():
    return _page()


@bp.post("/content/reload", endpoint="content_reload")
@require("content")
def reload_content():
    """Check the files on disk and serve them when they pass (as the file watcher would)."""
    served = content()
    before = served.status.version
    status = served.load()
    if not status.ok:
        errors = sum(1 for p in status.problems if p.severity == "error")
        keeps = (f"version {status.version[:12]} keeps serving" if status.version
                 else "nothing can be configured until they are fixed")
        flash(f"The files on disk were not loaded: {errors} error{'' if errors == 1 else 's'}, "
              f"listed below; {keeps}.", "error")
    elif status.version != before:
        flash(f"Loaded the files on disk: version {status.version[:12]} is served now.")
    else:
        flash(f"The files on disk are the version being served ({status.version[:12]}); "
              "nothing changed.")
    return redirect(url_for("web.content"))


@bp.post("/content/try", endpoint="content_try")
@require("content")
def try_profile():
    text = request.form.get("profile", "")
    if len(text) > MAX_TRY_CHARS:
        return _page(text[:MAX_TRY_CHARS], errors=[f"At most {MAX_TRY_CHARS:,} characters."],
                     status=422)
    try:
        data = read_profile_text(text)
    except YamlSyntaxError as exc:
        where = f"Line {exc.line}: " if exc.line else ""
        return _page(text, errors=[where + exc.message], status=422)
    adjustments: Any = []
    if isinstance(data, dict) and isinstance(data.get("profile"), dict):
        adjustments = data.get("adjustments") or []
        data = data["profile"]
    try:
        document = configure(content(), data, adjustments)
    except ProfileInvalid as exc:
        return _page(text, errors=[f"profile.{k}: {' '.join(v)}" if not k.startswith("_")
                                   else " ".join(v) for k, v in exc.errors.items()], status=422)
    except AdjustmentInvalid as exc:
        return _page(text, errors=[f"{k}: {' '.join(v)}" for k, v in exc.errors.items()],
                     status=422)
    except ContentError:
        return _page(text, errors=["No usable content pack is loaded; see the problems above."],
                     status=503)
    return _page(text, result=document)
