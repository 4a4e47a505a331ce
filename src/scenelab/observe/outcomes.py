"""Named scalar outcomes and the per-period summary of a run, from its tidy tables.

These are the quantities experiments, sensitivity analysis and calibration read
(``Results.outcomes``) and the summary's per-period rows. The metric columns they use come from
the registry (``model.metrics``): every harm component gets ``<column>_per_day``, and every
metric marked ``summary`` appears in the per-period summary.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from scenelab.model.metrics import HARM, METRICS, OFF_SCENE_HARM
from scenelab.observe.equity import concentration_index, share_most_deprived
from scenelab.observe.harm import HarmWeights, harm_by_neighbourhood_month
from scenelab.scenario import schema as sc

#: Columns reported as ``<column>_per_day`` outcomes: the harm components, in composite order.
PER_DAY_OUTCOMES: tuple[str, ...] = tuple(m.column for m in HARM)
#: ``city_day`` columns of harm off the scene sites, reported as ``<column>_per_day`` outcomes.
OFF_SCENE_PER_DAY_OUTCOMES: tuple[str, ...] = tuple(m.column for m in OFF_SCENE_HARM)
#: Columns reported per day in each period of the run summary.
SUMMARY_COLUMNS: tuple[str, ...] = tuple(m.column for m in METRICS if m.summary)


def periods(
    scenario: sc.Scenario, until: dt.date | None = None
) -> list[tuple[str, dt.date, dt.date]]:
    """Return the periods between interventions: ``(label, first day, last day)``."""
    end = min(until or scenario.run.end, scenario.run.end)
    starts = sorted({scenario.run.start, *(iv.start for iv in scenario.interventions)})
    starts = [d for d in starts if d <= end]
    out = []
    for k, first in enumerate(starts):
        last = starts[k + 1] - dt.timedelta(days=1) if k + 1 < len(starts) else end
        out.append((f"{first.isoformat()}..{last.isoformat()}", first, last))
    return out


def scenario_weights(scenario: sc.Scenario) -> HarmWeights:
    """The scenario's harm weights: defaults overridden by its ``harm_weights`` table, if any."""
    given = getattr(scenario, "harm_weights", None)
    return HarmWeights.from_mapping(given) if given else HarmWeights()


def harm_outcomes(nm: pd.DataFrame, scenario: sc.Scenario) -> dict[str, float]:
    """Composite harm and its distribution over neighbourhoods, whole run and per year.

    The composite counts harm off the scene sites too (where ``nm`` has the off-scene columns);
    ``harm_off_scene_per_month`` is that part alone.
    """
    harm = harm_by_neighbourhood_month(nm, scenario_weights(scenario))
    monthly = harm.groupby("month")[["harm", "harm_off_scene"]].sum()
    out = {
        "harm_per_month": float(monthly["harm"].mean()),
        "harm_off_scene_per_month": float(monthly["harm_off_scene"].mean()),
    }
    meta = {n.id: n for n in scenario.neighbourhoods}

    def equity(part: pd.DataFrame, suffix: str) -> None:
        per = part.groupby("neighbourhood")["harm"].sum()
        dep = [meta[n].deprivation for n in per.index]
        pop = [meta[n].residents for n in per.index]
        out[f"concentration_index{suffix}"] = concentration_index(per.values, dep, pop)
        out[f"share_most_deprived{suffix}"] = share_most_deprived(per.values, dep, pop)
        out[f"harm{suffix}"] = float(per.sum())

    equity(harm, "")
    for year, part in harm.groupby(harm["month"].dt.year):
        equity(part, f"_{year}")
    return out


def outcomes(
    sd: pd.DataFrame, cd: pd.DataFrame, nm: pd.DataFrame, scenario: sc.Scenario
) -> dict[str, float]:
    """Named scalar outcomes (the quantities experiments, sensitivity and calibration use)."""
    out: dict[str, float] = {}
    days = sd["date"].nunique()
    total = sd.groupby("date")["people_present"].sum()
    out["people_present_mean"] = float(total.mean())
    for col in PER_DAY_OUTCOMES:
        out[f"{col}_per_day"] = float(sd[col].sum() / days)
    person_hours = float(sd["people_present"].sum() * 24.0)
    out["violence_per_1000_person_hours"] = (
        1000.0 * float(sd["violence_incidents"].sum()) / person_hours if person_hours else 0.0
    )
    year = sd["date"].dt.year
    centre = {n.id for n in scenario.neighbourhoods if n.centre}
    # a row filter copies every column it keeps: keep only those read below
    by_year = sd[["date", "site", "neighbourhood", "people_present", "expulsions", "fines",
                  "violence_incidents", "nuisance"]]  # fmt: skip
    for y in sorted(year.unique()):
        in_year = by_year[year == y]
        ph = in_year.groupby("site")["people_present"].sum()
        tot = float(ph.sum())
        for site in scenario.site_ids():
            out[f"share_{site}_{y}"] = float(ph.get(site, 0.0)) / tot if tot else 0.0
            out[f"people_{site}_{y}"] = float(ph.get(site, 0.0)) / in_year["date"].nunique()
        out[f"expulsions_{y}"] = float(in_year["expulsions"].sum())
        out[f"fines_{y}"] = float(in_year["fines"].sum())
        out[f"violence_{y}"] = float(in_year["violence_incidents"].sum())
        is_centre = in_year["neighbourhood"].isin(centre)
        out[f"centre_violence_{y}"] = float(in_year.loc[is_centre, "violence_incidents"].sum())
        out[f"centre_nuisance_{y}"] = float(in_year.loc[is_centre, "nuisance"].sum())
    for col in OFF_SCENE_PER_DAY_OUTCOMES:
        out[f"{col}_per_day"] = float(cd[col].sum() / len(cd)) if len(cd) else 0.0
    out.update(harm_outcomes(nm, scenario))
    out["population_end"] = float(cd["population"].iloc[-1])
    out["travelling_sellers_end"] = float(cd["sellers_travelling"].iloc[-1])
    return out


def period_summary(
    sd: pd.DataFrame, scenario: sc.Scenario, until: dt.date | None
) -> list[dict[str, object]]:
    """Return one row per period between interventions: people by site and events per day."""
    rows = []
    sd = sd[list(dict.fromkeys(["date", "site", "people_present", *SUMMARY_COLUMNS]))]  # read below
    for label, first, last in periods(scenario, until):
        mask = (sd["date"] >= pd.Timestamp(first)) & (sd["date"] <= pd.Timestamp(last))
        part = sd[mask]
        n_days = (last - first).days + 1
        by_site = part.groupby("site")["people_present"].sum() / n_days
        rows.append(
            {
                "period": label,
                "start": first.isoformat(),
                "end": last.isoformat(),
                "days": n_days,
                "people_present_by_site": {k: round(float(v), 3) for k, v in by_site.items()},
                "per_day": {
                    col: round(float(part[col].sum()) / n_days, 4) for col in SUMMARY_COLUMNS
                },
            }
        )
    return rows
