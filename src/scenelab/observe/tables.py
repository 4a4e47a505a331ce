"""Turn a run's recorded arrays into tidy tables with provenance columns."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from scenelab.model import state as st
from scenelab.model.engine import RawRun
from scenelab.model.metrics import CITY_DAY, OFF_SCENE_HARM, SITE_DAY, metrics
from scenelab.scenario.schema import Scenario

SITE_DAY_METRICS = metrics(SITE_DAY)
CITY_DAY_METRICS = metrics(CITY_DAY)
#: The ``site_day`` metric columns, in order (after the provenance, date, site, neighbourhood).
SITE_DAY_COLUMNS: tuple[str, ...] = tuple(m.column for m in SITE_DAY_METRICS)
#: Harm components summed per neighbourhood and month: the harms to people and places, then the
#: burdens of enforcement, each in ``site_day`` column order.
HARM_COLUMNS: tuple[str, ...] = tuple(
    m.column
    for enforcement in (False, True)
    for m in SITE_DAY_METRICS
    if m.harm is not None and m.enforcement == enforcement
)
#: Harm off the scene sites (``city_day`` columns), attributed to neighbourhoods per month.
OFF_SCENE_COLUMNS: tuple[str, ...] = tuple(m.column for m in OFF_SCENE_HARM)


def _dates(raw: RawRun) -> pd.DatetimeIndex:
    return pd.date_range(raw.start, periods=raw.n_days, freq="D")


def site_day(raw: RawRun, scn: Scenario, provenance: dict[str, object]) -> pd.DataFrame:
    """Return one row per (date, site) with the recorded outcomes."""
    arr = raw.out.site_day[: raw.n_days]
    n_days, n_sites, _ = arr.shape
    data: dict[str, object] = {}
    for key, value in provenance.items():
        data[key] = np.repeat(value, n_days * n_sites)
    data["date"] = np.repeat(_dates(raw).values, n_sites)
    data["site"] = np.tile(np.array(scn.site_ids(), dtype=object), n_days)
    data["neighbourhood"] = np.tile(
        np.array([s.neighbourhood for s in scn.sites], dtype=object), n_days
    )
    flat = arr.reshape(n_days * n_sites, -1)
    for k, metric in enumerate(SITE_DAY_METRICS):
        values = flat[:, k]
        if metric.hourly_mean:
            values = values / 24.0  # mean over the day's hours
        data[metric.column] = values
    frame = pd.DataFrame(data)
    int_cols = [m.column for m in SITE_DAY_METRICS if m.integer]
    frame[int_cols] = frame[int_cols].astype(np.int64)
    return frame


def _off_scene_by_neighbourhood(grouped: pd.DataFrame, cd: pd.DataFrame) -> pd.DataFrame:
    """Attribute each month's off-scene harm counts to neighbourhoods (expected counts).

    The model records off-scene events city-wide, without a place. A month's events are shared
    out in proportion to the scene's person-hours per neighbourhood that month: the people
    harmed off the sites are the scene's people, and they spend their days (and mostly sleep)
    around the sites they use. A month with no scene presence uses the whole run's person-hours;
    a run with none at all, the residents. The shares are fractional, so the columns are floats.
    """
    monthly = (
        cd.assign(month=cd["date"].dt.to_period("M").dt.to_timestamp())
        .groupby("month")[list(OFF_SCENE_COLUMNS)]
        .sum()
    )
    hours = grouped.pivot(index="month", columns="neighbourhood", values="people_hours")
    fallback = hours.sum()
    if not fallback.sum() > 0:
        fallback = grouped.groupby("neighbourhood")["residents"].first().reindex(hours.columns)
        fallback = fallback.astype(float) if fallback.sum() > 0 else fallback * 0.0 + 1.0
    total = hours.sum(axis=1)
    share = hours.div(total.where(total > 0), axis=0)
    empty = ~(total > 0)
    if empty.any():
        share.loc[empty, :] = np.tile((fallback / fallback.sum()).to_numpy(), (int(empty.sum()), 1))
    out = grouped[["month", "neighbourhood"]].copy()
    # each row's (month, neighbourhood) cell of the share matrix, by position: a merge per
    # column cost ~40 ms each, a sixth of a calibration simulation's table building
    at_month = share.index.get_indexer(out["month"])
    at_hood = share.columns.get_indexer(out["neighbourhood"])
    found = (at_month >= 0) & (at_hood >= 0)
    cells = share.to_numpy(dtype=float)
    for col in OFF_SCENE_COLUMNS:
        counts = monthly[col].reindex(share.index, fill_value=0).to_numpy(dtype=float)
        attributed = cells * counts[:, None]
        values = np.where(found, attributed[np.maximum(at_month, 0), np.maximum(at_hood, 0)], 0.0)
        out[col] = np.nan_to_num(values, nan=0.0)
    return out


def neighbourhood_month(
    sd: pd.DataFrame,
    scn: Scenario,
    provenance: dict[str, object],
    cd: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Aggregate a site-day table to harm components per neighbourhood per month.

    With the run's ``city_day`` table, the off-scene harm counts (:data:`OFF_SCENE_COLUMNS`) are
    added, attributed to neighbourhoods by :func:`_off_scene_by_neighbourhood`'s rule.
    """
    frame = sd.assign(
        month=sd["date"].dt.to_period("M").dt.to_timestamp(),
        people_hours=sd["people_present"] * 24.0,
    )
    grouped = frame.groupby(["month", "neighbourhood"], sort=True)[
        ["people_hours", *HARM_COLUMNS]
    ].sum()
    months = frame["month"].unique()
    full = pd.MultiIndex.from_product(
        [months, [n.id for n in scn.neighbourhoods]], names=["month", "neighbourhood"]
    )
    grouped = grouped.reindex(full, fill_value=0).reset_index()
    meta = pd.DataFrame(
        {
            "neighbourhood": [n.id for n in scn.neighbourhoods],
            "deprivation": [n.deprivation for n in scn.neighbourhoods],
            "residents": [n.residents for n in scn.neighbourhoods],
            "centre": [n.centre for n in scn.neighbourhoods],
        }
    )
    out = grouped.merge(meta, on="neighbourhood", how="left")
    if cd is not None:
        off = _off_scene_by_neighbourhood(out, cd)
        out = out.merge(off, on=["month", "neighbourhood"], how="left")
    for key, value in reversed(list(provenance.items())):
        out.insert(0, key, value)
    return out


def city_day(raw: RawRun, provenance: dict[str, object]) -> pd.DataFrame:
    """Return city-wide daily stocks and off-scene events."""
    arr = raw.out.city_day[: raw.n_days]
    out = pd.DataFrame(arr, columns=[m.column for m in CITY_DAY_METRICS]).astype(np.int64)
    out.insert(0, "date", _dates(raw))
    for key, value in reversed(list(provenance.items())):
        out.insert(0, key, value)
    return out


def people_snapshot(raw: RawRun, start: dt.date, provenance: dict[str, object]) -> pd.DataFrame:
    """Return the synthetic people who were ever in the population (no identities: slot only)."""
    p = raw.people
    used = int(raw.sites.counters[0])
    cols = [name for name in st.PEOPLE_FIELDS if name not in ("helped_today", "at_scene_today")]
    out = pd.DataFrame({name: getattr(p, name)[:used] for name in cols})
    out.insert(0, "person", np.arange(used))
    for key, value in reversed(list(provenance.items())):
        out.insert(0, key, value)
    return out
