"""Run the unedited and the edited scenario in the background, with progress and cancel.

Replicate ``r`` of both arms uses the same seed and replicate number (common random numbers, as
``scenelab compare``), so their differences come from the edit, not from noise. Runs go in
batches of ``workers`` (replicate 0 of both arms, then replicate 1 ...), each batch in parallel
threads (:func:`scenelab.parallel.run_many`; the compiled loop releases the GIL, so the page keeps
answering). Cancel takes effect when the batch in progress ends, so a cancelled job still holds
paired replicates.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field

from scenelab.api import Results
from scenelab.parallel import RunTask, run_many
from scenelab.scenario import schema as sc

RunOne = Callable[[sc.Scenario, int, int, dt.date | None], Results]


@dataclass
class Job:
    """One background comparison: ``reference`` and ``arm``, ``replicates`` paired runs each.

    Attributes:
        state: ``"running"``, ``"done"``, ``"cancelled"`` or ``"failed"``.
        done: Runs finished (of ``2 * replicates``).
        results: Finished runs by scenario name, in replicate order.
        summary: What the page shows (built by ``summarise`` once the runs end).
        view: The page's results section (built by ``render`` after ``summarise``, in this
            thread, so the page's polls only fetch it); built again, with ``version`` raised,
            once ``complete`` has replaced the summary (the slower verdict and costs).
        runs_finished_at: ``time.time()`` when the last run ended (None before).
        prepared_at: ``time.time()`` when the first summary and view were ready.
        completed_at: ``time.time()`` when the completed summary and view were ready.
        error: One line if the job failed.
    """

    reference: sc.Scenario
    arm: sc.Scenario
    replicates: int
    seed: int
    until: dt.date | None = None
    workers: int = 1
    run_one: RunOne | None = None
    summarise: Callable[[Job], object] | None = None
    render: Callable[[Job], object] | None = None
    complete: Callable[[Job], object] | None = None
    state: str = "running"
    done: int = 0
    results: dict[str, list[Results]] = field(default_factory=dict)
    summary: object | None = None
    view: object | None = None
    version: int = 0
    completed_at: float | None = None
    runs_finished_at: float | None = None
    prepared_at: float | None = None
    error: str | None = None
    started_at: float = field(default_factory=time.time)
    _cancel: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    @property
    def total(self) -> int:
        """Runs in the job."""
        return 2 * self.replicates

    def start(self) -> Job:
        """Start the job's thread and return the job."""
        self.results = {self.reference.name: [], self.arm.name: []}
        self._thread = threading.Thread(target=self._work, name="scenelab-dashboard", daemon=True)
        self._thread.start()
        return self

    def cancel(self) -> None:
        """Ask the job to stop after the run in progress."""
        self._cancel.set()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the job's thread to end; return whether it ended."""
        if self._thread is not None:
            self._thread.join(timeout)
            return not self._thread.is_alive()
        return True

    def _work(self) -> None:
        try:
            tasks = [
                RunTask(scn, self.seed, r, self.until)
                for r in range(self.replicates)
                for scn in (self.reference, self.arm)
            ]
            size = max(1, self.workers)
            for first in range(0, len(tasks), size):
                if self._cancel.is_set():
                    self.state = "cancelled"
                    return
                batch = tasks[first : first + size]
                for task, res in zip(batch, self._run(batch), strict=True):
                    self.results[task.scenario.name].append(res)
            self.runs_finished_at = time.time()
            if self.summarise is not None:
                self.summary = self.summarise(self)
            if self.render is not None:
                self.view = self.render(self)
            self.prepared_at = time.time()
            if self.complete is not None:
                self.summary = self.complete(self)
                if self.render is not None:
                    self.view = self.render(self)
                self.version += 1
            self.completed_at = time.time()
            self.state = "done"
        except Exception as exc:  # noqa: BLE001 - a failed run is shown, never crashes the server
            self.error = f"{type(exc).__name__}: {exc}".splitlines()[0]
            self.state = "failed"
            traceback.print_exc()

    def _run(self, batch: list[RunTask]) -> list[Results]:
        """Run one batch, counting finished runs in :attr:`done` as they end."""
        if self.run_one is not None:  # one at a time (tests inject a stand-in here)
            out = []
            for t in batch:
                out.append(self.run_one(t.scenario, t.seed, t.replicate, t.until))
                self.done += 1
            return out
        before = self.done

        def finished(count: int, _total: int) -> None:
            self.done = before + count

        return run_many(batch, workers=len(batch), on_done=finished)

    def progress_text(self) -> str:
        """One line for the page: state and runs done."""
        elapsed = time.time() - self.started_at
        if self.state == "running" and self.view is not None:
            return f"Runs done ({elapsed:.0f} s); computing the verdict and costs"
        if self.state == "running" and self.done == self.total:
            return f"Runs done ({elapsed:.0f} s); preparing the results"
        if self.state == "running":
            return f"Running: {self.done} of {self.total} runs done ({elapsed:.0f} s)"
        if self.state == "done":
            return f"Done: {self.total} runs ({self.replicates} paired replicates)"
        if self.state == "cancelled":
            return f"Cancelled after {self.done} of {self.total} runs"
        return f"Failed: {self.error}"


class Runner:
    """Holds the server's one current job; starting a new job cancels the previous one."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.job: Job | None = None

    def submit(self, job: Job) -> Job:
        """Cancel the current job (if any) and start ``job``."""
        with self._lock:
            if self.job is not None:
                self.job.cancel()
            self.job = job.start()
            return job

    def cancel(self) -> None:
        """Cancel the current job, if any."""
        with self._lock:
            if self.job is not None:
                self.job.cancel()
