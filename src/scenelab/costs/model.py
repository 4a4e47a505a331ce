"""The cost model: what a strategy's police, services and one-off works cost, day by day.

Quantities come from the scenario's schedule as the model runs it (``model.world.compile_world``:
the police plan that governs each site, raids, operations on their action days, the police
strategy's daily budget, outreach staff, services open with their hours, housing units) and, for
OAT, from the run (slots in use: ``city_day.in_oat``). Each quantity is priced at a unit cost
from ``unit_costs.toml`` (public Norwegian sources, each with its price year), overridden by the
scenario's ``[costs]`` table. A year is 365 days. No inflation adjustment is made.

Not costed (no published unit cost was found): processing a fine or an expulsion order, custody,
the harms themselves (the verdict weighs those in harm-days, not money).
"""

from __future__ import annotations

import datetime as dt
import functools
import tomllib
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources

import numpy as np
import pandas as pd

from scenelab.model.world import compile_world
from scenelab.scenario import schema as sc

__all__ = [
    "ITEMS",
    "UnitCost",
    "cost_summary",
    "cost_table",
    "daily_costs",
    "daily_quantities",
    "default_unit_costs",
    "total_cost",
    "unit_costs",
]

DAYS_PER_YEAR = 365.0
#: Days in an average month, for amounts per month.
DAYS_PER_MONTH = 365.25 / 12

#: Cost items in table order, each with the quantity it counts.
ITEMS: tuple[str, ...] = (
    "police_officer_hour",
    "outreach_worker_hour",
    "housing_unit_year",
    "oat_slot_year",
    "injection_room_year",
    "injection_room_opening_hour",
    "drop_in_year",
    "site_closure",
)


@dataclass(frozen=True)
class UnitCost:
    """One unit cost: NOK per unit, with its price year and published source."""

    item: str
    unit: str
    nok: float
    price_year: int
    source: str
    derived: bool = False
    note: str = ""


def default_unit_costs() -> dict[str, UnitCost]:
    """Return the shipped default unit costs (``scenelab/costs/unit_costs.toml``)."""
    return dict(_shipped_unit_costs())


@functools.cache
def _shipped_unit_costs() -> dict[str, UnitCost]:
    text = resources.files("scenelab.costs").joinpath("unit_costs.toml").read_text("utf-8")
    table = tomllib.loads(text)
    if list(table) != list(ITEMS):
        raise ImportError(f"unit_costs.toml must list exactly {ITEMS} in order, has {list(table)}")
    return {name: UnitCost(item=name, **row) for name, row in table.items()}


def unit_costs(scn: sc.Scenario) -> dict[str, UnitCost]:
    """Return the unit costs a scenario uses: defaults with its ``[costs]`` values applied.

    A value given in ``[costs]`` keeps the default's unit and takes ``[costs] price_year`` (or
    the default's price year if none is given); its source reads "scenario file".
    """
    out = default_unit_costs()
    given = scn.costs
    if given is None:
        return out
    for name in ITEMS:
        value = getattr(given, name)
        if value is not None:
            base = out[name]
            out[name] = UnitCost(
                name,
                base.unit,
                float(value),
                given.price_year or base.price_year,
                f"scenario file {scn.source}",
            )
    return out


def _closure_cost(scn: sc.Scenario, site: str, default: float) -> float:
    by_site = scn.costs.site_closure_by_site if scn.costs is not None else {}
    return float(by_site.get(site, default))


def _last_day(scn: sc.Scenario, results: object | None) -> dt.date:
    if results is None:
        return scn.run.end
    cd = results.city_day  # type: ignore[attr-defined]
    return pd.Timestamp(cd["date"].max()).date()


#: Schedules (:func:`_schedule`) of the scenarios priced most recently, by content. A comparison
#: prices each strategy's replicates several times (the cost table, the verdict, the summary);
#: compiling the schedule again each time was half of the time spent writing it.
_SCHEDULES: OrderedDict[str, pd.DataFrame] = OrderedDict()
_SCHEDULES_KEPT = 16


def _schedule(scn: sc.Scenario) -> pd.DataFrame:
    """Quantities bought each day of the whole run window with no OAT use (read-only, cached).

    The scenario model is frozen; its JSON dump is the cache key, so an edited copy (the
    dashboard's) is a different entry.
    """
    key = scn.model_dump_json()
    cached = _SCHEDULES.get(key)
    if cached is not None:
        _SCHEDULES.move_to_end(key)
        return cached
    world = compile_world(scn)
    n_days = (scn.run.end - scn.run.start).days + 1
    ep = world.epoch_of_day[:n_days]
    dates = pd.date_range(scn.run.start, periods=n_days, freq="D")
    weekday = ((world.start_weekday + np.arange(n_days)) % 7) < 5
    police = (
        world.officers.sum(axis=(1, 2))
        + world.raid_ohpd.sum(axis=1)
        + world.op_officers.sum(axis=(1, 2))
        + world.strat_ohpd
    )[ep]
    room_open = world.sif_hours.sum(axis=2) > 0  # (epoch, room)
    room_hours = world.sif_hours.sum(axis=2)[ep] * np.where(
        world.sif_weekdays[ep] == 1, weekday[:, None], True
    )
    closures = np.zeros(n_days)  # priced per site by daily_costs
    for iv in scn.interventions:
        if isinstance(iv, sc.CloseSite) and iv.start <= scn.run.end:
            closures[(iv.start - scn.run.start).days] += 1
    out = pd.DataFrame(
        {
            "date": dates,
            "police_officer_hour": police,
            "outreach_worker_hour": world.outreach.sum(axis=(1, 2))[ep],
            "housing_unit_year": world.housing_units.sum(axis=1)[ep] / DAYS_PER_YEAR,
            "oat_slot_year": np.zeros(n_days),
            "injection_room_year": room_open.sum(axis=1)[ep] / DAYS_PER_YEAR,
            "injection_room_opening_hour": room_hours.sum(axis=1),
            "drop_in_year": (world.dropin_hours.sum(axis=2) > 0).sum(axis=1)[ep] / DAYS_PER_YEAR,
            "site_closure": closures,
        }
    )
    _SCHEDULES[key] = out
    while len(_SCHEDULES) > _SCHEDULES_KEPT:
        _SCHEDULES.popitem(last=False)
    return out


def daily_quantities(scn: sc.Scenario, results: object | None = None) -> pd.DataFrame:
    """Quantities bought each day, one column per cost item (:data:`ITEMS`).

    Args:
        scn: The scenario.
        results: One run's :class:`scenelab.api.Results` (gives the days simulated and the OAT
            slots in use); None prices the whole window with no OAT use.

    Returns:
        ``date`` then one column per item: officer-hours, worker-hours, housing unit-years,
        OAT slot-years, room-years, room opening hours, drop-in centre-years, and closures.
    """
    last = _last_day(scn, results)
    n_days = (last - scn.run.start).days + 1
    out = _schedule(scn).iloc[:n_days].copy()
    if results is not None:
        oat = results.city_day["in_oat"].to_numpy(dtype=float)[:n_days]  # type: ignore[attr-defined]
        out["oat_slot_year"] = oat / DAYS_PER_YEAR
    return out


def daily_costs(scn: sc.Scenario, results: object | None = None) -> pd.DataFrame:
    """Cost in NOK per day and item: :func:`daily_quantities` priced at :func:`unit_costs`.

    Site closures are priced per site (``[costs] site_closure_by_site``, else ``site_closure``).
    """
    return _priced(scn, daily_quantities(scn, results), unit_costs(scn))


def _priced(scn: sc.Scenario, qty: pd.DataFrame, prices: dict[str, UnitCost]) -> pd.DataFrame:
    """:func:`daily_quantities` rows priced: NOK per day and item."""
    out = qty.copy()
    for item in ITEMS:
        out[item] = qty[item] * prices[item].nok
    out["site_closure"] = 0.0
    last = qty["date"].iloc[-1].date()
    for iv in scn.interventions:
        if isinstance(iv, sc.CloseSite) and iv.start <= last:
            day = (iv.start - scn.run.start).days
            out.loc[day, "site_closure"] += _closure_cost(scn, iv.site, prices["site_closure"].nok)
    return out


def _as_list(results: object | Sequence[object] | None) -> list[object | None]:
    if results is None:
        return [None]
    if isinstance(results, Sequence) and not isinstance(results, str | bytes):
        return list(results)
    return [results]


def cost_table(
    scn: sc.Scenario,
    results: object | Sequence[object] | None,
    since: dt.date | None = None,
) -> pd.DataFrame:
    """Cost per period and item: quantity, unit, unit cost and cost in NOK.

    Periods are the scenario's periods between interventions (``observe.outcomes.periods``),
    cut at ``since`` when given (days before it are left out).

    Args:
        scn: The scenario the results came from.
        results: One run's results, a list of replicates (rows per replicate, with a
            ``replicate`` column giving the position in the list), or None (schedule only: no
            OAT use).
        since: First day to count (None: the run's start).

    Returns:
        Columns ``replicate``, ``period``, ``start``, ``end``, ``days``, ``item``, ``quantity``,
        ``unit``, ``unit_cost_nok``, ``price_year``, ``cost_nok``; one row per replicate, period
        and item (items with zero quantity included, so every table has the same rows).
    """
    from scenelab.observe.outcomes import periods

    prices = unit_costs(scn)
    rows = []
    for rep, res in enumerate(_as_list(results)):
        qty = daily_quantities(scn, res)
        cost = _priced(scn, qty, prices)
        q_days, c_days = qty[list(ITEMS)].to_numpy(), cost[list(ITEMS)].to_numpy()
        last = qty["date"].iloc[-1].date()
        for label, first, end in periods(scn, last):
            if since is not None:
                if end < since:
                    continue
                first = max(first, since)
                label = f"{first.isoformat()}..{end.isoformat()}"
            # row k is day k of the run (daily_quantities starts at the run's first day)
            days = slice((first - scn.run.start).days, (end - scn.run.start).days + 1)
            q_sum, c_sum = q_days[days].sum(axis=0), c_days[days].sum(axis=0)
            for k, item in enumerate(ITEMS):
                price = prices[item]
                rows.append(
                    {
                        "replicate": rep,
                        "period": label,
                        "start": first.isoformat(),
                        "end": end.isoformat(),
                        "days": (end - first).days + 1,
                        "item": item,
                        "quantity": float(q_sum[k]),
                        "unit": price.unit,
                        "unit_cost_nok": price.nok,
                        "price_year": price.price_year,
                        "cost_nok": float(c_sum[k]),
                    }
                )
    return pd.DataFrame(rows)


def total_cost(
    scn: sc.Scenario,
    results: object | Sequence[object] | None,
    since: dt.date | None = None,
) -> float:
    """Total cost in NOK from ``since`` (or the start) to the last simulated day.

    With a list of replicates, the mean over replicates (only OAT use differs between them).
    """
    totals = []
    for res in _as_list(results):
        cost = daily_costs(scn, res)
        if since is not None:
            cost = cost[cost["date"] >= pd.Timestamp(since)]
        totals.append(float(cost[list(ITEMS)].to_numpy().sum()))
    return float(np.mean(totals))


def cost_summary(
    scn: sc.Scenario, results: Sequence[object], table: pd.DataFrame | None = None
) -> dict[str, object]:
    """The costs section of ``summary.json``: total, per month, per period and item, unit costs.

    Amounts are means over replicates, in NOK of each unit cost's own price year. ``table`` is
    :func:`cost_table` of the same scenario and results when the caller has it already.
    """
    if table is None:
        table = cost_table(scn, results)
    per = table.groupby(["period", "start", "end", "days", "item"], sort=False)["cost_nok"]
    mean = per.mean().reset_index()
    periods = []
    for (label, first, end, days), part in mean.groupby(
        ["period", "start", "end", "days"], sort=False
    ):
        periods.append(
            {
                "period": label,
                "start": first,
                "end": end,
                "days": int(days),
                "cost_nok": float(part["cost_nok"].sum()),
                "by_item": {r.item: float(r.cost_nok) for r in part.itertuples()},
            }
        )
    total = float(sum(p["cost_nok"] for p in periods))
    days = sum(p["days"] for p in periods)
    return {
        "currency": "NOK",
        "note": "each unit cost in its own price year; no inflation adjustment",
        "total_nok": total,
        "per_month_nok": total / (days / DAYS_PER_MONTH) if days else None,
        "by_period": periods,
        "unit_costs": {
            name: {"nok": u.nok, "unit": u.unit, "price_year": u.price_year, "source": u.source}
            for name, u in unit_costs(scn).items()
        },
    }
