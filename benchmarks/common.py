"""Shared helpers for the benchmarks: timing, agent-tick counts, machine facts, plain tables.

Timings on a shared, noisy machine: every benchmark reports medians of repeats, alternates the
implementations it compares within one run, and prints the load average it ran under.
"""

from __future__ import annotations

import os
import platform
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np

from scenelab.model.engine import RawRun
from scenelab.model.metrics import CD


def agent_ticks(raw: RawRun) -> int:
    """Return person-hours in the population of a scenelab run (the agent-ticks it simulated)."""
    return int(raw.out.city_day[: raw.n_days, CD["population"]].sum() * 24)


def clock_name() -> str:
    """Return which clock :func:`timed` reads: ``wall`` (default) or ``cpu``.

    ``SCENELAB_BENCH_CLOCK=cpu`` times the process's CPU seconds instead of wall seconds: on a
    machine whose cores other jobs share, a process waits for a core for a varying part of a wall
    second, which wall time counts and CPU time does not (every benchmark here is one thread).
    """
    return "cpu" if os.environ.get("SCENELAB_BENCH_CLOCK", "wall") == "cpu" else "wall"


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    """Call ``fn`` and return (seconds on the clock of :func:`clock_name`, its result)."""
    clock = time.process_time if clock_name() == "cpu" else time.perf_counter
    started = clock()
    out = fn()
    return clock() - started, out


def median(values: Sequence[float]) -> float:
    """Return the median of ``values``."""
    return float(np.median(np.asarray(values, dtype=float)))


def machine() -> str:
    """Return one line on the machine and the versions that produced a timing."""
    import mesa
    import numba

    try:
        load = "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        load = "load average n/a"
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            names = [ln.split(":", 1)[1].strip() for ln in fh if ln.startswith("model name")]
        cpu = names[0] if names else cpu
    except OSError:
        pass
    return (
        f"{cpu}, {os.cpu_count()} cores, {load}; Python {platform.python_version()}, "
        f"NumPy {np.__version__}, Numba {numba.__version__}, Mesa {mesa.__version__}; "
        f"{clock_name()} clock"
    )


def table(rows: Sequence[dict[str, Any]], title: str = "") -> str:
    """Format rows (dicts with the same keys) as an aligned plain-text table."""
    if not rows:
        return title
    cols = list(rows[0])

    def cell(v: Any) -> str:
        if isinstance(v, float):
            if v == 0.0 or 1e-3 <= abs(v) < 1e6:
                return f"{v:,.3f}" if abs(v) < 100 else f"{v:,.1f}"
            return f"{v:.3g}"
        return str(v)

    cells = [[cell(r[c]) for c in cols] for r in rows]
    width = [max(len(c), *(len(r[k]) for r in cells)) for k, c in enumerate(cols)]
    lines = [title] if title else []
    lines.append("  ".join(c.ljust(w) for c, w in zip(cols, width, strict=True)))
    lines.append("  ".join("-" * w for w in width))
    for r in cells:
        lines.append("  ".join(v.rjust(w) for v, w in zip(r, width, strict=True)))
    return "\n".join(lines)
