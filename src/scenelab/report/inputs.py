"""What the report needs, as plain data: the scenario's places and dates, and the run tables.

The report does not read the scenario object. The caller (an adapter next to the scenario code)
fills :class:`ReportInputs` with plain DataFrames and lists, so the report works on any city and on
tables read back from disk.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from scenelab.observe.equity import Period, normalise_periods

__all__ = ["ReportInputs", "RunTables", "collect_tables"]

SITE_COLUMNS = ("id", "name", "kind", "neighbourhood", "lat", "lon")
NEIGHBOURHOOD_COLUMNS = ("id", "name", "deprivation", "centre")
SURVEY_COLUMNS = ("item", "group", "n", "percent", "ci_low", "ci_high")
COMPARISON_COLUMNS = ("strategy", "size", "harm")


def _require(frame: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"{what} must be a pandas DataFrame, got {type(frame).__name__}")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(
            f"{what} is missing column(s) {missing}; required: {', '.join(columns)}; "
            f"it has: {', '.join(map(str, frame.columns))}"
        )


@dataclass
class ReportInputs:
    """Scenario facts the report draws on, as plain data.

    Attributes:
        sites: One row per site: ``id``, ``name``, ``kind``, ``neighbourhood`` (id), ``lat``,
            ``lon`` (WGS84 degrees). Row order fixes the colour and legend order of sites.
        neighbourhoods: One row per neighbourhood: ``id``, ``name``, ``deprivation`` (0..1, 1 =
            most deprived), ``centre`` (bool); optional ``residents`` (used to weight the equity
            indices).
        interventions: ``(date, label)`` pairs, marked on the time charts.
        periods: ``(label, start, end)`` between interventions, start inclusive, end exclusive;
            used for the map, the before/after bars and the equity table.
        title: Report title.
        scenario_name: Name shown in the header (defaults to the ``scenario`` column of the
            tables).
        notes: Optional short paragraph shown under the title (plain text).
        compare_periods: Labels of the two periods contrasted in the neighbourhood chart; the first
            and last periods if None.
        evaluation_period: Label of the period over which strategies are compared; the whole run
            if None.
        warnings: Likely mistakes in the scenario (``key: what happens``), shown under the title.
    """

    sites: pd.DataFrame
    neighbourhoods: pd.DataFrame
    interventions: list[tuple[Any, str]] = field(default_factory=list)
    periods: list[Period] = field(default_factory=list)
    title: str = "Open drug scene simulation report"
    scenario_name: str | None = None
    notes: str | None = None
    compare_periods: tuple[str, str] | None = None
    evaluation_period: str | None = None
    warnings: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        _require(self.sites, SITE_COLUMNS, "ReportInputs.sites")
        _require(self.neighbourhoods, NEIGHBOURHOOD_COLUMNS, "ReportInputs.neighbourhoods")
        if self.sites["id"].duplicated().any():
            raise ValueError("ReportInputs.sites has duplicate ids")
        for i, item in enumerate(self.interventions):
            if len(item) != 2:
                raise ValueError(f"interventions[{i}] must be (date, label), got {item!r}")
            pd.Timestamp(item[0])
        labels = [p[0] for p in normalise_periods(self.periods)] if self.periods else []
        for name in ("compare_periods", "evaluation_period"):
            chosen = getattr(self, name)
            wanted = [chosen] if isinstance(chosen, str) else list(chosen or [])
            unknown = [w for w in wanted if w not in labels]
            if unknown:
                raise ValueError(f"{name} names unknown period(s) {unknown}; valid: {labels}")


@dataclass
class RunTables:
    """The run tables the report reads (replicates stacked)."""

    site_day: pd.DataFrame
    neighbourhood_month: pd.DataFrame
    survey: pd.DataFrame | None = None


def _get(obj: Any, name: str) -> Any:
    if isinstance(obj, Mapping):
        return obj.get(name)
    return getattr(obj, name, None)


def collect_tables(results_or_tables: Any) -> RunTables:
    """Gather ``site_day``, ``neighbourhood_month`` and an optional ``survey`` table.

    Args:
        results_or_tables: A ``scenelab.Results`` (or anything with those attributes), a mapping
            with those keys, a :class:`RunTables`, or a list of any of these (replicates, which are
            stacked).

    Returns:
        The tables, with ``date``/``month`` as datetimes.

    Raises:
        TypeError: If the tables cannot be found.
        ValueError: If a list is empty.
    """
    if isinstance(results_or_tables, RunTables):
        return results_or_tables
    items = (
        list(results_or_tables)
        if isinstance(results_or_tables, list | tuple)
        else [results_or_tables]
    )
    if not items:
        raise ValueError("no results given")
    site_day, nm, surveys = [], [], []
    for obj in items:
        sd, nmo = _get(obj, "site_day"), _get(obj, "neighbourhood_month")
        if not isinstance(sd, pd.DataFrame) or not isinstance(nmo, pd.DataFrame):
            raise TypeError(
                "expected results with .site_day and .neighbourhood_month DataFrames (or a "
                f"mapping with those keys); got {type(obj).__name__}"
            )
        site_day.append(sd)
        nm.append(nmo)
        survey = _get(obj, "survey")
        if isinstance(survey, pd.DataFrame):
            surveys.append(survey)
    sd_all = pd.concat(site_day, ignore_index=True)
    nm_all = pd.concat(nm, ignore_index=True)
    sd_all["date"] = pd.to_datetime(sd_all["date"])
    nm_all["month"] = pd.to_datetime(nm_all["month"])
    survey_all = surveys[0] if surveys else None
    if survey_all is not None:
        _require(survey_all, SURVEY_COLUMNS, "survey table")
    return RunTables(sd_all, nm_all, survey_all)
