"""The one module that talks to durable-rules.

durable-rules keeps all state in a C extension keyed by session id (sid), never releases the GIL,
swallows exceptions raised in actions and, with its stock Host, dispatches work from background
timer threads. This adapter drives the C extension itself and makes it predictable
(docs/notes/durable-rules.md):
- no Host, no timer threads: every activation runs synchronously, in priority order, inside
  `evaluate`, and exceptions from our actions propagate as they are;
- one evaluation at a time per process (a lock; threads would give no parallelism anyway), so
  at most one sid is live per ruleset (a split stage has one on each of its rulesets) and two
  sids can never share state through a hash collision;
- a marker fact asserted first into every new sid fires a rule of its own, so each sid has
  fired an action before its state is deleted, even when the world fact then fails (deleting a
  sid that never fired crashes the process); a sentinel rule matches every world fact, so no
  world fact is "not handled";
- state deleted in `finally`, after any failure too.
"""
from __future__ import annotations

import itertools
import json
import logging
import threading
from typing import Callable, Sequence

import durable_rules_engine

from ..content.model import Rule
from .errors import EngineError    # (code outside engine/ imports it from here too)
from .port import FireCallback

log = logging.getLogger(__name__)


def _keep_freed_memory() -> bool:
    """Let glibc's malloc keep large freed blocks for reuse instead of returning them to the
    system at once.

    Every session makes durable-rules allocate its state (a message pool of about 150 KB, and
    8 KB per rule, 24 MB for a stage of 3,000 rules) and free it when the state is deleted.
    Above glibc's default mmap threshold (128 KB, raised only as far as the largest block freed
    so far) each such block is a fresh mmap: the kernel zeroes and faults in every page, and
    munmap gives it back, on every evaluation. With the threshold at 32 MB (glibc's largest
    default) and trimming only above 128 MB of free memory, the blocks come from the heap and
    are reused: measured, a session's set-up and deletion cost 5 to 10 times less. The process
    keeps its peak heap instead of giving it back (flat over 100,000 configurations).
    CONFIGURATOR_MALLOC_TUNING=0 leaves malloc as it is."""
    import ctypes
    import ctypes.util
    import os

    if os.environ.get("CONFIGURATOR_MALLOC_TUNING", "1") == "0":
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):     # not glibc: nothing to tune
        return False
    m_trim_threshold, m_mmap_threshold = -1, -3
    return bool(mallopt(m_mmap_threshold, 32 << 20)) and bool(mallopt(m_trim_threshold, 128 << 20))


MALLOC_TUNED = _keep_freed_memory()

SENTINEL = "__sentinel__"
MARKER = "__marker__"
WORLD_MARK = {"t": "w"}      # every world fact carries it; the sentinel matches on it
MARKER_MARK = {"t": "m"}     # the marker fact: only the marker rule matches it
LAST_PRIORITY = 65535        # durable runs LOWER priorities first


def _marker_fact(sid: str) -> str:
    """The JSON of a session's marker fact (MARKER_MARK, with the session's id)."""
    return '{"t":"m","sid":"%s","id":"m"}' % sid


NOT_HANDLED = 1      # assert_fact's code for a fact no rule matches (2, one seen already: an error)


class _Run:
    __slots__ = ("sid", "world", "fire", "version", "marked")

    def __init__(self, sid: str, world: str, fire: FireCallback):
        self.sid, self.world, self.fire = sid, world, fire   # world: the asserted fact, as JSON
        self.version = 1
        self.marked = False       # an action has started on this sid: its state can be deleted


def _dumps(fact: dict) -> str:
    return json.dumps(fact, ensure_ascii=False, separators=(",", ":"))


def _world_fact(world: dict | str, sid: str, version: int) -> str:
    """The world as durable's fact: the JSON object with the world mark, the sid and an id."""
    body = world if isinstance(world, str) else _dumps(world)
    tail = f'"t":"w","sid":"{sid}","id":"w{version}"}}'
    return body[:-1] + ("," + tail if body.strip() != "{}" else tail)


def _action_name(message: str) -> str:
    """The rule an activation belongs to: the first key of durable's message object.

    Only the name is needed (the facts are ours already), so the message is not parsed;
    rule names are ids without quotes or escapes."""
    return message[2:message.index('"', 2)]


class DurableEngine:
    """The rules engine port (engine/port.py, SplitStageEngine) on durable-rules' C extension,
    driven directly: its Python Host would decode every matched fact and re-encode its state
    around every action, which costs more than the matching."""

    wants_world = True       # durable-rules matches the world fact

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._sids = itertools.count(1)
        self._names = itertools.count(1)
        self._handles: dict[str, int] = {}

    def register(self, prefix: str, compiled: dict[str, dict], sources: Sequence[Rule] = ()) -> str:
        """Create a ruleset from durable rule definitions (without `run`); returns its name.
        (`sources`, the Rule objects, are for engines that read the rules themselves.)"""
        definitions = dict(compiled)
        definitions[SENTINEL] = {"all": [{"m": dict(WORLD_MARK)}], "pri": LAST_PRIORITY}
        definitions[MARKER] = {"all": [{"m": dict(MARKER_MARK)}], "pri": LAST_PRIORITY}
        with self._lock:
            name = f"{prefix}-{next(self._names)}"
            try:
                handle = durable_rules_engine.create_ruleset(name, _dumps(definitions))
            except Exception as exc:  # durable raises its own error type
                raise EngineError.from_durable(f"the rules of {prefix}", exc) from None
            self._handles[name] = handle
        return name

    def unregister(self, name: str) -> None:
        """Free a ruleset that no evaluation uses any more."""
        with self._lock:
            handle = self._handles.pop(name, None)
            if handle is not None:
                durable_rules_engine.delete_ruleset(handle)

    def evaluate(self, ruleset: str, world: dict | str | None, fire: FireCallback,
                 facts: Callable[[], dict] | None = None) -> None:
        """Assert `world` (a dict, or a JSON object as text) and run every activation, in
        priority order, before returning. (`facts` is for engines that read the facts
        themselves.)

        The marker fact goes first: its rule fires, so the sid's state can always be deleted
        afterwards (deleting a sid on which nothing fired crashes durable-rules)."""
        if world is None:
            raise ValueError("durable-rules reads the world fact: pass `world`")
        with self._lock:
            handle = self._handles[ruleset]
            sid = str(next(self._sids))
            run = _Run(sid, _world_fact(world, sid, 1), fire)
            try:
                self._assert(handle, _marker_fact(sid), run)
                self._assert(handle, run.world, run)
            except EngineError:
                raise
            except Exception as exc:
                raise EngineError.from_durable("a configuration", exc) from None
            finally:
                if run.marked:
                    durable_rules_engine.delete_state(handle, sid)
                else:  # deleting a sid on which nothing fired crashes durable-rules
                    log.error("rules engine state for sid %s could not be released", sid)

    # --- a stage split into several rulesets (see partitions.Partitions) ----------------------

    def evaluate_merged(self, parts: list[tuple[str, Callable[[], str]]], fire: FireCallback,
                        order: dict[str, int]) -> None:
        """One stage whose rules are spread over several rulesets, as if they were one: each part
        (ruleset, world(): its world fact as JSON now) gets a session; the rules that hold in any
        of them fire one at a time, lowest `order` first, as durable's own agenda would order
        them in one ruleset; after a rule changed a fact (fire returned something) every session
        whose world changed has it retracted and asserted again, and its matches are read anew.
        Each rule is given to `fire` at most once."""
        with self._lock:
            sessions: list[_Session] = []
            try:
                for ruleset, world in parts:
                    session = _Session(self._handles[ruleset], str(next(self._sids)), world)
                    sessions.append(session)
                    self._open(session)
                done: set[str] = set()
                while True:
                    best, rank = None, None
                    for session in sessions:
                        for name in session.matches:
                            if name not in done and (rank is None or order[name] < rank):
                                best, rank = name, order[name]
                    if best is None:
                        return
                    done.add(best)
                    if fire(best) is not None:
                        for session in sessions:
                            session.update()
            except EngineError:
                raise
            except Exception as exc:
                raise EngineError.from_durable("a configuration", exc) from None
            finally:
                for session in sessions:
                    session.close()

    def _open(self, session: "_Session") -> None:
        """Assert the marker (its rule fires: the state can be deleted) and the world, in one
        call (a split stage opens dozens of sessions per configuration)."""
        session.body = session.world()
        session.fact = _world_fact(session.body, session.sid, session.version)
        session.matches = session.drain(f"[{_marker_fact(session.sid)},{session.fact}]",
                                        several=True)
        session.marked = True

    def _assert(self, handle: int, fact: str, run: _Run) -> None:
        code, state = durable_rules_engine.assert_fact(handle, fact)
        if code not in (0, NOT_HANDLED):
            raise EngineError(f"the rules engine refused a fact (code {code})", code)
        result = durable_rules_engine.start_action_for_state(handle, state)
        message = result[1] if result else None
        run.marked = run.marked or bool(message)
        try:
            while message:
                name = _action_name(message)
                if name not in (SENTINEL, MARKER):
                    new_world = run.fire(name)
                    if new_world is not None:
                        run.version += 1
                        fact = _world_fact(new_world, run.sid, run.version)
                        durable_rules_engine.retract_fact(handle, run.world)
                        durable_rules_engine.assert_fact(handle, fact)
                        run.world = fact
                message = durable_rules_engine.complete_and_start_action(handle, state)
        except BaseException:
            if message:
                durable_rules_engine.abandon_action(handle, state)
            raise


class _Session:
    """One sid on one ruleset of a split stage: its world fact and the rules it matches."""
    __slots__ = ("handle", "sid", "world", "body", "fact", "version", "matches", "marked")

    def __init__(self, handle: int, sid: str, world: Callable[[], str]):
        self.handle, self.sid, self.world = handle, sid, world
        self.body = self.fact = ""
        self.version = 1
        self.matches: set[str] = set()
        self.marked = False

    def drain(self, fact: str, several: bool = False) -> set[str]:
        """Assert `fact` (`several`: a JSON array of facts) and complete every activation it
        brings; the rules they belong to."""
        assert_ = durable_rules_engine.assert_facts if several else durable_rules_engine.assert_fact
        code, state = assert_(self.handle, fact)
        if code not in (0, NOT_HANDLED):
            raise EngineError(f"the rules engine refused a fact (code {code})", code)
        found: set[str] = set()
        result = durable_rules_engine.start_action_for_state(self.handle, state)
        message = result[1] if result else None
        while message:
            name = _action_name(message)
            if name not in (SENTINEL, MARKER):
                found.add(name)
            message = durable_rules_engine.complete_and_start_action(self.handle, state)
        return found

    def update(self) -> None:
        """The world may have changed: assert it again if it did, and read the matches anew."""
        body = self.world()
        if body == self.body:
            return
        self.version += 1
        fact = _world_fact(body, self.sid, self.version)
        durable_rules_engine.retract_fact(self.handle, self.fact)
        self.body, self.fact = body, fact
        self.matches = self.drain(fact)

    def close(self) -> None:
        if self.marked:
            durable_rules_engine.delete_state(self.handle, self.sid)
        elif self.fact or self.body:   # pragma: no cover - the marker always fires first
            log.error("rules engine state for sid %s could not be released", self.sid)
