"""What a proposal explains, worked out from the rules and the documents (no Flask, no PDF):

- `needs_answered`: which lines and commitments answer each of the customer's stated needs,
  found by following the rules that fired: a rule that tests `profile.needs` answers those
  needs; a fact it derives carries them on to the rules that test that fact.
- `baseline_profile` / `compare`: "tailored versus standard", the customer's solution against
  the pipeline run on the baseline profile that the pack declares in `proposals/baseline.yaml`
  (the documents' one comparison, content/document_diff.py, with the rules behind it).
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..content.document import (TOTAL_KEYS, Amount, ConfigurationDocument, Line, Reason, Totals,
                                TotalKey)
from ..content.document_diff import diff_documents, difference
from ..content.model import AllOf, AnyOf, ContentPack, Not, Test
from ..content.yamlfile import YamlSyntaxError, plain, read_yaml
from .errors import TemplateBroken

BASELINE_FILE = "baseline.yaml"
POSITIVE_OPS = ("eq", "in", "contains", "contains_any", "contains_all")
NEEDS_PATH = "profile.needs"


# --- needs ------------------------------------------------------------------------------------

def positive_tests(condition: Any, negated: bool = False) -> list[Test]:
    """The tests a condition requires to hold (those under an odd number of `not` are left out)."""
    if isinstance(condition, Test):
        return [] if negated else [condition]
    if isinstance(condition, (AllOf, AnyOf)):
        return [t for item in condition.items for t in positive_tests(item, negated)]
    if isinstance(condition, Not):
        return positive_tests(condition.item, not negated)
    return []


def _values(test: Test) -> set[str]:
    if test.op not in POSITIVE_OPS:
        return set()
    value = test.value
    return {str(v) for v in value} if isinstance(value, (list, tuple)) else {str(value)}


@dataclass
class NeedAnswer:
    need: str
    modules: list[str] = field(default_factory=list)     # line module ids, in line order
    rules: list[str] = field(default_factory=list)       # every fired rule that answers it


def needs_answered(pack: ContentPack, document: ConfigurationDocument,
                   needs: list[str]) -> dict[str, NeedAnswer]:
    """For each stated need: the lines whose reasons come from rules answering it, and the fired
    rules (delivery commitments, team roles) that answer it."""
    rules = {rule.id: rule for rule in pack.rules}
    stated = set(needs)
    fact_needs: dict[str, set[str]] = {}
    rule_needs: dict[str, set[str]] = {}
    for entry in document.get("fired", []):
        rule = rules.get(entry.get("rule", ""))
        if rule is None:
            continue
        found: set[str] = set()
        for test in positive_tests(rule.when):
            if test.path == NEEDS_PATH:
                found |= _values(test) & stated
            elif test.path.startswith("derived."):
                found |= fact_needs.get(test.path[len("derived."):], set())
        rule_needs[rule.id] = rule_needs.get(rule.id, set()) | found
        for fact in entry.get("derived") or {}:
            fact_needs[fact] = set(found)   # the last rule to set a fact decides what it carries
    answers = {need: NeedAnswer(need) for need in needs}
    for line in document.get("lines", []):
        for reason in line.get("reasons", []):
            for need in rule_needs.get(reason.get("rule", ""), ()):
                if line["module"] not in answers[need].modules:
                    answers[need].modules.append(line["module"])
    for rule_id, found in rule_needs.items():
        for need in found:
            answers[need].rules.append(rule_id)
    return answers


# --- tailored versus standard -----------------------------------------------------------------

@dataclass(frozen=True)
class Baseline:
    overrides: dict[str, Any]
    file: str


def load_baseline(proposals_dir: Path, pack_root: Path | None = None) -> Baseline | None:
    """The pack's baseline declaration, or None when the pack declares none."""
    path = proposals_dir / BASELINE_FILE
    rel = _rel(path, pack_root)
    if not path.is_file():
        return None
    try:
        data = plain(read_yaml(path))
    except YamlSyntaxError as exc:
        raise TemplateBroken(rel + (f":{exc.line}" if exc.line else ""), exc.message,
                             "fix the YAML") from None
    if not isinstance(data, dict) or set(data) - {"overrides"} or \
            not isinstance(data.get("overrides"), dict):
        raise TemplateBroken(rel, "the baseline must be `overrides:` mapping profile fields to "
                             "their standard values", "see docs/proposals.md")
    return Baseline(data["overrides"], rel)


def baseline_profile(profile: dict, baseline: Baseline) -> dict:
    """The customer's profile with the baseline's overrides applied (`null` removes a field)."""
    out = copy.deepcopy(profile)
    for key, value in baseline.overrides.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = copy.deepcopy(value)
    return out


@dataclass
class Comparison:
    added: list[Line]                       # tailored lines the standard offer lacks
    removed: list[Line]                     # standard lines the tailored solution leaves out
    changed: list[tuple[Line, Line]]        # (standard line, tailored line), quantity differs
    standard_totals: Totals
    tailored_totals: Totals
    rules_added: list[str]                  # fired only for this customer, in firing order
    rules_removed: list[str]                # fired only for the standard offer
    removed_because: dict[str, list[Reason]]  # module -> exclusion reasons in the tailored run

    @property
    def difference(self) -> dict[TotalKey, Amount]:
        return {key: difference(self.standard_totals.get(key, 0),
                                self.tailored_totals.get(key, 0)) for key in TOTAL_KEYS}


def compare(tailored: ConfigurationDocument, standard: ConfigurationDocument) -> Comparison:
    diff = diff_documents(standard, tailored)
    fired_mine = _fired(tailored)
    fired_theirs = _fired(standard)
    excluded = {e["module"]: e.get("reasons", []) for e in tailored.get("exclusions", [])}
    return Comparison(
        added=diff.lines_added,
        removed=diff.lines_removed,
        changed=[(change.old, change.new) for change in diff.lines_changed
                 if change.old["quantity"] != change.new["quantity"]],
        standard_totals=standard["totals"], tailored_totals=tailored["totals"],
        rules_added=[r for r in fired_mine if r not in fired_theirs],
        rules_removed=[r for r in fired_theirs if r not in fired_mine],
        removed_because={line["module"]: excluded[line["module"]] for line in diff.lines_removed
                         if line["module"] in excluded})


def _fired(document: ConfigurationDocument) -> list[str]:
    seen: list[str] = []
    for entry in document.get("fired", []):
        rule = entry.get("rule")
        if rule and rule not in seen:
            seen.append(rule)
    return seen


def _rel(path: Path, root: Path | None) -> str:
    if root is not None:
        try:
            return path.resolve().relative_to(root.resolve()).as_posix()
        except ValueError:
            pass
    return str(path)
