"""`gc_paused()`: no cyclic garbage collection while a content pack is read, checked or compiled.
`freeze_long_lived()`: a server's loaded content out of the collector's sight.

Those steps make hundreds of thousands of small objects that all stay alive, and every
collection would walk them all again (measured on a 10,000-rule pack: loading 5.7 s -> 2.2 s of
CPU, compiling 1.28 s -> 0.67 s). Nested use is fine: only the outermost use turns it back on.
"""
from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def freeze_long_lived() -> None:
    """Collect what is garbage now, then hide every live object from later collections.

    For a server process once its content is served (and again after a reload): the content
    pack and its compiled pipeline are some 120,000 objects that live as long as the process, and
    each full collection walked them all, about 150 ms during which the worker answered nothing
    (the tail of the HTTP latency). Frozen objects are still freed when nothing refers to them;
    unfreezing first lets this collection reclaim cycles among those released since the last
    freeze (a replaced pack's).
    """
    gc.unfreeze()
    gc.collect()
    gc.freeze()
