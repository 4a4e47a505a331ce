"""Observed patterns, defined with the city and measured on its runs.

A city's patterns (what was observed: where the scene went and how fast, who carried the harm,
what the police counted) live beside its scenario, not in library code: the built-in Bergen
patterns are ``scenario/builtin/patterns/bergen.toml``; a user's city ``mytown.toml`` may have
``mytown.patterns.toml`` beside it. Each pattern names *figures* measured on a run's tables (a
closed set of kinds, below) and *conditions* on them that must all hold. Nothing in a pattern
file is evaluated as code. ``scenelab patterns`` and the tests use the same definitions.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

import pandas as pd
import pydantic
from pydantic import BaseModel, ConfigDict, Field, model_validator

from scenelab import tomlfile
from scenelab.pydantic_errors import problems as formatted
from scenelab.scenario.errors import Problem, ScenarioError

_PATTERNS_PACKAGE = "scenelab.scenario.builtin.patterns"
Window = Annotated[list[dt.date], Field(min_length=2, max_length=2)]


class _Closed(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)


class Figure(_Closed):
    """One number measured on a run (see the module docstring for the kinds)."""

    kind: Literal[
        "mean", "share", "sum", "first_month_above", "harm_share_centre", "harm_concentration",
        "survey",
    ]  # fmt: skip
    table: Literal["site_day", "city_day"] = "site_day"
    column: str = "people_present"
    sites: list[str] | None = None
    site: str | None = None
    other: str | None = None
    window: Window | None = None
    start: dt.date | None = None
    item: str | None = None
    group: str | None = None

    @model_validator(mode="after")
    def _needs(self) -> Figure:
        need = {
            "mean": ("window",),
            "share": ("window",),
            "sum": ("window",),
            "first_month_above": ("site", "other", "start"),
            "harm_share_centre": ("window",),
            "harm_concentration": ("window",),
            "survey": ("item", "group"),
        }[self.kind]
        missing = [k for k in need if getattr(self, k) is None]
        if self.kind == "share" and self.site is None and self.sites is None:
            missing.append("site (or sites, a list)")
        if self.kind == "share" and self.site is not None and self.sites is not None:
            raise ValueError("a share figure takes site or sites, not both")
        if missing:
            raise ValueError(f"a {self.kind} figure needs {', '.join(missing)}")
        return self


class Condition(_Closed):
    """``left op factor * right + offset``, or ``left op value``; false if a figure is NaN."""

    left: str
    op: Literal["<", "<=", ">", ">="]
    right: str | None = None
    value: float | None = None
    factor: float = 1.0
    offset: float = 0.0

    @model_validator(mode="after")
    def _one_side(self) -> Condition:
        if (self.right is None) == (self.value is None):
            raise ValueError("give exactly one of right (a figure) or value (a number)")
        return self


class Pattern(_Closed):
    """One observed pattern: figures and the conditions that must all hold."""

    id: str = Field(pattern=r"^[A-Za-z0-9_.-]+$", max_length=32)
    target: str = Field(max_length=2_000)
    run: str | None = Field(None, description="measure on this scenario's runs (same seeds)")
    figures: dict[str, Figure] = Field(min_length=1, max_length=50)
    holds: list[Condition] = Field(min_length=1, max_length=50)

    @model_validator(mode="after")
    def _names(self) -> Pattern:
        for c in self.holds:
            for name in (c.left, c.right):
                if name is not None and name not in self.figures:
                    raise ValueError(f"condition names '{name}', not a figure of {self.id}")
        return self


class PatternFile(_Closed):
    """A city's pattern file."""

    patterns: list[Pattern] = Field(min_length=1, max_length=100)


@dataclass(frozen=True)
class PatternResult:
    """One pattern measured on one run."""

    pattern: str
    target: str
    measured: dict[str, float]
    holds: bool


# -- where a city's patterns are -------------------------------------------------------------


def pattern_source(scenario: Any) -> tuple[str, str] | None:  # noqa: ANN401 - a Scenario
    """Return ``(name for messages, text)`` of the scenario's pattern file, or None."""
    name = scenario.source
    if name.endswith(".toml") and scenario.folder is None:  # a built-in
        res = resources.files(_PATTERNS_PACKAGE).joinpath(name)
        return (f"patterns/{name}", res.read_text("utf-8")) if res.is_file() else None
    if scenario.folder is None:
        return None
    path = Path(scenario.folder) / (Path(name).stem + ".patterns.toml")
    if not path.is_file():
        return None
    try:
        return path.name, tomlfile.decode(path.read_bytes())
    except tomlfile.TomlProblem as exc:
        raise ScenarioError(path.name, [Problem(exc.path, exc.message)]) from None


def load_patterns(scenario: Any) -> list[Pattern]:  # noqa: ANN401 - a Scenario
    """Return the patterns defined for ``scenario`` (empty if it defines none).

    Raises:
        ScenarioError: If its pattern file is not valid (naming the file and key).
    """
    found = pattern_source(scenario)
    if found is None:
        return []
    source, text = found
    try:
        data = tomlfile.loads(text)
        return PatternFile.model_validate(data).patterns
    except tomlfile.TomlProblem as exc:
        raise ScenarioError(source, [Problem(exc.path, exc.message)]) from None
    except pydantic.ValidationError as exc:
        raise ScenarioError(
            source, [Problem(p, m) for p, m in formatted(PatternFile, exc)]
        ) from None


def load_pattern_file(path: str | Path) -> list[Pattern]:
    """Read and validate a pattern file given by its path (``mytown.patterns.toml``).

    Raises:
        ScenarioError: If it cannot be read or is not valid (naming the file and key).
    """
    path = Path(path)
    try:
        data = tomlfile.read(path)
        return PatternFile.model_validate(data).patterns
    except tomlfile.TomlProblem as exc:
        raise ScenarioError(path.name, [Problem(exc.path, exc.message)]) from None
    except pydantic.ValidationError as exc:
        raise ScenarioError(
            path.name, [Problem(p, m) for p, m in formatted(PatternFile, exc)]
        ) from None


def figure_names(patterns: list[Pattern]) -> dict[str, Figure]:
    """Every figure measured on the scenario's own runs, named ``PATTERN.figure``.

    Figures of patterns measured on another scenario's runs (``run = ...``) are left out.
    """
    return {
        f"{p.id}.{name}": fig for p in patterns if p.run is None for name, fig in p.figures.items()
    }


def figure_end(fig: Figure) -> dt.date | None:
    """The last date a figure reads (None when it reads to the end of the run)."""
    if fig.window is not None:
        return fig.window[1]
    return None


# -- measuring ---------------------------------------------------------------------------------


def _between(frame: pd.DataFrame, key: str, window: list[dt.date]) -> pd.Series:
    return (frame[key] >= pd.Timestamp(window[0])) & (frame[key] <= pd.Timestamp(window[1]))


def _daily_mean(
    sd: pd.DataFrame, sites: list[str] | None, window: list[dt.date], col: str
) -> float:
    mask = _between(sd, "date", window)
    if sites is not None:
        mask &= sd["site"].isin(sites)
    return float(sd.loc[mask, col].sum()) / pd.date_range(window[0], window[1]).size


def _first_month_above(sd: pd.DataFrame, site: str, other: str, start: dt.date) -> float:
    part = sd[sd["date"] >= pd.Timestamp(start)]
    monthly = (
        part.groupby([pd.Grouper(key="date", freq="MS"), "site"])["people_present"].mean().unstack()
    )
    if site not in monthly or other not in monthly:
        return math.nan
    ahead = monthly.index[monthly[site] > monthly[other]]
    if len(ahead) == 0:
        return math.nan
    first = ahead.min()
    return float((first.year - start.year) * 12 + first.month - start.month)


def _harm(results: Any, scenario: Any, window: list[dt.date]) -> tuple[pd.Series, pd.DataFrame]:  # noqa: ANN401
    from scenelab.observe.harm import harm_by_neighbourhood_month
    from scenelab.observe.outcomes import scenario_weights

    harm = harm_by_neighbourhood_month(results.neighbourhood_month, scenario_weights(scenario))
    part = harm[_between(harm, "month", window)]
    return part.groupby("neighbourhood")["harm"].sum(), part


def measure_figure(fig: Figure, results: Any, scenario: Any) -> float:  # noqa: ANN401
    """Measure one figure on one run's :class:`~scenelab.api.Results` (NaN if undefined)."""
    sd = results.site_day
    if fig.kind == "mean":
        if fig.table == "city_day":
            cd = results.city_day
            return float(cd.loc[_between(cd, "date", fig.window), fig.column].mean())
        return _daily_mean(sd, fig.sites, fig.window, fig.column)
    if fig.kind == "share":
        total = _daily_mean(sd, None, fig.window, "people_present")
        here = _daily_mean(sd, fig.sites or [fig.site], fig.window, "people_present")
        return here / total if total else 0.0
    if fig.kind == "sum":
        return float(sd.loc[_between(sd, "date", fig.window), fig.column].sum())
    if fig.kind == "first_month_above":
        return _first_month_above(sd, fig.site, fig.other, fig.start)
    if fig.kind == "survey":
        survey = results.survey
        if survey is None:
            return math.nan
        rows = survey[(survey["item"] == fig.item) & (survey["group"] == fig.group)]
        return float(rows["percent"].iloc[0]) if len(rows) else math.nan
    per, part = _harm(results, scenario, fig.window)
    total = float(per.sum())
    if fig.kind == "harm_share_centre":
        centre = [n.id for n in scenario.neighbourhoods if n.centre]
        return float(per[per.index.isin(centre)].sum()) / total if total else 0.0
    from scenelab.observe.equity import concentration_index

    deprivation = {n.id: n.deprivation for n in scenario.neighbourhoods}
    residents = part.groupby("neighbourhood")["residents"].first().reindex(per.index)
    return concentration_index(
        per.to_numpy(), [deprivation[n] for n in per.index], residents.to_numpy()
    )


_OPS = {
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


def holds(condition: Condition, figures: dict[str, float]) -> bool:
    """Whether one condition holds for measured figures (never when a figure is NaN)."""
    left = figures[condition.left]
    right = (
        condition.value
        if condition.right is None
        else condition.factor * figures[condition.right] + condition.offset
    )
    if math.isnan(left) or math.isnan(right):
        return False
    return bool(_OPS[condition.op](left, right))


def measure(pattern: Pattern, results: Any, scenario: Any) -> PatternResult:  # noqa: ANN401
    """Measure a pattern on one run of the scenario it is measured on."""
    figures = {name: measure_figure(f, results, scenario) for name, f in pattern.figures.items()}
    ok = all(holds(c, figures) for c in pattern.holds)
    return PatternResult(pattern.id, pattern.target, figures, ok)


def all_patterns(results: Any, scenario: Any) -> list[PatternResult]:  # noqa: ANN401
    """Measure every pattern of ``scenario`` that is measured on its own runs."""
    return [measure(p, results, scenario) for p in load_patterns(scenario) if p.run is None]


def pattern_table(scenario: Any, seeds: list[int], workers: int = 1) -> pd.DataFrame:  # noqa: ANN401
    """Run ``scenario`` (and any scenario a pattern names) once per seed; tabulate every figure.

    ``workers`` runs that many replicates at once (threads; the figures do not depend on it).

    Raises:
        ScenarioError: If the scenario defines no patterns, or its pattern file is invalid.
    """
    from scenelab.parallel import RunTask, run_many
    from scenelab.scenario.loader import load_scenario

    patterns = load_patterns(scenario)
    if not patterns:
        raise ScenarioError(
            scenario.source,
            [Problem("", "defines no observed patterns (put them in a .patterns.toml beside it)")],
        )
    others = {p.run: load_scenario(p.run) for p in patterns if p.run is not None}
    arms: dict[str | None, Any] = {None: scenario, **others}
    tasks = [RunTask(scn, seed) for seed in seeds for scn in arms.values()]
    done = iter(run_many(tasks, workers=workers))
    rows = []
    for seed in seeds:
        runs = {name: next(done) for name in arms}
        for p in patterns:
            found = measure(p, runs[p.run], others.get(p.run, scenario))
            for key, value in found.measured.items():
                rows.append(
                    {"pattern": p.id, "target": p.target, "seed": seed, "figure": key,
                     "value": value, "holds": found.holds}
                )  # fmt: skip
    return pd.DataFrame(rows)
