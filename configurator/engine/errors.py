"""What the rules engine refuses, in a product manager's terms: `EngineError`, and the meaning
of each durable-rules error code it carries."""
from __future__ import annotations

import re

# durable-rules error codes (src/rules/rules.h) in a product manager's terms
ERROR_MEANINGS = {
    106: "too many rules in one stage",
    107: "too many `in`/`any` lists ending with the same test",
    108: "too many rules with the same condition",
    113: "a condition with too many parts",
    302: "a profile with too many facts",
    303: "too many different comparisons on one fact",
    501: "a `matches` pattern the engine cannot read",
    502: "a `matches` pattern that is too complex",
    503: "a `matches` pattern that is too complex",
    504: "a `matches` pattern that is too complex",
    505: "a `matches` pattern that is too complex",
    506: "a `matches` pattern that is too complex",
    507: "a `matches` pattern that is too complex",
    508: "a `matches` pattern the engine cannot read",
}


class EngineError(RuntimeError):
    """durable-rules refused a ruleset or failed during an evaluation."""

    def __init__(self, message: str, code: int | None = None):
        self.code = code
        super().__init__(message)

    @classmethod
    def from_durable(cls, context: str, exc: Exception) -> "EngineError":
        match = re.search(r"error code: (\d+)", str(exc))
        code = int(match.group(1)) if match else None
        meaning = ERROR_MEANINGS.get(code or 0, "an input it cannot handle")
        suffix = f" (error {code})" if code else f" ({exc})"
        return cls(f"the rules engine refused {context}: {meaning}{suffix}", code)
