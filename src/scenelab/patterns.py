"""Bergen's calibration patterns (BRIEF.md P1-P7) measured on a run's outputs.

Each pattern is a function of one run's tables returning the measured figures and whether the
pattern holds; the pattern tests and ``scenelab patterns`` use the same definitions.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd


@dataclass(frozen=True)
class PatternResult:
    """One pattern measured on one run."""

    pattern: str
    target: str
    measured: dict[str, float]
    holds: bool


def _mean(sd: pd.DataFrame, sites: list[str], start: str, end: str, col: str) -> float:
    mask = sd["site"].isin(sites) & (sd["date"] >= start) & (sd["date"] <= end)
    days = pd.date_range(start, end).size
    return float(sd.loc[mask, col].sum()) / days


def bergen_patterns(
    sd: pd.DataFrame, centre: list[str], deprived: list[str]
) -> list[PatternResult]:
    """Measure P1-P4 and P6 on one Bergen run (site_day rows of one replicate)."""
    out = []
    park_before = _mean(sd, ["nygardsparken"], "2013-01-01", "2014-05-31", "people_present")
    park_after = _mean(sd, ["nygardsparken"], "2014-09-01", "2016-08-31", "people_present")
    out.append(
        PatternResult(
            "P1",
            "park almost empty for two years after closure (<5% of before)",
            {"before": park_before, "after": park_after},
            park_after < 0.05 * park_before,
        )
    )
    vag_before = _mean(sd, ["vagsbunnen"], "2013-01-01", "2014-05-31", "people_present")
    vag_first = _mean(sd, ["vagsbunnen"], "2014-09-01", "2015-05-31", "people_present")
    out.append(
        PatternResult(
            "P2",
            "Vagsbunnen grows in the first year after closure (>2x before)",
            {"before": vag_before, "first_year": vag_first},
            vag_first > 2 * vag_before and vag_first > 5,
        )
    )
    tun_2016 = _mean(sd, ["strax_tunnel"], "2015-09-01", "2016-12-31", "people_present")
    vag_2016 = _mean(sd, ["vagsbunnen"], "2015-09-01", "2016-12-31", "people_present")
    others = [
        _mean(sd, [s], "2015-09-01", "2016-12-31", "people_present")
        for s in sd["site"].unique()
        if s != "strax_tunnel"
    ]
    out.append(
        PatternResult(
            "P3",
            "tunnel is the main scene after summer 2015; Vagsbunnen smaller than its first year "
            "but active",
            {"tunnel": tun_2016, "vagsbunnen": vag_2016, "vagsbunnen_first_year": vag_first},
            tun_2016 > max(others) and 0.5 < vag_2016 < vag_first,
        )
    )
    nb = sd.assign(harm=sd["violence_incidents"] * 1000.0 + sd["nuisance"])

    def nb_mean(nbhds: list[str], start: str, end: str) -> float:
        mask = nb["neighbourhood"].isin(nbhds) & (nb["date"] >= start) & (nb["date"] <= end)
        return float(nb.loc[mask, "harm"].sum()) / pd.date_range(start, end).size

    c0, c1 = (
        nb_mean(centre, "2013-01-01", "2014-05-31"),
        nb_mean(centre, "2015-09-01", "2016-12-31"),
    )
    d0, d1 = (
        nb_mean(deprived, "2013-01-01", "2014-05-31"),
        nb_mean(deprived, "2015-09-01", "2016-12-31"),
    )
    out.append(
        PatternResult(
            "P4",
            "centre harm falls sharply (<50%); harm in the deprived area around Strax-huset rises",
            {"centre_before": c0, "centre_after": c1, "deprived_before": d0, "deprived_after": d1},
            c1 < 0.5 * c0 and d1 > d0,
        )
    )
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
    out.append(
        PatternResult(
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
    )
    return out


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
    """Measure every Bergen pattern on one run's Results."""
    centre = [n.id for n in scenario.neighbourhoods if n.centre]
    deprived = [s.neighbourhood for s in scenario.sites if s.id == "strax_tunnel"]
    out = bergen_patterns(results.site_day, centre, deprived)
    out.insert(4, p5_smaller_scene(results.city_day))
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
