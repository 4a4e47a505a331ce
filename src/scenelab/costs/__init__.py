"""What strategies cost: unit costs from public sources, priced per day, period and run.

Public API (used by ``compare``, the verdict, ``optimize`` and the dashboard):
:func:`cost_table` (per period and item) and :func:`total_cost` (NOK). Unit costs, their sources
and price years are in ``unit_costs.toml`` and ``docs/strategy-lab.md``.
"""

from scenelab.costs.model import (
    ITEMS,
    UnitCost,
    cost_summary,
    cost_table,
    daily_costs,
    daily_quantities,
    default_unit_costs,
    total_cost,
    unit_costs,
)

__all__ = [
    "ITEMS",
    "UnitCost",
    "cost_summary",
    "cost_table",
    "daily_costs",
    "daily_quantities",
    "default_unit_costs",
    "total_cost",
    "unit_costs",
]
