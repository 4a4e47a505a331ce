"""How fast the machine gets through calibration simulations: Dask processes vs threads vs serial.

The Bergen ABC calibration ran at about 1.4 s of wall time per simulation on 2 Dask worker
processes, while one simulation costs 1.5-2 s of CPU: a parallel efficiency near 0.6, against
0.85 for replicates in threads (``bench_threads.py``). This benchmark runs the same simulations
(the calibration's own model: ``scenelab.run`` to 2016-12-31 plus the pattern figures, at fixed
parameter draws from the calibration's prior and fixed seeds) three ways and reports wall seconds
per simulation and the efficiency of each parallel way against the serial one:

- ``serial``: one after another in this process;
- ``threads``: a ``ThreadPoolExecutor`` with ``--workers`` threads in this process (the compiled
  tick loop releases the GIL);
- ``dask``: a Dask ``LocalCluster`` with ``--workers`` single-threaded worker processes, as
  ``scenelab calibrate`` starts it (``experiments.cluster.dask_client``).

Each way is warmed up (compiled code loaded in every worker) before it is timed; the three ways
alternate over ``--repeats``.

    .venv/bin/python benchmarks/bench_abc_backends.py [--sims 12] [--workers 2] [--repeats 2]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import machine, median, table

CALIBRATION = Path(__file__).resolve().parent.parent / (
    "examples/experiments/bergen_calibration_patterns.toml"
)


def _simulator() -> tuple[Callable[[dict[str, float], int], float], list[dict[str, float]]]:
    """The calibration's simulation as a picklable callable, and parameter draws from its prior."""
    from scenelab.experiments.calibrate import AbcSimulator, model_for_calibration
    from scenelab.experiments.spec import load_calibration

    spec = load_calibration(CALIBRATION)
    model = model_for_calibration(spec)
    prepared = model.prepare(spec.calibration.scenario)
    ranges = model.parameters(prepared)
    simulator = AbcSimulator(model, prepared, spec.fixed, list(spec.targets))
    rng = np.random.default_rng(2014)
    draws = [
        {n: float(rng.uniform(ranges[n].low, ranges[n].high)) for n in spec.parameters}
        for _ in range(64)
    ]
    return simulator, draws


def one(simulator: Any, params: dict[str, float]) -> float:  # noqa: ANN401 - an AbcSimulator
    """Run one simulation; return its CPU seconds in the process that ran it."""
    started = time.thread_time()
    simulator(params)
    return time.thread_time() - started


def main(argv: list[str] | None = None) -> int:
    """Time the three ways side by side and print a table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sims", type=int, default=12, help="simulations per way and repeat")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args(argv)
    from scenelab.experiments.cluster import dask_client

    simulator, draws = _simulator()
    work = [draws[i % len(draws)] for i in range(args.sims)]
    one(simulator, work[0])  # compiled code loaded in this process
    walls: dict[str, list[float]] = {"serial": [], "threads": [], "dask": []}
    cpus: dict[str, list[float]] = {"serial": [], "threads": [], "dask": []}
    with (
        ThreadPoolExecutor(args.workers) as pool,
        dask_client(n_workers=args.workers) as client,
    ):
        client.gather(client.map(one, [simulator] * args.workers, work[: args.workers], pure=False))
        list(pool.map(lambda p: one(simulator, p), work[: args.workers]))
        for _ in range(args.repeats):
            t = time.perf_counter()
            cpu = [one(simulator, p) for p in work]
            walls["serial"].append(time.perf_counter() - t)
            cpus["serial"].extend(cpu)
            t = time.perf_counter()
            cpu = list(pool.map(lambda p: one(simulator, p), work))
            walls["threads"].append(time.perf_counter() - t)
            cpus["threads"].extend(cpu)
            t = time.perf_counter()
            cpu = client.gather(client.map(one, [simulator] * len(work), work, pure=False))
            walls["dask"].append(time.perf_counter() - t)
            cpus["dask"].extend(cpu)
    serial = median(walls["serial"]) / args.sims
    rows = []
    for way, values in walls.items():
        per = median(values) / args.sims
        rows.append(
            {
                "way": way,
                "workers": 1 if way == "serial" else args.workers,
                "wall_s_per_sim": per,
                "cpu_s_per_sim": median(cpus[way]),
                "efficiency": serial / (per * (1 if way == "serial" else args.workers)),
            }
        )
    print(machine())
    print(table(rows, f"calibration simulations ({args.sims} per way, median of {args.repeats})"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
