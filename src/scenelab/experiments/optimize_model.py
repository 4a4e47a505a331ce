"""The model a strategy search runs: scenelab on in-memory candidates, plus window outcomes.

:class:`CandidateModel` is :class:`~scenelab.experiments.models.ScenelabModel` whose ``prepare``
also resolves candidate references (``candidate:<id>``) to scenarios built on the client, and
whose runs add the *window* outcomes the objectives read (:func:`window_outcomes`): harm,
its concentration on deprived neighbourhoods, harm to women, scene size and cost, measured from
the day the strategies start. The candidate registry stays on the client (it is not pickled to
workers); each task carries its own prepared scenario, as in any experiment.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from scenelab.experiments.models import PreparedScenario, RunOutput, ScenelabModel

CANDIDATE_PREFIX = "candidate:"


def window_outcomes(
    scenario: Any,  # noqa: ANN401 - a Scenario
    results: Any,  # noqa: ANN401 - a Results
    start: dt.date,
) -> dict[str, float]:
    """Outcomes over the strategy window, ``start`` to the run's last day, as the verdict sees them.

    The quantities of ``compare``'s verdict table (``scenelab.verdict.QUANTITIES``: harm and its
    components per month, scene size, harm in the most deprived fifth and its share, the
    concentration index, harm to women, cost per month), measured by the same code, each as
    ``window_<name>``; plus ``window_cost_total``, ``scenelab.costs.total_cost(scenario,
    results, since=start)`` in NOK.

    Args:
        scenario: The scenario that ran.
        results: Its ``scenelab.run`` results.
        start: The date strategies start.

    Returns:
        The window outcomes.
    """
    from scenelab.costs import total_cost
    from scenelab.verdict import _measure

    out = {f"window_{k}": float(v) for k, v in _measure(results, scenario, start).items()}
    out["window_cost_total"] = float(total_cost(scenario, results, since=start))
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
            ``until`` and the window start.
        """
        return {**super().config(), "optimize_window_start": self.start.isoformat()}

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
        outcomes.update(window_outcomes(scenario.payload, res, self.start))
        return RunOutput(outcomes=outcomes, tables={}, summary=strict_json(res.summary))
