"""Run the unedited and the edited scenario in the background, with progress and cancel.

Replicate ``r`` of both arms uses the same seed and replicate number (common random numbers, as
``scenelab compare``), so their differences come from the edit, not from noise. Arms alternate
(replicate 0 of each, then replicate 1 ...), so a cancelled job still holds paired replicates.
A job runs in one thread of the server process; cancel takes effect when the replicate being
simulated ends (seconds for Bergen), and the page keeps answering meanwhile.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field

from scenelab.api import Results, run
from scenelab.scenario import schema as sc

RunOne = Callable[[sc.Scenario, int, int, dt.date | None], Results]


def _run_one(scn: sc.Scenario, seed: int, replicate: int, until: dt.date | None) -> Results:
    return run(scn, seed=seed, replicate=replicate, until=until)


@dataclass
class Job:
    """One background comparison: ``reference`` and ``arm``, ``replicates`` paired runs each.

    Attributes:
        state: ``"running"``, ``"done"``, ``"cancelled"`` or ``"failed"``.
        done: Runs finished (of ``2 * replicates``).
        results: Finished runs by scenario name, in replicate order.
        summary: What the page shows (built by ``summarise`` once the runs end).
        view: The page's results section (built by ``render`` after ``summarise``, in this
            thread, so the page's polls only fetch it).
        runs_finished_at: ``time.time()`` when the last run ended (None before).
        prepared_at: ``time.time()`` when the summary and the view were ready.
        error: One line if the job failed.
    """

    reference: sc.Scenario
    arm: sc.Scenario
    replicates: int
    seed: int
    until: dt.date | None = None
    run_one: RunOne = _run_one
    summarise: Callable[[Job], object] | None = None
    render: Callable[[Job], object] | None = None
    state: str = "running"
    done: int = 0
    results: dict[str, list[Results]] = field(default_factory=dict)
    summary: object | None = None
    view: object | None = None
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
            for r in range(self.replicates):
                for scn in (self.reference, self.arm):
                    if self._cancel.is_set():
                        self.state = "cancelled"
                        return
                    self.results[scn.name].append(self.run_one(scn, self.seed, r, self.until))
                    self.done += 1
            self.runs_finished_at = time.time()
            if self.summarise is not None:
                self.summary = self.summarise(self)
            if self.render is not None:
                self.view = self.render(self)
            self.prepared_at = time.time()
            self.state = "done"
        except Exception as exc:  # noqa: BLE001 - a failed run is shown, never crashes the server
            self.error = f"{type(exc).__name__}: {exc}".splitlines()[0]
            self.state = "failed"
            traceback.print_exc()

    def progress_text(self) -> str:
        """One line for the page: state and runs done."""
        elapsed = time.time() - self.started_at
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
