"""The one seam: scenario + parameter overrides + seed in, named outcomes and tidy tables out.

Everything above the model (experiments, calibration, the report, the CLI) calls :func:`run` and
reads :class:`Results`; nothing reaches into model internals (as EMA Workbench wraps models).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from scenelab.errors import ArgumentError, OverrideError
from scenelab.model.engine import run_model
from scenelab.model.params import BY_NAME, PARAMETERS, ParamSpec, calibration_name
from scenelab.observe import tables
from scenelab.observe.outcomes import outcomes as named_outcomes
from scenelab.observe.outcomes import period_summary, periods
from scenelab.outputs import OutputDirectory, atomic_parquet, atomic_text, dump_json
from scenelab.provenance import git_revision
from scenelab.scenario import schema as sc
from scenelab.scenario.loader import load_scenario
from scenelab.scenario.validate import resolved_parameters

__version__ = "0.1.0"
__all__ = [
    "Results",
    "__version__",
    "git_revision",
    "parameter_vector",
    "parameters",
    "periods",
    "run",
]


def parameters(scenario: sc.Scenario) -> dict[str, ParamSpec]:
    """Return every model parameter with the scenario's value as default and its prior range."""
    resolved = resolved_parameters(scenario)
    out = {}
    for spec in PARAMETERS:
        value, low, high = resolved[spec.name]
        out[spec.name] = dataclasses.replace(spec, default=value, low=low, high=high)
    return out


def parameter_vector(
    scenario: sc.Scenario, overrides: dict[str, float] | None = None
) -> np.ndarray:
    """Return the kernel's parameter vector: scenario values with ``overrides`` applied.

    Raises:
        OverrideError: If an override names no parameter (the message lists close matches) or
            its value is not valid for it (not a finite number, out of the parameter's range);
            every override is checked before anything runs.
    """
    check_overrides(overrides)
    specs = parameters(scenario)
    vec = np.array([specs[p.name].default for p in PARAMETERS], dtype=np.float64)
    for name, value in (overrides or {}).items():
        vec[[p.name for p in PARAMETERS].index(name)] = float(value)
    return vec


def check_overrides(overrides: dict[str, float] | None) -> None:
    """Check parameter overrides by the same rules as a scenario file's ``[parameters]``.

    Raises:
        OverrideError: One line per invalid override (unknown name, NaN, inf, out of range).
    """
    from scenelab.scenario.validate import parameter_problem

    problems = []
    for name, value in (overrides or {}).items():
        message = parameter_problem(str(name), value)
        if message is not None:
            if name not in BY_NAME:
                message += "; see `scenelab params` for all"
            problems.append(f"override {name}: {message}")
    if problems:
        raise OverrideError("\n".join(problems))


def check_seed(seed: object) -> int:
    """Return ``seed`` as an int if it is a valid run seed (0 to 2^32 - 1).

    Raises:
        ArgumentError: Otherwise.
    """
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer):
        raise ArgumentError(f"seed must be an integer from 0 to {sc.MAX_SEED} (got {seed!r})")
    if not 0 <= int(seed) <= sc.MAX_SEED:
        raise ArgumentError(f"seed must be from 0 to {sc.MAX_SEED} (got {seed})")
    return int(seed)


def check_until(scenario: sc.Scenario, until: dt.date | str | None) -> dt.date | None:
    """Return ``until`` as a date inside the scenario's run window (None: run to the end).

    Raises:
        ArgumentError: If it is not a YYYY-MM-DD date, or lies outside the window.
    """
    if until is None:
        return None
    if isinstance(until, str):
        try:
            until = dt.date.fromisoformat(until)
        except ValueError:
            raise ArgumentError(
                f"until {until!r} is not a date; write it as YYYY-MM-DD, e.g. 2015-12-31"
            ) from None
    if isinstance(until, dt.datetime) or not isinstance(until, dt.date):
        raise ArgumentError(f"until must be a date (got {until!r})")
    start, end = scenario.run.start, scenario.run.end
    if not start <= until <= end:
        raise ArgumentError(
            f"until {until} is outside {scenario.name}'s run window {start} .. {end}"
        )
    return until


@dataclass
class Results:
    """What one run produced: tidy tables, named outcomes and a provenance summary."""

    site_day: pd.DataFrame
    neighbourhood_month: pd.DataFrame
    city_day: pd.DataFrame
    people: pd.DataFrame
    outcomes: dict[str, float]
    summary: dict[str, object] = field(default_factory=dict)
    survey: pd.DataFrame | None = None

    def write(self, directory: str | Path, force: bool = False) -> Path:
        """Write site_day.parquet, neighbourhood_month.parquet, city_day.parquet, summary.json.

        The directory is claimed like ``scenelab run --out`` claims it (see
        :class:`scenelab.outputs.OutputDirectory`): new, empty or written by scenelab before,
        unless ``force``; files are staged and moved in, so nothing is left half written and no
        file scenelab did not write is removed.

        Raises:
            OutputError: If the directory must not or cannot be written.
        """
        target = OutputDirectory(directory, force=force, command="Results.write")
        with target, target.staged() as staging:
            for name, frame in (
                ("site_day", self.site_day),
                ("neighbourhood_month", self.neighbourhood_month),
                ("city_day", self.city_day),
            ):
                atomic_parquet(frame, staging / f"{name}.parquet")
            atomic_text(dump_json(self.summary), staging / "summary.json")
            if self.survey is not None:
                atomic_text(self.survey.to_csv(index=False), staging / "survey.csv")
        return Path(directory)


def run(
    scenario: sc.Scenario | str | Path,
    seed: int | None = None,
    overrides: dict[str, float] | None = None,
    until: dt.date | str | None = None,
    replicate: int = 0,
    progress: bool = False,
) -> Results:
    """Run one replicate of a scenario.

    Args:
        scenario: A loaded scenario, a built-in name or a scenario file path.
        seed: Run seed (defaults to the scenario's ``run.seed``). Same scenario, seed and
            replicate give identical tables.
        overrides: Parameter values (canonical units) replacing the scenario's.
        until: Last day to simulate (inclusive), e.g. ``"2012-03-01"``.
        replicate: Replicate number; each replicate has its own random streams.
        progress: Show a progress bar of simulated time.

    Returns:
        The run's :class:`Results`.
    """
    scn = scenario if isinstance(scenario, sc.Scenario) else load_scenario(scenario)
    seed = check_seed(scn.run.seed if seed is None else seed)
    until = check_until(scn, until)
    if isinstance(replicate, bool) or not isinstance(replicate, int) or replicate < 0:
        raise ArgumentError(f"replicate must be an integer >= 0 (got {replicate!r})")
    par = parameter_vector(scn, overrides)
    started = time.time()
    raw = run_model(scn, par, seed=seed, replicate=replicate, until=until, progress=progress)
    wall = time.time() - started
    run_id = uuid.uuid5(
        uuid.NAMESPACE_URL,
        f"{scn.scenario_hash}/{seed}/{replicate}/{until}/"
        f"{json.dumps(overrides or {}, sort_keys=True)}",
    ).hex[:16]
    prov = {
        "run_id": run_id,
        "scenario": scn.name,
        "scenario_hash": scn.scenario_hash,
        "seed": seed,
        "replicate": replicate,
    }
    sd = tables.site_day(raw, scn, prov)
    cd = tables.city_day(raw, prov)
    nm = tables.neighbourhood_month(sd, scn, prov, cd)
    people = tables.people_snapshot(raw, scn.run.start, prov)
    last_day = scn.run.start + dt.timedelta(days=raw.n_days - 1)
    summary: dict[str, object] = {
        "scenelab_version": __version__,
        "git_revision": git_revision(),
        "scenario": scn.name,
        "scenario_source": scn.source,
        "scenario_hash": scn.scenario_hash,
        "parameter_set": calibration_name(),
        "run_id": run_id,
        "seed": seed,
        "replicate": replicate,
        "overrides": overrides or {},
        "window": {"start": scn.run.start.isoformat(), "end": last_day.isoformat()},
        "wall_time_seconds": round(wall, 3),
        "periods": period_summary(sd, scn, last_day),
    }
    outcomes = named_outcomes(sd, cd, nm, scn)
    survey = None
    if scn.survey is not None and "interview" in raw.snapshots:
        from scenelab.observe.survey import run_survey, survey_generator

        survey, sample = run_survey(
            raw.snapshots,
            scn.survey.target_n,
            survey_generator(seed, replicate),
            scn.survey.field_percent,
        )
        for key, value in prov.items():
            survey.insert(0, key, value) if key not in survey else None
        for row in survey[survey["group"] == "all"].itertuples():
            outcomes[f"survey_{row.item}"] = float(row.percent)
        outcomes["survey_n"] = float(len(sample))
        summary["survey"] = {"recruited": int(len(sample)), "target_n": scn.survey.target_n}
    return Results(sd, nm, cd, people, outcomes, summary, survey)
