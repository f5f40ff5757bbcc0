"""Money: Decimal throughout, rounded to cents only where an amount is reported."""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
HUNDRED = Decimal(100)
ZERO = Decimal(0)


def cents(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def number(amount: Decimal) -> int | float:
    """A reported amount as a JSON number, rounded to cents (whole amounts as integers)."""
    rounded = cents(amount)
    return int(rounded) if rounded == rounded.to_integral_value() else float(rounded)


def to_decimal(value: object) -> Decimal:
    if isinstance(value, Decimal):
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise TypeError(f"{value!r} is not an amount")
    return Decimal(str(value))


def line_total(quantity: int, unit_price: Decimal, discount_percent: Decimal) -> Decimal:
    """quantity x unit price x (1 - discount / 100), before rounding."""
    return Decimal(quantity) * unit_price * (1 - discount_percent / HUNDRED)


def first_year_factor(billing: str) -> int:
    """How many times a billing period is charged in the first year."""
    return {"one_time": 1, "monthly": 12, "yearly": 1}[billing]
