"""The simulation state as a struct of arrays: people, sellers, sites, and the recorded outcomes.

People and sellers are fixed-capacity arrays, one per attribute, declared once below with dtype
and meaning; a slot is never reused, so a person's index is stable for the whole run (and so are
their random draws). Nothing here can hold a real person's identity: the only identifiers are array
positions of synthetic people.
"""

from __future__ import annotations

import tomllib
from collections import namedtuple
from pathlib import Path

import numpy as np

from scenelab.model.metrics import CD, SD
from scenelab.model.params import IDX
from scenelab.model.world import World
from scenelab.scenario import schema as sc

K_KNOWN = 6  # sites a person knows (habit slots); the choice set adds the main scenes
M_MEMORY = 3  # sites a person remembers police encounters at
K_SELLER_KNOWN = 4  # sites a seller knows of from customers (most recently heard kept)
N_SERVICE_SITES = 8  # the site nearest each open drop-in, known to everyone (they use the services)
SEEN_DAYS = 32  # days of police observations kept (police_strategy lag_days is at most 30)

STATUS_EMPTY, STATUS_ACTIVE, STATUS_EXITED = 0, 1, 2
EXIT_NONE, EXIT_MOVED, EXIT_OVERDOSE, EXIT_OAT, EXIT_HOUSED, EXIT_OCCASIONAL = 0, 1, 2, 3, 4, 5
OAT_NONE, OAT_WAITING, OAT_IN = 0, 1, 2

# name: (dtype, fill, meaning). The order is the namedtuple's field order.
PEOPLE_FIELDS: dict[str, tuple[type, float, str]] = {
    "status": (np.int8, STATUS_EMPTY, "0 empty slot, 1 in the scene population, 2 exited"),
    "sex": (np.int8, 0, "0 man, 1 woman"),
    "substance": (np.int8, 0, "primary substance: 0 opioids, 1 stimulants, 2 poly"),
    "injects": (np.int8, 0, "1 if the person injects"),
    "occasional": (np.int8, 0, "1 for an occasional buyer (low attachment)"),
    "demeanour": (
        np.float64,
        0.0,
        "confrontational demeanour (normal, sd 1; mean 0 for men, demeanour_shift_women for women)",
    ),
    "housed": (np.int8, 0, "1 if housed"),
    "housing_wait_day": (np.int32, -1, "day joined the housing waiting list, -1 if not on it"),
    "oat": (np.int8, OAT_NONE, "0 none, 1 waiting, 2 in treatment"),
    "oat_ready_day": (np.int32, -1, "day the OAT wait ends"),
    "trust": (np.float64, 0.5, "trust in the police, 0-1"),
    "trust0": (np.float64, 0.5, "baseline trust the person drifts back to"),
    "site": (np.int32, -1, "site present at this hour, -1 off the scene"),
    "away_until": (np.int64, -1, "tick until which the person is in custody"),
    "ban_zone": (np.int32, -1, "zone of the active expulsion order, -1 none"),
    "ban_until": (np.int64, -1, "tick the expulsion order expires"),
    "ban_comply": (np.int8, 1, "1 if the person keeps out of the banned zone"),
    "fines_owed": (np.float64, 0.0, "NOK of fines owed"),
    "n_controls": (np.int32, 0, "police controls experienced"),
    "n_bad_contacts": (np.int32, 0, "police contacts experienced as bad"),
    "n_good_contacts": (np.int32, 0, "police contacts experienced as good"),
    "n_expulsions": (np.int32, 0, "expulsion orders received"),
    "n_fines": (np.int32, 0, "fines received"),
    "hours_present": (np.int64, 0, "hours present at open scenes"),
    "survey_hours": (np.float64, 0.0, "hours present at scenes within the survey window"),
    "survey_controls": (np.int32, 0, "police controls up to the survey window's end"),
    "victim_tick": (np.int64, -1, "tick of the last violent victimisation, -1 never"),
    "victim_public": (
        np.int8,
        0,
        "1 if the last victimisation was in public (scene site or street)",
    ),
    "n_victim": (np.int32, 0, "violent victimisations"),
    "sexual_ever": (np.int8, 0, "1 if ever subjected to sexual violence in the milieu"),
    "witness_tick": (np.int64, -1, "tick of the last violence witnessed, -1 never"),
    "n_overdoses": (np.int32, 0, "overdoses"),
    "seizure_until": (np.int64, -1, "tick until which overdose risk is raised by a confiscation"),
    "days_needing_help": (
        np.int32,
        0,
        "days at the scene while unhoused, or using opioids and not in OAT",
    ),
    "days_helped": (np.int32, 0, "of those, days with help from a service"),
    "helped_today": (np.int8, 0, "scratch: helped by a service today"),
    "programme_housed": (np.int8, 0, "1 if housed by a scenario housing service"),
    "at_scene_today": (np.int8, 0, "scratch: present at a scene today"),
    "entry_day": (np.int32, -1, "day the person joined the scene population"),
    "exit_day": (np.int32, -1, "day the person left it"),
    "exit_reason": (
        np.int8,
        EXIT_NONE,
        "0 none, 1 moved/other, 2 overdose death, 3 OAT, 4 housed, 5 occasional",
    ),
}
_DTYPES = {"int8": np.int8, "int32": np.int32, "int64": np.int64, "float64": np.float64}


def declared_people_fields(directory: Path | None = None) -> dict[str, tuple[type, float, str]]:
    """Per-person state that mechanisms declare in their own files, in tick order.

    A mechanism that needs an attribute of its own declares it beside its parameters, in its
    ``mechanisms/<name>.toml``::

        [state.people]
        times_moved = { dtype = "int32", fill = 0, text = "scene moves this person made" }

    and reads it in its kernel as ``P.times_moved``; nothing else needs an edit. Attributes many
    mechanisms share stay in :data:`PEOPLE_FIELDS` above.

    Raises:
        ValueError: For an unknown dtype, a missing key, or a name declared twice.
    """
    from scenelab.model.params import MECHANISM_DIR
    from scenelab.model.phases import PHASE_ORDER

    folder = directory or MECHANISM_DIR
    out: dict[str, tuple[type, float, str]] = {}
    for module in PHASE_ORDER:
        path = folder / f"{module}.toml"
        if not path.exists():
            continue
        table = tomllib.loads(path.read_text("utf-8")).get("state", {}).get("people", {})
        for name, row in table.items():
            if set(row) != {"dtype", "fill", "text"} or row["dtype"] not in _DTYPES:
                raise ValueError(
                    f"{path.name}: state.people.{name} needs dtype (one of "
                    f"{', '.join(_DTYPES)}), fill and text"
                )
            if name in _CORE_PEOPLE_FIELDS or name in out:
                raise ValueError(f"{path.name}: state.people.{name} is declared twice")
            out[name] = (_DTYPES[row["dtype"]], float(row["fill"]), str(row["text"]))
    return out


_CORE_PEOPLE_FIELDS = dict(PEOPLE_FIELDS)
PEOPLE_FIELDS.update(declared_people_fields())

#: Per-person matrices (one row per person): name -> (columns, meaning).
PEOPLE_MATRICES: dict[str, tuple[int, str]] = {
    "known": (K_KNOWN, "sites the person knows (habit slots), -1 for an empty slot"),
    "fam": (K_KNOWN, "familiarity with each known site, 0-1 (habit)"),
    "mem_site": (
        M_MEMORY,
        "sites at which the person remembers police encounters, -1 for an empty slot",
    ),
    "mem_risk": (M_MEMORY, "remembered police risk at each of those sites (decays daily)"),
}
People = namedtuple("People", [*PEOPLE_FIELDS, *PEOPLE_MATRICES])

SELLER_FIELDS: dict[str, tuple[type, float, str]] = {
    "status": (np.int8, STATUS_EMPTY, "0 empty, 1 active, 2 exited"),
    "travelling": (np.int8, 0, "1 for a travelling/foreign seller"),
    "risk_tol": (np.float64, 1.0, "risk tolerance"),
    "site": (np.int32, -1, "site the seller works"),
    "home": (np.int32, -1, "a local seller's turf (initial site), -1 for travelling sellers"),
    "away_until": (np.int64, -1, "tick until which the seller is in custody"),
}
#: Per-seller matrices (one row per seller): name -> (columns, meaning).
SELLER_MATRICES: dict[str, tuple[int, str]] = {
    "known": (
        K_SELLER_KNOWN,
        "sites the seller knows of (worked at or heard of from customers), -1 for an empty slot",
    ),
    "heard": (K_SELLER_KNOWN, "tick the seller last worked at or heard of each known site"),
}
Sellers = namedtuple("Sellers", [*SELLER_FIELDS, *SELLER_MATRICES])

#: The sites' dynamic state and scratch buffers: name -> meaning. The order is the namedtuple's.
SITE_FIELDS: dict[str, str] = {
    "attr_b": "per site: activity-built attractiveness B (builds with use, decays)",
    "reputation": "per site: police-risk reputation (rises with enforcement events, decays)",
    "n_now": "per site: people present this hour (after site choice)",
    "n_smooth": "per site: exponentially smoothed head count, what people and sellers see",
    "sellers_now": "per site: sellers present this hour",
    "officers_now": "per site: officers present this hour (plan + raid + operation)",
    "guard_now": "per site: police guardianship this hour (officers weighted by mode)",
    "staff_now": "per site: outreach staff present this hour",
    "control_now": "per site: police control capacity this hour (controls per hour)",
    "p_bad_now": "per site: chance a police contact this hour is experienced as bad",
    "p_arrest_now": "per site: chance a control this hour ends in custody",
    "pull_now": "per site: number of open drop-in centres within reach this hour",
    "help_now": "per site: 1 if help (drop-in within reach or outreach) is available this hour",
    "service_sites": "open site nearest each open drop-in, within reach (in everyone's choice set)",
    "main": "the city's current main scenes, largest first (known to everyone)",
    "raid_start": "per site: start hour of today's reactive raid, -1 none",
    "seen_now": "per site: visible person-hours police have seen so far today (police_strategy)",
    "seen_days": "per day slot (day mod 32) and site: visible person-hours police saw that day",
    "strat_officers": "per site: officers per duty hour today from the police strategy",
    "order": "scratch: person slots sorted by site for this hour",
    "offsets": "scratch: start of each site's people in `order`",
    "sif_used": "per injection room: injections used today",
    "counters": (
        "city-wide counters: people slots used, seller slots used, housing allocations this "
        "month, people housed by the programme, entrants turned away (slots full), length of "
        "`active`, length of `present`"
    ),
    "active": (
        "people slots in the scene population, ascending: the first counters[5] entries; rebuilt "
        "daily by entry_exit, so it may still hold people who died since (loops check status)"
    ),
    "present": (
        "people at a site after this hour's site choice, ascending: the first counters[6] "
        "entries (police may have removed some since; site choice checks their site)"
    ),
    "visibility0": "the scenes' visibility at the start (reference for recruitment)",
    "members": "scratch: the people still at each site after policing (violence)",
    "weight_cum": "scratch: cumulative victim weights of `members`, for drawing victims",
    "site_term": "scratch: the site-only part of the choice utility, computed once per tick",
    "choice_cand": "scratch: a person's choice set (site choice)",
    "choice_util": "scratch: the utilities, then the weights, of `choice_cand`",
    "choice_fam": "scratch: the person's familiarity with each site of `choice_cand`",
    "choice_mark": "scratch: per site, the last person whose choice set holds it this tick",
    "need": (
        "scratch: people with something to do this hour (site choice), who scout (discovery), "
        "who inject (injection)"
    ),
    "present_new": "scratch: this hour's `present`, built while last hour's is read",
    "fill": "scratch: next free position of each site in `order` (counting sort)",
    "seller_util": "scratch: a seller's choice set's utilities, then weights (sellers)",
    "arrive_of": "scratch: the hour's chance of arriving per class (occasional, housed, OAT bits)",
    "below_of": "scratch: per-class 53-bit thresholds of the hour (8 entries)",
    "injectors": "scratch: the people who inject this hour, listed by discovery's first pass",
    "injectors_for": "the tick `injectors` was listed for (-1: none yet) and its length",
}
SiteState = namedtuple("SiteState", list(SITE_FIELDS))
# counters: 0 people slots used, 1 seller slots used, 2 housing placements this month,
# 3 people housed by programme, 4 full-people warnings, 5 length of `active`, 6 length of
# `present`; members and
# weight_cum are scratch buffers

# The recorded outputs; their columns are the metric registry's (``model.metrics``).
Out = namedtuple("Out", ["site_day", "city_day"])


def _alloc(fields: dict[str, tuple[type, float, str]], n: int) -> dict[str, np.ndarray]:
    return {name: np.full(n, fill, dtype=dtype) for name, (dtype, fill, _) in fields.items()}


def _pick(rng: np.random.Generator, weights: dict[str, float], site_ids: list[str], n: int):
    ids = list(weights)
    p = np.array([weights[i] for i in ids], dtype=float)
    idx = rng.choice(len(ids), size=n, p=p / p.sum())
    lookup = np.array([site_ids.index(i) for i in ids], dtype=np.int32)
    return lookup[idx]


def new_people(scn: sc.Scenario, rng: np.random.Generator, par: np.ndarray) -> People:
    """Create the initial synthetic population from the scenario's population section."""
    pop = scn.population
    n_max, n0 = pop.max_people, pop.initial_people
    arr = _alloc(PEOPLE_FIELDS, n_max)
    site_ids = scn.site_ids()
    mix = pop.substance_mix
    arr["status"][:n0] = STATUS_ACTIVE
    arr["sex"][:n0] = rng.random(n0) < pop.share_women
    arr["substance"][:n0] = rng.choice(3, size=n0, p=[mix.opioids, mix.stimulants, mix.poly])
    arr["injects"][:n0] = rng.random(n0) < pop.share_injecting
    arr["occasional"][:n0] = rng.random(n0) < pop.share_occasional
    arr["demeanour"][:n0] = (
        rng.standard_normal(n0) + par[IDX["demeanour_shift_women"]] * arr["sex"][:n0]
    )
    arr["housed"][:n0] = rng.random(n0) < pop.share_housed
    on_oat = (rng.random(n0) < pop.share_in_oat) & (arr["substance"][:n0] != 1)
    arr["oat"][:n0] = np.where(on_oat, OAT_IN, OAT_NONE)
    trust = np.clip(rng.normal(pop.trust_mean, pop.trust_sd, n0), 0.0, 1.0)
    arr["trust"][:n0] = trust
    arr["trust0"][:n0] = trust
    arr["entry_day"][:n0] = 0
    known = np.full((n_max, K_KNOWN), -1, dtype=np.int32)
    fam = np.zeros((n_max, K_KNOWN))
    known[:n0, 0] = _pick(rng, pop.initial_sites, site_ids, n0)
    fam[:n0, 0] = np.where(arr["occasional"][:n0] == 1, 0.3, 0.8)
    return People(
        **arr,
        known=known,
        fam=fam,
        mem_site=np.full((n_max, M_MEMORY), -1, dtype=np.int32),
        mem_risk=np.zeros((n_max, M_MEMORY)),
    )


def new_sellers(scn: sc.Scenario, rng: np.random.Generator) -> Sellers:
    """Create the initial sellers from the scenario's sellers section."""
    spec = scn.sellers
    n_max = max(1, spec.max_sellers)
    arr = _alloc(SELLER_FIELDS, n_max)
    n_local, n_trav = spec.initial_local, spec.initial_travelling
    n0 = n_local + n_trav
    arr["status"][:n0] = STATUS_ACTIVE
    arr["travelling"][n_local:n0] = 1
    arr["risk_tol"][:n_local] = spec.risk_tolerance_local
    arr["risk_tol"][n_local:n0] = spec.risk_tolerance_travelling
    known = np.full((n_max, K_SELLER_KNOWN), -1, dtype=np.int32)
    if n0:
        arr["site"][:n0] = _pick(rng, spec.initial_sites, scn.site_ids(), n0)
        arr["home"][:n_local] = arr["site"][:n_local]
        known[:n0, 0] = arr["site"][:n0]  # a seller knows only where they work; customers tell more
    heard = np.full((n_max, K_SELLER_KNOWN), -1, dtype=np.int64)
    heard[:n0, 0] = 0
    return Sellers(**arr, known=known, heard=heard)


def new_site_state(scn: sc.Scenario, world: World, n_main: int) -> SiteState:
    """Create the sites' dynamic state (attractiveness, reputation, scratch buffers).

    Args:
        scn: The scenario.
        world: The compiled world.
        n_main: How many main scenes the city keeps (``record.main_scene_count``).
    """
    n_sites = len(scn.sites)
    init_b = np.array([s.initial_activity for s in scn.sites])
    order = np.argsort(-(world.site_attr0 + init_b), kind="stable")[:n_main].astype(np.int32)
    return SiteState(
        attr_b=init_b,
        reputation=np.zeros(n_sites),
        n_now=np.zeros(n_sites, dtype=np.int64),
        n_smooth=np.zeros(n_sites),
        sellers_now=np.zeros(n_sites, dtype=np.int64),
        officers_now=np.zeros(n_sites),
        guard_now=np.zeros(n_sites),
        staff_now=np.zeros(n_sites),
        control_now=np.zeros(n_sites),
        p_bad_now=np.zeros(n_sites),
        p_arrest_now=np.zeros(n_sites),
        pull_now=np.zeros(n_sites),
        help_now=np.zeros(n_sites, dtype=np.int8),
        service_sites=np.full(N_SERVICE_SITES, -1, dtype=np.int64),
        main=order,
        raid_start=np.full(n_sites, -1, dtype=np.int64),
        seen_now=np.zeros(n_sites),
        seen_days=np.zeros((SEEN_DAYS, n_sites)),
        strat_officers=np.zeros(n_sites),
        order=np.zeros(scn.population.max_people, dtype=np.int64),
        offsets=np.zeros(n_sites + 1, dtype=np.int64),
        sif_used=np.zeros(world.sif_cap.shape[1], dtype=np.int64),
        counters=np.array(
            [
                scn.population.initial_people,
                scn.sellers.initial_local + scn.sellers.initial_travelling,
                0,
                0,
                0,
                scn.population.initial_people,
                0,
            ],
            dtype=np.int64,
        ),
        active=_initial_active(scn.population.max_people, scn.population.initial_people),
        present=np.zeros(scn.population.max_people, dtype=np.int64),
        visibility0=np.array([initial_visibility(scn)]),
        # Scratch for violence: the people still at a site and their cumulative victim weights.
        members=np.zeros(scn.population.max_people, dtype=np.int64),
        weight_cum=np.zeros(scn.population.max_people),
        # Scratch for site choice: the part of each site's utility that is the same for everyone.
        site_term=np.zeros(n_sites),
        # Scratch kept for the run, not allocated each hour (an allocation and its release cost
        # about as much as a short loop): sizes are the largest a tick can need.
        choice_cand=np.zeros(K_KNOWN + n_main + N_SERVICE_SITES, dtype=np.int64),
        choice_util=np.zeros(K_KNOWN + n_main + N_SERVICE_SITES),
        choice_fam=np.zeros(K_KNOWN + n_main + N_SERVICE_SITES),
        choice_mark=np.full(n_sites, -1, dtype=np.int64),
        need=np.zeros(scn.population.max_people + 1, dtype=np.int64),
        present_new=np.zeros(scn.population.max_people, dtype=np.int64),
        fill=np.zeros(n_sites, dtype=np.int64),
        seller_util=np.zeros(K_SELLER_KNOWN + 2),
        arrive_of=np.zeros(8),
        below_of=np.zeros(8, dtype=np.int64),
        injectors=np.zeros(scn.population.max_people + 1, dtype=np.int64),
        injectors_for=np.array([-1, 0], dtype=np.int64),
    )


def _initial_active(n_max: int, n0: int) -> np.ndarray:
    """Return the list of active slots at the start: the initial people, 0..n0-1."""
    active = np.zeros(n_max, dtype=np.int64)
    active[:n0] = np.arange(n0)
    return active


def initial_visibility(scn: sc.Scenario) -> float:
    """Return the scenes' visibility at the start: footfall x openness, weighted by initial use."""
    total = sum(scn.population.initial_sites.values())
    by_id = {s.id: s for s in scn.sites}
    vis = sum(
        w * by_id[sid].footfall * (1.0 - by_id[sid].concealment)
        for sid, w in scn.population.initial_sites.items()
    )
    return max(vis / total, 1e-6)


def new_out(n_days: int, n_sites: int) -> Out:
    """Allocate the recorded outcome arrays."""
    return Out(
        site_day=np.zeros((n_days, n_sites, len(SD))),
        city_day=np.zeros((n_days, len(CD))),
    )
