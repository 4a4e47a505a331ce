"""One validation step: pydantic errors and cross-references, as file: key path: valid choices."""

from __future__ import annotations

import difflib
import math

import pydantic

from scenelab.model.params import BY_NAME
from scenelab.pydantic_errors import is_member_tag, key_path
from scenelab.pydantic_errors import problems as formatted
from scenelab.scenario import schema as sc
from scenelab.scenario.errors import Problem
from scenelab.scenario.units import convert, valid_units

_ID_HINT = "use lower-case ASCII letters, digits and _, starting with a letter"

# Parameters a kernel divides by (or takes the logit of): zero would make a rate undefined.
STRICTLY_POSITIVE: frozenset[str] = frozenset(
    {"dur_visit_hours", "n_market_reference", "raid_officers", "ratio_bad_good", "dur_raid_hours"}
)
OPEN_PROBABILITY: frozenset[str] = frozenset({"p_unsafe_base"})
PARAMETER_SPAN = 100.0
"""A parameter may lie within +-100 times the largest magnitude of its prior range."""


def parameter_problem(name: str, value: object) -> str | None:
    """Return why ``value`` (canonical unit) is not a valid value of parameter ``name``, or None.

    A valid value is a finite number, inside [0, 1] for probabilities (strictly inside for
    :data:`OPEN_PROBABILITY`), positive where a kernel divides by it (:data:`STRICTLY_POSITIVE`),
    non-negative unless the unit is a utility, and within :data:`PARAMETER_SPAN` times its prior
    range (larger values overflow the model's exponentials).
    """
    spec = BY_NAME.get(name)
    if spec is None:
        return _choices(name, sorted(BY_NAME), "parameter")
    if isinstance(value, bool) or not isinstance(value, int | float):
        return f"{value!r} is not a number"
    if not math.isfinite(value):
        return f"{value!r} is not a finite number"
    if spec.unit == "probability":
        if name in OPEN_PROBABILITY and not 0.0 < value < 1.0:
            return f"{value:g} must lie strictly between 0 and 1"
        if not 0.0 <= value <= 1.0:
            return f"{value:g} is not a probability; valid values are 0 to 1"
        return None
    if name in STRICTLY_POSITIVE and value <= 0.0:
        return f"{value:g} must be > 0 (the model divides by it)"
    if value < 0.0 and spec.unit != "utility":
        return f"{value:g} is negative; a {spec.unit} value must be >= 0"
    bound = PARAMETER_SPAN * max(abs(spec.low), abs(spec.high), 1.0)
    if abs(value) > bound:
        return f"{value:g} is out of range; valid values lie within +-{bound:g}"
    return None


def pydantic_problems(exc: pydantic.ValidationError) -> list[Problem]:
    """Turn a pydantic ValidationError into problems with key paths and valid choices."""
    problems: list[Problem] = []
    for err, (path, message) in zip(
        exc.errors(), formatted(sc.Scenario, exc, id_hint=_ID_HINT), strict=True
    ):
        loc = err["loc"]
        if len(loc) >= 3 and loc[0] == "parameters" and is_member_tag(loc[2]):
            # One message for a parameter, whatever member of ``float | ParamEntry`` was tried.
            path = key_path(sc.Scenario, loc[:2])
            if any(p.path == path for p in problems):
                continue
            message = (
                'must be a finite number or a table { value = ..., unit = "..." } '
                f"(got {err.get('input')!r})"
            )
        problems.append(Problem(path, message))
    return problems


_MAX_LISTED = 25
"""Longest list of valid choices written out in a message; longer ones point to a command."""


def _choices(name: str, valid: list[str], what: str) -> str:
    close = difflib.get_close_matches(name, valid, n=1)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    if len(valid) > _MAX_LISTED:
        where = "`scenelab params`" if what == "parameter" else "the file"
        return f"'{name}' is not a {what}{hint}; {where} lists all {len(valid)}"
    return f"'{name}' is not a {what}{hint}; {what}s are: {', '.join(valid)}"


def check_references(scn: sc.Scenario) -> list[Problem]:
    """Check every cross-reference and cross-field rule of a parsed scenario."""
    problems: list[Problem] = []
    add = problems.append
    for section in ("neighbourhoods", "sites", "zones", "services"):
        seen: set[str] = set()
        for i, item in enumerate(getattr(scn, section)):
            if item.id in seen:
                add(Problem(f"{section}[{i}].id", f"duplicate id '{item.id}'"))
            seen.add(item.id)
    nbhds = [n.id for n in scn.neighbourhoods]
    sites = scn.site_ids()
    zones = [z.id for z in scn.zones]
    services = {s.id: s for s in scn.services}

    def site_ok(path: str, site: str) -> None:
        if site not in sites:
            add(Problem(path, _choices(site, sites, "site")))

    for i, s in enumerate(scn.sites):
        if s.neighbourhood not in nbhds:
            add(
                Problem(
                    f"sites[{i}].neighbourhood", _choices(s.neighbourhood, nbhds, "neighbourhood")
                )
            )
    for i, z in enumerate(scn.zones):
        for j, site in enumerate(z.sites):
            site_ok(f"zones[{i}].sites[{j}]", site)
    if scn.costs is not None:
        for site in scn.costs.site_closure_by_site:
            site_ok(f"costs.site_closure_by_site.{site}", site)
    for section in ("population", "sellers"):
        weights = getattr(scn, section).initial_sites
        for site in weights:
            site_ok(f"{section}.initial_sites.{site}", site)
        if sum(weights.values()) <= 0:
            add(Problem(f"{section}.initial_sites", "weights must not all be zero"))
    if sum(n.residents for n in scn.neighbourhoods) <= 0:
        add(
            Problem(
                "neighbourhoods",
                "residents are zero in every neighbourhood; harm per resident and the equity "
                "indices need at least one neighbourhood with residents > 0",
            )
        )
    if scn.population.initial_people > scn.population.max_people:
        add(Problem("population.max_people", "must be at least population.initial_people"))
    if scn.sellers.initial_local + scn.sellers.initial_travelling > scn.sellers.max_sellers:
        add(Problem("sellers.max_sellers", "must be at least initial_local + initial_travelling"))

    named: set[str] = set()
    for i, iv in enumerate(scn.interventions):
        here = f"interventions[{i}]"
        if iv.id is not None:
            if iv.id in named:
                add(Problem(f"{here}.id", f"duplicate intervention id '{iv.id}'"))
            named.add(iv.id)
        if not scn.run.start <= iv.start <= scn.run.end:
            add(
                Problem(
                    f"{here}.start",
                    f"{iv.start} is outside the run window {scn.run.start} .. {scn.run.end}",
                )
            )
        end = getattr(iv, "end", None)
        if end is not None and end < iv.start:
            add(Problem(f"{here}.end", f"{end} is before start {iv.start}"))
        if hasattr(iv, "site"):
            site_ok(f"{here}.site", iv.site)
        for j, site in enumerate(getattr(iv, "sites", [])):
            site_ok(f"{here}.sites[{j}]", site)
        if hasattr(iv, "zone") and iv.zone not in zones:
            add(
                Problem(
                    f"{here}.zone",
                    _choices(iv.zone, zones, "zone")
                    if zones
                    else f"'{iv.zone}' is not a zone; the scenario defines no zones",
                )
            )
        if isinstance(iv, sc.PoliceStrategy):
            for field in ("keep_clear", "tolerated"):
                for j, zone in enumerate(getattr(iv, field)):
                    if zone not in zones:
                        add(Problem(f"{here}.{field}[{j}]", _choices(zone, zones, "zone")))
        if hasattr(iv, "service"):
            if iv.service not in services:
                add(Problem(f"{here}.service", _choices(iv.service, list(services), "service")))
            elif isinstance(iv, sc.ResizeService):
                target = services[iv.service]
                allowed = set(type(target).model_fields)
                for key in iv.changes():
                    if key not in allowed:
                        valid = sorted(
                            allowed
                            - {
                                "id",
                                "name",
                                "kind",
                                "open_at_start",
                                "lat",
                                "lon",
                                "allocation",
                                "low_threshold_waiting_days",
                            }
                        )
                        add(
                            Problem(
                                f"{here}.{key}",
                                f"a {target.kind} service has no '{key}'; "
                                f"it can resize: {', '.join(valid)}",
                            )
                        )
        if isinstance(iv, sc.PoliceOperation) and iv.end is not None:
            span = (iv.end - iv.start).days + 1
            if iv.action_days > span:
                add(
                    Problem(
                        f"{here}.action_days",
                        f"{iv.action_days} action days do not fit in {span} days",
                    )
                )

    for name, entry in scn.parameters.items():
        here = f"parameters.{name}"
        spec = BY_NAME.get(name)
        if spec is None:
            add(Problem(here, _choices(name, sorted(BY_NAME), "parameter")))
            continue
        value = entry.value if isinstance(entry, sc.ParamEntry) else float(entry)
        if isinstance(entry, sc.ParamEntry):
            try:
                if entry.unit is not None:
                    value = convert(entry.value, entry.unit, spec.unit)
            except ValueError as exc:
                add(Problem(f"{here}.unit", str(exc)))
            if entry.prior is not None and not entry.prior[0] < entry.prior[1]:
                add(Problem(f"{here}.prior", "prior must be [low, high] with low < high"))
        message = parameter_problem(name, value)
        if message is not None:
            add(Problem(here, message))
    if scn.survey is not None:
        sv = scn.survey
        if sv.end < sv.start:
            add(Problem("survey.end", f"{sv.end} is before start {sv.start}"))
        if not (scn.run.start <= sv.start and sv.end <= scn.run.end):
            add(Problem("survey", "survey window must lie inside the run window"))
        if sv.after_intervention is not None and not (
            scn.run.start <= sv.after_intervention <= sv.start
        ):
            add(
                Problem(
                    "survey.after_intervention",
                    f"{sv.after_intervention} must lie between "
                    f"the run's start and the survey's start",
                )
            )
        from scenelab.observe.survey import ITEMS

        for key in sv.field_percent:
            if key not in ITEMS:
                add(Problem(f"survey.field_percent.{key}", _choices(key, list(ITEMS), "item")))
    return problems


def resolved_parameters(scn: sc.Scenario) -> dict[str, tuple[float, float, float]]:
    """Return ``name -> (value, low, high)`` in canonical units for every parameter."""
    out = {name: (p.default, p.low, p.high) for name, p in BY_NAME.items()}
    for name, entry in scn.parameters.items():
        spec = BY_NAME[name]
        value, low, high = out[name]
        if isinstance(entry, sc.ParamEntry):
            unit = entry.unit or spec.unit
            value = convert(entry.value, unit, spec.unit)
            if entry.prior is not None:
                low, high = (convert(v, unit, spec.unit) for v in entry.prior)
        else:
            value = float(entry)
        out[name] = (value, low, high)
    return out


def valid_units_for(name: str) -> list[str]:
    """Return the units accepted for parameter ``name``."""
    return valid_units(BY_NAME[name].unit)
