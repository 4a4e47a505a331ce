"""Services: help at drop-in centres and from outreach, housing allocation, and OAT intake.

Drop-in centres and outreach workers help people present within reach (help needed vs received
feeds the survey). Housing (At Home/Chez Soi: 73% vs 31% stably housed at one year) lowers time in
the scene; units are allocated from a waiting list by the scenario's rule, at most
``max_allocations_per_month``. OAT lowers injecting and overdose (Kimber et al. 2010) and is entered
after a waiting time, short with a low-threshold start (Bergen: M31 fast-track in 1-3 days from
November 2014); slots cap how many are in treatment.
"""

from __future__ import annotations

import numpy as np

from scenelab.model.jit import njit
from scenelab.model.params import IDX
from scenelab.model.rng import S_SERVICES, uniform
from scenelab.model.state import OAT_IN, OAT_NONE, OAT_WAITING, STATUS_ACTIVE

#: Why this phase sits where it does in the tick (the order is ``phases.PHASE_ORDER``).
PHASE_REASON = "help reaches people where they are; queues for housing and OAT move once a day"
#: What the phase does every hour, and at a fixed hour of the day (for the ODD's timing table).
TIMING = (
    "help at sites",
    "hour 0: close the previous day's help accounts; OAT and housing queues; housing allocation",
)

_P_HELP = IDX["p_help_per_hour_service"]
_OAT_APPLY = IDX["rate_oat_application_per_year"]
_OAT_DROP = IDX["rate_oat_dropout_per_year"]
_H_APPLY = IDX["rate_housing_application_per_year"]
_H_LOSS = IDX["rate_housing_loss_per_year"]


@njit(cache=True)
def _close_day(P, n_used) -> None:  # noqa: ANN001
    """Count yesterday's help needed and received, then clear the day's flags."""
    for i in range(n_used):
        if P.at_scene_today[i] and P.status[i] == STATUS_ACTIVE:
            # A need: unhoused, or using opioids (alone or with stimulants) and not in OAT.
            if not P.housed[i] or (P.substance[i] != 1 and P.oat[i] != OAT_IN):
                P.days_needing_help[i] += 1
                if P.helped_today[i]:
                    P.days_helped[i] += 1
        P.at_scene_today[i] = 0
        P.helped_today[i] = 0


@njit(cache=True)
def _allocate_housing(day, ep, keys, W, P, X) -> None:  # noqa: ANN001
    units = 0
    per_month = 0
    for j in range(W.housing_units.shape[1]):
        units += W.housing_units[ep, j]
        per_month += W.housing_alloc_month[ep, j]
    n_free = min(units - X.counters[3], per_month - X.counters[2])
    if n_free <= 0:
        return
    # One pass: rank everyone waiting by the allocation rule, then house the best n_free
    # (a stable sort keeps the lowest slot first among ties).
    rule = W.housing_rule[0]
    n_used = X.counters[0]
    cand = np.empty(n_used, dtype=np.int64)
    vals = np.empty(n_used)
    n_cand = 0
    # Over the active list (ascending, holding everyone active): the same people in the same
    # order as a loop over every slot, without the slots of people who left.
    for q in range(X.counters[5]):
        i = X.active[q]
        if P.status[i] != STATUS_ACTIVE or P.housed[i] or P.housing_wait_day[i] < 0:
            continue
        if rule == 0:
            val = -float(P.housing_wait_day[i])
        elif rule == 1:
            val = float(P.hours_present[i])
        else:
            val = uniform(keys[S_SERVICES], day, i, 9)
        cand[n_cand] = i
        vals[n_cand] = -val
        n_cand += 1
    if n_cand == 0:
        return
    ranked = np.argsort(vals[:n_cand], kind="mergesort")
    for r in range(min(n_free, n_cand)):
        best = cand[ranked[r]]
        P.housed[best] = 1
        P.programme_housed[best] = 1
        P.housing_wait_day[best] = -1
        X.counters[2] += 1
        X.counters[3] += 1


@njit(cache=True)
def step(t, day, hour, ep, par, keys, W, P, X):  # noqa: ANN001, ANN201 - compiled kernel
    """Hourly: help at sites within reach. Daily: OAT and housing queues."""
    # Arrays taken out of the structs once, before the loop over people present.
    help_now, offsets, order = X.help_now, X.offsets, X.order
    site_of, helped = P.site, P.helped_today
    key, p_help = keys[S_SERVICES], par[_P_HELP]
    for s in range(W.site_cap.shape[0]):
        if not help_now[s]:
            continue
        for k in range(offsets[s], offsets[s + 1]):
            i = order[k]
            if site_of[i] == s and uniform(key, t, i, 0) < p_help:
                helped[i] = 1
    if hour != 0:
        return
    n_used = X.counters[0]
    if day > 0:
        _close_day(P, n_used)
    if day > 0 and W.month_of_day[day] != W.month_of_day[day - 1]:
        X.counters[2] = 0
    slots = 0
    wait = 1e9
    for j in range(W.oat_slots.shape[1]):
        if W.oat_slots[ep, j] > 0:
            slots += W.oat_slots[ep, j]
            wait = min(wait, W.oat_wait_days[ep, j])
    in_oat = 0
    # Over the active list (ascending, holding everyone active), as in ``_allocate_housing``.
    active, n_active = X.active, X.counters[5]
    for q in range(n_active):
        i = active[q]
        if P.status[i] == STATUS_ACTIVE and P.oat[i] == OAT_IN:
            in_oat += 1
    key = keys[S_SERVICES]
    p_apply = par[_OAT_APPLY] / 365.25
    p_drop = par[_OAT_DROP] / 365.25
    p_h_apply = par[_H_APPLY] / 365.25
    p_h_loss = par[_H_LOSS] / 365.25
    for q in range(n_active):
        i = active[q]
        if P.status[i] != STATUS_ACTIVE:
            continue
        if P.oat[i] == OAT_IN:
            if uniform(key, day, i, 1) < p_drop:
                P.oat[i] = OAT_NONE
                in_oat -= 1
        elif P.oat[i] == OAT_WAITING:
            if day >= P.oat_ready_day[i] and in_oat < slots:
                P.oat[i] = OAT_IN
                in_oat += 1
        elif P.substance[i] != 1 and slots > 0 and uniform(key, day, i, 2) < p_apply:
            P.oat[i] = OAT_WAITING
            P.oat_ready_day[i] = day + int(round(wait))
        if P.housed[i]:
            if uniform(key, day, i, 3) < p_h_loss:
                P.housed[i] = 0
                if P.programme_housed[i]:
                    P.programme_housed[i] = 0
                    X.counters[3] -= 1
        elif P.housing_wait_day[i] < 0 and uniform(key, day, i, 4) < p_h_apply:
            P.housing_wait_day[i] = day
    _allocate_housing(day, ep, keys, W, P, X)
