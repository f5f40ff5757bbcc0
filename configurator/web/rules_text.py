"""Rule conditions and actions in words, for solution leads and product managers."""
from __future__ import annotations

from typing import Any

from ..content.model import AllOf, AnyOf, ContentPack, Not, Rule, Test

OPS = {"eq": "is", "ne": "is not", "lt": "is below", "lte": "is at most", "gt": "is above",
       "gte": "is at least", "in": "is one of", "not_in": "is none of",
       "contains": "includes", "contains_any": "includes any of",
       "contains_all": "includes all of", "matches": "matches the pattern"}


def fact_label(pack: ContentPack | None, path: str) -> str:
    namespace, _, rest = path.partition(".")
    if namespace == "profile" and pack is not None:
        node, _ = pack.profile.field_at(rest)
        if node is not None:
            return node.title
    if namespace == "derived":
        return f"derived {rest.replace('_', ' ')}"
    if namespace == "solution":
        return f"the solution's {rest.replace('_', ' ')}"
    return path


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple)):
        return ", ".join(_value(v) for v in value)
    return str(value)


def condition_words(condition: Any, pack: ContentPack | None) -> str:
    if isinstance(condition, Test):
        label = fact_label(pack, condition.path)
        if condition.op == "exists":
            return f"{label} is {'given' if condition.value else 'not given'}"
        return f"{label} {OPS.get(condition.op, condition.op)} {_value(condition.value)}"
    if isinstance(condition, AllOf):
        if not condition.items:
            return "always"
        return " and ".join(_grouped(item, pack) for item in condition.items)
    if isinstance(condition, AnyOf):
        return "either " + " or ".join(_grouped(item, pack) for item in condition.items)
    if isinstance(condition, Not):
        return f"not ({condition_words(condition.item, pack)})"
    return str(condition)


def _grouped(condition: Any, pack: ContentPack | None) -> str:
    text = condition_words(condition, pack)
    return f"({text})" if isinstance(condition, (AllOf, AnyOf)) and len(condition.items) > 1 \
        else text


def rule_index(pack: ContentPack | None) -> dict[str, Rule]:
    return {rule.id: rule for rule in pack.rules} if pack is not None else {}


def rule_source(pack: ContentPack, rule: Rule) -> str:
    """The rule's YAML as the product manager wrote it: from its line to the next rule's."""
    data = pack.files.get(rule.file)
    if data is None or rule.line is None:
        return ""
    lines = data.decode("utf-8", "replace").splitlines()
    starts = sorted(r.line for r in pack.rules if r.file == rule.file and r.line)
    later = [s for s in starts if s > rule.line]
    end = later[0] - 1 if later else len(lines)
    chunk = lines[rule.line - 1:end]
    while chunk and not chunk[-1].strip():
        chunk.pop()
    return "\n".join(chunk)
