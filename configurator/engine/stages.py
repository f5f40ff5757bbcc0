"""A content pack compiled for durable-rules, stage by stage: the rule definitions of each stage
(`compile_pack`), and what each stage's world fact carries (`StagePlan`)."""
from __future__ import annotations

from ..content.model import STAGES, ContentPack, Rule
from ..content.problems import Problem
from ..gcpause import gc_paused
from .compile import FlagRegistry, NotCompilable, _comparisons, compile_condition
from .limits import limit_problems, world_problems
from .world import Shape


def compile_pack(pack: ContentPack, include_drafts: bool = True
                 ) -> tuple[dict[str, dict[str, dict]], FlagRegistry, list[Problem]]:
    """Durable rule definitions per stage, and every problem durable-rules would have with them."""
    with gc_paused():
        return _compile_pack(pack, include_drafts)


def _compile_pack(pack: ContentPack, include_drafts: bool
                  ) -> tuple[dict[str, dict[str, dict]], FlagRegistry, list[Problem]]:
    flags = FlagRegistry()
    stages: dict[str, dict[str, dict]] = {}
    problems: list[Problem] = []
    for stage in STAGES:
        rules = [r for r in pack.stage_rules(stage) if include_drafts or not r.draft]
        compiled: dict[str, dict] = {}
        for position, rule in enumerate(rules):
            try:
                expression = compile_condition(rule.when, flags)
            except NotCompilable as exc:
                problems.append(Problem(rule.file, exc.test.line or rule.line, str(exc),
                                        "rewrite the condition without `not` around it"))
                continue
            # durable runs lower `pri` first: the firing order becomes the priority
            compiled[rule.id] = {"all": [{"m": expression}], "pri": position}
        problems += limit_problems(stage, rules, {k: v["all"][0]["m"] for k, v in compiled.items()},
                                   flags)
        stages[stage] = compiled
    problems += world_problems(pack.profile.fields, flags)
    return stages, flags, problems


class StagePlan:
    """What one stage's rules compare: the world fact of a stage carries only these derived and
    solution facts (and the profile facts any stage compares), so durable-rules reads less, and
    a derived fact no rule of the stage compares is no reason to assert the world again."""

    def __init__(self, stage: str, rules: list[Rule], compiled: dict[str, dict], flags: FlagRegistry,
                 own_profile: bool = False, attributes: dict[str, frozenset] | None = None):
        self.stage = stage
        self.rules = rules
        # own_profile: the world carries only the profile facts these rules compare (a part of a
        # split stage); otherwise those any stage compares, serialised once per configuration
        self.own_profile = own_profile
        if attributes is None:
            attributes = attributes_of(compiled)
        compared = set().union(*(attributes[rule_id] for rule_id in compiled))
        paths = sorted(a for a in compared if a != "t" and not a.startswith("has."))
        self.paths: dict[str, list[str]] = {ns: [p for p in paths if p.startswith(ns + ".")]
                                            for ns in ("profile", "derived", "solution")}
        self.shapes = {ns: Shape(items) for ns, items in self.paths.items()}
        by_flag = {flag: path for path, flag in flags.flags.items()}
        used = sorted(a[4:] for a in compared if a.startswith("has."))
        self.flags: dict[str, list[tuple[str, str]]] = {ns: [] for ns in ("profile", "derived", "solution")}
        for flag in used:
            path = by_flag[flag]
            self.flags[path.split(".")[0]].append((path, flag))


def attributes_of(compiled: dict[str, dict]) -> dict[str, frozenset]:
    """The facts (and "has" flags) each compiled rule compares."""
    return {rule_id: frozenset(a for a, _, _ in _comparisons(definition["all"][0]["m"]))
            for rule_id, definition in compiled.items()}
