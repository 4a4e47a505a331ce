"""Units accepted in scenario files, converted once at load to each parameter's canonical unit."""

from __future__ import annotations

# Each canonical unit with the units a file may give instead and the factor to convert to it.
_CONVERSIONS: dict[str, dict[str, float]] = {
    "per_hour": {"per_hour": 1.0, "per_day": 1 / 24, "per_year": 1 / (24 * 365.25)},
    "per_day": {"per_day": 1.0, "per_hour": 24.0, "per_year": 1 / 365.25},
    "per_year": {"per_year": 1.0, "per_day": 365.25, "per_hour": 24 * 365.25},
    "hours": {"hours": 1.0, "days": 24.0, "minutes": 1 / 60},
    "days": {"days": 1.0, "hours": 1 / 24, "weeks": 7.0},
}


def convert(value: float, unit: str, canonical: str) -> float:
    """Convert ``value`` given in ``unit`` to the ``canonical`` unit.

    Args:
        value: The number as written in the file.
        unit: The unit written beside it.
        canonical: The parameter's canonical unit.

    Returns:
        The value in the canonical unit.

    Raises:
        ValueError: If ``unit`` cannot be converted to ``canonical``; the message lists the valid
            units.
    """
    table = _CONVERSIONS.get(canonical, {canonical: 1.0})
    if unit not in table:
        valid = ", ".join(sorted(table))
        raise ValueError(f"unit '{unit}' cannot express a {canonical} value; valid units: {valid}")
    return value * table[unit]


def valid_units(canonical: str) -> list[str]:
    """Return the units a file may use for a parameter whose canonical unit is ``canonical``."""
    return sorted(_CONVERSIONS.get(canonical, {canonical: 1.0}))
