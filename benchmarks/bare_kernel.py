"""A bare compiled site-choice kernel: the practical limit for the engine's cost per agent-tick.

Every person, every tick, chooses a site by multinomial logit over a fixed choice set of the size
scenelab's people weigh (their known sites plus the main scenes, bounded by the number of sites):
site-level utility (attractiveness, peers, crowding) computed once per tick, plus habit and
distance per person and candidate, one counter-based uniform draw (scenelab's own ``uniform``),
and a head-count per site that feeds the next tick. Nothing else: no police, drug use, violence,
memory or recording. scenelab's full model is compared with it per agent-tick, at the same people,
sites and ticks.

Most of scenelab's agent-ticks are people off the scene, who do not choose. So a second variant
adds scenelab's attendance process (a draw per person and tick; a choice only on arrival or when
reconsidering): the cheapest kernel that does what scenelab's site-choice phase must do.

The same rule is also written as a Mesa model (one agent per person), to show the speed ratio that
compilation alone buys on the simplest kernel.

    python benchmarks/bare_kernel.py              # Bergen scale, full window
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import sys
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import mesa
import numpy as np
from numba import njit

import scenelab
from benchmarks.common import agent_ticks, machine, median, table, timed
from scenelab.api import parameter_vector
from scenelab.model.engine import run_model
from scenelab.model.params import IDX
from scenelab.model.rng import uniform
from scenelab.model.state import K_KNOWN
from scenelab.scenario import Scenario

B_ATTR, B_PEERS, B_CROWD, B_HABIT, B_DIST, B_STAY, SMOOTH = 1.0, 0.5, 1.0, 2.0, 0.5, 1.0, 0.05


@njit(cache=True, inline="always")
def _choose(t, i, key, cand, fam, dist, base, current, util):  # noqa: ANN001, ANN202
    """Draw person ``i``'s site from the logit over their candidates."""
    n_c = cand.shape[1]
    u_max = -np.inf
    for c in range(n_c):
        s = cand[i, c]
        v = base[s] + B_HABIT * fam[i, c] - B_DIST * dist[i, c]
        if s == current:
            v += B_STAY
        util[c] = v
        u_max = max(u_max, v)
    total = 0.0
    for c in range(n_c):
        util[c] = math.exp(util[c] - u_max)
        total += util[c]
    u = uniform(key, t, i, 0) * total
    acc = 0.0
    for c in range(n_c):
        acc += util[c]
        if u < acc:
            return cand[i, c]
    return cand[i, n_c - 1]


@njit(cache=True, inline="always")
def _site_terms(attr, cap, smooth, base, count) -> None:  # noqa: ANN001
    for s in range(attr.shape[0]):
        base[s] = B_ATTR * attr[s] + B_PEERS * math.log1p(smooth[s])
        base[s] -= B_CROWD * max(0.0, smooth[s] / cap[s] - 1.0)
        count[s] = 0


@njit(cache=True)
def bare_kernel(n_ticks, key, cand, fam, dist, attr, cap, site, smooth):  # noqa: ANN001, ANN201
    """Run ``n_ticks`` ticks in which every person chooses a site; return the choices made.

    ``cand[i, c]`` are person ``i``'s candidate sites, ``fam`` and ``dist`` their habit and
    distance per candidate; ``site`` (current site) and ``smooth`` (smoothed head-counts) evolve.
    """
    n, n_c = cand.shape
    base = np.empty(attr.shape[0])
    count = np.zeros(attr.shape[0], dtype=np.int64)
    util = np.empty(n_c)
    made = 0
    for t in range(n_ticks):
        _site_terms(attr, cap, smooth, base, count)
        for i in range(n):
            site[i] = _choose(t, i, key, cand, fam, dist, base, site[i], util)
            count[site[i]] += 1
            made += 1
        for s in range(attr.shape[0]):
            smooth[s] += SMOOTH * (count[s] - smooth[s])
    return made


@njit(cache=True)
def bare_kernel_attending(  # noqa: ANN201
    n_ticks, key, cand, fam, dist, attr, cap, site, smooth, p_arrive, p_leave, p_reconsider,  # noqa: ANN001
):  # fmt: skip
    """As :func:`bare_kernel`, but people come and go: a two-state attendance draw per person and
    tick, and a choice only on arrival or when reconsidering (scenelab's attendance process without
    its hour-of-day profile). ``site[i]`` is -1 while away. Returns the choices made.
    """
    n, n_c = cand.shape
    base = np.empty(attr.shape[0])
    count = np.zeros(attr.shape[0], dtype=np.int64)
    util = np.empty(n_c)
    made = 0
    for t in range(n_ticks):
        _site_terms(attr, cap, smooth, base, count)
        for i in range(n):
            u = uniform(key, t, i, 1)
            if site[i] < 0:
                if u >= p_arrive:
                    continue
            elif u < p_leave:
                site[i] = -1
                continue
            elif uniform(key, t, i, 2) >= p_reconsider:
                count[site[i]] += 1
                continue
            site[i] = _choose(t, i, key, cand, fam, dist, base, site[i], util)
            count[site[i]] += 1
            made += 1
        for s in range(attr.shape[0]):
            smooth[s] += SMOOTH * (count[s] - smooth[s])
    return made


def choice_set_size(n_sites: int, n_main: int) -> int:
    """Return the choice-set size scenelab's people weigh: known sites plus the main scenes."""
    return min(K_KNOWN + n_main, n_sites)


def make_inputs(
    n_people: int, n_sites: int, n_choice: int, seed: int = 0
) -> dict[str, np.ndarray | int]:
    """Return random kernel inputs: candidates, habit, distances and site features."""
    rng = np.random.default_rng(seed)
    cand = np.argsort(rng.random((n_people, n_sites)), axis=1)[:, :n_choice].astype(np.int32)
    return {
        "key": np.uint64(rng.integers(1, 2**63)),
        "cand": cand,
        "fam": rng.random((n_people, n_choice)),
        "dist": rng.random((n_people, n_choice)) * 2.0,
        "attr": rng.normal(0.0, 0.5, n_sites),
        "cap": rng.uniform(20.0, 150.0, n_sites),
        "site": cand[:, 0].copy(),
        "smooth": np.zeros(n_sites),
    }


def run_bare(
    n_people: int,
    n_sites: int,
    n_choice: int,
    n_ticks: int,
    seed: int = 0,
    attendance: tuple[float, float, float] | None = None,
) -> float:
    """Run a compiled bare kernel; return wall seconds.

    Args:
        n_people: People.
        n_sites: Sites.
        n_choice: Choice-set size.
        n_ticks: Ticks.
        seed: Seed of the random inputs and of the kernel's stream.
        attendance: ``(p_arrive, p_leave, p_reconsider)`` per tick to run
            :func:`bare_kernel_attending`; None: everyone chooses every tick.
    """
    inp = make_inputs(n_people, n_sites, n_choice, seed)
    args = (n_ticks, inp["key"], inp["cand"], inp["fam"], inp["dist"], inp["attr"], inp["cap"])
    if attendance is None:
        wall, _ = timed(lambda: bare_kernel(*args, inp["site"], inp["smooth"]))
    else:
        away = np.full(n_people, -1, dtype=np.int32)
        wall, _ = timed(lambda: bare_kernel_attending(*args, away, inp["smooth"], *attendance))
    return wall


def attendance_of(par: np.ndarray) -> tuple[float, float, float]:
    """Return scenelab's attendance process for a regular person, without the hour profile."""
    p_leave = 1.0 / par[IDX["dur_visit_hours"]]
    f = min(0.9, par[IDX["hours_scene_per_day_regular"]] / 24.0)
    return p_leave * f / (1.0 - f), p_leave, float(par[IDX["p_reconsider_per_hour"]])


class Chooser(mesa.Agent):
    """The bare kernel's person, as a Mesa user would write it."""

    def __init__(
        self, model: BareMesa, cand: list[int], fam: list[float], dist: list[float]
    ) -> None:
        super().__init__(model)
        self.cand, self.fam, self.dist = cand, fam, dist
        self.site = cand[0]

    def step(self) -> None:
        """Choose a site by logit over the choice set."""
        base = self.model.base
        utility = [
            base[s] + B_HABIT * f - B_DIST * d + (B_STAY if s == self.site else 0.0)
            for s, f, d in zip(self.cand, self.fam, self.dist, strict=True)
        ]
        top = max(utility)
        self.site = self.random.choices(self.cand, weights=[math.exp(v - top) for v in utility])[0]
        self.model.count[self.site] += 1


class BareMesa(mesa.Model):
    """The bare kernel as a Mesa model."""

    def __init__(self, inp: dict[str, Any], seed: int = 0) -> None:
        super().__init__(seed=seed)
        self.attr, self.cap = inp["attr"].tolist(), inp["cap"].tolist()
        self.smooth = [0.0] * len(self.attr)
        self.count = [0] * len(self.attr)
        self.base = [0.0] * len(self.attr)
        for c, f, d in zip(
            inp["cand"].tolist(), inp["fam"].tolist(), inp["dist"].tolist(), strict=True
        ):
            Chooser(self, c, f, d)

    def step(self) -> None:
        """One tick: site utilities, everyone chooses, head-counts smoothed."""
        for s, (a, sm, cp) in enumerate(zip(self.attr, self.smooth, self.cap, strict=True)):
            self.base[s] = B_ATTR * a + B_PEERS * math.log1p(sm) - B_CROWD * max(0.0, sm / cp - 1.0)
            self.count[s] = 0
        self.agents.do("step")
        for s, n in enumerate(self.count):
            self.smooth[s] += SMOOTH * (n - self.smooth[s])


def run_bare_mesa(n_people: int, n_sites: int, n_choice: int, n_ticks: int, seed: int = 0) -> float:
    """Run the Mesa version of the bare kernel; return wall seconds."""
    inp = make_inputs(n_people, n_sites, n_choice, seed)

    def go() -> None:
        model = BareMesa(inp, seed)
        for _ in range(n_ticks):
            model.step()

    wall, _ = timed(go)
    return wall


def measure(
    scn: Scenario, repeats: int = 5, mesa_ticks: int = 500, until: dt.date | None = None
) -> dict[str, Any]:
    """Compare the full model with the bare kernels per agent-tick, alternating repeats."""
    par = parameter_vector(scn)
    _, raw = timed(lambda: run_model(scn, par, seed=1, until=until))  # warm-up
    n_ticks = raw.n_days * 24
    n_people = max(1, round(agent_ticks(raw) / n_ticks))
    n_sites = len(scn.sites)
    n_choice = choice_set_size(n_sites, round(par[IDX["n_main_scenes"]]))
    attendance = attendance_of(par)
    run_bare(n_people, n_sites, n_choice, 2)  # compile or load the cache
    run_bare(n_people, n_sites, n_choice, 2, attendance=attendance)
    walls: dict[str, list[float]] = {"full": [], "bare": [], "attending": [], "mesa": []}
    full_ticks: list[int] = []

    def full(k: int) -> float:
        wall, out = timed(lambda: run_model(scn, par, seed=k + 2, until=until))
        full_ticks.append(agent_ticks(out))
        return wall

    sides = {
        "full": full,
        "bare": lambda k: run_bare(n_people, n_sites, n_choice, n_ticks, k),
        "attending": lambda k: run_bare(n_people, n_sites, n_choice, n_ticks, k, attendance),
    }
    order = list(sides)
    for k in range(repeats):
        for name in order if k % 2 == 0 else order[::-1]:
            walls[name].append(sides[name](k))
        walls["mesa"].append(run_bare_mesa(n_people, n_sites, n_choice, mesa_ticks, k))
    ns = {
        "full": median([w * 1e9 / n for w, n in zip(walls["full"], full_ticks, strict=True)]),
        "bare": median(walls["bare"]) * 1e9 / (n_people * n_ticks),
        "attending": median(walls["attending"]) * 1e9 / (n_people * n_ticks),
        "mesa": median(walls["mesa"]) * 1e9 / (n_people * mesa_ticks),
    }
    labels = {
        "full": ("scenelab full model (engine)", int(median(full_ticks))),
        "bare": (f"bare Numba site choice, everyone, C={n_choice}", n_people * n_ticks),
        "attending": ("bare Numba site choice with attendance", n_people * n_ticks),
        "mesa": (f"bare site choice in Mesa, everyone ({mesa_ticks} ticks)", n_people * mesa_ticks),
    }
    rows = [
        {
            "kernel": labels[name][0],
            "median_s": median(walls[name]),
            "agent_ticks": labels[name][1],
            "ns_per_agent_tick": ns[name],
            "agent_ticks_per_s": 1e9 / ns[name],
            "x_bare": ns[name] / ns["bare"],
            "x_bare_attending": ns[name] / ns["attending"],
        }
        for name in ("full", "bare", "attending", "mesa")
    ]
    return {
        "scenario": f"{scn.name} {scn.run.start}..{scn.run.start + dt.timedelta(raw.n_days - 1)}",
        "people": n_people,
        "sites": n_sites,
        "ticks": n_ticks,
        "repeats": repeats,
        "attendance": attendance,
        "rows": rows,
    }


def render(result: dict[str, Any]) -> str:
    """Return the comparison as a titled table."""
    title = (
        f"full model vs bare kernel: {result['scenario']}, {result['people']} people (mean "
        f"population), {result['sites']} sites, {result['ticks']} ticks; median of "
        f"{result['repeats']} alternating repeats"
    )
    return table(result["rows"], title)


def main(argv: list[str] | None = None) -> int:
    """Run the comparison at Bergen scale and print its table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenario", nargs="?", default="bergen")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--mesa-ticks", type=int, default=500)
    parser.add_argument("--until", type=dt.date.fromisoformat, default=None)
    args = parser.parse_args(argv)
    print(machine())
    scn = scenelab.load_scenario(args.scenario)
    print(render(measure(scn, args.repeats, args.mesa_ticks, args.until)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
