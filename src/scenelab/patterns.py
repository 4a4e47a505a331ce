"""Bergen's calibration patterns (P1-P8, ``docs/calibration-bergen.md``) measured on a run.

Each pattern is a function of one run's tables returning the measured figures and whether the
pattern holds; the pattern tests and ``scenelab patterns`` use the same definitions. Each checks
something the model could get wrong; the calibration page says, per pattern, how it could fail.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from scenelab.observe.equity import concentration_index
from scenelab.observe.harm import HarmWeights, harm_by_neighbourhood_month


@dataclass(frozen=True)
class PatternResult:
    """One pattern measured on one run."""

    pattern: str
    target: str
    measured: dict[str, float]
    holds: bool


def _mean(sd: pd.DataFrame, sites: list[str] | None, start: str, end: str, col: str) -> float:
    """Daily mean of ``col`` summed over ``sites`` (all sites if None) from start to end."""
    mask = (sd["date"] >= start) & (sd["date"] <= end)
    if sites is not None:
        mask &= sd["site"].isin(sites)
    days = pd.date_range(start, end).size
    return float(sd.loc[mask, col].sum()) / days


def _share(sd: pd.DataFrame, site: str, start: str, end: str) -> float:
    """Share of all scene presence (person-hours) at ``site`` from start to end."""
    total = _mean(sd, None, start, end, "people_present")
    return _mean(sd, [site], start, end, "people_present") / total if total else 0.0


def _overtake_month(sd: pd.DataFrame, site: str, other: str, start: str) -> float:
    """Months from ``start`` to the first month in which ``site`` holds more than ``other``."""
    part = sd[sd["date"] >= start]
    monthly = (
        part.groupby([pd.Grouper(key="date", freq="MS"), "site"])["people_present"].mean().unstack()
    )
    ahead = monthly.index[monthly[site] > monthly[other]]
    if len(ahead) == 0:
        return float("nan")
    first, origin = ahead.min(), pd.Timestamp(start)
    return float((first.year - origin.year) * 12 + first.month - origin.month)


def bergen_patterns(
    sd: pd.DataFrame,
    nm: pd.DataFrame,
    centre: list[str],
    deprivation: dict[str, float],
    weights: HarmWeights | None = None,
) -> list[PatternResult]:
    """Measure P1-P4 on one Bergen run (tables of one replicate).

    Every check is on a quantity the model produces and could get wrong: where the displaced
    people went (absolute shares of the whole scene) and how fast, and where the harm went with the
    documented weights (``observe.harm.HarmWeights``, off-scene harm included). How each could
    fail is in ``docs/calibration-bergen.md``.

    Args:
        sd: ``site_day`` of one run.
        nm: ``neighbourhood_month`` of the same run (with the off-scene columns).
        centre: Ids of the city-centre neighbourhoods.
        deprivation: Deprivation per neighbourhood id.
        weights: Harm-days per event (the scenario's; defaults if None).
    """
    out = []
    before = _mean(sd, None, "2014-06-01", "2014-08-24", "people_present")
    after = _mean(sd, None, "2014-09-01", "2014-10-31", "people_present")
    park_share = _share(sd, "nygardsparken", "2014-09-01", "2014-10-31")
    out.append(
        PatternResult(
            "P1",
            "the closure displaces the scene, it does not disperse it: scene presence in "
            "Sep-Oct 2014 is 70-130% of the 12 weeks before; the park holds <5% of it",
            {"scene_before": before, "scene_after": after, "park_share_after": park_share},
            0.7 * before <= after <= 1.3 * before and park_share < 0.05,
        )
    )
    vag_week2 = _share(sd, "vagsbunnen", "2014-09-01", "2014-09-07")
    vag_year = _share(sd, "vagsbunnen", "2014-09-01", "2015-05-31")
    out.append(
        PatternResult(
            "P2",
            "Vagsbunnen is the main scene within two weeks of the closure (>50% of presence in "
            "1-7 Sep 2014) and over its first year (>50%, Sep 2014-May 2015)",
            {"vagsbunnen_share_week2": vag_week2, "vagsbunnen_share_first_year": vag_year},
            vag_week2 > 0.5 and vag_year > 0.5,
        )
    )
    tun_share = _share(sd, "strax_tunnel", "2016-01-01", "2016-12-31")
    overtake = _overtake_month(sd, "strax_tunnel", "vagsbunnen", "2015-06-01")
    out.append(
        PatternResult(
            "P3",
            "the tunnel is the main scene in 2016 (>50% of presence); figure only: months from "
            "June 2015 until it first holds more than Vagsbunnen",
            {"tunnel_share_2016": tun_share, "tunnel_overtakes_after_months": overtake},
            tun_share > 0.5,
        )
    )
    vag_late = _mean(sd, ["vagsbunnen"], "2016-07-01", "2016-12-31", "people_present")
    out.append(
        PatternResult(
            "P3b",
            "a residual scene stays in Vagsbunnen: >= 1 person a day on average, Jul-Dec 2016",
            {"vagsbunnen_people_2016h2": vag_late},
            vag_late >= 1.0,
        )
    )
    harm = harm_by_neighbourhood_month(nm, weights)

    def spread(start: str, end: str) -> tuple[float, float]:
        part = harm[(harm["month"] >= start) & (harm["month"] <= end)]
        per = part.groupby("neighbourhood")["harm"].sum()
        total = float(per.sum())
        centre_share = float(per[per.index.isin(centre)].sum()) / total if total else 0.0
        residents = part.groupby("neighbourhood")["residents"].first().reindex(per.index)
        index = concentration_index(
            per.to_numpy(), [deprivation[n] for n in per.index], residents.to_numpy()
        )
        return centre_share, index

    c0, ci0 = spread("2013-01-01", "2014-05-31")
    c1, ci1 = spread("2015-09-01", "2016-12-31")
    out.append(
        PatternResult(
            "P4",
            "harm (documented weights, off-scene included) leaves the centre and moves to more "
            "deprived areas: the centre's share of all harm falls below half its pre-closure "
            "share and the concentration index over deprivation rises by >= 0.1",
            {
                "centre_share_before": c0,
                "centre_share_after": c1,
                "concentration_before": ci0,
                "concentration_after": ci1,
            },
            c1 < 0.5 * c0 and ci1 - ci0 >= 0.1,
        )
    )
    return out


def p6_police_counts(sd: pd.DataFrame) -> PatternResult:
    """P6: expulsions and fines per year within a factor of 2 of the police's figures."""
    year = sd["date"].dt.year
    exp15 = float(sd.loc[year == 2015, "expulsions"].sum())
    exp16 = float(
        sd.loc[(sd["date"] >= "2016-01-01") & (sd["date"] <= "2016-12-15"), "expulsions"].sum()
    )
    fin1415 = float(sd.loc[year.isin([2014, 2015]), "fines"].sum())
    fin16 = float(sd.loc[year == 2016, "fines"].sum())
    within = (
        (650 <= exp15 <= 2600)
        and (173 <= exp16 <= 694)
        and (136 <= fin1415 <= 546)
        and (21 <= fin16 <= 86)
    )
    return PatternResult(
        "P6",
        "within a factor 2 of: >1300 expulsions 2015, 347 in 2016 (to mid-Dec), 273 fines "
        "2014-15, 43 fines 2016",
        {
            "expulsions_2015": exp15,
            "expulsions_2016": exp16,
            "fines_2014_2015": fin1415,
            "fines_2016": fin16,
        },
        within,
    )


def p5_smaller_scene(cd: pd.DataFrame) -> PatternResult:
    """P5: the scene is a bit smaller, with fewer travelling sellers and occasional buyers."""

    def mean(col: str, start: str, end: str) -> float:
        mask = (cd["date"] >= start) & (cd["date"] <= end)
        return float(cd.loc[mask, col].mean())

    before = {
        c: mean(c, "2013-06-01", "2014-05-31")
        for c in ("population", "sellers_travelling", "occasional")
    }
    after = {c: mean(c, "2016-01-01", "2016-12-31") for c in before}
    measured = {f"{c}_before": v for c, v in before.items()}
    measured.update({f"{c}_after": v for c, v in after.items()})
    holds = (
        0.6 * before["population"] <= after["population"] < before["population"]
        and after["sellers_travelling"] < before["sellers_travelling"]
        and after["occasional"] < before["occasional"]
    )
    return PatternResult(
        "P5",
        "population 0-40% smaller in 2016 than before the closure; fewer "
        "travelling sellers and occasional buyers",
        measured,
        holds,
    )


def p7_trust(survey: pd.DataFrame | None) -> PatternResult:
    """P7: about 62% low trust in the survey; more negative with more police contact."""
    if survey is None:
        return PatternResult("P7", "survey needed", {}, False)
    rows = survey[survey["item"] == "trust_low"].set_index("group")["percent"]
    measured = {
        "trust_low_all": float(rows["all"]),
        "trust_low_contact_low": float(rows["police_contact_low"]),
        "trust_low_contact_high": float(rows["police_contact_high"]),
    }
    holds = abs(measured["trust_low_all"] - 62.0) <= 10.0 and (
        measured["trust_low_contact_high"] > measured["trust_low_contact_low"]
    )
    return PatternResult(
        "P7", "62% +-10 points report low trust; more among high police contact", measured, holds
    )


def all_patterns(results: object, scenario: object) -> list[PatternResult]:
    """Measure every Bergen pattern (except P8, on its own scenario) on one run's Results."""
    centre = [n.id for n in scenario.neighbourhoods if n.centre]
    deprivation = {n.id: n.deprivation for n in scenario.neighbourhoods}
    from scenelab.observe.outcomes import scenario_weights

    weights = scenario_weights(scenario)  # the one weight set of every other output
    out = bergen_patterns(
        results.site_day, results.neighbourhood_month, centre, deprivation, weights
    )
    out.append(p5_smaller_scene(results.city_day))
    out.append(p6_police_counts(results.site_day))
    out.append(p7_trust(results.survey))
    return out


def pattern_table(scenario: object, seeds: list[int]) -> pd.DataFrame:
    """Run ``scenario`` once per seed and tabulate each pattern's figures and pass rate.

    P8 is measured on the ``bergen-1989`` variant with the same seeds.
    """
    from scenelab.api import run
    from scenelab.scenario.loader import builtin_names, load_scenario

    episode = load_scenario("bergen-1989") if "bergen-1989" in builtin_names() else None
    rows = []
    for seed in seeds:
        res = run(scenario, seed=seed)
        found = all_patterns(res, scenario)
        if episode is not None:
            found.append(p8_return(run(episode, seed=seed).site_day))
        for p in found:
            for key, value in p.measured.items():
                rows.append(
                    {
                        "pattern": p.pattern,
                        "target": p.target,
                        "seed": seed,
                        "figure": key,
                        "value": value,
                        "holds": p.holds,
                    }
                )
    return pd.DataFrame(rows)


def p8_return(sd: pd.DataFrame) -> PatternResult:
    """P8 (on the bergen-1989 scenario): displaced to Torgallmenningen, back in the park by 1994."""

    def share(site: str, start: str, end: str) -> float:
        part = sd[(sd["date"] >= start) & (sd["date"] <= end)]
        total = float(part["people_present"].sum())
        return (
            float(part.loc[part["site"] == site, "people_present"].sum()) / total if total else 0.0
        )

    measured = {
        "torgallmenningen_share_1990": share("torgallmenningen", "1989-07-01", "1990-12-31"),
        "park_share_1990": share("nygardsparken", "1989-07-01", "1990-12-31"),
        "park_share_1994": share("nygardsparken", "1994-01-01", "1994-12-31"),
    }
    holds = measured["torgallmenningen_share_1990"] > 0.5 and measured["park_share_1994"] > 0.5
    return PatternResult(
        "P8",
        "after the 1989 clearance most of the scene at Torgallmenningen; "
        "back in the park (>50%) by 1994",
        measured,
        holds,
    )
