"""The staged pipeline: segment -> solution -> pricing -> delivery -> approval.

Each stage's rules are one durable-rules ruleset over one "world" fact. When a rule fires, its
actions are applied here in Python; when it derives a new fact value the world is re-asserted
so the stage's other rules see it (forward chaining). Each rule fires at most once per
configuration, which also guarantees that chaining ends.

Here: `Pipeline` (a pack compiled and registered with a rules engine; it runs a profile through
the stages) and `shared_engine`, the process's durable-rules engine. Any engine of the port
(engine/port.py) will do: the plain-Python reference engine is the other. The parts:
engine/stages.py (the pack compiled per stage, `compile_pack`), engine/partitions.py (a large
stage split into several rulesets), engine/evaluation.py (one run: firing, actions, stage ends,
the document), engine/world.py (the world fact's JSON).
"""
from __future__ import annotations

import contextlib
import datetime as dt
import functools
import threading
from typing import Any

from ..content.adjustments import Adjustment
from ..content.document import ConfigurationDocument
from ..content.model import STAGES, ContentPack
from ..content.problems import ContentError, Problem
from ..gcpause import gc_paused
from .durable_adapter import DurableEngine
from .evaluation import Evaluation
from .partitions import PARTITION_MIN_RULES, Partitions
from .port import RulesEngine, SplitStageEngine
from .stages import StagePlan, attributes_of, compile_pack
from .world import Shape

__all__ = ["Evaluation", "Pipeline", "compile_pack", "shared_engine"]

_shared_engine: DurableEngine | None = None


def shared_engine() -> DurableEngine:
    """One durable-rules host per process."""
    global _shared_engine
    if _shared_engine is None:
        _shared_engine = DurableEngine()
    return _shared_engine


class Pipeline:
    """A content pack compiled for the rules engine; `configure` runs one profile through it.

    Production pipelines leave out `draft: true` rules; the ones behind `test`, `explain` and
    `impact` take them in (include_drafts=True). A stage of `split_from` rules or more
    (default PARTITION_MIN_RULES; 0: never) is split into several rulesets (see Partitions).
    """

    def __init__(self, pack: ContentPack, engine: RulesEngine | None = None,
                 include_drafts: bool = False, split_from: int | None = None):
        with gc_paused():
            self._build(pack, engine, include_drafts, split_from)

    def _build(self, pack: ContentPack, engine: RulesEngine | None, include_drafts: bool,
               split_from: int | None) -> None:
        self.pack = pack
        self.engine: RulesEngine = engine or shared_engine()
        # an engine that runs a stage spread over several rulesets: large stages are split
        self._splitting = self.engine if isinstance(self.engine, SplitStageEngine) else None
        self.include_drafts = include_drafts
        stages, self.flags, problems = compile_pack(pack, include_drafts)
        if problems:
            raise ContentError(problems)
        self.rules = {rule.id: rule for rule in pack.rules if include_drafts or not rule.draft}
        self.order = {module: i for i, module in enumerate(
            m for family in pack.catalog.families.values() for m in family.modules)}
        attributes = {stage: attributes_of(compiled) for stage, compiled in stages.items()}
        self.plans = {stage: StagePlan(stage, [self.rules[r] for r in compiled], compiled, self.flags,
                                       attributes=attributes[stage])
                      for stage, compiled in stages.items()}
        # The world fact carries only the facts some condition compares (StagePlan); the
        # profile is the same in every stage: one shape of what any stage compares
        self.profile_shape = Shape(sorted({path for plan in self.plans.values()
                                           for path in plan.paths["profile"]}))
        self._rulesets: dict[str, str] = {}
        self._partitions: dict[str, Partitions] = {}
        self._registered: list[str] = []     # every ruleset this pipeline made, to free them
        self._users = 0                      # evaluations running on this pipeline
        self._users_lock = threading.Lock()
        self._closing = False
        try:
            for stage, compiled in stages.items():
                if not compiled:
                    continue
                split = None
                if split_from is None:
                    split_from = PARTITION_MIN_RULES
                if self._splitting is not None and split_from and len(compiled) >= split_from:
                    split = Partitions.plan(stage, self.plans[stage].rules, compiled, self.flags,
                                            attributes[stage])
                if split is None:
                    self._rulesets[stage] = self._register(
                        f"{stage}-{pack.version}", compiled, self.plans[stage].rules)
                    continue
                for i, part in enumerate(split.parts):
                    part.ruleset = self._register(f"{stage}-{pack.version}-{i}", part.compiled,
                                                  part.plan.rules)
                self._partitions[stage] = split
        except Exception:
            self.close()
            raise

    def _register(self, name: str, compiled: dict[str, dict], rules: Any = ()) -> str:
        ruleset = self.engine.register(name, compiled, rules)
        self._registered.append(ruleset)
        return ruleset

    def close(self) -> None:
        """Free the engine's rulesets, once no evaluation is using them any more."""
        with self._users_lock:
            self._closing = True
            if self._users:
                return          # the last evaluation to finish frees them
        self._free()

    def _free(self) -> None:
        for name in self._registered:
            self.engine.unregister(name)
        self._registered.clear()
        self._rulesets.clear()
        self._partitions.clear()

    @contextlib.contextmanager
    def _in_use(self):
        with self._users_lock:
            if self._closing and not self._users and not self._registered:
                raise ContentError([Problem("rules/", None, "this content was replaced; "
                                            "configure again")])
            self._users += 1
        try:
            yield
        finally:
            with self._users_lock:
                self._users -= 1
                free = self._closing and not self._users
            if free:
                self._free()

    def configure(self, profile: dict, adjustments: list[Adjustment] = (),
                  on: str | None = None) -> ConfigurationDocument:
        """The configuration document for a validated profile and parsed adjustments, made on
        day `on` (yyyy-mm-dd, default today in UTC), which decides the `effective` rules."""
        return self.run(profile, adjustments, on).document()

    def run(self, profile: dict, adjustments: list[Adjustment] = (),
            on: str | None = None) -> Evaluation:
        """The whole evaluation, with the facts each stage saw (for explanations)."""
        run = Evaluation(self, profile, list(adjustments),
                         on or dt.datetime.now(dt.timezone.utc).date().isoformat())
        with self._in_use():
            self._run(run)
        return run

    def _run(self, run: Evaluation) -> None:
        wants_world = self.engine.wants_world
        for stage in STAGES:
            run.stage = stage
            run.seen[stage] = {"profile": run.profile, "solution": run.solution_facts}
            if stage in self._rulesets:
                run.begin_stage(self.plans[stage], wants_world)
                self.engine.evaluate(self._rulesets[stage], run.world(), run.fire, run.facts)
            elif stage in self._partitions:           # made only with a SplitStageEngine
                assert self._splitting is not None
                split = self._partitions[stage]
                run.begin_stage(self.plans[stage], partitioned=True)
                parts = split.chosen(run.value)
                if parts:
                    self._splitting.evaluate_merged(
                        [(part.ruleset, functools.partial(run.world_for, part.plan)) for part in parts],
                        run.fire, split.order)
            run.seen[stage]["derived"] = dict(run.derived)   # values are private copies (derive)
            run.end_stage()
