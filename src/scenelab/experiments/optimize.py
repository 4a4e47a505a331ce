"""Multi-objective strategy search: pymoo's NSGA-II over levers, evaluated on the experiment runner.

Each generation, NSGA-II (Deb et al. 2002, as implemented in pymoo) proposes a population of
decision vectors; each becomes a candidate scenario (:mod:`optimize_levers`), and the distinct
candidates run as the arms of one experiment (:func:`~scenelab.experiments.runner.run_experiment`
on the same Dask client, into the same DuckDB file), every candidate's replicate *i* with the same
seed (common random numbers). Objective means over the replicates go back to the algorithm;
every evaluated strategy is stored (:mod:`optimize_store`).

Resuming: the search is deterministic given its seed, so re-running the same command replays the
same generations; runs already stored are not redone (their run keys match), so the replay costs
only bookkeeping and the search continues where it stopped. Raising ``generations`` continues a
finished search the same way.
"""

from __future__ import annotations

import hashlib
import json
import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from scenelab.errors import ScenelabError
from scenelab.experiments.models import FunctionModel, Model
from scenelab.experiments.optimize_levers import (
    Candidate,
    base_raw,
    build_candidate,
    decode,
    variables,
)
from scenelab.experiments.optimize_model import CandidateModel
from scenelab.experiments.optimize_spec import OptimizeSpec
from scenelab.experiments.spec import SpecError


class OptimizeIncomplete(ScenelabError, RuntimeError):
    """Some runs of a generation failed; re-running the same command retries them."""


@dataclass
class Search:
    """A strategy search set up on the client, before any run.

    Attributes:
        spec: The optimize spec.
        model: The model the runs use.
        raw: The base scenario as data (``None`` for function models).
        folder: The base scenario's folder, if a file.
        optimization: Id of the spec (hash of its content).
    """

    spec: OptimizeSpec
    model: Model
    raw: dict[str, Any] | None
    folder: str | None
    optimization: str
    _cache: dict[str, Candidate] = field(default_factory=dict)

    def candidate(self, values: dict[str, Any]) -> Candidate:
        """The candidate for lever values (built once per distinct values).

        Args:
            values: Lever values from :func:`decode`.

        Returns:
            The candidate, registered with the model.
        """
        key = json.dumps(values, sort_keys=True)
        cand = self._cache.get(key)
        if cand is None:
            cand = build_candidate(self.spec, self.raw, values, self.folder)
            self._cache[key] = cand
        return cand

    def arm_scenario(self, cand: Candidate) -> str:
        """The arm scenario reference of a candidate."""
        if isinstance(self.model, CandidateModel):
            return self.model.register(cand.candidate, cand.scenario)
        return self.spec.optimize.model


def _function_model(name: str) -> Model:
    from scenelab.experiments import toys

    if name == "zdt1":
        return FunctionModel(toys.zdt1, name="zdt1", parameters=toys.ZDT1_PARAMETERS)
    raise ValueError(f"unknown model {name!r}")  # pragma: no cover - the schema allows no other


def setup_search(spec: OptimizeSpec) -> Search:
    """Check an optimize spec against its model and base scenario, before any run.

    Builds the candidates with every lever at its low end and at its high end (first and last
    choice), so a lever that names an unknown site, zone or service fails here, naming the
    lever, rather than in the middle of the search.

    Args:
        spec: The optimize spec.

    Returns:
        The search.

    Raises:
        SpecError: For an unknown base scenario, intervention id, parameter, or an edit the
            scenario format refuses.
    """
    o = spec.optimize
    file = spec.label
    # The id leaves out what only says how long to search or how to batch runs, so raising
    # `generations` continues the same search (the replayed generations are all stored).
    keyed = spec.model_dump(mode="json")
    for key in ("generations", "batch_size", "description"):
        keyed["optimize"].pop(key)
    blob = json.dumps(keyed, sort_keys=True)
    optimization = hashlib.sha256(blob.encode()).hexdigest()[:16]
    if o.model != "scenelab":
        model = _function_model(o.model)
        known = model.parameters(model.prepare(o.model))
        search = Search(spec, model, None, None, optimization)
    else:
        assert o.start is not None  # checked by the schema
        model = CandidateModel(start=o.start, until=o.until)
        try:
            base = model.prepare(o.scenario, spec.base_dir)
        except (OSError, ValueError, KeyError, ScenelabError) as exc:
            raise SpecError(file, [("optimize.scenario", str(exc))]) from None
        scn = base.payload
        if not scn.run.start < o.start <= (o.until or scn.run.end) <= scn.run.end:
            raise SpecError(
                file,
                [("optimize.start", f"must be after the scenario's start ({scn.run.start}) and "
                  f"not after its end or until ({o.until or scn.run.end})")],
            )  # fmt: skip
        ids = [iv.id for iv in scn.interventions if iv.id]
        bad = [(f"optimize.drop_interventions[{k}]", f"'{d}' is not an intervention id of "
                f"{o.scenario}; ids are: {', '.join(ids) or '(none)'}")
               for k, d in enumerate(o.drop_interventions) if d not in ids]  # fmt: skip
        if bad:
            raise SpecError(file, bad)
        known = model.parameters(base)
        folder = scn.folder
        search = Search(spec, model, base_raw(scn, o.drop_interventions), folder, optimization)
    problems = []
    for name, lv in spec.levers.items():
        if lv.kind == "parameter":
            pname = lv.parameter or name
            if pname not in known:
                problems.append((f"levers.{name}.parameter", f"unknown parameter {pname!r}; "
                                 f"valid choices: {', '.join(sorted(known))}"))  # fmt: skip
    if problems:
        raise SpecError(file, problems)
    vars_ = variables(spec)
    for end in ("low", "high"):
        x = [v.low if end == "low" else v.high - 1e-9 for v in vars_]
        try:
            search.candidate(decode(spec, x))
        except ScenelabError as exc:
            raise SpecError(
                file, [("levers", f"with every lever at its {end} end the scenario is invalid:\n"
                        f"{exc}")],
            ) from None  # fmt: skip
    return search


def _range(outcome: str) -> tuple[float, float]:
    """Where an outcome's mean can lie: the verdict's range for window quantities."""
    from scenelab.verdict import QUANTITIES

    name = outcome.removeprefix("window_")
    if outcome.startswith("window_") and name in QUANTITIES:
        return QUANTITIES[name][2], QUANTITIES[name][3]
    if outcome == "window_cost_total":
        return 0.0, math.inf
    return -math.inf, math.inf


def _interval(
    values: list[float], conf: float, bounds: tuple[float, float] = (-math.inf, math.inf)
) -> tuple[float, float, float, float]:
    """Mean, Student-t interval (kept inside ``bounds``, the quantity's range) and sd."""
    arr = np.asarray(values, dtype=float)
    mean = float(arr.mean())
    if len(arr) < 2:
        return mean, math.nan, math.nan, math.nan
    from scipy import stats

    sd = float(arr.std(ddof=1))
    half = float(stats.t.ppf(0.5 + conf / 2, len(arr) - 1)) * sd / math.sqrt(len(arr))
    low, high = max(mean - half, bounds[0]), min(mean + half, bounds[1])
    return mean, low, high, sd


@dataclass
class OptimizeResult:
    """What one ``run_optimize`` call did.

    Attributes:
        out_dir: The folder.
        optimization: Id of the spec.
        evaluated: Distinct strategies stored.
        generations: Generations run (or replayed from the store).
        runs_new: Runs simulated by this call.
        runs_reused: Runs found already stored.
        elapsed_s: Wall time.
        front: The numbered Pareto front (see ``optimize_report.front``).
        files: Report files written.
    """

    out_dir: Path
    optimization: str
    evaluated: int = 0
    generations: int = 0
    runs_new: int = 0
    runs_reused: int = 0
    elapsed_s: float = 0.0
    front: Any = None
    files: list[Path] = field(default_factory=list)


class _Evaluator:
    """Evaluate one generation's decision vectors through the experiment runner."""

    def __init__(
        self,
        search: Search,
        out_dir: Path,
        client: Any,
        progress: bool,
        say: Callable,  # noqa: ANN401
    ) -> None:
        self.search, self.out_dir, self.client = search, out_dir, client
        self.progress, self.say = progress, say
        self.generation = 0
        self.result = OptimizeResult(out_dir, search.optimization)

    def __call__(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:  # noqa: N803
        from scenelab.experiments.design import replicate_seeds
        from scenelab.experiments.optimize_store import write_strategies
        from scenelab.experiments.plan import run_key
        from scenelab.experiments.runner import run_experiment
        from scenelab.experiments.spec import parse_experiment
        from scenelab.experiments.store import ResultStore

        s = self.search
        o = s.spec.optimize
        self.generation += 1
        cands = [s.candidate(decode(s.spec, x)) for x in X]
        unique = {c.candidate: c for c in cands}
        arms = [
            {"name": c.candidate, "scenario": s.arm_scenario(c), "overrides": c.overrides}
            for c in unique.values()
        ]
        experiment: dict[str, Any] = {
            "name": o.name, "model": "scenelab" if o.model == "scenelab" else "toy",
            "seed": o.seed, "replicates": o.replicates, "batch_size": o.batch_size,
            "store_tables": [],
            "description": f"generation {self.generation} of strategy search {o.name}",
        }  # fmt: skip
        espec = parse_experiment({"experiment": experiment, "arms": arms}, s.spec.label)
        self.say(f"generation {self.generation}/{o.generations}: {len(unique)} strategies")
        res = run_experiment(
            espec, self.out_dir, model=s.model, client=self.client, progress=self.progress,
            echo=self.say, analyze=False,
        )  # fmt: skip
        self.result.runs_new += res.completed
        self.result.runs_reused += res.skipped
        if res.failed:
            first = res.failures[0][1] if res.failures else "?"
            raise OptimizeIncomplete(
                f"{res.failed} run(s) of generation {self.generation} failed (first: {first}); "
                "re-run the same command to retry them"
            )
        seeds = replicate_seeds(o.seed, o.replicates)
        stats: dict[str, tuple] = {}
        keys = {}
        for cid, cand in unique.items():
            shash = s.model.prepare(s.arm_scenario(cand), s.spec.base_dir).scenario_hash
            keys[cid] = [
                run_key(model=s.model.name, model_config=s.model.config(),
                        scenario_hash=shash, params=cand.overrides, seed=seed, replicate=r)
                for r, seed in enumerate(seeds)
            ]  # fmt: skip
        with ResultStore.in_dir(self.out_dir) as store:
            values_of = _outcomes(
                store, [i for ids in keys.values() for i in ids],
                sorted({ob.outcome_name for ob in s.spec.objectives}),
            )  # fmt: skip
            items = []
            for cid, cand in unique.items():
                ids = keys[cid]
                rows = []
                for ob in s.spec.objectives:
                    got = {i: values_of[(i, ob.outcome_name)] for i in ids
                           if (i, ob.outcome_name) in values_of}  # fmt: skip
                    if len(got) < len(ids):
                        raise SpecError(
                            s.spec.label,
                            [(f"objectives.{ob.name}", f"reads outcome {ob.outcome_name!r}, "
                              "which the model does not produce")],
                        )  # fmt: skip
                    values = [got[i] for i in ids]
                    mean, low, high, sd = _interval(values, o.conf_level, _range(ob.outcome_name))
                    rows.append(
                        {"objective": ob.name, "outcome": ob.outcome_name, "sense": ob.sense,
                         "mean": mean, "low": low, "high": high, "sd": sd, "n": len(values),
                         "values": values, "run_ids": ids}
                    )  # fmt: skip
                means = {r["objective"]: r["mean"] for r in rows}
                g = _constraint_values(s.spec, means)
                feasible = all(v <= 0 for v in g)
                items.append((cand, self.generation, o.replicates, feasible, rows))
                stats[cid] = (means, g)
            write_strategies(store, s.optimization, items)
            self.result.evaluated = store.con.execute(
                "SELECT count(*) FROM strategies WHERE optimization = ?", [s.optimization]
            ).fetchall()[0][0]
        self.result.generations = self.generation
        F = np.array(  # noqa: N806 - pymoo's names
            [[(1 if ob.sense == "min" else -1) * stats[c.candidate][0][ob.name]
              for ob in s.spec.objectives] for c in cands]
        )  # fmt: skip
        G = np.array([stats[c.candidate][1] for c in cands]) if s.spec.constraints else None  # noqa: N806
        return F, G


def _outcomes(store: Any, run_ids: list[str], names: list[str]) -> dict[tuple[str, str], float]:  # noqa: ANN401
    """Outcome values of many runs in one query: ``{(run_id, name): value}``."""
    import pandas as pd

    store.con.register("_opt_ids", pd.DataFrame({"run_id": run_ids}))
    try:
        rows = store.con.execute(
            "SELECT o.run_id, o.name, o.value FROM outcomes o JOIN _opt_ids w USING (run_id) "
            f"WHERE o.name IN ({', '.join('?' * len(names))})",
            names,
        ).fetchall()
    finally:
        store.con.unregister("_opt_ids")
    return {(r, n): float(v) for r, n, v in rows}


def _constraint_values(spec: OptimizeSpec, means: dict[str, float]) -> list[float]:
    """Pymoo's inequality constraints ``g <= 0`` from objective means."""
    out = []
    for c in spec.constraints:
        v = means[c.objective]
        if c.max is not None and c.min is not None:
            out.append(max(v - c.max, c.min - v))
        elif c.max is not None:
            out.append(v - c.max)
        else:
            out.append(c.min - v)  # type: ignore[operator]
    return out


def run_optimize(
    spec: OptimizeSpec,
    out_dir: str | Path,
    *,
    client: Any = None,  # noqa: ANN401 - a distributed.Client
    scheduler: str | None = None,
    n_workers: int | None = None,
    progress: bool = True,
    echo: Callable[[str], None] | None = None,
) -> OptimizeResult:
    """Run (or resume) a strategy search into ``out_dir`` and write its report.

    Args:
        spec: A validated optimize spec.
        out_dir: The folder (``experiment.duckdb``, ``front.csv``, ``front.html``).
        client: An existing Dask client (not closed here).
        scheduler: Address of an existing Dask scheduler.
        n_workers: Local worker processes (default: one per core).
        progress: Progress bars on stderr.
        echo: Where to print messages (default: stderr).

    Returns:
        What was done, and the front.

    Raises:
        SpecError: For an invalid spec (before any run).
        OptimizeIncomplete: If runs failed (stored; the next call retries them).
        KeyboardInterrupt: After in-flight runs are cancelled; finished runs stay stored.
    """
    from pymoo.algorithms.moo.nsga2 import NSGA2
    from pymoo.core.problem import Problem
    from pymoo.optimize import minimize

    from scenelab.experiments.cluster import dask_client
    from scenelab.experiments.optimize_report import write_report
    from scenelab.experiments.optimize_store import record_optimization
    from scenelab.experiments.store import ResultStore

    t0 = time.perf_counter()
    out_dir = Path(out_dir)
    say = echo or (lambda msg: print(msg, file=sys.stderr))
    search = setup_search(spec)
    vars_ = variables(spec)
    with ResultStore.in_dir(out_dir) as store:
        source = spec.source
        record_optimization(
            store, search.optimization, spec.optimize.name, spec.model_dump(mode="json"),
            source.read_text(encoding="utf-8") if source else None,
            str(source) if source else None, str(spec.base_dir),
        )  # fmt: skip
    n_constr = len(spec.constraints)
    with dask_client(scheduler=scheduler, n_workers=n_workers, client=client, echo=say) as dc:
        evaluator = _Evaluator(search, out_dir, dc, progress, say)

        class _StrategyProblem(Problem):
            def __init__(self) -> None:
                super().__init__(
                    n_var=len(vars_), n_obj=len(spec.objectives), n_ieq_constr=n_constr,
                    xl=np.array([v.low for v in vars_]), xu=np.array([v.high for v in vars_]),
                )  # fmt: skip

            def _evaluate(self, x: np.ndarray, out: dict, *args: Any, **kwargs: Any) -> None:  # noqa: ANN401
                f, g = evaluator(x)
                out["F"] = f
                if g is not None:
                    out["G"] = g

        algorithm = NSGA2(pop_size=spec.optimize.population_size)
        minimize(
            _StrategyProblem(), algorithm, ("n_gen", spec.optimize.generations),
            seed=spec.optimize.seed, verbose=False,
        )  # fmt: skip
    result = evaluator.result
    result.front, result.files = write_report(out_dir, search.optimization)
    result.elapsed_s = time.perf_counter() - t0
    return result
