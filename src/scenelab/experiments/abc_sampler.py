"""Where a calibration's simulations run: threads of this process, or Dask.

scenelab's compiled tick loop releases the GIL, so on one machine its simulations run side by side
in threads of the calibrating process, as ``run``, ``compare`` and ``patterns`` run replicates
(``scenelab.parallel``): no worker processes, no scheduler, nothing pickled between processes, the
compiled code loaded once. ``benchmarks/bench_abc_backends.py`` measures the two ways side by side
(docs/performance.md). Other models (a user's Python function holds the GIL) and every run given
a scheduler address or a client go to Dask (``experiments.cluster``), which is also the way to a
cluster of machines.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from scenelab.experiments.cluster import dask_client, default_n_workers


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
        A ``pyabc`` sampler (``ConcurrentFutureSampler`` or ``DaskDistributedSampler``) and
        ``submit(fn, *args)``, which runs ``fn(*args)`` on the same threads or workers and
        returns a future (``.result()``), for the posterior predictive runs.
    """
    from pyabc.sampler import ConcurrentFutureSampler, DaskDistributedSampler

    if threads and scheduler is None and client is None:
        n = n_workers or default_n_workers()
        echo(f"Simulations in {n} thread(s) of this process")
        pool = ThreadPoolExecutor(n, thread_name_prefix="scenelab-abc")
        try:
            yield (
                ConcurrentFutureSampler(pool, client_max_jobs=n, batch_size=batch_size),
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
