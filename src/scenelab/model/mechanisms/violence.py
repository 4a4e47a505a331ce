"""Violence by setting, victim's sex and offender, with victims and witnesses.

Incidents at a site arrive as a Poisson process whose rate grows with the people present, their
density relative to the site's capacity, the market (sellers; Caulkins & Reuter 2010) and
concealment, and falls with capable guardians: officers (by mode) and staff (Cohen & Felson 1979).
Off the scene sites, unhoused people in public are victimised on the street at an hourly rate, and
everyone in a private place (own or others' home, or a shelter for the unhoused) at a daily rate.
Victims differ by sex and each victimisation has an offender type (acquaintance or partner, client,
stranger, police) drawn from sex- and setting-specific shares (Marshall et al. 2008: women attacked
mainly by acquaintances, partners and clients, men by strangers and police). People present at a
site witness an incident only if it happens within their sight: a share of the people present
that falls with the crowd and with the site's concealment.
"""

from __future__ import annotations

import math

import numpy as np

from scenelab.model.jit import njit
from scenelab.model.metrics import CD, SD
from scenelab.model.params import IDX
from scenelab.model.rng import (
    S_OFFENDER,
    S_PRIVATE,
    S_STREET,
    S_VIOLENCE,
    S_WITNESS,
    candidate_chance,
    next_candidate,
    poisson,
    skip,
    skip_scale,
    uniform,
)
from scenelab.model.state import STATUS_ACTIVE

#: Why this phase sits where it does in the tick (the order is ``phases.PHASE_ORDER``).
PHASE_REASON = "incidents depend on the crowd, market and guardians left after policing"
CD_PRIVATE_VIOLENCE = CD["private_violence"]
CD_STREET_VIOLENCE = CD["street_violence"]
CD_SHELTER_VIOLENCE = CD["shelter_violence"]
CD_OFF_SEXUAL = CD["offscene_sexual_violence"]
CD_WOMEN_SCENE = CD["victims_women_scene"]
CD_WOMEN_STREET = CD["victims_women_street"]
CD_WOMEN_PRIVATE = CD["victims_women_private"]
CD_MEN_SCENE = CD["victims_men_scene"]
CD_MEN_STREET = CD["victims_men_street"]
CD_MEN_PRIVATE = CD["victims_men_private"]
CD_BY_ACQUAINTANCE = CD["violence_by_acquaintance"]
CD_BY_CLIENT = CD["violence_by_client"]
CD_BY_STRANGER = CD["violence_by_stranger"]
CD_BY_POLICE = CD["violence_by_police"]
SD_SEXUAL = SD["sexual_violence_incidents"]
SD_VIOLENCE = SD["violence_incidents"]
#: What the phase does every hour, and at a fixed hour of the day (for the ODD's timing table).
TIMING = (
    "incidents at sites, victims, witnesses; street violence off the scene",
    "hour 12: violence in private places",
)

#: Settings of a victimisation (``P.victim_setting``).
SETTING_SCENE, SETTING_STREET, SETTING_SHELTER, SETTING_HOME = 0, 1, 2, 3
#: Offender types (``P.victim_offender``).
OFFENDER_ACQUAINTANCE, OFFENDER_CLIENT, OFFENDER_STRANGER, OFFENDER_POLICE = 0, 1, 2, 3

_RATE = IDX["rate_violence_per_person_hour"]
_K_CROWD = IDX["k_violence_crowding"]
_K_MARKET = IDX["k_violence_market"]
_K_CONCEAL = IDX["k_violence_concealment"]
_K_POLICE = IDX["k_guard_police"]
_K_STAFF = IDX["k_guard_staff"]
_REL_WOMEN = IDX["rel_victim_women"]
_P_SEX_W = IDX["p_sexual_women"]
_P_SEX_M = IDX["p_sexual_men"]
_PRIV_W = IDX["rate_private_violence_women_per_year"]
_PRIV_M = IDX["rate_private_violence_men_per_year"]
_REL_UNHOUSED = IDX["rel_private_violence_unhoused"]
_SIGHT = IDX["people_in_sight"]
_SIGHT_CONCEAL = IDX["k_sight_concealment"]
_STREET = IDX["rate_street_violence_per_year"]
_SHELTER = IDX["p_shelter_private_unhoused"]
_PRIV_CLIENT_W = IDX["p_private_client_women"]
_PUB_ACQ_W = IDX["p_public_acquaintance_women"]
_PUB_CLIENT_W = IDX["p_public_client_women"]
_PUB_POLICE_W = IDX["p_public_police_women"]
_PUB_ACQ_M = IDX["p_public_acquaintance_men"]
_PUB_POLICE_M = IDX["p_public_police_men"]


@njit(cache=True)
def site_rate(s, n, par, W, X) -> float:  # noqa: ANN001
    """Return the expected incidents this hour at site ``s`` with ``n`` people present."""
    occ = n / W.site_cap[s]
    lam = par[_RATE] * n * (1.0 + par[_K_CROWD] * occ)
    lam *= 1.0 + par[_K_MARKET] * X.sellers_now[s]
    lam *= 1.0 + par[_K_CONCEAL] * W.site_conceal[s]
    lam *= math.exp(-par[_K_POLICE] * X.guard_now[s] - par[_K_STAFF] * X.staff_now[s])
    return lam


@njit(cache=True)
def p_in_sight(n, conceal, par) -> float:  # noqa: ANN001
    """Return the chance that one incident happens within sight of a person present.

    About ``people_in_sight`` of the ``n`` people present are near enough to see any one incident
    (everyone in a small group), and concealment (corners, pillars, darkness) hides a share
    ``k_sight_concealment x c`` of what would be seen.
    """
    near = min(1.0, par[_SIGHT] / max(n, 1))
    return near * max(0.0, 1.0 - par[_SIGHT_CONCEAL] * conceal)


@njit(cache=True)
def public_offender(sex, police_near, u, par) -> int:  # noqa: ANN001
    """Return the offender type of a victimisation in public, from the victim's sex's shares.

    Strangers take the share the others leave; the police can be the offender only where
    officers are present (``police_near``), their share going to the others in proportion.
    """
    if sex == 1:
        acq, client, police = par[_PUB_ACQ_W], par[_PUB_CLIENT_W], par[_PUB_POLICE_W]
    else:
        acq, client, police = par[_PUB_ACQ_M], 0.0, par[_PUB_POLICE_M]
    stranger = max(0.0, 1.0 - acq - client - police)
    if not police_near:
        police = 0.0
    x = u * (acq + client + stranger + police)
    if x < acq:
        return OFFENDER_ACQUAINTANCE
    if x < acq + client:
        return OFFENDER_CLIENT
    if x < acq + client + stranger:
        return OFFENDER_STRANGER
    return OFFENDER_POLICE


@njit(cache=True)
def _victimise(i, t, day, setting, offender, sexual, P, R) -> None:  # noqa: ANN001
    """Record a victimisation of person ``i`` on them and in the city's tables."""
    P.victim_tick[i] = t
    P.victim_public[i] = 1 if setting <= SETTING_STREET else 0
    P.victim_setting[i] = setting
    P.victim_offender[i] = offender
    P.n_victim[i] += 1
    if sexual:
        P.sexual_ever[i] = 1
    city = R.city_day[day]
    if P.sex[i] == 1:
        col = CD_WOMEN_SCENE if setting == SETTING_SCENE else CD_WOMEN_STREET
        col = CD_WOMEN_PRIVATE if setting >= SETTING_SHELTER else col
    else:
        col = CD_MEN_SCENE if setting == SETTING_SCENE else CD_MEN_STREET
        col = CD_MEN_PRIVATE if setting >= SETTING_SHELTER else col
    city[col] += 1
    if offender == OFFENDER_ACQUAINTANCE:
        city[CD_BY_ACQUAINTANCE] += 1
    elif offender == OFFENDER_CLIENT:
        city[CD_BY_CLIENT] += 1
    elif offender == OFFENDER_STRANGER:
        city[CD_BY_STRANGER] += 1
    else:
        city[CD_BY_POLICE] += 1
    if setting != SETTING_SCENE and sexual:
        city[CD_OFF_SEXUAL] += 1


@njit(cache=True)
def _sites(t, day, par, keys, W, P, X, R) -> None:  # noqa: ANN001
    """Incidents at each site, their victims and offenders, and who saw them."""
    # Arrays taken out of the structs once, into locals the loops keep in registers.
    order, offsets, members, weight_cum = X.order, X.offsets, X.members, X.weight_cum
    site, status, sex = P.site, P.status, P.sex
    for s in range(W.site_cap.shape[0]):
        a, b = offsets[s], offsets[s + 1]
        # People removed by police this hour are still in the index; keep those still here.
        n_here = 0
        w_sum = 0.0
        for k in range(a, b):
            i = order[k]
            if site[i] == s and status[i] == STATUS_ACTIVE:
                w_sum += par[_REL_WOMEN] if sex[i] == 1 else 1.0
                members[a + n_here] = i
                weight_cum[a + n_here] = w_sum
                n_here += 1
        if n_here == 0:
            continue
        n_inc = poisson(site_rate(s, n_here, par, W, X), uniform(keys[S_VIOLENCE], t, s, 0))
        if n_inc == 0:
            continue
        cum = X.weight_cum[a : a + n_here]
        victims = np.empty(n_inc, dtype=np.int64)
        police_near = X.officers_now[s] > 0.0
        for m in range(n_inc):
            u = uniform(keys[S_VIOLENCE], t, s, 1 + 2 * m) * w_sum
            j = min(np.searchsorted(cum, u, side="right"), n_here - 1)
            victim = X.members[a + j]
            victims[m] = victim
            R.site_day[day, s, SD_VIOLENCE] += 1
            p_sex = par[_P_SEX_W] if P.sex[victim] == 1 else par[_P_SEX_M]
            sexual = uniform(keys[S_VIOLENCE], t, s, 2 + 2 * m) < p_sex
            if sexual:
                R.site_day[day, s, SD_SEXUAL] += 1
            who = public_offender(
                P.sex[victim], police_near, uniform(keys[S_OFFENDER], t, s, m), par
            )
            _victimise(victim, t, day, np.int64(SETTING_SCENE), who, sexual, P, R)
        p_miss = 1.0 - p_in_sight(n_here, W.site_conceal[s], par)  # misses one incident
        p_seen_all = 1.0 - p_miss**n_inc  # a bystander who suffered none of them
        victims.sort()
        for j in range(n_here):
            i = X.members[a + j]
            p_seen = p_seen_all
            if P.victim_tick[i] == t:  # a victim does not witness the incidents they suffered
                own = np.searchsorted(victims, i, side="right") - np.searchsorted(victims, i)
                p_seen = 1.0 - p_miss ** (n_inc - own)
            if uniform(keys[S_WITNESS], t, i, 0) < p_seen:
                P.witness_tick[i] = t


@njit(cache=True)
def _street_victim(t, day, i, par, key, P, R) -> None:  # noqa: ANN001
    """Person ``i`` is victimised on the street this hour: sexual or not, by whom."""
    p_sex = par[_P_SEX_W] if P.sex[i] == 1 else par[_P_SEX_M]
    sexual = uniform(key, t, i, 1) < p_sex
    who = public_offender(P.sex[i], True, uniform(key, t, i, 2), par)
    R.city_day[day, CD_STREET_VIOLENCE] += 1
    _victimise(i, t, day, np.int64(SETTING_STREET), who, sexual, P, R)


@njit(cache=True)
def _street(t, day, par, keys, P, X, R) -> None:  # noqa: ANN001
    """Violence against unhoused people in public places off the scene sites, this hour."""
    p_hour = par[_STREET] / 8766.0
    if p_hour <= 0.0:
        return
    key = keys[S_STREET]
    # Arrays taken out of the structs once, into locals the loops keep in registers.
    status, site, housed, away_until = P.status, P.site, P.housed, P.away_until
    # The skip chain visits exactly the people victimised this hour if exposed, keyed by (tick,
    # person index) as in every scenario (``rng.skip``): a rare event costs nearly nothing.
    n_used = X.counters[0]
    p_cand = candidate_chance(min(1.0, p_hour))
    scale = skip_scale(p_cand)
    active, n_active = X.active, X.counters[5]
    i, cq = next_candidate(key, t, -1, -1, scale, active, n_active, n_used)
    while i < n_used:
        if status[i] == STATUS_ACTIVE and site[i] < 0 and not housed[i] and away_until[i] <= t:
            if p_hour >= p_cand or uniform(key, t, i, 0) * p_cand < p_hour:
                _street_victim(t, day, i, par, key, P, R)
        i, cq = next_candidate(key, t, i, cq, scale, active, n_active, n_used)


@njit(cache=True)
def _private(t, day, par, keys, P, X, R) -> None:  # noqa: ANN001
    """Violence in private places (own or others' home, shelter), once a day for everyone."""
    # Candidates at the largest daily chance, thinned to each person's own (``rng.skip``).
    key = keys[S_PRIVATE]
    p_max = max(par[_PRIV_W], par[_PRIV_M]) * max(1.0, par[_REL_UNHOUSED]) / 365.25
    p_cand = candidate_chance(min(1.0, p_max))
    scale = skip_scale(p_cand)
    n_used = X.counters[0]
    active, n_active = X.active, X.counters[5]
    i, cq = next_candidate(key, day, -1, -1, scale, active, n_active, n_used)
    while i < n_used:
        if P.status[i] == STATUS_ACTIVE:
            rate = par[_PRIV_W] if P.sex[i] == 1 else par[_PRIV_M]
            if not P.housed[i]:
                rate *= par[_REL_UNHOUSED]  # Kennedy et al. 2017: eviction/homelessness
            if uniform(key, day, i, 0) * p_cand < rate / 365.25:
                _private_victim(t, day, i, par, keys, P, R)
        i, cq = next_candidate(key, day, i, cq, scale, active, n_active, n_used)


@njit(cache=True)
def _private_victim(t, day, i, par, keys, P, R) -> None:  # noqa: ANN001
    """Person ``i`` is victimised in a private place today: sexual or not, by whom, where."""
    R.city_day[day, CD_PRIVATE_VIOLENCE] += 1
    p_sex = par[_P_SEX_W] if P.sex[i] == 1 else par[_P_SEX_M]
    sexual = uniform(keys[S_PRIVATE], day, i, 1) < p_sex
    who = OFFENDER_ACQUAINTANCE
    if P.sex[i] == 1 and uniform(keys[S_PRIVATE], day, i, 2) < par[_PRIV_CLIENT_W]:
        who = OFFENDER_CLIENT
    setting = SETTING_HOME
    if not P.housed[i] and uniform(keys[S_PRIVATE], day, i, 3) < par[_SHELTER]:
        setting = SETTING_SHELTER
        R.city_day[day, CD_SHELTER_VIOLENCE] += 1
    _victimise(i, t, day, setting, who, sexual, P, R)


@njit(cache=True)
def step(t, day, hour, par, keys, W, P, X, R):  # noqa: ANN001, ANN201 - compiled kernel
    """Draw incidents at each site, on the street and in private places; record victims.

    Cost is linear in the people present: victims are found by binary search in cumulative
    weights, and each bystander makes one witness draw for all the incidents they did not
    suffer (P(witness >= 1 of k) = 1 - (1 - p)^k), not one per incident.
    """
    _sites(t, day, par, keys, W, P, X, R)
    # Street violence is rare (a skip chain finds no candidate in most hours): the chain's first
    # candidate is found here, and ``_street`` (whose call costs a reference-count pair for each
    # struct it takes) is called only in hours that have one. It finds the same candidate again.
    p_hour = par[_STREET] / 8766.0
    if p_hour > 0.0:
        scale = skip_scale(candidate_chance(min(1.0, p_hour)))
        if scale == 0.0 or skip(keys[S_STREET], t, -1, scale, X.counters[0]) < X.counters[0]:
            _street(t, day, par, keys, P, X, R)
    if hour == 12:
        _private(t, day, par, keys, P, X, R)
