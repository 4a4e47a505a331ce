"""A model parameter's range as the experiments layer needs it: ``ParamRange``, its one name.

A leaf module (it imports nothing from scenelab), so models, toy models and specs can all use it
without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ParamRange:
    """A model parameter as the experiments layer needs it.

    Attributes:
        name: Parameter name, as used in overrides.
        low: Lower end of the prior / design range (canonical unit).
        high: Upper end of the prior / design range (canonical unit).
        default: Value the model uses when the parameter is not overridden.
        unit: Canonical unit, for labels only.
        description: One line for humans.
        values: For a grid design, the values the design takes (``low``/``high`` are their
            extremes); ``None`` for a continuous range.
    """

    name: str
    low: float
    high: float
    default: float | None = None
    unit: str = ""
    description: str = ""
    values: tuple[float, ...] | None = None
