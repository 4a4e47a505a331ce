"""Run many replicates at once, in threads of this process.

The compiled tick loop releases the GIL (``nogil=True`` in ``model.engine``), so replicates run in
threads really run side by side: nothing is pickled, nothing is compiled twice, and every thread
reads the same compiled code. Only building the result tables (pandas) takes turns on the GIL,
which is a small share of a run. A run's result depends only on its scenario, seed, replicate,
window and overrides (counter-based random streams, ``model.rng``), so the number of workers never
changes a figure: common random numbers hold across arms exactly as with one worker.

Large designs (thousands of runs, several machines) belong to ``scenelab experiment`` on Dask.
"""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from scenelab.api import Results, run
from scenelab.cores import usable_cores
from scenelab.errors import ArgumentError
from scenelab.scenario import schema as sc
from scenelab.scenario.loader import load_scenario

#: The most worker threads a command accepts (more than the cores only adds switching).
MAX_WORKERS = 256


@dataclass(frozen=True)
class RunTask:
    """One replicate to run: the same arguments as :func:`scenelab.run`."""

    scenario: sc.Scenario
    seed: int
    replicate: int = 0
    until: dt.date | None = None
    overrides: dict[str, float] | None = None


def check_workers(workers: object) -> int:
    """Return ``workers`` if it is a whole number from 1 to :data:`MAX_WORKERS`.

    Raises:
        ArgumentError: Otherwise.
    """
    if isinstance(workers, bool) or not isinstance(workers, int):
        raise ArgumentError(f"workers must be a whole number (got {workers!r})")
    if not 1 <= workers <= MAX_WORKERS:
        raise ArgumentError(f"workers must be from 1 to {MAX_WORKERS} (got {workers})")
    return workers


def default_workers() -> int:
    """Return the cores this process may use (the default for ``--workers``)."""
    return usable_cores()


def run_many(
    tasks: Sequence[RunTask],
    workers: int = 1,
    progress: bool = False,
    on_done: Callable[[int, int], None] | None = None,
) -> list[Results]:
    """Run every task and return their results in the order of ``tasks``.

    Args:
        tasks: The runs.
        workers: Threads to run them in (1 runs them one after another in this thread).
        progress: Print one line per finished run to standard error.
        on_done: Called as ``on_done(finished, total)`` after each run (progress bars, dashboards).

    Returns:
        One :class:`Results` per task, in task order, identical whatever ``workers`` is.
    """
    workers = check_workers(workers)
    total = len(tasks)
    finished = 0

    def one(task: RunTask) -> Results:
        # One run's own bar is noise when several run at once; a line per run says enough.
        res = run(
            task.scenario,
            seed=task.seed,
            replicate=task.replicate,
            until=task.until,
            overrides=task.overrides,
            progress=progress and workers == 1,
        )
        return res

    def done(res: Results) -> Results:
        nonlocal finished
        finished += 1
        if progress and workers > 1:
            print(
                f"{res.summary['scenario']} seed {res.summary['seed']} "
                f"r{res.summary['replicate']}: done in {res.summary['wall_time_seconds']:.1f} s "
                f"({finished}/{total})",
                file=sys.stderr,
            )
        if on_done is not None:
            on_done(finished, total)
        return res

    if workers == 1 or total <= 1:
        return [done(one(task)) for task in tasks]
    with ThreadPoolExecutor(max_workers=min(workers, total), thread_name_prefix="scenelab") as pool:
        futures = [pool.submit(one, task) for task in tasks]
        # Collected in task order; ``done`` runs in this thread, so the count needs no lock.
        return [done(f.result()) for f in futures]


def run_replicates(
    scenario: sc.Scenario | str | Path,
    seed: int | None = None,
    replicates: int = 1,
    *,
    until: dt.date | None = None,
    overrides: dict[str, float] | None = None,
    workers: int = 1,
    progress: bool = False,
) -> list[Results]:
    """Run replicates ``0 .. replicates-1`` of one scenario under one seed, ``workers`` at a time.

    The results equal ``[scenelab.run(scenario, seed, replicate=r, ...) for r in range(n)]``.
    """
    scn = scenario if isinstance(scenario, sc.Scenario) else load_scenario(scenario)
    seed = scn.run.seed if seed is None else seed
    tasks = [RunTask(scn, seed, r, until, overrides) for r in range(replicates)]
    return run_many(tasks, workers=workers, progress=progress)
