"""Imported once by the render server (see pdf.py: multiprocessing's forkserver) before it forks
any render child: one tiny render, so that every child starts with WeasyPrint's fonts and style
sheets loaded (otherwise the first render of each child costs about 200 ms more), then the
server's objects are frozen out of the garbage collector, so that children do not copy the
memory pages the collector would touch."""
import gc

from .pdf import warm_up

warm_up()
gc.freeze()
