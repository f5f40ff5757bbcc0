"""`matches` patterns: written in the familiar Python style, run in durable-rules' own dialect.

durable-rules escapes with `%` instead of `\\` (Python's `\\d+` would silently never match
there), so we accept the subset that means the same in both and translate it; the rest is
refused with a message.

Hostile patterns. durable-rules compiles a pattern into a DFA and matches by walking its table,
one step per character (`evaluateRegex` in its src/rules/regex.c): matching is linear, nothing
backtracks. Building the DFA is where it breaks: it lists every character of a class into a
fixed array of 4,096 (`[一-龥]`, 20,902 characters, crashes the process), and it stops at 4,096
states, a 1,024-state work queue and, silently, a 16-bit hash of each state set (two state sets
with the same hash become one state, so large automatons match wrongly). On the Python side
(the reference evaluation, explanations, lint) Python's `re` backtracks: `(a|a)*b` against 30
`a`s takes minutes.

It also hangs (holding the GIL) building some repeats of a part that can match nothing
(`b{1,3}(a|)*`), and it reads facts and patterns as JSON text without unescaping them: a line
break in a value is the two characters `\\n`, and a `"` in a pattern means `\\"`.

So every accepted pattern is also parsed here into a small automaton of our own, and
- `check` refuses what would crash or hang the engine or make it unreliable: a class of more
  than MAX_CLASS_CHARS characters, a repeat of something that can match nothing, `"`, a
  backslash itself or a control character, a repeat right after a repeat (`+?`, lazy in
  Python), `{0}` (the engine reads `*`), groups nested more than MAX_NESTING deep, more than
  MAX_POSITIONS characters once repeats are written out, an automaton of more than MAX_STATES
  states or with a state of more than MAX_TRANSITIONS transitions, or more than WORK_BUDGET
  steps to find out (so refusing takes bounded time: at most about 0.1 s, measured over 1,500
  random patterns of up to 200 characters);
- Python-side evaluation never uses `re`: `python_pattern` returns a `Matcher` that runs the
  same automaton (states built lazily, at most one step per character) on the text as the
  engine sees it (`engine_text`): linear in the text.

Measured against durable-rules on 2,000 random patterns over the accepted syntax: none crashed
or hung it; of the 1,168 that `check` accepts, 180 are still refused by the engine when it
builds them (errors 503, 504, 507: the trial run names the rule), 979 match exactly as the
automaton here does, and 9 differ: they mix `.` or `[^...]` with other parts, where the engine
lets `.` win (`.?[^a]` does not match `ac` there).

Why this is one file of over 500 lines: it does one job, deciding the subset of patterns that
means the same on both sides. `translate`'s syntax rules and the automaton's limits define that
subset together (`translate` refuses what the automaton cannot build), `python_pattern` matches
with the same automaton (rule `matches` and a profile field's `pattern` alike), `example` walks it
for a shortest matching text, and each limit is argued above, next to the code that enforces it.
Split in two, the parser and its limits would sit under `translate` with RegexError, and a
change to what is accepted would touch both files.
"""
from __future__ import annotations

import json
import re
from functools import lru_cache

ESCAPES = {"d": "%d", "s": "%s"}          # ASCII digits and spaces, in both dialects
SPECIAL = set(".|?*+()[]{}%")             # escaped with % in durable-rules
MAX_LENGTH = 200
MAX_REPEAT = 100                          # durable-rules' largest {m,n}
INTERVAL = re.compile(r"\{(\d+)(?:,(\d+))?\}")

MAX_NESTING = 10          # groups inside groups
MAX_CLASS_CHARS = 1000    # characters one [...] lists (durable-rules' array holds 4,096)
MAX_POSITIONS = 1000      # characters to match once repeats are written out
MAX_STATES = 250          # states of the whole-pattern automaton (see the module docstring)
MAX_TRANSITIONS = 2000    # (character, next state) pairs leaving one state (durable: 4,096)
WORK_BUDGET = 200_000     # steps `check` spends on one pattern before calling it too complex

CLASS_ESCAPES = {"d": ((48, 57),), "s": ((9, 13), (32, 32))}   # [0-9], [\t\n\v\f\r ]
TOO_COMPLEX = "is too complex for the rules engine"
SIMPLER = "use fewer or smaller repeats, fewer alternatives, or `.*` instead of a long class"


class RegexError(ValueError):
    pass


# `"`, a backslash standing for itself and control characters reach durable-rules JSON-escaped
# (`\"`, `\\`, `\n`): in a pattern they would mean two characters, and a repeat after them
# would repeat only the second.
_UNREADABLE = re.compile(r'["\x00-\x1f\x7f]|\\\\')


def _unreadable_name(found: str) -> str:
    if found == '"':
        return 'a `"`'
    if found == "\\\\":
        return "a backslash (`\\\\`)"
    return f"the control character U+{ord(found):04X}"


@lru_cache(maxsize=4096)
def translate(pattern: str) -> str:
    """The durable-rules form of `pattern`, or RegexError saying what is not supported."""
    if not isinstance(pattern, str):
        raise RegexError("must be text")
    if len(pattern) > MAX_LENGTH:
        raise RegexError(f"longer than {MAX_LENGTH} characters")
    try:
        re.compile(pattern)
    except (re.error, RecursionError, OverflowError) as exc:
        raise RegexError(str(exc)) from None
    odd = _UNREADABLE.search(pattern)
    if odd:
        raise RegexError(f"{_unreadable_name(odd.group())} is not supported in a pattern (the "
                         "rules engine reads it with a JSON escape in front, so it would match "
                         "something else); match it with `.`")
    body = _strip_anchors(pattern)
    out: list[str] = []
    in_class = False
    i = 0
    while i < len(body):
        ch = body[i]
        if ch == "\\":
            nxt = body[i + 1] if i + 1 < len(body) else ""
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
            elif ch == "-" and (body[i - 1] in "[^" or body[i + 1:i + 2] == "]"):
                raise RegexError("a literal - inside [...] is not supported; write (-|[...]) instead")
            out.append("%%" if ch == "%" else ch)
            i += 1
            continue
        if ch == "[":
            in_class = True
            out.append(ch)
            if body[i + 1:i + 2] == "^":
                out.append("^")
                i += 1
        elif ch == "{":
            match = INTERVAL.match(body, i)
            if not match:
                raise RegexError("repeat counts must be {n} or {m,n}, e.g. a{0,2}")
            low, high = int(match.group(1)), int(match.group(2) or match.group(1))
            if low > high or high > MAX_REPEAT:
                raise RegexError(f"repeat counts must satisfy m <= n <= {MAX_REPEAT}")
            out.append(match.group(0))
            i = match.end()
            continue
        elif ch == "(" and body[i + 1:i + 2] == "?":
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
    _automaton(pattern)         # the limits above: refuses what the engine cannot take
    return "".join(out)


def python_pattern(pattern: str) -> "Matcher":
    """The same pattern for Python-side evaluation: `.fullmatch(text)` in time linear in the
    text (never Python's backtracking `re`), with the engine's meaning: whole-value, ASCII
    `\\d` and `\\s`, on the text as the engine sees it (`engine_text`)."""
    translate(pattern)          # refuses what check refuses
    return Matcher(pattern, _automaton(pattern))


def example(pattern: str) -> str | None:
    """A shortest text the pattern matches (letters and digits where it allows any), or None
    when it matches nothing but the empty text: what a trial profile puts in a field that
    declares a `pattern`. A breadth-first walk over the automaton's state sets (at most
    MAX_STATES of them)."""
    automaton = _automaton(pattern)
    nfa = automaton.nfa
    plain = [ord(c) for c in "aA0"] + list(range(32, 127)) + [0xE9, 0x4E2D]   # printable, é, 中
    paths = {automaton.start: ""}
    queue = [automaton.start]
    for states in queue:
        text = paths[states]
        for state in sorted(states):
            if nfa.kind[state] != CHAR:
                continue
            first = [low for low, _ in nfa.ranges[state]]
            code = next((c for c in (plain if nfa.negated[state] else first)
                         if nfa.accepts(state, c) and engine_text(chr(c)) == chr(c)), None)
            nxt = automaton.step(states, code) if code is not None else frozenset()
            if automaton.final(nxt):
                return text + chr(code)
            if nxt and nxt not in paths:
                paths[nxt] = text + chr(code)
                queue.append(nxt)
    return None


def _strip_anchors(pattern: str) -> str:
    if pattern.startswith("^"):
        pattern = pattern[1:]
    if pattern.endswith("$") and not pattern.endswith("\\$"):
        pattern = pattern[:-1]
    return pattern


# --- the automaton ------------------------------------------------------------------------------
# A pattern becomes a Thompson NFA: states are either a character test (`ranges`, `negated`,
# one next state), a split (several next states, no character) or the final state. Repeats
# {m,n} are written out, as durable-rules does.

CHAR, SPLIT, FINAL = 0, 1, 2


class _NFA:
    __slots__ = ("kind", "ranges", "negated", "outs", "positions", "work", "budget")

    def __init__(self) -> None:
        self.kind: list[int] = []
        self.ranges: list[tuple] = []
        self.negated: list[bool] = []
        self.outs: list[list[int]] = []
        self.positions = 0
        self.work = 0
        self.budget: float = WORK_BUDGET    # lifted once the check is done: matching is linear

    def add(self, kind: int, outs: list[int], ranges: tuple = (), negated: bool = False) -> int:
        if kind == CHAR:
            self.positions += 1
            if self.positions > MAX_POSITIONS:
                raise RegexError(f"{TOO_COMPLEX}: more than {MAX_POSITIONS} characters to match "
                                 f"once its repeats are written out; {SIMPLER}")
        self.spend(1)
        self.kind.append(kind)
        self.ranges.append(ranges)
        self.negated.append(negated)
        self.outs.append(outs)
        return len(self.kind) - 1

    def spend(self, steps: int) -> None:
        self.work += steps
        if self.work > self.budget:
            raise RegexError(f"{TOO_COMPLEX} (its automaton could not be built within "
                             f"{WORK_BUDGET:,} steps); {SIMPLER}")

    def accepts(self, state: int, code: int) -> bool:
        inside = False
        for low, high in self.ranges[state]:
            if low <= code <= high:
                inside = True
                break
        return inside != self.negated[state]


class _Parser:
    """Python-style pattern (already validated by `translate`) -> a tree of tuples:
    ("chars", ranges, negated), ("cat", items), ("alt", branches), ("rep", item, low, high)."""

    def __init__(self, text: str):
        self.text, self.i = text, 0

    def peek(self) -> str:
        return self.text[self.i] if self.i < len(self.text) else ""

    def parse(self) -> tuple:
        tree = self.alternatives(0)
        if self.i != len(self.text):
            raise RegexError(f"unexpected `{self.peek()}`")
        return tree

    def alternatives(self, depth: int) -> tuple:
        branches = [self.sequence(depth)]
        while self.peek() == "|":
            self.i += 1
            branches.append(self.sequence(depth))
        return branches[0] if len(branches) == 1 else ("alt", branches)

    def sequence(self, depth: int) -> tuple:
        items = []
        while self.peek() not in ("", "|", ")"):
            items.append(self.repeat(depth))
        return items[0] if len(items) == 1 else ("cat", items)

    def repeat(self, depth: int) -> tuple:
        item = self.atom(depth)
        repeated = False
        while True:
            ch = self.peek()
            if ch in ("*", "+", "?"):
                low, high = {"*": (0, None), "+": (1, None), "?": (0, 1)}[ch]
                self.i += 1
            elif ch == "{" and INTERVAL.match(self.text, self.i):
                match = INTERVAL.match(self.text, self.i)
                low, high = int(match.group(1)), int(match.group(2) or match.group(1))
                if high == 0:
                    raise RegexError("a repeat of 0 times ({0}) is not supported (the rules "
                                     "engine reads it as *); remove the repeated part")
                self.i = match.end()
            else:
                return item
            if repeated:
                raise RegexError("a repeat right after another (`+?`, `*+`, `{2}?`) means "
                                 "something else in Python (lazy or possessive); put the first "
                                 "one in a group, e.g. (a+)?")
            if _nullable(item):
                raise RegexError("a repeated part that can match nothing, such as (a|)* or "
                                 "(a*)+, can hang the rules engine; repeat only what matches at "
                                 "least one character, e.g. a* instead of (a|)*")
            repeated = True
            item = ("rep", item, low, high)

    def atom(self, depth: int) -> tuple:
        ch = self.peek()
        if ch == "(":
            if depth + 1 > MAX_NESTING:
                raise RegexError(f"groups are nested more than {MAX_NESTING} deep; "
                                 "write it with fewer ( )")
            self.i += 1
            inner = self.alternatives(depth + 1)
            if self.peek() != ")":
                raise RegexError("a ( is not closed")
            self.i += 1
            return inner
        if ch == "[":
            return self.char_class()
        if ch == ".":
            self.i += 1
            return ("chars", (), True)
        if ch == "\\":
            self.i += 2
            nxt = self.text[self.i - 1]
            if nxt in CLASS_ESCAPES:
                return ("chars", CLASS_ESCAPES[nxt], False)
            return ("chars", ((ord(nxt), ord(nxt)),), False)
        if ch in ("*", "+", "?", "{", ")", ""):
            raise RegexError(f"nothing to repeat or unexpected `{ch}`")
        self.i += 1
        return ("chars", ((ord(ch), ord(ch)),), False)

    def char_class(self) -> tuple:
        self.i += 1
        negated = self.peek() == "^"
        if negated:
            self.i += 1
        ranges: list[tuple[int, int]] = []
        first = True
        while True:
            ch = self.peek()
            if ch == "":
                raise RegexError("a [ is not closed")
            if ch == "]" and not first:
                self.i += 1
                break
            first = False
            if ch == "\\":
                nxt = self.text[self.i + 1]
                self.i += 2
                if nxt in CLASS_ESCAPES:
                    ranges.extend(CLASS_ESCAPES[nxt])
                    continue
                low = ord(nxt)
            else:
                self.i += 1
                low = ord(ch)
            high = low
            if self.peek() == "-" and self.text[self.i + 1:self.i + 2] not in ("]", ""):
                end = self.text[self.i + 1]
                self.i += 2
                if end == "\\":
                    end = self.text[self.i]
                    self.i += 1
                high = ord(end)
            ranges.append((min(low, high), max(low, high)))
        merged: list[list[int]] = []
        for low, high in sorted(ranges):
            if merged and low <= merged[-1][1] + 1:
                merged[-1][1] = max(merged[-1][1], high)
            else:
                merged.append([low, high])
        size = sum(high - low + 1 for low, high in merged)
        if size > MAX_CLASS_CHARS:
            raise RegexError(f"a [...] of {size:,} characters is more than the rules engine can "
                             f"list (at most {MAX_CLASS_CHARS:,}); use `.` or a narrower range")
        return ("chars", tuple((low, high) for low, high in merged), negated)


def _nullable(node: tuple) -> bool:
    """Can `node` match the empty text?"""
    kind = node[0]
    if kind == "chars":
        return False
    if kind == "cat":
        return all(_nullable(item) for item in node[1])
    if kind == "alt":
        return any(_nullable(branch) for branch in node[1])
    return node[2] == 0 or _nullable(node[1])


def _build(nfa: _NFA, node: tuple, after: int) -> int:
    """The state that matches `node` and then continues at `after`."""
    kind = node[0]
    if kind == "chars":
        return nfa.add(CHAR, [after], node[1], node[2])
    if kind == "cat":
        for item in reversed(node[1]):
            after = _build(nfa, item, after)
        return after
    if kind == "alt":
        return nfa.add(SPLIT, [_build(nfa, branch, after) for branch in node[1]])
    _, item, low, high = node
    if high is None:                          # item{low,}: low copies, then a loop
        loop = nfa.add(SPLIT, [])
        nfa.outs[loop][:] = [_build(nfa, item, loop), after]
        start = loop
    else:                                     # (item(item(...)?)?)? for the optional copies
        start = after
        for _ in range(high - low):
            start = nfa.add(SPLIT, [_build(nfa, item, start), after])
    for _ in range(low):
        start = _build(nfa, item, start)
    return start


class _Automaton:
    """The NFA with its start and the epsilon closures, shared by the check and the Matcher."""

    def __init__(self, nfa: _NFA, start: int):
        self.nfa = nfa
        self._closures: dict[int, frozenset[int]] = {}
        self.start = self.closure((start,))

    def closure(self, states) -> frozenset[int]:
        """The character-test and final states reachable from `states` without a character."""
        out: set[int] = set()
        for state in states:
            known = self._closures.get(state)
            if known is None:
                known = self._closures[state] = self._reach(state)
            out |= known
        return frozenset(out)

    def _reach(self, state: int) -> frozenset[int]:
        nfa = self.nfa
        seen, stack, found = {state}, [state], set()
        while stack:
            current = stack.pop()
            nfa.spend(1)
            if nfa.kind[current] != SPLIT:
                found.add(current)
                continue
            for nxt in nfa.outs[current]:
                if nxt not in seen:
                    seen.add(nxt)
                    stack.append(nxt)
        return frozenset(found)

    def step(self, states: frozenset[int], code: int) -> frozenset[int]:
        nfa = self.nfa
        return self.closure(nfa.outs[s][0] for s in states
                            if nfa.kind[s] == CHAR and nfa.accepts(s, code))

    def final(self, states: frozenset[int]) -> bool:
        return any(self.nfa.kind[s] == FINAL for s in states)


def _symbols(nfa: _NFA, state: int) -> int:
    """How many transitions durable-rules stores for a character test: one per listed
    character, plus one `.` for `.` and `[^...]`."""
    listed = sum(high - low + 1 for low, high in nfa.ranges[state])
    return listed + 1 if nfa.negated[state] else listed


@lru_cache(maxsize=1024)
def _automaton(pattern: str) -> _Automaton:
    """Parse and build; then explore every state the pattern can reach (over classes of
    characters that no part of the pattern tells apart), refusing past the limits."""
    nfa = _NFA()
    tree = _Parser(_strip_anchors(pattern)).parse()
    automaton = _Automaton(nfa, _build(nfa, tree, nfa.add(FINAL, [])))
    cuts = sorted({edge for ranges in nfa.ranges for low, high in ranges
                   for edge in (low, high + 1)} | {0})
    accepted: dict[int, list[int]] = {}   # character test -> the classes of characters it takes
    seen = {automaton.start}
    queue = [automaton.start]
    while queue:
        states = queue.pop()
        if sum(_symbols(nfa, s) for s in states if nfa.kind[s] == CHAR) > MAX_TRANSITIONS:
            raise RegexError(f"{TOO_COMPLEX}: one point of the pattern can go on with more "
                             f"than {MAX_TRANSITIONS:,} characters; {SIMPLER}")
        targets: dict[int, set[int]] = {}
        for s in states:
            if nfa.kind[s] != CHAR:
                continue
            if s not in accepted:
                nfa.spend(len(cuts))
                accepted[s] = [i for i, cut in enumerate(cuts) if nfa.accepts(s, cut)]
            nfa.spend(len(accepted[s]))
            out = nfa.outs[s][0]
            for index in accepted[s]:
                targets.setdefault(index, set()).add(out)
        for nexts in targets.values():
            nxt = automaton.closure(nexts)
            if nxt not in seen:
                seen.add(nxt)
                if len(seen) > MAX_STATES:
                    raise RegexError(f"{TOO_COMPLEX}: its automaton has more than {MAX_STATES} "
                                     f"states; {SIMPLER}")
                queue.append(nxt)
    nfa.budget = float("inf")
    return automaton


def engine_text(value: object) -> str:
    """The text durable-rules matches a value as: the value inside its JSON string, escapes
    and all (it reads facts as JSON and never unescapes them), so a line break is the two
    characters `\\n`, and `"` and `\\` come with a backslash in front."""
    return json.dumps(str(value), ensure_ascii=False)[1:-1]


class Matcher:
    """`fullmatch(text)` over the pattern's automaton: one step per character, each step's
    result kept (a bounded cache), so the time is linear in the text whatever the pattern."""

    CACHE = 4096

    def __init__(self, pattern: str, automaton: _Automaton):
        self.pattern = pattern
        self._automaton = automaton
        self._steps: dict[tuple[frozenset[int], str], frozenset[int]] = {}

    def fullmatch(self, text: str) -> bool | None:
        automaton, steps = self._automaton, self._steps
        states = automaton.start
        for ch in engine_text(text):
            key = (states, ch)
            nxt = steps.get(key)
            if nxt is None:
                nxt = automaton.step(states, ord(ch))
                if len(steps) >= self.CACHE:
                    steps.clear()
                steps[key] = nxt
            states = nxt
            if not states:
                return None
        return True if automaton.final(states) else None

    def __repr__(self) -> str:
        return f"Matcher({self.pattern!r})"
