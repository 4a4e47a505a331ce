"""The scenario language: a closed, typed schema for one city and its strategy.

A scenario file (TOML) parses into these frozen objects. Unknown keys fail, units are explicit in
key names (``_hours``, ``_days``, ``_per_day``) or beside a parameter's value, and cross-references
(a plan naming a site, a policy naming a zone) are checked in one step by
:func:`scenelab.scenario.validate.check_references`. Nothing in a file is ever evaluated as code.

Types are strict: a number must be a TOML number (not ``"0.5"`` or ``true``), a flag a TOML boolean,
a date a TOML date (``2012-06-01``, unquoted); every number must be finite, and every size is
bounded by what the engine can allocate (the bounds below are stated in each error message).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, StringConstraints, model_validator

MAX_PEOPLE = 1_000_000
"""Most synthetic people (or housing units, OAT slots) a scenario may ask for (~0.6 GB of state)."""
MAX_SELLERS = 100_000
MAX_RESIDENTS = 100_000_000
MAX_SITES = 5_000
MAX_LIST = 10_000
"""Most entries in any other list (interventions, services, neighbourhoods, zones)."""
MAX_STAFF = 10_000.0
"""Most officers or workers in one plan, and most booths in one room."""
MAX_WEIGHT = 1e9
MAX_DAYS = 36_525
"""Longest waiting time or span in days (100 years)."""
MAX_RUN_YEARS = 60
MAX_SEED = 2**32 - 1

Id = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$", max_length=48)]
ScenarioName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_-]*$", max_length=64)]
Fraction = Annotated[float, Field(ge=0.0, le=1.0)]
NonNegative = Annotated[float, Field(ge=0.0)]
Weight = Annotated[float, Field(ge=0.0, le=MAX_WEIGHT)]
Hour = Annotated[int, Field(ge=0, le=24)]
StartHour = Annotated[int, Field(ge=0, le=23)]
SiteKind = Literal[
    "park", "street", "square", "station", "underpass", "service_hub", "quay", "disused_building"
]
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
    # strict: no "0.5" -> 0.5, true -> 1 or "2012-01-01" -> date; allow_inf_nan: finite only.
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)


class HourWindow(_Closed):
    """Hours of the day ``[from_hour, to_hour)``; ``to_hour < from_hour`` wraps past midnight."""

    from_hour: StartHour = 0
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
    seed: int = Field(1, ge=0, le=MAX_SEED)
    replicates: int = Field(1, ge=1, le=10_000)

    @model_validator(mode="after")
    def _ordered(self) -> RunSettings:
        if self.end <= self.start:
            raise ValueError(f"end ({self.end}) must be after start ({self.start})")
        if (self.end - self.start).days > MAX_RUN_YEARS * 366:
            raise ValueError(f"the run window may span at most {MAX_RUN_YEARS} years")
        return self


class Neighbourhood(_Closed):
    """An area whose residents and businesses carry a scene's nuisance."""

    id: Id
    name: str
    deprivation: Fraction = Field(description="Living-conditions deprivation, 1 = most deprived.")
    residents: int = Field(ge=0, le=MAX_RESIDENTS)
    businesses: int = Field(0, ge=0, le=MAX_RESIDENTS)
    centre: bool = False


class Site(_Closed):
    """A candidate place where an open scene can exist (whether or not one ever formed there).

    The attributes are what a person could measure on a visit: concealment, hygiene, footfall,
    homes nearby (``residential_exposure``), shelter from weather; distances to services follow
    from the coordinates. ``attractiveness`` is a user's explicit static pull: the model derives
    pull from stated causes (sellers there, services in reach, past use), so a non-zero value
    should say why in ``attractiveness_cause`` (``scenelab validate`` advises when it does not).
    """

    id: Id
    name: str
    kind: SiteKind
    neighbourhood: Id
    lat: float = Field(ge=-90.0, le=90.0)
    lon: float = Field(ge=-180.0, le=180.0)
    capacity_people: float = Field(gt=0.0, le=float(MAX_PEOPLE))
    concealment: Fraction
    hygiene: Fraction
    footfall: Fraction
    residential_exposure: Fraction = 0.0
    shelter: Fraction = Field(0.0, description="Cover from rain and wind, 0 = none, 1 = indoors.")
    attractiveness: float = Field(0.0, ge=-10.0, le=10.0)
    attractiveness_cause: str = Field("", max_length=2_000)
    initial_activity: Annotated[float, Field(ge=0.0, le=float(MAX_PEOPLE))] = 0.0
    open_at_start: bool = True


class Zone(_Closed):
    """A set of sites covered by one expulsion order or fine policy."""

    id: Id
    name: str = ""
    sites: list[Id] = Field(min_length=1, max_length=MAX_SITES)


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

    initial_people: int = Field(ge=1, le=MAX_PEOPLE)
    max_people: int = Field(ge=1, le=MAX_PEOPLE)
    share_women: Fraction
    substance_mix: SubstanceMix
    share_injecting: Fraction
    share_housed: Fraction
    share_in_oat: Fraction
    share_occasional: Fraction
    initial_sites: dict[Id, Weight] = Field(min_length=1, max_length=MAX_SITES)
    trust_mean: Fraction = 0.5
    trust_sd: Annotated[float, Field(ge=0.0, le=0.5)] = 0.15


class Sellers(_Closed):
    """Sellers at the start of the run: local ones stay, travelling ones come and go."""

    initial_local: int = Field(ge=0, le=MAX_SELLERS)
    initial_travelling: int = Field(ge=0, le=MAX_SELLERS)
    max_sellers: int = Field(ge=0, le=MAX_SELLERS)
    risk_tolerance_local: float = Field(1.0, gt=0.0, le=1e3)
    risk_tolerance_travelling: float = Field(0.5, gt=0.0, le=1e3)
    initial_sites: dict[Id, Weight] = Field(min_length=1, max_length=MAX_SITES)


class _Service(_Closed):
    id: Id
    name: str
    open_at_start: bool = True


class DropIn(_Service):
    """A low-threshold drop-in centre: help, shelter, and a pull on nearby scenes."""

    kind: Literal["drop_in"]
    lat: float = Field(ge=-90.0, le=90.0)
    lon: float = Field(ge=-180.0, le=180.0)
    staff: Annotated[float, Field(ge=0.0, le=MAX_STAFF)] = 2.0
    hours: HourWindow = HourWindow()
    days: Days = "all"


class Housing(_Service):
    """Supported housing units allocated to unhoused people on a waiting list."""

    kind: Literal["housing"]
    units: int = Field(ge=0, le=MAX_PEOPLE)
    allocation: Literal["longest_waiting", "most_in_scene", "random"] = "longest_waiting"
    max_allocations_per_month: int = Field(10, ge=0, le=MAX_PEOPLE)


class Oat(_Service):
    """Opioid agonist treatment: slots, waiting time and an optional low-threshold start."""

    kind: Literal["oat"]
    slots: int = Field(ge=0, le=MAX_PEOPLE)
    waiting_days: Annotated[float, Field(ge=0.0, le=MAX_DAYS)]
    low_threshold: bool = False
    low_threshold_waiting_days: Annotated[float, Field(ge=0.0, le=MAX_DAYS)] = 2.0


class InjectionRoom(_Service):
    """A supervised injection room: booths, hours and the substances its rules admit."""

    kind: Literal["injection_room"]
    lat: float = Field(ge=-90.0, le=90.0)
    lon: float = Field(ge=-180.0, le=180.0)
    booths: int = Field(ge=1, le=int(MAX_STAFF))
    capacity_injections_per_day: int = Field(ge=1, le=MAX_PEOPLE)
    hours: HourWindow = HourWindow(from_hour=8, to_hour=22)
    days: Days = "all"
    substances: list[Substance] = Field(min_length=1, max_length=3)
    open_at_start: bool = False


Service = Annotated[DropIn | Housing | Oat | InjectionRoom, Field(discriminator="kind")]
SERVICE_KINDS: tuple[str, ...] = ("drop_in", "housing", "oat", "injection_room")


class _Intervention(_Closed):
    start: dt.date
    note: str = Field("", max_length=2_000)
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
    sites: list[Id] = Field(min_length=1, max_length=MAX_SITES)
    mode: PoliceMode
    officers: Annotated[float, Field(ge=0.0, le=MAX_STAFF)] | None = None
    officer_hours_per_day: Annotated[float, Field(ge=0.0, le=24 * MAX_STAFF)] | None = None
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
    sites: list[Id] = Field(min_length=1, max_length=MAX_SITES)
    action_days: int = Field(ge=1, le=MAX_DAYS)
    officers: float = Field(gt=0.0, le=MAX_STAFF)
    hours: HourWindow = HourWindow(from_hour=10, to_hour=18)


class PoliceStrategy(_Timed):
    """Police as a force with a daily budget, deployed where police saw the scene.

    Each day, officer-hours go to the keep-clear sites where police saw the scene ``lag_days``
    ago (hot-spot allocation), never more than the budget; with ``max_officers_per_site`` no
    site gets more officers at once than that (a dosage limit), and the rest of the budget is
    not spent on the scene.
    """

    type: Literal["police_strategy"]
    officer_hours_per_day: Annotated[float, Field(gt=0.0, le=24 * MAX_STAFF)]
    keep_clear: list[Id] = Field(min_length=1, max_length=MAX_SITES)
    tolerated: list[Id] = Field(default_factory=list, max_length=MAX_SITES)
    hours: HourWindow = HourWindow()
    lag_days: int = Field(1, ge=1, le=30)
    max_officers_per_site: Annotated[float, Field(gt=0.0, le=MAX_STAFF)] | None = None


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
    amount_nok: Annotated[float, Field(ge=0.0, le=1e9)]


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
    units: int | None = Field(None, ge=0, le=MAX_PEOPLE)
    max_allocations_per_month: int | None = Field(None, ge=0, le=MAX_PEOPLE)
    slots: int | None = Field(None, ge=0, le=MAX_PEOPLE)
    waiting_days: Annotated[float, Field(ge=0.0, le=MAX_DAYS)] | None = None
    low_threshold: bool | None = None
    booths: int | None = Field(None, ge=1, le=int(MAX_STAFF))
    capacity_injections_per_day: int | None = Field(None, ge=1, le=MAX_PEOPLE)
    hours: HourWindow | None = None
    days: Days | None = None
    substances: list[Substance] | None = Field(None, min_length=1, max_length=3)
    staff: Annotated[float, Field(ge=0.0, le=MAX_STAFF)] | None = None

    def changes(self) -> dict[str, object]:
        """Return the fields this resize sets."""
        skip = {"type", "service", "start", "note", "id"}
        return {k: v for k, v in self if k not in skip and v is not None}


class Outreach(_Timed):
    """Outreach workers present at sites: help, and guardians against violence."""

    type: Literal["outreach"]
    sites: list[Id] = Field(min_length=1, max_length=MAX_SITES)
    staff: float = Field(gt=0.0, le=MAX_STAFF)
    hours: HourWindow = HourWindow(from_hour=10, to_hour=18)


Intervention = Annotated[
    CloseSite
    | OpenSite
    | PolicePlan
    | PoliceOperation
    | PoliceStrategy
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
    "police_strategy",
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
    prior: Annotated[list[float], Field(min_length=2, max_length=2)] | None = None
    note: str = Field("", max_length=2_000)


class Survey(_Closed):
    """A virtual survey of people found in the scenes (see docs/scenario-format.md)."""

    start: dt.date
    end: dt.date
    target_n: int = Field(ge=10, le=100_000)
    after_intervention: dt.date | None = None
    field_percent: dict[str, Annotated[float, Field(ge=0.0, le=100.0)]] = {}
    note: str = ""


MAX_NOK = 1e12
Nok = Annotated[float, Field(ge=0.0, le=MAX_NOK)]


class Costs(_Closed):
    """Unit costs in NOK replacing the defaults of ``scenelab/costs/unit_costs.toml``.

    Each key left out keeps its default (``docs/strategy-lab.md`` lists them with their sources and
    price years). ``site_closure_by_site`` sets the one-off cost of closing a named site.
    """

    police_officer_hour: Nok | None = None
    outreach_worker_hour: Nok | None = None
    housing_unit_year: Nok | None = None
    oat_slot_year: Nok | None = None
    injection_room_year: Nok | None = None
    injection_room_opening_hour: Nok | None = None
    drop_in_year: Nok | None = None
    site_closure: Nok | None = None
    site_closure_by_site: dict[Id, Nok] = Field({}, max_length=MAX_SITES)
    price_year: int | None = Field(
        None, ge=1900, le=2100, description="The price year of the values given here (a note)."
    )


class Scenario(_Closed):
    """A whole scenario file."""

    scenario: ScenarioInfo
    run: RunSettings
    neighbourhoods: list[Neighbourhood] = Field(min_length=1, max_length=MAX_LIST)
    sites: list[Site] = Field(min_length=1, max_length=MAX_SITES)
    zones: list[Zone] = Field([], max_length=MAX_LIST)
    population: Population
    sellers: Sellers
    services: list[Service] = Field([], max_length=MAX_LIST)
    interventions: list[Intervention] = Field([], max_length=MAX_LIST)
    parameters: dict[str, float | ParamEntry] = Field({}, max_length=1_000)
    survey: Survey | None = None
    harm_weights: dict[str, Annotated[float, Field(ge=0.0, le=1e7)]] | None = Field(
        None, max_length=100
    )
    costs: Costs | None = None

    @model_validator(mode="after")
    def _known_harm_weights(self) -> Scenario:
        """Harm weights (harm-days per event) name harm components (checked by observe.harm)."""
        if self.harm_weights:
            from scenelab.observe.harm import HarmWeights

            HarmWeights.from_mapping(self.harm_weights)
        return self

    _source: str = PrivateAttr("<memory>")
    _hash: str = PrivateAttr("")
    _folder: str | None = PrivateAttr(None)

    @property
    def name(self) -> str:
        """The scenario's id."""
        return self.scenario.name

    @property
    def source(self) -> str:
        """The file (or built-in name) the scenario came from."""
        return self._source

    @property
    def folder(self) -> str | None:
        """The folder of the file it came from (None for a built-in or text)."""
        return self._folder

    @property
    def scenario_hash(self) -> str:
        """SHA-256 of the canonical scenario content (not of its formatting)."""
        return self._hash

    def site_ids(self) -> list[str]:
        """Return the site ids in file order (the order of every site axis)."""
        return [s.id for s in self.sites]
