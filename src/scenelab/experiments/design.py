"""Parameter designs and replicate seeds.

A design is a matrix of parameter points (rows) over named parameters
(columns). Latin hypercube, Morris and Sobol points come from SALib's
samplers, so the matrix is exactly what SALib's analysers expect back, row for
row. Seeds are per replicate and shared by every arm and design point: run k
of every arm uses the same seed (common random numbers), so differences
between arms are the policy, not the noise.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from scenelab.experiments.ranges import ParamRange


@dataclass(frozen=True)
class ParameterDesign:
    """Design points over named parameters.

    Attributes:
        kind: ``baseline``, ``grid``, ``lhs``, ``morris`` or ``sobol``.
        names: Parameter names (columns).
        bounds: ``(low, high)`` per parameter.
        points: Array of shape ``(n_points, len(names))``.
        levels: Morris grid levels (used again by the Morris analyser).
        second_order: Whether the Sobol sample supports second-order indices.
    """

    kind: str
    names: tuple[str, ...]
    bounds: tuple[tuple[float, float], ...]
    points: np.ndarray
    levels: int = 4
    second_order: bool = False

    @property
    def problem(self) -> dict[str, Any]:
        """The SALib problem dictionary for this design."""
        return {
            "num_vars": len(self.names),
            "names": list(self.names),
            "bounds": [list(b) for b in self.bounds],
        }

    def rows(self) -> list[dict[str, float]]:
        """Design points as parameter dictionaries.

        Returns:
            One ``{name: value}`` per point (empty dicts for the baseline design).
        """
        return [{n: float(v) for n, v in zip(self.names, row, strict=True)} for row in self.points]


def make_design(
    kind: str,
    parameters: Sequence[ParamRange],
    *,
    n: int | None = None,
    levels: int = 4,
    second_order: bool = False,
    seed: int = 0,
) -> ParameterDesign:
    """Build a design.

    Args:
        kind: ``baseline``, ``grid``, ``lhs``, ``morris`` or ``sobol``.
        parameters: Varied parameters with settled ranges (grid: with values).
        n: lhs points, Morris trajectories or Sobol base samples.
        levels: Morris grid levels.
        second_order: Sobol: sample for second-order indices too.
        seed: Sampler seed; the same seed gives the same points.

    Returns:
        The design.

    Raises:
        ValueError: For an unknown kind or missing ``n``.
    """
    names = tuple(p.name for p in parameters)
    bounds = tuple((p.low, p.high) for p in parameters)
    problem = {"num_vars": len(names), "names": list(names), "bounds": [list(b) for b in bounds]}
    if kind == "baseline":
        points = np.zeros((1, 0))
    elif kind == "grid":
        grids = [p.values if p.values is not None else (p.low, p.high) for p in parameters]
        points = np.array(list(itertools.product(*grids)), dtype=float).reshape(-1, len(names))
    elif kind in ("lhs", "morris", "sobol"):
        if n is None:
            raise ValueError(f"design kind {kind!r} needs n")
        if kind == "lhs":
            from SALib.sample import latin

            points = latin.sample(problem, n, seed=seed)
        elif kind == "morris":
            from SALib.sample import morris

            points = morris.sample(problem, n, num_levels=levels, seed=seed)
        else:
            from SALib.sample import sobol

            points = sobol.sample(problem, n, calc_second_order=second_order, seed=seed)
    else:
        raise ValueError(
            f"unknown design kind {kind!r}; valid choices: baseline, grid, lhs, morris, sobol"
        )
    return ParameterDesign(
        kind=kind,
        names=names,
        bounds=bounds,
        points=np.asarray(points, dtype=float),
        levels=levels,
        second_order=second_order,
    )


def replicate_seeds(base_seed: int, replicates: int) -> list[int]:
    """Seeds for replicates 0..R-1, derived from one base seed.

    Each seed comes from its own ``SeedSequence`` child (spawn key = replicate
    index), so streams are independent and adding replicates never changes
    the seeds of existing ones.

    Args:
        base_seed: The experiment's seed.
        replicates: Number of replicates.

    Returns:
        One 32-bit seed per replicate.
    """
    return [
        int(np.random.SeedSequence(base_seed, spawn_key=(k,)).generate_state(1)[0])
        for k in range(replicates)
    ]
