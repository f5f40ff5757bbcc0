"""The content being served: the pack, its compiled pipeline, reloads, and the one cache of
pipelines by content version.

- `Content`: the served pack and pipeline; `load()` replaces them only with a pack that passes
  the one check sequence (services.checks); `watch()` reloads when the files change.
- `pipeline_for(version, files)`: the served pipeline when it is that version, else the stored
  version's pipeline from the cache of old versions (`ArchivedPipelines`), rebuilt from its
  stored files. Explanations and proposals of old revisions both use it.
- One retirement rule for every pipeline that stops being handed out (replaced by a reload, or
  dropped from the cache of old versions): `RetiredPipelines` frees it after a grace.
- The files of each version are read from this process's own folder (`_snapshot_folder`: made
  by mkdtemp, mode 0700, checked to be ours before each use), never from a shared one.

Nothing here knows Flask or SQLAlchemy: callers pass plain values.
"""
from __future__ import annotations

import atexit
import dataclasses
import logging
import os
import shutil
import stat
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from ..content.model import ContentPack
from ..content.pack import content_root, load_pack, pack_path
from ..content.problems import ContentError, Problem
from ..engine.pipeline import Pipeline
from . import checks

log = logging.getLogger(__name__)

# A request takes the served pipeline once and may wait (for the database's write lock) before it
# runs it; a pipeline replaced by a reload is therefore freed only this long after it stopped
# being served (longer than gunicorn's 60 s worker timeout), and at most this many are kept.
RETIRED_GRACE_SECONDS = 120.0
MAX_RETIRED = 8

# Each served version is read from its own copy of its files (see own_copy).
_snapshots: tuple[int, Path] | None = None      # (process id, folder)
_snapshots_lock = threading.Lock()


def _snapshot_folder() -> Path:
    """This process's own folder for the files of the versions it serves and explains: made by
    mkdtemp (mode 0700, so no other user can plant files in it), checked to be still ours
    before each use (a real folder, owned by this user, closed to others), removed when the
    process exits."""
    global _snapshots
    with _snapshots_lock:
        if _snapshots is None or _snapshots[0] != os.getpid() or not _owned(_snapshots[1]):
            folder = Path(tempfile.mkdtemp(prefix="configurator-served-"))
            _snapshots = (os.getpid(), folder)
            atexit.register(_remove_snapshots, os.getpid(), folder)
        return _snapshots[1]


def _owned(folder: Path) -> bool:
    try:
        info = folder.lstat()
    except OSError:
        return False
    return (stat.S_ISDIR(info.st_mode) and info.st_uid == os.geteuid()
            and not info.st_mode & (stat.S_IRWXG | stat.S_IRWXO))


def _remove_snapshots(pid: int, folder: Path) -> None:
    if os.getpid() == pid:          # not in a process forked from the one that made it
        shutil.rmtree(folder, ignore_errors=True)


def version_folder(version: str, files: dict[str, bytes]) -> Path:
    """A folder of this process's own holding exactly `files` (a content version's), written
    once per version and never changed afterwards."""
    base = _snapshot_folder()
    folder = base / version
    if not (folder / ".complete").exists():
        staging = Path(tempfile.mkdtemp(prefix=f".{version}-", dir=base))
        for rel, data in files.items():
            target = pack_path(staging, rel)       # refuses a name that leaves the folder
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        (staging / ".complete").write_text(version)
        try:
            os.rename(staging, folder)
        except OSError:         # another thread made it first (or left it half made)
            if (folder / ".complete").exists():
                shutil.rmtree(staging, ignore_errors=True)
            else:
                folder = staging
    return folder


def own_copy(pack: ContentPack) -> ContentPack:
    """`pack`, re-rooted on a private copy of its files that never changes.

    Proposal templates, messages and assets are read when a PDF is rendered; read from the
    watched folder, a product manager's next edit (even one refused as broken) would reach PDFs
    stored as the version being served. A pack without its own proposals/ keeps the default
    templates."""
    folder = version_folder(pack.version, pack.files)
    return dataclasses.replace(pack, root=folder, proposals_dir=folder / "proposals"
                               if pack.own_proposals else pack.proposals_dir)


class RetiredPipelines:
    """Pipelines no longer handed out to new callers, freed once none can still be about to run
    them: `grace` seconds after they were retired, or when more than `keep` are waiting.

    Freeing a pipeline at once made a caller that had taken it a moment before fail ("this
    content was replaced", a 503 from the API); one still running an evaluation when it is freed
    frees it when the evaluation ends (Pipeline.close)."""

    def __init__(self, grace: float = RETIRED_GRACE_SECONDS, keep: int = MAX_RETIRED):
        self.grace, self.keep = grace, keep
        self._items: list[tuple[float, Pipeline]] = []    # (when retired, pipeline), oldest first
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._items)

    def add(self, pipeline: Pipeline) -> None:
        with self._lock:
            self._items.append((time.monotonic(), pipeline))
        self.free()

    def free(self, grace: float | None = None) -> int:
        """Free those retired more than `grace` (default: self.grace) seconds ago, and all but
        the newest `keep`; returns how many were freed."""
        grace = self.grace if grace is None else grace
        now = time.monotonic()
        closing = []
        with self._lock:
            while self._items and (now - self._items[0][0] > grace
                                   or len(self._items) > self.keep):
                closing.append(self._items.pop(0)[1])
        for pipeline in closing:
            pipeline.close()
        return len(closing)


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
        self._retired = RetiredPipelines()     # replaced pipelines, until no request can use them
        self.archive = ArchivedPipelines(retired=self._retired)   # pipelines of older versions
        # Called after a new pipeline is served or replaced ones were freed (the server freezes
        # the long-lived objects for the garbage collector then: gcpause.freeze_long_lived).
        self.on_change: Callable[[], None] | None = None

    @property
    def pack(self) -> ContentPack:
        if self.pipeline is None:
            raise ContentError(self.status.problems)
        return self.pipeline.pack

    def pipeline_for(self, version: str, files: Callable[[str], dict[str, bytes]]) -> Pipeline:
        """The pipeline of content `version`: the served one, else the stored version's from the
        cache of old versions (`files(version)` gives its stored files)."""
        served = served_pipeline(self)
        if served.pack.version == version:
            return served
        return self.archive.get(version, files)

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
                    if self._retired and self._retired.free():
                        self._changed()
                    continue
                while not self._stop.wait(interval):      # let the writes settle
                    settled = self.fingerprint()
                    if settled == now:
                        break
                    now = settled
                seen = now
                try:
                    self.load()
                    if self._retired.free():
                        self._changed()
                except Exception:   # keep watching whatever happened; load() logs the cause
                    log.exception("reloading content from %s failed", self.root)

        self._stop.clear()
        thread = threading.Thread(target=loop, name="content-watch", daemon=True)
        thread.start()
        return thread

    def stop_watching(self) -> None:
        self._stop.set()

    def free_retired(self, grace: float | None = None) -> None:
        """Free the rules-engine rulesets of replaced pipelines whose grace is over (see
        RetiredPipelines); the watcher calls it on every look."""
        if self._retired.free(grace):
            self._changed()

    def _changed(self) -> None:
        if self.on_change is not None:
            try:
                self.on_change()
            except Exception:   # never let a hook stop serving
                log.exception("content change hook failed")

    def load(self) -> ContentStatus:
        """(Re)load the pack from disk; keeps the serving pipeline when the new pack is broken."""
        with self._lock:
            pack, problems = checks.check_pack(self.root)
            if pack is not None and self.pipeline is not None and pack.version == self.pipeline.pack.version:
                self.status = ContentStatus(str(self.root), pack.version, True, problems, time.time())
                return self.status
            pipeline = None
            if pack is not None:
                # what is tried and served no longer follows the disk
                checked = checks.verify(own_copy(pack), problems, trial=self.trial, build=True)
                pipeline, problems = checked.pipeline, checked.problems
            if pipeline is not None:
                old, self.pipeline = self.pipeline, pipeline
                if old is not None:      # a request may have taken it: not freed yet
                    self._retired.add(old)
                self.status = ContentStatus(str(self.root), pipeline.pack.version, True,
                                            problems, time.time())
                log.info("content %s loaded from %s", pipeline.pack.version, self.root)
                self._changed()
                return self.status
            serving = self.pipeline.pack.version if self.pipeline else None
            self.status = ContentStatus(str(self.root), serving, False, problems, time.time())
            for problem in problems:
                log.error("content not loaded: %s", problem)
            return self.status


class ArchivedPipelines:
    """Pipelines of content versions that are no longer served, rebuilt from their stored
    files, so an old revision is explained and rendered exactly. Keeps the `keep` most recently
    used; one dropped from them is retired (freed after a grace: a request may have just been
    given it)."""

    def __init__(self, keep: int = 3, retired: RetiredPipelines | None = None):
        self.keep = keep
        self._pipelines: dict[str, Pipeline] = {}
        self._lock = threading.Lock()
        self._retired = retired if retired is not None else RetiredPipelines()

    def get(self, version: str,
            files: dict[str, bytes] | Callable[[str], dict[str, bytes]]) -> Pipeline:
        """The pipeline of `version`; `files` are its stored files, or a function giving them
        (called only when the pipeline has to be built)."""
        with self._lock:
            if version in self._pipelines:
                self._pipelines[version] = self._pipelines.pop(version)   # most recent last
                return self._pipelines[version]
            stored = files(version) if callable(files) else files
            pipeline = Pipeline(load_pack(version_folder(version, stored)))
            self._pipelines[version] = pipeline
            while len(self._pipelines) > self.keep:
                oldest = next(iter(self._pipelines))
                self._retired.add(self._pipelines.pop(oldest))
            return pipeline


def served_pipeline(content: Content | Pipeline) -> Pipeline:
    """The pipeline being served now (or `content` itself when it is a pipeline); taken once per
    use case so that a document and the content version stored with it come from the same pack
    even if the content is reloaded meanwhile. ContentError when none is usable."""
    if isinstance(content, Pipeline):
        return content
    pipeline = content.pipeline
    if pipeline is None:
        raise ContentError(content.status.problems)
    return pipeline
