"""The one seam: scenario + parameter overrides + seed in, named outcomes and tidy tables out.

Everything above the model (experiments, calibration, the report, the CLI) calls :func:`run` and
reads :class:`Results`; nothing reaches into model internals (as EMA Workbench wraps models).
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from scenelab.model.engine import run_model
from scenelab.model.params import BY_NAME, PARAMETERS, ParamSpec
from scenelab.observe import tables
from scenelab.observe.outcomes import outcomes as named_outcomes
from scenelab.observe.outcomes import period_summary, periods
from scenelab.outputs import atomic_parquet, atomic_text
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
        out[spec.name] = ParamSpec(
            spec.name, value, spec.unit, low, high, spec.mechanism, spec.source, spec.description
        )
    return out


def parameter_vector(
    scenario: sc.Scenario, overrides: dict[str, float] | None = None
) -> np.ndarray:
    """Return the kernel's parameter vector: scenario values with ``overrides`` applied.

    Raises:
        KeyError: If an override names no parameter; the message lists close matches.
    """
    specs = parameters(scenario)
    vec = np.array([specs[p.name].default for p in PARAMETERS], dtype=np.float64)
    for name, value in (overrides or {}).items():
        if name not in BY_NAME:
            import difflib

            close = difflib.get_close_matches(name, list(BY_NAME), n=3)
            raise KeyError(
                f"override '{name}' is not a parameter; close matches: {close}; "
                "see `scenelab params` for all"
            )
        vec[[p.name for p in PARAMETERS].index(name)] = float(value)
    return vec


def git_revision() -> str | None:
    """Return the git revision of the source tree, if it is a git checkout."""
    try:
        here = Path(__file__).resolve().parent
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=5
        )
        return out.stdout.strip() or None if out.returncode == 0 else None
    except (OSError, subprocess.SubprocessError):
        return None


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

    def write(self, directory: str | Path) -> Path:
        """Write site_day.parquet, neighbourhood_month.parquet, city_day.parquet, summary.json.

        Files are written to a temporary name and renamed, so an interrupted write never leaves
        a half-written table behind.
        """
        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        for name, frame in (
            ("site_day", self.site_day),
            ("neighbourhood_month", self.neighbourhood_month),
            ("city_day", self.city_day),
        ):
            atomic_parquet(frame, out / f"{name}.parquet")
        atomic_text(json.dumps(self.summary, indent=2, default=str), out / "summary.json")
        if self.survey is not None:
            atomic_text(self.survey.to_csv(index=False), out / "survey.csv")
        return out


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
    seed = scn.run.seed if seed is None else int(seed)
    if isinstance(until, str):
        until = dt.date.fromisoformat(until)
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
    nm = tables.neighbourhood_month(sd, scn, prov)
    cd = tables.city_day(raw, prov)
    people = tables.people_snapshot(raw, scn.run.start, prov)
    last_day = scn.run.start + dt.timedelta(days=raw.n_days - 1)
    summary: dict[str, object] = {
        "scenelab_version": __version__,
        "git_revision": git_revision(),
        "scenario": scn.name,
        "scenario_source": scn.source,
        "scenario_hash": scn.scenario_hash,
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
    if scn.survey is not None and "survey_end" in raw.snapshots:
        from scenelab.observe.survey import run_survey, survey_generator

        t_end = ((scn.survey.end - scn.run.start).days + 1) * 24
        survey, sample = run_survey(
            raw.snapshots["survey_end"],
            raw.snapshots.get("intervention"),
            t_end,
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
