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
from scenelab.outputs import atomic_parquet, atomic_text
from scenelab.scenario import schema as sc
from scenelab.scenario.loader import load_scenario
from scenelab.scenario.validate import resolved_parameters

__version__ = "0.1.0"


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


def _harm_outcomes(nm: pd.DataFrame, scenario: sc.Scenario) -> dict[str, float]:
    """Composite harm and its distribution over neighbourhoods, whole run and per year."""
    from scenelab.observe.equity import concentration_index, share_most_deprived
    from scenelab.observe.harm import harm_by_neighbourhood_month

    harm = harm_by_neighbourhood_month(nm)
    out = {"harm_per_month": float(harm.groupby("month")["harm"].sum().mean())}
    meta = {n.id: n for n in scenario.neighbourhoods}

    def equity(part: pd.DataFrame, suffix: str) -> None:
        per = part.groupby("neighbourhood")["harm"].sum()
        dep = [meta[n].deprivation for n in per.index]
        pop = [meta[n].residents for n in per.index]
        out[f"concentration_index{suffix}"] = concentration_index(per.values, dep, pop)
        out[f"share_most_deprived{suffix}"] = share_most_deprived(per.values, dep, pop)
        out[f"harm{suffix}"] = float(per.sum())

    equity(harm, "")
    for year, part in harm.groupby(harm["month"].dt.year):
        equity(part, f"_{year}")
    return out


def _outcomes(
    sd: pd.DataFrame, cd: pd.DataFrame, nm: pd.DataFrame, scenario: sc.Scenario
) -> dict[str, float]:
    """Named scalar outcomes (the quantities experiments, sensitivity and calibration use)."""
    out: dict[str, float] = {}
    days = sd["date"].nunique()
    total = sd.groupby("date")["people_present"].sum()
    out["people_present_mean"] = float(total.mean())
    for col in (
        "violence_incidents",
        "sexual_violence_incidents",
        "public_injections",
        "unsafe_injections",
        "overdoses",
        "overdose_deaths",
        "expulsions",
        "fines",
        "police_controls",
        "nuisance",
    ):
        out[f"{col}_per_day"] = float(sd[col].sum() / days)
    person_hours = float(sd["people_present"].sum() * 24.0)
    out["violence_per_1000_person_hours"] = (
        1000.0 * float(sd["violence_incidents"].sum()) / person_hours if person_hours else 0.0
    )
    year = sd["date"].dt.year
    centre = {n.id for n in scenario.neighbourhoods if n.centre}
    for y in sorted(year.unique()):
        in_year = sd[year == y]
        ph = in_year.groupby("site")["people_present"].sum()
        tot = float(ph.sum())
        for site in scenario.site_ids():
            out[f"share_{site}_{y}"] = float(ph.get(site, 0.0)) / tot if tot else 0.0
            out[f"people_{site}_{y}"] = float(ph.get(site, 0.0)) / in_year["date"].nunique()
        out[f"expulsions_{y}"] = float(in_year["expulsions"].sum())
        out[f"fines_{y}"] = float(in_year["fines"].sum())
        out[f"violence_{y}"] = float(in_year["violence_incidents"].sum())
        is_centre = in_year["neighbourhood"].isin(centre)
        out[f"centre_violence_{y}"] = float(in_year.loc[is_centre, "violence_incidents"].sum())
        out[f"centre_nuisance_{y}"] = float(in_year.loc[is_centre, "nuisance"].sum())
    out.update(_harm_outcomes(nm, scenario))
    out["population_end"] = float(cd["population"].iloc[-1])
    out["travelling_sellers_end"] = float(cd["sellers_travelling"].iloc[-1])
    return out


def _period_summary(sd: pd.DataFrame, scenario: sc.Scenario, until: dt.date | None) -> list:
    rows = []
    for label, first, last in periods(scenario, until):
        mask = (sd["date"] >= pd.Timestamp(first)) & (sd["date"] <= pd.Timestamp(last))
        part = sd[mask]
        n_days = (last - first).days + 1
        by_site = part.groupby("site")["people_present"].sum() / n_days
        rows.append(
            {
                "period": label,
                "start": first.isoformat(),
                "end": last.isoformat(),
                "days": n_days,
                "people_present_by_site": {k: round(float(v), 3) for k, v in by_site.items()},
                "per_day": {
                    col: round(float(part[col].sum()) / n_days, 4)
                    for col in (
                        "people_present",
                        "violence_incidents",
                        "sexual_violence_incidents",
                        "public_injections",
                        "unsafe_injections",
                        "overdoses",
                        "overdose_deaths",
                        "expulsions",
                        "fines",
                        "nuisance",
                    )
                },
            }
        )
    return rows


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
        "periods": _period_summary(sd, scn, last_day),
    }
    outcomes = _outcomes(sd, cd, nm, scn)
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
