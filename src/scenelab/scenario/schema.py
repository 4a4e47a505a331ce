"""The scenario language: a closed, typed schema for one city and its strategy.

A scenario file (TOML) parses into these frozen objects. Unknown keys fail, units are explicit in
key names (``_hours``, ``_days``, ``_per_day``) or beside a parameter's value, and cross-references
(a plan naming a site, a policy naming a zone) are checked in one step by
:func:`scenelab.scenario.validate.check_references`. Nothing in a file is ever evaluated as code.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, StringConstraints, model_validator

Id = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$", max_length=48)]
ScenarioName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_-]*$", max_length=64)]
Fraction = Annotated[float, Field(ge=0.0, le=1.0)]
NonNegative = Annotated[float, Field(ge=0.0)]
Hour = Annotated[int, Field(ge=0, le=24)]
SiteKind = Literal["park", "street", "square", "station", "underpass", "service_hub"]
Substance = Literal["opioids", "stimulants", "poly"]
PoliceMode = Literal["continuous_patrol", "reactive_raids", "non_enforcement", "dialogue"]
Days = Literal["all", "weekdays"]

SUBSTANCES: tuple[str, ...] = ("opioids", "stimulants", "poly")
POLICE_MODES: tuple[str, ...] = (
    "continuous_patrol",
    "reactive_raids",
    "non_enforcement",
    "dialogue",
)


class _Closed(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class HourWindow(_Closed):
    """Hours of the day ``[from_hour, to_hour)``; ``to_hour < from_hour`` wraps past midnight."""

    from_hour: Hour = 0
    to_hour: Hour = 24

    @model_validator(mode="after")
    def _not_empty(self) -> HourWindow:
        if self.from_hour == self.to_hour:
            raise ValueError("from_hour and to_hour are equal: the window is empty")
        return self

    def hours(self) -> list[int]:
        """Return the hours (0-23) the window covers."""
        if self.from_hour < self.to_hour:
            return list(range(self.from_hour, self.to_hour))
        return list(range(self.from_hour, 24)) + list(range(0, self.to_hour))


class ScenarioInfo(_Closed):
    """What the scenario is."""

    name: ScenarioName
    title: str
    description: str = ""


class RunSettings(_Closed):
    """Simulated window and defaults for seeds and replicates."""

    start: dt.date
    end: dt.date
    tick_hours: Literal[1] = Field(1, description="Only hourly ticks: shifts and opening hours.")
    seed: int = Field(1, ge=0)
    replicates: int = Field(1, ge=1, le=10_000)

    @model_validator(mode="after")
    def _ordered(self) -> RunSettings:
        if self.end <= self.start:
            raise ValueError(f"end ({self.end}) must be after start ({self.start})")
        return self


class Neighbourhood(_Closed):
    """An area whose residents and businesses carry a scene's nuisance."""

    id: Id
    name: str
    deprivation: Fraction = Field(description="Living-conditions deprivation, 1 = most deprived.")
    residents: int = Field(ge=0)
    businesses: int = Field(0, ge=0)
    centre: bool = False


class Site(_Closed):
    """A place where an open scene can exist."""

    id: Id
    name: str
    kind: SiteKind
    neighbourhood: Id
    lat: float = Field(ge=-90.0, le=90.0)
    lon: float = Field(ge=-180.0, le=180.0)
    capacity_people: float = Field(gt=0.0)
    concealment: Fraction
    hygiene: Fraction
    footfall: Fraction
    residential_exposure: Fraction = 0.0
    attractiveness: float = Field(0.0, ge=-10.0, le=10.0)
    initial_activity: NonNegative = 0.0
    open_at_start: bool = True


class Zone(_Closed):
    """A set of sites covered by one expulsion order or fine policy."""

    id: Id
    name: str = ""
    sites: list[Id] = Field(min_length=1)


class SubstanceMix(_Closed):
    """Shares of primary substance; they must sum to 1."""

    opioids: Fraction
    stimulants: Fraction
    poly: Fraction

    @model_validator(mode="after")
    def _sums_to_one(self) -> SubstanceMix:
        total = self.opioids + self.stimulants + self.poly
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"shares must sum to 1, they sum to {total:g}")
        return self


class Population(_Closed):
    """The synthetic people who use the scenes at the start of the run."""

    initial_people: int = Field(ge=1)
    max_people: int = Field(ge=1)
    share_women: Fraction
    substance_mix: SubstanceMix
    share_injecting: Fraction
    share_housed: Fraction
    share_in_oat: Fraction
    share_occasional: Fraction
    initial_sites: dict[Id, NonNegative] = Field(min_length=1)
    trust_mean: Fraction = 0.5
    trust_sd: Annotated[float, Field(ge=0.0, le=0.5)] = 0.15


class Sellers(_Closed):
    """Sellers at the start of the run: local ones stay, travelling ones come and go."""

    initial_local: int = Field(ge=0)
    initial_travelling: int = Field(ge=0)
    max_sellers: int = Field(ge=0)
    risk_tolerance_local: float = Field(1.0, gt=0.0)
    risk_tolerance_travelling: float = Field(0.5, gt=0.0)
    initial_sites: dict[Id, NonNegative] = Field(min_length=1)


class _Service(_Closed):
    id: Id
    name: str
    open_at_start: bool = True


class DropIn(_Service):
    """A low-threshold drop-in centre: help, shelter, and a pull on nearby scenes."""

    kind: Literal["drop_in"]
    lat: float = Field(ge=-90.0, le=90.0)
    lon: float = Field(ge=-180.0, le=180.0)
    staff: NonNegative = 2.0
    hours: HourWindow = HourWindow()
    days: Days = "all"


class Housing(_Service):
    """Supported housing units allocated to unhoused people on a waiting list."""

    kind: Literal["housing"]
    units: int = Field(ge=0)
    allocation: Literal["longest_waiting", "most_in_scene", "random"] = "longest_waiting"
    max_allocations_per_month: int = Field(10, ge=0)


class Oat(_Service):
    """Opioid agonist treatment: slots, waiting time and an optional low-threshold start."""

    kind: Literal["oat"]
    slots: int = Field(ge=0)
    waiting_days: NonNegative
    low_threshold: bool = False
    low_threshold_waiting_days: NonNegative = 2.0


class InjectionRoom(_Service):
    """A supervised injection room: booths, hours and the substances its rules admit."""

    kind: Literal["injection_room"]
    lat: float = Field(ge=-90.0, le=90.0)
    lon: float = Field(ge=-180.0, le=180.0)
    booths: int = Field(ge=1)
    capacity_injections_per_day: int = Field(ge=1)
    hours: HourWindow = HourWindow(from_hour=8, to_hour=22)
    days: Days = "all"
    substances: list[Substance] = Field(min_length=1)
    open_at_start: bool = False


Service = Annotated[DropIn | Housing | Oat | InjectionRoom, Field(discriminator="kind")]
SERVICE_KINDS: tuple[str, ...] = ("drop_in", "housing", "oat", "injection_room")


class _Intervention(_Closed):
    start: dt.date
    note: str = ""
    id: Id | None = Field(None, description="Optional name, so a variant can drop it.")


class _Timed(_Intervention):
    end: dt.date | None = None


class CloseSite(_Intervention):
    """Close (fence, clear) a site: nobody can choose it until it reopens."""

    type: Literal["close_site"]
    site: Id


class OpenSite(_Intervention):
    """Reopen a closed site."""

    type: Literal["open_site"]
    site: Id


class PolicePlan(_Timed):
    """Police presence at sites for a period; the latest plan started wins for a site."""

    type: Literal["police_plan"]
    sites: list[Id] = Field(min_length=1)
    mode: PoliceMode
    officers: NonNegative | None = None
    officer_hours_per_day: NonNegative | None = None
    hours: HourWindow = HourWindow()

    @model_validator(mode="after")
    def _one_size(self) -> PolicePlan:
        if (self.officers is None) == (self.officer_hours_per_day is None):
            raise ValueError(
                "give exactly one of officers (present during hours) or officer_hours_per_day"
            )
        return self


class PoliceOperation(_Timed):
    """A one-off operation: ``action_days`` days spread evenly from start to end."""

    type: Literal["police_operation"]
    sites: list[Id] = Field(min_length=1)
    action_days: int = Field(ge=1)
    officers: float = Field(gt=0.0)
    hours: HourWindow = HourWindow(from_hour=10, to_hour=18)


class ExpulsionPolicy(_Timed):
    """Controls in a zone may end in an order banning the person from the zone for a period."""

    type: Literal["expulsion_policy"]
    zone: Id
    propensity: Fraction
    duration_hours: float = Field(gt=0.0, le=24 * 365)


class FinePolicy(_Timed):
    """Controls in a zone may end in a fine."""

    type: Literal["fine_policy"]
    zone: Id
    propensity: Fraction
    amount_nok: NonNegative


class OpenService(_Intervention):
    """Open a service."""

    type: Literal["open_service"]
    service: Id


class CloseService(_Intervention):
    """Close a service."""

    type: Literal["close_service"]
    service: Id


class ResizeService(_Intervention):
    """Change a service's capacity or rules; only fields of that service's kind are allowed."""

    type: Literal["resize_service"]
    service: Id
    units: int | None = Field(None, ge=0)
    max_allocations_per_month: int | None = Field(None, ge=0)
    slots: int | None = Field(None, ge=0)
    waiting_days: NonNegative | None = None
    low_threshold: bool | None = None
    booths: int | None = Field(None, ge=1)
    capacity_injections_per_day: int | None = Field(None, ge=1)
    hours: HourWindow | None = None
    days: Days | None = None
    substances: list[Substance] | None = None
    staff: NonNegative | None = None

    def changes(self) -> dict[str, object]:
        """Return the fields this resize sets."""
        skip = {"type", "service", "start", "note", "id"}
        return {k: v for k, v in self if k not in skip and v is not None}


class Outreach(_Timed):
    """Outreach workers present at sites: help, and guardians against violence."""

    type: Literal["outreach"]
    sites: list[Id] = Field(min_length=1)
    staff: float = Field(gt=0.0)
    hours: HourWindow = HourWindow(from_hour=10, to_hour=18)


Intervention = Annotated[
    CloseSite
    | OpenSite
    | PolicePlan
    | PoliceOperation
    | ExpulsionPolicy
    | FinePolicy
    | OpenService
    | CloseService
    | ResizeService
    | Outreach,
    Field(discriminator="type"),
]
INTERVENTION_TYPES: tuple[str, ...] = (
    "close_site",
    "open_site",
    "police_plan",
    "police_operation",
    "expulsion_policy",
    "fine_policy",
    "open_service",
    "close_service",
    "resize_service",
    "outreach",
)


class ParamEntry(_Closed):
    """A parameter value with an explicit unit and, optionally, its prior range."""

    value: float
    unit: str | None = None
    prior: tuple[float, float] | None = None
    note: str = ""


class Survey(_Closed):
    """A virtual survey of people found in the scenes (see docs/scenario-format.md)."""

    start: dt.date
    end: dt.date
    target_n: int = Field(ge=10, le=100_000)
    after_intervention: dt.date | None = None
    field_percent: dict[str, Annotated[float, Field(ge=0.0, le=100.0)]] = {}
    note: str = ""


class Scenario(_Closed):
    """A whole scenario file."""

    scenario: ScenarioInfo
    run: RunSettings
    neighbourhoods: list[Neighbourhood] = Field(min_length=1)
    sites: list[Site] = Field(min_length=1)
    zones: list[Zone] = []
    population: Population
    sellers: Sellers
    services: list[Service] = []
    interventions: list[Intervention] = []
    parameters: dict[str, float | ParamEntry] = {}
    survey: Survey | None = None

    _source: str = PrivateAttr("<memory>")
    _hash: str = PrivateAttr("")

    @property
    def name(self) -> str:
        """The scenario's id."""
        return self.scenario.name

    @property
    def source(self) -> str:
        """The file (or built-in name) the scenario came from."""
        return self._source

    @property
    def scenario_hash(self) -> str:
        """SHA-256 of the canonical scenario content (not of its formatting)."""
        return self._hash

    def site_ids(self) -> list[str]:
        """Return the site ids in file order (the order of every site axis)."""
        return [s.id for s in self.sites]
