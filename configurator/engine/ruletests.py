"""Run the example customers in `rules/tests/*.yaml` and describe every difference in words."""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from ..content.adjustments import AdjustmentInvalid, parse_adjustments
from ..content.document import ConfigurationDocument, Exclusion, Line
from ..content.model import RuleTest
from ..content.profile import ProfileInvalid
from .pipeline import Pipeline


@dataclass
class RuleTestResult:
    test: RuleTest
    differences: list[str] = field(default_factory=list)
    document: ConfigurationDocument | None = None

    @property
    def passed(self) -> bool:
        return not self.differences


def run_rule_tests(pipeline: Pipeline, tests: tuple[RuleTest, ...] | None = None,
                   select: str | None = None) -> list[RuleTestResult]:
    pack = pipeline.pack
    results = []
    for test in tests if tests is not None else pack.tests:
        if select and select.lower() not in test.name.lower():
            continue
        result = RuleTestResult(test)
        try:
            profile = pack.profile.validate(test.profile)
            adjustments = parse_adjustments(list(test.adjustments), pack.catalog)
        except (ProfileInvalid, AdjustmentInvalid) as exc:
            result.differences.append(f"the test's input is not valid: {exc}")
            results.append(result)
            continue
        result.document = pipeline.configure(profile, adjustments, on=test.date)
        result.differences = compare(result.document, test.expect)
        results.append(result)
    return results


def _names(items: list[Line] | list[Exclusion]) -> str:
    return ", ".join(i["module"] for i in items) or "none"


def compare(doc: ConfigurationDocument, expect: dict) -> list[str]:
    """Each way `doc` differs from `expect`, as a sentence a product manager can act on."""
    out: list[str] = []
    lines = {line["module"]: line for line in doc["lines"]}
    excluded = {e["module"]: e for e in doc["exclusions"]}
    recommended = {r["module"] for r in doc["recommendations"]}
    if "status" in expect and doc["status"] != expect["status"]:
        why = ""
        if doc["conflicts"]:
            why = " (" + "; ".join(c["message"] for c in doc["conflicts"]) + ")"
        elif doc["approvals"]:
            why = " (approvals: " + ", ".join(a["role"] for a in doc["approvals"]) + ")"
        out.append(f"status: expected {expect['status']}, got {doc['status']}{why}")
    for module in expect.get("includes", []):
        if module not in lines:
            if module in excluded:
                by = ", ".join(r["rule"] for r in excluded[module]["reasons"])
                out.append(f"includes: expected {module} as a line, but rule {by} excluded it")
            else:
                out.append(f"includes: expected {module} as a line, but no rule included it "
                           f"(lines: {_names(doc['lines'])})")
    for module in expect.get("absent", []):
        if module in lines:
            by = ", ".join(r["rule"] for r in lines[module]["reasons"])
            out.append(f"absent: expected no {module} line, but it is there (because of: {by})")
    for module in expect.get("excluded", []):
        if module not in excluded:
            out.append(f"excluded: expected {module} among the exclusions "
                       f"(exclusions: {_names(doc['exclusions'])})")
    for module in expect.get("recommends", []):
        if module not in recommended:
            state = "it is a line" if module in lines else "no rule recommended it"
            out.append(f"recommends: expected {module} to be recommended, but {state}")
    for module, quantity in (expect.get("quantities") or {}).items():
        if module not in lines:
            out.append(f"quantities: expected {module} × {quantity}, but it is not a line")
        elif lines[module]["quantity"] != quantity:
            by = "; ".join(f"{r['rule']}: {r['text']}" for r in lines[module]["reasons"])
            out.append(f"quantities: expected {module} × {quantity}, got "
                       f"{lines[module]['quantity']} ({by})")
    for name, value in (expect.get("derived") or {}).items():
        if name not in doc["derived"]:
            out.append(f"derived: expected derived.{name} = {value!r}, but no rule set it")
        elif not _same(doc["derived"][name], value):
            out.append(f"derived: expected derived.{name} = {value!r}, got {doc['derived'][name]!r}")
    if "approvals" in expect:
        want = set(expect["approvals"] or [])
        got = {a["role"] for a in doc["approvals"]}
        if want != got:
            parts = []
            if want - got:
                parts.append("missing " + ", ".join(sorted(want - got)))
            if got - want:
                parts.append("unexpected " + ", ".join(
                    f"{a['role']} ({'; '.join(r['rule'] for r in a['reasons'])})"
                    for a in doc["approvals"] if a["role"] in got - want))
            out.append("approvals: " + "; ".join(parts))
    for key, amount in (expect.get("totals") or {}).items():
        actual = doc["totals"].get(key)
        if actual is None or not _same(actual, amount):
            out.append(f"totals: expected {key} = {amount}, got {actual}")
    for text in expect.get("warnings", []) or []:
        if not any(text.lower() in w["text"].lower() for w in doc["warnings"]):
            out.append(f"warnings: expected a warning containing {text!r}")
    return out


def _same(actual: Any, expected: Any) -> bool:
    numbers = (int, float, Decimal)
    if isinstance(actual, numbers) and isinstance(expected, numbers) \
            and not isinstance(actual, bool) and not isinstance(expected, bool):
        return Decimal(str(actual)).quantize(Decimal("0.01")) == \
            Decimal(str(expected)).quantize(Decimal("0.01"))
    return actual == expected
