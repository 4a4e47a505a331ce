"""Sellers' site choice, what they know of places, arrival and departure.

Sellers follow demand and avoid police risk (Caulkins 1993; Baveja et al. 1997, 2004): a logit over
the places the seller knows of, their own site and (local sellers) their turf, with utility
log(1 + customers) + attractiveness + footfall (buyers' access, Kleiman & Young 1995) - risk /
tolerance + turf. A seller knows of a place by working there or from customers: one met at the
seller's site names the place they know best elsewhere; a seller with no customers at hand (site
closed, empty, or just arrived) hears from a customer who phones, i.e. someone now present who
knows a place the seller knows, and learns where that customer is now (street markets run on
buyer-seller contact by phone: May & Hough 2004). The list is bounded and keeps the most recently
heard places: there is no city-wide list of "main scenes" that sellers read.
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
PHASE_REASON = (
    "sellers follow the customers who just chose (and hear from them), and avoid police reputation"
)
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
_CALLS = IDX["n_seller_contacts_per_hour"]


@njit(cache=True)
def _note(t, j, s, L) -> None:  # noqa: ANN001
    """Seller ``j`` works at or hears of site ``s`` at tick ``t``; the stalest place makes room."""
    if s < 0:
        return
    stalest, stalest_t = 0, np.iinfo(np.int64).max
    for k in range(L.known.shape[1]):
        if L.known[j, k] == s:
            L.heard[j, k] = t
            return
        if L.heard[j, k] < stalest_t:  # empty slots (heard -1) fill first
            stalest, stalest_t = k, L.heard[j, k]
    L.known[j, stalest] = s
    L.heard[j, stalest] = t


@njit(cache=True)
def _favourite_elsewhere(i, s, P) -> int:  # noqa: ANN001
    """Return the place person ``i`` knows best other than ``s`` (-1 if none)."""
    best, best_fam = -1, -1.0
    for k in range(P.known.shape[1]):
        q = P.known[i, k]
        if q >= 0 and q != s and P.fam[i, k] > best_fam:
            best, best_fam = q, P.fam[i, k]
    return best


@njit(cache=True)
def _is_customer(i, j, P, L) -> bool:  # noqa: ANN001
    """Return True if person ``i`` knows a place seller ``j`` knows of (or ``j`` knows none)."""
    anything = False
    for m in range(L.known.shape[1]):
        if L.known[j, m] < 0:
            continue
        anything = True
        for k in range(P.known.shape[1]):
            if P.known[i, k] == L.known[j, m]:
                return True
    return not anything


@njit(cache=True)
def hear(t, j, cur, par, keys, W, P, L, X) -> None:  # noqa: ANN001
    """Seller ``j`` learns of a place from a customer met at site ``cur``, or from one who phones.

    Reads this hour's index of people by site (``X.order``/``X.offsets``, built by site choice).
    """
    if cur >= 0 and X.n_now[cur] > 0:
        k = int(uniform(keys[S_SELLERS], t, j, 2) * X.n_now[cur])
        _note(t, j, _favourite_elsewhere(X.order[X.offsets[cur] + k], cur, P), L)
        return
    present = X.offsets[W.site_cap.shape[0]]
    for q in range(int(round(par[_CALLS])) if present > 0 else 0):
        i = X.order[int(uniform(keys[S_SELLERS], t, j, 10 + q) * present)]
        if _is_customer(i, j, P, L):
            _note(t, j, P.site[i], L)
            return


@njit(cache=True, inline="always")
def _candidate(j, c, cur, L):  # noqa: ANN001, ANN202
    k = L.known.shape[1]
    if c < k:
        return L.known[j, c]
    return cur if c == k else L.home[j]


@njit(cache=True)
def _choose(t, j, cur, ep, par, keys, W, L, X, util):  # noqa: ANN001, ANN201
    n_c = L.known.shape[1] + 2
    u_max = -np.inf
    for c in range(n_c):
        s = _candidate(j, c, cur, L)
        util[c] = -np.inf
        if s < 0 or not W.site_open[ep, s]:
            continue
        dup = False
        for q in range(c):
            if _candidate(j, q, cur, L) == s:
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
    for c in range(n_c):
        util[c] = math.exp(util[c] - u_max) if util[c] > -np.inf else 0.0
        total += util[c]
    u = uniform(keys[S_SELLERS], t, j, 1) * total
    acc = 0.0
    for c in range(n_c):
        acc += util[c]
        if u < acc and util[c] > 0.0:
            return _candidate(j, c, cur, L)
    return cur


@njit(cache=True)
def step(t, day, hour, ep, par, pop, keys, W, P, L, X):  # noqa: ANN001, ANN201 - compiled kernel
    """Move sellers among sites; once a day let travelling sellers arrive and leave."""
    n_sites = W.site_cap.shape[0]
    util = X.seller_util  # scratch kept in the state: an allocation every hour costs more
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
            L.site[j] = -1  # no place yet: below, a contact tells them where the scene is
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
            if not forced:
                _note(t, j, cur, L)
            hear(t, j, -1 if forced else cur, par, keys, W, P, L, X)
            L.site[j] = _choose(t, j, -1 if forced else cur, ep, par, keys, W, L, X, util)
        if L.site[j] >= 0:
            X.sellers_now[L.site[j]] += 1
