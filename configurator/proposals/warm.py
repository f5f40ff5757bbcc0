"""Imported once by the render server (see pdf.py: multiprocessing's forkserver) before it forks
any render child: one tiny render, with the style sheets of the template folder named in
CONFIGURATOR_PROPOSAL_WARM_FOLDER (set by pdf.py for the first template it renders), so that
every child starts with WeasyPrint's fonts and the template's parsed style sheets loaded
(otherwise the first render of each child costs about 200 ms more), then the
server's objects are frozen out of the garbage collector, so that children do not copy the
memory pages the collector would touch."""
import gc
import os

from .pdf import WARM_FOLDER_ENV, warm_up

warm_up(os.environ.get(WARM_FOLDER_ENV))
gc.freeze()
