"""Sellers' site choice, arrival and departure.

Sellers follow demand and avoid police risk (Caulkins 1993; Baveja et al. 1997, 2004): a logit over
the main scenes, their own site and (local sellers) their turf, with utility log(1 + customers)
+ attractiveness + footfall (buyers' access, Kleiman & Young 1995) - risk / tolerance + turf.
Local sellers stay in the city and hold their turf (Bergen: Vagsbunnen had a drug market before
the scene moved there); travelling (foreign) sellers arrive when the market is big and safe and
leave faster where enforcement is high, as Bergen saw fewer foreign sellers after the crackdown
(Lundeberg & Mjaland 2017).
"""

from __future__ import annotations

import math

import numpy as np

from scenelab.model.jit import njit
from scenelab.model.mechanisms.common import POP_TRAVEL_TOL, per_day_to_p
from scenelab.model.params import IDX
from scenelab.model.rng import S_SELLERS, poisson, uniform
from scenelab.model.state import STATUS_ACTIVE, STATUS_EXITED

#: Why this phase sits where it does in the tick (the order is ``phases.PHASE_ORDER``).
PHASE_REASON = "sellers follow the customers who just chose, and avoid police reputation"
#: What the phase does every hour, and at a fixed hour of the day (for the ODD's timing table).
TIMING = ("site of every seller", "hour 0 (from day 1): travelling sellers arrive and leave")

_C_CUST = IDX["c_seller_customers"]
_C_RISK = IDX["c_seller_risk"]
_B_ATTR = IDX["b_attr"]
_P_RECONSIDER = IDX["p_seller_reconsider_per_hour"]
_TURF = IDX["c_seller_turf"]
_FOOTFALL = IDX["c_seller_footfall"]
_MARKET_REF = IDX["n_market_reference"]
_ENTRY = IDX["rate_travelling_seller_entry_per_day"]
_EXIT = IDX["rate_seller_exit_per_year"]
_K_EXIT_RISK = IDX["k_seller_exit_risk"]


@njit(cache=True)
def _choose(t, j, cur, ep, par, keys, W, L, X, util):  # noqa: ANN001, ANN201
    n_m = X.main.shape[0]
    u_max = -np.inf
    for c in range(n_m + 2):
        s = X.main[c] if c < n_m else (cur if c == n_m else L.home[j])
        util[c] = -np.inf
        if s < 0 or not W.site_open[ep, s]:
            continue
        dup = False
        for q in range(c):
            if (X.main[q] if q < n_m else cur) == s:
                dup = True  # each site enters the logit once
        if dup:
            continue
        v = par[_C_CUST] * math.log1p(X.n_smooth[s])
        v += par[_B_ATTR] * (W.site_attr0[s] + X.attr_b[s])
        v += par[_FOOTFALL] * W.site_footfall[s]
        v -= par[_C_RISK] * X.reputation[s] / L.risk_tol[j]
        if s == L.home[j]:
            v += par[_TURF]
        util[c] = v
        u_max = max(u_max, v)
    if u_max == -np.inf:
        return -1
    total = 0.0
    for c in range(n_m + 2):
        util[c] = math.exp(util[c] - u_max) if util[c] > -np.inf else 0.0
        total += util[c]
    u = uniform(keys[S_SELLERS], t, j, 1) * total
    acc = 0.0
    for c in range(n_m + 2):
        acc += util[c]
        if u < acc and util[c] > 0.0:
            return X.main[c] if c < n_m else (cur if c == n_m else L.home[j])
    return cur


@njit(cache=True)
def step(t, day, hour, ep, par, pop, keys, W, L, X):  # noqa: ANN001, ANN201 - compiled kernel
    """Move sellers among sites; once a day let travelling sellers arrive and leave."""
    n_sites = W.site_cap.shape[0]
    util = np.empty(X.main.shape[0] + 2)
    if hour == 0 and day > 0:
        total = 0.0
        mean_rep = 0.0
        for s in range(n_sites):
            total += X.n_smooth[s]
            mean_rep += X.reputation[s] * X.n_smooth[s]
        mean_rep = mean_rep / total if total > 0 else 0.0
        lam = par[_ENTRY] * total / par[_MARKET_REF] * math.exp(-par[_C_RISK] * mean_rep)
        n_new = poisson(lam, uniform(keys[S_SELLERS], day, 0, 7))
        for _ in range(n_new):
            j = X.counters[1]
            if j >= L.status.shape[0]:
                break
            X.counters[1] += 1
            L.status[j] = STATUS_ACTIVE
            L.travelling[j] = 1
            L.risk_tol[j] = pop[POP_TRAVEL_TOL]
            L.site[j] = X.main[0]
        for j in range(X.counters[1]):
            if L.status[j] != STATUS_ACTIVE or not L.travelling[j]:
                continue
            s = L.site[j]
            rep = X.reputation[s] if s >= 0 else 0.0
            rate = par[_EXIT] / 365.25 * (1.0 + par[_K_EXIT_RISK] * rep / L.risk_tol[j])
            if uniform(keys[S_SELLERS], day, j, 8) < per_day_to_p(rate):
                L.status[j] = STATUS_EXITED
                L.site[j] = -1
    for s in range(n_sites):
        X.sellers_now[s] = 0
    for j in range(X.counters[1]):
        if L.status[j] != STATUS_ACTIVE or L.away_until[j] > t:
            continue
        cur = L.site[j]
        forced = cur < 0 or not W.site_open[ep, cur]
        if forced or uniform(keys[S_SELLERS], t, j, 0) < par[_P_RECONSIDER]:
            L.site[j] = _choose(t, j, -1 if forced else cur, ep, par, keys, W, L, X, util)
        if L.site[j] >= 0:
            X.sellers_now[L.site[j]] += 1
