"""The one module that talks to durable-rules.

durable-rules keeps all state in a C extension keyed by session id (sid), never releases the GIL,
swallows exceptions raised in actions and, with its stock Host, dispatches work from background
timer threads. This adapter makes it predictable (../shared/notes/durable-rules.md):
- no timer threads: every action runs synchronously inside the one `assert_fact` call;
- one evaluation at a time per process (a lock; threads would give no parallelism anyway), so
  exactly one sid is live and two sids can never share state through a hash collision;
- a marker fact asserted first into every new sid fires a rule of its own, so each sid has
  fired an action before its state is deleted, even when the world fact then fails (deleting a
  sid that never fired crashes the process); a sentinel rule matches every world fact, so no
  world fact is "not handled";
- state deleted in `finally`; exceptions from actions captured and re-raised to the caller.
"""
from __future__ import annotations

import itertools
import logging
import re
import threading
from typing import Any, Callable

import durable_rules_engine
from durable.engine import Host

log = logging.getLogger(__name__)

SENTINEL = "__sentinel__"
MARKER = "__marker__"
WORLD_MARK = {"t": "w"}      # every world fact carries it; the sentinel matches on it
MARKER_MARK = {"t": "m"}     # the marker fact: only the marker rule matches it
LAST_PRIORITY = 65535        # durable runs LOWER priorities first


# durable-rules error codes (src/rules/rules.h) in a product manager's terms
ERROR_MEANINGS = {
    106: "too many rules in one stage",
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


class _SynchronousHost(Host):
    def _run(self) -> None:  # the stock Host starts two timer threads here; we dispatch inline
        pass


# fire(rule_name) -> the new world fact to assert in place of the current one, or None
FireCallback = Callable[[str], "dict | None"]


class _Run:
    __slots__ = ("sid", "world", "fire", "error", "version", "marked")

    def __init__(self, sid: str, world: dict, fire: FireCallback):
        self.sid, self.world, self.fire = sid, world, fire
        self.error: BaseException | None = None
        self.version = 1
        self.marked = False


class DurableEngine:
    def __init__(self) -> None:
        self._host = _SynchronousHost()
        self._lock = threading.RLock()
        self._sids = itertools.count(1)
        self._names = itertools.count(1)
        self._runs: dict[str, _Run] = {}

    def register(self, prefix: str, rules: dict[str, dict]) -> str:
        """Create a ruleset from durable rule definitions (without `run`); returns its name."""
        definitions = {}
        for name, rule in rules.items():
            definition = dict(rule)
            definition["run"] = self._action(name)
            definitions[name] = definition
        definitions[SENTINEL] = {"all": [{"m": dict(WORLD_MARK)}], "pri": LAST_PRIORITY,
                                 "run": self._noop}
        definitions[MARKER] = {"all": [{"m": dict(MARKER_MARK)}], "pri": LAST_PRIORITY,
                               "run": self._marked}
        with self._lock:
            name = f"{prefix}-{next(self._names)}"
            try:
                self._host.register_rulesets({name: definitions})
            except Exception as exc:  # durable raises plain Exception / its own error type
                raise EngineError.from_durable(f"the rules of {prefix}", exc) from None
        return name

    def unregister(self, name: str) -> None:
        """Free a ruleset that no evaluation uses any more."""
        with self._lock:
            ruleset = self._host._ruleset_directory.pop(name, None)
            if ruleset is None:
                return
            self._host._ruleset_list.remove(ruleset)
            durable_rules_engine.delete_ruleset(ruleset._handle)

    def evaluate(self, ruleset: str, world: dict, fire: FireCallback) -> None:
        """Assert `world` and run every activation, in priority order, before returning."""
        with self._lock:
            sid = str(next(self._sids))
            fact = dict(world, **WORLD_MARK, sid=sid, id="w1")
            run = _Run(sid, fact, fire)
            self._runs[sid] = run
            try:
                self._host.assert_fact(ruleset, dict(MARKER_MARK, sid=sid, id="m"))
                self._host.assert_fact(ruleset, fact)
            except Exception as exc:
                raise EngineError.from_durable("a configuration", exc) from None
            finally:
                del self._runs[sid]
                if run.marked:
                    self._host.delete_state(ruleset, sid)
                else:  # deleting a sid on which nothing fired crashes durable-rules
                    log.error("rules engine state for sid %s could not be released", sid)
            if run.error is not None:
                raise run.error

    @staticmethod
    def _noop(c: Any) -> None:
        pass

    def _marked(self, c: Any) -> None:
        run = self._runs.get(c.s.sid)
        if run is not None:
            run.marked = True

    def _action(self, rule_name: str) -> Callable[[Any], None]:
        def action(c: Any) -> None:   # exactly one parameter: two would make it "async"
            run = self._runs.get(c.s.sid)
            if run is None or run.error is not None:
                return
            try:
                new_world = run.fire(rule_name)
                if new_world is not None:
                    run.version += 1
                    fact = dict(new_world, **WORLD_MARK, sid=run.sid, id=f"w{run.version}")
                    c.retract_fact(run.world)
                    c.assert_fact(fact)
                    run.world = fact
            except BaseException as exc:  # durable would swallow it into its state
                run.error = exc
        return action
