"""The verdict: is a strategy better than the reference, by how much, where, and at what cost?

Replicate i of each strategy runs with the same seed and replicate number (common random
numbers), so the strategies are identical until their schedules first differ and every
difference after that comes from policy. :func:`verdict` compares the two over the days from
that divergence on: per replicate it measures total harm (the documented harm-day weights, harm
off the scene sites included), each harm component, scene size, harm in the most deprived fifth,
harm to women and cost; then takes the mean of the paired differences with a 95% t-interval,
kept inside what the quantity can be (a count cannot fall below minus the reference's count, a
concentration index stays in [-1, 1]), and writes plain sentences from those numbers.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy import stats

from scenelab.costs import total_cost
from scenelab.costs.model import DAYS_PER_MONTH
from scenelab.model.world import compile_world
from scenelab.observe.equity import concentration_index, share_most_deprived
from scenelab.observe.harm import (
    COMPONENT_LABELS,
    HARM_COMPONENTS,
    OFF_SCENE_COMPONENTS,
    harm_by_neighbourhood_month,
)
from scenelab.observe.outcomes import scenario_weights
from scenelab.scenario import schema as sc
from scenelab.verdict_text import fmt_number as _num
from scenelab.verdict_text import sentences

if TYPE_CHECKING:
    from scenelab.api import Results

__all__ = [
    "QUANTITIES",
    "Verdict",
    "clamp_interval",
    "divergence_date",
    "paired_interval",
    "verdict",
]


#: The verdict's quantities: name -> (label, unit, lowest value, highest value).
QUANTITIES: dict[str, tuple[str, str, float, float]] = {
    "harm": ("Total harm", "harm-days per month", 0.0, math.inf),
    "harm_off_scene": ("of which off the scene sites", "harm-days per month", 0.0, math.inf),
    **{f"n_{c}": (COMPONENT_LABELS[c], "per month", 0.0, math.inf) for c in HARM_COMPONENTS},
    "scene_size": ("Scene size", "people present per day", 0.0, math.inf),
    "harm_most_deprived": (
        "Harm in the most deprived fifth",
        "harm-days per month",
        0.0,
        math.inf,
    ),
    "share_most_deprived": ("Share of harm in the most deprived fifth", "share", 0.0, 1.0),
    "concentration_index": ("Concentration index of harm", "index", -1.0, 1.0),
    "harm_women": ("Harm to women", "harm-days over the run", 0.0, math.inf),
    "cost": ("Cost", "NOK per month", 0.0, math.inf),
}
NOK_PER_HARM_DAY = "cost_per_harm_day_averted"

#: Schedule arrays of the compiled world whose first axis is the epoch.
_SCHEDULE = (
    "site_open", "officers", "mode", "raid_ohpd", "raid_window", "op_officers", "expel_prop",
    "expel_hours", "expel_zone", "fine_prop", "fine_amount", "outreach", "strat_ohpd",
    "strat_site", "strat_hours", "strat_lag", "dropin_hours", "dropin_weekdays", "dropin_staff",
    "sif_hours", "sif_weekdays", "sif_cap", "sif_subst", "housing_units", "housing_alloc_month",
    "oat_slots", "oat_wait_days",
)  # fmt: skip


@dataclass
class Verdict:
    """A strategy against the reference after their schedules diverge.

    Attributes:
        reference: The reference strategy's name.
        arm: The compared strategy's name.
        since: First day compared (the divergence, unless given).
        until: Last simulated day.
        diverged: The first day the two schedules differ (None if they never do).
        n: Paired replicates.
        table: One row per quantity: ``quantity``, ``label``, ``reference_mean``, ``arm_mean``,
            ``difference`` (arm - reference, mean of the paired differences), ``ci_low``,
            ``ci_high`` (95%), ``unit``, ``n``.
        sentences: The verdict in plain language, generated from ``table``.
    """

    reference: str
    arm: str
    since: dt.date
    until: dt.date
    diverged: dt.date | None
    n: int
    table: pd.DataFrame
    sentences: list[str] = field(default_factory=list)

    def text(self) -> str:
        """The verdict as terminal text: the sentences, then the table."""
        rows = [f"{self.arm} against {self.reference}, {self.since} to {self.until}:"]
        rows += [f"  {s}" for s in self.sentences]
        for r in self.table.itertuples():
            rows.append(
                f"    {r.label:<44} {_num(r.difference):>12} [{_num(r.ci_low)}, "
                f"{_num(r.ci_high)}] {r.unit}"
            )
        return "\n".join(rows)


def _per_day(world: object, name: str) -> np.ndarray:
    arr = np.asarray(getattr(world, name))
    return arr[np.asarray(world.epoch_of_day)]  # type: ignore[attr-defined]


def _padded(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    shape = tuple(max(x, y) for x, y in zip(a.shape, b.shape, strict=True))

    def pad(x: np.ndarray) -> np.ndarray:
        return np.pad(x, [(0, s - d) for s, d in zip(shape, x.shape, strict=True)])

    return pad(a), pad(b)


def divergence_date(ref_scn: sc.Scenario, arm_scn: sc.Scenario) -> dt.date | None:
    """The first day the two strategies' schedules differ, as the model runs them.

    The schedules are compared after compiling (``model.world.compile_world``), so only
    differences the model acts on count: a note, an id or a plan overridden by a later one does
    not. If the city, population, sellers or parameters differ, the strategies differ from the
    first day.

    Returns:
        The date, or None if the schedules never differ.

    Raises:
        ValueError: If the run windows differ.
    """
    if (ref_scn.run.start, ref_scn.run.end) != (arm_scn.run.start, arm_scn.run.end):
        raise ValueError(
            f"{ref_scn.name} and {arm_scn.name} have different run windows; compared strategies "
            "must share [run] start and end"
        )
    start = ref_scn.run.start
    same_city = all(
        getattr(ref_scn, key) == getattr(arm_scn, key)
        for key in ("neighbourhoods", "sites", "zones", "population", "sellers", "parameters")
    )
    if not same_city:
        return start
    wr, wa = compile_world(ref_scn), compile_world(arm_scn)
    for name in ("dist_site_dropin", "dist_site_sif", "housing_rule"):
        a, b = _padded(np.asarray(getattr(wr, name)), np.asarray(getattr(wa, name)))
        if not np.array_equal(a, b):
            return start
    first = wr.n_days
    for name in _SCHEDULE:
        a, b = _per_day(wr, name), _per_day(wa, name)
        if a.ndim != b.ndim:
            return start
        a, b = _padded(a, b)
        differs = (a != b).reshape(a.shape[0], -1).any(axis=1)
        hits = np.flatnonzero(differs)
        if hits.size:
            first = min(first, int(hits[0]))
    return None if first >= wr.n_days else start + dt.timedelta(days=first)


def clamp_interval(
    low: float, high: float, reference_mean: float, bounds: tuple[float, float]
) -> tuple[float, float]:
    """Keep a difference's interval where the arm's mean can be: in ``bounds - reference_mean``.

    A paired t-interval is symmetric and can run past what the quantity allows (a
    concentration-index difference whose upper end would put the arm above 1, a count that
    would fall below zero); the arm's mean is ``reference_mean + difference``, so the difference
    lies in ``[lowest - reference_mean, highest - reference_mean]``.
    """
    lo_b, hi_b = bounds[0] - reference_mean, bounds[1] - reference_mean
    return max(low, lo_b), min(high, hi_b)


def paired_interval(diff: np.ndarray, level: float = 0.95) -> tuple[float, float, float]:
    """Mean of paired differences and its t-interval (NaN bounds with fewer than 2 pairs)."""
    diff = np.asarray(diff, dtype=float)
    diff = diff[np.isfinite(diff)]
    n = diff.size
    if n == 0:
        return math.nan, math.nan, math.nan
    mean = float(diff.mean())
    if n < 2:
        return mean, math.nan, math.nan
    sd = float(diff.std(ddof=1))
    half = float(stats.t.ppf(0.5 + level / 2, n - 1)) * sd / math.sqrt(n) if sd > 0 else 0.0
    return mean, mean - half, mean + half


def _measure(res: object, scn: sc.Scenario, since: dt.date) -> dict[str, float]:
    """One replicate's quantities over ``since`` .. its last day (see :data:`QUANTITIES`)."""
    weights = scenario_weights(scn)
    # column sums under a row mask: selecting the rows first would copy every column of
    # site_day (text columns included) for each replicate of each strategy
    sd, cd = res.site_day, res.city_day  # type: ignore[attr-defined]
    in_sd = (sd["date"] >= pd.Timestamp(since)).to_numpy()
    in_cd = (cd["date"] >= pd.Timestamp(since)).to_numpy()
    days = int(np.unique(cd["date"].to_numpy()[in_cd]).size)
    months = days / DAYS_PER_MONTH if days else math.nan

    def total(frame: pd.DataFrame, rows: np.ndarray, col: str) -> float:
        return float(np.nansum(frame[col].to_numpy(dtype=float, na_value=np.nan)[rows]))

    totals = {c: total(sd, in_sd, c) for c in HARM_COMPONENTS}
    totals.update({c: total(cd, in_cd, c) for c in OFF_SCENE_COMPONENTS if c in cd.columns})
    row = pd.DataFrame([{"month": "window", "neighbourhood": "city", **totals}])
    harm = harm_by_neighbourhood_month(row, weights).iloc[0]
    out: dict[str, float] = {
        "harm": float(harm["harm"]) / months,
        "harm_off_scene": float(harm["harm_off_scene"]) / months,
    }
    for c in HARM_COMPONENTS:
        n = totals[c] + sum(totals.get(o, 0.0) for o, comp in OFF_SCENE_COMPONENTS.items()
                            if comp == c)  # fmt: skip
        out[f"n_{c}"] = n / months
        out[f"harm_{c}"] = float(harm[f"harm_{c}"]) / months
    # mean over the window's days of the people present at all sites: their sum over the days
    sd_days = np.unique(sd["date"].to_numpy()[in_sd]).size
    out["scene_size"] = total(sd, in_sd, "people_present") / sd_days if sd_days else math.nan
    nm = res.neighbourhood_month  # type: ignore[attr-defined]
    nm = nm[nm["month"] >= pd.Timestamp(since).to_period("M").to_timestamp()]
    per = harm_by_neighbourhood_month(nm, weights).groupby("neighbourhood")["harm"].sum()
    meta = {n.id: n for n in scn.neighbourhoods}
    dep = [meta[n].deprivation for n in per.index]
    pop = [meta[n].residents for n in per.index]
    n_months = max(1, nm["month"].nunique())
    share = share_most_deprived(per.to_numpy(), dep, pop)
    out["share_most_deprived"] = share
    out["harm_most_deprived"] = share * float(per.sum()) / n_months
    out["concentration_index"] = concentration_index(per.to_numpy(), dep, pop)
    for hood, value in per.items():
        out[f"hood_{hood}"] = float(value) / n_months
    out["harm_women"] = _harm_to_women(res.people, weights)  # type: ignore[attr-defined]
    out["cost"] = total_cost(scn, res, since=since) / months
    return out


def _harm_to_women(people: pd.DataFrame, weights: object) -> float:
    """Harm-days to women over the whole run, from each person's own counts.

    Victimisations at the violence weight, overdoses, overdose deaths (exit reason 2) and the
    enforcement burdens at theirs. Whole run: under common random numbers two strategies are
    identical before they diverge, so the paired difference is the difference after it.
    """
    w = weights.as_dict()  # type: ignore[attr-defined]
    women = people[people["sex"] == 1]
    if women.empty:
        return 0.0
    deaths = (women["exit_reason"] == 2).sum() if "exit_reason" in women else 0
    return float(
        women["n_victim"].sum() * w["violence_incidents"]
        + women["n_overdoses"].sum() * w["overdoses"]
        + deaths * w["overdose_deaths"]
        + women["n_controls"].sum() * w["police_controls"]
        + women["n_expulsions"].sum() * w["expulsions"]
        + women["n_fines"].sum() * w["fines"]
    )


def _check_pairs(reference: Sequence[object], arm: Sequence[object]) -> int:
    if len(reference) != len(arm) or not reference:
        raise ValueError(
            f"the verdict needs the same number of replicates in both strategies "
            f"(got {len(reference)} and {len(arm)})"
        )
    for i, (r, a) in enumerate(zip(reference, arm, strict=True)):
        keys = [(x.summary.get("seed"), x.summary.get("replicate")) for x in (r, a)]  # type: ignore[attr-defined]
        if keys[0] != keys[1]:
            raise ValueError(
                f"replicate {i} is not paired: seed and replicate {keys[0]} in the reference, "
                f"{keys[1]} in the arm; run replicate i of every strategy with the same seed"
            )
    return len(reference)


def _ratio_interval(cost: np.ndarray, averted: np.ndarray, seed: int = 0) -> tuple[float, ...]:
    """Cost per harm-day averted (ratio of means) with a paired bootstrap 95% interval."""
    ratio = float(cost.mean() / averted.mean()) if averted.mean() > 0 else math.nan
    if cost.size < 2 or not math.isfinite(ratio):
        return ratio, math.nan, math.nan
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, cost.size, size=(2000, cost.size))
    c, a = cost[idx].mean(axis=1), averted[idx].mean(axis=1)
    if (a <= 0).any():  # some resamples avert nothing: the ratio has no finite bound
        return ratio, math.nan, math.nan
    lo, hi = np.quantile(c / a, [0.025, 0.975])
    return ratio, float(lo), float(hi)


def verdict(
    reference: Sequence[Results],
    arm: Sequence[Results],
    ref_scn: sc.Scenario,
    arm_scn: sc.Scenario,
    since: dt.date | None = None,
) -> Verdict:
    """Compare a strategy with the reference, replicate by replicate, after they diverge.

    Args:
        reference: The reference strategy's replicates (:class:`scenelab.api.Results`).
        arm: The compared strategy's replicates; replicate i must share the seed and replicate
            number of ``reference[i]``.
        ref_scn: The reference scenario.
        arm_scn: The compared scenario.
        since: First day compared; None: the day the schedules diverge
            (:func:`divergence_date`), or the start if they never do.

    Returns:
        The :class:`Verdict`.

    Raises:
        ValueError: If the replicates are not paired or the run windows differ.
    """
    n = _check_pairs(reference, arm)
    diverged = divergence_date(ref_scn, arm_scn)
    until = pd.Timestamp(reference[0].city_day["date"].max()).date()
    if since is not None and since > until:
        raise ValueError(f"since {since} is after the last simulated day {until}")
    late = since is None and diverged is not None and diverged > until
    start = since or (None if late else diverged) or ref_scn.run.start
    ref = pd.DataFrame([_measure(r, ref_scn, start) for r in reference])
    alt = pd.DataFrame([_measure(a, arm_scn, start) for a in arm])
    diff = alt - ref
    rows = []
    for name, (label, unit, lo, hi) in QUANTITIES.items():
        mean, low, high = paired_interval(diff[name].to_numpy())
        ref_mean = float(ref[name].mean())
        if math.isfinite(low):
            low, high = clamp_interval(low, high, ref_mean, (lo, hi))
        rows.append((name, label, ref_mean, float(alt[name].mean()), mean, low, high, unit, n))
    averted = -diff["harm"].to_numpy()
    ratio = _ratio_interval(diff["cost"].to_numpy(), averted)
    rows.append(
        (NOK_PER_HARM_DAY, "Cost per harm-day averted", math.nan, math.nan, *ratio,
         "NOK per harm-day", n)
    )  # fmt: skip
    table = pd.DataFrame(
        rows,
        columns=[
            "quantity", "label", "reference_mean", "arm_mean", "difference", "ci_low",
            "ci_high", "unit", "n",
        ],
    )  # fmt: skip
    detail = {
        "components": {c: float(diff[f"harm_{c}"].mean()) for c in HARM_COMPONENTS},
        "neighbourhoods": {
            h.name: float(diff.get(f"hood_{h.id}", pd.Series([0.0])).mean())
            for h in ref_scn.neighbourhoods
        },
    }
    out = Verdict(ref_scn.name, arm_scn.name, start, until, diverged, n, table)
    out.sentences = sentences(out, detail)
    if late:
        out.sentences.insert(
            1,
            f"Their schedules first differ on {diverged}, after the last simulated day: the "
            "whole window is compared.",
        )
    return out
