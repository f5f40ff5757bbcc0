"""One comparison of two configuration documents (content/document.py), the older `a` and the
newer `b`: lines added, removed and changed (with the keys that changed), approvals added,
removed and changed, recommendations and exclusions added and removed, every total side by side
with its difference, the statuses and the conflicts.

Its readers add their own on top: the web's difference of two revisions labels it
(web/changes.py), impact names the rules behind it (engine/impact.py), a proposal's "tailored
versus standard" explains it (proposals/analysis.py).
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeVar

from .document import (TOTAL_KEYS, Amount, Approval, ConfigurationDocument, Exclusion, Line,
                       Recommendation, Status, TotalKey)

Item = TypeVar("Item", Line, Approval, Recommendation, Exclusion)


@dataclass(frozen=True)
class LineChange:
    """A module that is a line in both documents, with other values."""
    old: Line
    new: Line
    keys: list[str]          # the keys whose values differ, sorted
    delta: Amount            # new total - old total

    @property
    def module(self) -> str:
        return self.new["module"]


@dataclass(frozen=True)
class TotalChange:
    key: TotalKey
    old: Amount
    new: Amount
    delta: Amount            # new - old; 0 when the total is the same


@dataclass(frozen=True)
class DocumentDiff:
    """What differs from `a` to `b`. Items added and changed are in `b`'s order, items removed
    in `a`'s."""
    status: tuple[Status, Status]
    lines_added: list[Line]
    lines_removed: list[Line]
    lines_changed: list[LineChange]
    approvals_added: list[Approval]
    approvals_removed: list[Approval]
    approvals_changed: list[tuple[Approval, Approval]]     # same role, other reasons
    recommendations_added: list[Recommendation]
    recommendations_removed: list[Recommendation]
    exclusions_added: list[Exclusion]
    exclusions_removed: list[Exclusion]
    conflicts: tuple[int, int]                             # how many, in a and in b
    totals: list[TotalChange]                              # every total, in TOTAL_KEYS order
    currency: str                                          # b's


def diff_documents(a: ConfigurationDocument, b: ConfigurationDocument) -> DocumentDiff:
    """What differs between the configuration documents `a` (older) and `b` (newer)."""
    lines_added, lines_removed, lines_both = _by(a["lines"], b["lines"], _module)
    approvals_added, approvals_removed, approvals_both = _by(a["approvals"], b["approvals"], _role)
    recommendations_added, recommendations_removed, _ = _by(a["recommendations"],
                                                            b["recommendations"], _module)
    exclusions_added, exclusions_removed, _ = _by(a["exclusions"], b["exclusions"], _module)
    totals_a, totals_b = a["totals"], b["totals"]
    return DocumentDiff(
        status=(a["status"], b["status"]),
        lines_added=lines_added, lines_removed=lines_removed,
        lines_changed=[LineChange(old, new, changed_keys(old, new),
                                  difference(old["total"], new["total"]))
                       for old, new in lines_both if old != new],
        approvals_added=approvals_added, approvals_removed=approvals_removed,
        approvals_changed=[(old, new) for old, new in approvals_both
                           if old["reasons"] != new["reasons"]],
        recommendations_added=recommendations_added,
        recommendations_removed=recommendations_removed,
        exclusions_added=exclusions_added, exclusions_removed=exclusions_removed,
        conflicts=(len(a["conflicts"]), len(b["conflicts"])),
        totals=[TotalChange(key, totals_a.get(key, 0), totals_b.get(key, 0),
                            difference(totals_a.get(key, 0), totals_b.get(key, 0)))
                for key in TOTAL_KEYS],
        currency=totals_b.get("currency", ""),
    )


def _module(item: Line | Recommendation | Exclusion) -> str:
    return item["module"]


def _role(item: Approval) -> str:
    return item["role"]


def _by(old: Iterable[Item], new: Iterable[Item], key: Callable[[Item], str]
        ) -> tuple[list[Item], list[Item], list[tuple[Item, Item]]]:
    """Items of `new` only (in its order), of `old` only (in its order), and of both
    ((old, new), in `new`'s order), matched by `key`."""
    before = {key(item): item for item in old}
    after = {key(item): item for item in new}
    return ([item for k, item in after.items() if k not in before],
            [item for k, item in before.items() if k not in after],
            [(before[k], item) for k, item in after.items() if k in before])


def changed_keys(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """The keys whose values differ (a missing key reads as None), sorted."""
    return sorted(k for k in old.keys() | new.keys() if old.get(k) != new.get(k))


def difference(old: Amount, new: Amount) -> Amount:
    """new - old, exactly, as a JSON number (whole amounts as integers)."""
    change = Decimal(str(new)) - Decimal(str(old))
    return int(change) if change == change.to_integral_value() else float(change)
