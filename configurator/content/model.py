"""The content pack as plain, immutable Python objects: what the loader produces and the engine runs."""
from __future__ import annotations

import functools
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from .document import Billing
from .expressions import Expression
from .profile import ProfileSpec

STAGES = ("segment", "solution", "pricing", "delivery", "approval")
KINDS = ("hardware", "software", "service", "support")


@dataclass(frozen=True)
class Price:
    amount: Decimal
    currency: str
    per: str
    billing: Billing


@dataclass(frozen=True)
class Module:
    id: str
    family: str
    name: str
    kind: str
    description: str
    price: Price
    requires: tuple[str, ...] = ()
    excludes: tuple[str, ...] = ()
    benefits: tuple[str, ...] = ()
    file: str = ""
    line: int | None = None

    def describe(self) -> dict:
        return {
            "id": self.id, "family": self.family, "name": self.name, "kind": self.kind,
            "description": self.description,
            "price": {"amount": str(self.price.amount), "currency": self.price.currency,
                      "per": self.price.per, "billing": self.price.billing},
            "requires": list(self.requires), "excludes": list(self.excludes),
            "benefits": list(self.benefits),
        }


@dataclass(frozen=True)
class Family:
    id: str
    title: str
    description: str
    modules: tuple[str, ...]
    file: str


@dataclass(frozen=True)
class Catalog:
    families: dict[str, Family]
    modules: dict[str, Module]
    currency: str


# --- conditions -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Test:
    """One comparison of a fact with a value: `profile.sites: {gte: 5}`."""
    path: str
    op: str
    value: Any
    line: int | None = None


@dataclass(frozen=True)
class AllOf:
    items: tuple[Condition, ...]


@dataclass(frozen=True)
class AnyOf:
    items: tuple[Condition, ...]


@dataclass(frozen=True)
class Not:
    item: Condition


Condition = Test | AllOf | AnyOf | Not
ALWAYS = AllOf(())


# --- actions ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Template:
    """Text with {expression} placeholders, filled from facts when the rule fires."""
    source: str
    parts: tuple[str | Expression, ...]


@dataclass(frozen=True)
class Action:
    kind: str        # derive, include, recommend, exclude, discount, surcharge, require_approval,
                     # service_level, team, note, warn
    params: dict[str, Any]
    line: int | None = None


@dataclass(frozen=True)
class Rule:
    id: str
    ruleset: str
    stage: str
    description: str
    priority: int
    when: Condition
    then: tuple[Action, ...]
    file: str
    line: int | None
    order: int = 0   # position in the stage's file order, for ties in priority
    draft: bool = False                  # out of production runs; in test, explain, impact
    effective_from: str | None = None    # ISO dates, inclusive
    effective_until: str | None = None

    def effective_on(self, day: str) -> bool:
        """Whether the rule applies to a configuration made on `day` (yyyy-mm-dd)."""
        return (self.effective_from is None or self.effective_from <= day) and \
            (self.effective_until is None or day <= self.effective_until)


@dataclass(frozen=True)
class RuleSet:
    id: str
    stage: str
    description: str
    rules: tuple[Rule, ...]
    file: str


@dataclass(frozen=True)
class RuleTest:
    name: str
    profile: dict
    adjustments: tuple[dict, ...]
    expect: dict
    file: str
    line: int | None
    date: str | None = None      # the day the test configures on (for `effective` rules)


@dataclass
class ContentPack:
    root: Path
    version: str
    catalog: Catalog
    profile: ProfileSpec
    rulesets: tuple[RuleSet, ...]
    tests: tuple[RuleTest, ...]
    proposals_dir: Path
    files: dict[str, bytes] = field(repr=False, default_factory=dict)

    @property
    def own_proposals(self) -> bool:
        """Whether the pack has its own proposals/ (else it uses the default templates)."""
        return self.proposals_dir == self.root / "proposals"

    # A pack's rule sets are not changed once it is made (dataclasses.replace makes a new pack),
    # so the rules, and each stage's in firing order, are worked out once.
    @functools.cached_property
    def rules(self) -> tuple[Rule, ...]:
        return tuple(r for rs in self.rulesets for r in rs.rules)

    @functools.cached_property
    def _by_stage(self) -> dict[str, tuple[Rule, ...]]:
        found: dict[str, list[Rule]] = {}
        for rule in self.rules:
            found.setdefault(rule.stage, []).append(rule)
        return {stage: tuple(sorted(rules, key=lambda r: (-r.priority, r.order)))
                for stage, rules in found.items()}

    def stage_rules(self, stage: str) -> list[Rule]:
        """The stage's rules in firing order: higher priority first, ties in file order."""
        return list(self._by_stage.get(stage, ()))

    @functools.cached_property
    def approver_roles(self) -> tuple[str, ...]:
        """The roles the rules name in `require_approval`: the approvals people can hold."""
        return tuple(sorted({action.params["role"] for rule in self.rules
                             for action in rule.then if action.kind == "require_approval"}))
