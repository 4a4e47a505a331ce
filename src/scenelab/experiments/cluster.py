"""Where runs execute: a Dask client for a local or an existing cluster.

By default a ``LocalCluster`` sized to the machine (one single-threaded
worker process per core — the simulation is CPU-bound Python/Numba, so
processes, not threads) bound to 127.0.0.1. Given a scheduler address the
same experiment goes to an existing cluster (e.g. one started by
``dask-jobqueue`` on SLURM/PBS; see ``docs/experiments.md``).
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import os
import signal
from collections.abc import Callable, Iterator

from distributed import Client, LocalCluster

from scenelab.cores import usable_cores


def default_n_workers() -> int:
    """Cores this process may use.

    Returns:
        Number of usable cores (at least 1).
    """
    return usable_cores()


def dashboard_available() -> bool:
    """Whether the Dask dashboard can be served (it needs bokeh).

    Returns:
        True when bokeh is importable.
    """
    return importlib.util.find_spec("bokeh") is not None


@contextlib.contextmanager
def dask_client(
    *,
    scheduler: str | None = None,
    n_workers: int | None = None,
    client: Client | None = None,
    echo: Callable[[str], None] | None = None,
) -> Iterator[Client]:
    """Yield a Dask client, creating (and afterwards closing) a local cluster if needed.

    Args:
        scheduler: Address of an existing scheduler (``tcp://host:port``).
        n_workers: Local workers (default: one per usable core). Ignored with
            ``scheduler`` or ``client``.
        client: An existing client to use as is (not closed here).
        echo: Where to print the dashboard address (e.g. ``print``).

    Yields:
        A connected client.
    """
    say = echo or (lambda _msg: None)
    if client is not None:
        yield client
        return
    if scheduler is not None:
        with Client(scheduler) as remote:
            n = sum(remote.nthreads().values())
            say(f"Dask scheduler {scheduler}: {len(remote.nthreads())} workers, {n} threads")
            say(f"Dask dashboard: {remote.dashboard_link}")
            yield remote
        return
    n = n_workers or default_n_workers()
    # Without bokeh the HTTP server still serves metrics; keep it on loopback, any free port.
    dashboard = "127.0.0.1:8787" if dashboard_available() else "127.0.0.1:0"
    cluster = LocalCluster(
        n_workers=n,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=dashboard,
        silence_logs=logging.ERROR,
    )
    try:
        local = Client(cluster)
    except BaseException:
        _close_within(cluster, SHUTDOWN_TIMEOUT)
        raise
    try:
        say(f"Dask LocalCluster: {n} worker process(es) x 1 thread ({cluster.scheduler_address})")
        if dashboard_available():
            say(f"Dask dashboard: {local.dashboard_link}")
        else:
            say("Dask dashboard: not available (install bokeh>=3.1 to enable it)")
        yield local
    finally:
        # Bounded: after Ctrl-C an orderly shutdown can wait on a worker that is mid-task (a
        # calibration once hung for over two minutes), so whatever has not stopped in time is
        # killed. Results already stored are not touched.
        _close_within(local, SHUTDOWN_TIMEOUT)
        _close_within(cluster, SHUTDOWN_TIMEOUT)


#: Seconds the client and the local cluster get to close before their workers are killed.
SHUTDOWN_TIMEOUT = 15.0


def _close_within(thing: Client | LocalCluster, timeout: float) -> None:
    """Close a client or local cluster, and kill a local cluster's worker processes if it hangs."""
    pids = []
    if isinstance(thing, LocalCluster):
        for nanny in list(thing.workers.values()):
            proc = getattr(getattr(nanny, "process", None), "process", None)
            if proc is not None and proc.pid is not None:
                pids.append(proc.pid)
    try:
        thing.close(timeout=timeout)
    except BaseException:  # noqa: BLE001 - a second Ctrl-C or a timeout: fall through to kill
        pass
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
