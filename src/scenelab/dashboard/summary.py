"""Reduce a finished job's runs to the small tables the page draws (computed once per job).

Both arms are stacked with an ``arm`` column (``reference`` / ``edited``). Every figure shows the
mean over replicates with the central 95% of replicates as its interval. The verdict
(:func:`scenelab.verdict.verdict`, as ``scenelab compare``) compares the two after their schedules
diverge; the outcome table gives whole-run paired differences with 95% t-intervals
(:func:`scenelab.compare.paired_differences`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import pandas as pd

from scenelab.api import Results
from scenelab.compare import HEADLINE, paired_differences
from scenelab.costs import total_cost
from scenelab.observe.harm import harm_by_neighbourhood_month
from scenelab.observe.outcomes import scenario_weights
from scenelab.scenario import schema as sc
from scenelab.verdict import Verdict, verdict

ARMS = ("reference", "edited")
ARM_LABELS = {"reference": "Unedited", "edited": "Edited"}

#: Harm to women, per run, from the people table (``sex`` 1 = woman): sums over every woman who
#: was ever in the population.
WOMEN: dict[str, tuple[str, str]] = {
    "women_victimisations": ("n_victim", "Violent victimisations of women"),
    "women_sexual_violence": ("sexual_ever", "Women ever sexually victimised"),
    "women_overdoses": ("n_overdoses", "Overdoses of women"),
    "women_expulsions": ("n_expulsions", "Expulsion orders given to women"),
    "women_fines": ("n_fines", "Fines given to women"),
}
DEATH_EXIT = 2  # people.exit_reason: 2 = overdose death (scenelab.model.state)


@dataclass
class Summary:
    """What the page shows of one finished job."""

    reference: str
    edited: str
    sites: pd.DataFrame
    neighbourhoods: pd.DataFrame
    monthly_site: pd.DataFrame
    scene_daily: pd.DataFrame
    harm_nbhd: pd.DataFrame
    outcomes: pd.DataFrame
    differences: pd.DataFrame
    months: list[pd.Timestamp] = field(default_factory=list)
    verdict: Verdict | None = None


def _stack(results: dict[str, list[Results]], names: dict[str, str], table: str) -> pd.DataFrame:
    parts = []
    for arm, name in names.items():
        for r, res in enumerate(results.get(name, [])):
            frame = getattr(res, table)
            parts.append(frame.assign(arm=arm, replicate=r))
    return pd.concat(parts, ignore_index=True)


def women_harm(people: pd.DataFrame) -> dict[str, float]:
    """Harm to women in one run, from its people table (see :data:`WOMEN`)."""
    women = people[people["sex"] == 1]
    out = {key: float(women[col].sum()) for key, (col, _) in WOMEN.items()}
    out["women_overdose_deaths"] = float((women["exit_reason"] == DEATH_EXIT).sum())
    return out


WOMEN_LABELS = {
    **{k: label for k, (_, label) in WOMEN.items()},
    "women_overdose_deaths": "Overdose deaths of women",
}


def summarise(
    reference: sc.Scenario, edited: sc.Scenario, results: dict[str, list[Results]]
) -> Summary:
    """Reduce both arms' runs (paired by replicate) to the page's tables, quickly.

    The verdict and the costs are added by :func:`complete`, so the page can show the rest first.
    """
    names = {"reference": reference.name, "edited": edited.name}
    sd = _stack(results, names, "site_day")
    sd["month"] = sd["date"].dt.to_period("M").dt.to_timestamp()
    monthly = (
        sd.groupby(["arm", "replicate", "month", "site"], sort=True)["people_present"]
        .mean()
        .reset_index()
    )
    scene = sd.groupby(["arm", "replicate", "date"])["people_present"].sum().reset_index()
    weights = scenario_weights(reference)
    nm = harm_by_neighbourhood_month(_stack(results, names, "neighbourhood_month"), weights)
    n_months = nm.groupby(["arm", "replicate"])["month"].nunique().rename("n_months")
    harm = nm.groupby(["arm", "replicate", "neighbourhood"])["harm"].sum().reset_index()
    harm = harm.join(n_months, on=["arm", "replicate"])
    harm["harm_per_month"] = harm["harm"] / harm["n_months"]
    rows = []
    for arm, name in names.items():
        for r, res in enumerate(results.get(name, [])):
            rows.append(
                {
                    "scenario": name,
                    "arm": arm,
                    "replicate": r,
                    **res.outcomes,
                    **women_harm(res.people),
                }
            )
    outcomes = pd.DataFrame(rows)
    differences = paired_differences(outcomes, reference.name, names=(*HEADLINE, *WOMEN_LABELS))
    sites = pd.DataFrame(
        [
            {
                "id": s.id,
                "name": s.name,
                "lat": s.lat,
                "lon": s.lon,
                "neighbourhood": s.neighbourhood,
            }
            for s in reference.sites
        ]
    )
    nbhds = pd.DataFrame(
        [
            {"id": n.id, "name": n.name, "deprivation": n.deprivation, "residents": n.residents}
            for n in reference.neighbourhoods
        ]
    )
    return Summary(
        reference=reference.name,
        edited=edited.name,
        sites=sites,
        neighbourhoods=nbhds,
        monthly_site=monthly,
        scene_daily=scene,
        harm_nbhd=harm,
        outcomes=outcomes,
        differences=differences,
        months=[pd.Timestamp(m) for m in sorted(monthly["month"].unique())],
    )


def complete(
    summary: Summary,
    reference: sc.Scenario,
    edited: sc.Scenario,
    results: dict[str, list[Results]],
) -> Summary:
    """Add what takes longer: each run's cost and the verdict of ``scenelab compare``.

    Returns a new summary: ``outcomes`` gain ``total_cost`` (:func:`scenelab.costs.total_cost`),
    ``differences`` its paired difference, and ``verdict`` the edited scenario's verdict against
    the unedited one (:func:`scenelab.verdict.verdict`).
    """
    scn = {"reference": reference, "edited": edited}
    outcomes = summary.outcomes.copy()
    outcomes["total_cost"] = [
        total_cost(scn[arm], results[name][r])
        for arm, name, r in zip(outcomes["arm"], outcomes["scenario"], outcomes["replicate"],
                                strict=True)
    ]  # fmt: skip
    wanted = (*HEADLINE, *WOMEN_LABELS, "total_cost")
    return replace(
        summary,
        outcomes=outcomes,
        differences=paired_differences(outcomes, reference.name, names=wanted),
        verdict=verdict(results[reference.name], results[edited.name], reference, edited),
    )
