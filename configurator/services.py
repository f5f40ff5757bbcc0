"""Plain service functions shared by the CLI, the REST API, the web forms and the tests.

Nothing here knows Flask or SQLAlchemy: callers pass plain values and get plain values or
domain exceptions back (ProfileInvalid, AdjustmentInvalid, ContentError).
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .content.pack import check_pack, content_root
from .content.problems import ContentError, Problem
from .content.model import ContentPack
from .engine.adjustments import parse_adjustments
from .engine.durable_adapter import EngineError
from .engine.pipeline import Pipeline
from .engine.trial import trial_run

log = logging.getLogger(__name__)


@dataclass
class ContentStatus:
    """What the service is serving, and what happened at the last load attempt."""
    root: str
    version: str | None
    ok: bool
    problems: list[Problem] = field(default_factory=list)
    loaded_at: float | None = None

    def as_dict(self) -> dict:
        return {"root": self.root, "version": self.version, "ok": self.ok,
                "loaded_at": self.loaded_at,
                "problems": [p.as_dict() for p in self.problems]}


class Content:
    """The content pack being served and its compiled pipeline.

    A new pack replaces the serving one only after it passes `check` and a trial run in a
    subprocess; otherwise the last good pack keeps serving and `status` reports why.
    """

    def __init__(self, root: str | Path | None = None, trial: bool = True):
        self.root = content_root(root)
        self.trial = trial
        self._lock = threading.Lock()
        self.pipeline: Pipeline | None = None
        self.status = ContentStatus(str(self.root), None, False)
        self._stop = threading.Event()

    @property
    def pack(self) -> ContentPack:
        if self.pipeline is None:
            raise ContentError(self.status.problems)
        return self.pipeline.pack

    def fingerprint(self) -> tuple:
        """Cheap identity of the pack's files on disk: paths, sizes and modification times."""
        found = []
        for folder in ("catalog", "rules", "proposals"):
            base = self.root / folder
            if base.is_dir():
                for path in sorted(base.rglob("*")):
                    try:
                        info = path.stat()
                    except OSError:      # removed while we looked
                        continue
                    found.append((str(path), info.st_size, info.st_mtime_ns))
        return tuple(found)

    def watch(self, interval: float = 1.0) -> threading.Thread:
        """Reload whenever the pack's files change (checked every `interval` seconds, and only
        once they have stopped changing, so an editor's save in several steps is one reload)."""
        def loop() -> None:
            seen = self.fingerprint()
            while not self._stop.wait(interval):
                now = self.fingerprint()
                if now == seen:
                    continue
                while not self._stop.wait(interval):      # let the writes settle
                    settled = self.fingerprint()
                    if settled == now:
                        break
                    now = settled
                seen = now
                try:
                    self.load()
                except Exception:   # keep watching whatever happened; load() logs the cause
                    log.exception("reloading content from %s failed", self.root)

        self._stop.clear()
        thread = threading.Thread(target=loop, name="content-watch", daemon=True)
        thread.start()
        return thread

    def stop_watching(self) -> None:
        self._stop.set()

    def load(self) -> ContentStatus:
        """(Re)load the pack from disk; keeps the serving pipeline when the new pack is broken."""
        import time
        with self._lock:
            pack, problems = check_pack(self.root)
            if pack is not None and self.pipeline is not None and pack.version == self.pipeline.pack.version:
                self.status = ContentStatus(str(self.root), pack.version, True, problems, time.time())
                return self.status
            if pack is not None and self.trial:
                problems = problems + trial_run(pack)
                if any(p.severity == "error" for p in problems):
                    pack = None
            if pack is not None:
                try:
                    pipeline = Pipeline(pack)
                except ContentError as exc:
                    problems, pipeline = problems + exc.problems, None
                except EngineError as exc:
                    problems = problems + [Problem("rules/", None, str(exc),
                                                   "run `configurator check` to find the rule")]
                    pipeline = None
                if pipeline is not None:
                    old, self.pipeline = self.pipeline, pipeline
                    if old is not None:
                        old.close()
                    self.status = ContentStatus(str(self.root), pack.version, True, problems,
                                                time.time())
                    log.info("content %s loaded from %s", pack.version, self.root)
                    return self.status
            serving = self.pipeline.pack.version if self.pipeline else None
            self.status = ContentStatus(str(self.root), serving, False, problems, time.time())
            for problem in problems:
                log.error("content not loaded: %s", problem)
            return self.status


def configure(content: Content | Pipeline, profile: Any, adjustments: Any = ()) -> dict:
    """Validate a profile and adjustments and return the configuration document.

    Raises ProfileInvalid / AdjustmentInvalid naming each bad field.
    """
    pipeline = content.pipeline if isinstance(content, Content) else content
    if pipeline is None:
        raise ContentError(content.status.problems if isinstance(content, Content) else [])
    clean = pipeline.pack.profile.validate(profile)
    changes = parse_adjustments(adjustments, pipeline.pack.catalog)
    return pipeline.configure(clean, changes)


class ArchivedPipelines:
    """Pipelines for content versions that are no longer served, rebuilt from their stored files,
    so an old configuration can be explained exactly. Keeps the few most recently used."""

    def __init__(self, keep: int = 3):
        self.keep = keep
        self._pipelines: dict[str, Pipeline] = {}
        self._lock = threading.Lock()

    def get(self, version: str, files: dict[str, bytes]) -> Pipeline:
        import tempfile
        from .content.pack import load_pack

        with self._lock:
            if version in self._pipelines:
                self._pipelines[version] = self._pipelines.pop(version)   # most recent last
                return self._pipelines[version]
            with tempfile.TemporaryDirectory(prefix="content-") as folder:
                for rel, data in files.items():
                    target = Path(folder, *rel.split("/"))
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(data)
                pipeline = Pipeline(load_pack(folder))
            self._pipelines[version] = pipeline
            while len(self._pipelines) > self.keep:
                oldest = next(iter(self._pipelines))
                self._pipelines.pop(oldest).close()
            return pipeline


def explain_revision(content: Content, archive: ArchivedPipelines, revision: dict,
                     files_of_version) -> dict:
    """Why a stored revision came out as it did, with the content version it was computed with.

    `files_of_version(version)` returns a stored version's files when it is not the one served.
    """
    from .engine.explain import explain

    version = revision["content_version"]
    pipeline = content.pipeline
    if pipeline is None or pipeline.pack.version != version:
        pipeline = archive.get(version, files_of_version(version))
    profile = pipeline.pack.profile.validate(revision["profile"])
    changes = parse_adjustments(revision["adjustments"], pipeline.pack.catalog)
    result = explain(pipeline, profile, changes, on=revision["document"].get("as_of"))
    result["matches_stored_document"] = result["document"] == revision["document"]
    return result
