"""Deeper checks of a complete content pack, in a product manager's terms.

`lint_pack(pack)` finds
1. rules that can never fire: conditions on one field that contradict each other, or a value
   outside the field's declared range (`rules/profile.yaml` min/max) or outside the values rules
   ever derive for a `derived.*` text (ERRORS: the pack is not loaded);
2. includes that an exclusion always overrides: the excluding rule fires whenever the including
   rule does (warning);
3. catalog modules that no rule can put in a solution (warning);
4. include/exclude pairs that some customer meets both of (warning; not repeated for 2).

Conditions are reasoned about exactly where that is cheap and conservatively elsewhere: a rule is
called dead only when no value of its facts can satisfy it (checked against the reference
semantics in content/conditions.py), so an error here is never a guess.
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
from .problems import Problem, ProblemLog, suggest
from .rule_conditions import frozen
from .rules import derived_types

Lit = tuple[Test, bool]          # a test, and whether it is negated (`not: {...}`)
Conj = list[tuple[str, Lit]]     # literals, each with a scope ("" = shared between rules)
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


def lint_pack(pack: ContentPack, types: FactTypes | None = None) -> list[Problem]:
    """Every deeper problem of a pack that passed the structural checks (`types`: the pack's
    fact types, when the caller has them already)."""
    return _Linter(pack, types).run()


def linted(pack: ContentPack, problems: list[Problem], types: FactTypes | None = None
           ) -> tuple[ContentPack | None, list[Problem]]:
    """`check_pack`'s result with the lint problems added; no pack when lint found an error."""
    found = sorted(problems + lint_pack(pack, types), key=lambda p: (p.file, p.line or 0))
    return (None if any(p.severity == "error" for p in found) else pack), found


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

def _fmt(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list):
        return ", ".join(_fmt(v) for v in value)
    return str(value)


def _phrase(lit: Lit, ftype: FactType | None) -> str:
    """What the literal asks of the fact, after "must": `be at least 10`, `include cold-chain`."""
    test, negated = lit
    op, raw = test.op, test.value
    value = _fmt(raw)
    several = isinstance(raw, list) and len(raw) > 1
    dates = ftype is not None and ftype.type == "date"
    if op == "exists":
        return "have a value" if bool(raw) != negated else "be empty"
    if op == "in":
        if negated:
            return f"be none of {value}" if several else f"not be {value}"
        return f"be one of {value}" if several else f"be {value}"
    if op == "not_in":
        if negated:
            return f"be one of {value} or empty" if several else f"be {value} or empty"
        return f"be none of {value}" if several else f"not be {value}"
    if op == "ne":
        return f"be {value} or empty" if negated else f"differ from {value}"
    if op == "contains_any":
        return f"include none of {value}" if negated else f"include one of {value}"
    words = {
        "eq": f"be {value}",
        "lt": f"be {'before' if dates else 'less than'} {value}",
        "lte": f"be {'on or before' if dates else 'at most'} {value}",
        "gt": f"be {'after' if dates else 'more than'} {value}",
        "gte": f"be {'on or after' if dates else 'at least'} {value}",
        "contains": f"include {value}", "contains_all": f"include all of {value}",
        "matches": f"match '{value}'",
    }
    return f"not {words[op]}" if negated else words[op]


def _join(phrases: list[str]) -> str:
    """`be at least 10 and less than 5` / `be empty and include cold-chain`."""
    phrases = [p[3:] if i and p.startswith("be ") and phrases[i - 1].startswith("be ") else p
               for i, p in enumerate(phrases)]
    if len(phrases) == 1:
        return phrases[0]
    return ", ".join(phrases[:-1]) + " and " + phrases[-1]


class _Facts:
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
        elif kind == "string":
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


# --- the checks ---------------------------------------------------------------------------------

class _Linter:
    def __init__(self, pack: ContentPack, types: FactTypes | None = None):
        self.pack = pack
        self.facts = _Facts(pack, types)
        self.rules = list(pack.rules)
        self.dnf = {r.id: dnf(r.when) for r in self.rules}
        self._by_kind: dict[str, list[tuple[Rule, Any]]] | None = None   # actions by kind
        # whether one test alone (and negated or not) can hold, by the test (the pack keeps it)
        self._single: dict[tuple[int, bool], bool] = {}
        self.problems: list[Problem] = []

    def run(self) -> list[Problem]:
        dead = self.never_fire()
        shadowed = self.shadowed(dead)
        self.overlaps(dead, shadowed)
        self.unreachable()
        return self.problems

    def add(self, file: str, line: int | None, message: str, hint: str, severity: str) -> None:
        self.problems.append(Problem(file, line, message, hint, severity))

    # --- conjunctions of literals from one or two rules ---------------------------------
    def _groups(self, conj: Conj) -> dict[tuple[str, str], list[Lit]]:
        groups: dict[tuple[str, str], list[Lit]] = defaultdict(list)
        for scope, lit in conj:
            groups[(scope, lit[0].path)].append(lit)
        return groups

    def _sat(self, conj: Conj) -> bool:
        return all(self.facts.satisfiable(path, lits)
                   for (_, path), lits in self._groups(conj).items())

    def _scoped(self, rule: Rule, other: Rule, conj: list[Lit]) -> Conj:
        """`rule`'s literals, kept apart from `other`'s where a fact may change between them."""
        return [("" if self.facts.stable(lit[0].path, rule, other) else rule.id, lit)
                for lit in conj]

    def _implies(self, first: Rule, second: Rule) -> bool:
        """Whenever `first`'s condition holds, `second`'s holds too (as far as can be shown)."""
        negated = dnf(second.when, negated=True)
        return all(not self._sat(self._scoped(first, second, a) + self._scoped(second, first, b))
                   for a in self.dnf[first.id] for b in negated)

    def _overlap(self, first: Rule, second: Rule) -> list[str] | None:
        """None when no customer meets both rules' conditions, else an example customer."""
        for a in self.dnf[first.id]:
            for b in self.dnf[second.id]:
                conj = self._scoped(first, second, a) + self._scoped(second, first, b)
                if self._sat(conj):
                    example = {}
                    for (_, path), lits in self._groups(conj).items():
                        value = self.facts.example(path, lits)
                        if value is not None and path not in example:
                            example[path] = f"{path} {_fmt(value)}"
                    return list(example.values())
        return None

    # --- 1. rules that can never fire ----------------------------------------------------
    def never_fire(self) -> set[str]:
        dead = set()
        for rule in self.rules:
            reasons = []
            for conj in self.dnf[rule.id]:
                why = self._contradiction(rule, conj)
                if why is None:
                    break
                reasons.append(why)
            else:
                if not reasons:
                    continue   # `not` around an always-true condition: nothing to explain
                dead.add(rule.id)
                line = min((r[0] for r in reasons if r[0]), default=rule.line)
                texts = list(dict.fromkeys(r[1] for r in reasons))
                hints = list(dict.fromkeys(r[2] for r in reasons))
                what = texts[0] if len(texts) == 1 else \
                    "in every alternative of its `any`: " + "; ".join(texts)
                self.add(rule.file, line, f"rule `{rule.id}` can never fire: {what}",
                         hints[0], "error")
        return dead

    def _contradiction(self, rule: Rule, conj: list[Lit]) -> tuple[int | None, str, str] | None:
        """(line, what, how to fix) when the all-of `conj` cannot hold, else None."""
        groups: dict[str, list[Lit]] = {}
        for lit in conj:
            groups.setdefault(lit[0].path, []).append(lit)
        satisfiable, single = self.facts.satisfiable, self._single
        for path, lits in groups.items():
            if len(lits) == 1:
                lit = lits[0]
                known = single.get((id(lit[0]), lit[1]))
                if known is None:
                    known = single[(id(lit[0]), lit[1])] = satisfiable(path, lits)
                if known:
                    continue
            elif satisfiable(path, lits):
                continue
            ftype = self.facts.ftype(path)
            for lit in lits:   # one test alone against the declaration
                if self.facts.satisfiable(path, [lit]):
                    continue
                if self.facts.satisfiable(path, [lit], declared=False):
                    return (lit[0].line, *self._outside(path, lit, ftype))
                return (lit[0].line, *self._impossible(path, lit, ftype))
            involved = lits
            for declared in (False, True):
                pair = next(((a, b) for a, b in itertools.combinations(lits, 2)
                             if not self.facts.satisfiable(path, [a, b], declared)), None)
                if pair:
                    involved = list(pair)
                    break
            phrases = list(dict.fromkeys(_phrase(lit, ftype) for lit in involved))
            line = min((lit[0].line for lit in involved if lit[0].line), default=rule.line)
            return (line, f"{path} must {_join(phrases)} at once",
                    "keep the condition you mean and remove the other; if either one should do, "
                    "put them under `any: [...]`" if len(phrases) == 2 else
                    "keep the conditions you mean and remove the rest; if any one should do, "
                    "put them under `any: [...]`")
        return None

    @staticmethod
    def _impossible(path: str, lit: Lit, ftype: FactType | None) -> tuple[str, str]:
        """What and how to fix, for one test that no value of the field's type can meet."""
        phrase = _phrase(lit, ftype)
        kind = ftype.type if ftype else ""
        if kind == "enum":
            return (f"{path} must {phrase}, but its only values are {', '.join(ftype.values)}",
                    "remove this condition, or name a value the field can have")
        if kind == "integer":
            return (f"{path} must {phrase}, but it is always a whole number",
                    "compare with whole numbers")
        if kind == "boolean":
            return f"{path} must {phrase}, but it is only ever true or false", \
                "remove this condition"
        return f"{path} must {phrase}, which no value can", "remove this condition"

    def _outside(self, path: str, lit: Lit, ftype: FactType | None) -> tuple[str, str]:
        """What and how to fix, for one test no declared value can meet."""
        phrase = _phrase(lit, ftype)
        known = self.facts.derivable(path)
        if known:
            values = lit[0].value if isinstance(lit[0].value, list) else [lit[0].value]
            wrong = next((v for v in values if v not in known), None)
            return (f"{path} must {phrase}, but rules only ever set it to {', '.join(known)}",
                    " ".join(filter(None, [suggest(wrong, known) if wrong is not None else "",
                                           f"use one of: {', '.join(known)}"])))
        low, high = self.facts.bounds(path)
        field = path[len("profile."):]
        if low is not None and high is not None:
            allowed, use, key = f"from {_fmt(low)} to {_fmt(high)}", \
                f"from {_fmt(low)} to {_fmt(high)}", "min/max"
        elif low is not None:
            allowed, use, key = f"at least {_fmt(low)}", f"of at least {_fmt(low)}", "min"
        else:
            allowed, use, key = f"at most {_fmt(high)}", f"of at most {_fmt(high)}", "max"
        return (f"{path} must {phrase}, but rules/profile.yaml declares it {allowed}",
                f"compare with a value {use}, or change {key} of `{field}` in rules/profile.yaml")

    # --- includes and excludes -----------------------------------------------------------
    def _actions(self, kind: str, dead: set[str]) -> list[tuple[Rule, Any]]:
        if self._by_kind is None:
            self._by_kind = defaultdict(list)
            for rule in self.rules:
                for action in rule.then:
                    self._by_kind[action.kind].append((rule, action))
        return [(rule, action) for rule, action in self._by_kind.get(kind, ())
                if rule.id not in dead]

    def _by_module(self, kind: str, dead: set[str]) -> dict[str, list[tuple[Rule, Any]]]:
        """`_actions` of one kind by module, each module's in rule order."""
        found: dict[str, list[tuple[Rule, Any]]] = defaultdict(list)
        for rule, action in self._actions(kind, dead):
            found[action.params["module"]].append((rule, action))
        return found

    @staticmethod
    def _covers(outer: Rule, inner: Rule) -> bool:
        """`outer` is in force whenever `inner` is (drafts and effective dates)."""
        if outer.draft and not inner.draft:
            return False
        starts = outer.effective_from is None or (
            inner.effective_from is not None and outer.effective_from <= inner.effective_from)
        ends = outer.effective_until is None or (
            inner.effective_until is not None and inner.effective_until <= outer.effective_until)
        return starts and ends

    @staticmethod
    def _meet(first: Rule, second: Rule) -> bool:
        """The two rules are in force on some day."""
        start = max(filter(None, [first.effective_from, second.effective_from]), default=None)
        end = min(filter(None, [first.effective_until, second.effective_until]), default=None)
        return start is None or end is None or start <= end

    @staticmethod
    def _where(rule: Rule) -> str:
        return f"{rule.file}:{rule.line}" if rule.line else rule.file

    # 2. an exclusion that always wins
    def shadowed(self, dead: set[str]) -> set[tuple[str, str, str]]:
        pairs = set()
        excludes = self._by_module("exclude", dead)
        for rule, action in self._actions("include", dead):
            module = action.params["module"]
            for other, exclude in excludes.get(module, ()):
                if (rule.id, other.id, module) in pairs:
                    continue
                if not self._covers(other, rule) or not self._implies(rule, other):
                    continue
                pairs.add((rule.id, other.id, module))
                if other.id == rule.id:
                    message = (f"rule `{rule.id}` ({self._where(rule)}) includes `{module}` and "
                               f"also excludes it: the exclusion always wins, so the include "
                               "never adds anything")
                    hint = "remove the include or the exclude"
                else:
                    message = (f"rule `{rule.id}` ({self._where(rule)}) includes `{module}`, but "
                               f"rule `{other.id}` ({self._where(other)}) excludes it whenever "
                               f"`{rule.id}` fires: the exclusion always wins, so `{rule.id}` "
                               f"never adds `{module}`")
                    hint = (f"remove the include from `{rule.id}`, or narrow `{other.id}` so that "
                            f"it does not apply to every customer of `{rule.id}`")
                self.add(rule.file, action.line or rule.line, message, hint, "warning")
        return pairs

    # 4. include/exclude pairs that overlap
    def overlaps(self, dead: set[str], shadowed: set[tuple[str, str, str]]) -> None:
        excludes = self._by_module("exclude", dead)
        seen = set()
        for rule, action in self._actions("include", dead):
            module = action.params["module"]
            for other, exclude in excludes.get(module, ()):
                key = (rule.id, other.id, module)
                if other.id == rule.id or key in shadowed or key in seen:
                    continue
                seen.add(key)
                example = self._overlap(rule, other) if self._meet(rule, other) else None
                if example is None or self._implies(other, rule):
                    continue   # (implies: the exclusion is an exception written onto the include)
                who = f" (e.g. {', '.join(example)})" if example else ""
                self.add(rule.file, action.line or rule.line,
                         f"rule `{rule.id}` ({self._where(rule)}) includes `{module}` and rule "
                         f"`{other.id}` ({self._where(other)}) excludes it; a customer can meet "
                         f"both{who}, and then the exclusion wins",
                         f"if that is meant, add the opposite of `{other.id}`'s condition to "
                         f"`{rule.id}` so the two no longer overlap; otherwise narrow "
                         f"`{other.id}`", "warning")

    # --- 3. modules that no rule can include ---------------------------------------------
    def unreachable(self) -> None:
        catalog = self.pack.catalog
        reached: set[str] = set()
        todo = [a.params["module"] for rule in self.rules for a in rule.then
                if a.kind in ("include", "recommend")]
        while todo:
            module = todo.pop()
            if module in reached or module not in catalog.modules:
                continue
            reached.add(module)
            todo += catalog.modules[module].requires
        for module in catalog.modules.values():
            if module.id in reached:
                continue
            self.add(module.file, module.line,
                     f"module `{module.id}` is never part of a solution: no rule includes or "
                     "recommends it and no module that rules bring in requires it, so only a "
                     "solution lead's `add` can put it in",
                     "include or recommend it in a rule, add it to the `requires` of a module "
                     "that is sold, or remove it from the catalog", "warning")
