"""Trial-run new content in a child process before it is used.

durable-rules can hang (holding the GIL) or crash the whole process on inputs the content check
cannot fully predict, and a proposal template can loop for ever or fail on a real document. The
child compiles the pack, configures every rule-test profile and a minimal profile, and renders
each proposal template in each of its languages (the HTML, not the PDF) for two of those
documents; the parent waits with a timeout. Run as `python -m configurator.services.trial DIR`.
"""
from __future__ import annotations

import datetime as dt
import itertools
import json
import math
import os
import signal
import subprocess
import sys
from typing import Any

from ..content.adjustments import AdjustmentInvalid, parse_adjustments
from ..content.iso import CODE_SETS
from ..content.model import ContentPack
from ..content.pack import check_pack
from ..content.problems import ContentError, Problem
from ..content.regex import example
from ..content.profile import ProfileInvalid
from ..engine.errors import ERROR_MEANINGS, EngineError
from ..engine.pipeline import Pipeline, compile_pack, shared_engine
from ..proposals import ProposalInput, TemplateBroken, available_templates, open_template
from ..proposals.check import check_templates
from .rendering import proposal_html

TIMEOUT_SECONDS = 60
# The child says on stderr what it renders before it renders it: after a timeout the last such
# line names the template that did not finish.
RENDERING = "trial: rendering proposal template "


def trial_run(pack: ContentPack, timeout: float = TIMEOUT_SECONDS) -> list[Problem]:
    """Problems found by running `pack` in a child process (empty when all went well)."""
    where = str(pack.root)
    try:
        done = subprocess.run([sys.executable, "-m", "configurator.services.trial", where],
                              capture_output=True, text=True, timeout=timeout,
                              env={**os.environ, "PYTHONHASHSEED": "0"})
    except subprocess.TimeoutExpired as exc:
        template = _rendering(exc.stderr)
        if template is not None:
            name, language = template
            return [Problem(f"proposals/{name}/proposal.html", None,
                            f"the proposal template `{name}` ({language}) did not finish "
                            f"rendering within {timeout:.0f} s in a trial run",
                            "look for a loop that never ends, or loops inside loops over large "
                            "ranges, in the template changed last")]
        return [Problem("rules/", None, f"the rules engine did not finish a trial run within "
                        f"{timeout:.0f} s (it hangs on this content)",
                        "look for a condition with hundreds of values on one field, or a very "
                        "complex regular expression, in the rules changed last")]
    if done.returncode < 0:
        name = signal.Signals(-done.returncode).name
        return [Problem("rules/", None, f"the rules engine crashed ({name}) during a trial run",
                        "undo the last rule change and report it with the file attached")]
    try:
        report = json.loads(done.stdout.strip().splitlines()[-1])
    except (json.JSONDecodeError, IndexError):
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        return [Problem("rules/", None, "the trial run failed: " + " | ".join(tail))]
    if report.get("version") not in (None, pack.version):
        return [Problem("rules/", None, "the content changed while it was being tried",
                        "save all files, then reload again")]
    return [Problem(**p) for p in report["problems"]]


def _rendering(stderr: str | bytes | None) -> tuple[str, str] | None:
    """(template, language) the child was rendering when it was stopped, if it was."""
    if isinstance(stderr, bytes):     # TimeoutExpired keeps bytes even in text mode
        stderr = stderr.decode("utf-8", "replace")
    lines = (stderr or "").strip().splitlines()
    if not lines or not lines[-1].startswith(RENDERING):
        return None
    name, _, language = lines[-1][len(RENDERING):].partition(" ")
    return name, language


def minimal_profile(fields: dict) -> dict:
    """The smallest profile the declaration accepts: required fields with their lowest values."""
    out: dict[str, Any] = {}
    for name, spec in fields.items():
        if not spec.required:
            continue
        if spec.type == "object":
            out[name] = minimal_profile(spec.fields)
        elif spec.type == "enum":
            out[name] = spec.values[0]
        elif spec.type == "integer":
            out[name] = math.ceil(spec.min) if spec.min is not None else 0
        elif spec.type == "number":
            out[name] = spec.min if spec.min is not None else 0
        elif spec.type == "boolean":
            out[name] = False
        elif spec.type == "date":
            out[name] = "2000-01-01"
        elif spec.type == "list":
            out[name] = []
        elif spec.type in CODE_SETS:
            out[name] = min(CODE_SETS[spec.type].names)
        elif spec.pattern:
            out[name] = example(spec.pattern) or "Trial"
        else:
            out[name] = "Trial"[:spec.max_length]
    return out


def _child(root: str) -> dict:
    pack, problems = check_pack(root, more_checks=check_templates)
    if pack is None:
        return {"version": None, "problems": [p.as_dict() for p in problems if p.severity == "error"]}
    try:
        pipeline = Pipeline(pack, include_drafts=True)
    except ContentError as exc:
        return {"version": pack.version, "problems": [p.as_dict() for p in exc.problems]}
    except EngineError:
        return {"version": pack.version, "problems": [p.as_dict() for p in _culprits(pack)]}
    found = []
    cases = [("a minimal profile", minimal_profile(pack.profile.fields), [], "rules/profile.yaml", None)]
    cases += [(f"test `{t.name}`", t.profile, list(t.adjustments), t.file, t.line) for t in pack.tests]
    production = Pipeline(pack)   # without drafts: a different ruleset for durable-rules
    configured = []
    for name, profile, adjustments, file, line in cases:
        try:
            for each in (pipeline, production):
                document = each.configure(pack.profile.validate(profile),
                                          parse_adjustments(adjustments, pack.catalog))
            configured.append((name, profile, adjustments, document))
        except (ProfileInvalid, AdjustmentInvalid) as exc:
            found.append(Problem(file, line, f"{name} is not valid: {exc}").as_dict())
        except Exception as exc:  # the trial exists to report exactly these
            found.append(Problem(file, line, f"configuring {name} failed: {exc}",
                                 "check the rules this profile triggers").as_dict())
    if configured and not found:
        # the smallest document and the one with the most lines
        largest = max(configured, key=lambda case: len(case[3]["lines"]))
        found += [p.as_dict() for p in _try_templates(production, [configured[0], largest])]
    return {"version": pack.version, "problems": found}


def _try_templates(pipeline: Any, cases: list[tuple[str, dict, list, dict]]) -> list[Problem]:
    """Render every proposal template of the pack's own proposals/ in every language for each
    case (the HTML: the PDF step has its own time limit when a proposal is asked for)."""
    pack = pipeline.pack
    proposals = pack.proposals_dir
    if not pack.own_proposals:
        return []           # the default templates, tried with the demo content
    found = []
    for name in available_templates(proposals):
        try:
            languages = sorted(open_template(proposals, name, pack.root).languages)
        except TemplateBroken:
            continue        # the content check reports it
        for language, (case, profile, adjustments, document) in itertools.product(languages,
                                                                                  cases):
            print(f"{RENDERING}{name} {language}", file=sys.stderr, flush=True)
            source = ProposalInput(customer=str(profile.get("name") or "Trial"),
                                   configuration_id=None, revision=1,
                                   created_at=dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc),
                                   profile=profile, adjustments=list(adjustments),
                                   document=document)
            try:
                proposal_html(pipeline, source, name, language)
            except TemplateBroken as exc:     # the first failure of a template is enough
                file, line = exc.where
                found.append(Problem(file, line, f"rendering the proposal ({language}) of "
                                     f"{case} failed: {exc.message}", exc.hint))
                break
    print("trial: done", file=sys.stderr, flush=True)
    return found


def _culprits(pack) -> list[Problem]:
    """Register each rule on its own to find the ones durable-rules refuses."""
    stages, _, _ = compile_pack(pack)
    rules = {rule.id: rule for rule in pack.rules}
    engine = shared_engine()
    found = []
    for stage, compiled in stages.items():
        for rule_id, definition in compiled.items():
            try:
                engine.unregister(engine.register(f"try-{rule_id}", {rule_id: dict(definition)}))
            except EngineError as exc:
                rule = rules[rule_id]
                meaning = ERROR_MEANINGS.get(exc.code or 0, str(exc))
                code = f" (engine error {exc.code})" if exc.code else ""
                found.append(Problem(rule.file, rule.line, f"rule `{rule_id}` has {meaning}{code}",
                                     "simplify this rule's condition"))
    return found or [Problem("rules/", None, "the rules engine refused the rules, "
                             "but no single rule on its own", "split the largest stage")]


if __name__ == "__main__":
    print(json.dumps(_child(sys.argv[1])))
