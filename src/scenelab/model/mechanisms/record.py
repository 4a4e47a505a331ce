"""Record outcomes: per site per day sums, city-wide daily stocks, and the main scenes.

Nuisance is the exposure of passers-by and residents: person-hours at a site weighted by footfall
(by hour of day) and openness, plus the residential exposure of its surroundings. Also kept here:
the list of the city's current main scenes, which every person knows of (updated daily).
"""

from __future__ import annotations

import numpy as np

from scenelab.model.jit import njit
from scenelab.model.mechanisms.common import DAYTIME
from scenelab.model.metrics import CD, SD
from scenelab.model.params import IDX
from scenelab.model.state import OAT_IN, OAT_WAITING, STATUS_ACTIVE

#: Why this phase sits where it does in the tick (the order is ``phases.PHASE_ORDER``).
PHASE_REASON = "outcomes are counted last, so each table row sees the whole hour"
CD_HOUSED = CD["housed"]
CD_IN_OAT = CD["in_oat"]
CD_OCCASIONAL = CD["occasional"]
CD_POPULATION = CD["population"]
CD_SELLERS_LOCAL = CD["sellers_local"]
CD_SELLERS_TRAVELLING = CD["sellers_travelling"]
CD_WAITING_OAT = CD["waiting_oat"]
SD_NUISANCE = SD["nuisance"]
SD_PEAK = SD["people_present_peak"]
SD_PERSON_HOURS = SD["person_hours"]
SD_POLICE_HOURS = SD["police_hours"]
SD_SELLER_HOURS = SD["seller_hours"]
#: What the phase does every hour, and at a fixed hour of the day (for the ODD's timing table).
TIMING = ("per-site sums; survey-window hours", "hour 23: main scenes, city-wide stocks")


_N_MAIN = IDX["n_main_scenes"]


def main_scene_count(par: np.ndarray) -> int:
    """Return how many main scenes the city keeps (known to everyone, updated daily)."""
    return int(round(par[_N_MAIN]))


@njit(cache=True)
def _update_main(ep, W, X) -> None:  # noqa: ANN001
    """Keep the open sites with the most smoothed presence (ties broken by attractiveness)."""
    n_sites = W.site_cap.shape[0]
    n_main = X.main.shape[0]
    for m in range(n_main):
        best, best_val = -1, -1e300
        for s in range(n_sites):
            if not W.site_open[ep, s]:
                continue
            taken = False
            for q in range(m):
                if X.main[q] == s:
                    taken = True
            if taken:
                continue
            val = X.n_smooth[s] + 1e-3 * (W.site_attr0[s] + X.attr_b[s])
            if val > best_val:
                best, best_val = s, val
        X.main[m] = best if best >= 0 else X.main[max(0, m - 1)]


@njit(cache=True)
def step(t, day, hour, ep, W, P, L, X, R, survey_t0, survey_t1):  # noqa: ANN001, ANN201
    """Add this hour to the day's sums; at the day's end record stocks and update main scenes."""
    daytime = DAYTIME[hour]
    for s in range(W.site_cap.shape[0]):
        n = X.n_now[s]
        row = R.site_day[day, s]
        row[SD_PERSON_HOURS] += n
        row[SD_PEAK] = max(row[SD_PEAK], n)
        row[SD_SELLER_HOURS] += X.sellers_now[s]
        row[SD_POLICE_HOURS] += X.officers_now[s]
        exposure = W.site_footfall[s] * (1.0 - 0.5 * W.site_conceal[s]) * daytime
        row[SD_NUISANCE] += n * (exposure + W.site_resid[s])
    if survey_t0 <= t < survey_t1:
        # Only site choice puts people at a site, and it lists them in `present`.
        for q in range(X.counters[6]):
            i = X.present[q]
            if P.site[i] >= 0 and P.status[i] == STATUS_ACTIVE:
                P.survey_hours[i] += 1.0
    if t == survey_t1 - 1:
        for i in range(X.counters[0]):
            P.survey_controls[i] = P.n_controls[i]
    if hour != 23:
        return
    _update_main(ep, W, X)
    city = R.city_day[day]
    for q in range(X.counters[5]):
        i = X.active[q]
        if P.status[i] != STATUS_ACTIVE:
            continue
        city[CD_POPULATION] += 1
        city[CD_OCCASIONAL] += P.occasional[i]
        city[CD_HOUSED] += P.housed[i]
        city[CD_IN_OAT] += P.oat[i] == OAT_IN
        city[CD_WAITING_OAT] += P.oat[i] == OAT_WAITING
    for j in range(X.counters[1]):
        if L.status[j] == STATUS_ACTIVE:
            if L.travelling[j]:
                city[CD_SELLERS_TRAVELLING] += 1
            else:
                city[CD_SELLERS_LOCAL] += 1
