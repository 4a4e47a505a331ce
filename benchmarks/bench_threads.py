"""Replicates in threads of one process (``--workers``) vs one after another, side by side.

Each repeat runs the same replicates (same seeds, so the same work) first with 1 worker, then with
2, alternating so machine noise hits both alike. Reports the median wall time of each, the speedup
T1/T2 and the parallel efficiency T1 / (2 * T2); the issue's target is >= 85% on 2 workers.
The work is whole ``scenelab.run`` calls (simulation and result tables), as ``run``, ``compare``
and ``patterns`` do them. The compiled code is warmed up first (cache load or compile).

    .venv/bin/python benchmarks/bench_threads.py [--replicates 8] [--until 2013-12-31] [--repeats 3]

``--compare`` times the issue's own form instead: ``scenelab compare`` of Bergen's four built-in
strategies x ``--replicates`` (default 10 there), the whole command (runs, paired statistics,
tables and report written into a temporary folder), with ``--workers 1`` and ``2``, alternating.

    .venv/bin/python benchmarks/bench_threads.py --compare [--replicates 10] [--repeats 2]
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import machine, median, table, timed
from scenelab.compare import compare_to_directory
from scenelab.parallel import run_replicates
from scenelab.scenario.loader import load_scenario


def measure(scenario: str, replicates: int, until: dt.date, repeats: int) -> dict[str, Any]:
    """Time ``replicates`` runs with 1 and with 2 workers, alternating, ``repeats`` times."""
    scn = load_scenario(scenario)
    run_replicates(scn, 1, 1, until=min(until, scn.run.start + dt.timedelta(days=30)))
    one: list[float] = []
    two: list[float] = []
    for _ in range(repeats):
        one.append(timed(lambda: run_replicates(scn, 1, replicates, until=until, workers=1))[0])
        two.append(timed(lambda: run_replicates(scn, 1, replicates, until=until, workers=2))[0])
    t1, t2 = median(one), median(two)
    return {
        "scenario": scenario,
        "replicates": replicates,
        "until": until.isoformat(),
        "t_1_worker_s": t1,
        "t_2_workers_s": t2,
        "speedup": t1 / t2,
        "efficiency_2": t1 / (2 * t2),
    }


#: Bergen's built-in strategies, the reference first (as ``scenelab compare`` takes them).
STRATEGIES = ["bergen", "bergen-closure-only", "bergen-harm-reduction", "bergen-no-closure"]


def measure_compare(
    strategies: list[str], replicates: int, until: dt.date | None, repeats: int
) -> dict[str, Any]:
    """Time ``compare`` of ``strategies`` x ``replicates`` with 1 and 2 workers, alternating."""
    scns = [load_scenario(s) for s in strategies]
    run_replicates(scns[0], 1, 1, until=scns[0].run.start + dt.timedelta(days=30))  # warm up

    def compare(workers: int) -> float:
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "compare"
            return timed(
                lambda: compare_to_directory(
                    scns, out, replicates=replicates, seed=1, progress=False, until=until,
                    workers=workers,
                )
            )[0]  # fmt: skip

    one: list[float] = []
    two: list[float] = []
    for _ in range(repeats):
        one.append(compare(1))
        two.append(compare(2))
    t1, t2 = median(one), median(two)
    return {
        "strategies": len(strategies),
        "replicates": replicates,
        "t_1_worker_s": t1,
        "t_2_workers_s": t2,
        "speedup": t1 / t2,
        "efficiency_2": t1 / (2 * t2),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="bergen")
    parser.add_argument("--replicates", type=int, default=None, help="8 (10 with --compare)")
    parser.add_argument("--until", type=dt.date.fromisoformat, default=dt.date(2017, 12, 31))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="toy sizes (checks that it runs)")
    parser.add_argument(
        "--compare", action="store_true", help="time `compare` of Bergen's 4 strategies instead"
    )
    args = parser.parse_args(argv)
    if args.compare:
        replicates = 2 if args.quick else (args.replicates or 10)
        until = dt.date(2012, 3, 31) if args.quick else None
        row = measure_compare(STRATEGIES, replicates, until, 1 if args.quick else args.repeats)
        print(machine())
        print(table([row], "compare in threads: 1 vs 2 workers (medians)"))
        return 0
    if args.quick:
        args.scenario, args.replicates, args.until, args.repeats = (
            "examples/small_city.toml",
            2,
            dt.date(2020, 2, 28),
            1,
        )
    row = measure(args.scenario, args.replicates or 8, args.until, args.repeats)
    print(machine())
    print(table([row], "replicates in threads: 1 vs 2 workers (medians)"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
