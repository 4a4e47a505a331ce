"""Where a calibration's simulations run: threads of this process, or Dask.

scenelab's compiled tick loop releases the GIL, so on one machine its simulations run side by side
in threads of the calibrating process, as ``run``, ``compare`` and ``patterns`` run replicates
(``scenelab.parallel``): no worker processes, no scheduler, nothing pickled between processes, the
compiled code loaded once. ``benchmarks/bench_abc_backends.py`` measures the two ways side by side
(docs/performance.md). Other models (a user's Python function holds the GIL) and every run given
a scheduler address or a client go to Dask (``experiments.cluster``), which is also the way to a
cluster of machines.

A generation's budget of simulations. pyabc gives every sampling a ``max_eval`` of
``population_size / min_acceptance_rate``: once a generation has spent it without accepting a full
population, its acceptance rate is already below ``min_acceptance_rate``, and samplers that check
the budget (pyabc's single-core and evaluation-parallel samplers) return an incomplete sample, so
the run stops with the last complete generation as the posterior. pyabc's future-based samplers
(threads, Dask) ignore it and sample on until the population is full: in a Bergen calibration
whose last generation accepted 5%, that generation alone took 1,200 simulations where the budget
is 400. The thread sampler here checks the budget (:class:`BudgetSpent`); its record of the
generation it did not finish (``unfinished``) goes into the stopping report. The Dask sampler
still ignores it (its simulations run in other processes, where no shared count is kept).
"""

from __future__ import annotations

import contextlib
import functools
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from scenelab.experiments.cluster import dask_client, default_n_workers


class BudgetSpent(Exception):  # noqa: N818 - a signal, not an error
    """A generation has spent its budget of simulations (pyabc's ``max_eval``)."""


@functools.cache
def budgeted_thread_sampler() -> type:
    """Return pyabc's ``ConcurrentFutureSampler`` made to stop a generation at ``max_eval``.

    Imported on first use: pyabc is an optional extra (``calibrate``).
    """
    import numpy as np
    from pyabc.sampler import ConcurrentFutureSampler

    class BudgetedThreadSampler(ConcurrentFutureSampler):
        """Threads of this process; a generation stops once ``max_eval`` simulations started.

        Each simulation takes a number from a counter before it starts; one that would pass the
        budget raises :class:`BudgetSpent` instead, which ends pyabc's sampling loop. The sample
        returned is then empty and not ``ok`` (pyabc stops, keeping the generations before it),
        and ``unfinished`` records the generation: ``t``, the simulations started (those still
        running when the budget ran out count; their results are dropped) and those accepted.
        """

        unfinished: dict[str, int] | None = None

        def sample_until_n_accepted(  # noqa: ANN201, PLR0913 - pyabc's signature
            self,
            n,  # noqa: ANN001
            simulate_one,  # noqa: ANN001
            t,  # noqa: ANN001
            *,
            max_eval=np.inf,  # noqa: ANN001
            all_accepted=False,  # noqa: ANN001
            ana_vars=None,  # noqa: ANN001
        ):
            self.unfinished = None
            lock = threading.Lock()
            count = {"started": 0, "accepted": 0}

            def within_budget():  # noqa: ANN202
                with lock:
                    if count["started"] >= max_eval:
                        raise BudgetSpent
                    count["started"] += 1
                particle = simulate_one()
                if particle.accepted:
                    with lock:
                        count["accepted"] += 1
                return particle

            try:
                return super().sample_until_n_accepted(
                    n,
                    within_budget,
                    t,
                    max_eval=max_eval,
                    all_accepted=all_accepted,
                    ana_vars=ana_vars,
                )
            except BudgetSpent:
                # Simulations still running finish on their threads; their results are dropped.
                self.nr_evaluations_ = count["started"]
                self.unfinished = {
                    "t": int(t),
                    "simulations": count["started"],
                    "accepted": count["accepted"],
                }
                sample = self._create_empty_sample()
                sample.ok = False
                return sample

    return BudgetedThreadSampler


@contextlib.contextmanager
def abc_sampler(
    *,
    threads: bool,
    scheduler: str | None,
    client: Any,  # noqa: ANN401 - a distributed.Client
    n_workers: int | None,
    batch_size: int,
    echo: Callable[[str], None],
) -> Iterator[tuple[Any, Callable[..., Any]]]:
    """Yield a pyabc sampler (threads of this process, or Dask) and a ``submit`` on the same.

    Args:
        threads: Run local simulations in threads (the model releases the GIL). Ignored when a
            scheduler or client is given.
        scheduler: Address of an existing Dask scheduler.
        client: An existing Dask client (not closed here).
        n_workers: Local threads or worker processes (default: one per usable core).
        batch_size: Simulations per task.
        echo: Where to print what was started.

    Yields:
        A ``pyabc`` sampler (:func:`budgeted_thread_sampler`'s or ``DaskDistributedSampler``) and
        ``submit(fn, *args)``, which runs ``fn(*args)`` on the same threads or workers and
        returns a future (``.result()``), for the posterior predictive runs.
    """
    from pyabc.sampler import DaskDistributedSampler

    if threads and scheduler is None and client is None:
        n = n_workers or default_n_workers()
        echo(f"Simulations in {n} thread(s) of this process")
        pool = ThreadPoolExecutor(n, thread_name_prefix="scenelab-abc")
        try:
            yield (
                # Threads share this process's memory: nothing to pickle per job.
                budgeted_thread_sampler()(
                    pool, client_max_jobs=n, batch_size=batch_size, default_pickle=False
                ),
                pool.submit,
            )
        finally:
            # after an interrupt, simulations not started are dropped; running ones finish
            pool.shutdown(wait=True, cancel_futures=True)
        return
    with dask_client(scheduler=scheduler, n_workers=n_workers, client=client, echo=echo) as dc:
        yield (
            DaskDistributedSampler(dask_client=dc, batch_size=batch_size),
            lambda fn, *args: dc.submit(fn, *args, pure=False),
        )
