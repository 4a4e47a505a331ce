"""The order of one tick, written down once: ``PHASE_ORDER``.

Each name is a module in ``scenelab.model.mechanisms`` that declares its phase next to its kernel:
``step`` (the compiled kernel, whose argument names say what it needs), ``PHASE_REASON`` (why it
sits where it does), ``TIMING`` (what it does every hour and at fixed hours) and, beside it, its
parameters (``<name>.toml``) and its ODD text (``<name>.md``).
The engine generates its loop from this list (``engine.simulate_source``), the ODD prints it and
the phase profiler times it; nothing re-states the order.

This module is light: ``PHASE_ORDER`` needs no import. ``PHASES`` (the declarations, which import
the Numba kernels) is built on first access.
"""

from __future__ import annotations

import functools
import importlib
import inspect
from collections.abc import Callable
from typing import Any, NamedTuple

PHASE_ORDER: tuple[str, ...] = (
    "interventions",
    "entry_exit",
    "site_choice",
    "sellers",
    "policing",
    "discovery",
    "injection",
    "violence",
    "services",
    "trust_memory",
    "record",
)

#: Names the engine's loop has in scope for a kernel's arguments: the tick, day, hour and epoch,
#: the parameter and population vectors, the stream keys, the world (W), people (P), sellers (L),
#: site state (X), recorded outputs (R) and the survey window's ticks.
LOOP_NAMES: tuple[str, ...] = (
    "t", "day", "hour", "ep", "par", "pop", "keys", "W", "P", "L", "X", "R",
    "survey_t0", "survey_t1",
)  # fmt: skip


class Phase(NamedTuple):
    """One phase of a tick, as its mechanism module declares it.

    Attributes:
        name: The phase's name (its module's name).
        module: The mechanism module (in ``scenelab.model.mechanisms``).
        reason: Why the phase sits where it does in the tick.
        step: The compiled kernel the engine calls once per tick.
        args: The kernel's argument names, each one of ``LOOP_NAMES``.
        timing: What the phase does every hour, and at fixed hours of the day (``TIMING``).
    """

    name: str
    module: str
    reason: str
    step: Callable[..., Any]
    args: tuple[str, ...]
    timing: tuple[str, str]


def declare(module: str) -> Phase:
    """Return the phase declared by mechanism module ``module``.

    Raises:
        TypeError: If the module has no ``step`` or ``PHASE_REASON``, or the kernel asks for an
            argument the engine's loop does not have.
    """
    mod = importlib.import_module(f"scenelab.model.mechanisms.{module}")
    step = getattr(mod, "step", None)
    reason = getattr(mod, "PHASE_REASON", None)
    if step is None or not isinstance(reason, str):
        raise TypeError(f"mechanisms/{module}.py must define step() and PHASE_REASON")
    args = tuple(inspect.signature(getattr(step, "py_func", step)).parameters)
    unknown = [a for a in args if a not in LOOP_NAMES]
    if unknown:
        raise TypeError(f"{module}.step asks for {unknown}; the loop provides {list(LOOP_NAMES)}")
    timing = tuple(getattr(mod, "TIMING", ("-", "-")))
    return Phase(module, module, reason, step, args, (str(timing[0]), str(timing[1])))


@functools.cache
def phases() -> tuple[Phase, ...]:
    """Return every phase's declaration, in tick order."""
    return tuple(declare(m) for m in PHASE_ORDER)


def __getattr__(name: str) -> object:
    """Build ``PHASES`` lazily, so importing ``PHASE_ORDER`` loads no Numba kernel."""
    if name == "PHASES":
        return phases()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
