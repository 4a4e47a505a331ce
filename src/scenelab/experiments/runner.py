"""Run an experiment: arms × design points × replicates, on Dask, into DuckDB.

The client process plans every run (a deterministic run key each), skips the
ones already stored, submits the rest to Dask a bounded window at a time, and
commits each finished run in its own transaction as it completes
(``as_completed``). Workers only compute and return. So:

* Ctrl-C or a killed client loses at most the runs still in flight;
  re-running the same command picks up where it stopped.
* A killed worker loses nothing: Dask re-runs its tasks elsewhere, and the
  store's primary key means no run is stored twice.
* Same scenario + parameters + seed give the same outputs whichever worker
  (or how many) ran them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import socket
import sys
import time
import traceback
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import CancelledError
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scenelab.errors import ArgumentError, ScenelabError
from scenelab.experiments.cluster import dask_client
from scenelab.experiments.design import ParameterDesign, make_design, replicate_seeds
from scenelab.experiments.models import Model, PreparedScenario, builtin_model
from scenelab.experiments.spec import (
    ExperimentSpec,
    SpecError,
    check_overrides,
    check_values,
    resolve_parameters,
)
from scenelab.experiments.store import ResultStore, StoredRun

STATUS_FILE = "status.json"


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
    from scenelab.experiments.spec import MAX_RUNS

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


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def execute_runs(
    model: Model, tasks: Sequence[RunTask], keep_tables: tuple[str, ...] | None = None
) -> list[RunRecord]:
    """Run tasks one after another (this is what each Dask task does).

    A model error fails that run only; it comes back as a ``failed`` record
    with the traceback, and the experiment goes on.

    Args:
        model: The model.
        tasks: Runs to do.
        keep_tables: Tables to return (``None``: all).

    Returns:
        One record per task.
    """
    worker = f"{socket.gethostname()}:{os.getpid()}"
    records = []
    for task in tasks:
        started = _utcnow()
        try:
            out = model.run(task.scenario, task.params, task.seed, task.replicate)
        except Exception:  # noqa: BLE001 - any model error fails this run only
            records.append(
                RunRecord(
                    run_id=task.run_id,
                    status="failed",
                    error=traceback.format_exc(limit=20),
                    started_at=started,
                    finished_at=_utcnow(),
                    worker=worker,
                )
            )
            continue
        tables = {
            name: table
            for name, table in out.tables.items()
            if keep_tables is None or name in keep_tables
        }
        records.append(
            RunRecord(
                run_id=task.run_id,
                status="ok",
                outcomes=dict(out.outcomes),
                tables=tables,
                summary=out.summary,
                started_at=started,
                finished_at=_utcnow(),
                worker=worker,
            )
        )
    return records


@dataclass
class ExperimentResult:
    """What happened in one ``run_experiment`` call.

    Attributes:
        out_dir: The experiment directory.
        db_path: The results database.
        total: Unique runs in the experiment.
        skipped: Runs found already stored (not redone).
        completed: Runs finished and stored by this call.
        failed: Runs that failed (stored with status ``failed``; retried next time).
        elapsed_s: Wall time of this call.
        failures: ``(run_id, last line of the error)`` for failed runs.
        sensitivity: The ``SensitivityResult`` when the spec asks for one and
            every run is stored.
    """

    out_dir: Path
    db_path: Path
    total: int
    skipped: int
    completed: int
    failed: int
    elapsed_s: float
    failures: list[tuple[str, str]] = field(default_factory=list)
    sensitivity: Any = None

    @property
    def complete(self) -> bool:
        """Whether every run of the experiment is now stored with status ok."""
        return self.skipped + self.completed == self.total


def _write_status(out_dir: Path, payload: Mapping[str, Any]) -> None:
    # DuckDB is locked by the writer, so progress for other shells goes to a file.
    tmp = out_dir / f".{STATUS_FILE}.tmp"
    tmp.write_text(json.dumps(payload, indent=1), encoding="utf-8")
    os.replace(tmp, out_dir / STATUS_FILE)


def read_status(out_dir: str | Path) -> dict[str, Any]:
    """Read an experiment folder's ``status.json``, correcting a state its writer can't.

    A process killed with SIGKILL (or a lost machine) cannot mark its status: a ``running``
    status whose process no longer exists on this host is reported as ``interrupted``.

    Args:
        out_dir: The experiment folder.

    Returns:
        The status (``state``: running, interrupted, stopped, done or incomplete).

    Raises:
        StoreError: If the folder holds no readable status.
    """
    from scenelab.experiments.store import StoreError

    path = Path(out_dir) / STATUS_FILE
    try:
        status = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise StoreError(f"{path}: no readable experiment status ({exc})") from None
    if status.get("state") == "running" and status.get("host") == socket.gethostname():
        pid = status.get("pid")
        if isinstance(pid, int) and not _alive(pid):
            status["state"] = "interrupted"
            status["note"] = (
                f"process {pid} is no longer running; re-run the same command to continue"
            )
    return status


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    return True


def _batches(tasks: Sequence[RunTask], size: int) -> Iterator[list[RunTask]]:
    for i in range(0, len(tasks), size):
        yield list(tasks[i : i + size])


def _stored(plan: Plan, task: RunTask, rec: RunRecord) -> StoredRun:
    return StoredRun(
        run_id=task.run_id,
        experiment=plan.spec.experiment.name,
        arm=task.arm,
        point=task.point,
        replicate=task.replicate,
        seed=task.seed,
        scenario=task.scenario.name,
        scenario_ref=task.scenario.ref,
        scenario_hash=task.scenario.scenario_hash,
        model=plan.model.name,
        model_config=plan.model.config(),
        params=task.params,
        status=rec.status,
        error=rec.error,
        started_at=rec.started_at,
        finished_at=rec.finished_at,
        worker=rec.worker,
        outcomes=rec.outcomes,
        tables=rec.tables,
        summary=rec.summary,
    )


OnRun = Callable[[RunRecord, int, int], None]


def run_experiment(
    spec: ExperimentSpec,
    out_dir: str | Path,
    *,
    model: Model | None = None,
    client: Any = None,  # noqa: ANN401 - a distributed.Client; typed loosely to keep imports light
    scheduler: str | None = None,
    n_workers: int | None = None,
    progress: bool = True,
    echo: Callable[[str], None] | None = None,
    on_run: OnRun | None = None,
    max_in_flight: int | None = None,
    analyze: bool = True,
) -> ExperimentResult:
    """Run (or resume) an experiment into ``out_dir/experiment.duckdb``.

    Args:
        spec: A validated experiment.
        out_dir: Experiment directory (created if needed).
        model: Model to run (default: the one the file names).
        client: An existing Dask client (not closed here).
        scheduler: Address of an existing Dask scheduler.
        n_workers: Local worker processes (default: one per core).
        progress: Show a tqdm progress bar (runs done/total, ETA) on stderr.
        echo: Where to print messages (default: stderr).
        on_run: Called after each run is committed, with the record, the
            number of runs stored so far and the total.
        max_in_flight: Dask tasks submitted at once (default: 4 per worker thread).
        analyze: Run the ``[sensitivity]`` analysis once every run is stored.

    Returns:
        Counts of what was done (and the sensitivity result, if any).

    Raises:
        KeyboardInterrupt: Re-raised after in-flight work is cancelled; stored
            runs stay stored and the next call resumes.
    """
    t0 = time.perf_counter()
    out_dir = Path(out_dir)
    say = echo or (lambda msg: print(msg, file=sys.stderr))
    plan = plan_experiment(spec, model)
    total = len(plan.tasks)
    with ResultStore.in_dir(out_dir) as store:
        store.record_experiment(
            plan.experiment_id, spec.experiment.name, spec.model_dump(mode="json"), spec.source
        )
        statuses = store.run_statuses()
        todo = [t for t in plan.tasks if statuses.get(t.run_id) != "ok"]
        skipped = total - len(todo)
        if skipped == total:
            say(f"all {total} runs already stored")
        elif skipped:
            say(f"{skipped} of {total} runs already stored; running the other {len(todo)}")
        session = _Session(plan, store, out_dir, total, skipped, on_run, say)
        if todo:
            with dask_client(
                scheduler=scheduler, n_workers=n_workers, client=client, echo=say
            ) as dc:
                session.execute(dc, todo, progress=progress, max_in_flight=max_in_flight)
        session.finish()
    result = ExperimentResult(
        out_dir=out_dir,
        db_path=store.path,
        total=total,
        skipped=skipped,
        completed=session.completed,
        failed=session.failed,
        elapsed_s=time.perf_counter() - t0,
        failures=session.failures,
    )
    if analyze and spec.sensitivity is not None and result.complete:
        from scenelab.experiments.sensitivity import analyze_sensitivity

        result.sensitivity = analyze_sensitivity(plan, out_dir)
    return result


class _Session:
    """Client-side bookkeeping of one run_experiment call: commit, count, report."""

    def __init__(
        self,
        plan: Plan,
        store: ResultStore,
        out_dir: Path,
        total: int,
        skipped: int,
        on_run: OnRun | None,
        say: Callable[[str], None],
    ) -> None:
        self.plan, self.store, self.out_dir = plan, store, out_dir
        self.total, self.skipped = total, skipped
        self.on_run, self.say = on_run, say
        self.completed = self.failed = 0
        self.failures: list[tuple[str, str]] = []
        self._last_status = 0.0
        self._status("running", force=True)

    @property
    def stored(self) -> int:
        return self.skipped + self.completed

    def _status(self, state: str, *, force: bool = False) -> None:
        # Throttled: a tiny file write per run would cost more than the run for cheap models.
        if force or time.monotonic() - self._last_status > 0.25:
            _write_status(
                self.out_dir,
                {
                    "experiment": self.plan.spec.experiment.name,
                    "pid": os.getpid(),
                    "host": socket.gethostname(),
                    "state": state,
                    "total": self.total,
                    "stored": self.stored,
                    "failed": self.failed,
                    "updated_at": _utcnow().isoformat(timespec="seconds"),
                },
            )
            self._last_status = time.monotonic()

    def commit(self, task: RunTask, rec: RunRecord, bar: Any) -> None:  # noqa: ANN401
        self.store.write_run(_stored(self.plan, task, rec))
        if rec.status == "ok":
            self.completed += 1
            bar.update(1)
        else:
            self.failed += 1
            lines = (rec.error or "").strip().splitlines() or ["?"]
            self.failures.append((rec.run_id, lines[-1]))
        self._status("running")
        if self.on_run is not None:
            self.on_run(rec, self.stored, self.total)

    def execute(
        self,
        client: Any,  # noqa: ANN401
        todo: list[RunTask],
        *,
        progress: bool,
        max_in_flight: int | None,
    ) -> None:
        from distributed import as_completed
        from tqdm import tqdm

        spec = self.plan.spec
        batches = _batches(todo, spec.experiment.batch_size)
        window = max_in_flight or max(4, 4 * sum(client.nthreads().values()))
        pending = as_completed()
        in_flight: dict[Any, list[RunTask]] = {}

        def submit_next() -> None:
            batch = next(batches, None)
            if batch is None:
                return
            fut = client.submit(
                execute_runs,
                self.plan.model,
                batch,
                self.plan.keep_tables,
                key=f"scenelab-run-{batch[0].run_id}-{len(batch)}",
                pure=False,
            )
            in_flight[fut] = batch
            pending.add(fut)

        bar = tqdm(
            total=self.total,
            initial=self.skipped,
            unit="run",
            desc=spec.experiment.name,
            disable=not progress,
            file=sys.stderr,
            dynamic_ncols=True,
        )
        try:
            for _ in range(window):
                submit_next()
            for fut in pending:
                batch = in_flight.pop(fut)
                try:
                    records = fut.result()
                except CancelledError:
                    records = []
                except Exception as exc:  # noqa: BLE001 - e.g. KilledWorker: fail these runs
                    now = _utcnow()
                    err = f"{type(exc).__name__}: {exc}"
                    records = [
                        RunRecord(t.run_id, "failed", err, started_at=now, finished_at=now)
                        for t in batch
                    ]
                fut.release()
                submit_next()
                tasks = {t.run_id: t for t in batch}
                for rec in records:
                    self.commit(tasks[rec.run_id], rec, bar)
        except KeyboardInterrupt:
            for fut in list(in_flight):
                fut.cancel()
            bar.close()
            self._status("interrupted", force=True)
            self.say(
                f"interrupted: {self.stored} of {self.total} runs stored in {self.store.path}; "
                "run the same command again to resume"
            )
            raise
        except Exception:
            self._status("stopped", force=True)
            raise
        finally:
            bar.close()

    def finish(self) -> None:
        self._status("done" if self.stored == self.total else "incomplete", force=True)
