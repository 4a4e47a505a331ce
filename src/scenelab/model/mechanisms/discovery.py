"""Site knowledge that spreads and is found: word of mouth, scouting when displaced, forgetting.

A person's known places (the habit slots of site choice) grow in two ways. By word of mouth: each
hour a person present at a site may hear of one place known to someone present at the same site
(Granovetter 1973; Valente 1996, diffusion through contacts). By search: a displaced person (their
most familiar place closed, an expulsion order they keep covering it, or its perceived police risk
above a threshold) scouts places near where they are, and finds a place ``d`` km away with
probability ``exp(-d / scout_distance_km)`` per scouting hour (search near known places, Brantingham
& Brantingham 1993; distance decay in location choice, Bernasco 2010). A place known but not used
is forgotten once its familiarity (which decays daily without use) falls below a threshold. The
lists stay bounded: a newly learned place replaces the least familiar slot only if that slot is
less familiar than the new one. All rates default to 0 (switched off), so the built-in cities'
results do not change until they are recalibrated with discovery on.
"""

from __future__ import annotations

import math

import numpy as np

from scenelab.model.jit import njit
from scenelab.model.mechanisms.common import site_km
from scenelab.model.mechanisms.injection import dense_thresholds, injectors_and_scouts
from scenelab.model.params import IDX
from scenelab.model.rng import (
    S_DISCOVERY,
    S_INJECT,
    below53,
    bits53,
    candidate_chance,
    skip,
    skip_scale,
    uniform,
)
from scenelab.model.state import STATUS_ACTIVE

#: Why this phase sits where it does in the tick (the order is ``phases.PHASE_ORDER``).
PHASE_REASON = "people talk with whoever shares their site; policing has just displaced some"
#: What the phase does every hour, and at a fixed hour of the day (for the ODD's timing table).
TIMING = ("word of mouth at sites; scouting by displaced people", "hour 23: forget unused places")

_WOM = IDX["rate_word_of_mouth_per_hour"]
_SCOUT = IDX["rate_scout_per_hour"]
_SCOUT_KM = IDX["scout_distance_km"]
_RISK_SCOUT = IDX["risk_scout_threshold"]
_FAM_NEW = IDX["fam_new_site"]
_FORGET = IDX["fam_forget_below"]
_W_REP = IDX["w_reputation"]

# The small helpers below are inlined, and the scouts' tests and their search are written out in
# ``step``: written when every struct or array bound to a function's argument cost a pair of atomic
# reference counts. The kernels now get the state lent (``structs.lend``), which counts nothing.


@njit(cache=True, inline="always")
def learn_new(P, i, s, fam) -> bool:  # noqa: ANN001
    """Add site ``s`` to person ``i``'s known places with familiarity ``fam``.

    The new place takes the least familiar slot only if that slot is less familiar (an empty slot
    has familiarity 0), so lists stay bounded and strong habits are not overwritten by hearsay.
    Returns True if the place was added.
    """
    weakest, weakest_val = -1, math.inf
    for k in range(P.known.shape[1]):
        if P.known[i, k] == s:
            return False
        v = P.fam[i, k] if P.known[i, k] >= 0 else -1.0
        if v < weakest_val:
            weakest, weakest_val = k, v
    if weakest < 0 or weakest_val >= fam:
        return False
    P.known[i, weakest] = s
    P.fam[i, weakest] = fam
    return True


@njit(cache=True, inline="always")
def displaced_from(anchor_open, banned_there, risk, threshold) -> bool:  # noqa: ANN001
    """Return True if a person is displaced from their anchor site (-1: they know no place).

    Displaced: no known place or the anchor closed, an expulsion order the person keeps covers
    it, or its perceived police risk exceeds ``risk_scout_threshold``. Scalars only: the caller
    reads the state.
    """
    return not anchor_open or banned_there or risk > threshold


@njit(cache=True)
def _scouts_dense(  # noqa: PLR0913
    key: np.uint64,
    t: int,
    active: np.ndarray,
    n_active: int,
    status: np.ndarray,
    away_until: np.ndarray,
    below: int,
    need: np.ndarray,
) -> int:
    """Fill ``need`` with the active people who scout this hour if displaced; return how many.

    Every active person is a candidate (chance 1): those not held away whose scouting draw is
    below ``below`` (``rng.below53`` of the hourly chance). Without branches, as site choice's
    ``_keep_by_day``: the draw is a pure function of its coordinates, so drawing it for someone
    who is held away or not active changes no other draw. A small function of its own, so that
    the arrays stay in registers; it is called once an hour.
    """
    n = 0
    for q in range(n_active):
        i = np.uint64(active[q])  # unsigned: no code for negative indices
        keep = (status[i] == STATUS_ACTIVE) & (away_until[i] <= t) & (bits53(key, t, i, 3) < below)
        need[n] = i
        n += keep
    return n


@njit(cache=True)
def step(t, hour, ep, par, keys, W, P, X):  # noqa: ANN001, ANN201 - compiled kernel
    """Word of mouth among people sharing a site, scouting by displaced people, forgetting."""
    p_wom = par[_WOM]
    p_scout = par[_SCOUT]
    forget = par[_FORGET]
    if p_wom <= 0.0 and p_scout <= 0.0 and forget <= 0.0:
        return
    key = keys[S_DISCOVERY]
    n_sites = W.site_cap.shape[0]
    fam_new = par[_FAM_NEW]
    n_k = P.known.shape[1]
    # Arrays taken out of the structs once, into locals the loops keep in registers.
    order, offsets, site_of, known, site_open = X.order, X.offsets, P.site, P.known, W.site_open
    if p_wom > 0.0:
        for s in range(n_sites):
            a, b = offsets[s], offsets[s + 1]
            if b - a < 2:
                continue
            for q in range(a, b):
                i = order[q]
                if site_of[i] != s or uniform(key, t, i, 0) >= p_wom:
                    continue
                j = order[a + min(b - a - 1, int(uniform(key, t, i, 1) * (b - a)))]
                if j == i or site_of[j] != s:
                    continue
                site = known[j, min(n_k - 1, int(uniform(key, t, i, 2) * n_k))]
                if site >= 0 and site_open[ep, site]:
                    learn_new(P, i, site, fam_new)
    if p_scout > 0.0:
        # Candidates from a skip chain keyed by (tick, person index) as in every scenario
        # (``rng.skip``); at a small chance they are exactly the people who scout this hour.
        # Above ``rng.DENSE_ABOVE`` every active person is a candidate: a small branch-free first
        # pass (``_scouts_dense``) lists who scouts, in ascending order, and the second pass
        # below reads only those (the same people and order as one loop over everyone).
        status, away_until = P.status, P.away_until
        n_used = X.counters[0]
        p_cand = candidate_chance(min(1.0, p_scout))
        scale = skip_scale(p_cand)
        need = X.need
        n_need = 0
        if scale == 0.0 and dense_thresholds(par, X.below_of):
            # Injection's first pass too, in the same loop (``injection.injectors_and_scouts``).
            n_inj, n_need = injectors_and_scouts(
                t,
                keys[S_INJECT],
                key,
                X.active,
                X.counters[5],
                status,
                P.injects,
                away_until,
                P.oat,
                X.below_of,
                below53(p_scout),
                X.injectors,
                need,
            )
            X.injectors_for[0] = t
            X.injectors_for[1] = n_inj
        elif scale == 0.0:
            n_need = _scouts_dense(
                key, t, X.active, X.counters[5], status, away_until, below53(p_scout), need
            )
        else:
            i = skip(key, t, -1, scale, n_used)
            while i < n_used:
                if (
                    status[i] == STATUS_ACTIVE
                    and away_until[i] <= t
                    and (p_scout >= p_cand or uniform(key, t, i, 3) * p_cand < p_scout)
                ):
                    need[n_need] = i
                    n_need += 1
                i = skip(key, t, i, scale, n_used)
        # Arrays taken out of the structs once, for the loop over scouts (see above). The
        # memory look-up (``common.memory_of``) and the search (``scout``) are written out too.
        fam, ban_zone, ban_until, ban_comply = P.fam, P.ban_zone, P.ban_until, P.ban_comply
        mem_site, mem_risk = P.mem_site, P.mem_risk
        zone_member, reputation = W.zone_member, X.reputation
        near, dist, lat, lon = W.site_near, W.site_km, W.site_lat, W.site_lon
        w_rep, threshold, scale_km = par[_W_REP], par[_RISK_SCOUT], par[_SCOUT_KM]
        n_mem = mem_site.shape[1]
        for r in range(n_need):
            i = need[r]
            # The anchor: the most familiar known place.
            anchor, best = -1, -1.0
            for k in range(n_k):
                if known[i, k] >= 0 and fam[i, k] > best:
                    anchor, best = known[i, k], fam[i, k]
            anchor_open = anchor >= 0 and site_open[ep, anchor]
            banned_there = anchor_open and (
                ban_zone[i] >= 0
                and ban_until[i] > t
                and ban_comply[i]
                and zone_member[ban_zone[i], anchor]
            )
            risk = 0.0
            if anchor_open and not banned_there:
                mem = 0.0
                for k in range(n_mem):
                    if mem_site[i, k] == anchor:
                        mem = mem_risk[i, k]
                        break
                risk = w_rep * reputation[anchor] + (1.0 - w_rep) * mem
            if not displaced_from(anchor_open, banned_there, risk, threshold):
                continue
            origin = site_of[i] if site_of[i] >= 0 else anchor
            if origin < 0:
                continue
            # The search, as ``scout`` describes it: the origin's K_NEAR nearest open places the
            # person does not know, each found with chance exp(-d / scout_distance_km); the
            # nearest found is learned.
            found, found_d = -1, math.inf
            for m in range(near.shape[1]):
                sn = near[origin, m]
                if sn < 0:
                    break
                if not site_open[ep, sn]:
                    continue
                is_known = False
                for k in range(n_k):
                    if known[i, k] == sn:
                        is_known = True
                if is_known:
                    continue
                d = site_km(dist, lat, lon, origin, sn)
                if d < found_d and uniform(key, t, i, 16 + sn) < math.exp(-d / scale_km):
                    found, found_d = sn, d
            if found >= 0:
                learn_new(P, i, found, fam_new)
    if forget > 0.0 and hour == 23:
        for q in range(X.counters[5]):
            i = X.active[q]
            if P.status[i] != STATUS_ACTIVE:
                continue
            for k in range(n_k):
                if P.known[i, k] >= 0 and P.fam[i, k] < forget:
                    P.known[i, k] = -1
                    P.fam[i, k] = 0.0
