"""A bare compiled site-choice kernel: the practical limit for the engine's cost per agent-tick.

Every person, every tick, chooses a site by multinomial logit over a fixed choice set of the size
scenelab's people weigh (their known sites plus the main scenes, bounded by the number of sites):
site-level utility (attractiveness, peers, crowding) computed once per tick, plus habit and
distance per person and candidate, one counter-based uniform draw (scenelab's own ``uniform``),
and a head-count per site that feeds the next tick. Nothing else: no attendance, police, drug use,
violence, memory or recording. scenelab's full model is compared with it per agent-tick, at the
same people, sites and ticks.

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


@njit(cache=True)
def bare_kernel(n_ticks, key, cand, fam, dist, attr, cap, site, smooth):  # noqa: ANN001, ANN201
    """Run ``n_ticks`` ticks of logit site choice for every person; return total choices made.

    ``cand[i, c]`` are person ``i``'s candidate sites, ``fam`` and ``dist`` their habit and
    distance per candidate; ``site`` (current site) and ``smooth`` (smoothed head-counts) evolve.
    """
    n, n_c = cand.shape
    n_sites = attr.shape[0]
    base = np.empty(n_sites)
    count = np.zeros(n_sites, dtype=np.int64)
    util = np.empty(n_c)
    made = 0
    for t in range(n_ticks):
        for s in range(n_sites):
            base[s] = B_ATTR * attr[s] + B_PEERS * math.log1p(smooth[s])
            base[s] -= B_CROWD * max(0.0, smooth[s] / cap[s] - 1.0)
            count[s] = 0
        for i in range(n):
            u_max = -np.inf
            for c in range(n_c):
                s = cand[i, c]
                v = base[s] + B_HABIT * fam[i, c] - B_DIST * dist[i, c]
                if s == site[i]:
                    v += B_STAY
                util[c] = v
                u_max = max(u_max, v)
            total = 0.0
            for c in range(n_c):
                util[c] = math.exp(util[c] - u_max)
                total += util[c]
            u = uniform(key, t, i, 0) * total
            pick = n_c - 1
            acc = 0.0
            for c in range(n_c):
                acc += util[c]
                if u < acc:
                    pick = c
                    break
            site[i] = cand[i, pick]
            count[site[i]] += 1
            made += 1
        for s in range(n_sites):
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


def run_bare(n_people: int, n_sites: int, n_choice: int, n_ticks: int, seed: int = 0) -> float:
    """Run the compiled bare kernel; return wall seconds."""
    inp = make_inputs(n_people, n_sites, n_choice, seed)
    wall, _ = timed(
        lambda: bare_kernel(
            n_ticks, inp["key"], inp["cand"], inp["fam"], inp["dist"], inp["attr"], inp["cap"],
            inp["site"], inp["smooth"],
        )
    )  # fmt: skip
    return wall


class Chooser(mesa.Agent):
    """The bare kernel's person, as a Mesa user would write it."""

    def __init__(self, model: BareMesa, cand: list[int], fam: list[float], dist: list[float]):
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
    """Compare the full model with the bare kernel per agent-tick, alternating repeats."""
    par = parameter_vector(scn)
    _, raw = timed(lambda: run_model(scn, par, seed=1, until=until))  # warm-up
    n_ticks = raw.n_days * 24
    ticks_total = agent_ticks(raw)
    n_people = max(1, round(ticks_total / n_ticks))
    n_sites = len(scn.sites)
    n_choice = choice_set_size(n_sites, round(par[IDX["n_main_scenes"]]))
    run_bare(n_people, n_sites, n_choice, 2)  # compile or load the cache
    full, bare, bare_mesa, full_ticks = [], [], [], []
    for k in range(repeats):
        pair = [
            ("full", lambda k=k: timed(lambda: run_model(scn, par, seed=k + 2, until=until))),
            ("bare", lambda k=k: (run_bare(n_people, n_sites, n_choice, n_ticks, k), None)),
        ]
        for name, fn in pair if k % 2 == 0 else pair[::-1]:
            w, out = fn()
            if name == "full":
                full.append(w)
                full_ticks.append(agent_ticks(out))
            else:
                bare.append(w)
        bare_mesa.append(run_bare_mesa(n_people, n_sites, n_choice, mesa_ticks, k))
    full_ns = median([w * 1e9 / n for w, n in zip(full, full_ticks, strict=True)])
    bare_ns = median(bare) * 1e9 / (n_people * n_ticks)
    mesa_ns = median(bare_mesa) * 1e9 / (n_people * mesa_ticks)
    rows = [
        {
            "kernel": "scenelab full model (engine)",
            "median_s": median(full),
            "agent_ticks": int(median(full_ticks)),
            "ns_per_agent_tick": full_ns,
            "agent_ticks_per_s": 1e9 / full_ns,
            "x_bare": full_ns / bare_ns,
        },
        {
            "kernel": f"bare Numba site choice (C={n_choice})",
            "median_s": median(bare),
            "agent_ticks": n_people * n_ticks,
            "ns_per_agent_tick": bare_ns,
            "agent_ticks_per_s": 1e9 / bare_ns,
            "x_bare": 1.0,
        },
        {
            "kernel": f"bare site choice in Mesa ({mesa_ticks} ticks)",
            "median_s": median(bare_mesa),
            "agent_ticks": n_people * mesa_ticks,
            "ns_per_agent_tick": mesa_ns,
            "agent_ticks_per_s": 1e9 / mesa_ns,
            "x_bare": mesa_ns / bare_ns,
        },
    ]
    return {
        "scenario": f"{scn.name} {scn.run.start}..{scn.run.start + dt.timedelta(raw.n_days - 1)}",
        "people": n_people,
        "sites": n_sites,
        "ticks": n_ticks,
        "repeats": repeats,
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
