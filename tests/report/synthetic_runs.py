"""Synthetic run tables shaped like docs/CONTRACT.md, for the report tests (no engine needed).

A Bergen-like toy: the park empties at the closure, Vågsbunnen takes the scene, then the underpass
by Strax-huset (most deprived neighbourhood) after the summer-2015 policing.
"""

import numpy as np
import pandas as pd

from scenelab.observe.harm import HARM_COMPONENTS

SITES = pd.DataFrame(
    [
        ("nygardsparken", "Nygårdsparken", "park", "nygardshoyden", 60.3856, 5.3237),
        ("vagsbunnen", "Vågsbunnen", "street", "sentrum", 60.3937, 5.3268),
        ("strax_tunnel", "Underpass by Strax-huset", "underpass", "solheim_nord", 60.3815, 5.3170),
        ("strax_huset", "Strax-huset", "service hub", "solheim_nord", 60.3815, 5.3175),
        ("bystasjonen", "Bystasjonen", "station", "sentrum", 60.3888, 5.3323),
        ("torgallmenningen", "Torgallmenningen", "square", "sentrum", 60.3930, 5.3236),
        ("festplassen", "Festplassen", "square", "sentrum", 60.3913, 5.3258),
    ],
    columns=["id", "name", "kind", "neighbourhood", "lat", "lon"],
)
NEIGHBOURHOODS = pd.DataFrame(
    [
        ("fana", "Fana", 0.10, False, 40000),
        ("fyllingsdalen", "Fyllingsdalen", 0.35, False, 30000),
        ("sentrum", "Sentrum", 0.45, True, 12000),
        ("wergeland", "Wergeland", 0.50, False, 9000),
        ("nygardshoyden", "Nygårdshøyden/Møhlenpris", 0.60, True, 8000),
        ("laksevag", "Laksevåg", 0.80, False, 15000),
        ("solheim_nord", "Solheim nord", 0.90, False, 7000),
    ],
    columns=["id", "name", "deprivation", "centre", "residents"],
)
INTERVENTIONS = [
    ("2014-08-25", "Nygårdsparken closed"),
    ("2015-06-01", "Round-the-clock policing in Vågsbunnen"),
    ("2016-12-01", "Injection room at Strax-huset"),
]
PERIODS = [
    ("Before closure", "2013-01-01", "2014-08-25"),
    ("After closure", "2014-08-25", "2015-06-01"),
    ("After Vågsbunnen policing", "2015-06-01", "2016-12-01"),
    ("Injection room open", "2016-12-01", "2017-07-01"),
]

# share of the scene per site in each period (rows follow PERIODS)
SHARES = {
    "as happened": [
        [0.75, 0.10, 0.03, 0.02, 0.06, 0.02, 0.02],
        [0.02, 0.70, 0.10, 0.04, 0.08, 0.03, 0.03],
        [0.01, 0.22, 0.62, 0.07, 0.05, 0.02, 0.01],
        [0.01, 0.20, 0.60, 0.12, 0.05, 0.01, 0.01],
    ],
    "no closure": [[0.75, 0.10, 0.03, 0.02, 0.06, 0.02, 0.02]] * 4,
    "closure, no tunnel": [
        [0.75, 0.10, 0.03, 0.02, 0.06, 0.02, 0.02],
        [0.02, 0.70, 0.10, 0.04, 0.08, 0.03, 0.03],
        [0.01, 0.55, 0.10, 0.04, 0.20, 0.05, 0.05],
        [0.01, 0.50, 0.10, 0.09, 0.20, 0.05, 0.05],
    ],
}
SIZE = {"as happened": [150, 160, 130, 120], "no closure": [150, 150, 150, 150]}
SIZE["closure, no tunnel"] = [150, 160, 140, 140]
# violence per person-day: crowded, hidden underpass is worse
VIOLENCE_RATE = dict(
    zip(SITES["id"], [0.004, 0.004, 0.012, 0.003, 0.004, 0.004, 0.004], strict=True)
)


def make_tables(strategy="as happened", replicates=3, start="2013-01-01", end="2017-06-30"):
    dates = pd.date_range(start, end, freq="D")
    bounds = [pd.Timestamp(p[1]) for p in PERIODS] + [pd.Timestamp(PERIODS[-1][2])]
    period_of = np.clip(np.searchsorted(bounds, dates, side="right") - 1, 0, len(PERIODS) - 1)
    sd_parts, nm_parts = [], []
    for rep in range(replicates):
        rng = np.random.default_rng(1000 + rep + 17 * len(strategy))
        run_id = f"{strategy[:4]}-{rep}"
        for j, row in SITES.iterrows():
            share = np.array([SHARES[strategy][p][j] for p in period_of])
            size = np.array([SIZE[strategy][p] for p in period_of], dtype=float)
            people = share * size * rng.lognormal(0, 0.15, len(dates))
            sid = row["id"]
            injection_room = (sid == "strax_tunnel") & (dates >= pd.Timestamp("2016-12-01"))
            frame = pd.DataFrame(
                {
                    "run_id": run_id,
                    "scenario": "bergen-synthetic",
                    "scenario_hash": "ab12cd34ef56" * 5,
                    "seed": 1,
                    "replicate": rep,
                    "date": dates,
                    "site": sid,
                    "neighbourhood": row["neighbourhood"],
                    "people_present": people,
                    "people_present_peak": people * 1.8,
                    "sellers_present": people * 0.1,
                    "police_hours": np.where(sid == "vagsbunnen", 20.0, 2.0),
                    "police_controls": rng.poisson(
                        people * (0.08 if sid == "vagsbunnen" else 0.01)
                    ),
                    "expulsions": rng.poisson(people * (0.03 if sid == "vagsbunnen" else 0.002)),
                    "fines": rng.poisson(people * 0.002),
                    "violence_incidents": rng.poisson(people * VIOLENCE_RATE[sid]),
                    "sexual_violence_incidents": rng.poisson(people * VIOLENCE_RATE[sid] / 8),
                    "public_injections": rng.poisson(people * np.where(injection_room, 0.1, 0.2)),
                    "unsafe_injections": rng.poisson(people * 0.04),
                    "overdoses": rng.poisson(people * 0.002),
                    "overdose_deaths": rng.poisson(people * 0.0001),
                    "nuisance": rng.poisson(people * (3.0 if row["kind"] != "underpass" else 1.0)),
                }
            )
            sd_parts.append(frame)
    site_day = pd.concat(sd_parts, ignore_index=True)
    site_day["month"] = site_day["date"].dt.to_period("M").dt.start_time
    counts = list(HARM_COMPONENTS)
    agg = (
        site_day.groupby(["run_id", "replicate", "month", "neighbourhood"])[
            counts + ["people_present"]
        ]
        .sum()
        .reset_index()
    )
    agg["people_hours"] = agg.pop("people_present") * 24
    grid = pd.MultiIndex.from_product(
        [
            sorted(site_day["run_id"].unique()),
            sorted(site_day["month"].unique()),
            NEIGHBOURHOODS["id"],
        ],
        names=["run_id", "month", "neighbourhood"],
    ).to_frame(index=False)
    grid["replicate"] = grid["run_id"].str.rsplit("-", n=1).str[1].astype(int)
    nm = grid.merge(agg, on=["run_id", "replicate", "month", "neighbourhood"], how="left")
    nm[counts + ["people_hours"]] = nm[counts + ["people_hours"]].fillna(0)
    hoods = NEIGHBOURHOODS.set_index("id")
    nm["deprivation"] = nm["neighbourhood"].map(hoods["deprivation"])
    nm["centre"] = nm["neighbourhood"].map(hoods["centre"])
    nm["scenario"] = "bergen-synthetic"
    nm["scenario_hash"] = "ab12cd34ef56" * 5
    nm["seed"] = 1
    nm_parts.append(nm)
    return {
        "site_day": site_day.drop(columns="month"),
        "neighbourhood_month": pd.concat(nm_parts, ignore_index=True),
    }


SURVEY = pd.DataFrame(
    [
        ("Low trust in the police", "women", 40, 55.0, 40.0, 69.0, 62.0),
        ("Low trust in the police", "men", 110, 66.0, 57.0, 74.0, 62.0),
        ("Victim of violence, last month", "women", 40, 30.0, 17.0, 46.0, None),
        ("Victim of violence, last month", "men", 110, 24.0, 17.0, 33.0, None),
        ("Health and life improved", "women", 40, 20.0, 10.0, 35.0, 25.0),
        ("Health and life improved", "men", 110, 18.0, 12.0, 26.0, 25.0),
    ],
    columns=["item", "group", "n", "percent", "ci_low", "ci_high", "field_percent"],
)
