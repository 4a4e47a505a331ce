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


def _repeated(labels: list[str], index: np.ndarray) -> pd.api.extensions.ExtensionArray:
    """Return ``labels[index]`` as a string column, converting each distinct label once.

    A column of repeated names built from a NumPy object array converts every row to pandas'
    string type (about 2 ms per 10,000 rows); taking positions from the few labels does not.
    """
    return pd.array(labels, dtype=pd.StringDtype(na_value=np.nan)).take(index)


def site_day(raw: RawRun, scn: Scenario, provenance: dict[str, object]) -> pd.DataFrame:
    """Return one row per (date, site) with the recorded outcomes."""
    arr = raw.out.site_day[: raw.n_days]
    n_days, n_sites, _ = arr.shape
    data: dict[str, object] = dict(provenance)  # scalars, broadcast to every row
    data["date"] = np.repeat(_dates(raw).values, n_sites)
    at_site = np.tile(np.arange(n_sites), n_days)
    data["site"] = _repeated(scn.site_ids(), at_site)
    data["neighbourhood"] = _repeated([s.neighbourhood for s in scn.sites], at_site)
    flat = arr.reshape(n_days * n_sites, -1)
    for k, metric in enumerate(SITE_DAY_METRICS):
        values = flat[:, k]
        if metric.hourly_mean:
            values = values / 24.0  # mean over the day's hours
        if metric.integer:
            values = values.astype(np.int64)
        data[metric.column] = values
    return pd.DataFrame(data, index=pd.RangeIndex(n_days * n_sites))


def _months(dates: pd.Series | np.ndarray) -> np.ndarray:
    """Return the first day of each date's month, in microseconds as pandas' own periods give."""
    month = np.asarray(dates, dtype="datetime64[us]").astype("datetime64[M]")
    return month.astype("datetime64[us]")


def _off_scene_shares(hours: np.ndarray, residents: np.ndarray) -> np.ndarray:
    """Each month's share of the scene's person-hours per neighbourhood (months x neighbourhoods).

    The model records off-scene events city-wide, without a place. A month's events are shared
    out in proportion to the scene's person-hours per neighbourhood that month: the people
    harmed off the sites are the scene's people, and they spend their days (and mostly sleep)
    around the sites they use. A month with no scene presence uses the whole run's person-hours;
    a run with none at all, the residents (equal shares if there are none either).
    """
    fallback = hours.sum(axis=0)
    if not fallback.sum() > 0:
        fallback = residents.astype(float) if residents.sum() > 0 else np.ones(hours.shape[1])
    total = hours.sum(axis=1)
    share = np.empty_like(hours)
    busy = total > 0
    share[busy] = hours[busy] / total[busy, None]
    share[~busy] = fallback / fallback.sum()
    return share


def neighbourhood_month(
    sd: pd.DataFrame,
    scn: Scenario,
    provenance: dict[str, object],
    cd: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Aggregate a site-day table to harm components per neighbourhood per month.

    One row per (month, neighbourhood): the months in date order, each with every neighbourhood
    of the scenario in its order (zeros where no site saw anything). With the run's ``city_day``
    table, the off-scene harm counts (:data:`OFF_SCENE_COLUMNS`) are added as expected counts,
    shared out by :func:`_off_scene_shares`'s rule, so those columns are floats. Sums are
    bincounts over integer codes: a pandas group-by, pivot and two merges took 30 ms a run, a
    quarter of ``scenelab.run`` on a five-month window.
    """
    hoods = scn.neighbourhoods
    n_h = len(hoods)
    months, m_code = np.unique(_months(sd["date"]), return_inverse=True)
    h_code = pd.Index([n.id for n in hoods]).get_indexer(sd["neighbourhood"])
    kept = h_code >= 0
    cell = (m_code * n_h + h_code)[kept]
    n_cells = len(months) * n_h

    def per_cell(values: np.ndarray) -> np.ndarray:
        return np.bincount(cell, weights=values[kept], minlength=n_cells)

    data: dict[str, object] = dict(provenance)  # scalars, broadcast to every row
    data["month"] = np.repeat(months, n_h)
    data["neighbourhood"] = np.tile(np.array([n.id for n in hoods], dtype=object), len(months))
    hours = per_cell(sd["people_present"].to_numpy(dtype=float) * 24.0)
    data["people_hours"] = hours
    for col in HARM_COLUMNS:
        values = sd[col].to_numpy()
        summed = per_cell(values.astype(float))
        data[col] = summed.astype(values.dtype) if values.dtype.kind in "iu" else summed
    data["deprivation"] = np.tile([n.deprivation for n in hoods], len(months))
    data["residents"] = np.tile([n.residents for n in hoods], len(months))
    data["centre"] = np.tile([n.centre for n in hoods], len(months))
    if cd is not None:
        residents = np.array([n.residents for n in hoods], dtype=float)
        share = _off_scene_shares(hours.reshape(len(months), n_h), residents)
        cd_code = pd.Index(months).get_indexer(_months(cd["date"]))
        in_run = cd_code >= 0  # days of months the site table has (the others are left out)
        for col in OFF_SCENE_COLUMNS:
            counts = np.bincount(
                cd_code[in_run],
                weights=cd[col].to_numpy(dtype=float)[in_run],
                minlength=len(months),
            )
            data[col] = np.nan_to_num((share * counts[:, None]).ravel(), nan=0.0)
    return pd.DataFrame(data, index=pd.RangeIndex(len(months) * n_h))


def city_day(raw: RawRun, provenance: dict[str, object]) -> pd.DataFrame:
    """Return city-wide daily stocks and off-scene events."""
    arr = raw.out.city_day[: raw.n_days].astype(np.int64)
    data: dict[str, object] = dict(provenance)  # scalars, broadcast to every row
    data["date"] = _dates(raw)
    for k, metric in enumerate(CITY_DAY_METRICS):
        data[metric.column] = arr[:, k]
    return pd.DataFrame(data, index=pd.RangeIndex(raw.n_days))


def people_snapshot(raw: RawRun, start: dt.date, provenance: dict[str, object]) -> pd.DataFrame:
    """Return the synthetic people who were ever in the population (no identities: slot only)."""
    p = raw.people
    used = int(raw.sites.counters[0])
    cols = [name for name in st.PEOPLE_FIELDS if name not in ("helped_today", "at_scene_today")]
    data: dict[str, object] = dict(provenance)  # scalars, broadcast to every row
    data["person"] = np.arange(used)
    data.update({name: getattr(p, name)[:used] for name in cols})
    return pd.DataFrame(data, index=pd.RangeIndex(used))
