"""The plan of an experiment: every run (arm x design point x replicate) keyed, before any runs.

Planning happens on the client and needs no Dask or store: :func:`plan_experiment` resolves the
arms' scenarios once, builds the parameter design and the replicate seeds, and gives each cell a
deterministic run key (:func:`run_key`), so re-running an experiment skips what is stored. The
runner executes a :class:`Plan`; the sensitivity analysis reads one.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from scenelab.errors import ArgumentError, ScenelabError
from scenelab.experiments.design import ParameterDesign, make_design, replicate_seeds
from scenelab.experiments.models import Model, PreparedScenario, builtin_model
from scenelab.experiments.spec import (
    MAX_RUNS,
    ExperimentSpec,
    SpecError,
    check_overrides,
    check_values,
    resolve_parameters,
)


def run_key(
    *,
    model: str,
    model_config: Mapping[str, Any],
    scenario_hash: str,
    params: Mapping[str, float],
    seed: int,
    replicate: int,
) -> str:
    """The deterministic identity of a run.

    A hash of everything that determines the run's outputs: the model and its
    options (e.g. the ``until`` date), the scenario's content hash, the
    parameter values, the seed and the replicate index.

    Args:
        model: Model name.
        model_config: Model options that change results.
        scenario_hash: Scenario content hash.
        params: Parameter overrides.
        seed: Run seed.
        replicate: Replicate index.

    Returns:
        32 hex characters.
    """
    canonical = json.dumps(
        {
            "model": model,
            "model_config": dict(model_config),
            "scenario_hash": scenario_hash,
            "params": {k: float(v) for k, v in params.items()},
            "seed": int(seed),
            "replicate": int(replicate),
        },
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:32]


@dataclass(frozen=True)
class RunTask:
    """One run to do.

    Attributes:
        run_id: Deterministic run key.
        arm: Arm name.
        point: Design point index.
        replicate: Replicate index.
        seed: Run seed (shared by every arm and point with this replicate).
        scenario: Prepared scenario of the arm.
        params: Arm overrides plus the design point.
    """

    run_id: str
    arm: str
    point: int
    replicate: int
    seed: int
    scenario: PreparedScenario
    params: dict[str, float]


@dataclass
class RunRecord:
    """What a worker returns for one run (no scenario payload: it stays put).

    Attributes:
        run_id: Run key.
        status: ``"ok"`` or ``"failed"``.
        error: Traceback text for failures.
        outcomes: Named scalar outcomes.
        tables: Tidy tables kept for storage.
        summary: JSON-able summary.
        started_at: UTC start.
        finished_at: UTC end.
        worker: ``host:pid``.
    """

    run_id: str
    status: str
    error: str | None = None
    outcomes: dict[str, float] = field(default_factory=dict)
    tables: dict[str, Any] = field(default_factory=dict)
    summary: Any = None
    started_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None
    worker: str | None = None


@dataclass
class Plan:
    """Every run of an experiment, planned on the client.

    Attributes:
        spec: The experiment spec.
        model: The model.
        design: Parameter design (the same for every arm).
        seeds: Seed per replicate.
        arms: Prepared scenario per arm name.
        tasks: Unique runs, in submission order.
        keys: ``(arm, point, replicate) -> run_id`` for every cell of the design
            (several cells may share a run when a design repeats a point).
        keep_tables: Tables to store (``None``: all the model returns).
    """

    spec: ExperimentSpec
    model: Model
    design: ParameterDesign
    seeds: list[int]
    arms: dict[str, PreparedScenario]
    tasks: list[RunTask]
    keys: dict[tuple[str, int, int], str]
    keep_tables: tuple[str, ...] | None

    @property
    def experiment_id(self) -> str:
        """Hash of the spec and model options."""
        blob = json.dumps(
            {"spec": self.spec.model_dump(mode="json"), "model": self.model.config()},
            sort_keys=True,
        )
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


def model_for(spec: ExperimentSpec) -> Model:
    """The built-in model an experiment file names.

    Args:
        spec: The experiment.

    Returns:
        The model, configured with the experiment's ``until`` date.
    """
    return builtin_model(spec.experiment.model, until=spec.experiment.until)


def _check_size(spec: ExperimentSpec, params: list[Any]) -> None:
    """Refuse a design whose runs would not fit in memory (checked before it is built)."""
    d, k = spec.design, len(params)
    if d.kind == "grid":
        points = 1
        for p in params:
            points *= len(p.values) if p.values is not None else 1
    elif d.kind == "sobol":
        points = (d.n or 0) * (2 * k + 2 if d.second_order else k + 2)
    elif d.kind == "morris":
        points = (d.n or 0) * (k + 1)
    elif d.kind == "lhs":
        points = d.n or 0
    else:
        points = 1
    runs = points * len(spec.arms) * spec.experiment.replicates
    if runs > MAX_RUNS:
        raise SpecError(
            spec.label,
            [("design", f"plans {runs:,} runs; at most {MAX_RUNS:,} fit one experiment")],
        )


def plan_experiment(spec: ExperimentSpec, model: Model | None = None) -> Plan:
    """Resolve scenarios and parameters and lay out every run.

    Args:
        spec: A validated experiment.
        model: Model to run (default: the one the file names).

    Returns:
        The plan.

    Raises:
        SpecError: For parameter names the model does not know, ranges it
            cannot supply, or tables it does not produce.
    """
    model = model or model_for(spec)
    file = spec.label
    arms: dict[str, PreparedScenario] = {}
    known = {}
    for i, arm in enumerate(spec.arms):
        try:
            prepared = model.prepare(arm.scenario, spec.base_dir)
        except ArgumentError as exc:  # e.g. `until` outside this scenario's window
            raise SpecError(file, [("experiment.until", str(exc))]) from None
        except (OSError, ValueError, KeyError, ScenelabError) as exc:
            raise SpecError(file, [(f"arms[{i}].scenario", str(exc))]) from None
        arms[arm.name] = prepared
        known = model.parameters(prepared)
        check_overrides(arm.overrides, known, file, f"arms[{i}].overrides")
        check_values(model, arm.overrides, file, f"arms[{i}].overrides")
    # Ranges come from the first arm's scenario; parameters are model-wide.
    first = arms[spec.arms[0].name]
    params = resolve_parameters(
        spec.design.parameters, model.parameters(first), file, "design.parameters"
    )
    for p in params:
        ends = {"low": p.low, "high": p.high} if p.values is None else dict(enumerate(p.values))
        for key, value in ends.items():
            where = f"design.parameters.{p.name}" + (
                f".{key}" if isinstance(key, str) else f".values[{key}]"
            )
            check_values(model, {p.name: value}, file, where, keyed=False)
    keep = spec.experiment.store_tables
    if keep is not None:
        bad = [t for t in keep if t not in model.table_names]
        if bad:
            raise SpecError(
                file,
                [
                    (
                        "experiment.store_tables",
                        f"unknown table(s) {', '.join(bad)}; valid choices: "
                        f"{', '.join(model.table_names) or '(this model returns no tables)'}",
                    )
                ],
            )
    _check_size(spec, params)
    design = make_design(
        spec.design.kind,
        params,
        n=spec.design.n,
        levels=spec.design.levels,
        second_order=spec.design.second_order,
        seed=spec.design.seed if spec.design.seed is not None else spec.experiment.seed,
    )
    seeds = replicate_seeds(spec.experiment.seed, spec.experiment.replicates)
    tasks: list[RunTask] = []
    keys: dict[tuple[str, int, int], str] = {}
    seen: set[str] = set()
    rows = design.rows()
    # Replicate-major order: a partly finished experiment has whole replicates
    # of every arm, which is what comparisons need first.
    for rep, seed in enumerate(seeds):
        for point, row in enumerate(rows):
            for arm in spec.arms:
                prepared = arms[arm.name]
                run_params = {**arm.overrides, **row}
                key = run_key(
                    model=model.name,
                    model_config=model.config(),
                    scenario_hash=prepared.scenario_hash,
                    params=run_params,
                    seed=seed,
                    replicate=rep,
                )
                keys[(arm.name, point, rep)] = key
                if key in seen:
                    continue
                seen.add(key)
                tasks.append(RunTask(key, arm.name, point, rep, seed, prepared, run_params))
    return Plan(
        spec=spec,
        model=model,
        design=design,
        seeds=seeds,
        arms=arms,
        tasks=tasks,
        keys=keys,
        keep_tables=tuple(keep) if keep is not None else None,
    )
