"""Synthetic content packs for the benchmarks: N rules over a catalog of M modules, and profiles.

    python bench/generate.py OUT_DIR --rules 10000 --modules 5000 [--profiles 40] [--seed 1]

The pack looks like a big real one, only larger: a profile declaration of about 80 facts (an
industry, a country, regions, needs, headcount, revenue, budget, six key-account scores, contacts
with roles, 32 metrics, 16 categorical attributes, flags and tag lists); a catalog of families
whose modules require their family's core module, with a few pairs that exclude each other; and
rules in all five stages:

- segment: always-on derivations from the scores and the size (`{expr: ...}`), tiers and bands
  chained on those (`derived.score_total: {gte: 14}`), and segment flags derived from profile
  facts; later stages compare these derived facts;
- solution: includes with quantity expressions, recommendations, a few exclusions and warnings;
- pricing: discounts and surcharges on a module, a family or the total, on conditions over the
  solution the earlier stage built (`solution.modules`, `solution.first_year`, ...);
- delivery: service levels, team roles and proposal notes;
- approval: approvals on the discount, the value, the risk.

Conditions mix equality, `in`, ranges, `ne`, `not_in`, `contains`/`contains_any`/`contains_all`,
nested scores, `exists`, `matches`, `any`, `not`, derived and cross-stage solution facts, a few
draft rules and rules with effective dates. Every stage stays inside what durable-rules takes and
`configurator check` enforces: at most 4,000 rules per stage, 60 tests other than equality per
fact per stage, 500 distinct equality values per fact per stage, 250 identical conditions, and
500 different tests after one test (or as first tests) across fields: durable-rules builds a
tree of tests in condition order and hangs creating a ruleset when one test (or the root) has
more than 512 different tests after it, so every rule starts with an equality from a bounded set
of segment-like facts, and no first test is shared by more than about 300 rules; rules never
contradict themselves (lint would refuse the pack).

Larger packs are more specific, as real ones are: a rule of a 10,000-rule pack tests more
equalities than one of a 100-rule pack, so a profile fires tens of rules, not thousands.
`profiles.json` beside `catalog/` holds the matching profiles (the pack loader ignores it), and
`rules/tests/generated.yaml` three of them as rule tests, so `configurator check` trial-runs them.
"""
from __future__ import annotations

import argparse
import json
import math
import random
import shutil
from collections import Counter, defaultdict
from pathlib import Path

STAGE_SHARE = {"segment": 0.20, "solution": 0.30, "pricing": 0.20, "delivery": 0.15, "approval": 0.15}
RULES_PER_FILE = 250
MAX_RANGE = 56            # the check refuses more than 60 non-equality tests per fact per stage
MAX_EQ_VALUES = 450       # ... more than 500 distinct equality values
MAX_SAME = 200            # ... more than 250 identical conditions
LEAD_CHILDREN = 300       # durable-rules hangs past 512 different tests after one test

INDUSTRIES = ["logistics", "chemicals", "equipment", "telecom", "food", "pharma", "retail",
              "automotive", "energy", "utilities", "public", "other"]
COUNTRIES = ["DE", "FR", "GB", "NO", "SE", "DK", "FI", "NL", "BE", "LU", "AT", "CH", "IT", "ES",
             "PT", "IE", "PL", "CZ", "SK", "HU", "RO", "BG", "GR", "TR", "US", "CA", "MX", "BR",
             "AR", "CL", "CN", "JP", "KR", "IN", "SG", "AU", "NZ", "ZA", "AE", "SA"]
REGIONS = ["emea", "americas", "apac", "china", "africa", "oceania"]
NEEDS = [f"need-{i:02d}" for i in range(30)]
ROLES = ["economic-buyer", "technical-evaluator", "user", "influencer", "blocker"]
STANCES = ["champion", "neutral", "skeptic"]
SCORES = ["value_contribution", "loyalty", "growth", "financial_risk", "strategic_fit", "innovation"]
METRICS = [f"m{i:02d}" for i in range(1, 33)]
ATTRS = {f"a{i:02d}": 6 + (i * 7) % 20 for i in range(1, 17)}       # name -> vocabulary size
FLAGS = [f"b{i:02d}" for i in range(1, 9)]
TAGS = [f"g{i:02d}" for i in range(1, 9)]
TAG_VALUES = [f"t{i:02d}" for i in range(12)]
TIERS = ["strategic", "key", "growth", "standard"]
BANDS = ["small", "medium", "large", "enterprise"]
RISKS = ["low", "normal", "high"]
APPROVERS = ["finance", "legal", "sales-director", "delivery-director", "security", "procurement"]
BILLINGS = ["one_time", "monthly", "yearly"]
KINDS = ["hardware", "software", "service", "support"]
SL_KEYS = ["response_hours", "availability", "resolution_hours", "on_site_days"]
TEAM_ROLES = ["customer-lead", "solution-lead", "delivery-lead", "architect", "trainer",
              "service-manager", "escalation-manager"]
NOTE_SECTIONS = ["executive-summary", "solution", "delivery", "commercial", "terms"]


def attr_values(name: str) -> list[str]:
    return [f"{name}v{j:02d}" for j in range(ATTRS[name])]


def metric_max(name: str) -> int:
    return 10 ** (2 + int(name[1:]) % 4)        # 100, 1,000, 10,000 or 100,000


# --- what each fact is, and how a profile draws it -----------------------------------------------

class Facts:
    """The profile's facts and the derived facts, with what conditions may say about them."""

    def __init__(self):
        self.numeric: dict[str, tuple[float, float, bool]] = {   # path -> (low, high, integer)
            "profile.employees": (1, 100_000, True),
            "profile.sites": (1, 400, True),
            "profile.annual_revenue": (0, 5e9, False),
            "profile.budget": (0, 5e6, False),
            **{f"profile.scores.{s}": (1, 5, True) for s in SCORES},
            **{f"profile.metrics.{m}": (0, metric_max(m), True) for m in METRICS},
        }
        self.categorical: dict[str, list[str]] = {
            "profile.industry": INDUSTRIES,
            "profile.country": COUNTRIES,
            **{f"profile.attributes.{a}": attr_values(a) for a in ATTRS},
        }
        self.lists: dict[str, list[str]] = {
            "profile.regions": REGIONS, "profile.needs": NEEDS, "profile.contacts.role": ROLES,
            **{f"profile.tags.{t}": TAG_VALUES for t in TAGS},
        }
        self.booleans = [f"profile.flags.{b}" for b in FLAGS] + ["profile.public"]
        self.optional = ["profile.budget", "profile.annual_revenue"] + \
            [f"profile.metrics.{m}" for m in METRICS[:8]]


def profile_yaml() -> str:
    lines = ["# A synthetic profile declaration (bench/generate.py).", "fields:",
             "  name: {type: string, required: true}",
             f"  industry: {{type: enum, values: [{', '.join(INDUSTRIES)}], required: true}}",
             "  country: {type: string, required: true}",
             f"  regions: {{type: list, items: {{type: enum, values: [{', '.join(REGIONS)}]}}, default: []}}",
             f"  needs: {{type: list, items: {{type: enum, values: [{', '.join(NEEDS)}]}}, default: []}}",
             "  employees: {type: integer, min: 1, max: 100000, required: true}",
             "  sites: {type: integer, min: 1, max: 400, required: true}",
             "  annual_revenue: {type: number, min: 0, max: 5000000000}",
             "  budget: {type: number, min: 0, max: 5000000}",
             "  public: {type: boolean}",
             "  scores:", "    type: object", "    required: true", "    fields:"]
    lines += [f"      {s}: {{type: integer, min: 1, max: 5, required: true}}" for s in SCORES]
    lines += ["  contacts:", "    type: list", "    items:", "      type: object", "      fields:",
              "        name: {type: string}",
              f"        role: {{type: enum, values: [{', '.join(ROLES)}]}}",
              f"        stance: {{type: enum, values: [{', '.join(STANCES)}]}}",
              "  metrics:", "    type: object", "    fields:"]
    lines += [f"      {m}: {{type: integer, min: 0, max: {metric_max(m)}}}" for m in METRICS]
    lines += ["  attributes:", "    type: object", "    fields:"]
    lines += [f"      {a}: {{type: enum, values: [{', '.join(attr_values(a))}]}}" for a in ATTRS]
    lines += ["  flags:", "    type: object", "    fields:"]
    lines += [f"      {b}: {{type: boolean}}" for b in FLAGS]
    lines += ["  tags:", "    type: object", "    fields:"]
    lines += [f"      {t}: {{type: list, items: {{type: enum, values: [{', '.join(TAG_VALUES)}]}}, default: []}}"
              for t in TAGS]
    return "\n".join(lines) + "\n"


def _skewed(rng: random.Random, values: list):
    """Popular values first: a rough Zipf draw, as real customer bases look."""
    weights = [1 / (i + 1) ** 0.8 for i in range(len(values))]
    return rng.choices(values, weights)[0]


def make_profile(rng: random.Random, index: int) -> dict:
    employees = int(min(100_000, max(5, rng.lognormvariate(7, 1.5))))
    profile = {
        "name": f"Synthetic Customer {index:04d}",
        "industry": _skewed(rng, INDUSTRIES),
        "country": _skewed(rng, COUNTRIES),
        "regions": sorted(rng.sample(REGIONS, rng.randint(1, 3))),
        "needs": sorted(rng.sample(NEEDS, rng.randint(2, 8))),
        "employees": employees,
        "sites": max(1, min(400, employees // rng.randint(50, 400))),
        "public": rng.random() < 0.3,
        "scores": {s: rng.randint(1, 5) for s in SCORES},
        "contacts": [{"name": f"Contact {j}", "role": rng.choice(ROLES), "stance": rng.choice(STANCES)}
                     for j in range(rng.randint(1, 4))],
        "metrics": {m: int(rng.random() ** 2 * metric_max(m)) for m in METRICS if rng.random() < 0.85},
        "attributes": {a: _skewed(rng, attr_values(a)) for a in ATTRS},
        "flags": {b: rng.random() < 0.5 for b in FLAGS},
        "tags": {t: sorted(rng.sample(TAG_VALUES, rng.randint(0, 4))) for t in TAGS},
    }
    if rng.random() < 0.8:
        profile["annual_revenue"] = min(5e9, round(employees * rng.uniform(80_000, 400_000), 2))
    if rng.random() < 0.7:
        profile["budget"] = rng.randrange(20_000, 5_000_000, 1000)
    return profile


# --- the limits, counted as `check` counts them ---------------------------------------------------

class Budget:
    """Per stage: non-equality tests per fact, distinct equality values per fact, identical conditions."""

    def __init__(self):
        self.ranges: dict[str, Counter] = defaultdict(Counter)
        self.values: dict[str, dict[str, set]] = defaultdict(lambda: defaultdict(set))
        self.same: dict[str, Counter] = defaultdict(Counter)
        self.children: dict[str, Counter] = defaultdict(Counter)   # first test -> tests after it

    def ranges_left(self, stage: str, path: str) -> int:
        return MAX_RANGE - self.ranges[stage][path]

    def values_left(self, stage: str, path: str, values) -> bool:
        return len(self.values[stage][path] | set(map(repr, values))) <= MAX_EQ_VALUES

    def take(self, stage: str, tests: list[tuple[str, str, int, list]], key: str) -> None:
        for path, kind, count, values in tests:
            if kind == "range":
                self.ranges[stage][path] += count
            else:
                self.values[stage][path] |= set(map(repr, values))
        self.same[stage][key] += 1


# --- rules ---------------------------------------------------------------------------------------

class Generator:
    def __init__(self, rules: int, modules: int, seed: int):
        self.rng = random.Random(seed)
        self.n_rules = rules
        self.n_modules = modules
        self.facts = Facts()
        self.budget = Budget()
        # specificity grows with the pack: extra equality tests per rule
        self.extra_eq = min(1.6, max(0.0, 0.8 * math.log10(max(rules, 10) / 100)))
        self.families, self.modules = self._catalog()
        self.derived_numeric = {"score_total": (0, 25), "size_index": (0, 100), "spend_index": (0, 100)}
        self.derived_text = {"tier": TIERS, "band": BANDS, "risk": RISKS}
        self.segment_flags: dict[str, list[str]] = {}   # derived.segNN -> the values derived
        self.counter = 0

    # catalog ------------------------------------------------------------------------------------
    def _catalog(self):
        rng = self.rng
        n_families = max(4, min(60, self.n_modules // 60))
        families: dict[str, list[dict]] = {}
        modules: list[dict] = []
        for f in range(n_families):
            fid = f"fam{f:02d}"
            families[fid] = []
        for i in range(self.n_modules):
            fid = f"fam{i % n_families:02d}"
            index = len(families[fid])
            module = {"id": f"{fid}-m{index:04d}", "family": fid, "kind": KINDS[index % 4],
                      "billing": BILLINGS[rng.randrange(3)] if index else "monthly",
                      "amount": round(rng.choice([1, 5, 10, 50, 100, 500, 1000, 5000]) * rng.uniform(1, 9), 2),
                      "requires": [], "excludes": []}
            if index:
                module["requires"] = [f"{fid}-m0000"]
            families[fid].append(module)
            modules.append(module)
        for fid, items in families.items():      # two hosting-like options that exclude each other
            if len(items) >= 4:
                items[1]["excludes"].append(items[2]["id"])
                items[2]["excludes"].append(items[1]["id"])
        return families, modules

    def catalog_files(self) -> dict[str, str]:
        files = {}
        for fid, items in self.families.items():
            out = [f"family: {fid}", f"title: Family {fid[3:]}", "modules:"]
            for m in items:
                out += [f"  - id: {m['id']}",
                        f"    name: Module {m['id']}",
                        f"    kind: {m['kind']}",
                        f"    description: Synthetic module {m['id']} of family {fid}.",
                        f"    price: {{amount: {m['amount']}, currency: USD, per: unit, billing: {m['billing']}}}"]
                if m["requires"]:
                    out.append(f"    requires: [{', '.join(m['requires'])}]")
                if m["excludes"]:
                    out.append(f"    excludes: [{', '.join(m['excludes'])}]")
                out.append(f"    benefits: [Benefit of {m['id']}]")
            files[f"catalog/{fid}.yaml"] = "\n".join(out) + "\n"
        return files

    # conditions ---------------------------------------------------------------------------------
    def _available(self, stage: str) -> dict[str, list]:
        """Facts a condition of this stage may test, by kind."""
        numeric = dict(self.facts.numeric)
        categorical = dict(self.facts.categorical)
        lists = dict(self.facts.lists)
        if stage != "segment" or self.counter > 0:
            numeric.update({f"derived.{k}": v + (False,) for k, v in self.derived_numeric.items()})
        if stage != "segment":
            categorical.update({f"derived.{k}": v for k, v in self.derived_text.items()})
            categorical.update({f"derived.{k}": v for k, v in self.segment_flags.items()})
        if stage in ("pricing", "delivery", "approval"):
            numeric.update({"solution.first_year": (0, 2e6, False), "solution.total_one_time": (0, 1e6, False),
                            "solution.annual_recurring": (0, 1e6, False), "solution.line_count": (0, 60, True)})
            lists.update({"solution.modules": [m["id"] for m in self.modules[:400]],
                          "solution.families": list(self.families)})
        if stage == "approval":
            numeric["solution.max_discount"] = (0, 40, False)
        return {"numeric": numeric, "categorical": categorical, "lists": lists}

    def _threshold(self, low: float, high: float, integer: bool) -> float:
        span = high - low
        value = low + span * self.rng.random() ** 2
        if integer or span > 1000:
            value = int(round(value))
        else:
            value = round(value, 2)
        return min(max(value, low), high)

    def _range_test(self, stage: str, path: str, spec) -> tuple[dict, list] | None:
        low, high, integer = spec
        left = self.budget.ranges_left(stage, path)
        rng = self.rng
        if left < 1:
            return None
        a = self._threshold(low, high, integer)
        if left >= 2 and rng.random() < 0.25:
            b = self._threshold(low, high, integer)
            lo, hi = sorted((a, b))
            if hi - lo < (1 if integer else 0.01):
                return None
            return {"gte": lo, "lt": hi}, [(path, "range", 2, [])]
        op = rng.choice(["gte", "gt", "lt", "lte"])
        if op in ("lt",) and a <= low or op in ("gt",) and a >= high:
            op = "gte" if op == "lt" else "lte"
        return {op: a}, [(path, "range", 1, [])]

    def _eq_test(self, stage: str, path: str, vocab: list) -> tuple[object, list] | None:
        rng = self.rng
        roll = rng.random()
        if roll < 0.7 or len(vocab) < 4:
            value = _skewed(rng, vocab)
            if not self.budget.values_left(stage, path, [value]):
                return None
            return value, [(path, "eq", 0, [value])]
        if roll < 0.92:
            values = sorted(rng.sample(vocab, rng.randint(2, min(4, len(vocab)))))
            if not self.budget.values_left(stage, path, values):
                return None
            return {"in": values}, [(path, "eq", 0, values)]
        if roll < 0.97:
            if self.budget.ranges_left(stage, path) < 1:
                return None
            return {"ne": _skewed(rng, vocab)}, [(path, "range", 1, [])]
        values = sorted(rng.sample(vocab, 2))
        if self.budget.ranges_left(stage, path) < 2:
            return None
        return {"not_in": values}, [(path, "range", 2, [])]

    def _list_test(self, stage: str, path: str, vocab: list) -> tuple[dict, list] | None:
        rng = self.rng
        roll = rng.random()
        if roll < 0.7:
            values, op = [_skewed(rng, vocab)], "contains"
        elif roll < 0.9:
            values, op = sorted(rng.sample(vocab, min(3, len(vocab)))), "contains_any"
        else:
            values, op = sorted(rng.sample(vocab, 2)), "contains_all"
        if self.budget.ranges_left(stage, path) < len(values):
            return None
        return {op: values[0] if op == "contains" else values}, [(path, "range", len(values), [])]

    def _test(self, stage: str, kind: str, facts: dict, used: set) -> tuple[str, object, list] | None:
        rng = self.rng
        choices = [p for p in facts[kind] if p not in used]
        for _ in range(6):
            if not choices:
                return None
            path = rng.choice(choices)
            if kind == "numeric":
                made = self._range_test(stage, path, facts[kind][path])
            elif kind == "categorical":
                made = self._eq_test(stage, path, facts[kind][path])
            else:
                made = self._list_test(stage, path, facts[kind][path])
            if made is not None:
                return path, made[0], made[1]
        return None

    def _leads(self, stage: str) -> dict[str, list[str]]:
        """The facts a rule's first test may compare. durable-rules builds a tree of tests in
        condition order and hangs when one test has more than 512 different tests after it
        (the root: every different first test of the stage), so first tests come from a
        bounded set of segment-like facts, and each of them from at most LEAD_CHILDREN rules."""
        leads = {"profile.industry": INDUSTRIES,
                 **{f"profile.attributes.{a}": attr_values(a) for a in ("a01", "a02", "a03", "a04")}}
        if stage != "segment":
            leads.update({f"derived.{k}": v for k, v in self.derived_text.items()})
            leads.update({f"derived.{k}": v for k, v in self.segment_flags.items()})
        return leads

    def _lead(self, stage: str) -> tuple[str, object] | None:
        rng = self.rng
        leads = self._leads(stage)
        for _ in range(50):
            path = rng.choice(list(leads))
            value = rng.choice(leads[path])
            if self.budget.children[stage][(path, value)] < LEAD_CHILDREN and \
                    self.budget.values_left(stage, path, [value]):
                return path, value
        return None

    def condition(self, stage: str) -> dict | None:
        """A rule's `when`, or None when the budget has no room left for one."""
        rng = self.rng
        facts = self._available(stage)
        for _attempt in range(20):
            lead = self._lead(stage)
            if lead is None:
                return None
            when: dict = {lead[0]: lead[1]}
            counted: list = [(lead[0], "eq", 0, [lead[1]])]
            used: set = {lead[0]}
            n_eq = int(self.extra_eq) + (rng.random() < self.extra_eq % 1)
            plan = ["categorical"] * n_eq
            if rng.random() < 0.6:
                plan.append("numeric")
            if rng.random() < 0.35:
                plan.append("lists")
            if not plan:
                plan.append(rng.choice(["numeric", "lists", "categorical"]))
            for kind in plan:
                made = self._test(stage, kind, facts, used)
                if made is None:
                    continue
                path, test, count = made
                used.add(path)
                when[path] = test
                counted += count
            extra = rng.random()
            if extra < 0.04:
                when["profile.budget"] = {"exists": rng.random() < 0.5}
            elif extra < 0.06 and self.budget.ranges_left(stage, "profile.country") >= 1 \
                    and "profile.country" not in used:
                when["profile.country"] = {"matches": rng.choice(["D[EK]|N.", "[A-C].", "S[EGK]"])}
                counted.append(("profile.country", "range", 1, []))
            elif extra < 0.10:
                made = [self._test(stage, "categorical", facts, used | set(when)) for _ in range(2)]
                if all(made) and made[0][0] != made[1][0]:
                    when["any"] = [{made[0][0]: made[0][1]}, {made[1][0]: made[1][1]}]
                    counted += made[0][2] + made[1][2]
            elif extra < 0.13:
                path = rng.choice([p for p in self.facts.booleans if p not in when])
                if self.budget.ranges_left(stage, path) >= 1:
                    when["not"] = {path: True}
                    counted.append((path, "range", 1, []))
            key = json.dumps(when, sort_keys=True)
            if self.budget.same[stage][key] >= MAX_SAME:
                continue
            self.budget.take(stage, counted, key)
            self.budget.children[stage][lead] += 1 + len(when)    # a bound on its tests after it
            return when
        return None

    # actions ------------------------------------------------------------------------------------
    def _module(self) -> dict:
        return self.modules[int(len(self.modules) * self.rng.random() ** 1.5)]

    def actions(self, stage: str, index: int) -> list[dict]:
        rng = self.rng
        if stage == "segment":
            name = f"seg{index % 40:02d}"
            value = f"s{rng.randrange(5)}"
            self.segment_flags.setdefault(name, [])
            if value not in self.segment_flags[name]:
                self.segment_flags[name].append(value)
            out = [{"derive": {name: value}}]
            if rng.random() < 0.1:
                out.append({"note": {"section": "executive-summary",
                                     "text": f"Segment {name} {value} for {{profile.name}}"}})
            return out
        if stage == "solution":
            roll = rng.random()
            module = self._module()["id"]
            if roll < 0.75:
                quantity = rng.choice(["1", "profile.sites", "max(1, ceil(profile.employees / 50))",
                                       "profile.sites * 2", "derived.size_index + 1"])
                item = {"include": module, "quantity": quantity,
                        "reason": f"Needed for {{profile.sites}} sites ({module})"}
                return [item] if quantity == "1" else [item]
            if roll < 0.93:
                return [{"recommend": module, "reason": "Worth adding"}]
            if roll < 0.97:
                return [{"exclude": module, "reason": "Not for this account"}]
            return [{"warn": "Check the sizing of {profile.employees} employees"}]
        if stage == "pricing":
            roll = rng.random()
            target = rng.choice(["total", f"family:{rng.choice(list(self.families))}", self._module()["id"]])
            kind = "surcharge" if roll < 0.12 else "discount"
            if roll > 0.95:
                return [{kind: {"amount": rng.randrange(100, 5000, 100), "applies_to": target,
                                "reason": "Volume adjustment"}}]
            return [{kind: {"percent": rng.randint(1, 8), "applies_to": target, "reason": f"{kind} for segment"}}]
        if stage == "delivery":
            roll = rng.random()
            if roll < 0.4:
                return [{"service_level": {rng.choice(SL_KEYS): rng.choice([1, 2, 4, 8, 24, 99.5, 99.9])}}]
            if roll < 0.75:
                return [{"team": {"role": rng.choice(TEAM_ROLES), "responsibility": "Owns this part"}}]
            return [{"note": {"section": rng.choice(NOTE_SECTIONS),
                              "text": "Delivery for {profile.name} across {profile.sites} sites"}}]
        return [{"require_approval": {"role": rng.choice(APPROVERS),
                                      "reason": "First year of {solution.first_year} needs sign-off"}}]

    # stages ---------------------------------------------------------------------------------------
    def fixed_segment_rules(self) -> list[dict]:
        return [
            {"id": "seg-score-total", "priority": 1000, "when": {},
             "then": [{"derive": {"score_total": {"expr": "2 * profile.scores.value_contribution + "
                                                          "profile.scores.loyalty + profile.scores.growth"
                                                          " + profile.scores.strategic_fit - "
                                                          "profile.scores.financial_risk"}}}]},
            {"id": "seg-size-index", "priority": 1000, "when": {},
             "then": [{"derive": {"size_index": {"expr": "min(100, ceil(profile.employees / 1000) + profile.sites)"}}}]},
            {"id": "seg-spend-index", "priority": 1000, "when": {"profile.budget": {"exists": True}},
             "then": [{"derive": {"spend_index": {"expr": "min(100, floor(profile.budget / 50000))"}}}]},
            {"id": "seg-tier-strategic", "priority": 900,
             "when": {"derived.score_total": {"gte": 18}, "profile.scores.financial_risk": {"lte": 3}},
             "then": [{"derive": {"tier": "strategic"}}]},
            {"id": "seg-tier-key", "priority": 900, "when": {"derived.score_total": {"gte": 12, "lt": 18}},
             "then": [{"derive": {"tier": "key"}}]},
            {"id": "seg-tier-growth", "priority": 900,
             "when": {"derived.score_total": {"lt": 12}, "profile.scores.growth": {"gte": 4}},
             "then": [{"derive": {"tier": "growth"}}]},
            {"id": "seg-tier-standard", "priority": 890, "when": {"derived.tier": {"exists": False}},
             "then": [{"derive": {"tier": "standard"}}]},
            {"id": "seg-band-small", "priority": 900, "when": {"derived.size_index": {"lt": 5}},
             "then": [{"derive": {"band": "small"}}]},
            {"id": "seg-band-medium", "priority": 900, "when": {"derived.size_index": {"gte": 5, "lt": 20}},
             "then": [{"derive": {"band": "medium"}}]},
            {"id": "seg-band-large", "priority": 900, "when": {"derived.size_index": {"gte": 20, "lt": 60}},
             "then": [{"derive": {"band": "large"}}]},
            {"id": "seg-band-enterprise", "priority": 900, "when": {"derived.size_index": {"gte": 60}},
             "then": [{"derive": {"band": "enterprise"}}]},
            {"id": "seg-risk-high", "priority": 900, "when": {"profile.scores.financial_risk": {"gte": 4}},
             "then": [{"derive": {"risk": "high"}}]},
            {"id": "seg-risk-low", "priority": 900, "when": {"profile.scores.financial_risk": {"lte": 1}},
             "then": [{"derive": {"risk": "low"}}]},
            {"id": "seg-risk-normal", "priority": 890, "when": {"derived.risk": {"exists": False}},
             "then": [{"derive": {"risk": "normal"}}]},
        ]

    def fixed_solution_rules(self) -> list[dict]:
        cores = [items[0]["id"] for items in self.families.values()]
        return [{"id": "sol-core-base", "priority": 1000, "when": {},
                 "then": [{"include": cores[0], "quantity": "profile.sites",
                           "reason": "The platform at all {profile.sites} sites"}]}]

    def stage_rules(self) -> dict[str, list[dict]]:
        rng = self.rng
        counts = {s: max(1, round(self.n_rules * share)) for s, share in STAGE_SHARE.items()}
        counts["solution"] += self.n_rules - sum(counts.values())
        out: dict[str, list[dict]] = {}
        for stage, count in counts.items():
            rules = {"segment": self.fixed_segment_rules(), "solution": self.fixed_solution_rules()
                     }.get(stage, [])
            rules = rules[:count]
            self.counter = 0
            while len(rules) < count:
                when = self.condition(stage)
                if when is None:
                    raise SystemExit(f"the {stage} stage has no room left for rule {len(rules)}: "
                                     "too many rules for the facts available")
                index = len(rules)
                rule = {"id": f"{stage[:3]}-{index:05d}", "when": when, "then": self.actions(stage, index)}
                if rng.random() < 0.3:
                    rule["priority"] = rng.choice([10, 50, 100, 200, 500])
                if rng.random() < 0.01:
                    rule["draft"] = True
                elif rng.random() < 0.02:
                    rule["effective"] = rng.choice([{"from": "2020-01-01"}, {"until": "2099-12-31"},
                                                    {"from": "2030-01-01"}])
                rules.append(rule)
                self.counter += 1
            out[stage] = rules
        return out

    def rule_files(self) -> dict[str, str]:
        files = {}
        for stage, rules in self.stage_rules().items():
            for part, start in enumerate(range(0, len(rules), RULES_PER_FILE)):
                name = f"{stage}-{part:03d}"
                body = {"ruleset": name, "stage": stage, "description": f"Synthetic {stage} rules",
                        "rules": rules[start:start + RULES_PER_FILE]}
                files[f"rules/{name}.yaml"] = _yaml(body)
        return files


def _yaml(value, indent: int = 0) -> str:
    """Block YAML for mappings and lists of rules; flow YAML (JSON-compatible) for the leaves."""
    pad = " " * indent
    if isinstance(value, dict) and value:
        out = []
        for key, item in value.items():
            if isinstance(item, (dict, list)) and item and _deep(item):
                out.append(f"{pad}{key}:\n{_yaml(item, indent + 2)}")
            else:
                out.append(f"{pad}{key}: {_flow(item)}")
        return "\n".join(out) + ("\n" if indent == 0 else "")
    if isinstance(value, list):
        out = []
        for item in value:
            text = _yaml(item, indent + 2).lstrip()
            out.append(f"{pad}- {text}")
        return "\n".join(out)
    return pad + _flow(value)


def _deep(value) -> bool:
    return isinstance(value, list) and any(isinstance(v, dict) and "id" in v for v in value) or \
        isinstance(value, dict) and "id" in value


def _flow(value) -> str:
    if isinstance(value, str):
        return json.dumps(value)
    return json.dumps(value, ensure_ascii=False)


def generate(out: Path, rules: int, modules: int, profiles: int = 40, seed: int = 1) -> Path:
    """Write a pack to `out` (replacing what is there); returns `out`."""
    out = Path(out)
    if out.exists():
        shutil.rmtree(out)
    gen = Generator(rules, modules, seed)
    files = {"rules/profile.yaml": profile_yaml(), **gen.catalog_files(), **gen.rule_files()}
    rng = random.Random(seed + 1)
    made = [make_profile(rng, i) for i in range(profiles)]
    tests = [{"name": f"Synthetic customer {i}", "profile": p, "expect": {}} for i, p in enumerate(made[:3])]
    files["rules/tests/generated.yaml"] = "".join(
        f"- name: {json.dumps(t['name'])}\n  profile: {json.dumps(t['profile'])}\n  expect: {{}}\n"
        for t in tests)
    for rel, text in files.items():
        path = out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    (out / "profiles.json").write_text(json.dumps(made, indent=1), encoding="utf-8")
    (out / "GENERATED").write_text(json.dumps({"rules": rules, "modules": modules,
                                               "profiles": profiles, "seed": seed}) + "\n")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--rules", type=int, default=1000)
    parser.add_argument("--modules", type=int, default=500)
    parser.add_argument("--profiles", type=int, default=40)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    generate(args.out, args.rules, args.modules, args.profiles, args.seed)
    print(f"wrote {args.out}: {args.rules} rules, {args.modules} modules, {args.profiles} profiles")


if __name__ == "__main__":
    main()
