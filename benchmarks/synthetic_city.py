"""Synthetic cities of any size, for scaling benchmarks: N people, S sites, every mechanism on.

A city is generated as scenario data and written as TOML, then parsed by scenelab's own loader,
so it is a valid scenario like any file. Sites are scattered over a disc whose area grows with S
(constant density, so a person's neighbourhood looks the same in a small and a big city); site
capacity follows N/S so crowding is comparable across sizes; services, sellers and police scale
with the city. The schedule has what Bergen has: patrols and reactive raids, a police operation,
the closure of the biggest scene half-way, expulsion and fine policies, outreach, drop-in centres,
housing, OAT and an injection room. Everything is drawn from one seeded generator.
"""

from __future__ import annotations

import datetime as dt
import math
import sys
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np

from benchmarks.scenarios import to_toml
from scenelab.scenario import Scenario, parse_text

KM_PER_DEG_LAT = 110.57
CENTRE = (60.0, 10.0)
KM2_PER_SITE = 0.25
DISCOVERY = {
    "main_scenes_known": 0.0,
    "rate_word_of_mouth_per_hour": 0.05,
    "rate_scout_per_hour": 0.05,
    "scout_distance_km": 0.5,
    "risk_scout_threshold": 1.0,
    "fam_forget_below": 0.02,
}
"""Discovery switched on as in the built-in Bergen file (``synthetic_data(discovery=True)``)."""


def synthetic_data(
    n_people: int,
    n_sites: int,
    days: int = 14,
    seed: int = 0,
    start: dt.date = dt.date(2020, 1, 6),
    discovery: bool = False,
) -> dict[str, Any]:
    """Return the data of a synthetic city's scenario (see the module docstring).

    With ``discovery``, site knowledge spreads and is found as in the built-in Bergen file (word
    of mouth, scouting when displaced, forgetting; nobody is told the main scenes).
    """
    if n_people < 10 or n_sites < 4 or days < 2:
        raise ValueError(
            f"need at least 10 people, 4 sites and 2 days, got {n_people}, {n_sites}, {days}"
        )
    rng = np.random.default_rng(seed)
    end = start + dt.timedelta(days=days - 1)
    mid = start + dt.timedelta(days=days // 2)
    radius = math.sqrt(n_sites * KM2_PER_SITE / math.pi)
    r = radius * np.sqrt(rng.random(n_sites))
    theta = 2 * math.pi * rng.random(n_sites)
    km_per_deg_lon = 111.32 * math.cos(math.radians(CENTRE[0]))
    lat = CENTRE[0] + r * np.sin(theta) / KM_PER_DEG_LAT
    lon = CENTRE[1] + r * np.cos(theta) / km_per_deg_lon
    n_nbhd = max(1, n_sites // 10)
    nbhd_of = np.minimum((r / radius * n_nbhd).astype(int), n_nbhd - 1)  # rings from the centre
    neighbourhoods = [
        {
            "id": f"n{k}",
            "name": f"Neighbourhood {k}",
            "deprivation": round(float(rng.uniform(0.1, 1.0)), 3),
            "residents": int(rng.integers(2000, 10000)),
            "businesses": int(rng.integers(50, 1000)),
            "centre": bool(k == 0),
        }
        for k in range(n_nbhd)
    ]
    kinds = ["park", "street", "square", "station", "underpass"]
    attractiveness = np.clip(rng.normal(0.0, 0.5, n_sites), -2.0, 2.0)
    order = np.argsort(r)  # central sites first
    top = [int(s) for s in np.argsort(-attractiveness)[:3]]
    sites = []
    for s in range(n_sites):
        sites.append(
            {
                "id": f"s{s}",
                "name": f"Site {s}",
                "kind": kinds[s % len(kinds)],
                "neighbourhood": f"n{nbhd_of[s]}",
                "lat": round(float(lat[s]), 6),
                "lon": round(float(lon[s]), 6),
                "capacity_people": round(max(5.0, 0.4 * n_people / n_sites * rng.lognormal()), 1),
                "concealment": round(float(rng.random()), 3),
                "hygiene": round(float(rng.random()), 3),
                "footfall": round(float(rng.random()), 3),
                "residential_exposure": round(float(rng.random()), 3),
                "attractiveness": round(float(attractiveness[s]), 3),
                "initial_activity": 1.0 if s in top else 0.0,
            }
        )
    centre_sites = [f"s{s}" for s in order[: max(2, n_sites // 10)]]
    zones = [
        {"id": "centre_zone", "name": "Centre", "sites": centre_sites},
        {"id": "top_zone", "name": "Biggest scene", "sites": [f"s{top[0]}"]},
    ]
    population = {
        "initial_people": n_people,
        "max_people": int(n_people * 1.2),
        "share_women": 0.25,
        "share_injecting": 0.7,
        "share_housed": 0.45,
        "share_in_oat": 0.25,
        "share_occasional": 0.25,
        "substance_mix": {"opioids": 0.35, "stimulants": 0.3, "poly": 0.35},
        "initial_sites": {f"s{s}": w for s, w in zip(top, (0.6, 0.25, 0.15), strict=True)},
    }
    sellers = {
        "initial_local": max(1, n_people // 30),
        "initial_travelling": max(1, n_people // 40),
        "max_sellers": max(4, n_people // 5),
        "risk_tolerance_local": 4.0,
        "initial_sites": {f"s{s}": w for s, w in zip(top, (0.6, 0.25, 0.15), strict=True)},
    }
    services: list[dict[str, Any]] = []
    for k, s in enumerate(rng.choice(n_sites, size=max(1, n_sites // 25), replace=False)):
        services.append(
            {
                "id": f"dropin{k}",
                "name": f"Drop-in {k}",
                "kind": "drop_in",
                "lat": float(lat[s]),
                "lon": float(lon[s]),
                "staff": 2.0,
                "hours": {"from_hour": 9, "to_hour": 18},
            }
        )
    services += [
        {
            "id": "housing",
            "name": "Housing",
            "kind": "housing",
            "units": max(1, n_people // 30),
            "max_allocations_per_month": max(1, n_people // 300),
        },
        {"id": "oat", "name": "OAT", "kind": "oat", "slots": n_people // 4, "waiting_days": 30.0},
        {
            "id": "sif",
            "name": "Injection room",
            "kind": "injection_room",
            "lat": float(lat[order[0]]),
            "lon": float(lon[order[0]]),
            "booths": 6,
            "capacity_injections_per_day": max(10, n_people // 6),
            "substances": ["opioids", "poly"],
            "open_at_start": True,
        },
    ]
    patrolled = centre_sites
    interventions: list[dict[str, Any]] = [
        {
            "type": "police_plan",
            "start": start,
            "sites": patrolled,
            "mode": "continuous_patrol",
            "officers": 0.5,
            "hours": {"from_hour": 8, "to_hour": 24},
        },
        {
            "type": "police_plan",
            "start": start,
            "sites": [f"s{top[0]}"],
            "mode": "reactive_raids",
            "officer_hours_per_day": 4.0,
            "hours": {"from_hour": 10, "to_hour": 22},
        },
        {
            "type": "police_operation",
            "start": start,
            "end": mid,
            "sites": [f"s{top[0]}"],
            "action_days": max(1, days // 7),
            "officers": 8.0,
        },
        {
            "type": "outreach",
            "start": start,
            "sites": [f"s{s}" for s in top],
            "staff": 2.0,
        },
        {"type": "close_site", "start": mid, "site": f"s{top[0]}"},
        {"type": "expulsion_policy", "start": mid, "zone": "centre_zone", "propensity": 0.2,
         "duration_hours": 24.0},
        {"type": "expulsion_policy", "start": mid, "zone": "top_zone", "propensity": 0.6,
         "duration_hours": 24.0},
        {"type": "fine_policy", "start": mid, "zone": "centre_zone", "propensity": 0.04,
         "amount_nok": 10000.0},
    ]  # fmt: skip
    interventions.sort(key=lambda iv: iv["start"])
    return {
        "scenario": {"name": f"synthetic_{n_people}_{n_sites}", "title": "Synthetic city"},
        "run": {"start": start, "end": end, "seed": seed},
        "neighbourhoods": neighbourhoods,
        "sites": sites,
        "zones": zones,
        "population": population,
        "sellers": sellers,
        "services": services,
        "interventions": interventions,
        # Recruitment in proportion to the city, as Bergen's 0.35 a day is to its 600 people.
        "parameters": {"rate_entry_per_day": 0.35 * n_people / 600.0}
        | (DISCOVERY if discovery else {}),
    }


def synthetic_city(
    n_people: int, n_sites: int, days: int = 14, seed: int = 0, discovery: bool = False
) -> Scenario:
    """Return a validated synthetic city of ``n_people`` people and ``n_sites`` sites."""
    data = synthetic_data(n_people, n_sites, days, seed, discovery=discovery)
    return parse_text(to_toml(data), f"{data['scenario']['name']}.toml")
