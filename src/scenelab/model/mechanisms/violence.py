"""Violence from routine-activity factors, with victims, witnesses and where it happened.

Incidents at a site arrive as a Poisson process whose rate grows with the people present, their
density relative to the site's capacity, the market (sellers; Caulkins & Reuter 2010) and
concealment, and falls with capable guardians: officers (by mode) and staff (Cohen & Felson 1979).
Victims differ by sex (Marshall et al. 2008: women attacked mainly by partners and clients, with
sexual violence; men by strangers and police): the model draws victims, not perpetrators, with a
relative weight for women and sex-specific shares of sexual violence; others present witness it,
more so in a cramped place. Violence in private places (partners, clients) happens off the
scene at a daily rate.
"""

from __future__ import annotations

import math

import numpy as np

from scenelab.model.jit import njit
from scenelab.model.metrics import CD, SD
from scenelab.model.params import IDX
from scenelab.model.rng import S_PRIVATE, S_VIOLENCE, S_WITNESS, poisson, uniform
from scenelab.model.state import STATUS_ACTIVE

#: Why this phase sits where it does in the tick (the order is ``phases.PHASE_ORDER``).
PHASE_REASON = "incidents depend on the crowd, market and guardians left after policing"
CD_PRIVATE_VIOLENCE = CD["private_violence"]
SD_SEXUAL = SD["sexual_violence_incidents"]
SD_VIOLENCE = SD["violence_incidents"]
#: What the phase does every hour, and at a fixed hour of the day (for the ODD's timing table).
TIMING = ("incidents at sites, victims, witnesses", "hour 12: violence in private places")

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
_K_WITNESS = IDX["k_witness"]
_REL_UNHOUSED = IDX["rel_private_violence_unhoused"]


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
def step(t, day, hour, par, keys, W, P, X, R):  # noqa: ANN001, ANN201 - compiled kernel
    """Draw incidents at each site and in private places, and record victims and witnesses.

    Cost is linear in the people present: victims are found by binary search in cumulative
    weights, and each bystander makes one witness draw for all the incidents they did not
    suffer (P(witness >= 1 of k) = 1 - (1 - p)^k), not one per incident.
    """
    for s in range(W.site_cap.shape[0]):
        a, b = X.offsets[s], X.offsets[s + 1]
        # People removed by police this hour are still in the index; keep those still here.
        n_here = 0
        w_sum = 0.0
        for k in range(a, b):
            i = X.order[k]
            if P.site[i] == s and P.status[i] == STATUS_ACTIVE:
                w_sum += par[_REL_WOMEN] if P.sex[i] == 1 else 1.0
                X.members[a + n_here] = i
                X.weight_cum[a + n_here] = w_sum
                n_here += 1
        if n_here == 0:
            continue
        n_inc = poisson(site_rate(s, n_here, par, W, X), uniform(keys[S_VIOLENCE], t, s, 0))
        if n_inc == 0:
            continue
        cum = X.weight_cum[a : a + n_here]
        victims = np.empty(n_inc, dtype=np.int64)
        for m in range(n_inc):
            u = uniform(keys[S_VIOLENCE], t, s, 1 + 2 * m) * w_sum
            j = min(np.searchsorted(cum, u, side="right"), n_here - 1)
            victim = X.members[a + j]
            victims[m] = victim
            R.site_day[day, s, SD_VIOLENCE] += 1
            P.victim_tick[victim] = t
            P.victim_public[victim] = 1
            P.n_victim[victim] += 1
            p_sex = par[_P_SEX_W] if P.sex[victim] == 1 else par[_P_SEX_M]
            if uniform(keys[S_VIOLENCE], t, s, 2 + 2 * m) < p_sex:
                P.sexual_ever[victim] = 1
                R.site_day[day, s, SD_SEXUAL] += 1
        p_miss = math.exp(-par[_K_WITNESS] * n_here / W.site_cap[s])  # misses one incident
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
    if hour != 12:
        return
    # Private places: once a day, for everyone in the population.
    for i in range(X.counters[0]):
        if P.status[i] != STATUS_ACTIVE:
            continue
        rate = par[_PRIV_W] if P.sex[i] == 1 else par[_PRIV_M]
        if not P.housed[i]:
            rate *= par[_REL_UNHOUSED]  # Kennedy et al. 2017: eviction/homelessness
        if uniform(keys[S_PRIVATE], day, i, 0) < rate / 365.25:
            P.victim_tick[i] = t
            P.victim_public[i] = 0
            P.n_victim[i] += 1
            R.city_day[day, CD_PRIVATE_VIOLENCE] += 1
            p_sex = par[_P_SEX_W] if P.sex[i] == 1 else par[_P_SEX_M]
            if uniform(keys[S_PRIVATE], day, i, 1) < p_sex:
                P.sexual_ever[i] = 1
