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
called dead only when no value of its facts can satisfy it (satisfiability.py, checked against
the reference semantics in content/conditions.py), so an error here is never a guess.
"""
from __future__ import annotations

import itertools
from collections import defaultdict
from typing import Any

from .facts import FactType, FactTypes
from .model import ContentPack, Rule
from .problems import Problem, suggest
from .satisfiability import FactValues, Lit, dnf

Conj = list[tuple[str, Lit]]     # literals, each with a scope ("" = shared between rules)


def lint_pack(pack: ContentPack, types: FactTypes | None = None) -> list[Problem]:
    """Every deeper problem of a pack that passed the structural checks (`types`: the pack's
    fact types, when the caller has them already)."""
    return _Linter(pack, types).run()


def linted(pack: ContentPack, problems: list[Problem], types: FactTypes | None = None
           ) -> tuple[ContentPack | None, list[Problem]]:
    """`check_pack`'s result with the lint problems added; no pack when lint found an error."""
    found = sorted(problems + lint_pack(pack, types), key=lambda p: (p.file, p.line or 0))
    return (None if any(p.severity == "error" for p in found) else pack), found


# --- what a literal asks, in words ----------------------------------------------------------

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


# --- the checks ---------------------------------------------------------------------------------

class _Linter:
    def __init__(self, pack: ContentPack, types: FactTypes | None = None):
        self.pack = pack
        self.facts = FactValues(pack, types)
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
