"""How many cores this process may use: the one count behind every default number of workers.

A module of its own, importing nothing from scenelab, so that the engine (``model.warmup``), the
thread pool (``parallel``) and the Dask cluster (``experiments.cluster``) can all use it without
import cycles.
"""

from __future__ import annotations

import os


def usable_cores() -> int:
    """Return the cores this process may run on (its CPU affinity; at least 1)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)
