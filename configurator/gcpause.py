"""`gc_paused()`: no cyclic garbage collection while a content pack is read, checked or compiled.

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
