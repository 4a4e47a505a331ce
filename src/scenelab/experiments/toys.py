"""Known-answer model functions for testing the experiments machinery.

Each is a plain ``(params, seed) -> outcomes`` function with declared
parameter ranges, so it runs through the same runner, results store,
sensitivity analysis and calibration as the real simulation:

* ``ishigami`` — the standard Sobol benchmark (Ishigami & Homma 1990), with
  analytic first- and total-order indices (:data:`ISHIGAMI_S1`, :data:`ISHIGAMI_ST`).
* ``linear`` — ``10·a + 1·b + 0·c``: Morris elementary effects are exactly the
  coefficients times the range, so ``mu_star`` is known.
* ``toy`` — a stochastic simulator (normal and Poisson sample means) whose
  parameters ABC must recover; ``work_seconds`` burns CPU to stand in for a
  real model in parallel-efficiency benchmarks and fault tests.
* ``zdt1`` — the two-objective ZDT1 benchmark (Zitzler, Deb & Thiele 2000), whose Pareto
  front is known analytically (:func:`zdt1_front`), for the multi-objective search.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping

import numpy as np

from scenelab.experiments.ranges import ParamRange

_A, _B = 7.0, 0.1

ISHIGAMI_PARAMETERS = {
    f"x{i}": ParamRange(f"x{i}", low=-math.pi, high=math.pi, default=0.0) for i in (1, 2, 3)
}


def _ishigami_indices() -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Analytic Sobol indices for a=7, b=0.1 (Sobol' & Levitan 1999)."""
    v1 = 0.5 * (1 + _B * math.pi**4 / 5) ** 2
    v2 = _A**2 / 8
    v13 = _B**2 * math.pi**8 * (1 / 18 - 1 / 50)
    var = v1 + v2 + v13
    s1 = (v1 / var, v2 / var, 0.0)
    st = ((v1 + v13) / var, v2 / var, v13 / var)
    return s1, st


ISHIGAMI_S1, ISHIGAMI_ST = _ishigami_indices()


def ishigami(params: Mapping[str, float], seed: int) -> dict[str, float]:
    """Ishigami function ``sin x1 + a sin² x2 + b x3⁴ sin x1`` (deterministic).

    Args:
        params: ``x1``, ``x2``, ``x3`` in [-π, π].
        seed: Ignored (the function is deterministic).

    Returns:
        ``{"y": value}``.
    """
    x1, x2, x3 = (float(params[k]) for k in ("x1", "x2", "x3"))
    y = math.sin(x1) + _A * math.sin(x2) ** 2 + _B * x3**4 * math.sin(x1)
    return {"y": y}


LINEAR_COEFFICIENTS = {"a": 10.0, "b": 1.0, "c": 0.0}
LINEAR_PARAMETERS = {k: ParamRange(k, low=0.0, high=1.0, default=0.5) for k in LINEAR_COEFFICIENTS}


def linear(params: Mapping[str, float], seed: int) -> dict[str, float]:
    """Linear function ``10 a + b + 0 c`` on the unit cube (deterministic).

    Args:
        params: ``a``, ``b``, ``c``.
        seed: Ignored.

    Returns:
        ``{"y": value}``.
    """
    return {"y": sum(c * float(params[k]) for k, c in LINEAR_COEFFICIENTS.items())}


TOY_N_DRAWS = 200
TOY_PARAMETERS = {
    "mu": ParamRange("mu", low=-5.0, high=5.0, default=0.0, description="normal mean"),
    "lam": ParamRange("lam", low=0.5, high=10.0, default=3.0, description="Poisson rate"),
    "work_seconds": ParamRange(
        "work_seconds", low=0.0, high=1.0, default=0.0, unit="s", description="CPU time to burn"
    ),
}


def toy(params: Mapping[str, float], seed: int) -> dict[str, float]:
    """A stochastic simulator with known sampling distributions.

    Draws :data:`TOY_N_DRAWS` values from ``Normal(mu, 1)`` and from
    ``Poisson(lam)`` with a generator seeded by ``seed``; the sample means
    have expectation ``mu`` and ``lam`` and standard errors ``1/√200`` and
    ``√(lam/200)``.

    Args:
        params: ``mu``, ``lam`` and ``work_seconds`` (CPU seconds to burn, default 0).
        seed: Seed of the run's generator.

    Returns:
        ``normal_mean``, ``poisson_mean`` and ``poisson_var``.
    """
    work = float(params.get("work_seconds", 0.0))
    if work > 0:
        # Burn CPU time, not wall time: a stand-in for CPU-bound simulation work that
        # slows down like a real model when cores are shared.
        end = time.process_time() + work
        x = 0.0
        while time.process_time() < end:
            for _ in range(1000):
                x += math.sqrt(x + 1.0)
    rng = np.random.default_rng(seed)
    normal = rng.normal(float(params["mu"]), 1.0, TOY_N_DRAWS)
    counts = rng.poisson(float(params["lam"]), TOY_N_DRAWS)
    return {
        "normal_mean": float(normal.mean()),
        "poisson_mean": float(counts.mean()),
        "poisson_var": float(counts.var(ddof=1)),
    }


ZDT1_N = 30
ZDT1_PARAMETERS = {
    f"x{i}": ParamRange(f"x{i}", low=0.0, high=1.0, default=0.0) for i in range(1, ZDT1_N + 1)
}


def zdt1(params: Mapping[str, float], seed: int) -> dict[str, float]:
    """ZDT1 (Zitzler, Deb & Thiele 2000): ``f1 = x1``, ``f2 = g (1 - sqrt(f1 / g))``.

    ``g = 1 + 9 * mean(x2..x30)``; undeclared variables take their default 0, so varying only
    some of them keeps the same analytic front (``g = 1``: ``f2 = 1 - sqrt(f1)``).

    Args:
        params: ``x1`` .. ``x30`` in [0, 1].
        seed: Ignored (the function is deterministic).

    Returns:
        ``{"f1": ..., "f2": ...}``, both to be minimised.
    """
    x = [float(params[f"x{i}"]) for i in range(1, ZDT1_N + 1)]
    f1 = x[0]
    g = 1.0 + 9.0 * sum(x[1:]) / (ZDT1_N - 1)
    return {"f1": f1, "f2": g * (1.0 - math.sqrt(f1 / g))}


def zdt1_front(f1: np.ndarray) -> np.ndarray:
    """The analytic Pareto front of ZDT1: ``f2 = 1 - sqrt(f1)`` for ``f1`` in [0, 1].

    Args:
        f1: First-objective values.

    Returns:
        The front's second objective at each.
    """
    return 1.0 - np.sqrt(np.clip(f1, 0.0, 1.0))
