"""Common random numbers: how much pairing two strategies' replicates removes from a difference.

The strategy pair of ``tests/test_verdict.py``: small_city with its ordinary patrol, a drop-in and
OAT, against the same city with its river park closed from 2020-06-01, seed 5, replicates
0..N-1, to 2020-12-31. For each harm quantity of the verdict (from the divergence on), the mean
paired difference, the standard deviation of the paired differences (replicate r of one strategy
against replicate r of the other, as ``compare`` pairs them) and of unpaired ones
(``sqrt(var(arm) + var(reference))``), their variance ratio (near 1: no pairing; near 0: the
pairing removes the noise), and how many disjoint groups of 3 replicates give the test's "clear
difference" (95% paired t interval of total harm above 0). Not timed.

    python benchmarks/pairing.py --replicates 60
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tomllib
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
import pandas as pd
import tomli_w
from scipy import stats

import scenelab
from scenelab.scenario.loader import parse_text
from scenelab.verdict import _measure

SMALL = Path(__file__).resolve().parents[1] / "examples" / "small_city.toml"
DIVERGE = dt.date(2020, 6, 1)
UNTIL = dt.date(2020, 12, 31)
QUANTITIES = (
    "harm",
    "harm_off_scene",
    "harm_violence_incidents",
    "harm_sexual_violence_incidents",
    "harm_overdose_deaths",
    "harm_public_injections",
    "harm_nuisance",
)


def scenarios() -> tuple[Any, Any]:
    """The reference and the closed park, as in ``tests/test_verdict.py``."""
    raw = tomllib.loads(SMALL.read_text("utf-8"))
    raw["interventions"] = [raw["interventions"][0]]
    raw["services"] = [s for s in raw["services"] if s["kind"] != "injection_room"]
    raw.pop("survey")
    out = []
    for name, extra in (
        ("reference", []),
        ("closed_park", [{"type": "close_site", "start": DIVERGE, "site": "river_park"}]),
    ):
        r = {**raw, "scenario": {**raw["scenario"], "name": name}}
        r["interventions"] = raw["interventions"] + extra
        out.append(parse_text(tomli_w.dumps(r), f"{name}.toml"))
    return out[0], out[1]


def measure(replicates: int = 60, seed: int = 5) -> dict[str, Any]:
    """Run both strategies for ``replicates`` paired replicates; return the table's rows."""
    ref_scn, arm_scn = scenarios()
    runs = {
        s.name: pd.DataFrame(
            [
                _measure(scenelab.run(s, seed=seed, replicate=r, until=UNTIL), s, DIVERGE)
                for r in range(replicates)
            ]
        )
        for s in (ref_scn, arm_scn)
    }
    ref, arm = runs["reference"], runs["closed_park"]
    rows = []
    for q in QUANTITIES:
        d = (arm[q] - ref[q]).to_numpy()
        unpaired = float(np.sqrt(arm[q].var() + ref[q].var()))
        rows.append(
            (q, float(d.mean()), float(d.std(ddof=1)), unpaired, d.var(ddof=1) / unpaired**2)
        )
    d = (arm["harm"] - ref["harm"]).to_numpy()
    n_groups = replicates // 3
    g = d[: 3 * n_groups].reshape(n_groups, 3)
    low = g.mean(axis=1) - stats.t.ppf(0.975, 2) * g.std(axis=1, ddof=1) / np.sqrt(3)
    return {"rows": rows, "clear": int((low > 0).sum()), "groups": n_groups, "first_low": low[0]}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--replicates", type=int, default=60)
    ap.add_argument("--seed", type=int, default=5)
    args = ap.parse_args(argv)
    res = measure(args.replicates, args.seed)
    print(
        f"paired vs unpaired differences: small_city, park closed from {DIVERGE}, seed "
        f"{args.seed}, {args.replicates} replicates, to {UNTIL}"
    )
    print(f"{'quantity':34s} {'mean_diff':>10s} {'sd_paired':>10s} {'sd_unpaired':>12s} var_ratio")
    for q, mean, sd_p, sd_u, ratio in res["rows"]:
        print(f"{q:34s} {mean:10.1f} {sd_p:10.1f} {sd_u:12.1f} {ratio:9.3f}")
    print(
        f"groups of 3 replicates with total harm's interval above 0: {res['clear']} of "
        f"{res['groups']} (replicates 0-2: lower bound {res['first_low']:.0f})"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
