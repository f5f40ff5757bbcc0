"""A solution lead's changes and the differences between revisions, in words.

Plain functions over documents and adjustment lists (no Flask, no database):

- `describe_adjustment`, `describe_revision_change`: what a person did, for the history.
- `diff_documents(a, b)`: the documents' one comparison (content/document_diff.py) for the
  page: lines added and removed, quantity, price, discount and total changes, approvals,
  recommendations, exclusions, status and labelled totals.
"""
from __future__ import annotations

from typing import Any

from ..content import document_diff
from ..content.document import ConfigurationDocument, TotalKey
from ..content.model import Catalog
from ..content.profile import ProfileSpec

TOTAL_LABELS: dict[TotalKey, str] = {
    "one_time": "One-time", "monthly": "Monthly", "yearly": "Yearly",
    "annual_recurring": "Annual recurring", "first_year": "First year"}
# what a line's row shows changed
LINE_FIGURES = ("quantity", "unit_price", "discount_percent", "total")


# --- in words ----------------------------------------------------------------------------------

def module_name(catalog: Catalog | None, module: str | None) -> str:
    if catalog is not None and module in catalog.modules:
        return catalog.modules[module].name
    return module or "?"


def target_name(catalog: Catalog | None, target: str | None) -> str:
    if not target or target == "total":
        return "the whole solution"
    if target.startswith("family:"):
        family = target[7:]
        if catalog is not None and family in catalog.families:
            return f"all of {catalog.families[family].title}"
        return f"family {family}"
    return module_name(catalog, target)


def describe_adjustment(adjustment: dict, catalog: Catalog | None) -> str:
    action = adjustment.get("action")
    name = module_name(catalog, adjustment.get("module"))
    if action == "accept":
        text = f"Accepted the recommendation {name}"
    elif action == "add":
        quantity = adjustment.get("quantity")
        text = f"Added {name}" + (f" × {quantity}" if quantity is not None else "")
    elif action == "remove":
        text = f"Removed {name}"
    elif action == "quantity":
        text = f"Set the quantity of {name} to {adjustment.get('quantity')}"
    elif action == "discount":
        percent = adjustment.get("percent")
        shown = f"{percent:g}" if isinstance(percent, (int, float)) else str(percent)
        text = f"Discount of {shown}% on {target_name(catalog, adjustment.get('applies_to'))}"
    else:
        text = str(adjustment)
    reason = adjustment.get("reason")
    return f"{text} ({reason})" if reason else text


def describe_revision_change(previous: dict | None, current: dict, catalog: Catalog | None,
                             spec: ProfileSpec | None) -> list[str]:
    """What changed from the previous revision to this one: adjustments made or withdrawn,
    profile fields changed, a new content version."""
    if previous is None:
        out = ["Configured from the customer's profile"]
        out += [describe_adjustment(a, catalog) for a in current["adjustments"]]
        return out
    out = []
    before, after = previous["adjustments"], current["adjustments"]
    for adjustment in after:
        if adjustment not in before:
            out.append(describe_adjustment(adjustment, catalog))
    for adjustment in before:
        if adjustment not in after:
            out.append("Withdrew: " + describe_adjustment(adjustment, catalog))
    out += profile_changes(previous["profile"], current["profile"], spec)
    if previous["content_version"] != current["content_version"]:
        out.append(f"Re-run on content version {current['content_version']} "
                   f"(was {previous['content_version']})")
    return out or ["Re-run without changes"]


def _flat(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            out.update(_flat(item, f"{prefix}{key}."))
        return out
    return {prefix.rstrip("."): value}


def _label(spec: ProfileSpec | None, path: str) -> str:
    if spec is None:
        return path
    node, _ = spec.field_at(path)
    return node.title if node is not None else path


def _shown(value: Any) -> str:
    if value is None:
        return "(empty)"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        if value and all(isinstance(v, dict) for v in value):
            return f"{len(value)} entries"
        return ", ".join(str(v) for v in value) or "(none)"
    if isinstance(value, float) and value.is_integer():
        return f"{int(value):,}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def profile_changes(before: dict, after: dict, spec: ProfileSpec | None) -> list[str]:
    a, b = _flat(before), _flat(after)
    out = []
    for path in list(a) + [p for p in b if p not in a]:
        old, new = a.get(path), b.get(path)
        if old == new:
            continue
        label = _label(spec, path)
        if isinstance(old, list) and isinstance(new, list) and \
                all(not isinstance(v, dict) for v in old + new):
            added = [str(v) for v in new if v not in old]
            removed = [str(v) for v in old if v not in new]
            parts = [f"+{v}" for v in added] + [f"−{v}" for v in removed]
            out.append(f"{label}: {', '.join(parts)}")
        else:
            out.append(f"{label}: {_shown(old)} → {_shown(new)}")
    return out


# --- two documents -----------------------------------------------------------------------------

def diff_documents(a: ConfigurationDocument, b: ConfigurationDocument) -> dict[str, Any]:
    """What differs between the configuration documents `a` (older) and `b` (newer), as the
    difference page shows it."""
    diff = document_diff.diff_documents(a, b)
    changed = []
    for change in diff.lines_changed:
        keys = [k for k in LINE_FIGURES if k in change.keys]
        if keys:
            changed.append({"module": change.module, "name": change.new["name"],
                            "old": change.old, "new": change.new, "keys": keys,
                            "delta": change.delta})
    totals = [{"key": t.key, "label": TOTAL_LABELS[t.key], "old": t.old, "new": t.new,
               "delta": t.delta} for t in diff.totals]
    out: dict[str, Any] = {
        "status": diff.status,
        "added": diff.lines_added,
        "removed": diff.lines_removed,
        "changed": changed,
        "approvals_added": diff.approvals_added,
        "approvals_removed": diff.approvals_removed,
        "recommendations_added": diff.recommendations_added,
        "recommendations_removed": diff.recommendations_removed,
        "exclusions_added": diff.exclusions_added,
        "exclusions_removed": diff.exclusions_removed,
        "conflicts": diff.conflicts,
        "totals": totals,
        "currency": diff.currency,
    }
    out["same"] = not any(out[k] for k in ("added", "removed", "changed", "approvals_added",
                                          "approvals_removed", "recommendations_added",
                                          "recommendations_removed", "exclusions_added",
                                          "exclusions_removed")) \
        and a["status"] == b["status"] and all(t["delta"] == 0 for t in totals)
    return out
