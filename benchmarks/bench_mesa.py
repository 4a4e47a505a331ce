"""Speed: scenelab against the Mesa reference on the same scenario and window.

Both implementations run the docking variant of Bergen (the rules the Mesa reference implements)
over the docking window, alternating within one process and flipping which goes first on every
repeat, after one untimed warm-up each (so Numba's compilation or cache load is not timed). The
figure is agent-ticks per second: person-hours in the population simulated per wall second.

scenelab is timed twice: through the public seam ``scenelab.run`` (compiles the scenario, runs,
builds the tidy tables and outcomes, as calibration would call it) and at the engine
(``run_model``: compile, allocate, simulate). The Mesa time covers building the model, stepping it
and building its site-day table.

    python benchmarks/bench_mesa.py --repeats 5
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import scenelab
from benchmarks.common import agent_ticks, machine, median, table, timed
from benchmarks.mesa_reference import run_reference
from benchmarks.scenarios import DOCK_END, DOCK_START, docking_scenario
from scenelab.api import parameter_vector
from scenelab.model.engine import run_model


def measure(
    repeats: int = 5,
    start: dt.date = DOCK_START,
    end: dt.date = DOCK_END,
    seed: int = 1,
) -> dict[str, Any]:
    """Time both implementations ``repeats`` times each, alternating; return medians and ratios."""
    scn = docking_scenario(start, end)
    par = parameter_vector(scn)

    def run_mesa(k: int) -> tuple[float, int]:
        wall, ref = timed(lambda: run_reference(scn, seed + k))
        return wall, ref.agent_ticks

    def run_seam(k: int) -> tuple[float, int]:
        wall, res = timed(lambda: scenelab.run(scn, seed=seed + k))
        return wall, int(res.city_day["population"].sum() * 24)

    def run_engine(k: int) -> tuple[float, int]:
        wall, raw = timed(lambda: run_model(scn, par, seed=seed + k))
        return wall, agent_ticks(raw)

    sides = {"Mesa reference": run_mesa, "scenelab.run": run_seam, "scenelab engine": run_engine}
    for fn in sides.values():  # warm-up: compilation, caches, imports
        fn(0)
    walls: dict[str, list[float]] = {name: [] for name in sides}
    ticks: dict[str, list[int]] = {name: [] for name in sides}
    order = list(sides)
    for k in range(repeats):
        for name in order if k % 2 == 0 else order[::-1]:
            wall, n = sides[name](k + 1)
            walls[name].append(wall)
            ticks[name].append(n)
    rows = []
    for name in sides:
        rates = [n / w for n, w in zip(ticks[name], walls[name], strict=True)]
        rows.append(
            {
                "implementation": name,
                "median_s": median(walls[name]),
                "agent_ticks": int(median(ticks[name])),
                "agent_ticks_per_s": median(rates),
                "min_rate": min(rates),
                "max_rate": max(rates),
            }
        )
    mesa_rate = rows[0]["agent_ticks_per_s"]
    for row in rows:
        row["x_mesa"] = row["agent_ticks_per_s"] / mesa_rate
    return {
        "scenario": f"{scn.name} {scn.run.start}..{scn.run.end}",
        "people": scn.population.initial_people,
        "sites": len(scn.sites),
        "repeats": repeats,
        "rows": rows,
    }


def render(result: dict[str, Any]) -> str:
    """Return the result as a titled table."""
    title = (
        f"scenelab vs Mesa reference: {result['scenario']}, {result['people']} people, "
        f"{result['sites']} sites; median of {result['repeats']} alternating repeats"
    )
    return table(result["rows"], title)


def main(argv: list[str] | None = None) -> int:
    """Run the comparison and print its table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--start", type=dt.date.fromisoformat, default=DOCK_START)
    parser.add_argument("--end", type=dt.date.fromisoformat, default=DOCK_END)
    args = parser.parse_args(argv)
    print(machine())
    print(render(measure(args.repeats, args.start, args.end)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
