"""A solution lead's adjustments: accept a recommendation, add or remove a module, change a
quantity, add a discount. They enter the pipeline as facts, so catalog constraints and approval
rules still apply to the adjusted solution."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from .model import Catalog

ACTIONS = ("accept", "add", "remove", "quantity", "discount")
MAX_ADJUSTMENTS = 100
MAX_QUANTITY = 1_000_000
KEYS = ("action", "module", "quantity", "percent", "applies_to", "reason", "by")


class AdjustmentInvalid(Exception):
    """`errors` maps `adjustments.N.field` to messages."""

    def __init__(self, errors: dict[str, list[str]]):
        self.errors = errors
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items()))


@dataclass(frozen=True)
class Adjustment:
    action: str
    module: str | None = None
    quantity: int | None = None
    percent: Decimal | None = None
    applies_to: str | None = None
    reason: str = ""
    by: str = ""

    @property
    def rule(self) -> str:
        """The name that stands for this change in reasons and the trace."""
        return f"adjustment:{self.by}" if self.by else "adjustment"

    def as_dict(self) -> dict:
        out: dict[str, Any] = {"action": self.action}
        for key in ("module", "quantity", "applies_to", "reason", "by"):
            if getattr(self, key) not in (None, ""):
                out[key] = getattr(self, key)
        if self.percent is not None:
            out["percent"] = float(self.percent)
        return out


def parse_adjustments(raw: Any, catalog: Catalog) -> list[Adjustment]:
    if raw is None:
        return []
    if not isinstance(raw, (list, tuple)):
        raise AdjustmentInvalid({"adjustments": ["must be a list of adjustments"]})
    if len(raw) > MAX_ADJUSTMENTS:
        raise AdjustmentInvalid({"adjustments": [f"at most {MAX_ADJUSTMENTS} adjustments"]})
    errors: dict[str, list[str]] = {}
    out = []
    for index, item in enumerate(raw):
        where = f"adjustments.{index}"

        def bad(field: str, message: str) -> None:
            errors.setdefault(f"{where}.{field}" if field else where, []).append(message)

        if not isinstance(item, dict):
            bad("", "must be an object with `action`")
            continue
        for key in item:
            if key not in KEYS:
                bad(key, f"unknown field; allowed: {', '.join(KEYS)}")
        action = item.get("action")
        if action not in ACTIONS:
            bad("action", f"must be one of: {', '.join(ACTIONS)}")
            continue
        module = item.get("module")
        if action != "discount" or module is not None:
            if not isinstance(module, str) or module not in catalog.modules:
                bad("module", f"`{module}` is not a module in the catalog")
                continue
        quantity = item.get("quantity")
        if action == "quantity" or (action == "add" and quantity is not None):
            if isinstance(quantity, bool) or not isinstance(quantity, int) \
                    or not 0 <= quantity <= MAX_QUANTITY:
                bad("quantity", f"must be a whole number from 0 to {MAX_QUANTITY}")
                continue
        percent = None
        applies_to = None
        if action == "discount":
            try:
                value = item.get("percent")
                if isinstance(value, bool) or not isinstance(value, (int, float, str)):
                    raise InvalidOperation
                percent = Decimal(str(value))
                if not percent.is_finite() or not 0 < percent <= 100:
                    raise InvalidOperation
            except InvalidOperation:
                bad("percent", "must be a number above 0 and at most 100")
                continue
            applies_to = item.get("applies_to") or module or "total"
            if not _valid_target(applies_to, catalog):
                bad("applies_to", "must be a module id, family:FAMILY or total")
                continue
        reason = item.get("reason", "")
        by = item.get("by", "")
        if not isinstance(reason, str) or len(reason) > 500:
            bad("reason", "must be text of at most 500 characters")
            continue
        if not isinstance(by, str) or len(by) > 100:
            bad("by", "must be text of at most 100 characters")
            continue
        out.append(Adjustment(action, module, quantity, percent, applies_to, reason, by))
    if errors:
        raise AdjustmentInvalid(errors)
    return out


def _valid_target(target: Any, catalog: Catalog) -> bool:
    if not isinstance(target, str):
        return False
    if target == "total" or target in catalog.modules:
        return True
    return target.startswith("family:") and target[7:] in catalog.families
