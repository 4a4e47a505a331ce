"""The model a strategy search runs: scenelab on in-memory candidates, plus window outcomes.

:class:`CandidateModel` is :class:`~scenelab.experiments.models.ScenelabModel` whose ``prepare``
also resolves candidate references (``candidate:<id>``) to scenarios built on the client, and
whose runs add the *window* outcomes the objectives read (:func:`window_outcomes`): harm,
its concentration on deprived neighbourhoods, scene size and cost, measured from the month the
strategies start. The candidate registry stays on the client (it is not pickled to workers);
each task carries its own prepared scenario, as in any experiment.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from scenelab.experiments.models import PreparedScenario, RunOutput, ScenelabModel

CANDIDATE_PREFIX = "candidate:"
COST_MISSING = "cost objective needs scenelab.costs"


def cost_function() -> Any:  # noqa: ANN401 - scenelab.costs.total_cost
    """``scenelab.costs.total_cost``, or ``None`` when this scenelab has no cost model.

    Returns:
        The function ``(scenario, results, since=None) -> float`` or ``None``.
    """
    try:
        from scenelab.costs import total_cost  # type: ignore[import-not-found]
    except ImportError:
        return None
    return total_cost


def window_outcomes(
    scenario: Any,  # noqa: ANN401 - a Scenario
    results: Any,  # noqa: ANN401 - a Results
    start: dt.date,
    cost: bool = False,
) -> dict[str, float]:
    """Outcomes over the strategy window: from the month of ``start`` to the run's end.

    Args:
        scenario: The scenario that ran.
        results: Its ``scenelab.run`` results.
        start: The date strategies start.
        cost: Also compute ``window_cost`` with ``scenelab.costs.total_cost(..., since=start)``.

    Returns:
        ``window_harm_per_month``, ``window_harm_off_scene_per_month``,
        ``window_concentration_index``, ``window_share_most_deprived``, ``window_harm``,
        ``window_people_present_mean`` (and ``window_cost``; ``window_harm_women_per_month``
        when the run reports ``harm_women_per_month``).

    Raises:
        RuntimeError: If ``cost`` and this scenelab has no ``scenelab.costs``.
    """
    from scenelab.observe.outcomes import harm_outcomes

    month0 = pd.Timestamp(start.replace(day=1))
    nm = results.neighbourhood_month
    part = nm[pd.to_datetime(nm["month"]) >= month0]
    harm = harm_outcomes(part, scenario)
    out = {
        f"window_{k}": float(v)
        for k, v in harm.items()
        if k in ("harm_per_month", "harm_off_scene_per_month", "concentration_index",
                 "share_most_deprived", "harm")
    }  # fmt: skip
    sd = results.site_day
    in_window = sd[sd["date"] >= pd.Timestamp(start)]
    per_day = in_window.groupby("date")["people_present"].sum()
    out["window_people_present_mean"] = float(per_day.mean()) if len(per_day) else 0.0
    if "harm_women_per_month" in results.outcomes:
        out["window_harm_women_per_month"] = float(results.outcomes["harm_women_per_month"])
    if cost:
        total_cost = cost_function()
        if total_cost is None:
            raise RuntimeError(COST_MISSING)
        out["window_cost"] = float(total_cost(scenario, results, since=start))
    return out


class CandidateModel(ScenelabModel):
    """scenelab runs of candidate scenarios, with the window outcomes of a strategy search."""

    name = "scenelab"
    table_names = ()

    def __init__(self, *, start: dt.date, until: dt.date | None = None, cost: bool = False) -> None:
        """Configure the adapter.

        Args:
            start: The date strategies start (window outcomes are measured from its month).
            until: Stop every run at this date.
            cost: Compute the cost outcome (needs ``scenelab.costs``).
        """
        super().__init__(until=until)
        self.start = start
        self.cost = cost
        self._candidates: dict[str, Any] = {}

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_candidates"] = {}  # client-side only: tasks carry their own scenario
        return state

    def config(self) -> dict[str, Any]:
        """Options that change results (part of every run key).

        Returns:
            ``until``, the window start and whether costs are computed.
        """
        return {
            **super().config(),
            "optimize_window_start": self.start.isoformat(),
            "cost": self.cost,
        }

    def register(self, candidate_id: str, scenario: Any) -> str:  # noqa: ANN401 - a Scenario
        """Make a candidate scenario resolvable by :meth:`prepare`.

        Args:
            candidate_id: The candidate's id.
            scenario: Its validated scenario.

        Returns:
            The reference to use as an arm's scenario.
        """
        ref = f"{CANDIDATE_PREFIX}{candidate_id}"
        self._candidates[ref] = scenario
        return ref

    def prepare(self, scenario: str, base_dir: Path | None = None) -> PreparedScenario:
        """Resolve a registered candidate, or a built-in or file scenario.

        Args:
            scenario: ``candidate:<id>``, a built-in name or a scenario file.
            base_dir: Directory relative paths are resolved against.

        Returns:
            The prepared scenario.
        """
        scn = self._candidates.get(scenario)
        if scn is None:
            return super().prepare(scenario, base_dir)
        if self.until is not None:
            from scenelab.api import check_until

            check_until(scn, self.until)
        return PreparedScenario(
            ref=scenario, name=scn.name, scenario_hash=scn.scenario_hash, payload=scn
        )

    def run(
        self,
        scenario: PreparedScenario,
        params: Mapping[str, float],
        seed: int,
        replicate: int,
    ) -> RunOutput:
        """Run once; outcomes plus the window outcomes, no tables.

        Args:
            scenario: A prepared scenario.
            params: Overrides in canonical units.
            seed: Run seed.
            replicate: Replicate index.

        Returns:
            Outcomes and the summary.
        """
        import scenelab
        from scenelab.outputs import strict_json

        res = scenelab.run(
            scenario.payload,
            seed=int(seed),
            overrides=dict(params),
            until=self.until,
            replicate=int(replicate),
            progress=False,
        )
        outcomes = {}
        for key, value in res.outcomes.items():
            try:
                outcomes[str(key)] = float(value)
            except (TypeError, ValueError):
                continue
        outcomes.update(window_outcomes(scenario.payload, res, self.start, self.cost))
        return RunOutput(outcomes=outcomes, tables={}, summary=strict_json(res.summary))
