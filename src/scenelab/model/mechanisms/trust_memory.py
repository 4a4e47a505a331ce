"""Trust and memory updates: what decays and drifts after the hour's events.

Contacts change trust when they happen (policing phase); here trust drifts slowly back toward the
person's baseline. Own memories of police encounters and sites' police reputations decay, so
crackdown effects fade even while sustained and can outlast the crackdown (Sherman 1990). Sites'
activity-built attractiveness rises with people present and decays (Short et al. 2008; 2010), and
the smoothed head-count that people and sellers see is updated.
"""

from __future__ import annotations

import math

from scenelab.model.jit import njit
from scenelab.model.params import IDX
from scenelab.model.state import STATUS_ACTIVE

#: Why this phase sits where it does in the tick (the order is ``phases.PHASE_ORDER``).
PHASE_REASON = "memories, reputations and attractiveness absorb this hour's events for the next one"
#: What the phase does every hour, and at a fixed hour of the day (for the ODD's timing table).
TIMING = (
    "site attractiveness, reputation decay, smoothed head counts",
    "hour 23: trust drift, memory and habit decay",
)

_TRUST_REC = IDX["rate_trust_recovery_per_year"]
_MEM_DECAY = IDX["rate_memory_decay_per_day"]
_REP_DECAY = IDX["rate_reputation_decay_per_day"]
_HABIT_DECAY = IDX["rate_habit_decay_per_day"]
_ATTR_DECAY = IDX["rate_attr_decay_per_day"]
_ATTR_GAIN = IDX["rate_attr_gain_per_day"]
_SMOOTH = IDX["rate_presence_smoothing_per_hour"]


@njit(cache=True)
def step(t, day, hour, par, W, P, X):  # noqa: ANN001, ANN201 - compiled kernel
    """Decay memories and reputations, build attractiveness, update smoothed counts."""
    decay_attr = math.exp(-par[_ATTR_DECAY] / 24.0)
    decay_rep = math.exp(-par[_REP_DECAY] / 24.0)
    alpha = par[_SMOOTH]
    for s in range(W.site_cap.shape[0]):
        n = X.n_now[s]
        X.attr_b[s] = X.attr_b[s] * decay_attr + par[_ATTR_GAIN] / 24.0 * n / W.site_cap[s]
        X.reputation[s] *= decay_rep
        X.n_smooth[s] += alpha * (n - X.n_smooth[s])
    if hour != 23:
        return
    mem = math.exp(-par[_MEM_DECAY])
    habit = math.exp(-par[_HABIT_DECAY])
    drift = 1.0 - math.exp(-par[_TRUST_REC] / 365.25)
    for q in range(X.counters[5]):
        i = X.active[q]
        if P.status[i] != STATUS_ACTIVE:
            continue
        P.trust[i] += drift * (P.trust0[i] - P.trust[i])
        for k in range(P.mem_risk.shape[1]):
            P.mem_risk[i, k] *= mem
        for k in range(P.fam.shape[1]):
            P.fam[i, k] *= habit
