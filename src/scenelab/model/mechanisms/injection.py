"""Drug use, public and unsafe injection, the injection room, and overdose.

A person who injects does so ``rate_injections_per_day`` times a day (fewer in OAT, Kimber et al.
2010). At a scene, an injection goes to a supervised injection room if one is open, within reach,
has a free booth today and its rules admit the person's substance (Bergen 2016: opiates only), and
the person chooses it (Kinnard et al. 2014); otherwise it is public with probability
``p_public_at_scene`` (Wood et al. 2004: public injections 4.3 -> 2.4/day after Insite opened).
A public injection is unsafe more often under police presence (rushed, Small et al. 2006), poor
hygiene and crowding. Overdose risk depends on substance, unsafe injection, OAT and a recent
confiscation (Ray et al. 2023); death is less likely with others present and none in the room
(Marshall et al. 2011).
"""

from __future__ import annotations

import math

import numpy as np

from scenelab.model.jit import njit
from scenelab.model.mechanisms.common import is_weekday
from scenelab.model.metrics import CD, SD
from scenelab.model.params import IDX
from scenelab.model.rng import (
    S_INJECT,
    S_OVERDOSE,
    below53,
    bits53,
    candidate_chance,
    next_candidate,
    skip_scale,
    uniform,
)
from scenelab.model.state import EXIT_OVERDOSE, OAT_IN, STATUS_ACTIVE, STATUS_EXITED

#: Why this phase sits where it does in the tick (the order is ``phases.PHASE_ORDER``).
PHASE_REASON = "drug use happens where people ended up, under the police presence of this hour"
CD_OFF_OD = CD["offscene_overdoses"]
CD_OFF_OD_DEATHS = CD["offscene_overdose_deaths"]
CD_OFF_PUBLIC_INJ = CD["offscene_public_injections"]
CD_SIF = CD["sif_injections"]
SD_OD = SD["overdoses"]
SD_OD_DEATHS = SD["overdose_deaths"]
SD_PUBLIC_INJ = SD["public_injections"]
SD_SIF = SD["sif_injections"]
SD_UNSAFE_INJ = SD["unsafe_injections"]
#: What the phase does every hour, and at a fixed hour of the day (for the ODD's timing table).
TIMING = ("injections, injection-room use, unsafe injection, overdoses", "-")

_RATE = IDX["rate_injections_per_day"]
_REL_OAT = IDX["rel_inject_oat"]
_P_PUBLIC = IDX["p_public_at_scene"]
_P_SIF = IDX["p_use_sif"]
_REACH = IDX["reach_service_km"]
_P_UNSAFE = IDX["p_unsafe_base"]
_K_POLICE = IDX["k_unsafe_police"]
_K_HYGIENE = IDX["k_unsafe_hygiene"]
_K_CROWD = IDX["k_unsafe_crowding"]
_P_OD = IDX["p_od_per_injection"]
_REL_STIM = IDX["rel_od_stimulants"]
_REL_POLY = IDX["rel_od_poly"]
_REL_UNSAFE = IDX["rel_od_unsafe"]
_REL_OD_OAT = IDX["rel_od_oat"]
_REL_SEIZURE = IDX["rel_od_after_seizure"]
_P_DEATH = IDX["p_death_given_od"]
_REL_OTHERS = IDX["rel_death_with_others"]


@njit(cache=True, inline="always")
def _logistic(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


@njit(cache=True)
def sif_for(ep, hour, day, s, substance, par, W, X) -> int:  # noqa: ANN001
    """Return the index of an injection room that admits this injection now, or -1."""
    weekday = is_weekday(W.start_weekday, day)
    for j in range(W.sif_hours.shape[1]):
        if not W.sif_hours[ep, j, hour] or (W.sif_weekdays[ep, j] and not weekday):
            continue
        if not W.sif_subst[ep, j, substance] or W.dist_site_sif[s, j] > par[_REACH]:
            continue
        if X.sif_used[j] < W.sif_cap[ep, j]:
            return j
    return -1


@njit(cache=True)
def dense_thresholds(par: np.ndarray, below_of: np.ndarray) -> bool:
    """Return True if every active person is a candidate for injecting this hour (by day).

    Then ``below_of[0]`` and ``below_of[1]`` are set to the 53-bit thresholds (``rng.below53``)
    of the hourly chance out of and in OAT. Otherwise candidates come from a skip chain.
    """
    p_inject = par[_RATE] / 24.0
    rel_oat = par[_REL_OAT]
    if candidate_chance(min(1.0, p_inject * max(1.0, rel_oat))) < 1.0:
        return False
    below_of[0] = below53(p_inject * 1.0)
    below_of[1] = below53(p_inject * rel_oat)
    return True


@njit(cache=True)
def injectors_and_scouts(  # noqa: PLR0913
    t: int,
    key_inject: np.uint64,
    key_scout: np.uint64,
    active: np.ndarray,
    n_active: int,
    status: np.ndarray,
    injects: np.ndarray,
    away_until: np.ndarray,
    oat: np.ndarray,
    below_of: np.ndarray,
    below_scout: int,
    injectors: np.ndarray,
    scouts: np.ndarray,
) -> tuple[int, int]:
    """List this hour's injectors and scouts in one pass over the active people; return the counts.

    An injector: active, not held away, injects, and their injecting draw is below
    ``below_of[in OAT]``. A scout candidate: active, not held away, and their scouting draw
    (discovery's stream, slot 3) is below ``below_scout``. Discovery calls it: nothing between
    its first pass and injection's changes who is active, held away, injecting or in OAT, and
    the draws are pure functions of their coordinates, so the injectors listed here are exactly
    the ones injection's own pass would find. Both tests are written without branches, as
    ``site_choice._keep_by_day``. One loop instead of two saves the list's reads and the shared
    tests (paired CPU ratio in docs/performance.md).
    """
    n = 0
    m = 0
    for q in range(n_active):
        i = np.uint64(active[q])  # unsigned: no code for negative indices
        free = (status[i] == STATUS_ACTIVE) & (away_until[i] <= t)
        inj = free & (injects[i] != 0)
        inj &= bits53(key_inject, t, i, 0) < below_of[np.intp(oat[i] == OAT_IN)]
        injectors[m] = i
        m += inj
        scouts[n] = i
        n += free & (bits53(key_scout, t, i, 3) < below_scout)
    return m, n


@njit(cache=True)
def _inject_by_day(  # noqa: PLR0913
    key: np.uint64,
    t: int,
    active: np.ndarray,
    n_active: int,
    status: np.ndarray,
    injects: np.ndarray,
    away_until: np.ndarray,
    oat: np.ndarray,
    below_of: np.ndarray,
    who: np.ndarray,
) -> int:
    """Fill ``who`` with the active people who inject this hour; return how many.

    Every active person is a candidate (chance 1); one injects if able to and their draw is below
    ``below_of[in OAT]`` (``rng.below53`` of their chance). Without branches: the draw is a pure
    function of its coordinates, so drawing it for people who cannot inject changes no other
    draw, and one well-predicted branch per person replaces four that often went either way. A
    small function of its own, so that the arrays stay in registers; it is called once an hour.
    """
    n = 0
    for q in range(n_active):
        i = np.uint64(active[q])  # unsigned: no code for negative indices
        ok = (status[i] == STATUS_ACTIVE) & (injects[i] != 0) & (away_until[i] <= t)
        ok &= bits53(key, t, i, 0) < below_of[np.intp(oat[i] == OAT_IN)]
        who[n] = i
        n += ok
    return n


@njit(cache=True)
def step(t, day, hour, ep, par, keys, W, P, X, R):  # noqa: ANN001, ANN201 - compiled kernel
    """Draw injections, where they happen, whether they are unsafe, and overdoses."""
    p_inject = par[_RATE] / 24.0
    logit_base = math.log(par[_P_UNSAFE] / (1.0 - par[_P_UNSAFE]))
    # Candidates at the largest per-person chance, each thinned to their own; the chain's draws
    # are keyed by (tick, person index), so the candidates are the same in every scenario run with
    # the same seed (see ``rng.skip``).
    rel_oat = par[_REL_OAT]
    p_cand = candidate_chance(min(1.0, p_inject * max(1.0, rel_oat)))
    scale = skip_scale(p_cand)
    # The arrays read for every candidate, taken out of the structs once.
    status, injects, away_until, oat = P.status, P.injects, P.away_until, P.oat
    key = keys[S_INJECT]
    n_used = X.counters[0]
    active, n_active = X.active, X.counters[5]
    # Two passes. The first finds who injects this hour; the second draws where and what follows,
    # in the same order. An injection changes only its own person's state (and the room's booths,
    # read in the second pass), so the first pass sees what a single loop would. By day (every
    # active person a candidate) the test is written without branches: the draw is a pure
    # function of its coordinates, so drawing it for people who cannot inject changes no other
    # draw, and one well-predicted branch per person replaces four that often went either way.
    who = X.need  # site choice's scratch, free again by this phase
    n_who = 0
    if scale == 0.0 and X.injectors_for[0] == t:
        # Listed by discovery's first pass this hour (``injectors_and_scouts``).
        who = X.injectors
        n_who = X.injectors_for[1]
    elif scale == 0.0:
        # Chance 1: ``uniform x p_cand < p`` is ``uniform < p``, and ``p >= p_cand`` is within it.
        below_of = X.below_of
        dense_thresholds(par, below_of)
        n_who = _inject_by_day(
            key, t, active, n_active, status, injects, away_until, oat, below_of, who
        )
    else:
        q = -1
        i = -1
        while True:
            i, q = next_candidate(key, t, i, q, scale, active, n_active, n_used)
            if i >= n_used:
                break
            if status[i] != STATUS_ACTIVE or not injects[i] or away_until[i] > t:
                continue
            p = p_inject * (rel_oat if oat[i] == OAT_IN else 1.0)
            if p < p_cand and uniform(key, t, i, 0) * p_cand >= p:
                continue
            who[n_who] = i
            n_who += 1
    # The outputs in local variables.
    site_day, city_day = R.site_day, R.city_day
    # The body is written out here, not in a helper.
    for w in range(n_who):
        i = who[w]
        s = P.site[i]
        public = False
        unsafe = False
        in_room = False
        if s >= 0:
            j = sif_for(ep, hour, day, s, P.substance[i], par, W, X)
            if j >= 0 and uniform(keys[S_INJECT], t, i, 1) < par[_P_SIF]:
                X.sif_used[j] += 1
                in_room = True
                site_day[day, s, SD_SIF] += 1
                city_day[day, CD_SIF] += 1
            elif uniform(keys[S_INJECT], t, i, 2) < par[_P_PUBLIC]:
                public = True
                occ = X.n_now[s] / W.site_cap[s]
                x = logit_base + par[_K_POLICE] * X.officers_now[s]
                x += par[_K_HYGIENE] * (1.0 - W.site_hygiene[s]) + par[_K_CROWD] * occ
                unsafe = uniform(keys[S_INJECT], t, i, 3) < _logistic(x)
                site_day[day, s, SD_PUBLIC_INJ] += 1
                if unsafe:
                    site_day[day, s, SD_UNSAFE_INJ] += 1
        elif not P.housed[i]:
            # Unhoused people off the scene inject in stairwells, toilets, streets.
            public = True
            unsafe = uniform(keys[S_INJECT], t, i, 3) < par[_P_UNSAFE]
            city_day[day, CD_OFF_PUBLIC_INJ] += 1
        risk = par[_P_OD]
        if P.substance[i] == 1:
            risk *= par[_REL_STIM]
        elif P.substance[i] == 2:
            risk *= par[_REL_POLY]
        if unsafe:
            risk *= par[_REL_UNSAFE]
        if P.oat[i] == OAT_IN:
            risk *= par[_REL_OD_OAT]
        if P.seizure_until[i] > t:
            risk *= par[_REL_SEIZURE]
        if uniform(keys[S_OVERDOSE], t, i, 0) >= risk:
            continue
        P.n_overdoses[i] += 1
        if s >= 0:
            site_day[day, s, SD_OD] += 1
        else:
            city_day[day, CD_OFF_OD] += 1
        if in_room:
            continue  # staff respond: no deaths in supervised rooms (Marshall et al. 2011)
        p_death = par[_P_DEATH]
        if s >= 0 and public and X.n_now[s] > 1:
            p_death *= par[_REL_OTHERS]
        if uniform(keys[S_OVERDOSE], t, i, 1) < p_death:
            if s >= 0:
                site_day[day, s, SD_OD_DEATHS] += 1
            else:
                city_day[day, CD_OFF_OD_DEATHS] += 1
            P.status[i] = STATUS_EXITED
            P.exit_day[i] = day
            P.exit_reason[i] = EXIT_OVERDOSE
            P.site[i] = -1
