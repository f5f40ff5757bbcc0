"""What each fact path holds, so rule conditions and expressions can be type-checked before use;
and the vocabulary of solution facts, `SOLUTION_FACTS`, defined here once: the `solution.*` facts
a rule may read, which the engine computes at every stage's end (engine/solution.py)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from .document import TotalKey
from .profile import FieldSpec, ProfileSpec


@dataclass(frozen=True)
class SolutionFact:
    """One `solution.NAME` fact: its type, what a list's items or a mapping's values are, and the
    document total it mirrors."""
    type: Literal["list", "mapping", "integer", "number"]
    items: Literal["module", "family", "string", "integer", ""] = ""
    total: TotalKey | None = None

    def empty(self) -> Any:
        """Its value before the first stage has built a solution."""
        return {"list": [], "mapping": {}}.get(self.type, 0)


# name -> fact, in the order the engine writes them; a mapping is read per module:
# `solution.quantities.MODULE`
SOLUTION_FACTS: dict[str, SolutionFact] = {
    "modules": SolutionFact("list", "module"),          # the lines, in catalog order
    "families": SolutionFact("list", "family"),         # their families, sorted
    "excluded": SolutionFact("list", "module"),         # sorted
    "recommended": SolutionFact("list", "module"),      # sorted
    "quantities": SolutionFact("mapping", "integer"),   # module -> quantity
    "line_count": SolutionFact("integer"),
    "total_one_time": SolutionFact("number", total="one_time"),
    "total_monthly": SolutionFact("number", total="monthly"),
    "total_yearly": SolutionFact("number", total="yearly"),
    "annual_recurring": SolutionFact("number", total="annual_recurring"),
    "first_year": SolutionFact("number", total="first_year"),
    "max_discount": SolutionFact("number"),             # the largest percent on any line
    "approvals": SolutionFact("list", "string"),        # the roles asked for so far, sorted
}


@dataclass(frozen=True)
class FactType:
    type: str                           # a profile type (profile.TYPES): string, integer, ...
    values: tuple[str, ...] = ()        # vocabulary of an enum
    items: FactType | None = None       # item type of a list
    fields: tuple[str, ...] = ()        # field names of an object

    @property
    def numeric(self) -> bool:
        return self.type in ("integer", "number")


def _from_field(spec: FieldSpec) -> FactType:
    return FactType(spec.type, spec.values, _from_field(spec.items) if spec.items else None,
                    tuple(spec.fields))


@dataclass
class FactTypes:
    profile: ProfileSpec
    module_ids: tuple[str, ...]
    families: tuple[str, ...]
    derived: dict[str, FactType]
    _resolved: dict[str, tuple[FactType | None, str]] = field(
        default_factory=dict, init=False, repr=False, compare=False)

    def resolve(self, path: str) -> tuple[FactType | None, str]:
        """The type at `path`, or None and a sentence saying what is wrong."""
        try:
            return self._resolved[path]
        except KeyError:
            found = self._resolved[path] = self._resolve(path)
            return found

    def _resolve(self, path: str) -> tuple[FactType | None, str]:
        namespace, _, rest = path.partition(".")
        if not rest:
            return None, f"`{path}` is not a fact path; write profile.FIELD, derived.NAME or solution.X"
        if namespace == "profile":
            spec, through_list = self.profile.field_at(rest)
            if spec is None:
                return None, f"`{path}` is not declared in rules/profile.yaml"
            ftype = _from_field(spec)
            if through_list:   # one value per item of a list of objects
                ftype = ftype if ftype.type == "list" else FactType("list", items=ftype)
            return ftype, ""
        if namespace == "derived":
            if rest not in self.derived:
                return None, f"`{path}` is never set by a `derive` action"
            return self.derived[rest], ""
        if namespace == "solution":
            fact = SOLUTION_FACTS.get(rest)
            if fact is not None and fact.type != "mapping":
                return self._solution_type(fact), ""
            head, _, module = rest.partition(".")
            fact = SOLUTION_FACTS.get(head)
            if fact is not None and fact.type == "mapping" and module:
                if module not in self.module_ids:
                    return None, f"`{path}` names module `{module}`, which is not in the catalog"
                return FactType(fact.items), ""
            names = ", ".join(sorted(whole_solution_facts())) + "".join(
                f", {name}.MODULE" for name, fact in SOLUTION_FACTS.items()
                if fact.type == "mapping")
            return None, f"`{path}` is not a solution fact; there are: {names}"
        return None, f"`{path}` starts with `{namespace}`; facts start with profile., derived. or solution."

    def _solution_type(self, fact: SolutionFact) -> FactType:
        if fact.type != "list":
            return FactType(fact.type)
        items = {"module": FactType("enum", self.module_ids),
                 "family": FactType("enum", self.families)}.get(fact.items, FactType(fact.items))
        return FactType("list", items=items)


def whole_solution_facts() -> list[str]:
    """The names of the solution facts a rule reads whole, in order (a mapping is read per
    module: `solution.quantities.MODULE`)."""
    return [name for name, fact in SOLUTION_FACTS.items() if fact.type != "mapping"]


def literal_type(value: Any) -> FactType | None:
    if isinstance(value, bool):
        return FactType("boolean")
    if isinstance(value, (int, float)):
        return FactType("number")
    if isinstance(value, str):
        return FactType("string", (value,))
    if isinstance(value, list):
        return FactType("list", items=FactType("string"))
    return None
