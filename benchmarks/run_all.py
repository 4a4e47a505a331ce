"""``make bench``: every benchmark, then the goals of the performance issue against what was seen.

1. scenelab vs the Mesa reference, same scenario and window, alternating (:mod:`bench_mesa`);
2. the full model vs a bare compiled site-choice kernel per agent-tick, at Bergen scale
   (:mod:`bare_kernel`), and where a Bergen tick's time goes (:mod:`phase_profile`);
3. scaling with people and sites, and memory per person (:mod:`bench_scaling`);
4. start-up, compiling and from the cache (:mod:`bench_startup`);
5. the HTML report's build time and size (:mod:`bench_report`);
6. optionally, the docking comparison (:mod:`docking`; the test suite asserts it).

Timings are medians; the machine line gives the load they ran under. ``--quick`` runs everything
at toy sizes (what the test suite does to check the benchmarks run; its figures mean nothing).

    python benchmarks/run_all.py [--quick] [--json out/bench.json] [--docking]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import datetime as dt

import scenelab
from benchmarks import (
    bare_kernel,
    bench_mesa,
    bench_report,
    bench_scaling,
    bench_startup,
    docking,
    phase_profile,
)
from benchmarks.common import machine, table
from benchmarks.scenarios import DOCK_START


def goals(mesa: dict[str, Any], bare: dict[str, Any], scaling: dict[str, Any],
          startup: dict[str, Any]) -> list[dict[str, Any]]:  # fmt: skip
    """Return the issue's goals with the measured values."""
    by_impl = {r["implementation"]: r for r in mesa["rows"]}
    full = bare["rows"][0]
    mem = max(r["people_bytes_per_person"] for r in scaling["rows"])
    state = max(r["state_bytes_per_person"] for r in scaling["rows"])
    starts = {r["start"]: r for r in startup["rows"]}
    out = [
        ("scenelab.run >= 100x Mesa reference", by_impl["scenelab.run"]["x_mesa"], ">=", 100),
        ("scenelab engine >= 100x Mesa reference", by_impl["scenelab engine"]["x_mesa"], ">=", 100),
        ("full model <= 3x bare kernel per agent-tick", full["x_bare"], "<=", 3),
        ("full model <= 2x the bare kernel with attendance", full["x_bare_attending"], "<=", 2),
        ("Bergen 2012-2017, one replicate <= 0.8 s", full["median_s"], "<=", 0.8),
        (">= 1e7 agent-ticks/s per core at Bergen scale", full["agent_ticks_per_s"], ">=", 1e7),
        ("cost exponent vs people <= 1.1", scaling["fits"]["people"], "<=", 1.1),
        ("cost exponent vs sites <= 1.1", scaling["fits"]["sites"], "<=", 1.1),
        ("people arrays <= 1 KB per person", mem, "<=", 1024),
        ("all model state <= 1 KB per person (largest seen)", state, "<=", 1024),
    ]
    if "first (compiles)" in starts:
        first = starts["first (compiles)"]["compile_or_load_s"]
        out.append(("first compile <= 45 s", first, "<=", 45))
    if "cached" in starts:
        ready = starts["cached"]["ready_to_simulate_s"]
        out.append(("cached start of `scenelab run` < 2 s before simulating", ready, "<", 2.0))
    ops = {">=": lambda v, x: v >= x, "<=": lambda v, x: v <= x, "<": lambda v, x: v < x}
    return [{"goal": g, "measured": v, "met": ops[op](v, lim)} for g, v, op, lim in out]


def report_goals(report: dict[str, Any]) -> list[dict[str, Any]]:
    """Return the report goals of the speed issue with the measured values."""
    most = max(report["rows"], key=lambda r: r["replicates"])
    return [
        {"goal": f"report for {most['replicates']} replicates <= 2 s",
         "measured": most["build_s"], "met": most["build_s"] <= 2.0},
        {"goal": "report.html <= 1 MB (plotly.js shared)",
         "measured": most["report_html_MB"], "met": most["report_html_MB"] <= 1.0},
    ]  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    """Run every benchmark and print its table, then the goals."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="toy sizes (checks that it runs)")
    parser.add_argument("--docking", action="store_true", help="also run the docking comparison")
    parser.add_argument("--json", type=Path, default=None, help="also write results as JSON")
    args = parser.parse_args(argv)
    q = args.quick
    started = time.perf_counter()
    print(machine())
    print()
    mesa = bench_mesa.measure(
        repeats=1 if q else 5, end=DOCK_START + dt.timedelta(days=1) if q else bench_mesa.DOCK_END
    )
    print(bench_mesa.render(mesa), "\n", flush=True)
    bergen = scenelab.load_scenario("bergen")
    until = bergen.run.start + dt.timedelta(days=2) if q else None
    bare = bare_kernel.measure(bergen, 1 if q else 5, 10 if q else 500, until)
    print(bare_kernel.render(bare), "\n", flush=True)
    prof = phase_profile.profile(bergen, until=until)
    print(phase_profile.render(prof), "\n", flush=True)
    scaling = bench_scaling.sweep(
        [200, 400] if q else bench_scaling.PEOPLE,
        [10, 20] if q else bench_scaling.SITES,
        fixed_sites=10 if q else 100,
        fixed_people=200 if q else 10_000,
        days=2 if q else 4,
        repeats=1 if q else 3,
    )
    print(bench_scaling.render(scaling), "\n", flush=True)
    startup = bench_startup.measure(cached=1 if q else 3, cold=0 if q else 1, serial=not q)
    print(bench_startup.render(startup), "\n", flush=True)
    report = (
        bench_report.measure(replicates=(1, 2), repeats=1, end="2013-12-31")
        if q
        else bench_report.measure()
    )
    print(bench_report.render(report), "\n", flush=True)
    if args.docking:
        docking.main(["--seeds", "3", "--end", "2014-06-03"] if q else ["--seeds", "30"])
        print()
    goal_rows = goals(mesa, bare, scaling, startup) + report_goals(report)
    print(
        table(
            goal_rows, "goals of the performance issue" + (" (--quick: meaningless)" if q else "")
        )
    )
    print(f"\nall benchmarks: {time.perf_counter() - started:.0f} s")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        blob = {
            "machine": machine(),
            "mesa": mesa,
            "bare": bare,
            "phase_profile": prof,
            "scaling": {k: v for k, v in scaling.items() if k != "profiles"},
            "startup": startup,
            "report": report,
            "goals": goal_rows,
        }
        args.json.write_text(json.dumps(blob, indent=2, default=str), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
