"""Entry into and exit from the scene population, once a day.

Recruitment rises with the scenes' visibility (footfall x openness of where people are); the
Bergen researchers suggest a hidden, stigmatised scene recruits less. Exits: a base rate (Nordt &
Stohler 2006: the stock of problem heroin users fell 4%/yr), extra exits for occasional buyers
that grow as the scene becomes less visible (Lundeberg & Mjaland 2017: fewer occasional,
well-functioning buyers after the closure), and extra exits via OAT and housing. Overdose deaths
exit in the injection phase.
"""

from __future__ import annotations

import math

import numpy as np

from scenelab.model.jit import njit
from scenelab.model.mechanisms.common import (
    POP_HOUSED,
    POP_INJECT,
    POP_OPIOIDS,
    POP_STIMULANTS,
    POP_TRUST,
    POP_TRUST_SD,
    POP_WOMEN,
    per_day_to_p,
)
from scenelab.model.mechanisms.policing import control_weight
from scenelab.model.mechanisms.site_choice import demeanour_factor
from scenelab.model.metrics import CD
from scenelab.model.params import IDX
from scenelab.model.rng import S_DISCOVERY, S_ENTRY, S_EXIT, poisson, uniform
from scenelab.model.state import (
    EXIT_HOUSED,
    EXIT_MOVED,
    EXIT_OAT,
    EXIT_OCCASIONAL,
    OAT_IN,
    STATUS_ACTIVE,
    STATUS_EXITED,
)

#: Why this phase sits where it does in the tick (the order is ``phases.PHASE_ORDER``).
PHASE_REASON = "daily arrivals and departures set who can attend before anyone chooses a site"
CD_ENTRIES = CD["entries"]
CD_EXITS = CD["exits"]
CD_PEOPLE_FULL = CD["people_full"]
#: What the phase does every hour, and at a fixed hour of the day (for the ODD's timing table).
TIMING = ("-", "hour 0 (from day 1): recruit entrants, draw exits")

_RATE_ENTRY = IDX["rate_entry_per_day"]
_K_VIS = IDX["k_visibility"]
_SHARE_OCC = IDX["share_occasional_entrants"]
_EXIT = IDX["rate_exit_per_year"]
_EXIT_OCC = IDX["rate_exit_occasional_per_year"]
_K_STIGMA = IDX["k_stigma"]
_K_OCC_DETER = IDX["k_occasional_deterrence"]
_EXIT_OAT = IDX["rate_exit_oat_per_year"]
_EXIT_HOUSED = IDX["rate_exit_housed_per_year"]
_DEMEANOUR_W = IDX["demeanour_shift_women"]
_MAIN_KNOWN = IDX["main_scenes_known"]


@njit(cache=True, inline="always")
def demeanour_weights(par: np.ndarray, demeanour: float, sex: int) -> tuple[float, float]:
    """Return a person's two weights that depend on their demeanour and sex alone.

    Site choice's demeanour factor of the weight of police risk
    (``site_choice.demeanour_factor``) and policing's weight of being controlled
    (``policing.control_weight``). Neither changes while the person is in the scene, so they are
    computed once, when the person enters, instead of an ``exp`` at every choice and every hour
    at a policed site.
    """
    return demeanour_factor(par, demeanour), control_weight(par, demeanour, sex)


@njit(cache=True)
def initial_demeanour_weights(
    par: np.ndarray,
    demeanour: np.ndarray,
    sex: np.ndarray,
    n: int,
    risk_demeanour: np.ndarray,
    police_weight: np.ndarray,
) -> None:
    """Fill the first ``n`` people's :func:`demeanour_weights` (the initial population)."""
    for i in range(n):
        risk_demeanour[i], police_weight[i] = demeanour_weights(par, demeanour[i], sex[i])


@njit(cache=True)
def visibility(W, X) -> float:  # noqa: ANN001
    """Return the mean footfall x openness of the sites where people currently are."""
    num = 0.0
    den = 0.0
    for s in range(W.site_cap.shape[0]):
        num += X.n_smooth[s] * W.site_footfall[s] * (1.0 - W.site_conceal[s])
        den += X.n_smooth[s]
    if den <= 1e-9:
        return X.visibility0[0]
    return max(num / den, 1e-6)


@njit(cache=True)
def _learn_from_peer(day, i, keys, P, X) -> None:  # noqa: ANN001
    """Newcomer ``i`` learns the places one active person (drawn at random) knows.

    Used when the main scenes are not common knowledge (``main_scenes_known = 0``): the peer's most
    familiar place enters with familiarity 0.3, the others with 0.1 (as the main scenes would).
    """
    n_used = X.counters[0]
    start = int(uniform(keys[S_DISCOVERY], day, i, 0) * n_used)
    for q in range(n_used):
        j = (start + q) % n_used
        if j == i or P.status[j] != STATUS_ACTIVE:
            continue
        best, best_fam = -1, -1.0
        for k in range(P.known.shape[1]):
            if P.known[j, k] >= 0 and P.fam[j, k] > best_fam:
                best, best_fam = k, P.fam[j, k]
        for k in range(P.known.shape[1]):
            P.known[i, k] = P.known[j, k]
            P.fam[i, k] = 0.0 if P.known[j, k] < 0 else (0.3 if k == best else 0.1)
        return


@njit(cache=True)
def step(t, day, hour, par, pop, keys, W, P, L, X, R):  # noqa: ANN001, ANN201 - compiled kernel
    """Once a day (hour 0): recruit new people and let others leave the scene population."""
    if hour != 0 or day == 0:
        return
    rel_vis = visibility(W, X) / X.visibility0[0]
    # --- entry
    lam = par[_RATE_ENTRY] * rel_vis ** par[_K_VIS]
    n_new = poisson(lam, uniform(keys[S_ENTRY], day, 0, 0))
    n_max = P.status.shape[0]
    for _ in range(n_new):
        i = X.counters[0]
        if i >= n_max:
            X.counters[4] += 1
            R.city_day[day, CD_PEOPLE_FULL] += 1
            continue
        X.counters[0] += 1
        P.status[i] = STATUS_ACTIVE
        X.active[X.counters[5]] = i  # slots are handed out in order: the list stays ascending
        X.counters[5] += 1
        P.sex[i] = 1 if uniform(keys[S_ENTRY], day, i, 2) < pop[POP_WOMEN] else 0
        u = uniform(keys[S_ENTRY], day, i, 3)
        P.substance[i] = (
            0 if u < pop[POP_OPIOIDS] else (1 if u < pop[POP_OPIOIDS] + pop[POP_STIMULANTS] else 2)
        )
        P.injects[i] = 1 if uniform(keys[S_ENTRY], day, i, 4) < pop[POP_INJECT] else 0
        P.occasional[i] = 1 if uniform(keys[S_ENTRY], day, i, 5) < par[_SHARE_OCC] else 0
        P.housed[i] = 1 if uniform(keys[S_ENTRY], day, i, 6) < pop[POP_HOUSED] else 0
        # Box-Muller from two stream draws: demeanour and trust.
        u1 = max(uniform(keys[S_ENTRY], day, i, 7), 1e-12)
        u2 = uniform(keys[S_ENTRY], day, i, 8)
        z1 = math.sqrt(-2.0 * math.log(u1)) * math.cos(2.0 * math.pi * u2)
        z2 = math.sqrt(-2.0 * math.log(u1)) * math.sin(2.0 * math.pi * u2)
        P.demeanour[i] = z1 + par[_DEMEANOUR_W] * P.sex[i]
        P.risk_demeanour[i], P.police_weight[i] = demeanour_weights(par, P.demeanour[i], P.sex[i])
        trust = min(1.0, max(0.0, pop[POP_TRUST] + pop[POP_TRUST_SD] * z2))
        P.trust[i] = trust
        P.trust0[i] = trust
        P.entry_day[i] = day
        if par[_MAIN_KNOWN] >= 0.5:
            # A newcomer knows the current main scenes (word of mouth), most of all the largest.
            for m in range(min(X.main.shape[0], P.known.shape[1])):
                P.known[i, m] = X.main[m]
                P.fam[i, m] = 0.3 if m == 0 else 0.1
        else:
            _learn_from_peer(day, i, keys, P, X)
        R.city_day[day, CD_ENTRIES] += 1
    # --- exit
    occ_extra = par[_EXIT_OCC] * (1.0 / max(rel_vis, 1e-3)) ** par[_K_STIGMA]
    k_deter = par[_K_OCC_DETER]
    mem_risk = P.mem_risk
    # Over the active list (which may still hold people who died since), compacting it in place.
    n_active = 0
    for q in range(X.counters[5]):
        i = X.active[q]
        if P.status[i] != STATUS_ACTIVE:
            continue
        rate = par[_EXIT]
        reason = EXIT_MOVED
        if P.occasional[i]:
            # Enforcement a buyer has met takes away the sense of impunity (a hypothesis): the
            # extra rate grows with the highest police risk they remember. With k_deter 0 the
            # factor is exactly 1.
            remembered = 0.0
            for k in range(mem_risk.shape[1]):
                remembered = max(remembered, mem_risk[i, k])
            rate += occ_extra * (1.0 + k_deter * remembered)
            reason = EXIT_OCCASIONAL
        if P.oat[i] == OAT_IN:
            rate += par[_EXIT_OAT]
            reason = EXIT_OAT
        if P.housed[i]:
            rate += par[_EXIT_HOUSED]
            if reason == EXIT_MOVED:
                reason = EXIT_HOUSED
        if uniform(keys[S_EXIT], day, i, 0) < per_day_to_p(rate / 365.25):
            P.status[i] = STATUS_EXITED
            P.exit_day[i] = day
            P.exit_reason[i] = reason
            P.site[i] = -1
            if P.programme_housed[i]:
                P.programme_housed[i] = 0
                X.counters[3] -= 1
            R.city_day[day, CD_EXITS] += 1
        else:
            X.active[n_active] = i
            n_active += 1
    X.counters[5] = n_active
