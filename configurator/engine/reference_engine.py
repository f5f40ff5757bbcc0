"""The plain-Python reference engine: the simplest correct loop over the same rules.

It plugs into the pipeline in durable-rules' place (`Pipeline(pack, engine=ReferenceEngine())`)
and gives the same configuration documents: the pipeline still decides what firing means
(actions, fire-at-most-once, effective dates, drafts left out, stage ends); this engine only
decides which rule fires next. Within a stage that is the first rule, in firing order (higher
priority first, ties in file order), that has not fired yet and whose condition holds on the
current facts, by `reference.holds`, the meaning the durable compilation must agree with. After
a rule changes a fact the scan starts again from the top, so a higher-priority rule the change
makes true fires next (chaining); otherwise it goes on after the rule that fired, as durable's
agenda does.

It is the baseline of the benchmarks (bench/), and the second opinion of the tests
(tests/engine/test_reference_engine.py). It reads no world fact, so the pipeline does not build one.
"""
from __future__ import annotations

import itertools
import threading
from typing import Callable, Sequence

from ..content.conditions import holds
from ..content.model import Condition, Rule
from .port import FireCallback


class ReferenceEngine:
    """The rules engine port (engine/port.py, RulesEngine) as the simplest correct loop."""

    wants_world = False        # the pipeline need not build durable's world fact

    def __init__(self) -> None:
        self._rulesets: dict[str, list[tuple[str, Condition]]] = {}
        self._names = itertools.count(1)
        self._lock = threading.Lock()

    def register(self, prefix: str, compiled: dict[str, dict], sources: Sequence[Rule] = ()) -> str:
        """A stage's rules: `compiled` gives their ids in firing order, `sources` the rules."""
        by_id = {rule.id: rule for rule in sources}
        missing = [rule_id for rule_id in compiled if rule_id not in by_id]
        if missing:
            raise ValueError(f"the reference engine needs the rules themselves; missing {missing[:3]}")
        with self._lock:
            name = f"{prefix}-{next(self._names)}"
            self._rulesets[name] = [(rule_id, by_id[rule_id].when) for rule_id in compiled]
        return name

    def unregister(self, name: str) -> None:
        with self._lock:
            self._rulesets.pop(name, None)

    def evaluate(self, ruleset: str, world: str | None, fire: FireCallback,
                 facts: Callable[[], dict] | None = None) -> None:
        """Fire the stage's rules until none is left whose condition holds."""
        if facts is None:
            raise ValueError("the reference engine reads the facts: pass `facts`")
        rules = self._rulesets[ruleset]
        fired: set[str] = set()
        current = facts()
        position = 0
        while position < len(rules):
            rule_id, when = rules[position]
            position += 1
            if rule_id in fired or not holds(when, current):
                continue
            fired.add(rule_id)
            if fire(rule_id) is not None:      # a fact changed: start again from the top
                current = facts()
                position = 0
