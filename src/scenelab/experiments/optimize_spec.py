"""The closed schema of an optimize file: a base scenario, strategy levers, objectives, a budget.

An optimize file (TOML, read as data only) declares what a strategy search may change (the
*levers*, each one decision variable or a few, each mapped to a concrete edit of the scenario
format, see :mod:`scenelab.experiments.optimize_levers`), what it measures (the *objectives*,
all minimised or maximised over the strategy window, from ``start`` to ``until``), optional
*constraints* on those quantities (e.g. cost at most a budget) and the search settings. Problems
are reported as :class:`~scenelab.experiments.spec.SpecError` with the file and the key path,
like experiment files.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, PrivateAttr, model_validator

from scenelab.experiments.spec import SpecError, _Closed, _parse, _read_toml

Id = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=48)]
Substance = Literal["opioids", "stimulants", "poly"]
OptimizeModelName = Literal["scenelab", "zdt1"]

#: Built-in objectives: ``name -> (outcome, description)``. The ``window_`` outcomes are measured
#: over the strategy window only (``start`` .. ``until``) by the code of ``compare``'s verdict
#: (see ``optimize_model.window_outcomes``).
OBJECTIVES: dict[str, tuple[str, str]] = {
    "total_harm": ("window_harm", "composite harm, harm-days per month"),
    "deprived_share": (
        "window_share_most_deprived",
        "share of harm in the most deprived fifth of residents",
    ),
    "deprived_harm": (
        "window_harm_most_deprived",
        "harm in the most deprived fifth of residents, harm-days per month",
    ),
    "deprived_concentration": (
        "window_concentration_index",
        "concentration index of harm by deprivation (> 0: on the deprived)",
    ),
    "harm_women": ("window_harm_women", "harm to women, harm-days over the run"),
    "scene_size": ("window_scene_size", "people present in the scenes, daily mean"),
    "cost": ("window_cost_total", "cost of the strategy over the window, NOK"),
}


class _Lever(_Closed):
    """Fields every lever shares."""

    step: float | None = Field(
        default=None, gt=0.0, description="round the searched value to this step"
    )


class _Ranged(_Lever):
    low: float = Field(ge=0.0)
    high: float = Field(ge=0.0)

    @model_validator(mode="after")
    def _ordered(self) -> _Ranged:
        if not self.low < self.high:
            raise ValueError(f"low must be < high (got low={self.low}, high={self.high})")
        return self


class Window(_Closed):
    """Hours of the day ``[from_hour, to_hour)`` (as in scenario files)."""

    from_hour: int = Field(default=0, ge=0, le=23)
    to_hour: int = Field(default=24, ge=0, le=24)


class PoliceBudgetLever(_Ranged):
    """Officer-hours per day keeping zones clear (one ``police_strategy`` per zone in ``areas``).

    With ``split = true`` and two or more areas, the share of the budget each area gets is
    searched too (one weight per area, normalised); otherwise areas share it equally.
    """

    kind: Literal["police_budget"]
    areas: list[Id] = Field(min_length=1, max_length=20, description="zone ids")
    split: bool = False
    hours: Window = Window()
    lag_days: int = Field(default=1, ge=1, le=30)


class ExpulsionLever(_Ranged):
    """Propensity of an ``expulsion_policy`` in ``zone`` (0 = no policy)."""

    kind: Literal["expulsion"]
    zone: Id
    low: float = Field(default=0.0, ge=0.0, le=1.0)
    high: float = Field(default=1.0, ge=0.0, le=1.0)
    duration_hours: float = Field(default=24.0, gt=0.0, le=24 * 365)


class FineLever(_Ranged):
    """Propensity of a ``fine_policy`` in ``zone`` (0 = no policy)."""

    kind: Literal["fine"]
    zone: Id
    low: float = Field(default=0.0, ge=0.0, le=1.0)
    high: float = Field(default=1.0, ge=0.0, le=1.0)
    amount_nok: float = Field(default=3000.0, ge=0.0, le=1e9)


CapacityField = Literal[
    "units", "slots", "booths", "capacity_injections_per_day", "staff", "max_allocations_per_month"
]
INTEGER_FIELDS = frozenset(
    {"units", "slots", "booths", "capacity_injections_per_day", "max_allocations_per_month"}
)


class CapacityLever(_Ranged):
    """A service's capacity (``resize_service`` of one field from ``start``)."""

    kind: Literal["service_capacity"]
    service: Id
    field: CapacityField


class OpeningHoursLever(_Ranged):
    """Hours a service is open each day, from ``from_hour`` (``resize_service`` of ``hours``)."""

    kind: Literal["opening_hours"]
    service: Id
    from_hour: int = Field(default=8, ge=0, le=23)
    low: float = Field(default=1.0, ge=1.0, le=24.0)
    high: float = Field(default=24.0, ge=1.0, le=24.0)


class Place(_Closed):
    """A candidate place for an injection room."""

    id: Id
    name: str = ""
    lat: float = Field(ge=-90.0, le=90.0)
    lon: float = Field(ge=-180.0, le=180.0)


class InjectionRoomLever(_Lever):
    """Where an injection room opens on ``start`` (or none), and which substances it admits."""

    kind: Literal["injection_room"]
    places: list[Place] = Field(min_length=1, max_length=50)
    allow_none: bool = True
    booths: int = Field(default=6, ge=1, le=10_000)
    capacity_injections_per_day: int = Field(default=100, ge=1, le=1_000_000)
    hours: Window = Window(from_hour=8, to_hour=22)
    days: Literal["all", "weekdays"] = "all"
    substances: list[list[Substance]] = Field(
        default_factory=lambda: [["opioids", "stimulants", "poly"]], min_length=1, max_length=7
    )

    @model_validator(mode="after")
    def _check(self) -> InjectionRoomLever:
        for k, choice in enumerate(self.substances):
            if not choice or len(set(choice)) != len(choice):
                raise ValueError(f"substances[{k}] must list distinct substances, at least one")
        ids = [p.id for p in self.places]
        if len(set(ids)) != len(ids):
            raise ValueError("place ids must be unique")
        return self


class CloseSiteLever(_Lever):
    """Close ``site`` on ``start``, or not."""

    kind: Literal["close_site"]
    site: Id


class ParameterLever(_Ranged):
    """A model parameter (a run override, canonical units), e.g. ZDT1's ``x1``."""

    kind: Literal["parameter"]
    low: float
    high: float
    parameter: str | None = Field(default=None, description="default: the lever's name")


Lever = Annotated[
    PoliceBudgetLever
    | ExpulsionLever
    | FineLever
    | CapacityLever
    | OpeningHoursLever
    | InjectionRoomLever
    | CloseSiteLever
    | ParameterLever,
    Field(discriminator="kind"),
]


class Objective(_Closed):
    """One quantity to minimise or maximise, by built-in name or by ``outcome``."""

    name: str = Field(pattern=r"^[A-Za-z0-9_]+$", max_length=80)
    sense: Literal["min", "max"] = "min"
    outcome: str | None = Field(default=None, description="a Results.outcomes name")

    @property
    def outcome_name(self) -> str:
        """The stored outcome this objective reads."""
        return self.outcome or OBJECTIVES[self.name][0]


class Constraint(_Closed):
    """Bounds on an objective's mean (e.g. cost at most the budget)."""

    objective: str
    max: float | None = None
    min: float | None = None

    @model_validator(mode="after")
    def _one(self) -> Constraint:
        if self.max is None and self.min is None:
            raise ValueError("give max, min or both")
        if self.max is not None and self.min is not None and not self.min < self.max:
            raise ValueError(f"min must be < max (got min={self.min}, max={self.max})")
        return self


class ZoneSpec(_Closed):
    """A zone added to the base scenario (as a variant may add one), e.g. for a police area."""

    id: Id
    name: str = ""
    sites: list[Id] = Field(min_length=1, max_length=5_000)


class OptimizeSection(_Closed):
    """The ``[optimize]`` table."""

    name: str = Field(pattern=r"^[A-Za-z0-9_.\-]+$", max_length=80)
    description: str = ""
    model: OptimizeModelName = "scenelab"
    scenario: str = Field(default="bergen", min_length=1)
    start: dt.date | None = Field(default=None, description="scenelab: strategies start here")
    until: dt.date | None = None
    drop_interventions: list[str] = Field(default_factory=list, max_length=10_000)
    seed: int = Field(default=0, ge=0, lt=2**32)
    replicates: int = Field(default=2, ge=1, le=1_000)
    population_size: int = Field(default=12, ge=4, le=10_000)
    generations: int = Field(default=5, ge=1, le=10_000)
    batch_size: int = Field(default=1, ge=1, le=100_000)
    conf_level: float = Field(default=0.95, gt=0.0, lt=1.0)


class OptimizeSpec(_Closed):
    """A whole optimize file."""

    optimize: OptimizeSection
    levers: dict[Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=40)], Lever] = Field(
        min_length=1, max_length=200
    )
    objectives: list[Objective] = Field(min_length=1, max_length=10)
    constraints: list[Constraint] = Field(default_factory=list, max_length=10)
    zones: list[ZoneSpec] = Field(default_factory=list, max_length=1_000)

    _source: Path | None = PrivateAttr(default=None)
    _label: str | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _check(self) -> OptimizeSpec:
        o = self.optimize
        names = [ob.name for ob in self.objectives]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"objective names must be unique; repeated: {', '.join(dupes)}")
        for ob in self.objectives:
            if ob.outcome is None and ob.name not in OBJECTIVES:
                raise ValueError(
                    f"objective {ob.name!r} is not built in; give outcome = '<Results.outcomes "
                    f"name>' or use one of: {', '.join(OBJECTIVES)}"
                )
        for c in self.constraints:
            if c.objective not in names:
                raise ValueError(
                    f"constraint on {c.objective!r}: not an objective; valid choices: "
                    f"{', '.join(names)}"
                )
        scenario_kinds = [k for k, lv in self.levers.items() if lv.kind != "parameter"]
        for name, lv in self.levers.items():
            if lv.kind == "police_budget" and len(set(lv.areas)) != len(lv.areas):
                raise ValueError(f"levers.{name}.areas: a zone is listed twice")
        if o.model == "scenelab":
            if o.start is None:
                raise ValueError(
                    "model 'scenelab' needs optimize.start (the date strategies start)"
                )
            if o.until is not None and o.until < o.start:
                raise ValueError(f"until ({o.until}) is before start ({o.start})")
        else:
            if scenario_kinds:
                raise ValueError(
                    f"model {o.model!r} has no scenario: levers {', '.join(scenario_kinds)} must "
                    "be kind 'parameter'"
                )
            bad = [ob.name for ob in self.objectives if ob.outcome is None]
            if bad:
                raise ValueError(
                    f"model {o.model!r}: objectives {', '.join(bad)} need outcome = '<name>'"
                )
        return self

    @property
    def source(self) -> Path | None:
        """The file this spec was read from, if any."""
        return self._source

    @property
    def label(self) -> str | None:
        """How error messages name this spec."""
        return str(self._source) if self._source is not None else self._label

    @property
    def base_dir(self) -> Path:
        """Directory a relative base scenario path is resolved against."""
        return self._source.parent if self._source is not None else Path.cwd()


def parse_optimize(data: dict[str, Any], file: str | Path | None = None) -> OptimizeSpec:
    """Validate optimize data already read from a file or built in code.

    Args:
        data: The parsed TOML content.
        file: Where it came from (for messages only).

    Returns:
        The validated spec.

    Raises:
        SpecError: Naming the file, key path and valid choices for every problem.
    """
    spec: OptimizeSpec = _parse(OptimizeSpec, data, file)
    spec._label = str(file) if file is not None else None
    return spec


def load_optimize(path: str | Path) -> OptimizeSpec:
    """Read and validate an optimize file.

    Args:
        path: A ``.toml`` optimize file.

    Returns:
        The validated spec.

    Raises:
        SpecError: If the file cannot be read, is not TOML or does not fit the schema.
    """
    path = Path(path)
    spec = parse_optimize(_read_toml(path), path)
    spec._source = path.resolve()
    return spec


__all__ = ["OBJECTIVES", "OptimizeSpec", "SpecError", "load_optimize", "parse_optimize"]
