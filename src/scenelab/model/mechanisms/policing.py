"""Policing encounters: controls, expulsion orders, fines, confiscation and custody.

Officers present at a site make controls up to a capacity that saturates with crowd size, so fixed
police capacity spread over more people means less risk per person (Kleiman 1993; Caulkins & Reuter
2010 tipping). Who is controlled is selective: women less (``rel_control_women``), confrontational
demeanour more (the Bergen researchers saw "masculine protest" draw attention), sellers more.
A control may end in an expulsion order banning its zone for a period (Bergen: usually 24 h), a
fine, confiscation (Werb et al. 2008: 34% had drugs confiscated; overdose risk doubles in the week
after a seizure, Ray et al. 2023) or custody. Whether an expelled person keeps out of the zone
depends on their trust in the police when ``k_trust_comply`` is not 0 (Tyler 2003; Murphy 2005;
off by default). Each control is a contact experienced as bad or good; bad ones lower trust 4-14x
more than good ones raise it (Skogan 2006). Every enforcement event
feeds the person's deterrence memory and the site's reputation (Sherman 1990).
"""

from __future__ import annotations

import math

import numpy as np

from scenelab.model.jit import njit
from scenelab.model.mechanisms.common import remember
from scenelab.model.metrics import SD
from scenelab.model.params import IDX
from scenelab.model.rng import S_POLICE, uniform

#: Why this phase sits where it does in the tick (the order is ``phases.PHASE_ORDER``).
PHASE_REASON = (
    "officers meet whoever is present now; expelled or arrested people leave before using"
)
SD_CONTROLS = SD["police_controls"]
SD_EXPULSIONS = SD["expulsions"]
SD_FINES = SD["fines"]
#: What the phase does every hour, and at a fixed hour of the day (for the ODD's timing table).
TIMING = ("controls and their consequences at each site", "-")

_N_HALF = IDX["n_half_control"]
_REL_SELLERS = IDX["rel_control_sellers"]
_P_CONFISCATE = IDX["p_confiscate"]
_DUR_SEIZURE = IDX["dur_seizure_risk_days"]
_DUR_CUSTODY = IDX["dur_custody_days"]
_P_SELLER_ARREST = IDX["p_seller_arrest"]
_DUR_SELLER_CUSTODY = IDX["dur_seller_custody_days"]
_P_COMPLY = IDX["p_comply_ban"]
_K_TRUST_COMPLY = IDX["k_trust_comply"]
_TRUST_REF = IDX["trust_comply_ref"]
_K_REP = IDX["k_reputation"]
_REP_DECAY = IDX["rate_reputation_decay_per_day"]
_W_CONTROL = IDX["w_memory_control"]
_W_EXPEL = IDX["w_memory_expulsion"]
_W_FINE = IDX["w_memory_fine_per_10k_nok"]
_D_BAD = IDX["d_trust_bad_contact"]
_RATIO = IDX["ratio_bad_good"]
_REL_WOMEN = IDX["rel_control_women"]
_B_DEM = IDX["b_demeanour_control"]


@njit(cache=True, inline="always")
def control_weight(par: np.ndarray, demeanour: float, sex: int) -> float:
    """Return a person's weight of being controlled: ``exp(b_dem x demeanour)``, x rel for women.

    It depends on the person alone, so it is their ``police_weight``, set when they enter
    (``entry_exit.demeanour_weights``).
    """
    w = math.exp(par[_B_DEM] * demeanour)
    if sex == 1:
        w *= par[_REL_WOMEN]
    return w


@njit(cache=True)
def comply_probability(p_comply: float, slope: float, ref: float, trust: float) -> float:
    """Return the chance an expelled person keeps out of the zone, given their trust in police.

    ``p_comply + slope x (trust - ref)``, kept within [0, 1]: people who trust the police more
    comply more (procedural justice, Tyler 2003; Murphy 2005). With ``slope = 0`` it is
    ``p_comply`` exactly.
    """
    return min(1.0, max(0.0, p_comply + slope * (trust - ref)))


@njit(cache=True)
def step(t, day, hour, ep, par, keys, W, P, L, X, R):  # noqa: ANN001, ANN201 - compiled kernel
    """Let officers at each site control people and sellers, with the consequences."""
    n_sites = W.site_cap.shape[0]
    key = keys[S_POLICE]
    # Each person's weight of being controlled is their ``police_weight``, set when they enter.
    police_weight = P.police_weight
    for s in range(n_sites):
        cap = X.control_now[s]
        n_people = X.n_now[s]
        n_sellers = X.sellers_now[s]
        if cap <= 0.0 or n_people + n_sellers == 0:
            continue
        a, b = X.offsets[s], X.offsets[s + 1]
        w_sum = par[_REL_SELLERS] * n_sellers
        for k in range(a, b):
            w_sum += police_weight[X.order[k]]
        n_eff = n_people + par[_REL_SELLERS] * n_sellers
        expected = cap * n_eff / (n_eff + par[_N_HALF])
        events = 0.0
        for k in range(a, b):
            i = X.order[k]
            w = police_weight[i]
            if uniform(key, t, i, 0) >= min(1.0, expected * w / w_sum):
                continue
            # A control.
            P.n_controls[i] += 1
            R.site_day[day, s, SD_CONTROLS] += 1
            weight = par[_W_CONTROL]
            if uniform(key, t, i, 1) < X.p_bad_now[s]:
                P.n_bad_contacts[i] += 1
                P.trust[i] = max(0.0, P.trust[i] - par[_D_BAD])
            else:
                P.n_good_contacts[i] += 1
                P.trust[i] = min(1.0, P.trust[i] + par[_D_BAD] / par[_RATIO])
            removed = False
            if uniform(key, t, i, 2) < W.expel_prop[ep, s]:
                P.ban_zone[i] = W.expel_zone[ep, s]
                P.ban_until[i] = t + int(round(W.expel_hours[ep, s]))
                p_comply = comply_probability(
                    par[_P_COMPLY], par[_K_TRUST_COMPLY], par[_TRUST_REF], P.trust[i]
                )
                P.ban_comply[i] = 1 if uniform(key, t, i, 3) < p_comply else 0
                P.n_expulsions[i] += 1
                R.site_day[day, s, SD_EXPULSIONS] += 1
                weight += par[_W_EXPEL]
                removed = True
            if uniform(key, t, i, 4) < W.fine_prop[ep, s]:
                P.fines_owed[i] += W.fine_amount[ep, s]
                P.n_fines[i] += 1
                R.site_day[day, s, SD_FINES] += 1
                weight += par[_W_FINE] * W.fine_amount[ep, s] / 10_000.0
            if uniform(key, t, i, 5) < par[_P_CONFISCATE]:
                P.seizure_until[i] = t + int(round(24.0 * par[_DUR_SEIZURE]))
            if uniform(key, t, i, 6) < X.p_arrest_now[s]:
                P.away_until[i] = t + int(round(24.0 * par[_DUR_CUSTODY]))
                removed = True
            remember(P.mem_site, P.mem_risk, i, s, weight)
            events += weight
            if removed:
                P.site[i] = -1
        if n_sellers > 0:
            p_seller = min(1.0, expected * par[_REL_SELLERS] / w_sum)
            for j in range(X.counters[1]):
                if L.site[j] != s or L.away_until[j] > t or L.status[j] != 1:
                    continue
                if uniform(key, t, 1_000_000 + j, 0) < p_seller:
                    R.site_day[day, s, SD_CONTROLS] += 1
                    events += 1.0
                    if uniform(key, t, 1_000_000 + j, 1) < par[_P_SELLER_ARREST]:
                        L.away_until[j] = t + int(round(24.0 * par[_DUR_SELLER_CUSTODY]))
        # Scaled so that, at equilibrium, reputation = k x enforcement events per person-day.
        X.reputation[s] += par[_K_REP] * par[_REP_DECAY] * events / max(n_eff, 1.0)
