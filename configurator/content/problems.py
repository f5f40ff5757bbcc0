"""Problems found in a content pack, each naming the file and line and saying how to fix it."""
from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any

MAX_MESSAGE_CHARS = 1_000


@dataclass(frozen=True)
class Problem:
    file: str
    line: int | None
    message: str
    hint: str = ""
    severity: str = "error"  # "error" stops the pack from loading; "warning" does not

    def __post_init__(self) -> None:
        # a message quotes what it found; a hostile file can make that a megabyte long
        for name, limit in (("message", MAX_MESSAGE_CHARS), ("hint", MAX_MESSAGE_CHARS),
                            ("file", 500)):
            text = getattr(self, name)
            if isinstance(text, str) and len(text) > limit:
                object.__setattr__(self, name, f"{text[:limit]}... ({len(text):,} characters)")

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        text = f"{where}: {self.severity}: {self.message}"
        return f"{text}\n    fix: {self.hint}" if self.hint else text

    def as_dict(self) -> dict:
        return {"file": self.file, "line": self.line, "severity": self.severity,
                "message": self.message, "hint": self.hint}


class ContentError(Exception):
    """A content pack that cannot be used; `problems` lists every error found."""

    def __init__(self, problems: list[Problem]):
        self.problems = [p for p in problems if p.severity == "error"]
        super().__init__("\n".join(str(p) for p in self.problems) or "content pack is not usable")


@dataclass
class ProblemLog:
    """Collects problems for one file while it is being read."""
    file: str
    problems: list[Problem] = field(default_factory=list)

    def error(self, line: int | None, message: str, hint: str = "") -> None:
        self.problems.append(Problem(self.file, line, message, hint))

    def warning(self, line: int | None, message: str, hint: str = "") -> None:
        self.problems.append(Problem(self.file, line, message, hint, "warning"))


def suggest(word: Any, choices: Any) -> str:
    """"did you mean `x`?" for the closest of `choices`, or ""."""
    close = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1, cutoff=0.6)
    return f"did you mean `{close[0]}`?" if close else ""
