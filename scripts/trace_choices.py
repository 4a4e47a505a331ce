r"""Trace why a displaced scene goes where it goes: the terms of the site choice, person by person.

A diagnostic for the model's owners (issue 11), not part of the product. It runs a scenario with
the engine's own loop, stops at given days, and for a group of people (by default those whose most
familiar place the day before a date was ``--from-site``) evaluates, for each of two places, every
term of the utility of the logit choice in ``model/mechanisms/site_choice.step``: whether the
place is in the person's choice set at all, habit, perceived police risk, the site-level terms
(attractiveness, market, peers, drop-in pull at a weekday noon, shelter, crowding), concealment,
distance and the ban. It prints the group's mean of each term at each day and where the group was
that day.

    .venv/bin/python scripts/trace_choices.py bergen --seed 2 --from-site nygardsparken \\
        --group-day 2014-08-24 --sites vagsbunnen,strax_tunnel \\
        --days 2014-08-24,2014-08-27,2014-09-01,2014-09-08,2014-09-22,2014-10-20
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

import scenelab
from scenelab.api import parameter_vector
from scenelab.model import state as st
from scenelab.model.engine import initial_state, population_vector, simulate
from scenelab.model.mechanisms.common import km
from scenelab.model.mechanisms.site_choice import risk_weight
from scenelab.model.metrics import SD
from scenelab.model.params import IDX
from scenelab.model.rng import stream_keys
from scenelab.model.state import STATUS_ACTIVE
from scenelab.model.structs import as_ref
from scenelab.model.warmup import Sources, compile_engine
from scenelab.model.world import compile_world


def _noon_pull(W, par: np.ndarray, ep: int) -> np.ndarray:  # noqa: ANN001
    """Open drop-ins in reach of each site at a weekday noon (the pull term's count)."""
    reach = par[IDX["reach_service_km"]]
    open_noon = W.dropin_hours[ep, :, 12].astype(bool)
    return ((W.dist_site_dropin <= reach) & open_noon[None, :]).sum(axis=1).astype(float)


def _noon_service_sites(W, par: np.ndarray, ep: int) -> set[int]:  # noqa: ANN001
    """Return the sites everyone knows at a weekday noon (the nearest open site by each drop-in)."""
    reach = par[IDX["reach_service_km"]]
    out = set()
    for j in range(W.dropin_hours.shape[1]):
        if not W.dropin_hours[ep, j, 12]:
            continue
        d = np.where(W.site_open[ep].astype(bool), W.dist_site_dropin[:, j], np.inf)
        if d.min() <= reach:
            out.add(int(d.argmin()))
    return out


def terms(  # noqa: PLR0913
    W: Any, P: Any, X: Any, par: np.ndarray, ep: int, t: int, group: np.ndarray, sites: list[int]
) -> pd.DataFrame:
    """Return each term of each person's utility for each of ``sites`` (one row per person-site)."""
    p = {k: par[IDX[k]] for k in IDX}
    svc = _noon_service_sites(W, par, ep)
    pull = _noon_pull(W, par, ep)
    rows = []
    for i in group:
        known = {int(s): float(f) for s, f in zip(P.known[i], P.fam[i], strict=True) if s >= 0}
        cand = set(known) | svc
        anchor = max(known, key=known.get) if known else -1
        b_risk = risk_weight(
            p["b_risk"], p["k_risk_demeanour"], P.demeanour[i], p["k_trust_avoid_police"],
            p["trust_comply_ref"], P.trust[i], p["k_fines_risk_per_10k_nok"], P.fines_owed[i],
        )  # fmt: skip
        mem = {
            int(s): float(r) for s, r in zip(P.mem_site[i], P.mem_risk[i], strict=True) if s >= 0
        }

        def risk(s: int, mem: dict[int, float] = mem) -> float:
            return p["w_reputation"] * X.reputation[s] + (1 - p["w_reputation"]) * mem.get(s, 0.0)

        max_risk = max((risk(s) for s in cand | set(sites) if W.site_open[ep, s]), default=0.0)
        banned = P.ban_zone[i] >= 0 and P.ban_until[i] > t
        for s in sites:
            occ = X.n_smooth[s] / W.site_cap[s]
            dist = 0.0
            if anchor >= 0 and anchor != s:
                dist = km(W.site_lat[anchor], W.site_lon[anchor], W.site_lat[s], W.site_lon[s])
            in_ban = bool(banned and W.zone_member[P.ban_zone[i], s])
            rows.append(
                {
                    "person": int(i),
                    "site": int(s),
                    "in_choice_set": s in cand and bool(W.site_open[ep, s]),
                    "known_own": s in known,
                    "excluded_by_ban": in_ban and bool(P.ban_comply[i]),
                    "habit": p["b_habit"] * known.get(s, 0.0),
                    "risk": -b_risk * risk(s),
                    "attr": p["b_attr"] * (W.site_attr0[s] + X.attr_b[s]),
                    "market": p["b_market"] * math.log1p(X.sellers_now[s]),
                    "peers": p["b_peers"] * math.log1p(X.n_smooth[s]),
                    "service_noon": p["b_service"] * pull[s],
                    "shelter": p["b_shelter"] * W.site_shelter[s],
                    "footfall": p["b_footfall"] * W.site_footfall[s],
                    "crowd": -p["b_crowd"] * max(0.0, occ - 1.0),
                    "conceal": p["b_conceal"] * W.site_conceal[s] * max_risk,
                    "distance": -p["b_dist_per_km"] * dist,
                    "ban_defy": -p["b_ban_defy"] if in_ban else 0.0,
                }
            )
    return pd.DataFrame(rows)


def print_sellers(L, X, W, par: np.ndarray, ids: list[str], compare: list[int]) -> None:  # noqa: ANN001
    """Print where the sellers are (local by turf, travelling) and their utility terms."""
    n = int(X.counters[1])
    act = np.flatnonzero(L.status[:n] == STATUS_ACTIVE)
    kinds = {}
    for j in act:
        kind = "travelling" if L.travelling[j] else f"local (turf {ids[L.home[j]]})"
        where = ids[L.site[j]] if L.site[j] >= 0 else "away"
        kinds.setdefault(kind, {}).setdefault(where, 0)
        kinds[kind][where] += 1
    for kind, where in sorted(kinds.items()):
        print(f"  sellers, {kind}: {dict(sorted(where.items(), key=lambda kv: -kv[1]))}")
    tol = {
        "local": L.risk_tol[act][L.travelling[act] == 0],
        "travelling": L.risk_tol[act][L.travelling[act] == 1],
    }
    # Read by people only when main_scenes_known = 1; never by sellers (they know places from
    # customers): printed as the city's busiest places, for orientation.
    print("  busiest places (main scenes):", [ids[s] for s in X.main if s >= 0])
    for s in compare:
        share = (L.known[act] == s).any(axis=1).mean() if act.size else 0.0
        print(f"  sellers who know of {ids[s]}: {share:.2f}")
    for s in compare:
        cust = par[IDX["c_seller_customers"]] * math.log1p(X.n_smooth[s])
        attr = par[IDX["b_attr"]] * (W.site_attr0[s] + X.attr_b[s])
        attr += par[IDX["c_seller_footfall"]] * W.site_footfall[s]
        risks = {
            k: float(par[IDX["c_seller_risk"]] * X.reputation[s] / v.mean())
            if len(v)
            else float("nan")
            for k, v in tol.items()
        }
        print(
            f"  seller terms at {ids[s]}: customers {cust:.3f}, attr + footfall {attr:.3f}, "
            f"-risk {', '.join(f'{k} {-v:.3f}' for k, v in risks.items())}; "
            f"reputation {X.reputation[s]:.3f}"
        )


TERMS = [
    "habit",
    "risk",
    "attr",
    "market",
    "peers",
    "service_noon",
    "shelter",
    "footfall",
    "crowd",
    "conceal",
    "distance",
    "ban_defy",
]


def main(argv: list[str] | None = None) -> None:
    """Run the trace and print one table per day."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("scenario")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument(
        "--from-site", required=True, help="group: people whose most familiar place is this"
    )
    ap.add_argument("--group-day", required=True, help="the day the group is formed (YYYY-MM-DD)")
    ap.add_argument(
        "--sites", required=True, help="two or more site ids to compare, comma-separated"
    )
    ap.add_argument("--days", required=True, help="days to report, comma-separated, ascending")
    ap.add_argument("--set", action="append", default=[], help="NAME=VALUE parameter override")
    args = ap.parse_args(argv)

    scn = scenelab.load_scenario(args.scenario)
    overrides = {k: float(v) for k, v in (s.split("=") for s in args.set)}
    par = parameter_vector(scn, overrides)
    world = compile_world(scn)
    keys = stream_keys(args.seed, 0)
    people, sellers, sites_state = initial_state(scn, world, par, keys)
    out = st.new_out(world.n_days, len(scn.sites))
    pop = population_vector(scn)
    compile_engine(simulate, Sources(world, people, sellers, sites_state, out, par, pop, keys))
    refs = [as_ref(x) for x in (world, people, sellers, sites_state, out)]
    ids = [s.id for s in scn.sites]
    compare = [ids.index(s) for s in args.sites.split(",")]
    origin = ids.index(args.from_site)
    group_day = (dt.date.fromisoformat(args.group_day) - scn.run.start).days
    days = [(dt.date.fromisoformat(d) - scn.run.start).days for d in args.days.split(",")]
    done, group = 0, None
    pd.set_option("display.width", 200)
    for d in sorted({group_day, *days}):
        simulate(done * 24, (d + 1) * 24, par, pop, keys, *refs, -1, -1)
        done = d + 1
        t = done * 24
        ep = int(world.epoch_of_day[d])
        if d == group_day:
            n_used = int(sites_state.counters[0])
            best = np.where(people.fam[:n_used] > 0, people.fam[:n_used], -1).argmax(axis=1)
            anchor = people.known[np.arange(n_used), best]
            group = np.flatnonzero((anchor == origin) & (people.status[:n_used] == STATUS_ACTIVE))
            print(
                f"group: {len(group)} active people whose most familiar place on "
                f"{args.group_day} is {args.from_site}"
            )
        if d not in days or group is None:
            continue
        active = group[people.status[group] == STATUS_ACTIVE]
        frame = terms(world, people, sites_state, par, ep, t, active, compare)
        day = scn.run.start + dt.timedelta(days=d)
        hours = out.site_day[d, :, SD["person_hours"]]
        print(f"\n== {day} (end of day; {len(active)} of the group still active) ==")
        print(
            "people present that day (person-hours / 24):",
            {ids[s]: round(float(hours[s]) / 24, 1) for s in np.argsort(-hours)[:5]},
        )
        print_sellers(sellers, sites_state, world, par, ids, compare)
        table = frame.groupby("site")[
            ["in_choice_set", "known_own", "excluded_by_ban", *TERMS]
        ].mean()
        table.index = [ids[s] for s in table.index]
        print(table.T.round(3).to_string())
        both = frame.pivot(index="person", columns="site", values=TERMS[0]).index
        sub = frame[frame.person.isin(both)]
        total = sub.assign(total=sub[TERMS].sum(axis=1)).pivot(
            index="person", columns="site", values="total"
        )
        a, b = compare[0], compare[1]
        print(
            f"share of the group preferring {ids[a]} over {ids[b]} (sum of terms): "
            f"{float((total[a] > total[b]).mean()):.2f}"
        )


if __name__ == "__main__":
    main()
