"""Numbers, money, percentages, hours, dates and lists in one language's conventions, for the
proposal's view model (view.py)."""
from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from .templates import Messages, fill


class Format:
    """Numbers, money, percentages and dates in one language's conventions."""

    def __init__(self, messages: Messages):
        self.t = messages

    def number(self, value: Any) -> str:
        if isinstance(value, bool) or value is None:
            return str(value)
        amount = Decimal(str(value))
        if amount == amount.to_integral_value():
            return f"{int(amount):,}"
        return f"{amount.normalize():,f}"

    def money(self, value: Any, currency: str = "") -> str:
        amount = Decimal(str(value)).quantize(Decimal("0.01"), ROUND_HALF_UP)
        text = f"{amount:,.2f}"
        if text.startswith("-"):
            text = "\u2212" + text[1:]
        return self.t("format.money", amount=text, currency=currency) if currency else text

    def signed_money(self, value: Any, currency: str = "") -> str:
        text = self.money(value, currency)
        return text if Decimal(str(value)) <= 0 else "+" + text

    def percent(self, value: Any) -> str:
        return self.t("format.percent", value=self.number(abs(Decimal(str(value)))))

    def date(self, day: dt.date) -> str:
        months = self.t.raw("format.months") or []
        month = months[day.month - 1] if len(months) == 12 else str(day.month)
        return fill(self.t("format.date"), {"day": day.day, "month": month,
                                            "month_number": day.month, "year": day.year})

    def hours(self, value: Any) -> str:
        return self.t("format.hours", count=value, hours=self.number(value))

    def join(self, items: list[str]) -> str:
        items = [i for i in items if i]
        if len(items) <= 1:
            return "".join(items)
        return self.t("format.list", head=self.t("format.separator").join(items[:-1]),
                      last=items[-1])
