"""`matches` patterns: written in the familiar Python style, run in durable-rules' own dialect.

durable-rules matches whole values with a DFA (no backtracking) and escapes with `%` instead of
`\\`; Python's `\\d+` would silently never match there. We accept the subset both understand
and translate it, and reject the rest with a message.
"""
from __future__ import annotations

import re

ESCAPES = {"d": "%d", "w": "%w", "s": "%s"}
SPECIAL = set(".|?*+()[]{}%")
MAX_LENGTH = 200


class RegexError(ValueError):
    pass


def translate(pattern: str) -> str:
    """The durable-rules form of `pattern`, or RegexError."""
    if len(pattern) > MAX_LENGTH:
        raise RegexError(f"longer than {MAX_LENGTH} characters")
    try:
        re.compile(pattern)
    except re.error as exc:
        raise RegexError(str(exc)) from None
    if pattern.startswith("^"):
        pattern = pattern[1:]
    if pattern.endswith("$") and not pattern.endswith("\\$"):
        pattern = pattern[:-1]
    out = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            if i + 1 >= len(pattern):
                raise RegexError("ends with a lone backslash")
            nxt = pattern[i + 1]
            if nxt in ESCAPES:
                out.append(ESCAPES[nxt])
            elif nxt in SPECIAL or nxt in "\\-^$/":
                out.append("%" + nxt if nxt in SPECIAL else nxt)
            else:
                raise RegexError(f"\\{nxt} is not supported (only \\d \\w \\s and escaped symbols)")
            i += 2
            continue
        if ch == "(" and pattern[i + 1:i + 2] == "?":
            raise RegexError("(?...) groups, look-arounds and flags are not supported")
        if ch in "^$":
            raise RegexError(f"`{ch}` is only allowed at the very start or end (matches are whole-value)")
        if ch == "%":
            out.append("%%")
        else:
            out.append(ch)
        i += 1
    if not out:
        raise RegexError("is empty")
    return "".join(out)


def python_pattern(pattern: str) -> re.Pattern:
    """The same pattern for Python-side explanations (whole-value match)."""
    return re.compile(pattern)
