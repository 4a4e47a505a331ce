"""Parallel efficiency of experiments on 1 vs 2 local Dask workers.

The same runs (same seeds) go through the full experiments path — Dask
LocalCluster, worker runs, client-side DuckDB commits — on a 1-worker and a
2-worker cluster, side by side: each repeat times the 1-worker run and then
the 2-worker run into fresh output directories, so machine noise hits both
alike. Reports the median wall time of each, the speedup T1/T2 and the
parallel efficiency T1 / (2 * T2).

    .venv/bin/python benchmarks/bench_parallel.py                   # real model, Bergen
    .venv/bin/python benchmarks/bench_parallel.py --model toy       # CPU-bound stand-in

Workers are warmed up first (imports; Numba kernels load from the on-disk
cache or compile once per worker process), so timings are steady state.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import tempfile
import time
from pathlib import Path

from distributed import Client, LocalCluster

from scenelab.experiments import parse_experiment, run_experiment


def make_spec(model: str, runs: int, until: str, work: float):
    experiment = {"name": f"bench-{model}", "model": model, "seed": 1, "replicates": runs}
    arm = {"name": "base", "scenario": "bergen" if model == "scenelab" else "toy"}
    if model == "scenelab":
        experiment["until"] = until
    else:
        arm["overrides"] = {"work_seconds": work}
    return parse_experiment({"experiment": experiment, "arms": [arm]}, "<benchmark>")


def warm_up(client: Client, spec) -> None:
    # One short run per worker process, outside the timed region.
    warm = spec.model_copy(
        update={"experiment": spec.experiment.model_copy(update={"replicates": 1})}
    )
    from scenelab.experiments import execute_runs, plan_experiment

    plan = plan_experiment(warm)
    futures = [
        client.submit(execute_runs, plan.model, plan.tasks, (), workers=[w], pure=False)
        for w in client.scheduler_info()["workers"]
    ]
    for f in futures:
        (rec,) = f.result()
        if rec.status != "ok":
            raise RuntimeError(rec.error)


def timed(spec, client: Client, out: Path) -> float:
    t0 = time.perf_counter()
    result = run_experiment(spec, out, client=client, progress=False, echo=lambda _m: None)
    elapsed = time.perf_counter() - t0
    if not result.complete or result.completed != result.total:
        raise RuntimeError(f"incomplete benchmark run: {result}")
    return elapsed


def cluster(n: int) -> LocalCluster:
    return LocalCluster(
        n_workers=n,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address="127.0.0.1:0",
        silence_logs=logging.ERROR,
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", choices=("scenelab", "toy"), default="scenelab")
    ap.add_argument("--runs", type=int, default=8, help="runs per timed experiment")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--until", default="2012-12-31", help="scenelab: end of each run")
    ap.add_argument("--work", type=float, default=0.5, help="toy: CPU seconds per run")
    args = ap.parse_args()

    spec = make_spec(args.model, args.runs, args.until, args.work)
    times: dict[int, list[float]] = {1: [], 2: []}
    with (
        cluster(1) as c1,
        Client(c1) as one,
        cluster(2) as c2,
        Client(c2) as two,
        tempfile.TemporaryDirectory() as tmp,
    ):
        warm_up(one, spec)
        warm_up(two, spec)
        for r in range(args.repeats):
            for n, client in ((1, one), (2, two)):
                times[n].append(timed(spec, client, Path(tmp) / f"{n}-{r}"))
            print(f"repeat {r + 1}: 1 worker {times[1][-1]:.2f} s, 2 workers {times[2][-1]:.2f} s")
    t1, t2 = statistics.median(times[1]), statistics.median(times[2])
    what = f"until {args.until}" if args.model == "scenelab" else f"{args.work} s CPU each"
    print(f"model {args.model}: {args.runs} runs ({what}), median of {args.repeats} repeats")
    print(f"  1 worker : {t1:.2f} s")
    print(f"  2 workers: {t2:.2f} s")
    print(f"  speedup T1/T2 = {t1 / t2:.2f}; parallel efficiency T1/(2*T2) = {t1 / (2 * t2):.2f}")


if __name__ == "__main__":
    main()
