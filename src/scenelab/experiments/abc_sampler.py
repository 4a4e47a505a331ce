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
is 400. The samplers here check the budget where a job is submitted (:class:`BudgetSpent`), for
threads and Dask alike; their record of the generation they did not finish (``unfinished``) goes
into the stopping report.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from scenelab.experiments.cluster import dask_client, default_n_workers


class BudgetSpent(Exception):  # noqa: N818 - a signal, not an error
    """A generation has spent its budget of simulations (pyabc's ``max_eval``)."""


class _BudgetedClient:
    """A client (thread pool or Dask) that refuses to submit a job past a generation's budget.

    Every other attribute is the client's own (pyabc asks it for the number of cores).
    """

    def __init__(self, client: Any, budget: float, batch_size: int) -> None:  # noqa: ANN401
        self._client = client
        self._budget = budget
        self._batch_size = batch_size
        self.futures: list[Any] = []

    def submit(self, *args: Any, **kwargs: Any) -> Any:  # noqa: ANN401
        """Submit a job of ``batch_size`` simulations, or raise :class:`BudgetSpent`."""
        if len(self.futures) * self._batch_size >= self._budget:
            raise BudgetSpent
        future = self._client.submit(*args, **kwargs)
        self.futures.append(future)
        return future

    def __getattr__(self, name: str) -> Any:  # noqa: ANN401
        return getattr(self._client, name)


@functools.cache
def _budgeted(base_name: str) -> type:
    """Return pyabc's sampler ``base_name`` made to stop a generation at ``max_eval``.

    pyabc's future-based samplers submit every job through their ``client`` (a thread pool or a
    Dask client), so the budget is counted there, for threads and Dask alike: during a sampling
    the client is wrapped so that a job past the budget is refused. The jobs already submitted
    are then waited for; if they complete the population the sample is built from them in job
    order (as pyabc's own loop builds it), else it is not ``ok`` (pyabc stops, keeping the
    generations before it) and ``unfinished`` records the generation: ``t``, the simulations
    submitted and those accepted. Generation 0 has no budget: a run needs one complete generation
    for a posterior (a prior whose acceptance is already below the rate is the user's to see in
    generation 0's rate, not a run with nothing to report). Imported on first use: pyabc is an
    optional extra (``calibrate``).
    """
    import numpy as np
    import pyabc.sampler

    class Budgeted(getattr(pyabc.sampler, base_name)):
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
            client = self.client
            # The first generation is always completed: without it there is no posterior to
            # report, only a run that stopped at the prior.
            budget = max_eval if t > 0 else np.inf
            budgeted = _BudgetedClient(client, budget, self.batch_size)
            self.client = budgeted
            try:
                return super().sample_until_n_accepted(
                    n,
                    simulate_one,
                    t,
                    max_eval=max_eval,
                    all_accepted=all_accepted,
                    ana_vars=ana_vars,
                )
            except BudgetSpent:
                results = []
                for future in budgeted.futures:
                    if not future.cancelled():
                        results.extend(future.result())  # (particle, accepted, job id)
                results.sort(key=lambda r: r[2])
                self.nr_evaluations_ = len(budgeted.futures) * self.batch_size
                sample = self._create_empty_sample()
                accepted = 0
                for particle, ok, _job in results:
                    if accepted == n:
                        break
                    sample.append(particle)
                    accepted += int(ok)
                if accepted < n:
                    self.unfinished = {
                        "t": int(t),
                        "simulations": self.nr_evaluations_,
                        "accepted": sum(int(ok) for _p, ok, _j in results),
                    }
                    sample = self._create_empty_sample()
                    sample.ok = False
                return sample
            finally:
                self.client = client

    Budgeted.__name__ = Budgeted.__qualname__ = f"Budgeted{base_name}"
    return Budgeted


def budgeted_thread_sampler() -> type:
    """Return pyabc's ``ConcurrentFutureSampler`` (threads) with a generation's budget."""
    return _budgeted("ConcurrentFutureSampler")


def budgeted_dask_sampler() -> type:
    """Return pyabc's ``DaskDistributedSampler`` with a generation's budget."""
    return _budgeted("DaskDistributedSampler")


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
        A ``pyabc`` sampler (from :func:`budgeted_thread_sampler` or
        :func:`budgeted_dask_sampler`) and ``submit(fn, *args)``, which runs ``fn(*args)`` on
        the same threads or workers and returns a future (``.result()``), for the posterior
        predictive runs.
    """
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
            budgeted_dask_sampler()(dask_client=dc, batch_size=batch_size),
            lambda fn, *args: dc.submit(fn, *args, pure=False),
        )
