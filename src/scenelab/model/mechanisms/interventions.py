"""Interventions due: turn this hour's schedule into police, staff and service presence per site.

The schedule (closures, police plans, operations, expulsion and fine policies, services, outreach)
was compiled from the scenario's dated interventions into epochs (``world.py``). Reactive raids are
drawn here: a plan's officer-hours per day are delivered as at most one raid a day of
``raid_officers`` for ``dur_raid_hours``, on random days, so the expected officer-hours match the
plan up to ``raid_officers x dur_raid_hours`` a day (Sherman 1990 describes crackdowns as
intermittent, concentrated presence). Operations' officers guard like raiding officers.
"""

from __future__ import annotations

from scenelab.model.jit import njit
from scenelab.model.mechanisms.common import is_weekday
from scenelab.model.params import IDX
from scenelab.model.rng import S_RAIDS, uniform
from scenelab.model.world import MODE_DIALOGUE, MODE_NON_ENFORCEMENT, MODE_RAIDS

#: Why this phase sits where it does in the tick (the order is ``phases.PHASE_ORDER``).
PHASE_REASON = (
    "the hour's schedule (closures, police, services) must be in force before anyone acts"
)
#: What the phase does every hour, and at a fixed hour of the day (for the ODD's timing table).
TIMING = (
    "officers, control capacity, guardianship, outreach, drop-in pull and help per site",
    "hour 0: allocate the police strategy's budget; draw the day's reactive raids; reset "
    "injection-room use",
)

_CONTROLS = IDX["controls_per_officer_hour"]
_RAID_OFFICERS = IDX["raid_officers"]
_DUR_RAID = IDX["dur_raid_hours"]
_M_RAIDS = IDX["mult_control_raids"]
_M_DIALOGUE = IDX["mult_control_dialogue"]
_M_NON_ENF = IDX["mult_control_non_enforcement"]
_M_OPERATION = IDX["mult_control_operation"]
_P_BAD_ENF = IDX["p_bad_contact_enforcement"]
_P_BAD_DIALOGUE = IDX["p_bad_contact_dialogue"]
_P_ARREST = IDX["p_arrest_per_control"]
_P_ARREST_OP = IDX["p_arrest_operation"]
_GUARD_RAIDS = IDX["guard_raids"]
_GUARD_NON_ENF = IDX["guard_non_enforcement"]
_REACH = IDX["reach_service_km"]


@njit(cache=True)
def allocate_strategy(day, ep, W, X) -> None:  # noqa: ANN001
    """Hot-spot allocation of the police strategy's daily officer-hours (hour 0).

    What police saw ``lag_days`` ago (visible person-hours at each keep-clear site) sets each
    site's share of the budget (Sherman & Weisburd 1995; Braga et al. 2019); with nothing seen
    the budget is spread evenly over the open keep-clear sites. Officers per duty hour = share /
    duty hours, so the day's officer-hours sum to the budget, unless the strategy limits the
    officers at one site at once (``max_officers_per_site``, a dosage limit: presence at a hot
    spot has diminishing returns, Koper 1995); what a limit cuts is not spent on the scene, so
    the officer-hours never exceed the budget.
    """
    n_sites = W.site_cap.shape[0]
    slot = day % X.seen_days.shape[0]
    for s in range(n_sites):
        X.seen_days[slot, s] = X.seen_now[s]  # yesterday's observations (day - 1)
        X.seen_now[s] = 0.0
        X.strat_officers[s] = 0.0
    budget = W.strat_ohpd[ep]
    if budget <= 0.0:
        return
    n_hours = 0
    for h in range(24):
        n_hours += W.strat_hours[ep, h]
    lag = W.strat_lag[ep]
    seen_slot = (day - lag + 1) % X.seen_days.shape[0]  # the slot written lag days ago
    total, n_keep = 0.0, 0
    for s in range(n_sites):
        if W.strat_site[ep, s]:
            total += X.seen_days[seen_slot, s]
            n_keep += 1 if W.site_open[ep, s] else 0
    if n_hours == 0 or (total <= 0.0 and n_keep == 0):
        return
    for s in range(n_sites):
        if not W.strat_site[ep, s]:
            continue
        if total > 0.0:
            share = X.seen_days[seen_slot, s] / total
        else:
            share = 1.0 / n_keep if W.site_open[ep, s] else 0.0
        X.strat_officers[s] = min(budget * share / n_hours, W.strat_site_max[ep])


@njit(cache=True)
def step(t, day, hour, ep, par, keys, W, X):  # noqa: ANN001, ANN201 - compiled kernel
    """Set this hour's officers, control capacity, guardianship and service pull per site."""
    n_sites = W.site_cap.shape[0]
    dur = max(1, int(round(par[_DUR_RAID])))
    if hour == 0:
        allocate_strategy(day, ep, W, X)
        for s in range(n_sites):
            X.raid_start[s] = -1
            if W.mode[ep, s] == MODE_RAIDS and W.raid_ohpd[ep, s] > 0.0:
                p_raid = W.raid_ohpd[ep, s] / (par[_RAID_OFFICERS] * dur)
                if uniform(keys[S_RAIDS], day, s, 0) < p_raid:
                    n_win = 0
                    for h in range(24):
                        n_win += W.raid_window[ep, s, h]
                    pick = int(uniform(keys[S_RAIDS], day, s, 1) * n_win)
                    for h in range(24):
                        if W.raid_window[ep, s, h]:
                            if pick == 0:
                                X.raid_start[s] = h
                                break
                            pick -= 1
        for j in range(X.sif_used.shape[0]):
            X.sif_used[j] = 0
    base = par[_CONTROLS]
    weekday = is_weekday(W.start_weekday, day)
    n_svc = 0
    for k in range(X.service_sites.shape[0]):
        X.service_sites[k] = -1
    for s in range(n_sites):
        mode = W.mode[ep, s]
        plan = W.officers[ep, s, hour]
        if W.strat_hours[ep, hour] and X.strat_officers[s] > 0.0:
            plan = plan + X.strat_officers[s]
        # What police can see: last hour's people at the site, less what the site conceals.
        X.seen_now[s] += X.n_now[s] * (1.0 - W.site_conceal[s])
        raid = 0.0
        if X.raid_start[s] >= 0 and X.raid_start[s] <= hour < X.raid_start[s] + dur:
            raid = par[_RAID_OFFICERS]
        op = W.op_officers[ep, s, hour]
        mult = 1.0
        guard = 1.0
        p_bad = par[_P_BAD_ENF]
        if mode == MODE_DIALOGUE:
            mult, p_bad = par[_M_DIALOGUE], par[_P_BAD_DIALOGUE]
        elif mode == MODE_NON_ENFORCEMENT:
            mult, guard = par[_M_NON_ENF], par[_GUARD_NON_ENF]
        cap = base * (plan * mult + raid * par[_M_RAIDS] + op * par[_M_OPERATION])
        X.officers_now[s] = plan + raid + op
        X.guard_now[s] = plan * guard + raid * par[_GUARD_RAIDS] + op * par[_GUARD_RAIDS]
        X.control_now[s] = cap
        X.p_bad_now[s] = p_bad if cap > 0 else 0.0
        if cap > 0.0 and mode == MODE_DIALOGUE and op > 0.0:
            X.p_bad_now[s] = par[_P_BAD_ENF]  # an operation is enforcement whatever the plan
        X.p_arrest_now[s] = par[_P_ARREST_OP] if op > 0.0 else par[_P_ARREST]
        X.staff_now[s] = W.outreach[ep, s, hour]
        pull = 0.0
        helped = W.outreach[ep, s, hour] > 0.0
        for j in range(W.dropin_hours.shape[1]):
            if W.dropin_hours[ep, j, hour] and (weekday or not W.dropin_weekdays[ep, j]):
                if W.dist_site_dropin[s, j] <= par[_REACH]:
                    pull += 1.0
                    helped = True
        X.pull_now[s] = pull
        X.help_now[s] = 1 if helped else 0
    # Everyone knows the place right by each open drop-in (they use the services): the nearest
    # open site within reach of it, so the set does not depend on the order of sites in the file.
    for j in range(W.dropin_hours.shape[1]):
        if n_svc >= X.service_sites.shape[0]:
            break
        if not W.dropin_hours[ep, j, hour] or (not weekday and W.dropin_weekdays[ep, j]):
            continue
        near, near_d = -1, par[_REACH]
        for s in range(n_sites):
            if W.site_open[ep, s] and W.dist_site_dropin[s, j] <= near_d:
                near, near_d = s, W.dist_site_dropin[s, j]
        dup = False
        for k in range(n_svc):
            dup = dup or X.service_sites[k] == near
        if near >= 0 and not dup:
            X.service_sites[n_svc] = near
            n_svc += 1
