"""What each fact path holds, so rule conditions and expressions can be type-checked before use."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .profile import FieldSpec, ProfileSpec

SOLUTION_NUMBERS = ("total_one_time", "total_monthly", "total_yearly", "annual_recurring",
                    "first_year", "max_discount")


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
            modules = FactType("enum", self.module_ids)
            fixed = {
                "modules": FactType("list", items=modules),
                "excluded": FactType("list", items=modules),
                "recommended": FactType("list", items=modules),
                "families": FactType("list", items=FactType("enum", self.families)),
                "approvals": FactType("list", items=FactType("string")),
                "line_count": FactType("integer"),
                **{name: FactType("number") for name in SOLUTION_NUMBERS},
            }
            if rest in fixed:
                return fixed[rest], ""
            head, _, module = rest.partition(".")
            if head == "quantities" and module:
                if module not in self.module_ids:
                    return None, f"`{path}` names module `{module}`, which is not in the catalog"
                return FactType("integer"), ""
            names = ", ".join(sorted(fixed)) + ", quantities.MODULE"
            return None, f"`{path}` is not a solution fact; there are: {names}"
        return None, f"`{path}` starts with `{namespace}`; facts start with profile., derived. or solution."


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
