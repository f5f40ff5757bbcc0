"""The rules engine port: what the pipeline asks of a rules engine.

The pipeline decides what firing a rule means (its actions, each rule at most once, effective
dates, drafts left out, stage ends); an engine only decides which rule fires next. Two adapters
implement the port: `durable_adapter.DurableEngine` (durable-rules; the only module that imports
it), which also runs a split stage (`SplitStageEngine`), and `reference_engine.ReferenceEngine`
(plain Python: the benchmarks' baseline and the tests' second opinion).
"""
from __future__ import annotations

from typing import Callable, Protocol, Sequence, runtime_checkable

from ..content.model import Rule

# fire(rule id): apply the rule. None when the engine need not look at the facts again;
# otherwise the new world fact to assert in place of the current one (a JSON object as text,
# or a dict), or any other value for "the facts changed" to an engine that reads no world fact
# or makes a split stage's worlds itself.
FireCallback = Callable[[str], "dict | str | None"]


@runtime_checkable
class RulesEngine(Protocol):
    """Runs a stage's rules over one configuration's facts, firing them through the pipeline."""

    # Whether `evaluate` reads the world fact (engine/world.py): the pipeline writes it only for
    # an engine that does; the others are given None and read `facts()`.
    wants_world: bool

    def register(self, prefix: str, compiled: dict[str, dict], sources: Sequence[Rule] = ()) -> str:
        """Make a ruleset of one stage's rules and return its name (new on every call, beginning
        with `prefix`): `compiled` holds their durable-rules definitions by rule id, in firing
        order (engine/stages.py); `sources` the rules as loaded."""
        ...

    def unregister(self, name: str) -> None:
        """Free a ruleset that no evaluation uses any more."""
        ...

    def evaluate(self, ruleset: str, world: str | None, fire: FireCallback,
                 facts: Callable[[], dict]) -> None:
        """Give `fire` the rules of `ruleset` that hold, one at a time, each at most once, in
        firing order, until none is left; after `fire` reported a change, the rules are matched
        against the facts as they are now. `world`: the world fact as JSON (None when
        `wants_world` is false); `facts()`: {profile, derived, solution} now."""
        ...


@runtime_checkable
class SplitStageEngine(RulesEngine, Protocol):
    """An engine that can also run one stage whose rules are spread over several rulesets
    (engine/partitions.py), as if they were one."""

    def evaluate_merged(self, parts: list[tuple[str, Callable[[], str]]], fire: FireCallback,
                        order: dict[str, int]) -> None:
        """`parts`: (ruleset, its world fact as JSON now); `order`: each rule's place in the
        stage's firing order. As `evaluate`, over the rules of all the parts."""
        ...
