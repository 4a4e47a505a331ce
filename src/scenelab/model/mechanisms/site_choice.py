"""Attendance and site choice: whether a person is at a scene this hour, and at which site.

Attendance is a two-state process (off the scene / present) whose stationary share of hours matches
``hours_scene_per_day`` (DeBeck et al. 2012: 43% spend 3+ hours a day in the open scene), shaped by
the hour of day and lowered by housing and OAT. Vancouver's crackdown changed *where* people used,
not how much (Wood et al. 2004), so police risk enters the choice of site, not attendance.

Site choice is a multinomial logit over a bounded choice set: the sites a person knows (habit slots)
plus the city's current main scenes (word travels fast) and the sites by open drop-in centres
(everyone uses the services), so the cost per person does not grow with
the number of sites. Utility: attractiveness that builds with activity and decays (Short et al.
2008; 2010), market (sellers) and peers, drop-in pull, shelter, footfall (passers-by to earn from,
buyers who can reach the place: DeBeck et al. 2012; Kleiman & Young 1995), habit, minus perceived
police risk (a mix of site reputation and own memory), expulsion-order zones, distance and
crowding; concealment gains value as perceived risk rises (hiding under police pressure, Small et
al. 2006). People differ in how much they value footfall and concealment (a mixed logit, Train
2009), by tastes drawn once per person. Closed sites are not in the choice set: displacement
comes from these choices, never from a script.
"""

from __future__ import annotations

import math

import numpy as np

from scenelab.model.jit import njit
from scenelab.model.mechanisms.common import HOUR_PROFILE, site_km
from scenelab.model.params import IDX
from scenelab.model.rng import (
    S_ATTEND,
    S_CHOICE,
    below53,
    bits53,
    candidate_chance,
    skip,
    skip_scale,
    uniform,
)
from scenelab.model.state import OAT_IN, STATUS_ACTIVE

#: Why this phase sits where it does in the tick (the order is ``phases.PHASE_ORDER``).
PHASE_REASON = "people choose where to be given last hour's scenes, markets, police and their bans"
#: What the phase does every hour, and at a fixed hour of the day (for the ODD's timing table).
TIMING = ("presence and site of every person; index people by site", "-")

_H_REG = IDX["hours_scene_per_day_regular"]
_H_OCC = IDX["hours_scene_per_day_occasional"]
_DUR = IDX["dur_visit_hours"]
_REL_HOUSED = IDX["rel_attend_housed"]
_REL_OAT = IDX["rel_attend_oat"]
_B_ATTR = IDX["b_attr"]
_B_MARKET = IDX["b_market"]
_B_PEERS = IDX["b_peers"]
_B_SERVICE = IDX["b_service"]
_B_FOOTFALL = IDX["b_footfall"]
_B_SHELTER = IDX["b_shelter"]
_B_HABIT = IDX["b_habit"]
_HABIT_GAIN = IDX["rate_habit_gain_per_hour"]
_B_RISK = IDX["b_risk"]
_W_REP = IDX["w_reputation"]
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
_SD_FOOTFALL = IDX["sd_taste_footfall"]
_SD_CONCEAL = IDX["sd_taste_conceal"]
_K_RISK_DEM = IDX["k_risk_demeanour"]


@njit(cache=True)
def tastes(key: np.uint64, i: int, sd_footfall: float, sd_conceal: float) -> tuple[float, float]:
    """Return person ``i``'s multipliers of the footfall and concealment weights (mean 1 each).

    A random-coefficients (mixed) logit (Train 2009, ch. 6): people differ in how much they value
    passers-by (street income) and hiding (injecting unseen), log-normally with the given sds.
    The draw is keyed by the person alone (stream ``taste``, tick 0), so it is the same every hour
    and in every scenario run with the seed. With both sds 0 the multipliers are exactly 1.
    """
    u1 = max(uniform(key, 0, i, 0), 1e-300)
    u2 = uniform(key, 0, i, 1)
    r = math.sqrt(-2.0 * math.log(u1))
    z1 = r * math.cos(2.0 * math.pi * u2)
    z2 = r * math.sin(2.0 * math.pi * u2)
    m_foot = math.exp(sd_footfall * z1 - 0.5 * sd_footfall * sd_footfall)
    m_conceal = math.exp(sd_conceal * z2 - 0.5 * sd_conceal * sd_conceal)
    return m_foot, m_conceal


@njit(cache=True)
def draw_tastes(
    key: np.uint64, par: np.ndarray, taste_footfall: np.ndarray, taste_conceal: np.ndarray
) -> None:
    """Fill every person slot's tastes at the start of a run (``tastes`` of the slot's index).

    A slot is never reused and the draw depends on the index alone, so the slots of people who
    enter later get their tastes now too: a choice reads two numbers instead of drawing them.
    """
    sd_foot, sd_conceal = par[_SD_FOOTFALL], par[_SD_CONCEAL]
    for i in range(taste_footfall.shape[0]):
        taste_footfall[i], taste_conceal[i] = tastes(key, i, sd_foot, sd_conceal)


@njit(cache=True, inline="always")
def demeanour_factor(par: np.ndarray, demeanour: float) -> float:
    """Return ``exp(-k_risk_demeanour x demeanour)``: confrontational people weigh risk less.

    It depends on the person alone, so it is their ``risk_demeanour``, set when they enter
    (``entry_exit.demeanour_weights``).
    """
    return math.exp(-par[_K_RISK_DEM] * demeanour)


@njit(cache=True, inline="always")
def risk_weight_of(b_risk, dem_factor, k_trust, trust_ref, trust, k_fines, fines_owed):  # noqa: ANN001, ANN201, PLR0913
    """Return :func:`risk_weight` given the person's ``dem_factor = exp(-k_dem x demeanour)``.

    The kernel's form: the factor is the person's ``risk_demeanour``, set when they enter
    (``entry_exit.demeanour_weights``), so a choice makes no ``exp`` for it.
    """
    factor = max(0.0, 1.0 + k_trust * (trust_ref - trust) + k_fines * fines_owed / 10_000.0)
    return b_risk * dem_factor * factor


@njit(cache=True)
def risk_weight(b_risk, k_dem, demeanour, k_trust, trust_ref, trust, k_fines, fines_owed):  # noqa: ANN001, ANN201, PLR0913
    """Return a person's weight of perceived police risk in site choice.

    ``b_risk x exp(-k_dem x demeanour) x max(0, 1 + k_trust x (trust_ref - trust) + k_fines x
    fines_owed / 10,000)``: people who trust the police less avoid places with police more
    (Tyler 2006); fines owed change it by a hypothesised ``k_fines`` (sign unknown, prior includes
    0; Beckett & Herbert 2009). With both slopes 0 the factor is exactly 1.
    """
    dem_factor = math.exp(-k_dem * demeanour)
    return risk_weight_of(b_risk, dem_factor, k_trust, trust_ref, trust, k_fines, fines_owed)


@njit(cache=True)
def _keep_by_day(  # noqa: PLR0913
    key: np.uint64,
    t: int,
    active: np.ndarray,
    n_active: int,
    status: np.ndarray,
    site: np.ndarray,
    away_until: np.ndarray,
    occ: np.ndarray,
    housed: np.ndarray,
    oat: np.ndarray,
    below_of: np.ndarray,
    need: np.ndarray,
) -> int:
    """Fill ``need`` with the active people who have something to do this hour; return how many.

    Every active person is a candidate (chance 1): those at a site, held away, or arriving, whose
    arrival draw is below ``below_of[c]`` (``rng.below53`` of class ``c``'s chance). Without
    branches: the draw is a pure function of its coordinates, so drawing it for people who are at
    a site or not active changes no other draw, and one well-predicted branch per person replaces
    several that often went either way. A small function of its own, so that the arrays stay in
    registers; it is called once an hour.
    """
    n = 0
    for q in range(n_active):
        i = np.uint64(active[q])  # unsigned: no code for negative indices
        cur = site[i]
        c = 4 * (occ[i] != 0) + 2 * (housed[i] != 0) + (oat[i] == OAT_IN)
        arrives = (cur < 0) & (bits53(key, t, i, 0) < below_of[c])
        keep = (status[i] == STATUS_ACTIVE) & ((cur >= 0) | (away_until[i] > t) | arrives)
        need[n] = i
        n += keep
    return n


@njit(cache=True)
def step(t, day, hour, ep, par, keys, W, P, X):  # noqa: ANN001, ANN201 - compiled kernel
    """Decide presence and site for every person, then index people by site for this hour."""
    no_site = np.int64(-1)
    n_sites = W.site_cap.shape[0]
    # Scratch for a choice: candidates, their utilities and familiarity; ``mark`` over sites.
    # Kept in the state at the largest size a choice set can have (known slots, main scenes,
    # service sites): an allocation and its release every hour cost more than the reset.
    cand, util, fam_c, mark = X.choice_cand, X.choice_util, X.choice_fam, X.choice_mark
    for j in range(n_sites):
        mark[j] = -1
    leave = 1.0 / par[_DUR]
    prof = HOUR_PROFILE[hour]
    for s in range(n_sites):
        X.n_now[s] = 0
        # Terms that depend only on the site and last hour's state: once per tick, not per person.
        occ = X.n_smooth[s] / W.site_cap[s]
        v = par[_B_ATTR] * (W.site_attr0[s] + X.attr_b[s])
        v += par[_B_MARKET] * math.log1p(X.sellers_now[s])
        v += par[_B_PEERS] * math.log1p(X.n_smooth[s])
        v += par[_B_SERVICE] * X.pull_now[s]
        v += par[_B_SHELTER] * W.site_shelter[s]
        v += par[_B_FOOTFALL] * W.site_footfall[s]
        v -= par[_B_CROWD] * max(0.0, occ - 1.0)
        X.site_term[s] = v
    # Chance of arriving this hour by (occasional, housed, in OAT), bits 4, 2, 1: each entry is the
    # per-person expression with the same operations, computed once per tick.
    arrive_of = X.arrive_of
    for c in range(8):
        share = par[_H_OCC] if c & 4 else par[_H_REG]
        if c & 2:
            share *= par[_REL_HOUSED]
        if c & 1:
            share *= par[_REL_OAT]
        f = min(0.9, share / 24.0 * prof)
        arrive_of[c] = leave * f / (1.0 - f)
    # Candidates for arriving: the per-person chance is at most this hour's largest (a regular,
    # unhoused person not in OAT unless a factor exceeds 1); each candidate is thinned below.
    p_max = 0.0
    for c in range(8):
        p_max = max(p_max, arrive_of[c])
    p_cand = candidate_chance(min(1.0, p_max))
    scale = skip_scale(p_cand)
    # Arrays taken out of the structs once, into locals the loops keep in registers.
    status, site, away_until = P.status, P.site, P.away_until
    occasional, housed, oat = P.occasional, P.housed, P.oat
    hours_present, at_scene_today, n_now = P.hours_present, P.at_scene_today, X.n_now
    known, fam, site_open = P.known, P.fam, W.site_open
    n_k = known.shape[1]
    key = keys[S_ATTEND]
    # For the choices, written out in the loop below.
    key_choice = keys[S_CHOICE]
    main, service = X.main, X.service_sites
    n_main, n_service = main.shape[0], service.shape[0]
    m0 = 0 if par[_MAIN_KNOWN] >= 0.5 else n_main
    ban_zone, ban_until, ban_comply = P.ban_zone, P.ban_until, P.ban_comply
    risk_demeanour, trust, fines_owed = P.risk_demeanour, P.trust, P.fines_owed
    mem_site, mem_risk = P.mem_site, P.mem_risk
    n_mem = mem_site.shape[1]
    zone_member, reputation, site_term = W.zone_member, X.reputation, X.site_term
    site_conceal, site_dist, site_lat, site_lon = W.site_conceal, W.site_km, W.site_lat, W.site_lon
    w_rep = par[_W_REP]
    b_habit, b_conceal, b_dist = par[_B_HABIT], par[_B_CONCEAL], par[_B_DIST]
    b_stay, b_ban = par[_B_STAY], par[_B_BAN]
    gain = par[_HABIT_GAIN]
    p_reconsider = par[_P_RECONSIDER]
    taste_footfall, taste_conceal = P.taste_footfall, P.taste_conceal
    b_foot, site_footfall = par[_B_FOOTFALL], W.site_footfall
    # Who needs a decision this hour: everyone at a site last hour (``X.present``, ascending) and
    # the arrival candidates. At night the candidates come from a skip chain over person indices,
    # not over the active list: the chain's draws are keyed by (tick, index) alone, so the
    # candidates at a tick are the same in every scenario run with the same seed (common random
    # numbers), which a skip over list positions would break (the list differs once policies
    # differ). A per-person next-arrival tick would visit fewer dead slots but needs a calendar
    # kept in step with every phase that moves people; the chain needs no state. By day the
    # largest chance is above ``rng.DENSE_ABOVE`` and everyone is a candidate (a skip costs more
    # than the plain test it saves).
    n_used = X.counters[0]
    prev, n_prev = X.present, X.counters[6]
    present = X.present_new  # who is at a site this hour, ascending
    n_present = 0
    active, n_active = X.active, X.counters[5]
    # First pass, over the candidates: keep those who have something to do (at a site, held away,
    # or arriving: the arrival draw is made here). A decision changes only its own person's state,
    # so this pass sees what the loop below would.
    need = X.need
    n_need = 0
    if scale == 0.0:
        # Chance 1: ``uniform x p_cand < arrive_of[c]`` is ``uniform < arrive_of[c]``.
        below_of = X.below_of
        for c in range(8):
            below_of[c] = below53(arrive_of[c])
        n_need = _keep_by_day(
            key,
            t,
            active,
            n_active,
            status,
            site,
            away_until,
            occasional,
            housed,
            oat,
            below_of,
            need,
        )
    else:
        # The skip chain (``rng.next_candidate`` with chance below 1, written out).
        i = skip(key, t, -1, scale, n_used)
        while i < n_used:
            if status[i] == STATUS_ACTIVE:
                keep = site[i] >= 0 or away_until[i] > t
                if not keep:
                    # Off the scene: arrives with chance arrive_of[c] = p_cand x (arrive_of[c] /
                    # p_cand).
                    c = 4 * (occasional[i] != 0) + 2 * (housed[i] != 0) + (oat[i] == OAT_IN)
                    keep = uniform(key, t, i, 0) * p_cand < arrive_of[c]
                if keep:
                    need[n_need] = i
                    n_need += 1
            i = skip(key, t, i, scale, n_used)
    # Second pass: last hour's present people and the kept candidates, both ascending, merged, so
    # people are visited (and listed by site) in ascending order, as a loop over everyone would.
    q = 0
    r = 0
    while True:
        i_prev = prev[q] if q < n_prev else n_used
        i_need = need[r] if r < n_need else n_used
        if i_prev >= n_used and i_need >= n_used:
            break
        if i_prev <= i_need:
            i = i_prev
            q += 1
        else:
            i = i_need
        candidate = i == i_need
        if candidate:
            r += 1
        if status[i] != STATUS_ACTIVE:
            continue
        cur = site[i]
        if away_until[i] > t:
            site[i] = -1
            continue
        if cur < 0:
            # Off the scene: a kept candidate off the scene arrives (drawn in the first pass).
            if not candidate:
                continue
            choose, stay = True, no_site
        elif not site_open[ep, cur]:
            site[i] = -1
            choose, stay = True, no_site
        else:
            if uniform(key, t, i, 0) < leave:
                site[i] = -1
                continue
            choose, stay = uniform(key, t, i, 1) < p_reconsider, np.int64(cur)
        s = np.int64(cur)
        if choose:
            s = no_site
            # The logit choice over the person's choice set (-1 if no place in it is open), written
            # out here (about 25 choices an hour).
            # The choice set: the known sites first (slot order), then the main scenes and the
            # service sites not already in it. ``mark[s] == i`` says site ``s`` is in the set
            # (``mark`` is reset every tick, and a person chooses at most once a tick): a test per
            # site instead of a scan of the set. The anchor is the most familiar known site.
            n_c = 0
            anchor, best = -1, -1.0
            for k in range(n_k):
                sk = known[i, k]
                if sk < 0:
                    continue
                f = fam[i, k]
                if mark[sk] == i:
                    # A site in two slots (not made by this model's updates, but possible): each
                    # entry has the familiarity of its last slot, as a lookup by site would give.
                    for c in range(n_c):
                        if cand[c] == sk:
                            fam_c[c] = f
                mark[sk] = i
                cand[n_c] = sk
                fam_c[n_c] = f
                n_c += 1
                if f > best:
                    anchor, best = sk, f
            for m in range(m0, n_main + n_service):
                sk = main[m] if m < n_main else service[m - n_main]
                if sk >= 0 and mark[sk] != i:
                    mark[sk] = i
                    cand[n_c] = sk
                    fam_c[n_c] = 0.0
                    n_c += 1
            zone = ban_zone[i]
            banned = zone >= 0 and ban_until[i] > t
            comply = ban_comply[i]
            b_risk = risk_weight_of(
                par[_B_RISK],
                risk_demeanour[i],
                par[_K_TRUST_AVOID],
                par[_TRUST_REF],
                trust[i],
                par[_K_FINES],
                fines_owed[i],
            )
            max_risk = 0.0
            n_ok = 0
            for c in range(n_c):
                sc = cand[c]
                util[c] = -np.inf
                if not site_open[ep, sc]:
                    continue
                if banned and zone_member[zone, sc] and comply:
                    continue
                mem = 0.0  # remembered police risk at sc (``common.memory_of``)
                for k in range(n_mem):
                    if mem_site[i, k] == sc:
                        mem = mem_risk[i, k]
                        break
                risk = w_rep * reputation[sc] + (1.0 - w_rep) * mem
                util[c] = -b_risk * risk  # the other terms are added below, given max risk
                max_risk = max(max_risk, risk)
                n_ok += 1
            if n_ok > 0:
                # A person's own weights (mixed logit): the site term holds the mean footfall
                # weight, so a person adds the difference. With both sds 0 the tastes are exactly
                # 1, so the weights are unchanged and the difference adds exactly 0.
                b_conceal_i = b_conceal * taste_conceal[i]
                d_foot = b_foot * (taste_footfall[i] - 1.0)
                u_max = -np.inf
                for c in range(n_c):
                    if util[c] == -np.inf:
                        continue
                    sc = cand[c]
                    # The terms in a fixed order: floating-point sums depend on it.
                    v = util[c] + site_term[sc]
                    v += b_habit * fam_c[c]
                    v += b_conceal_i * site_conceal[sc] * max_risk
                    v += d_foot * site_footfall[sc]
                    if anchor >= 0 and anchor != sc:
                        v -= b_dist * site_km(site_dist, site_lat, site_lon, anchor, sc)
                    if sc == stay:
                        v += b_stay
                    if banned and zone_member[zone, sc]:
                        v -= b_ban
                    util[c] = v
                    u_max = max(u_max, v)
                total = 0.0
                for c in range(n_c):
                    if util[c] > -np.inf:
                        # exp(0) is exactly 1: the call is skipped for the best candidate.
                        d = util[c] - u_max
                        util[c] = 1.0 if d == 0.0 else math.exp(d)
                        total += util[c]
                    else:
                        util[c] = 0.0
                u = uniform(key_choice, t, i, 0) * total
                acc = 0.0
                for c in range(n_c):
                    acc += util[c]
                    if u < acc and util[c] > 0.0:
                        s = cand[c]
                        break
                if s < 0:
                    for c in range(n_c - 1, -1, -1):
                        if util[c] > 0.0:
                            s = cand[c]
                            break
        site[i] = s
        if s >= 0:
            # Familiarity with s builds; an unknown site replaces the least familiar slot.
            slot, weakest, weakest_val = -1, 0, np.inf
            for k in range(n_k):
                if known[i, k] == s:
                    slot = k
                if fam[i, k] < weakest_val:
                    weakest, weakest_val = k, fam[i, k]
            if slot < 0:
                slot = weakest
                known[i, slot] = s
                fam[i, slot] = 0.0
            fam[i, slot] += gain * (1.0 - fam[i, slot])
            hours_present[i] += 1
            at_scene_today[i] = 1
            n_now[s] += 1
            present[n_present] = i
            n_present += 1
    prev[:n_present] = present[:n_present]
    X.counters[6] = n_present
    # Counting sort: X.order[offsets[s]:offsets[s+1]] are the people at site s this hour.
    order, offsets = X.order, X.offsets
    offsets[0] = 0
    for s in range(n_sites):
        offsets[s + 1] = offsets[s] + n_now[s]
    fill = X.fill
    for j in range(n_sites):
        fill[j] = offsets[j]
    for q in range(n_present):
        i = present[q]
        order[fill[site[i]]] = i
        fill[site[i]] += 1
