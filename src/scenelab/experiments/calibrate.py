"""Likelihood-free calibration with ABC-SMC (pyabc).

Chosen parameters get uniform priors (the file's low/high, else the model's prior range from
``scenelab.parameters``); simulated outcomes are compared with target summary statistics by a
scaled Euclidean distance ``sqrt(sum(((sim - target) / scale)^2))``. Simulations run through
the :class:`~scenelab.experiments.models.Model` seam of experiments, in threads of this process
(scenelab's model on one machine) or on Dask (other models, a scheduler address or a client;
``experiments.abc_sampler``). With ``calibration.patterns`` set, a target may name a figure of
the city's pattern file (``P2.vagsbunnen_share_first_year``), measured on every run by
``scenelab.patterns`` (:func:`pattern_figures`). The run is converged when one of pyabc's own
criteria holds (``min_epsilon``, ``min_acceptance_rate``, ``min_epsilon_diff``); the generation,
simulation and walltime limits are caps, and :func:`stopping_rule` says which one ended it.
Outputs in the calibration directory:

* ``calibration.db`` — pyabc's database (all generations, provenance).
  Re-running the same command resumes the stored run: an interrupted or
  time-limited run continues from its last finished generation, and a run that
  met its stopping rule is reported again without new simulations.
* ``posterior.csv`` — the weighted posterior sample (one row per particle).
* ``posterior_summary.csv`` — weighted mean, sd and quantiles per parameter.
* ``posterior_predictive.csv`` / ``predictive_check.csv`` — runs at posterior
  draws (fresh seeds) and, per statistic, where the target falls among them.
* ``calibration.html`` — posterior marginals, epsilon by generation and the
  predictive check (self-contained).

pyabc is an optional dependency (``pip install 'scenelab[calibrate]'``) and is
imported only here, inside :func:`calibrate`.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from scenelab.errors import ArgumentError, ScenelabError
from scenelab.experiments.abc_sampler import abc_sampler
from scenelab.experiments.calibrate_patterns import pattern_figures
from scenelab.experiments.calibrate_resume import find_resumable, resume_key, stored_unfinished
from scenelab.experiments.calibrate_stopping import (
    InterruptOnlyWhileSampling,
    PyabcStopMessages,
    describe_unfinished,
    stopping_rule,
)
from scenelab.experiments.models import Model, PreparedScenario, ScenelabModel, builtin_model
from scenelab.experiments.plan import RunTask, run_key
from scenelab.experiments.plots import write_html_page
from scenelab.experiments.posterior import predictive_check, summarize_posterior
from scenelab.experiments.ranges import ParamRange
from scenelab.experiments.runner import execute_runs
from scenelab.experiments.spec import (
    CalibrationSpec,
    SpecError,
    check_overrides,
    check_values,
    resolve_parameters,
)

CALIBRATION_DB = "calibration.db"


class AbcSimulator:
    """The model as pyabc sees it: parameters in, the target statistics out.

    Each call draws a fresh seed from OS entropy: ABC needs independent noise
    per simulation, and pyabc's own sampling is not seed-reproducible under
    Dask anyway (the posterior is reproducible statistically, not bit for bit).
    """

    def __init__(
        self,
        model: Model,
        scenario: PreparedScenario,
        fixed: Mapping[str, float],
        statistics: Sequence[str],
    ) -> None:
        """Bind the model to a scenario, fixed overrides and the statistics to return.

        Args:
            model: The model.
            scenario: The prepared scenario.
            fixed: Overrides held fixed during calibration.
            statistics: Outcome names compared with targets.
        """
        self.model = model
        self.scenario = scenario
        self.fixed = dict(fixed)
        self.statistics = list(statistics)

    def __call__(self, parameter: Mapping[str, float]) -> dict[str, float]:
        """Simulate once.

        Args:
            parameter: Calibrated parameter values (a pyabc ``Parameter``).

        Returns:
            The target statistics of one run.

        Raises:
            KeyError: If the model does not produce a target statistic.
        """
        seed = int(np.random.SeedSequence().generate_state(1)[0])
        params = {**self.fixed, **{k: float(v) for k, v in parameter.items()}}
        out = self.model.run(self.scenario, params, seed, 0)
        missing = [s for s in self.statistics if s not in out.outcomes]
        if missing:
            raise KeyError(
                f"model produced no {', '.join(missing)}; it produces: "
                f"{', '.join(sorted(out.outcomes))}"
            )
        return {s: float(out.outcomes[s]) for s in self.statistics}


@dataclass
class CalibrationResult:
    """What a calibration produced.

    Attributes:
        out_dir: Calibration directory.
        posterior: Particles with a ``weight`` column (weights sum to 1).
        summary: Per parameter: prior range, weighted mean, sd, 5/50/95% quantiles.
        predictive: Posterior predictive runs (parameters and statistics).
        check: Per statistic: target, scale, predictive mean and 5/95% quantiles,
            share of predictive runs at or below the target, and whether the
            target lies in the 90% predictive interval.
        generations: ABC generations run.
        n_simulations: Total simulations pyabc ran.
        epsilons: Acceptance threshold per generation.
        html_path: The plots.
        elapsed_s: Wall time.
        stopping: Which rule ended the run (:func:`stopping_rule`): ``stopped_by``,
            ``converged`` (a convergence rule, not a cap), every rule met, acceptance rates.
    """

    out_dir: Path
    posterior: pd.DataFrame
    summary: pd.DataFrame
    predictive: pd.DataFrame
    check: pd.DataFrame
    generations: int
    n_simulations: int
    epsilons: list[float]
    html_path: Path
    elapsed_s: float
    stopping: dict[str, Any]


def model_for_calibration(spec: CalibrationSpec, figures: Mapping[str, Any] | None = None) -> Model:
    """The built-in model a calibration file names.

    Args:
        spec: The calibration.
        figures: Its pattern figures if already resolved (:func:`pattern_figures`).

    Returns:
        The model, configured with the file's ``until`` date (and, for a file with
        ``patterns``, the pattern figures its targets name).
    """
    figures = pattern_figures(spec) if figures is None else figures
    if figures:
        return ScenelabModel(until=spec.calibration.until, figures=figures)
    return builtin_model(spec.calibration.model, until=spec.calibration.until)


def calibrate(
    spec: CalibrationSpec,
    out_dir: str | Path,
    *,
    model: Model | None = None,
    client: Any = None,  # noqa: ANN401 - a distributed.Client
    scheduler: str | None = None,
    n_workers: int | None = None,
    echo: Callable[[str], None] | None = None,
) -> CalibrationResult:
    """Calibrate parameters to target statistics with ABC-SMC (local threads or Dask).

    Args:
        spec: A validated calibration file.
        out_dir: Directory for the database, CSVs and plots.
        model: Model to calibrate (default: the one the file names).
        client: An existing Dask client (not closed here).
        scheduler: Address of an existing Dask scheduler.
        n_workers: Local threads (scenelab's model) or worker processes (default: one per core).
        echo: Where to print progress messages (default: stderr).

    Returns:
        The weighted posterior, its summary and the predictive check.

    Raises:
        SpecError: For unknown parameters or fixed overrides.
        ImportError: If pyabc is not installed (``scenelab[calibrate]``).
    """
    try:
        import pyabc
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("calibration needs pyabc: pip install 'scenelab[calibrate]'") from exc

    t0 = time.perf_counter()
    say = echo or (lambda msg: print(msg, file=sys.stderr))
    cal = spec.calibration
    figures = pattern_figures(spec)
    if model is None:
        model = model_for_calibration(spec, figures)
    elif figures:
        if not isinstance(model, ScenelabModel):
            raise SpecError(
                spec.label, [("calibration.patterns", "pattern figures need the scenelab model")]
            )
        model = ScenelabModel(until=model.until, figures=figures)
    try:
        prepared = model.prepare(cal.scenario, spec.base_dir)
    except ArgumentError as exc:  # e.g. `until` outside the scenario's window
        raise SpecError(spec.label, [("calibration.until", str(exc))]) from None
    except (OSError, ValueError, KeyError, ScenelabError) as exc:
        raise SpecError(spec.label, [("calibration.scenario", str(exc))]) from None
    known = model.parameters(prepared)
    check_overrides(spec.fixed, known, spec.label, "fixed")
    check_values(model, spec.fixed, spec.label, "fixed")
    params = resolve_parameters(spec.parameters, known, spec.label, "parameters")
    for p in params:
        for end, value in (("low", p.low), ("high", p.high)):
            check_values(model, {p.name: value}, spec.label, f"parameters.{p.name}.{end}", False)
    _check_targets(model, prepared, spec, params)
    # Where the command's time went, by step (the first run of a process may compile the engine).
    steps: dict[str, float] = {}
    last = [t0]

    def mark(step: str) -> None:
        now = time.perf_counter()
        steps[f"{step}_s"] = now - last[0]
        last[0] = now

    mark("setup_and_pilot")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)

    prior = pyabc.Distribution(
        **{p.name: pyabc.RV("uniform", p.low, p.high - p.low) for p in params}
    )
    targets = {name: float(t.value) for name, t in spec.targets.items()}
    distance = pyabc.PNormDistance(
        p=2, fixed_weights={name: 1.0 / t.scale for name, t in spec.targets.items()}
    )
    simulator = AbcSimulator(model, prepared, spec.fixed, list(targets))
    db_path = out_dir / CALIBRATION_DB
    with abc_sampler(
        threads=isinstance(model, ScenelabModel),
        scheduler=scheduler,
        client=client,
        n_workers=n_workers,
        batch_size=cal.batch_size,
        echo=say,
    ) as (sampler, submit):
        abc = pyabc.ABCSMC(
            simulator,
            prior,
            distance,
            population_size=cal.population_size,
            sampler=sampler,
        )
        db_url = f"sqlite:///{db_path.resolve()}"
        key = resume_key(spec, model, prepared.scenario_hash)
        run_id = find_resumable(db_path, key)
        done = 0
        if run_id is None:
            abc.new(
                db_url,
                targets,
                meta_info={
                    "scenelab_calibration": cal.name,
                    "scenelab_resume_key": key,
                    "scenario_hash": prepared.scenario_hash,
                    "spec": json.dumps(spec.model_dump(mode="json"), sort_keys=True),
                },
            )
        else:
            history = abc.load(db_url, run_id)
            done = int(history.max_t) + 1
            say(
                f"Resuming calibration run {run_id} in {db_path.name}: "
                f"{done} generation(s) already stored"
            )
        run_kwargs: dict[str, Any] = {
            "minimum_epsilon": cal.min_epsilon,
            # pyabc counts populations per call; ours is the run's total.
            "max_nr_populations": cal.max_generations - done,
            "min_acceptance_rate": cal.min_acceptance_rate,
            "min_eps_diff": cal.min_epsilon_diff,
        }
        if cal.max_walltime_minutes is not None:
            run_kwargs["max_walltime"] = dt.timedelta(minutes=cal.max_walltime_minutes)
        if cal.max_simulations is not None:
            run_kwargs["max_total_nr_simulations"] = cal.max_simulations
        say(
            f"ABC-SMC: {len(params)} parameters, {len(targets)} targets, population "
            f"{cal.population_size}, up to {cal.max_generations} generations"
        )
        walltime_s = None
        # A generation the last invocation stopped at its budget is in the summary, not the db.
        unfinished = stored_unfinished(out_dir / "calibration_summary.json", done) if done else None
        if done > 0 and stopping_rule(history, cal, unfinished=unfinished)["stopped_by"]:
            say("The stored run has met its stopping rule; reporting it without new simulations")
        else:
            with PyabcStopMessages() as said, InterruptOnlyWhileSampling(sampler):
                mark("before_pyabc")
                history = abc.run(**run_kwargs)
                mark("pyabc")
                walltime_s = steps["pyabc_s"]
            unfinished = sampler.unfinished
        stopping = stopping_rule(history, cal, walltime_s=walltime_s, unfinished=unfinished)
        if walltime_s is not None:
            stopping["pyabc_said"] = said.messages
        if unfinished is not None:
            say(describe_unfinished(unfinished, cal.population_size))
        say(
            f"Stopped by {stopping['stopped_by']} "
            f"({'converged' if stopping['converged'] else 'not converged: a cap'})"
        )
        frame, weights = history.get_distribution(m=0, t=history.max_t)
        posterior = frame.reset_index(drop=True)[[p.name for p in params]].copy()
        posterior["weight"] = np.asarray(weights, float) / np.sum(weights)
        populations = history.get_all_populations()
        populations = populations[populations["t"] >= 0]
        epsilons = [float(e) for e in populations["epsilon"]]
        # The simulations of a generation stopped at its budget count too (pyabc stores none).
        n_sims = int(history.total_nr_simulations) + (unfinished or {}).get("simulations", 0)
        generations = int(history.max_t) + 1
        mark("posterior_read")
        predictive = _posterior_predictive(
            submit, model, prepared, spec, posterior, [p.name for p in params]
        )
        mark("predictive_runs")
    mark("sampler_closed")
    summary = summarize_posterior(posterior, params)
    check = predictive_check(predictive, spec)
    posterior.to_csv(out_dir / "posterior.csv", index=False)
    summary.to_csv(out_dir / "posterior_summary.csv", index=False)
    predictive.to_csv(out_dir / "posterior_predictive.csv", index=False)
    check.to_csv(out_dir / "predictive_check.csv", index=False)
    html_path = write_calibration_html(
        out_dir / "calibration.html",
        spec,
        params,
        posterior,
        summary,
        predictive,
        check,
        epsilons,
        stopping,
    )
    mark("report")
    say("Time by step: " + ", ".join(f"{k[:-2]} {v:.1f} s" for k, v in steps.items()))
    result = CalibrationResult(
        out_dir=out_dir,
        posterior=posterior,
        summary=summary,
        predictive=predictive,
        check=check,
        generations=generations,
        n_simulations=n_sims,
        epsilons=epsilons,
        html_path=html_path,
        elapsed_s=time.perf_counter() - t0,
        stopping=stopping,
    )
    (out_dir / "calibration_summary.json").write_text(
        json.dumps(
            {
                "name": cal.name,
                "generations": generations,
                "n_simulations": n_sims,
                "epsilons": epsilons,
                "elapsed_s": result.elapsed_s,
                "steps": steps,
                "stopping": stopping,
                "posterior": summary.to_dict(orient="records"),
                "predictive_check": check.to_dict(orient="records"),
            },
            indent=1,
            default=float,
        ),
        encoding="utf-8",
    )
    return result


def _check_targets(
    model: Model,
    prepared: PreparedScenario,
    spec: CalibrationSpec,
    params: Sequence[ParamRange],
) -> None:
    """One pilot run on the client (prior midpoints) so unknown target names fail early."""
    pilot = {**spec.fixed, **{p.name: 0.5 * (p.low + p.high) for p in params}}
    outcomes = model.run(prepared, pilot, spec.calibration.seed, 0).outcomes
    unknown = [name for name in spec.targets if name not in outcomes]
    if unknown:
        valid = ", ".join(sorted(outcomes))
        raise SpecError(
            spec.label,
            [
                (f"targets.{name}", f"the model produces no such outcome; valid choices: {valid}")
                for name in unknown
            ],
        )


def _posterior_predictive(
    submit: Callable[..., Any],
    model: Model,
    prepared: PreparedScenario,
    spec: CalibrationSpec,
    posterior: pd.DataFrame,
    names: Sequence[str],
) -> pd.DataFrame:
    """Run the model at draws from the weighted posterior, with fresh seeds."""
    k = spec.calibration.posterior_predictive
    if k == 0:
        return pd.DataFrame(columns=[*names, "seed", *spec.targets])
    rng = np.random.default_rng(spec.calibration.seed)
    draws = rng.choice(len(posterior), size=k, replace=True, p=posterior["weight"].to_numpy())
    seeds = np.random.SeedSequence(spec.calibration.seed).generate_state(k)
    tasks = []
    for i, (row, seed) in enumerate(zip(draws, seeds, strict=True)):
        params = {**spec.fixed, **{n: float(posterior.iloc[row][n]) for n in names}}
        key = run_key(
            model=model.name,
            model_config=model.config(),
            scenario_hash=prepared.scenario_hash,
            params=params,
            seed=int(seed),
            replicate=i,
        )
        tasks.append(RunTask(key, "posterior_predictive", i, i, int(seed), prepared, params))
    futures = [submit(execute_runs, model, [t], ()) for t in tasks]
    rows = []
    for task, fut in zip(tasks, futures, strict=True):
        (rec,) = fut.result()
        if rec.status != "ok":
            continue
        row = {n: task.params[n] for n in names} | {"seed": task.seed}
        row |= {s: rec.outcomes.get(s, np.nan) for s in spec.targets}
        rows.append(row)
    return pd.DataFrame(rows, columns=[*names, "seed", *spec.targets])


def write_calibration_html(
    path: str | Path,
    spec: CalibrationSpec,
    params: Sequence[ParamRange],
    posterior: pd.DataFrame,
    summary: pd.DataFrame,
    predictive: pd.DataFrame,
    check: pd.DataFrame,
    epsilons: Sequence[float],
    stopping: Mapping[str, Any] | None = None,
) -> Path:
    """Plot posterior marginals, epsilon by generation and the predictive check.

    Args:
        path: Output file.
        spec: The calibration.
        params: Calibrated parameters (prior ranges).
        posterior: Weighted posterior sample.
        summary: Posterior summary.
        predictive: Posterior predictive runs.
        check: Predictive check per statistic.
        epsilons: Acceptance threshold per generation.
        stopping: Which stopping rule ended the run (:func:`stopping_rule`).

    Returns:
        The path written.
    """
    import plotly.graph_objects as go

    marginals = []
    w = posterior["weight"].to_numpy(float)
    for p in params:
        fig = go.Figure()
        fig.add_histogram(
            x=posterior[p.name],
            y=w,
            histfunc="sum",
            histnorm="probability density",
            nbinsx=30,
            name="posterior",
        )
        fig.add_hline(y=1.0 / (p.high - p.low), line_dash="dot", annotation_text="prior")
        row = summary.set_index("parameter").loc[p.name]
        fig.update_layout(
            title=f"{p.name}: mean {row['mean']:.4g}, 90% interval "
            f"[{row['q05']:.4g}, {row['q95']:.4g}]",
            xaxis={"range": [p.low, p.high], "title": p.name},
            yaxis_title="density",
            height=360,
            showlegend=False,
        )
        marginals.append(fig)
    eps = go.Figure()
    eps.add_scatter(x=list(range(len(epsilons))), y=list(epsilons), mode="lines+markers")
    eps.update_layout(
        title="ABC acceptance threshold by generation",
        xaxis_title="generation",
        yaxis_title="epsilon (scaled distance)",
        yaxis_type="log",
        height=340,
    )
    checks = []
    for name, target in spec.targets.items():
        fig = go.Figure()
        if name in predictive and len(predictive):
            fig.add_histogram(x=predictive[name], nbinsx=30, name="posterior predictive")
        fig.add_vline(x=target.value, line_color="black", annotation_text="target")
        fig.add_vrect(
            x0=target.value - target.scale,
            x1=target.value + target.scale,
            fillcolor="grey",
            opacity=0.15,
            line_width=0,
        )
        fig.update_layout(
            title=f"{name}: posterior predictive runs against the target (± scale shaded)",
            xaxis_title=name,
            yaxis_title="runs",
            height=340,
            showlegend=False,
        )
        checks.append(fig)
    cal = spec.calibration
    covered = int(check.get("target_in_90pct_interval", pd.Series(dtype=bool)).sum())
    intro = (
        f"Calibration {cal.name}: ABC-SMC (pyabc) of {', '.join(p.name for p in params)} "
        f"against {', '.join(spec.targets)} on scenario {cal.scenario} "
        f"(model {cal.model}), population {cal.population_size}, {len(epsilons)} generations. "
        "Priors are uniform over the ranges shown; the distance is the Euclidean norm of "
        "(simulated - target) / scale."
    )
    if stopping is not None and stopping.get("stopped_by") is not None:
        kind = "converged" if stopping["converged"] else "not converged: a cap"
        intro += f" Stopped by {stopping['stopped_by']} ({kind})."
    return write_html_page(
        path,
        f"Calibration — {cal.name}",
        [
            ("Posterior marginals", "Weighted histograms of the final ABC population.", marginals),
            ("Convergence", "", [eps]),
            (
                "Posterior predictive check",
                f"{len(predictive)} runs at posterior draws with fresh seeds; the target lies "
                f"in the 90% predictive interval for {covered} of {len(spec.targets)} statistics.",
                checks,
            ),
        ],
        intro,
    )
