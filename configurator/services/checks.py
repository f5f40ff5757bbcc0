"""Check a content pack: the one sequence behind `configurator check` and every reload.

1. `check_pack(root)`: read and check every file (content.pack), with the pack's own proposal
   templates (proposals.check), every problem with file:line and a fix.
2. `verify(pack, problems)`: what the rules engine would refuse (compile, in Python), then the
   trial run in a child process (services.trial: durable-rules can hang or crash the process on
   inputs no check predicts), then, when asked, the pipeline built for serving.

`check_content(root)` runs both. A pack with any error is never built: the caller keeps what it
was serving.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from ..content.model import ContentPack
from ..content.pack import check_pack as check_files
from ..content.problems import ContentError, Problem
from ..engine.errors import EngineError
from ..engine.pipeline import Pipeline, compile_pack
from ..proposals.check import check_templates
from .trial import trial_run


@dataclass
class Checked:
    """What a check found: the pack (None when its files have errors), every problem, and the
    pipeline when one was asked for and could be built (never for a pack with errors)."""
    pack: ContentPack | None
    problems: list[Problem] = field(default_factory=list)
    pipeline: Pipeline | None = None

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]


def check_pack(root: str | os.PathLike | None = None
               ) -> tuple[ContentPack | None, list[Problem]]:
    """Read and check a pack's files and templates: (the pack, or None when it has errors, and
    every problem found)."""
    return check_files(root, more_checks=check_templates)


def verify(pack: ContentPack, problems: list[Problem], *, trial: bool = True,
           build: bool = False) -> Checked:
    """The engine's part of the check of a pack that passed `check_pack`: compile, trial run
    (unless `trial` is off), and with `build` the pipeline to serve."""
    if not build:   # building compiles, and the trial child reports what compiling found
        problems = problems + compile_pack(pack)[2]
    if trial and not _has_errors(problems):
        problems = problems + trial_run(pack)
    if _has_errors(problems) or not build:
        return Checked(pack, problems)
    try:
        pipeline = Pipeline(pack)
    except ContentError as exc:
        return Checked(pack, problems + exc.problems)
    except EngineError as exc:
        return Checked(pack, problems + [Problem("rules/", None, str(exc),
                                                 "run `configurator check` to find the rule")])
    return Checked(pack, problems, pipeline)


def check_content(root: str | os.PathLike | None = None, *, trial: bool = True,
                  build: bool = False) -> Checked:
    """The whole sequence: `check_pack`, then `verify`."""
    pack, problems = check_pack(root)
    if pack is None:
        return Checked(None, problems)
    return verify(pack, problems, trial=trial, build=build)


def _has_errors(problems: list[Any]) -> bool:
    return any(p.severity == "error" for p in problems)
