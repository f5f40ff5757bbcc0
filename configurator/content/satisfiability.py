"""Whether rule conditions can hold: the reasoning under the deeper checks of lint.py.

A condition becomes alternatives of all-of literal lists (`dnf`). For the literals on one fact
path, `FactValues.satisfiable` tries a few candidate values that stand for every value the tests
tell apart (each value of a yes/no or enum field; the numbers around each number mentioned, the
days around each date, the texts mentioned and one other, the subsets of the list items
mentioned), held to the field's declared range and, for a `derived.*` text, to the values rules
derive. A candidate meets a literal as
content/conditions.py says it does. Where that cannot be told (a part too large to expand, a list
test naming too many values, an operand that cannot be compared) the answer is "can hold", so an
answer "cannot hold" is never a guess.
"""
from __future__ import annotations

import datetime as dt
import itertools
import math
from collections import defaultdict
from typing import Any, Iterable

from .conditions import compare
from .facts import FactType, FactTypes
from .model import STAGES, AllOf, Condition, ContentPack, Not, Rule, Test
from .problems import ProblemLog
from .rule_conditions import frozen
from .rules import derived_types

Lit = tuple[Test, bool]          # a test, and whether it is negated (`not: {...}`)
MAX_CONJUNCTS = 256              # beyond this an `any`/`not` is not expanded (treated as true)
MAX_LIST_VALUES = 8              # list tests mentioning more values are assumed satisfiable


class _Absent:
    def __repr__(self) -> str:
        return "<no value>"


class _Fresh:
    """A text (or list item) different from every value the conditions mention."""

    def __repr__(self) -> str:
        return "<other>"


ABSENT, FRESH = _Absent(), _Fresh()


# --- conditions as disjunctive normal form ------------------------------------------------------

def dnf(cond: Condition, negated: bool = False) -> list[list[Lit]]:
    """The condition as alternatives of all-of literal lists ([] = never, [[]] = always).

    Parts too large to expand are left out, which only ever makes a condition easier to meet.
    """
    if isinstance(cond, Test):
        return [[(cond, negated)]]
    if isinstance(cond, Not):
        return dnf(cond.item, not negated)
    conjunctive = isinstance(cond, AllOf) != negated   # all-of, or not(any-of)
    parts = [[[(item, negated)]] if isinstance(item, Test) else dnf(item, negated)
             for item in cond.items]
    if not conjunctive:
        out = [conj for part in parts for conj in part]
        return out if len(out) <= MAX_CONJUNCTS else [[]]
    out = [[]]
    for part in parts:
        product = [a + b for a in out for b in part]
        out = product if len(product) <= MAX_CONJUNCTS else out   # too big: leave `part` out
    return out


# --- the values a fact could take --------------------------------------------------------------

class FactValues:
    """Types, declared ranges and derivable values of fact paths, and satisfiability per path."""

    def __init__(self, pack: ContentPack, types: FactTypes | None = None):
        self.pack = pack
        if types is None:
            logs: dict[str, ProblemLog] = defaultdict(lambda: ProblemLog(""))
            types = FactTypes(pack.profile, tuple(pack.catalog.modules),
                              tuple(pack.catalog.families),
                              derived_types(list(pack.rulesets), logs))
        self.types = types
        self.derive_stages: dict[str, set[str]] = defaultdict(set)
        for rule in pack.rules:
            for action in rule.then:
                if action.kind == "derive":
                    for name in action.params["values"]:
                        self.derive_stages[name].add(rule.stage)
        self._sat_cache: dict[tuple, bool] = {}

    def ftype(self, path: str) -> FactType | None:
        return self.types.resolve(path)[0]     # FactTypes keeps what it resolved

    def bounds(self, path: str) -> tuple[float | None, float | None]:
        """The declared min and max of a profile number (not through a list)."""
        if not path.startswith("profile."):
            return None, None
        spec, through_list = self.pack.profile.field_at(path[len("profile."):])
        if spec is None or through_list or spec.type not in ("integer", "number"):
            return None, None
        return spec.min, spec.max

    def derivable(self, path: str) -> tuple[str, ...]:
        """Every value rules derive for a `derived.*` text (it never holds any other)."""
        ftype = self.ftype(path)
        if path.startswith("derived.") and ftype is not None and ftype.type == "string":
            return ftype.values
        return ()

    def stable(self, path: str, first: Rule, second: Rule) -> bool:
        """Whether `path` holds the same value when either of two rules is evaluated."""
        if path.startswith("profile.") or first.stage == second.stage:
            return True
        if path.startswith("derived."):
            earliest = min(STAGES.index(first.stage), STAGES.index(second.stage))
            return all(STAGES.index(s) < earliest
                       for s in self.derive_stages.get(path.split(".")[1], ()))
        return False

    # --- satisfiability of the literals on one path ----------------------------------------
    def satisfiable(self, path: str, lits: list[Lit], declared: bool = True) -> bool:
        """Whether some value (or no value) of `path` meets every literal.

        `declared`: also hold to the declared range and the derivable values. Rules repeat the
        same tests, so each answer is kept (it depends on the path and the tests alone)."""
        try:
            if len(lits) == 1:
                ((test, negated),) = lits
                key = (path, declared, test.op, frozen(test.value), negated)
            else:
                key = (path, declared,
                       tuple((t.op, frozen(t.value), negated) for t, negated in lits))
            return self._sat_cache[key]
        except KeyError:
            found = self._sat_cache[key] = self._satisfiable(path, lits, declared)
            return found
        except TypeError:          # an operand that cannot be a key
            return self._satisfiable(path, lits, declared)

    def _satisfiable(self, path: str, lits: list[Lit], declared: bool) -> bool:
        ftype = self.ftype(path)
        if ftype is None:
            return True
        if ftype.type == "list":
            candidates = self._list_candidates(ftype, lits)
        else:
            candidates = self._scalar_candidates(path, ftype, lits, declared)
        if candidates is None:
            return True
        return any(all(_holds(lit, path, c) is not False for lit in lits) for c in candidates)

    def example(self, path: str, lits: list[Lit]) -> Any:
        """A definite value of `path` that meets every literal, or None."""
        ftype = self.ftype(path)
        if ftype is None:
            return None
        candidates = self._list_candidates(ftype, lits) if ftype.type == "list" else \
            self._scalar_candidates(path, ftype, lits, True)
        for value in candidates or ():
            if value is ABSENT or value is FRESH or (isinstance(value, list) and FRESH in value):
                continue
            if all(_holds(lit, path, value) is True for lit in lits):
                return value
        return None

    def _scalar_candidates(self, path: str, ftype: FactType, lits: list[Lit],
                           declared: bool) -> list | None:
        mentioned: list[Any] = []
        for test, _ in lits:
            if test.op in ("exists", "matches"):
                continue
            mentioned += test.value if isinstance(test.value, list) else [test.value]
        kind = ftype.type
        if kind == "boolean":
            values: list = [True, False]
        elif kind == "enum":
            values = list(ftype.values)
        elif kind in ("string", "country", "currency"):
            known = self.derivable(path)
            values = list(known) if declared and known else _unique(mentioned) + [FRESH]
        elif kind == "date":
            values = _date_candidates(mentioned)
            if any(t.op == "matches" for t, _ in lits):
                values.append(FRESH)
        elif ftype.numeric:
            low, high = self.bounds(path) if declared else (None, None)
            numbers = [v for v in mentioned if isinstance(v, (int, float))
                       and not isinstance(v, bool)]
            numbers += [b for b in (low, high) if b is not None]
            values = _number_candidates(numbers, kind == "integer")
            values = [v for v in values
                      if (low is None or v >= low) and (high is None or v <= high)]
        elif kind == "object":
            values = [{"_": 1}]
        else:
            return None
        return [ABSENT] + values

    def _list_candidates(self, ftype: FactType, lits: list[Lit]) -> list | None:
        mentioned: list[Any] = []
        for test, _ in lits:
            if test.op != "exists":
                mentioned += test.value if isinstance(test.value, list) else [test.value]
        mentioned = _unique(mentioned)
        if len(mentioned) > MAX_LIST_VALUES:
            return None
        items = ftype.items
        if items is not None and items.type == "enum":
            extra = next((v for v in items.values if v not in mentioned), None)
        else:
            extra = FRESH
        subsets = [list(s) for n in range(len(mentioned) + 1)
                   for s in itertools.combinations(mentioned, n)]
        out: list = [ABSENT] + [s for s in subsets if s]
        if extra is not None:
            out += [s + [extra] for s in subsets]
        return out


def _unique(values: Iterable) -> list:
    out: list = []
    for value in values:
        if not any(value == seen and type(value) is type(seen) for seen in out):
            out.append(value)
    return out


def _number_candidates(numbers: list[float], integer: bool) -> list[float]:
    """Values that meet every combination of comparisons with `numbers` that any value meets."""
    if not numbers:
        return [0, 1]
    points = sorted(set(numbers))
    if integer:
        out = {k for b in points for k in (math.floor(b) - 1, math.floor(b), math.floor(b) + 1,
                                           math.ceil(b) - 1, math.ceil(b), math.ceil(b) + 1)}
        return sorted(out)
    out = set(points) | {points[0] - 1, points[-1] + 1}
    out |= {(a + b) / 2 for a, b in zip(points, points[1:])}
    return sorted(out)


def _date_candidates(values: list) -> list[str]:
    days = set()
    for value in values:
        try:
            day = dt.date.fromisoformat(str(value))
        except ValueError:
            continue
        days |= {day - dt.timedelta(days=1), day, day + dt.timedelta(days=1)}
    return sorted(d.isoformat() for d in days) or ["2000-01-01"]


def _holds(lit: Lit, path: str, value: Any) -> bool | None:
    """The literal on a candidate value: True, False, or None when it cannot be told."""
    test, negated = lit
    if value is FRESH:
        result = {"eq": False, "in": False, "ne": True, "not_in": True,
                  "exists": bool(test.value)}.get(test.op)
    else:
        # what conditions.value_of finds for `path` in facts holding just this value
        present = not (value is ABSENT or value is None or
                       (isinstance(value, (list, dict, str)) and len(value) == 0))
        try:
            result = compare(test.op, test.value, present, value)
        except TypeError:   # e.g. an unknown list item compared by order: cannot tell
            result = None
    if result is None:
        return None
    return not result if negated else result
