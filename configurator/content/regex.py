"""`matches` patterns: written in the familiar Python style, run in durable-rules' own dialect.

durable-rules matches whole values with a DFA (no backtracking, so no catastrophic patterns) and
escapes with `%` instead of `\\`; Python's `\\d+` would silently never match there. We accept the
subset that means the same in both and translate it; the rest is refused with a message.
"""
from __future__ import annotations

import re

ESCAPES = {"d": "%d", "s": "%s"}          # ASCII digits and spaces, in both dialects
SPECIAL = set(".|?*+()[]{}%")             # escaped with % in durable-rules
MAX_LENGTH = 200
MAX_REPEAT = 100                          # durable-rules' largest {m,n}
INTERVAL = re.compile(r"\{(\d+)(?:,(\d+))?\}")


class RegexError(ValueError):
    pass


def translate(pattern: str) -> str:
    """The durable-rules form of `pattern`, or RegexError saying what is not supported."""
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
    out: list[str] = []
    in_class = False
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            nxt = pattern[i + 1] if i + 1 < len(pattern) else ""
            if nxt in ESCAPES:
                out.append(ESCAPES[nxt])
            elif nxt == "w":
                raise RegexError("\\w is not supported (the rules engine's letters differ from "
                                 "Python's); list the characters, e.g. [A-Za-z0-9_]")
            elif nxt == "-" and in_class:
                raise RegexError("a literal - inside [...] is not supported; write (-|[...]) instead")
            elif nxt in SPECIAL:
                out.append("%" + nxt)
            elif nxt in "-/^$\\" and nxt:
                out.append(nxt if nxt != "\\" else "\\")
            else:
                raise RegexError(f"\\{nxt} is not supported (only \\d, \\s and escaped symbols)")
            i += 2
            continue
        if in_class:
            if ch == "]":
                in_class = False
            elif ch == "-" and (pattern[i - 1] in "[^" or pattern[i + 1:i + 2] == "]"):
                raise RegexError("a literal - inside [...] is not supported; write (-|[...]) instead")
            out.append("%%" if ch == "%" else ch)
            i += 1
            continue
        if ch == "[":
            in_class = True
            out.append(ch)
            if pattern[i + 1:i + 2] == "^":
                out.append("^")
                i += 1
        elif ch == "{":
            match = INTERVAL.match(pattern, i)
            if not match:
                raise RegexError("repeat counts must be {n} or {m,n}, e.g. a{0,2}")
            low, high = int(match.group(1)), int(match.group(2) or match.group(1))
            if low > high or high > MAX_REPEAT:
                raise RegexError(f"repeat counts must satisfy m <= n <= {MAX_REPEAT}")
            out.append(match.group(0))
            i = match.end()
            continue
        elif ch == "(" and pattern[i + 1:i + 2] == "?":
            raise RegexError("(?...) groups, look-arounds and flags are not supported")
        elif ch in "^$":
            raise RegexError(f"`{ch}` is only allowed at the very start or end (matches are whole-value)")
        elif ch == "%":
            out.append("%%")
        else:
            out.append(ch)
        i += 1
    if not out:
        raise RegexError("is empty")
    return "".join(out)


def python_pattern(pattern: str) -> re.Pattern:
    """The same pattern for Python-side evaluation: whole-value, ASCII classes."""
    return re.compile(pattern, re.ASCII)
