"""Named scalar outcomes and the per-period summary of a run, from its tidy tables.

These are the quantities experiments, sensitivity analysis and calibration read
(``Results.outcomes``) and the summary's per-period rows. The metric columns they use come from
the registry (``model.metrics``): every harm component gets ``<column>_per_day``, and every
metric marked ``summary`` appears in the per-period summary.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from scenelab.model.metrics import HARM, METRICS, OFF_SCENE_HARM
from scenelab.observe.equity import concentration_index, share_most_deprived
from scenelab.observe.harm import HarmWeights, harm_totals
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


def _codes(values: pd.Series | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return the sorted distinct values and each row's position among them (by hashing)."""
    codes, uniques = pd.factorize(values, sort=True)
    return np.asarray(uniques), codes


def _sums(codes: np.ndarray, weights: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Return the sum of ``weights`` per code (``n`` codes) and which codes have any row."""
    return np.bincount(codes, weights, n), np.bincount(codes, minlength=n) > 0


def _year(dates: np.ndarray) -> np.ndarray:
    """Return the calendar year of each ``datetime64`` value."""
    return dates.astype("datetime64[Y]").astype(np.int64) + 1970


def harm_outcomes(nm: pd.DataFrame, scenario: sc.Scenario) -> dict[str, float]:
    """Composite harm and its distribution over neighbourhoods, whole run and per year.

    The composite counts harm off the scene sites too (where ``nm`` has the off-scene columns);
    ``harm_off_scene_per_month`` is that part alone. Sums are bincounts over the rows' month and
    neighbourhood codes (sorted, as a group-by gives them): group-bys over a frame of harm
    columns took 27 ms a run.
    """
    harm, off = harm_totals(nm, scenario_weights(scenario))
    months, m_code = _codes(np.asarray(nm["month"], dtype="datetime64[us]"))
    out = {
        "harm_per_month": float(np.bincount(m_code, harm, len(months)).mean()),
        "harm_off_scene_per_month": float(np.bincount(m_code, off, len(months)).mean()),
    }
    meta = {n.id: n for n in scenario.neighbourhoods}
    hoods, h_code = _codes(nm["neighbourhood"])
    dep = np.array([meta[n].deprivation for n in hoods], dtype=float)
    pop = np.array([meta[n].residents for n in hoods], dtype=float)

    def equity(rows: np.ndarray | slice, suffix: str) -> None:
        per, seen = _sums(h_code[rows], harm[rows], len(hoods))
        per, d, w = per[seen], dep[seen], pop[seen]
        out[f"concentration_index{suffix}"] = concentration_index(per, d, w)
        out[f"share_most_deprived{suffix}"] = share_most_deprived(per, d, w)
        out[f"harm{suffix}"] = float(per.sum())

    equity(slice(None), "")
    year = _year(months)[m_code]
    for y in np.unique(year):
        equity(year == y, f"_{y}")
    return out


def outcomes(
    sd: pd.DataFrame, cd: pd.DataFrame, nm: pd.DataFrame, scenario: sc.Scenario
) -> dict[str, float]:
    """Named scalar outcomes (the quantities experiments, sensitivity and calibration use).

    Computed on the columns as arrays, with rows grouped by integer codes (bincounts): the
    pandas group-bys and row filters this replaced took 22 ms a run, more than a third of the
    simulation of a five-month window.
    """
    out: dict[str, float] = {}
    day = np.asarray(sd["date"], dtype="datetime64[D]")
    dates, d_code = _codes(day)
    days = len(dates)
    present = sd["people_present"].to_numpy(dtype=float)
    out["people_present_mean"] = float(np.bincount(d_code, present, days).mean())
    for col in PER_DAY_OUTCOMES:
        out[f"{col}_per_day"] = float(sd[col].to_numpy().sum() / days)
    person_hours = float(present.sum() * 24.0)
    violence = sd["violence_incidents"].to_numpy()
    out["violence_per_1000_person_hours"] = (
        1000.0 * float(violence.sum()) / person_hours if person_hours else 0.0
    )
    sites, s_code = _codes(sd["site"])
    at = {site: k for k, site in enumerate(sites)}
    centre = [n.id for n in scenario.neighbourhoods if n.centre]
    in_centre = np.isin(sd["neighbourhood"].to_numpy(dtype=object), centre)
    counts = {c: sd[c].to_numpy() for c in ("expulsions", "fines", "nuisance")}
    year = _year(day)
    years, days_in_year = np.unique(_year(dates), return_counts=True)
    n_days_of = dict(zip(years, days_in_year, strict=True))
    for y in np.unique(year):
        rows = year == y
        # person-days per site (each row holds a day's mean number of people present)
        person_days = np.bincount(s_code[rows], present[rows], len(sites))
        tot = float(person_days.sum())
        for site in scenario.site_ids():
            at_site = float(person_days[at[site]]) if site in at else 0.0
            out[f"share_{site}_{y}"] = at_site / tot if tot else 0.0
            out[f"people_{site}_{y}"] = at_site / n_days_of[y]
        out[f"expulsions_{y}"] = float(counts["expulsions"][rows].sum())
        out[f"fines_{y}"] = float(counts["fines"][rows].sum())
        out[f"violence_{y}"] = float(violence[rows].sum())
        out[f"centre_violence_{y}"] = float(violence[rows & in_centre].sum())
        out[f"centre_nuisance_{y}"] = float(counts["nuisance"][rows & in_centre].sum())
    for col in OFF_SCENE_PER_DAY_OUTCOMES:
        out[f"{col}_per_day"] = float(cd[col].sum() / len(cd)) if len(cd) else 0.0
    out.update(harm_outcomes(nm, scenario))
    out["population_end"] = float(cd["population"].iloc[-1])
    out["travelling_sellers_end"] = float(cd["sellers_travelling"].iloc[-1])
    return out


def period_summary(
    sd: pd.DataFrame, scenario: sc.Scenario, until: dt.date | None
) -> list[dict[str, object]]:
    """Return one row per period between interventions: people by site and events per day.

    Sites in name order, as a group-by gives them; sums over the rows of each period's days.
    """
    rows = []
    day = np.asarray(sd["date"], dtype="datetime64[D]")
    sites, s_code = _codes(sd["site"])
    present = sd["people_present"].to_numpy(dtype=float)
    columns = {col: sd[col].to_numpy() for col in SUMMARY_COLUMNS}
    for label, first, last in periods(scenario, until):
        part = (day >= np.datetime64(first)) & (day <= np.datetime64(last))
        n_days = (last - first).days + 1
        person_days, seen = _sums(s_code[part], present[part], len(sites))
        by_site = person_days / n_days
        rows.append(
            {
                "period": label,
                "start": first.isoformat(),
                "end": last.isoformat(),
                "days": n_days,
                "people_present_by_site": {
                    site: round(float(v), 3)
                    for site, v, ok in zip(sites, by_site, seen, strict=True)
                    if ok
                },
                "per_day": {
                    col: round(float(values[part].sum()) / n_days, 4)
                    for col, values in columns.items()
                },
            }
        )
    return rows
