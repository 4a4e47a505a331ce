"""Scaling: cost per tick against people and against sites, and memory per person.

Synthetic cities (:mod:`benchmarks.synthetic_city`) of N people at a fixed number of sites, and of
S sites at a fixed number of people, each run for the same window. The cost per tick is the
engine's wall time minus compiling the scenario (timed apart), over the ticks, median of repeats.
The exponent is the slope of log(cost per tick) on log(size), fitted by least squares; 1 means
linear. The phase profile (:mod:`benchmarks.phase_profile`) at the smallest and largest size shows
which phase grows fastest. Memory per person is the bytes of the people arrays per person slot,
and of all model state (people, sellers, sites, compiled scenario) per person, outputs excluded.

    python benchmarks/bench_scaling.py
    python benchmarks/bench_scaling.py --places --sites 10 50 200 800 --fixed-people 3000

``--places`` runs only the places sweep (issue 11): cost per agent-tick against the number of
places, with site discovery off and on, side by side in one table.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np

from benchmarks.common import machine, median, table, timed
from benchmarks.phase_profile import profile
from benchmarks.synthetic_city import synthetic_city
from scenelab.api import parameter_vector
from scenelab.model import state as st
from scenelab.model.engine import initial_state, run_model
from scenelab.model.metrics import CD
from scenelab.model.rng import stream_keys
from scenelab.model.world import compile_world
from scenelab.scenario import Scenario

PEOPLE = (1_000, 3_000, 10_000, 30_000, 100_000)
SITES = (10, 30, 100, 300, 1_000)


def _nbytes(obj: Any) -> int:
    return sum(int(v.nbytes) for v in obj if isinstance(v, np.ndarray))


def memory(scn: Scenario) -> dict[str, float]:
    """Return bytes per person slot: people arrays, and all model state (outputs excluded)."""
    par = parameter_vector(scn)
    world = compile_world(scn)
    people, sellers, sites = initial_state(scn, world, par, stream_keys(0, 0))
    n_max = scn.population.max_people
    out = st.new_out(world.n_days, len(scn.sites))
    return {
        "people_bytes_per_person": _nbytes(people) / n_max,
        "state_bytes_per_person": (
            _nbytes(people) + _nbytes(sellers) + _nbytes(sites) + _nbytes(world)
        )
        / n_max,
        "world_bytes": float(_nbytes(world)),
        "outputs_bytes": float(_nbytes(out)),
    }


def cost_per_tick(scn: Scenario, repeats: int) -> dict[str, float]:
    """Return the median engine cost per tick (compilation of the scenario timed apart)."""
    par = parameter_vector(scn)
    walls, compiles, ticks = [], [], []
    for k in range(repeats):
        c, _ = timed(lambda: compile_world(scn))
        w, raw = timed(lambda k=k: run_model(scn, par, seed=k + 1))
        walls.append(w - c)
        compiles.append(c)
        ticks.append(raw.n_days * 24)
        agent = float(raw.out.city_day[: raw.n_days, CD["population"]].sum() * 24)
    return {
        "s_per_tick": median([w / t for w, t in zip(walls, ticks, strict=True)]),
        "compile_world_s": median(compiles),
        "ns_per_agent_tick": median(walls) * 1e9 / agent,
    }


def exponent(sizes: Sequence[float], costs: Sequence[float]) -> float:
    """Return the least-squares slope of log(cost) on log(size)."""
    return float(np.polyfit(np.log(sizes), np.log(costs), 1)[0])


def sweep(
    people: Sequence[int], sites: Sequence[int], fixed_sites: int, fixed_people: int,
    days: int, repeats: int,
) -> dict[str, Any]:  # fmt: skip
    """Run both sweeps; return rows, fitted exponents and phase profiles at the extremes."""
    warm = synthetic_city(100, 10, days=2)
    run_model(warm, parameter_vector(warm), seed=0)  # compile or load the engine, untimed
    rows = []
    for axis, grid in (("people", people), ("sites", sites)):
        for size in grid:
            n, s = (size, fixed_sites) if axis == "people" else (fixed_people, size)
            scn = synthetic_city(n, s, days=days)
            row: dict[str, Any] = {"axis": axis, "people": n, "sites": s}
            row.update(cost_per_tick(scn, repeats))
            row.update(memory(scn))
            rows.append(row)
    fits = {}
    for axis in ("people", "sites"):
        part = [r for r in rows if r["axis"] == axis]
        fits[axis] = exponent([r[axis] for r in part], [r["s_per_tick"] for r in part])
    profiles = {}
    for axis, grid in (("people", people), ("sites", sites)):
        for size in (grid[0], grid[-1]):
            n, s = (size, fixed_sites) if axis == "people" else (fixed_people, size)
            profiles[(axis, size)] = profile(synthetic_city(n, s, days=days))
    phase_fits = {}
    for axis, grid in (("people", people), ("sites", sites)):
        lo, hi = profiles[(axis, grid[0])], profiles[(axis, grid[-1])]
        for a, b in zip(lo["rows"][:-1], hi["rows"][:-1], strict=True):
            if a["seconds"] > 0 and b["seconds"] > 0:
                slope = np.log(b["seconds"] / a["seconds"]) / np.log(grid[-1] / grid[0])
                phase_fits.setdefault(a["phase"], {})[axis] = float(slope)
    return {
        "rows": rows,
        "fits": fits,
        "phase_fits": phase_fits,
        "profiles": profiles,
        "days": days,
        "repeats": repeats,
        "fixed_sites": fixed_sites,
        "fixed_people": fixed_people,
    }


def places(sites: Sequence[int], people: int, days: int, repeats: int) -> list[dict[str, Any]]:
    """Return cost per agent-tick against the number of places, discovery off and on.

    The same synthetic city (``people`` people, ``sites`` places) is run with the built-in
    discovery rates and without them; ``x_smallest`` is the cost with discovery on relative to
    the smallest city's, so a flat cost shows as ~1 down the column.
    """
    rows = []
    for s in sites:
        row: dict[str, Any] = {"places": s, "people": people}
        for label, flag in (("off", False), ("on", True)):
            scn = synthetic_city(people, s, days=days, discovery=flag)
            row[f"ns_per_agent_tick_discovery_{label}"] = cost_per_tick(scn, repeats)[
                "ns_per_agent_tick"
            ]
        rows.append(row)
    base = rows[0]["ns_per_agent_tick_discovery_on"]
    for row in rows:
        row["x_smallest"] = row["ns_per_agent_tick_discovery_on"] / base
    return rows


def render(result: dict[str, Any]) -> str:
    """Return the sweep as tables: cost and memory per size, fitted exponents, phase slopes."""
    cols = ("axis", "people", "sites", "s_per_tick", "ns_per_agent_tick", "compile_world_s",
            "people_bytes_per_person", "state_bytes_per_person", "outputs_bytes")  # fmt: skip
    rows = [{c: r[c] for c in cols} for r in result["rows"]]
    out = [
        table(
            rows,
            f"scaling: synthetic cities, {result['days']} days, median of {result['repeats']} "
            f"(people sweep at {result['fixed_sites']} sites, sites sweep at "
            f"{result['fixed_people']} people)",
        ),
        "",
        table(
            [
                {"against": axis, "fitted_exponent": slope, "goal": "<= 1.1"}
                for axis, slope in result["fits"].items()
            ],
            "cost per tick ~ size^exponent (least squares on log-log)",
        ),
        "",
        table(
            [
                {
                    "phase": ph,
                    "exp_people": v.get("people", float("nan")),
                    "exp_sites": v.get("sites", float("nan")),
                }
                for ph, v in result["phase_fits"].items()
            ],  # fmt: skip
            "per-phase growth between the smallest and largest size (phase profile)",
        ),
    ]
    profiles = result["profiles"]
    if profiles:
        keys = list(profiles)
        rows = []
        for k, name in enumerate(profiles[keys[0]]["phases"]):
            row: dict[str, Any] = {"phase": name}
            for axis, size in keys:
                label = f"{axis}={size}"
                row[label] = profiles[(axis, size)]["rows"][k]["ns_per_agent_tick"]
            rows.append(row)
        out += ["", table(rows, "ns per agent-tick by phase at the ends of each sweep")]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    """Run the scaling sweeps and print their tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, nargs="+", default=list(PEOPLE))
    parser.add_argument("--sites", type=int, nargs="+", default=list(SITES))
    parser.add_argument("--fixed-sites", type=int, default=100)
    parser.add_argument("--fixed-people", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--places",
        action="store_true",
        help="only the places sweep: cost per agent-tick vs --sites at --fixed-people, "
        "discovery off and on side by side",
    )
    args = parser.parse_args(argv)
    print(machine())
    if args.places:
        warm = synthetic_city(100, 10, days=2, discovery=True)
        run_model(warm, parameter_vector(warm), seed=0)  # compile or load the engine, untimed
        rows = places(args.sites, args.fixed_people, args.days, args.repeats)
        title = (
            f"cost per agent-tick vs number of places: synthetic cities of {args.fixed_people} "
            f"people, {args.days} days, median of {args.repeats}"
        )
        print(table(rows, title))
        return 0
    result = sweep(
        args.people, args.sites, args.fixed_sites, args.fixed_people, args.days, args.repeats
    )
    print(render(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
