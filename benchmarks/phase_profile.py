"""Where a tick's time goes: the engine's loop with a clock read around every phase.

The profiled loop is generated from the source of ``scenelab.model.engine.simulate`` itself: each
``<phase>.step(...)`` line is wrapped in two clock reads (Numba ``objmode`` calls of
``time.perf_counter_ns``), so the profile follows the engine when its phases or their arguments
change and never re-states the tick. The clock's own cost is measured by an empty timed section
in the same loop and subtracted from every phase. Phases that run once a day show their daily
cost spread over the day's hours.

    python benchmarks/phase_profile.py            # Bergen, full window
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import inspect
import re
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
from numba import njit, objmode

import scenelab
from benchmarks.common import machine, table
from scenelab.api import parameter_vector
from scenelab.model import engine
from scenelab.model import state as st
from scenelab.model.rng import init_generator, stream_keys
from scenelab.model.world import compile_world
from scenelab.scenario import Scenario

_STEP = re.compile(r"^(\s+)(\w+)\.step\(")


def _now() -> int:
    return time.perf_counter_ns()


@functools.cache
def profiled_simulate() -> tuple[Callable[..., Any], list[str]]:
    """Return (compiled profiled loop, phase names in call order).

    The loop has the engine's signature plus a trailing ``acc`` array of nanoseconds per phase;
    the first name, ``(clock)``, is an empty timed section (the clock's own cost).
    """
    src = textwrap.dedent(inspect.getsource(engine.simulate))
    lines = [ln for ln in src.splitlines() if not ln.lstrip().startswith("@")]
    out: list[str] = []
    names: list[str] = []
    for line in lines:
        if line.startswith("def simulate("):
            line = line.replace("def simulate(", "def simulate_profiled(", 1)
            line = line.replace("survey_t1)", "survey_t1, acc)", 1)
            out.append(line.split("#")[0].rstrip())
            continue
        m = _STEP.match(line)
        if m is None:
            out.append(line)
            continue
        pad, k = m.group(1), len(names)
        if k == 0:  # an empty timed section: the clock's own cost inside this loop
            names.append("(clock)")
            out += [
                f"{pad}with objmode(_a0='int64'):",
                f"{pad}    _a0 = _now()",
                f"{pad}with objmode(_b0='int64'):",
                f"{pad}    _b0 = _now()",
                f"{pad}acc[0] += _b0 - _a0",
            ]
            k = 1
        names.append(m.group(2))
        out += [
            f"{pad}with objmode(_a{k}='int64'):",
            f"{pad}    _a{k} = _now()",
            line,
            f"{pad}with objmode(_b{k}='int64'):",
            f"{pad}    _b{k} = _now()",
            f"{pad}acc[{k}] += _b{k} - _a{k}",
        ]
    if len(names) < 2:
        raise RuntimeError("found no '<phase>.step(' calls in engine.simulate")
    namespace = dict(vars(engine))
    # Numba resolves an objmode block's globals through the module named by __name__.
    namespace.update(objmode=objmode, _now=_now, __name__=__name__)
    exec(compile("\n".join(out), "<simulate_profiled>", "exec"), namespace)  # noqa: S102
    return njit(namespace["simulate_profiled"]), names


def profile(scn: Scenario, seed: int = 1, until: dt.date | None = None) -> dict[str, Any]:
    """Run ``scn`` once with the profiled loop; return per-phase seconds and shares."""
    fn, names = profiled_simulate()
    par = parameter_vector(scn)
    world = compile_world(scn)
    keys = stream_keys(seed, 0)
    rng = init_generator(keys)
    people, sellers = st.new_people(scn, rng), st.new_sellers(scn, rng)
    sites = st.new_site_state(scn, world, par)
    end = min(until or scn.run.end, scn.run.end)
    n_days = (end - scn.run.start).days + 1
    out = st.new_out(world.n_days, len(scn.sites))
    pop = engine.population_vector(scn)
    acc = np.zeros(len(names), dtype=np.int64)
    args = (par, pop, keys, world, people, sellers, sites, out, -1, -1)
    fn(0, 1, *args, np.zeros(len(names), dtype=np.int64))  # compile (state moves one hour on)
    started = time.perf_counter()
    fn(1, n_days * 24, *args, acc)
    wall = time.perf_counter() - started
    ticks = n_days * 24 - 1
    clock = acc[0] / ticks  # ns per empty timed section, measured in the loop itself
    person_ticks = float(out.city_day[:n_days, st.CD_POPULATION].sum() * 24)
    seconds = np.maximum(acc[1:] - clock * ticks, 0) / 1e9
    rows = [
        {
            "phase": name,
            "seconds": float(s),
            "share": float(s / seconds.sum()),
            "ns_per_agent_tick": float(s * 1e9 / person_ticks),
        }
        for name, s in zip(names[1:], seconds, strict=True)
    ]
    rows.append(
        {
            "phase": "total (phases)",
            "seconds": float(seconds.sum()),
            "share": 1.0,
            "ns_per_agent_tick": float(seconds.sum() * 1e9 / person_ticks),
        }
    )
    return {
        "phases": names[1:],
        "scenario": f"{scn.name} {scn.run.start}..{end}",
        "ticks": ticks,
        "agent_ticks": person_ticks,
        "wall_s": wall,
        "clock_ns": clock,
        "rows": rows,
    }


def render(result: dict[str, Any]) -> str:
    """Return the profile as a titled table."""
    title = (
        f"phase profile: {result['scenario']}, {result['ticks']} ticks, "
        f"{result['agent_ticks']:.3g} agent-ticks, wall {result['wall_s']:.2f} s "
        f"(clock reads {result['clock_ns']:.0f} ns a pair, subtracted)"
    )
    return table(result["rows"], title)


def main(argv: list[str] | None = None) -> int:
    """Profile a scenario (default: Bergen) and print the per-phase table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenario", nargs="?", default="bergen")
    parser.add_argument("--until", type=dt.date.fromisoformat, default=None)
    args = parser.parse_args(argv)
    print(machine())
    print(render(profile(scenelab.load_scenario(args.scenario), until=args.until)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
