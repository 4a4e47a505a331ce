"""Compare strategies: run scenarios with common random numbers and report paired differences.

Replicate r of every scenario uses the same seed and replicate number, so each random stream gives
the same draws in every arm: differences between arms come from policy, not noise. Each outcome's
difference from the first (reference) scenario is the mean of the paired per-replicate differences
with a 95% t-interval, kept inside the outcome's range (:func:`outcome_bounds`). Each strategy's
verdict against the reference (``scenelab.verdict``) and its costs (``scenelab.costs``) are
written beside the tables and open the report.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path

import pandas as pd
from scipy import stats

from scenelab.api import Results, check_overrides, check_seed, check_until
from scenelab.costs.model import DAYS_PER_MONTH
from scenelab.errors import ArgumentError
from scenelab.outputs import OutputDirectory, atomic_parquet, atomic_text, dump_json
from scenelab.parallel import RunTask, check_workers, run_many
from scenelab.scenario import schema as sc
from scenelab.scenario.loader import load_scenario
from scenelab.verdict import clamp_interval

HEADLINE: tuple[str, ...] = (
    "people_present_mean",
    "harm_per_month",
    "harm_off_scene_per_month",
    "concentration_index",
    "share_most_deprived",
    "violence_incidents_per_day",
    "sexual_violence_incidents_per_day",
    "public_injections_per_day",
    "unsafe_injections_per_day",
    "overdoses_per_day",
    "overdose_deaths_per_day",
    "offscene_public_injections_per_day",
    "offscene_overdoses_per_day",
    "offscene_overdose_deaths_per_day",
    "private_violence_per_day",
    "nuisance_per_day",
    "expulsions_per_day",
    "fines_per_day",
    "survey_trust_low",
    "cost_nok_per_month",
)


def outcome_bounds(name: str) -> tuple[float, float]:
    """The range an outcome can take.

    A concentration index lies in [-1, 1], a share in [0, 1], a survey percentage in [0, 100];
    every other compared outcome is a count, rate, size or cost (>= 0).
    """
    if name.startswith("concentration_index"):
        return -1.0, 1.0
    if name.startswith("share_"):
        return 0.0, 1.0
    if name.startswith("survey_") and name != "survey_n":
        return 0.0, 100.0
    return 0.0, math.inf


def paired_differences(
    outcomes: pd.DataFrame, reference: str, names: tuple[str, ...] = HEADLINE
) -> pd.DataFrame:
    """Return each scenario's mean outcome and its paired difference from ``reference``.

    Args:
        outcomes: One row per scenario and replicate with outcome columns.
        reference: The scenario every other one is compared with.
        names: Outcomes to compare (missing ones are skipped).

    Returns:
        Columns: scenario, outcome, mean, diff, diff_ci_low, diff_ci_high, n.
    """
    rows = []
    base = outcomes[outcomes["scenario"] == reference].set_index("replicate")
    for scenario, part in outcomes.groupby("scenario", sort=False):
        part = part.set_index("replicate")
        for name in names:
            if name not in part.columns:
                continue
            diff = (part[name] - base[name]).dropna()
            n = len(diff)
            mean_diff = float(diff.mean()) if n else math.nan
            if n > 1 and diff.std(ddof=1) > 0:
                half = stats.t.ppf(0.975, n - 1) * diff.std(ddof=1) / math.sqrt(n)
            else:
                half = 0.0 if n else math.nan
            low, high = clamp_interval(
                mean_diff - half, mean_diff + half, float(base[name].mean()), outcome_bounds(name)
            )
            rows.append(
                {
                    "scenario": scenario,
                    "outcome": name,
                    "mean": float(part[name].mean()),
                    "diff": mean_diff,
                    "diff_ci_low": low,
                    "diff_ci_high": high,
                    "n": n,
                }
            )
    return pd.DataFrame(rows)


def compare_to_directory(
    scenarios: list[str | Path | sc.Scenario],
    out: Path,
    replicates: int = 5,
    seed: int = 1,
    progress: bool = True,
    until: dt.date | str | None = None,
    force: bool = False,
    overrides: dict[str, float] | None = None,
    workers: int = 1,
) -> pd.DataFrame:
    """Run every scenario ``replicates`` times with shared seeds and write the comparison.

    Writes ``compare.csv`` (paired differences), ``outcomes.csv`` (per scenario and replicate),
    ``verdict.csv`` (each strategy against the reference after they diverge), ``costs.csv``
    (per strategy, replicate, period and item), every table ``run`` writes (``site_day``,
    ``neighbourhood_month``, ``city_day`` parquet and ``survey.csv``, all strategies stacked),
    ``summary.json`` and ``report.html``; all into a staging directory moved into place at the
    end. Arguments and the output directory are checked before anything runs (as for ``run``).

    Raises:
        ArgumentError: If two scenarios share a name, their run windows differ, or
            seed/replicates/until/workers are out of range.
        OverrideError: If a parameter override is invalid.
        OutputError: If ``out`` must not or cannot be written.
    """
    from scenelab.runs import check_replicates

    loaded = [s if isinstance(s, sc.Scenario) else load_scenario(s) for s in scenarios]
    names = [s.name for s in loaded]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        sources = {n: [s.source for s in loaded if s.name == n] for n in repeated}
        raise ArgumentError(
            "strategies must have distinct names ([scenario] name = ...); "
            + "; ".join(f"'{n}' is the name of {', '.join(src)}" for n, src in sources.items())
        )
    weights = {s.name: getattr(s, "harm_weights", None) for s in loaded}
    if len({repr(w) for w in weights.values()}) > 1:
        raise ArgumentError(
            "strategies weigh harm differently ([harm_weights]); compared strategies must use "
            "the same weights, or their differences would mix policy and weighting"
        )
    windows = {(s.run.start, s.run.end) for s in loaded}
    if len(windows) > 1:
        raise ArgumentError(
            "strategies must share [run] start and end to be compared; got "
            + "; ".join(f"{s.name}: {s.run.start} .. {s.run.end}" for s in loaded)
        )
    seed = check_seed(seed)
    replicates = check_replicates(replicates)
    workers = check_workers(workers)
    until = check_until(loaded[0], until)
    for scn in loaded[1:]:
        check_until(scn, until)
    check_overrides(overrides)
    target = OutputDirectory(out, force=force, command="compare")
    with target:
        # replicate r of every strategy: the same seed and replicate number (common random
        # numbers); all strategies' runs share the workers
        tasks = [RunTask(s, seed, r, until, overrides) for s in loaded for r in range(replicates)]
        done = run_many(tasks, workers=workers, progress=progress)
        results: dict[str, list[Results]] = {
            s.name: done[k * replicates : (k + 1) * replicates] for k, s in enumerate(loaded)
        }
        return _write_comparison(
            target, loaded, results, seed, replicates, until, overrides, workers=workers
        )


def _write_comparison(
    target: OutputDirectory,
    loaded: list[sc.Scenario],
    results: dict[str, list[Results]],
    seed: int,
    replicates: int,
    until: dt.date | None,
    overrides: dict[str, float] | None,
    workers: int = 1,
) -> pd.DataFrame:
    from concurrent.futures import ThreadPoolExecutor

    # With a second worker, the result tables are stacked and written as Parquet in a thread
    # while this one computes the costs and verdicts and builds the summary and the report:
    # pyarrow writes without holding the GIL. With one worker, the same calls run here first.
    with target.staged() as staging, ThreadPoolExecutor(max_workers=1) as pool:
        tables = pool.submit(_write_tables, results, staging) if workers > 1 else None
        if tables is None:
            _write_tables(results, staging)
        table = _write_outcomes_and_report(
            staging, loaded, results, seed, replicates, until, overrides
        )
        if tables is not None:
            tables.result()  # raises what the thread raised, before the directory is committed
    return table


def _write_outcomes_and_report(
    staging: Path,
    loaded: list[sc.Scenario],
    results: dict[str, list[Results]],
    seed: int,
    replicates: int,
    until: dt.date | None,
    overrides: dict[str, float] | None,
) -> pd.DataFrame:
    """Write the outcomes, differences, verdicts, costs, surveys, summary and report."""
    from scenelab.costs import cost_summary, cost_table
    from scenelab.verdict import verdict

    names = [s.name for s in loaded]
    # one cost table per strategy serves the outcomes, costs.csv and summary.json: its periods
    # cover every simulated day, so a replicate's rows sum to its total cost
    cost_tables = {s.name: cost_table(s, results[s.name]) for s in loaded}
    rows = []
    for name, runs in results.items():
        totals = cost_tables[name].groupby("replicate")["cost_nok"].sum()
        for r, res in enumerate(runs):
            days = res.city_day["date"].nunique()
            per_month = float(totals.get(r, 0.0)) / (days / DAYS_PER_MONTH)
            rows.append({"scenario": name, "replicate": r, **res.outcomes,
                         "cost_nok_per_month": per_month})  # fmt: skip
    outcomes = pd.DataFrame(rows)
    table = paired_differences(outcomes, names[0])
    verdicts = [verdict(results[names[0]], results[s.name], loaded[0], s) for s in loaded[1:]]
    costs = pd.concat(
        [cost_tables[s.name].assign(scenario=s.name) for s in loaded], ignore_index=True
    )
    atomic_text(table.to_csv(index=False), staging / "compare.csv")
    atomic_text(outcomes.to_csv(index=False), staging / "outcomes.csv")
    atomic_text(costs.to_csv(index=False), staging / "costs.csv")
    atomic_text(
        pd.concat([v.table.assign(scenario=v.arm, since=v.since.isoformat())
                   for v in verdicts], ignore_index=True).to_csv(index=False)
        if verdicts else "",
        staging / "verdict.csv",
    )  # fmt: skip
    surveys = [r.survey for runs in results.values() for r in runs if r.survey is not None]
    if surveys:  # every table `run` writes, all strategies stacked
        atomic_text(pd.concat(surveys, ignore_index=True).to_csv(index=False),
                    staging / "survey.csv")  # fmt: skip
    from scenelab.provenance import git_revision, version
    from scenelab.scenario.advice import advise, records

    advice = {s.name: advise(s, until) for s in loaded}

    summary = {
        "schema": "scenelab-compare-summary/1",
        "scenelab_version": version(),
        "git_revision": git_revision(),
        "reference": names[0],
        "scenarios": {s.name: {"hash": s.scenario_hash, "source": s.source} for s in loaded},
        "seed": seed,
        "replicates": replicates,
        "until": until.isoformat() if until else None,
        "overrides": overrides or {},
        "common_random_numbers": True,
        "warnings": {name: records(items) for name, items in advice.items()},
        "differences": json.loads(table.to_json(orient="records")),
        "verdicts": [_verdict_record(v) for v in verdicts],
        "costs": {s.name: cost_summary(s, results[s.name], cost_tables[s.name]) for s in loaded},
    }
    atomic_text(dump_json(summary), staging / "summary.json")
    from scenelab.report import write_report
    from scenelab.runs import report_inputs

    inputs = report_inputs(loaded[0], until, advice[names[0]])
    inputs.title = f"Strategies compared: {', '.join(names)}"
    from scenelab.observe.outcomes import scenario_weights

    write_report(
        results[names[0]],
        inputs,
        staging / "report.html",
        comparison=results,
        weights=scenario_weights(loaded[0]),
        verdicts=verdicts,
        costs=costs,
    )
    return table


def _write_tables(results: dict[str, list[Results]], staging: Path) -> None:
    """Write every run's ``site_day``, ``neighbourhood_month`` and ``city_day``, stacked."""
    for kind in ("site_day", "neighbourhood_month", "city_day"):
        frame = pd.concat(
            [getattr(r, kind) for runs in results.values() for r in runs], ignore_index=True
        )
        atomic_parquet(frame, staging / f"{kind}.parquet")


def _verdict_record(v: object) -> dict[str, object]:
    """A verdict as strict-JSON-ready data for summary.json."""
    return {
        "scenario": v.arm,  # type: ignore[attr-defined]
        "reference": v.reference,  # type: ignore[attr-defined]
        "since": v.since.isoformat(),  # type: ignore[attr-defined]
        "diverged": v.diverged.isoformat() if v.diverged else None,  # type: ignore[attr-defined]
        "until": v.until.isoformat(),  # type: ignore[attr-defined]
        "replicates": v.n,  # type: ignore[attr-defined]
        "sentences": list(v.sentences),  # type: ignore[attr-defined]
        "table": json.loads(v.table.to_json(orient="records")),  # type: ignore[attr-defined]
    }
