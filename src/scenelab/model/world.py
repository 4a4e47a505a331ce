"""Compile a scenario into the dense arrays the kernel reads: the city and its schedule.

Interventions are piecewise constant in time, so the schedule is stored per *epoch* (a run of days
in which nothing changes) rather than per day: memory grows with interventions x sites, not with
days x sites. ``epoch_of_day[d]`` maps a simulated day to its epoch.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import namedtuple

import numpy as np

from scenelab.scenario import schema as sc

MODE_NONE = -1
MODE_CODES: dict[str, int] = {mode: i for i, mode in enumerate(sc.POLICE_MODES)}
MODE_PATROL, MODE_RAIDS, MODE_NON_ENFORCEMENT, MODE_DIALOGUE = 0, 1, 2, 3
SUBSTANCE_CODES: dict[str, int] = {s: i for i, s in enumerate(sc.SUBSTANCES)}
ALLOCATION_CODES: dict[str, int] = {"longest_waiting": 0, "most_in_scene": 1, "random": 2}

World = namedtuple(
    "World",
    [
        "n_days", "start_weekday", "month_of_day",
        "site_lat", "site_lon", "site_cap", "site_conceal", "site_hygiene", "site_footfall",
        "site_resid", "site_shelter", "site_attr0", "site_nbhd", "site_near", "site_km",
        "zone_member",
        "epoch_of_day", "site_open",
        "officers", "mode", "raid_ohpd", "raid_window", "op_officers",
        "expel_prop", "expel_hours", "expel_zone", "fine_prop", "fine_amount",
        "outreach", "strat_ohpd", "strat_site", "strat_hours", "strat_lag", "strat_site_max",
        "dropin_hours", "dropin_weekdays", "dropin_staff", "dist_site_dropin",
        "sif_hours", "sif_weekdays", "sif_cap", "sif_subst", "dist_site_sif",
        "housing_units", "housing_alloc_month", "housing_rule",
        "oat_slots", "oat_wait_days",
    ],
)  # fmt: skip


def km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in km (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0 * math.asin(math.sqrt(a))


#: Cities with at most this many places get the matrix of distances between them (``site_km``).
N_KM_MATRIX = 1024


def site_distances(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Return the kernels' distance (``common.km``) between every pair of places, computed once.

    The same compiled ``km`` on the same coordinates, so every entry equals what a kernel would
    compute; a city of more than ``N_KM_MATRIX`` places gets an empty matrix (kernels then call
    ``km``), so memory stays bounded.
    """
    if lat.shape[0] > N_KM_MATRIX:
        return np.zeros((0, 0))
    from scenelab.model.mechanisms.common import km_matrix  # compiled: loaded on first use

    return km_matrix(lat, lon)


K_NEAR = 32
"""Places a scout can find from a site: its K_NEAR nearest others (bounded search, issue 11)."""


def nearest_sites(lat: np.ndarray, lon: np.ndarray, k: int = K_NEAR) -> np.ndarray:
    """Return each site's ``k`` nearest other sites, nearest first (-1 pads a short row).

    Computed in blocks of rows, so memory stays ``block x n_sites`` even for thousands of sites.
    """
    n = lat.shape[0]
    k_eff = min(k, n - 1)
    out = np.full((n, k), -1, dtype=np.int32)
    if k_eff <= 0:
        return out
    p, lam = np.radians(lat), np.radians(lon)
    for a in range(0, n, 256):
        b = min(n, a + 256)
        dp = p[None, :] - p[a:b, None]
        dl = lam[None, :] - lam[a:b, None]
        h = np.sin(dp / 2) ** 2 + np.cos(p[a:b, None]) * np.cos(p[None, :]) * np.sin(dl / 2) ** 2
        h[np.arange(b - a), np.arange(a, b)] = np.inf  # not itself
        part = np.argpartition(h, k_eff - 1, axis=1)[:, :k_eff]
        rows = np.arange(b - a)[:, None]
        order = np.argsort(h[rows, part], axis=1, kind="stable")
        out[a:b, :k_eff] = part[rows, order]
    return out


def _end(iv: sc.Intervention, run_end: dt.date) -> dt.date:
    return getattr(iv, "end", None) or run_end


def action_days(op: sc.PoliceOperation, run_end: dt.date) -> list[dt.date]:
    """Return the dates of an operation's action days, spread evenly from its start to its end."""
    span = (_end(op, run_end) - op.start).days + 1
    n = min(op.action_days, span)
    return [op.start + dt.timedelta(days=int(k * span / n)) for k in range(n)]


def change_days(scn: sc.Scenario) -> list[dt.date]:
    """Return the sorted dates on which anything in the schedule changes (epoch starts)."""
    days = {scn.run.start}
    for iv in scn.interventions:
        days.add(iv.start)
        end = getattr(iv, "end", None)
        if end is not None:
            days.add(end + dt.timedelta(days=1))
        if isinstance(iv, sc.PoliceOperation):
            for day in action_days(iv, scn.run.end):
                days.update({day, day + dt.timedelta(days=1)})
    return sorted(d for d in days if scn.run.start <= d <= scn.run.end)


def _service_state(scn: sc.Scenario, day: dt.date) -> dict[str, tuple[bool, dict[str, object]]]:
    """Return each service's (open, fields) on ``day`` after the interventions up to it."""
    state = {s.id: (s.open_at_start, s.model_dump()) for s in scn.services}
    for iv in sorted(scn.interventions, key=lambda x: x.start):
        if iv.start > day:
            break
        if isinstance(iv, sc.OpenService):
            state[iv.service] = (True, state[iv.service][1])
        elif isinstance(iv, sc.CloseService):
            state[iv.service] = (False, state[iv.service][1])
        elif isinstance(iv, sc.ResizeService):
            is_open, fields = state[iv.service]
            fields = dict(fields)
            for key, value in iv.changes().items():
                fields[key] = value.model_dump() if isinstance(value, sc.HourWindow) else value
            state[iv.service] = (is_open, fields)
    return state


def _hours(window: dict[str, int] | sc.HourWindow) -> list[int]:
    if isinstance(window, dict):
        window = sc.HourWindow(**window)
    return window.hours()


def compile_world(scn: sc.Scenario) -> World:
    """Compile a validated scenario into a :data:`World` of arrays (one pass per table)."""
    sites = scn.sites
    site_index = {s.id: i for i, s in enumerate(sites)}
    nbhd_index = {n.id: i for i, n in enumerate(scn.neighbourhoods)}
    zone_index = {z.id: i for i, z in enumerate(scn.zones)}
    n_sites, n_zones = len(sites), max(1, len(scn.zones))
    n_days = (scn.run.end - scn.run.start).days + 1

    epochs = change_days(scn)
    epoch_of_day = np.zeros(n_days, dtype=np.int32)
    for k, day in enumerate(epochs):
        epoch_of_day[(day - scn.run.start).days :] = k
    n_ep = len(epochs)

    zone_member = np.zeros((n_zones, n_sites), dtype=np.uint8)
    for z in scn.zones:
        for s in z.sites:
            zone_member[zone_index[z.id], site_index[s]] = 1

    site_open = np.zeros((n_ep, n_sites), dtype=np.uint8)
    officers = np.zeros((n_ep, n_sites, 24))
    mode = np.full((n_ep, n_sites), MODE_NONE, dtype=np.int8)
    raid_ohpd = np.zeros((n_ep, n_sites))
    raid_window = np.zeros((n_ep, n_sites, 24), dtype=np.uint8)
    op_officers = np.zeros((n_ep, n_sites, 24))
    expel_prop = np.zeros((n_ep, n_sites))
    expel_hours = np.zeros((n_ep, n_sites))
    expel_zone = np.full((n_ep, n_sites), -1, dtype=np.int32)
    fine_prop = np.zeros((n_ep, n_sites))
    fine_amount = np.zeros((n_ep, n_sites))
    outreach = np.zeros((n_ep, n_sites, 24))
    # police_strategy: daily officer-hours, sites to keep clear, hours on duty, observation lag
    strat_ohpd = np.zeros(n_ep)
    strat_site = np.zeros((n_ep, n_sites), dtype=np.uint8)
    strat_hours = np.zeros((n_ep, 24), dtype=np.uint8)
    strat_lag = np.ones(n_ep, dtype=np.int64)
    strat_site_max = np.full(n_ep, np.inf)  # most officers at one site at once (inf: no limit)

    by_kind: dict[str, list[sc.Service]] = {k: [] for k in sc.SERVICE_KINDS}
    for s in scn.services:
        by_kind[s.kind].append(s)
    n_di, n_sif = len(by_kind["drop_in"]), len(by_kind["injection_room"])
    n_ho, n_oat = len(by_kind["housing"]), len(by_kind["oat"])
    dropin_hours = np.zeros((n_ep, max(1, n_di), 24), dtype=np.uint8)
    dropin_weekdays = np.zeros((n_ep, max(1, n_di)), dtype=np.uint8)
    dropin_staff = np.zeros((n_ep, max(1, n_di)))
    sif_hours = np.zeros((n_ep, max(1, n_sif), 24), dtype=np.uint8)
    sif_weekdays = np.zeros((n_ep, max(1, n_sif)), dtype=np.uint8)
    sif_cap = np.zeros((n_ep, max(1, n_sif)), dtype=np.int64)
    sif_subst = np.zeros((n_ep, max(1, n_sif), 3), dtype=np.uint8)
    housing_units = np.zeros((n_ep, max(1, n_ho)), dtype=np.int64)
    housing_alloc_month = np.zeros((n_ep, max(1, n_ho)), dtype=np.int64)
    housing_rule = np.array(
        [ALLOCATION_CODES[h.allocation] for h in by_kind["housing"]] or [0], dtype=np.int8
    )
    oat_slots = np.zeros((n_ep, max(1, n_oat)), dtype=np.int64)
    oat_wait_days = np.zeros((n_ep, max(1, n_oat)))

    ordered = sorted(scn.interventions, key=lambda x: x.start)
    for k, day in enumerate(epochs):
        is_open = {s.id: s.open_at_start for s in sites}
        plan_start: dict[int, dt.date] = {}
        for iv in ordered:
            if iv.start > day:
                break
            active = iv.start <= day <= _end(iv, scn.run.end)
            if isinstance(iv, sc.CloseSite):
                is_open[iv.site] = False
            elif isinstance(iv, sc.OpenSite):
                is_open[iv.site] = True
            elif isinstance(iv, sc.PolicePlan) and active:
                hours = iv.hours.hours()
                for sid in iv.sites:
                    s = site_index[sid]
                    if plan_start.get(s, dt.date.min) > iv.start:
                        continue  # a plan started later already governs this site
                    plan_start[s] = iv.start
                    officers[k, s, :] = 0.0
                    raid_window[k, s, :] = 0
                    raid_ohpd[k, s] = 0.0
                    mode[k, s] = MODE_CODES[iv.mode]
                    if iv.mode == "reactive_raids":
                        raid_ohpd[k, s] = iv.officer_hours_per_day or (iv.officers or 0) * len(
                            hours
                        )
                        raid_window[k, s, hours] = 1
                    else:
                        per_hour = (
                            iv.officers
                            if iv.officers is not None
                            else (iv.officer_hours_per_day or 0.0) / len(hours)
                        )
                        officers[k, s, hours] = per_hour
            elif isinstance(iv, sc.PoliceOperation) and day in action_days(iv, scn.run.end):
                for sid in iv.sites:
                    op_officers[k, site_index[sid], iv.hours.hours()] += iv.officers
            elif isinstance(iv, sc.ExpulsionPolicy) and active:
                z = zone_index[iv.zone]
                for s in np.flatnonzero(zone_member[z]):
                    expel_prop[k, s] = iv.propensity
                    expel_hours[k, s] = iv.duration_hours
                    expel_zone[k, s] = z
            elif isinstance(iv, sc.FinePolicy) and active:
                z = zone_index[iv.zone]
                for s in np.flatnonzero(zone_member[z]):
                    fine_prop[k, s] = iv.propensity
                    fine_amount[k, s] = iv.amount_nok
            elif isinstance(iv, sc.PoliceStrategy) and active:
                # The latest strategy started governs the force (one force per city).
                strat_ohpd[k] = iv.officer_hours_per_day
                strat_site[k, :] = 0
                for zid in iv.keep_clear:
                    strat_site[k] |= zone_member[zone_index[zid]]
                for zid in iv.tolerated:
                    strat_site[k, zone_member[zone_index[zid]] == 1] = 0
                strat_hours[k, :] = 0
                strat_hours[k, iv.hours.hours()] = 1
                strat_lag[k] = iv.lag_days
                if iv.max_officers_per_site is not None:
                    strat_site_max[k] = iv.max_officers_per_site
            elif isinstance(iv, sc.Outreach) and active:
                for sid in iv.sites:
                    outreach[k, site_index[sid], iv.hours.hours()] += iv.staff
        for sid, flag in is_open.items():
            site_open[k, site_index[sid]] = 1 if flag else 0

        services = _service_state(scn, day)
        for j, svc in enumerate(by_kind["drop_in"]):
            svc_open, f = services[svc.id]
            if svc_open:
                dropin_hours[k, j, _hours(f["hours"])] = 1
                dropin_weekdays[k, j] = f["days"] == "weekdays"
                dropin_staff[k, j] = f["staff"]
        for j, svc in enumerate(by_kind["injection_room"]):
            svc_open, f = services[svc.id]
            if svc_open:
                sif_hours[k, j, _hours(f["hours"])] = 1
                sif_weekdays[k, j] = f["days"] == "weekdays"
                sif_cap[k, j] = f["capacity_injections_per_day"]
                for sub in f["substances"]:
                    sif_subst[k, j, SUBSTANCE_CODES[sub]] = 1
        for j, svc in enumerate(by_kind["housing"]):
            svc_open, f = services[svc.id]
            if svc_open:
                housing_units[k, j] = f["units"]
                housing_alloc_month[k, j] = f["max_allocations_per_month"]
        for j, svc in enumerate(by_kind["oat"]):
            svc_open, f = services[svc.id]
            if svc_open:
                oat_slots[k, j] = f["slots"]
                low = f["low_threshold"]
                oat_wait_days[k, j] = f["low_threshold_waiting_days"] if low else f["waiting_days"]

    def dist_to(kind: str) -> np.ndarray:
        out = np.full((n_sites, max(1, len(by_kind[kind]))), np.inf)
        for j, svc in enumerate(by_kind[kind]):
            for i, s in enumerate(sites):
                out[i, j] = km(s.lat, s.lon, svc.lat, svc.lon)
        return out

    lat, lon = np.array([s.lat for s in sites]), np.array([s.lon for s in sites])
    return World(
        n_days=n_days,
        start_weekday=scn.run.start.weekday(),
        month_of_day=np.array(
            [
                (d.year - scn.run.start.year) * 12 + d.month - scn.run.start.month
                for d in (scn.run.start + dt.timedelta(days=k) for k in range(n_days))
            ],
            dtype=np.int32,
        ),
        site_lat=lat,
        site_lon=lon,
        site_cap=np.array([s.capacity_people for s in sites]),
        site_conceal=np.array([s.concealment for s in sites]),
        site_hygiene=np.array([s.hygiene for s in sites]),
        site_footfall=np.array([s.footfall for s in sites]),
        site_resid=np.array([s.residential_exposure for s in sites]),
        site_shelter=np.array([s.shelter for s in sites]),
        site_attr0=np.array([s.attractiveness for s in sites]),
        site_nbhd=np.array([nbhd_index[s.neighbourhood] for s in sites], dtype=np.int32),
        site_near=nearest_sites(np.array([s.lat for s in sites]), np.array([s.lon for s in sites])),
        site_km=site_distances(lat, lon),
        zone_member=zone_member,
        epoch_of_day=epoch_of_day,
        site_open=site_open,
        officers=officers,
        mode=mode,
        raid_ohpd=raid_ohpd,
        raid_window=raid_window,
        op_officers=op_officers,
        expel_prop=expel_prop,
        expel_hours=expel_hours,
        expel_zone=expel_zone,
        fine_prop=fine_prop,
        fine_amount=fine_amount,
        outreach=outreach,
        strat_ohpd=strat_ohpd,
        strat_site=strat_site,
        strat_hours=strat_hours,
        strat_lag=strat_lag,
        strat_site_max=strat_site_max,
        dropin_hours=dropin_hours,
        dropin_weekdays=dropin_weekdays,
        dropin_staff=dropin_staff,
        dist_site_dropin=dist_to("drop_in"),
        sif_hours=sif_hours,
        sif_weekdays=sif_weekdays,
        sif_cap=sif_cap,
        sif_subst=sif_subst,
        dist_site_sif=dist_to("injection_room"),
        housing_units=housing_units,
        housing_alloc_month=housing_alloc_month,
        housing_rule=housing_rule,
        oat_slots=oat_slots,
        oat_wait_days=oat_wait_days,
    )
