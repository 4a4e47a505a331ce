"""Attendance and site choice: whether a person is at a scene this hour, and at which site.

Attendance is a two-state process (off the scene / present) whose stationary share of hours matches
``hours_scene_per_day`` (DeBeck et al. 2012: 43% spend 3+ hours a day in the open scene), shaped by
the hour of day and lowered by housing and OAT. Vancouver's crackdown changed *where* people used,
not how much (Wood et al. 2004), so police risk enters the choice of site, not attendance.

Site choice is a multinomial logit over a bounded choice set: the sites a person knows (habit slots)
plus the city's current main scenes (word travels fast) and the sites by open drop-in centres
(everyone uses the services), so the cost per person does not grow with
the number of sites. Utility: attractiveness that builds with activity and decays (Short et al.
2008; 2010), market (sellers) and peers, drop-in pull, habit, minus perceived police risk (a mix of
site reputation and own memory), expulsion-order zones, distance and crowding; concealment gains
value as perceived risk rises (hiding under police pressure, Small et al. 2006). Closed sites are
not in the choice set: displacement comes from these choices, never from a script.
"""

from __future__ import annotations

import math

import numpy as np

from scenelab.model.jit import njit
from scenelab.model.mechanisms.common import HOUR_PROFILE, km, memory_of
from scenelab.model.params import IDX
from scenelab.model.rng import S_ATTEND, S_CHOICE, uniform
from scenelab.model.schedule import Q_ATTEND, enqueue, profile_tick, take_bucket
from scenelab.model.state import OAT_IN, STATUS_ACTIVE

#: Why this phase sits where it does in the tick (the order is ``phases.PHASE_ORDER``).
PHASE_REASON = "people choose where to be given last hour's scenes, markets, police and their bans"
#: What the phase does every hour, and at a fixed hour of the day (for the ODD's timing table).
TIMING = ("presence and site of the people present or due to arrive; index them by site", "-")

_H_REG = IDX["hours_scene_per_day_regular"]
_H_OCC = IDX["hours_scene_per_day_occasional"]
_DUR = IDX["dur_visit_hours"]
_REL_HOUSED = IDX["rel_attend_housed"]
_REL_OAT = IDX["rel_attend_oat"]
_B_ATTR = IDX["b_attr"]
_B_MARKET = IDX["b_market"]
_B_PEERS = IDX["b_peers"]
_B_SERVICE = IDX["b_service"]
_B_SHELTER = IDX["b_shelter"]
_B_HABIT = IDX["b_habit"]
_HABIT_GAIN = IDX["rate_habit_gain_per_hour"]
_B_RISK = IDX["b_risk"]
_W_REP = IDX["w_reputation"]
_K_RISK_DEM = IDX["k_risk_demeanour"]
_B_CONCEAL = IDX["b_conceal"]
_B_CROWD = IDX["b_crowd"]
_B_DIST = IDX["b_dist_per_km"]
_B_STAY = IDX["b_stay"]
_P_RECONSIDER = IDX["p_reconsider_per_hour"]
_B_BAN = IDX["b_ban_defy"]
_MAIN_KNOWN = IDX["main_scenes_known"]
_K_TRUST_AVOID = IDX["k_trust_avoid_police"]
_TRUST_REF = IDX["trust_comply_ref"]
_K_FINES = IDX["k_fines_risk_per_10k_nok"]


@njit(cache=True)
def risk_weight(b_risk, k_dem, demeanour, k_trust, trust_ref, trust, k_fines, fines_owed):  # noqa: ANN001, ANN201, PLR0913
    """Return a person's weight of perceived police risk in site choice.

    ``b_risk x exp(-k_dem x demeanour) x max(0, 1 + k_trust x (trust_ref - trust) + k_fines x
    fines_owed / 10,000)``: people who trust the police less avoid places with police more
    (Tyler 2006); fines owed change it by a hypothesised ``k_fines`` (sign unknown, prior includes
    0; Beckett & Herbert 2009). With both slopes 0 the factor is exactly 1.
    """
    factor = max(0.0, 1.0 + k_trust * (trust_ref - trust) + k_fines * fines_owed / 10_000.0)
    return b_risk * math.exp(-k_dem * demeanour) * factor


@njit(cache=True)
def choose_site(t, i, cur, ep, par, keys, W, P, X, cand, util):  # noqa: ANN001, ANN201
    """Draw person ``i``'s site from the logit over their choice set; -1 if none is open."""
    n_c = 0
    for k in range(P.known.shape[1]):
        s = P.known[i, k]
        if s >= 0:
            cand[n_c] = s
            n_c += 1
    n_known = n_c  # candidates after these are not known places (familiarity 0)
    m0 = 0 if par[_MAIN_KNOWN] >= 0.5 else X.main.shape[0]
    for m in range(m0, X.main.shape[0] + X.service_sites.shape[0]):
        s = X.main[m] if m < X.main.shape[0] else X.service_sites[m - X.main.shape[0]]
        if s < 0:
            continue
        dup = False
        for c in range(n_c):
            if cand[c] == s:
                dup = True
        if not dup:
            cand[n_c] = s
            n_c += 1
    # The anchor is the most familiar known site: distance is measured from it.
    anchor, best = -1, -1.0
    for k in range(P.known.shape[1]):
        if P.known[i, k] >= 0 and P.fam[i, k] > best:
            anchor, best = P.known[i, k], P.fam[i, k]
    banned = P.ban_zone[i] >= 0 and P.ban_until[i] > t
    w_rep = par[_W_REP]
    b_risk = risk_weight(
        par[_B_RISK],
        par[_K_RISK_DEM],
        P.demeanour[i],
        par[_K_TRUST_AVOID],
        par[_TRUST_REF],
        P.trust[i],
        par[_K_FINES],
        P.fines_owed[i],
    )
    max_risk = 0.0
    n_ok = 0
    for c in range(n_c):
        s = cand[c]
        util[c] = -np.inf
        if not W.site_open[ep, s]:
            continue
        if banned and W.zone_member[P.ban_zone[i], s] and P.ban_comply[i]:
            continue
        risk = w_rep * X.reputation[s] + (1.0 - w_rep) * memory_of(P.mem_site, P.mem_risk, i, s)
        util[c] = -b_risk * risk  # the other terms are added below, once max risk is known
        max_risk = max(max_risk, risk)
        n_ok += 1
    if n_ok == 0:
        return -1
    u_max = -np.inf
    for c in range(n_c):
        if util[c] == -np.inf:
            continue
        s = cand[c]
        fam = 0.0
        if c < n_known:
            for k in range(P.known.shape[1]):
                if P.known[i, k] == s:
                    fam = P.fam[i, k]
        v = util[c] + X.site_term[s]
        v += par[_B_HABIT] * fam
        v += par[_B_CONCEAL] * W.site_conceal[s] * max_risk
        if anchor >= 0 and anchor != s:
            dist = km(W.site_lat[anchor], W.site_lon[anchor], W.site_lat[s], W.site_lon[s])
            v -= par[_B_DIST] * dist
        if s == cur:
            v += par[_B_STAY]
        if banned and W.zone_member[P.ban_zone[i], s]:
            v -= par[_B_BAN]
        util[c] = v
        u_max = max(u_max, v)
    total = 0.0
    for c in range(n_c):
        if util[c] > -np.inf:
            util[c] = math.exp(util[c] - u_max)
            total += util[c]
        else:
            util[c] = 0.0
    u = uniform(keys[S_CHOICE], t, i, 0) * total
    acc = 0.0
    for c in range(n_c):
        acc += util[c]
        if u < acc and util[c] > 0.0:
            return cand[c]
    for c in range(n_c - 1, -1, -1):
        if util[c] > 0.0:
            return cand[c]
    return -1


@njit(cache=True)
def _learn(i, s, par, P) -> None:  # noqa: ANN001
    """Build familiarity with site ``s``; an unknown site replaces the least familiar one."""
    slot, weakest, weakest_val = -1, 0, np.inf
    for k in range(P.known.shape[1]):
        if P.known[i, k] == s:
            slot = k
        if P.fam[i, k] < weakest_val:
            weakest, weakest_val = k, P.fam[i, k]
    if slot < 0:
        slot = weakest
        P.known[i, slot] = s
        P.fam[i, slot] = 0.0
    P.fam[i, slot] += par[_HABIT_GAIN] * (1.0 - P.fam[i, slot])


@njit(cache=True, inline="always")
def arrive_probability(share: float, leave: float, prof: float) -> float:
    """Return the chance of arriving this hour for a person off the scene.

    The two-state process (leave with ``leave`` an hour) spends a share ``f`` of the hours present
    when arrivals happen with ``leave x f / (1 - f)``; ``f`` is the person's scene hours a day
    shaped by the hour of day, at most 0.9.
    """
    f = min(0.9, share / 24.0 * prof)
    return min(1.0, leave * f / (1.0 - f))


@njit(cache=True, inline="always")
def attend_share(par, P, i) -> float:  # noqa: ANN001
    """Return person ``i``'s scene hours a day: regular or occasional, less if housed or in OAT."""
    share = par[_H_OCC] if P.occasional[i] else par[_H_REG]
    if P.housed[i]:
        share *= par[_REL_HOUSED]
    if P.oat[i] == OAT_IN:
        share *= par[_REL_OAT]
    return share


@njit(cache=True)
def arrival_tables(par, X) -> None:  # noqa: ANN001
    """Per hour of day, the chance of no arrival at the bound of each person's arrival chance.

    The bound is a regular (row 0) or occasional (row 1) person's chance with the housing and OAT
    multipliers at their largest (1, or the multiplier if a scenario sets it above 1): no change
    of housing or treatment can raise a person's chance above it, so a person's next arrival can be
    drawn at the bound once and thinned when due (``schedule``).
    """
    leave = 1.0 / par[_DUR]
    bound = max(1.0, par[_REL_HOUSED]) * max(1.0, par[_REL_OAT])
    for o in range(2):
        share = (par[_H_OCC] if o == 1 else par[_H_REG]) * bound
        log_day = 0.0
        for h in range(24):
            a = arrive_probability(share, leave, HOUR_PROFILE[h])
            X.arrive_surv[o, h] = 1.0 - a
            log_day += math.log(1.0 - a) if a < 1.0 else -np.inf
        X.arrive_log_day[o] = log_day


@njit(cache=True, inline="always")
def schedule_arrival(t, i, start, slot, keys, P, X) -> None:  # noqa: ANN001
    """File person ``i``'s next candidate arrival, at tick ``start`` or later (drawn at ``t``)."""
    o = 1 if P.occasional[i] else 0
    u = uniform(keys[S_ATTEND], t, i, slot)
    when = profile_tick(start, u, X.arrive_surv[o], X.arrive_log_day[o])
    enqueue(X, Q_ATTEND, i, when, t)


@njit(cache=True)
def step(t, day, hour, ep, par, keys, W, P, X):  # noqa: ANN001, ANN201 - compiled kernel
    """Decide presence and site for the people present or due to arrive; index them by site.

    Only people who were present last hour and people whose next arrival is due this hour are
    visited: everyone else is off the scene with a pending arrival in the calendar queue
    (``schedule``). Last hour's present people are ``X.order``; those the police removed since
    (expelled, or in custody until ``away_until``) and those who leave now get their next
    arrival drawn; so do new entrants.
    """
    # A typed -1, not the literal: Numba would compile choose_site a second time for a literal.
    no_site = np.int32(-1)  # the dtype of P.site, as the other call passes
    n_sites = W.site_cap.shape[0]
    size = P.known.shape[1] + X.main.shape[0] + X.service_sites.shape[0]
    cand = np.empty(size, dtype=np.int64)
    util = np.empty(size)
    leave = 1.0 / par[_DUR]
    prof = HOUR_PROFILE[hour]
    if hour == 0 or X.arrive_log_day[0] > 0.0:  # > 0: not computed yet in this run
        arrival_tables(par, X)
    for s in range(n_sites):
        # Terms that depend only on the site and last hour's state: once per tick, not per person.
        occ = X.n_smooth[s] / W.site_cap[s]
        v = par[_B_ATTR] * (W.site_attr0[s] + X.attr_b[s])
        v += par[_B_MARKET] * math.log1p(X.sellers_now[s])
        v += par[_B_PEERS] * math.log1p(X.n_smooth[s])
        v += par[_B_SERVICE] * X.pull_now[s]
        v += par[_B_SHELTER] * W.site_shelter[s]
        v -= par[_B_CROWD] * max(0.0, occ - 1.0)
        X.site_term[s] = v
    n_used = X.counters[0]
    # New people (entrants, and everyone at the first tick) start off the scene.
    for i in range(X.q_seen[Q_ATTEND], n_used):
        if P.status[i] == STATUS_ACTIVE and P.site[i] < 0:
            schedule_arrival(t, i, max(t, P.away_until[i]), 2, keys, P, X)
    X.q_seen[Q_ATTEND] = n_used
    # People present last hour: stay, move, leave; or removed by the police since.
    n_here = 0
    n_prev = X.offsets[n_sites]
    for k in range(n_prev):
        i = X.order[k]
        if P.status[i] != STATUS_ACTIVE:
            continue
        cur = P.site[i]
        if cur < 0:  # expelled or arrested last hour: off the scene, arriving after custody
            schedule_arrival(t, i, max(t, P.away_until[i]), 2, keys, P, X)
            continue
        if not W.site_open[ep, cur]:
            s = choose_site(t, i, no_site, ep, par, keys, W, P, X, cand, util)  # forced to move
        elif uniform(keys[S_ATTEND], t, i, 0) < leave:
            P.site[i] = -1
            schedule_arrival(t, i, t + 1, 2, keys, P, X)
            continue
        else:
            s = cur
            if uniform(keys[S_ATTEND], t, i, 1) < par[_P_RECONSIDER]:
                s = choose_site(t, i, cur, ep, par, keys, W, P, X, cand, util)
        P.site[i] = s
        if s < 0:
            schedule_arrival(t, i, t + 1, 2, keys, P, X)
            continue
        X.members[n_here] = i
        n_here += 1
    # People whose candidate arrival is due: thinned from the bound to their own chance now.
    i = take_bucket(X, Q_ATTEND, t)
    while i >= 0:
        nxt = X.q_link[Q_ATTEND, i]
        if P.status[i] != STATUS_ACTIVE or P.site[i] >= 0:
            pass  # left the population (or present: cannot happen); the entry is dropped
        elif X.q_key[Q_ATTEND, i] > t:
            enqueue(X, Q_ATTEND, i, X.q_key[Q_ATTEND, i], t)  # beyond the ring: file again
        elif P.away_until[i] > t:
            schedule_arrival(t, i, P.away_until[i], 4, keys, P, X)
        else:
            bound = 1.0 - X.arrive_surv[1 if P.occasional[i] else 0, hour]
            a = arrive_probability(attend_share(par, P, i), leave, prof)
            s = -1
            if a > 0.0 and (a >= bound or uniform(keys[S_ATTEND], t, i, 3) * bound < a):
                s = choose_site(t, i, no_site, ep, par, keys, W, P, X, cand, util)
            if s >= 0:
                P.site[i] = s
                X.members[n_here] = i
                n_here += 1
            else:
                schedule_arrival(t, i, t + 1, 4, keys, P, X)
        i = nxt
    # Present this hour: habit, hours, head counts; then the counting sort by site:
    # X.order[offsets[s]:offsets[s+1]] are the people at site s this hour.
    for s in range(n_sites):
        X.n_now[s] = 0
    for k in range(n_here):
        i = X.members[k]
        s = P.site[i]
        _learn(i, s, par, P)
        P.hours_present[i] += 1
        P.at_scene_today[i] = 1
        X.n_now[s] += 1
    X.offsets[0] = 0
    for s in range(n_sites):
        X.offsets[s + 1] = X.offsets[s] + X.n_now[s]
    fill = X.offsets[:n_sites].copy()
    for k in range(n_here):
        i = X.members[k]
        s = P.site[i]
        X.order[fill[s]] = i
        fill[s] += 1
