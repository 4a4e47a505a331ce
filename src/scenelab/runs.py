"""Run a scenario's replicates and write everything a user looks at into one directory.

Replicates run in this process, one after another (the compiled kernel makes one Bergen run take
seconds); large ensembles belong to ``scenelab experiment`` on Dask.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from scenelab.api import Results, check_overrides, check_seed, check_until, periods
from scenelab.errors import ArgumentError
from scenelab.outputs import OutputDirectory, atomic_parquet, atomic_text, dump_json
from scenelab.parallel import check_workers, run_replicates
from scenelab.scenario import schema as sc
from scenelab.scenario.advice import Advice, advise, records
from scenelab.scenario.loader import load_scenario


def report_inputs(
    scn: sc.Scenario, until: dt.date | None = None, advice: list[Advice] | None = None
) -> object:
    """Return the plain-data scenario facts the HTML report draws on.

    ``advice`` is the scenario's warnings for this window, if the caller has them already.
    """
    from scenelab.report import ReportInputs

    sites = pd.DataFrame(
        [
            {"id": s.id, "name": s.name, "kind": s.kind, "neighbourhood": s.neighbourhood,
             "lat": s.lat, "lon": s.lon}
            for s in scn.sites
        ]
    )  # fmt: skip
    nbhds = pd.DataFrame(
        [
            {"id": n.id, "name": n.name, "deprivation": n.deprivation, "centre": n.centre,
             "residents": n.residents}
            for n in scn.neighbourhoods
        ]
    )  # fmt: skip
    interventions = [
        (iv.start, intervention_label(iv, scn))
        for iv in scn.interventions
        if iv.start > scn.run.start
    ]
    # The report takes periods with an exclusive end, and human labels.
    report_periods = [
        (label, first, last + dt.timedelta(days=1))
        for label, (_, first, last) in zip(
            period_labels(scn, until), periods(scn, until), strict=True
        )
    ]
    return ReportInputs(
        sites=sites,
        neighbourhoods=nbhds,
        interventions=interventions,
        periods=report_periods,
        title=scn.scenario.title,
        scenario_name=scn.name,
        notes=scn.scenario.description or None,
        warnings=[
            f"{a.path}: {a.message}" for a in (advise(scn, until) if advice is None else advice)
        ],
    )


_MODE_WORDS = {
    "continuous_patrol": "patrols",
    "reactive_raids": "raids",
    "non_enforcement": "police tolerate",
    "dialogue": "dialogue policing",
}


# What an intervention without a note is called in reports, by type; ``{site}``, ``{places}``,
# ``{zone}``, ``{service}`` and ``{mode}`` are filled from the scenario's names.
_PHRASES = {
    "close_site": "{site} closed",
    "open_site": "{site} reopened",
    "police_plan": "{mode} at {places}",
    "police_operation": "Police operation at {places}",
    "expulsion_policy": "Expulsion orders in {zone}",
    "fine_policy": "Fines in {zone}",
    "open_service": "{service} opens",
    "close_service": "{service} closes",
    "resize_service": "{service} changed",
    "outreach": "Outreach at {places}",
    "police_strategy": "Police keep {keep_clear} clear",
}


def intervention_label(iv: sc.Intervention, scn: sc.Scenario) -> str:
    """Return a reader's label for an intervention: its note, or a phrase built from its type."""
    if iv.note:
        return iv.note
    site = {s.id: s.name for s in scn.sites}
    names = {
        "site": site.get(getattr(iv, "site", ""), ""),
        "places": ", ".join(site[s] for s in getattr(iv, "sites", [])),
        "zone": next((z.name or z.id for z in scn.zones if z.id == getattr(iv, "zone", "")), ""),
        "service": next((s.name for s in scn.services if s.id == getattr(iv, "service", "")), ""),
        "mode": _MODE_WORDS.get(getattr(iv, "mode", ""), "").capitalize(),
        "keep_clear": ", ".join(
            z.name or z.id for z in scn.zones if z.id in getattr(iv, "keep_clear", [])
        ),
    }
    phrase = _PHRASES.get(iv.type, iv.type.replace("_", " "))
    return phrase.format(**names)


def period_labels(scn: sc.Scenario, until: dt.date | None = None) -> list[str]:
    """Return a reader's label for each period of :func:`periods`: what started it."""
    out: list[str] = []
    spans = periods(scn, until)
    for k, (_, first, _) in enumerate(spans):
        if k == 0:
            label = "Whole run" if len(spans) == 1 else "At the start"
        else:
            started = [intervention_label(iv, scn) for iv in scn.interventions if iv.start == first]
            label = "After: " + "; ".join(started)
        if len(label) > 90:
            label = label[:87].rstrip() + "..."
        while label in out:  # the report needs distinct labels
            label += " (again)"
        out.append(label)
    return out


def summarise_replicates(results: list[Results]) -> dict[str, object]:
    """Return each outcome's mean, min and max over replicates."""
    frame = pd.DataFrame([r.outcomes for r in results])
    return {
        name: {
            "mean": float(frame[name].mean()),
            "min": float(frame[name].min()),
            "max": float(frame[name].max()),
        }
        for name in frame.columns
    }


def check_replicates(replicates: object, limit: int = 10_000) -> int:
    """Return ``replicates`` if it is a whole number from 1 to ``limit``.

    Raises:
        ArgumentError: Otherwise.
    """
    if isinstance(replicates, bool) or not isinstance(replicates, int):
        raise ArgumentError(f"replicates must be a whole number (got {replicates!r})")
    if not 1 <= replicates <= limit:
        raise ArgumentError(f"replicates must be from 1 to {limit} (got {replicates})")
    return replicates


def run_to_directory(
    scenario: str | Path | sc.Scenario,
    out: Path,
    seed: int | None = None,
    replicates: int | None = None,
    until: dt.date | None = None,
    progress: bool = True,
    report: bool = True,
    force: bool = False,
    overrides: dict[str, float] | None = None,
    on_start: Callable[[sc.Scenario, list[Advice]], None] | None = None,
    workers: int = 1,
) -> list[Results]:
    """Run ``replicates`` replicates and write tables, summary.json and report.html to ``out``.

    ``on_start(scenario, warnings)`` is called once everything is checked, before the first
    simulated hour (the command line prints the scenario's warnings there). ``workers``
    replicates run at once, in threads (:mod:`scenelab.parallel`); the tables do not depend on it.

    Every argument and the output directory are checked before anything is simulated (see
    :class:`scenelab.outputs.OutputDirectory`: a directory holding files scenelab did not write
    is refused unless ``force``). Everything is written into a staging directory beside ``out``
    and moved into place at the end, so an interrupted run leaves no half-written output.

    Raises:
        ScenarioError: If the scenario file is invalid.
        ArgumentError: If seed, replicates or until are out of range, or an override is invalid.
        OutputError: If ``out`` must not or cannot be written.
    """
    scn = scenario if isinstance(scenario, sc.Scenario) else load_scenario(scenario)
    seed = check_seed(scn.run.seed if seed is None else seed)
    replicates = check_replicates(scn.run.replicates if replicates is None else replicates)
    until = check_until(scn, until)
    check_overrides(overrides)
    check_workers(workers)
    target = OutputDirectory(out, force=force, command="run")
    advice = advise(scn, until)
    with target:
        if on_start is not None:
            on_start(scn, advice)
        results = run_replicates(
            scn, seed, replicates, until=until, overrides=overrides, workers=workers,
            progress=progress,
        )  # fmt: skip
        _write_run(target, results, scn, replicates, until, advice, report)
    return results


def _write_run(
    target: OutputDirectory,
    results: list[Results],
    scn: sc.Scenario,
    replicates: int,
    until: dt.date | None,
    advice: list[Advice],
    report: bool,
) -> None:
    with target.staged() as staging:
        for name in ("site_day", "neighbourhood_month", "city_day"):
            frame = pd.concat([getattr(r, name) for r in results], ignore_index=True)
            atomic_parquet(frame, staging / f"{name}.parquet")
        if results[0].survey is not None:
            survey = pd.concat([r.survey for r in results], ignore_index=True)
            atomic_text(survey.to_csv(index=False), staging / "survey.csv")
        summary = {"schema": "scenelab-run-summary/1", **results[0].summary}
        summary.pop("replicate", None)
        summary.pop("run_id", None)
        summary["replicates"] = replicates
        summary["run_ids"] = [r.summary["run_id"] for r in results]
        summary["wall_time_seconds"] = round(
            sum(r.summary["wall_time_seconds"] for r in results), 3
        )
        summary["periods_by_replicate"] = [r.summary["periods"] for r in results]
        summary.pop("periods", None)
        summary["outcomes"] = summarise_replicates(results)
        summary["warnings"] = records(advice)
        _add_optional_sections(summary, results, scn, until, advice, staging, report)
        atomic_text(dump_json(summary), staging / "summary.json")


def _add_optional_sections(
    summary: dict[str, object],
    results: list[Results],
    scn: sc.Scenario,
    until: dt.date | None,
    advice: list[Advice],
    staging: Path,
    report: bool,
) -> None:
    """Add harm/equity and costs to the summary, write costs.csv and the HTML report."""
    from scenelab.observe.equity import equity_by_period
    from scenelab.observe.outcomes import scenario_weights

    nm = pd.concat([r.neighbourhood_month for r in results], ignore_index=True)
    inputs = report_inputs(scn, until, advice)
    residents = inputs.neighbourhoods.set_index("id")["residents"]
    weights = scenario_weights(scn)  # the scenario's [harm_weights], defaults filling the rest
    equity = equity_by_period(nm, inputs.periods, weights=weights, residents=residents)
    summary["equity_by_period"] = json.loads(equity.to_json(orient="records", date_format="iso"))
    from scenelab.costs import cost_summary, cost_table

    costs = cost_table(scn, results)
    summary["costs"] = cost_summary(scn, results, costs)
    atomic_text(costs.to_csv(index=False), staging / "costs.csv")
    if report:
        from scenelab.report import write_report

        write_report(results, inputs, staging / "report.html", weights=weights, costs=costs)
