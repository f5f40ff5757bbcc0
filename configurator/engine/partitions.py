"""A large stage split into several rulesets, so that an evaluation pays durable-rules'
per-session state only for rules that can fire (see Partitions)."""
from __future__ import annotations

import dataclasses
from typing import Any, Callable

from ..content.model import Rule
from .compile import FlagRegistry
from .stages import StagePlan
from .world import to_json


# A stage with this many rules is split (see Partitions).
PARTITION_MIN_RULES = 300
# Small parts: a session costs little since the malloc tuning (durable_adapter), so the fewer
# rules of leads that do not hold share a session, the better (10,000 rules: 12/24 -> 4/8 took
# a configuration from 6.6 to 5.0 ms; 2/4 was no better).
LEAD_ALONE = 4            # the rules of a lead this common get a ruleset of their own
BIN_RULES = 8             # rarer leads share rulesets of about this many rules


@dataclasses.dataclass
class Part:
    """Some of a split stage's rules, in a ruleset of their own."""
    compiled: dict[str, dict]
    plan: StagePlan
    leads: frozenset[int]         # evaluated when one of these leads holds
    always: bool = False          # ... or always: rules without a lead that stays put
    ruleset: str = ""


class Partitions:
    """A large stage split by its rules' first tests, so that an evaluation pays durable-rules'
    per-session state (about 8 KB per rule, allocated and cleared for every rule of a ruleset
    on each new session) only for rules that can fire.

    A rule whose condition begins with an equality (or an `in`) on a text fact that cannot
    change while the stage runs (a profile fact, a solution fact, a derived fact that no rule
    of this stage derives) goes with the other rules beginning with that same test, its lead;
    rare leads on the same field share a part (they exclude each other), the other rules form
    one part that always runs. An evaluation looks up which leads hold (the fact's value in an
    index; any value that is not text counts as "may hold"), then runs those parts as one stage:
    `DurableEngine.evaluate_merged` fires the rules that hold in any of them in the stage's one
    firing order and re-asserts each part's world after a fact changed. A rule whose lead does
    not hold cannot fire, and its condition is still tested in full by durable-rules where its
    part runs, so the result is the one of a single ruleset. Each part's world fact carries
    only the facts its own rules compare.
    """

    def __init__(self, index: dict[str, dict[str, set[int]]], parts: list[Part],
                 order: dict[str, int]):
        self.index, self.parts, self.order = index, parts, order
        self.by_path = {path: set().union(*values.values()) for path, values in index.items()}
        self._always = frozenset(i for i, part in enumerate(parts) if part.always)
        self._by_lead: dict[int, list[int]] = {}      # lead -> the parts it runs
        for i, part in enumerate(parts):
            for lead in part.leads:
                self._by_lead.setdefault(lead, []).append(i)

    def leads(self, value_of: Callable[[str], Any]) -> set[int]:
        """The leads that may hold, given the facts' (cleaned) values."""
        hit: set[int] = set()
        for path, by_value in self.index.items():
            value = value_of(path)
            if value is None:           # no value: an equality cannot hold
                continue
            if isinstance(value, str):
                hit |= by_value.get(value, set())
            else:                       # durable-rules compares across types: may hold
                hit |= self.by_path[path]
        return hit

    def chosen(self, value_of: Callable[[str], Any]) -> list[Part]:
        """The parts to run, in their order: those that always run, and those of the leads that
        may hold."""
        chosen = set(self._always)
        by_lead = self._by_lead
        for lead in self.leads(value_of):
            chosen.update(by_lead.get(lead, ()))
        parts = self.parts
        return [parts[i] for i in sorted(chosen)]

    @classmethod
    def plan(cls, stage: str, rules: list[Rule], compiled: dict[str, dict], flags: FlagRegistry,
             attributes: dict[str, frozenset] | None = None) -> "Partitions | None":
        """How to split the stage, or None when splitting would not pay."""
        by_id = {rule.id: rule for rule in rules}
        written = {name for rule in rules for action in rule.then if action.kind == "derive"
                   for name in action.params["values"]}

        def fixed(path: str) -> bool:
            """A fact that cannot change while the stage runs."""
            ns, _, rest = path.partition(".")
            if ns in ("profile", "solution"):
                return True
            return ns == "derived" and rest.split(".")[0] not in written

        def lead(expression: dict) -> list[tuple[str, str]] | None:
            """(path, text) pairs one of which must be equal, or None."""
            alternatives = expression["$or"] if "$or" in expression else [expression]
            pairs = []
            for item in alternatives:
                if len(item) != 1:
                    return None
                ((path, value),) = item.items()
                if path.startswith("$") or path.startswith("has.") or path == "t" or \
                        not isinstance(value, str) or not fixed(path):
                    return None
                pairs.append((path, value))
            return pairs

        groups: dict[str, list[str]] = {}
        pairs_of: dict[str, list[tuple[str, str]]] = {}
        rest: list[str] = []
        for rule_id, definition in compiled.items():
            expression = definition["all"][0]["m"]
            first = expression["$and"][0] if "$and" in expression else expression
            pairs = lead(first)
            if pairs is None:
                rest.append(rule_id)
                continue
            key = to_json(pairs)
            groups.setdefault(key, []).append(rule_id)
            pairs_of[key] = pairs
        if len(groups) < 4 or len(rest) > len(compiled) // 2:
            return None
        number = {key: i for i, key in enumerate(groups)}
        index: dict[str, dict[str, set[int]]] = {}
        for key, pairs in pairs_of.items():
            for path, value in pairs:
                index.setdefault(path, {}).setdefault(value, set()).add(number[key])
        # A rare lead shares a part with other rare leads on the same field: those usually
        # exclude each other (industry = food, industry = pharma), so one session per field
        # serves them, where a session each would cost more than their rules' state.
        bins: list[tuple[list[str], set[int]]] = []
        small: dict[str, tuple[list[str], set[int]]] = {}
        for key, ids in groups.items():
            if len(ids) >= LEAD_ALONE:
                bins.append((ids, {number[key]}))
                continue
            field = " ".join(sorted({path for path, _ in pairs_of[key]}))
            ids_so_far, leads = small.setdefault(field, ([], set()))
            ids_so_far.extend(ids)
            leads.add(number[key])
            if len(ids_so_far) >= BIN_RULES:
                bins.append(small.pop(field))
        bins += small.values()
        parts = []
        for ids, leads in bins + ([(rest, set())] if rest else []):
            ids = sorted(ids, key=lambda rule_id: compiled[rule_id]["pri"])
            sub = {rule_id: compiled[rule_id] for rule_id in ids}
            parts.append(Part(sub, StagePlan(stage, [by_id[i] for i in ids], sub, flags, True,
                                             attributes), frozenset(leads), always=not leads))
        order = {rule_id: definition["pri"] for rule_id, definition in compiled.items()}
        return cls(index, parts, order)
