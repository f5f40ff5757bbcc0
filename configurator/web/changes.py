"""A solution lead's changes and the differences between revisions, in words.

Plain functions over documents and adjustment lists (no Flask, no database):

- `describe_adjustment`, `describe_revision_change`: what a person did, for the history.
- `diff_documents(a, b)`: lines added and removed, quantity, discount and total changes,
  approvals, recommendations, exclusions, status and totals.
"""
from __future__ import annotations

from typing import Any

from ..content.model import Catalog
from ..content.profile import ProfileSpec

TOTAL_KEYS = ("one_time", "monthly", "yearly", "annual_recurring", "first_year")
TOTAL_LABELS = {"one_time": "One-time", "monthly": "Monthly", "yearly": "Yearly",
                "annual_recurring": "Annual recurring", "first_year": "First year"}


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

def diff_documents(a: dict, b: dict) -> dict[str, Any]:
    """What differs between the configuration documents `a` (older) and `b` (newer)."""
    lines_a = {line["module"]: line for line in a["lines"]}
    lines_b = {line["module"]: line for line in b["lines"]}
    changed = []
    for module, new in lines_b.items():
        old = lines_a.get(module)
        if old is None:
            continue
        keys = [k for k in ("quantity", "unit_price", "discount_percent", "total")
                if old.get(k) != new.get(k)]
        if keys:
            changed.append({"module": module, "name": new["name"], "old": old, "new": new,
                            "keys": keys, "delta": round(new["total"] - old["total"], 2)})
    roles_a = {x["role"]: x for x in a["approvals"]}
    roles_b = {x["role"]: x for x in b["approvals"]}
    rec_a = {x["module"]: x for x in a["recommendations"]}
    rec_b = {x["module"]: x for x in b["recommendations"]}
    exc_a = {x["module"]: x for x in a["exclusions"]}
    exc_b = {x["module"]: x for x in b["exclusions"]}
    totals = [{"key": k, "label": TOTAL_LABELS[k], "old": a["totals"].get(k, 0),
               "new": b["totals"].get(k, 0),
               "delta": round(b["totals"].get(k, 0) - a["totals"].get(k, 0), 2)}
              for k in TOTAL_KEYS]
    out = {
        "status": (a["status"], b["status"]),
        "added": [lines_b[m] for m in lines_b if m not in lines_a],
        "removed": [lines_a[m] for m in lines_a if m not in lines_b],
        "changed": changed,
        "approvals_added": [roles_b[r] for r in roles_b if r not in roles_a],
        "approvals_removed": [roles_a[r] for r in roles_a if r not in roles_b],
        "recommendations_added": [rec_b[m] for m in rec_b if m not in rec_a],
        "recommendations_removed": [rec_a[m] for m in rec_a if m not in rec_b],
        "exclusions_added": [exc_b[m] for m in exc_b if m not in exc_a],
        "exclusions_removed": [exc_a[m] for m in exc_a if m not in exc_b],
        "conflicts": (len(a["conflicts"]), len(b["conflicts"])),
        "totals": totals,
        "currency": b["totals"].get("currency", ""),
    }
    out["same"] = not any(out[k] for k in ("added", "removed", "changed", "approvals_added",
                                          "approvals_removed", "recommendations_added",
                                          "recommendations_removed", "exclusions_added",
                                          "exclusions_removed")) \
        and a["status"] == b["status"] and all(t["delta"] == 0 for t in totals)
    return out
