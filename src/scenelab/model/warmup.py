"""The engine's first compile on a cold cache, in two processes at once.

Numba compiles one function at a time in a process (a global compiler lock), and the engine's
first compile is about a minute of CPU: the eleven phase kernels take nine tenths of it and the
tick loop that calls them the rest (``docs/performance.md``, "Where the compile goes"). The phase
kernels do not depend on each other, and a compiled kernel is written to the disk cache that every
process shares, so on a cold cache a second process compiles some of them while this one compiles
the others; the tick loop then loads the second process's kernels from the cache instead of
compiling them. The two processes share the work by claiming phases, largest first, with files
created exclusively in a scratch directory, so neither waits for a plan.

Nothing here changes what is computed: a kernel loaded from the cache is the same machine code as
one compiled in this process. If the helper process fails or is slow, this process compiles what
is missing itself. ``SCENELAB_PARALLEL_COMPILE=0`` switches the helper off.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numba
import numpy as np

from scenelab.cores import usable_cores
from scenelab.model.phases import Phase, phases
from scenelab.model.structs import as_ref, lent_type, ref_type

log = logging.getLogger(__name__)

#: Written in the cache directory once the tick loop has compiled there: later starts skip this.
MARKER = "engine-compiled"
#: Seconds to wait for the helper process before compiling the rest here.
HELPER_TIMEOUT = 600.0

_lock = threading.Lock()
#: Set once this process has compiled the kernels (threads running replicates share them).
_warmed = threading.Event()


class Sources(NamedTuple):
    """What the engine's loop passes its kernels, as values (only their Numba types are read)."""

    world: Any
    people: Any
    sellers: Any
    sites: Any
    out: Any
    par: np.ndarray
    pop: np.ndarray
    keys: np.ndarray


def phase_signatures(src: Sources) -> dict[str, tuple[Any, ...]]:
    """Return each phase kernel's argument types as the engine's tick loop calls it.

    The loop's own names (``engine.simulate_source``): ``t``, ``day`` and ``hour`` are int64 (the
    loop runs over a ``range`` of Python ints), ``ep`` has the dtype of ``W.epoch_of_day``, the
    survey ticks are int64, and the state arrives as ``StructRef`` types (``structs``).
    """
    i64 = numba.types.int64
    names = {
        "t": i64,
        "day": i64,
        "hour": i64,
        "ep": numba.from_dtype(src.world.epoch_of_day.dtype),
        "par": lent_type(numba.typeof(src.par)),
        "pop": lent_type(numba.typeof(src.pop)),
        "keys": lent_type(numba.typeof(src.keys)),
        "W": lent_type(ref_type(src.world)),
        "P": lent_type(ref_type(src.people)),
        "L": lent_type(ref_type(src.sellers)),
        "X": lent_type(ref_type(src.sites)),
        "R": lent_type(ref_type(src.out)),
        "survey_t0": i64,
        "survey_t1": i64,
    }
    return {p.name: tuple(names[a] for a in p.args) for p in phases()}


def claim_order(phase_list: Sequence[Phase]) -> list[Phase]:
    """Return the phases largest first (by their module's source size, a proxy for compile time).

    Taking the big ones first keeps the two processes' shares even at the end.
    """
    size = {}
    for p in phase_list:
        mod = sys.modules[p.step.py_func.__module__]
        size[p.name] = Path(mod.__file__ or "").stat().st_size if mod.__file__ else 0
    return sorted(phase_list, key=lambda p: -size[p.name])


def compile_claimed(signatures: dict[str, tuple[Any, ...]], claims: Path) -> list[str]:
    """Compile every phase this process claims first; return the names it compiled.

    A claim is a file created with ``O_EXCL`` in ``claims``: exactly one process gets each phase.
    """
    done = []
    for p in claim_order(phases()):
        try:
            fd = os.open(claims / p.name, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            continue
        os.close(fd)
        p.step.compile(signatures[p.name])
        done.append(p.name)
    return done


def _cache_dir() -> Path | None:
    """Return the Numba cache directory if kernels are cached on disk, else None."""
    if numba.config.DISABLE_JIT or not numba.config.CACHE_DIR:
        return None
    return Path(numba.config.CACHE_DIR)


def _wanted(simulate: Any) -> Path | None:  # noqa: ANN401
    """Return the cache directory if a cold first compile is ahead, else None."""
    if os.environ.get("SCENELAB_PARALLEL_COMPILE", "1") == "0":
        return None
    if getattr(simulate, "signatures", None) != []:  # compiled here, or not a Numba dispatcher
        return None
    cache = _cache_dir()
    if cache is None or (cache / MARKER).exists():
        return None
    return cache if usable_cores() > 1 else None


def compile_engine(simulate: Any, src: Sources) -> None:  # noqa: ANN401
    """Before the first call of the tick loop ``simulate``, compile its kernels in two processes.

    Does nothing when the loop is compiled in this process already, when the cache says it was
    compiled before (``MARKER``), when kernels are not cached on disk, on one core, or when
    ``SCENELAB_PARALLEL_COMPILE=0``. Threads that arrive together wait for the first.
    """
    with _lock:
        cache = None if _warmed.is_set() else _wanted(simulate)
        if cache is None:
            return
        _warmed.set()
        claims = Path(tempfile.mkdtemp(prefix="scenelab-compile-"))
        helper = None
        try:
            env = {**os.environ, "NUMBA_CACHE_DIR": str(cache)}
            helper = subprocess.Popen(  # noqa: S603 - our own module, no user input
                [sys.executable, "-m", "scenelab.model.warmup_helper", str(claims)],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
            # The state wrappers are this process's to compile while the helper starts up.
            for state in (src.world, src.people, src.sellers, src.sites, src.out):
                as_ref(state)
            compile_claimed(phase_signatures(src), claims)
            try:
                _, err = helper.communicate(timeout=HELPER_TIMEOUT)
            except subprocess.TimeoutExpired:
                helper.kill()
                _, err = helper.communicate()
            if helper.returncode != 0:
                tail = err.decode(errors="replace").strip().splitlines()[-3:]
                log.warning(
                    "the compile helper stopped (code %s): %s; compiling the rest here",
                    helper.returncode,
                    " | ".join(tail),
                )
        finally:
            if helper is not None and helper.poll() is None:
                helper.kill()
                helper.wait()
            shutil.rmtree(claims, ignore_errors=True)


def mark_compiled() -> None:
    """Record in the cache directory that the tick loop compiled there (see :data:`MARKER`)."""
    cache = _cache_dir()
    if cache is not None and not (cache / MARKER).exists():
        try:
            (cache / MARKER).write_text("the engine's tick loop was compiled in this directory\n")
        except OSError:
            pass  # a read-only cache only costs the next start a helper process
