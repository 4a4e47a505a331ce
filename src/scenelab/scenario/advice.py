"""Warnings for likely mistakes that are not errors: the file is valid, but probably not meant.

``validate`` and ``run`` print them, ``summary.json`` lists them and the report shows them. Each
names the key and says what will happen, e.g. an injection room out of reach of every place is
valid, but nobody will use it.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from scenelab.model.world import km
from scenelab.scenario import schema as sc

CAPACITY_SHARE = 0.1
"""Warn when the open places together hold fewer than this share of the starting population."""
FIND_RANGE = 4.0
"""With scouting on, a place nobody knows is warned about when every other place is more than this
many ``scout_distance_km`` away: a scout finds it with chance below exp(-4), about 2%, a search."""


@dataclass(frozen=True)
class Advice:
    """One warning: the key path it is about and what will happen."""

    path: str
    message: str

    def line(self, source: str) -> str:
        """Return ``source: warning: path: message``."""
        return f"{source}: warning: {self.path}: {self.message}"


def records(items: list[Advice]) -> list[dict[str, str]]:
    """Return warnings as ``{"path", "message"}`` records (``summary.json``)."""
    return [{"path": a.path, "message": a.message} for a in items]


def advise(scn: sc.Scenario, until: dt.date | None = None) -> list[Advice]:
    """Return the warnings for a valid scenario (run up to ``until``, default its end)."""
    from scenelab.scenario.validate import resolved_parameters

    par = {name: value for name, (value, _, _) in resolved_parameters(scn).items()}
    out: list[Advice] = []
    out += _services_out_of_reach(scn, par["reach_service_km"])
    out += _unknown_places(scn, par)
    out += _uncaused_attractiveness(scn)
    out += _capacity(scn)
    out += _no_op_interventions(scn)
    out += _cut_windows(scn, until)
    return out


def _located_services(scn: sc.Scenario) -> list[tuple[int, sc.DropIn | sc.InjectionRoom]]:
    return [
        (i, s) for i, s in enumerate(scn.services) if isinstance(s, sc.DropIn | sc.InjectionRoom)
    ]


def _services_out_of_reach(scn: sc.Scenario, reach: float) -> list[Advice]:
    out = []
    for i, svc in _located_services(scn):
        nearest, site = min((km(svc.lat, svc.lon, s.lat, s.lon), s.name) for s in scn.sites)
        if nearest > reach:
            what = "injection room" if svc.kind == "injection_room" else "drop-in centre"
            out.append(
                Advice(
                    f"services[{i}]",
                    f"the {what} '{svc.id}' is {nearest:.2f} km from the nearest place ({site}); "
                    f"services serve and pull places within reach_service_km = {reach:g} km, so "
                    "nobody in the scenes will use it (move it, or add the places near it)",
                )
            )
    return out


def _unknown_sites(scn: sc.Scenario, reach: float, n_main: int) -> list[tuple[int, sc.Site]]:
    """Return the places nobody knows at the start and no start, service or pull leads to."""
    starts = set(scn.population.initial_sites) | set(scn.sellers.initial_sites)
    near_service = {
        s.id
        for _, svc in _located_services(scn)
        for s in scn.sites
        if km(svc.lat, svc.lon, s.lat, s.lon) <= reach
    }
    ranked = sorted(scn.sites, key=lambda s: -(s.attractiveness + s.initial_activity))
    known = starts | near_service | {s.id for s in ranked[:n_main]}
    return [(i, site) for i, site in enumerate(scn.sites) if site.id not in known]


def _unknown_places(scn: sc.Scenario, par: dict[str, float]) -> list[Advice]:
    reach, n_main = par["reach_service_km"], int(round(par["n_main_scenes"]))
    unknown = _unknown_sites(scn, reach, n_main)
    if par["rate_scout_per_hour"] <= 0.0:
        return [
            Advice(
                f"sites[{i}]",
                f"nobody knows '{site.id}' at the start and nothing leads people to it: nobody "
                "starts there (initial_sites), no drop-in or injection room is within "
                f"reach_service_km = {reach:g} km, and it is not among the {n_main} most "
                "attractive places (n_main_scenes); it can gain people only if it becomes "
                "one of the largest scenes, so it will most likely stay empty",
            )
            for i, site in unknown
        ]
    # With scouting on, an unknown place is found from places near it, unless it is remote.
    scout_km = par["scout_distance_km"]
    out = []
    for i, site in unknown:
        d = min(
            (km(site.lat, site.lon, o.lat, o.lon) for o in scn.sites if o.id != site.id),
            default=math.inf,
        )
        if d > FIND_RANGE * scout_km:
            out.append(
                Advice(
                    f"sites[{i}]",
                    f"nobody knows '{site.id}' at the start and it is {d:.1f} km from the "
                    "nearest other place: a displaced person scouting finds a place d km "
                    "away with chance exp(-d / scout_distance_km) = "
                    f"{_find_chance(d, scout_km)} a search, so it will most likely stay empty",
                )
            )
    return out


def _find_chance(d: float, scale: float) -> str:
    return f"{math.exp(-d / scale):.1%}" if scale > 0 else "0%"


def _uncaused_attractiveness(scn: sc.Scenario) -> list[Advice]:
    """Static pull given without a stated cause (issue 11: no hindsight constants)."""
    return [
        Advice(
            f"sites[{i}].attractiveness",
            f"'{site.id}' has a static attractiveness of {site.attractiveness:g} without an "
            "attractiveness_cause: the model already derives pull from sellers there, services "
            "in reach and past use (initial_activity); say why this place draws people, or "
            "leave it at 0",
        )
        for i, site in enumerate(scn.sites)
        if site.attractiveness != 0.0 and not site.attractiveness_cause.strip()
    ]


def _capacity(scn: sc.Scenario) -> list[Advice]:
    open_capacity = sum(s.capacity_people for s in scn.sites if s.open_at_start)
    people = scn.population.initial_people
    if open_capacity < CAPACITY_SHARE * people:
        return [
            Advice(
                "sites",
                f"the places open at the start hold {open_capacity:g} people before crowding, "
                f"under {CAPACITY_SHARE:.0%} of the {people} people at the start: every scene "
                "will be crowded from the first day (check capacity_people)",
            )
        ]
    return []


def _no_op_interventions(scn: sc.Scenario) -> list[Advice]:
    """Interventions that change nothing, found by replaying the schedule in date order."""
    site_open = {s.id: s.open_at_start for s in scn.sites}
    service_open = {s.id: s.open_at_start for s in scn.services}
    service_fields = {s.id: s.model_dump() for s in scn.services}
    order = sorted(range(len(scn.interventions)), key=lambda k: scn.interventions[k].start)
    out = []
    for k in order:
        iv = scn.interventions[k]
        here = f"interventions[{k}]"
        if isinstance(iv, sc.CloseSite):
            if not site_open[iv.site]:
                out.append(Advice(here, f"closes '{iv.site}', which is already closed then"))
            site_open[iv.site] = False
        elif isinstance(iv, sc.OpenSite):
            if site_open[iv.site]:
                out.append(Advice(here, f"opens '{iv.site}', which is already open then"))
            site_open[iv.site] = True
        elif isinstance(iv, sc.OpenService | sc.CloseService):
            opening = isinstance(iv, sc.OpenService)
            if service_open[iv.service] == opening:
                state = "open" if opening else "closed"
                out.append(Advice(here, f"'{iv.service}' is already {state} then"))
            service_open[iv.service] = opening
        elif isinstance(iv, sc.ResizeService):
            current = service_fields[iv.service]
            changes = {
                key: (value.model_dump() if isinstance(value, sc.HourWindow) else value)
                for key, value in iv.changes().items()
            }
            if all(current.get(key) == value for key, value in changes.items()):
                out.append(
                    Advice(here, f"resizes '{iv.service}' to the values it already has then")
                )
            current.update(changes)
        elif isinstance(iv, sc.PolicePlan | sc.PoliceOperation | sc.Outreach):
            closed = [s for s in iv.sites if not _open_during(scn, s, iv.start, _end(iv, scn))]
            if closed:
                out.append(
                    Advice(
                        here,
                        f"{iv.type} at {', '.join(closed)}, closed for the whole period "
                        f"{iv.start} .. {_end(iv, scn)}: nobody is there to meet",
                    )
                )
    return out


def _end(iv: sc.Intervention, scn: sc.Scenario) -> dt.date:
    return getattr(iv, "end", None) or scn.run.end


def _open_during(scn: sc.Scenario, site: str, first: dt.date, last: dt.date) -> bool:
    """Whether ``site`` is open on any day from ``first`` to ``last``."""
    state = next(s.open_at_start for s in scn.sites if s.id == site)
    changes = sorted(
        (iv.start, isinstance(iv, sc.OpenSite))
        for iv in scn.interventions
        if isinstance(iv, sc.CloseSite | sc.OpenSite) and iv.site == site
    )
    for day, opens in changes:
        if day <= first:
            state = opens
    return state or any(opens and first < day <= last for day, opens in changes)


def _cut_windows(scn: sc.Scenario, until: dt.date | None) -> list[Advice]:
    if until is None or until >= scn.run.end:
        return []
    out = []
    if scn.survey is not None and scn.survey.end > until:
        out.append(
            Advice(
                "survey",
                f"the survey's fieldwork ends {scn.survey.end}, after the run stops ({until}): "
                "the run has no survey table and no survey_* outcomes",
            )
        )
    late = [k for k, iv in enumerate(scn.interventions) if iv.start > until]
    if late:
        out.append(
            Advice(
                "interventions",
                f"{len(late)} intervention(s) start after the run stops ({until}) and have no "
                f"effect (first: interventions[{late[0]}], {scn.interventions[late[0]].start})",
            )
        )
    return out
