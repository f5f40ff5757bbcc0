"""A configuration document as a solution lead reads it in a terminal (`configurator configure`)."""
from __future__ import annotations

from typing import Any

from ..content.document import ConfigurationDocument


def _money(amount: float | int, currency: str = "") -> str:
    text = f"{amount:,.2f}"
    return f"{text} {currency}".strip()


def _plain(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict):
        return ", ".join(f"{k} {_plain(v)}" for k, v in value.items())
    if isinstance(value, list):
        return " -> ".join(_plain(v) for v in value) if value and isinstance(value[0], dict) \
            else ", ".join(_plain(v) for v in value)
    return str(value)


def summary(doc: ConfigurationDocument, customer: str) -> str:
    """A configuration as a solution lead reads it in a terminal."""
    cur = doc["totals"]["currency"]
    out = [f"{customer}: status {doc['status']}  (content {doc['content_version']})"]
    if doc["derived"]:
        out.append("Derived: " + "; ".join(f"{k} = {_plain(v)}" for k, v in doc["derived"].items()))
    out.append("")
    out.append("Lines")
    for line in doc["lines"]:
        discount = f"  -{line['discount_percent']}%" if line["discount_percent"] > 0 else (
            f"  +{-line['discount_percent']}%" if line["discount_percent"] < 0 else "")
        out.append(f"  {line['module']:<28} {line['quantity']:>6} x {_money(line['unit_price'])} "
                   f"{line['billing']}{discount}  = {_money(line['total'], cur)}")
        for reason in line["reasons"]:
            out.append(f"      because {reason['text']}  [{reason['rule']}]")
        for change in line["discounts"]:
            out.append(f"      {change['kind']} {change['percent']}%: {change['text']}  [{change['rule']}]")
    sections = [("Recommendations", doc["recommendations"], "reasons"),
                ("Exclusions", doc["exclusions"], "reasons")]
    for title, items, key in sections:
        if items:
            out += ["", title]
            for item in items:
                out.append(f"  {item['module']}")
                for reason in item[key]:
                    out.append(f"      because {reason['text']}  [{reason['rule']}]")
                for reason in item.get("overrides", []):
                    out.append(f"      overrides: {reason['text']}  [{reason['rule']}]")
    if doc["conflicts"]:
        out += ["", "Conflicts"]
        out += [f"  ! {c['message']}" for c in doc["conflicts"]]
    if doc["approvals"]:
        out += ["", "Approvals required"]
        for approval in doc["approvals"]:
            reasons = "; ".join(r["text"] for r in approval["reasons"])
            out.append(f"  {approval['role']}: {reasons}")
    if doc["service_level"]:
        out += ["", "Service level"]
        out += [f"  {k}: {_plain(v)}" for k, v in doc["service_level"].items()]
    if doc["team"]:
        out.append("Team: " + ", ".join(m["role"] for m in doc["team"]))
    if doc["warnings"]:
        out += ["", "Warnings"] + [f"  {w['text']}  [{w['rule']}]" for w in doc["warnings"]]
    t = doc["totals"]
    out += ["", f"Totals ({cur}): one-time {_money(t['one_time'])} | monthly {_money(t['monthly'])} | "
                f"yearly {_money(t['yearly'])} | annual recurring {_money(t['annual_recurring'])} | "
                f"first year {_money(t['first_year'])}"]
    return "\n".join(out)
