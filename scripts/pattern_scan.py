"""Scan behavioural parameters on a grid and count, per cell, the seeds in which each pattern holds.

An exploration tool for the model's owners, not calibration: it shows where in a parameter box a
city's observed patterns appear (the ABC machinery, ``scenelab calibrate``, does the fitting).

    .venv/bin/python scripts/pattern_scan.py bergen --seeds 3 \
        --grid w_memory_control=1.0,0.4,0.15 --grid controls_per_officer_hour=0.25,0.5

Prints the number of seeds in which each pattern holds per cell, then the mean of the figures
whose names contain one of ``--show`` (default: P2, P3, P6 and P7's figures) per cell.
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time

import pandas as pd

import scenelab
from scenelab.parallel import RunTask, default_workers, run_many
from scenelab.patterns import all_patterns


def scan(
    scenario: str, grid: dict[str, list[float]], seeds: int, fixed: dict[str, float], workers: int
) -> pd.DataFrame:
    """Run every cell of ``grid`` (with ``fixed``) for seeds 1..``seeds``; one row per pattern."""
    scn = scenelab.load_scenario(scenario)
    names = list(grid)
    cells = list(itertools.product(*grid.values()))
    tasks = [
        RunTask(scn, seed, overrides={**fixed, **dict(zip(names, cell, strict=True))})
        for cell in cells
        for seed in range(1, seeds + 1)
    ]
    results = iter(run_many(tasks, workers=workers))
    rows = []
    for cell in cells:
        for seed in range(1, seeds + 1):
            res = next(results)
            for p in all_patterns(res, scn):
                figures = {f"{p.pattern}.{k}": v for k, v in p.measured.items()}
                rows.append({**dict(zip(names, cell, strict=True)), "seed": seed,
                             "pattern": p.pattern, "holds": p.holds, **figures})  # fmt: skip
    return pd.DataFrame(rows)


def _pairs(items: list[str], what: str) -> dict[str, list[float]]:
    out = {}
    for item in items:
        name, sep, values = item.partition("=")
        if not sep:
            raise SystemExit(f"{what} must be NAME=V1,V2,... (got {item!r})")
        out[name] = [float(v) for v in values.split(",")]
    return out


def main(argv: list[str] | None = None) -> int:
    """Parse the command line, scan, print the two tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenario")
    parser.add_argument("--grid", action="append", default=[], help="NAME=V1,V2,... (repeat)")
    parser.add_argument("--set", action="append", default=[], help="NAME=V held in every cell")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=default_workers())
    parser.add_argument("--show", action="append", default=["P2.", "P3.", "P6.", "P7."])
    args = parser.parse_args(argv)
    grid = _pairs(args.grid, "--grid")
    fixed = {k: v[0] for k, v in _pairs(args.set, "--set").items()}
    started = time.perf_counter()
    df = scan(args.scenario, grid, args.seeds, fixed, args.workers)
    took = time.perf_counter() - started
    keys = list(grid)
    if not keys:  # no grid: one cell, labelled as such
        df = df.assign(cell="fixed")
        keys = ["cell"]
    print(f"{len(df.groupby(keys + ['seed']))} runs in {took:.0f} s; fixed: {fixed or 'none'}")
    held = df.pivot_table(index=keys, columns="pattern", values="holds", aggfunc="sum")
    print(f"seeds (of {args.seeds}) in which each pattern holds")
    print(held.to_string())
    shown = [c for c in df.columns if "." in c and any(c.startswith(s) for s in args.show)]
    print("mean over seeds")
    print(df.groupby(keys)[shown].mean().round(3).T.to_string())
    return 0


if __name__ == "__main__":
    sys.exit(main())
