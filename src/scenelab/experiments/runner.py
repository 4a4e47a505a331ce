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

from scenelab.experiments.cluster import dask_client
from scenelab.experiments.models import Model
from scenelab.experiments.plan import Plan, RunRecord, RunTask, plan_experiment
from scenelab.experiments.sensitivity import analyze_sensitivity
from scenelab.experiments.spec import (
    ExperimentSpec,
)
from scenelab.experiments.store import ResultStore, StoredRun

STATUS_FILE = "status.json"


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
