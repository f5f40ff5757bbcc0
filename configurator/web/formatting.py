"""Template filters and globals: money, numbers, dates, statuses and labels in plain words."""
from __future__ import annotations

import datetime as dt
from typing import Any

from ..content.document import Billing, Status, TotalKey
from ..content.iso import CODE_SETS

# each word of the document (content/document.py) in the page's words
STATUS: dict[Status, tuple[str, str]] = {
    "ok": ("Ready", "ok"), "approval_required": ("Approval required", "warn"),
    "conflict": ("Conflict", "bad")}
BILLING: dict[Billing, str] = {"one_time": "one-time", "monthly": "per month",
                               "yearly": "per year"}
# where a deal stands (services/workflow.py STATES) in the page's words, and its badge
STATE: dict[str, tuple[str, str]] = {
    "draft": ("Draft", ""), "pending_approval": ("Pending approval", "warn"),
    "approved": ("Approved", "ok"), "rejected": ("Rejected", "bad"), "sent": ("Sent", "ok"),
    "accepted": ("Accepted", "ok"), "declined": ("Declined", "bad"),
    "expired": ("Expired", "bad"), "superseded": ("Superseded", "")}
TOTALS: tuple[tuple[TotalKey, str], ...] = (
    ("one_time", "One-time"), ("monthly", "Monthly"), ("yearly", "Yearly"),
    ("annual_recurring", "Annual recurring (12 × monthly + yearly)"),
    ("first_year", "First year (one-time + annual recurring)"))


def money(amount: Any, currency: str = "") -> str:
    if amount is None:
        return ""
    try:
        text = f"{float(amount):,.2f}"
    except (TypeError, ValueError):
        return str(amount)
    return f"{text} {currency}".strip()


def signed_money(amount: Any, currency: str = "") -> str:
    if amount is None:
        return ""
    value = float(amount)
    sign = "+" if value > 0 else ("−" if value < 0 else "±")
    return f"{sign}{money(abs(value), currency)}"


def number(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return "" if value is None else ("yes" if value else "no")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.4f}".rstrip("0").rstrip(".")
    return str(value)


def percent(value: Any) -> str:
    if value in (None, 0):
        return "—"
    number_text = f"{float(value):g}"
    return f"−{number_text}%" if float(value) > 0 else f"+{number_text.lstrip('-')}%"


def when(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            return value
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.timezone.utc)
        return value.strftime("%Y-%m-%d %H:%M UTC")
    return str(value)


def status_label(status: str) -> str:
    return STATUS.get(status, (status, ""))[0]


def status_class(status: str) -> str:
    return STATUS.get(status, (status, ""))[1]


def day(value: Any) -> str:
    """A date (or the day of a date and time, in UTC): 2027-01-07."""
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.timezone.utc)
        return value.strftime("%Y-%m-%d")
    return "" if value is None else str(value)


def state_label(state: str, valid_until: Any = None, replaced_by: int | None = None) -> str:
    """Where a revision stands, in words: "Pending approval", "Sent, valid until 2027-01-07",
    "Expired on 2027-01-07", "Replaced by revision 4"."""
    label = STATE.get(state, (words(state), ""))[0]
    if state == "sent" and valid_until is not None:
        return f"{label}, valid until {day(valid_until)}"
    if state == "expired" and valid_until is not None:
        return f"{label} on {day(valid_until)}"
    if state == "superseded" and replaced_by is not None:
        return f"Replaced by revision {replaced_by}"
    return label


def state_class(state: str) -> str:
    return STATE.get(state, (state, ""))[1]


def billing(value: str) -> str:
    return BILLING.get(value, value)


def plain(value: Any) -> str:
    """A fact or setting in words."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int, float)):
        return number(value)
    if isinstance(value, list):
        if value and all(isinstance(v, dict) for v in value):
            return "; ".join(plain(v) for v in value)
        return ", ".join(plain(v) for v in value) or "—"
    if isinstance(value, dict):
        return ", ".join(f"{k.replace('_', ' ')} {plain(v)}" for k, v in value.items())
    return "—" if value in (None, "") else str(value)


def words(identifier: str) -> str:
    """`response_hours` -> `Response hours`."""
    return identifier.replace("_", " ").replace("-", " ").capitalize()


def iso_code(value: Any, kind: str) -> str:
    """A country or currency code with its name, `China (CN)`; anything else as it is."""
    codes = CODE_SETS[kind]
    return f"{codes.name(value)} ({value})" if codes.valid(value) else str(value)


FILTERS = {"iso_code": iso_code, "money": money, "signed_money": signed_money, "number": number, "percent": percent,
           "when": when, "status_label": status_label, "status_class": status_class,
           "billing": billing, "plain": plain, "words": words, "day": day,
           "state_label": state_label, "state_class": state_class}
GLOBALS = {"TOTALS": TOTALS}
