"""People differ in how much they value concealment and footfall (mixed logit, site choice).

``site_choice.tastes`` gives each person log-normal multipliers (mean 1) of the concealment and
footfall weights, drawn once from the person's index. The test city has two places the whole
scene knows from the start, equally patrolled, that differ only in concealment: an open place
``a`` and a hidden place ``b``, 200 m apart.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from tests.test_robustness import TWO_SITES

import scenelab
from scenelab.model.mechanisms.site_choice import draw_tastes, tastes
from scenelab.model.params import IDX, PARAMETERS
from scenelab.model.rng import S_TASTE, stream_keys
from scenelab.scenario.loader import parse_text

UNTIL = dt.date(2020, 3, 31)

# The robustness tests' two-site city: two equal places 200 m apart, patrolled alike. Here ``a``
# is open (concealment 0.1) and ``b`` hidden (0.9), and the patrol is three officers round the
# clock at each, so that concealment is worth much.
_POLICE = TWO_SITES.index("[[interventions]]")
PLACES = (
    TWO_SITES[:_POLICE]
    .replace("concealment = 0.5", "concealment = 0.1", 1)
    .replace("concealment = 0.5", "concealment = 0.9", 1)
)
PATROL = TWO_SITES[_POLICE:].replace("officers = 1.0", "officers = 3.0") + (
    "hours = { from_hour = 0, to_hour = 24 }\n"
)
SEEDS = (1, 2, 3, 4, 5, 6, 7, 8)


def city(sd: float, police: str = PATROL) -> scenelab.Scenario:
    """Return the two-place city with concealment tastes spread by ``sd``."""
    text = f"{PLACES}\n{police}\n[parameters]\nsd_taste_conceal = {sd}\n"
    return parse_text(text, "<taste test city>")


def site_day(scn: scenelab.Scenario, seed: int) -> pd.DataFrame:
    return scenelab.run(scn, seed=seed, until=UNTIL).site_day


def open_share(scn: scenelab.Scenario, seed: int) -> float:
    """Return the open place's share of all presence from February on (after the start-up)."""
    sd = site_day(scn, seed)
    late = sd[sd["date"].astype(str) >= "2020-02-01"]
    by_site = late.groupby("site")["people_present"].sum()
    return float(by_site["a"] / by_site.sum())


def test_tastes_are_exactly_one_without_spread():
    key = stream_keys(7, 0)[S_TASTE]
    for i in (0, 1, 999):
        assert tastes(key, i, 0.0, 0.0) == (1.0, 1.0)


def test_tastes_are_log_normal_with_mean_one_and_the_stated_spread():
    # 20,000 people: the standard error of the mean multiplier is about 0.01 at sd 1 (the
    # log-normal's sd is sqrt(e - 1) = 1.31), so 0.05 is five standard errors.
    key = stream_keys(3, 0)[S_TASTE]
    draws = np.array([tastes(key, i, 0.5, 1.0) for i in range(20_000)])
    foot, conceal = draws[:, 0], draws[:, 1]
    assert foot.mean() == pytest.approx(1.0, abs=0.05)
    assert conceal.mean() == pytest.approx(1.0, abs=0.05)
    assert np.log(foot).std() == pytest.approx(0.5, abs=0.02)
    assert np.log(conceal).std() == pytest.approx(1.0, abs=0.03)
    # The two tastes are drawn independently of each other.
    assert abs(np.corrcoef(np.log(foot), np.log(conceal))[0, 1]) < 0.03


def test_a_person_keeps_the_same_tastes():
    key = stream_keys(5, 1)[S_TASTE]
    assert tastes(key, 42, 0.8, 0.8) == tastes(key, 42, 0.8, 0.8)
    assert tastes(key, 42, 0.8, 0.8) != tastes(key, 43, 0.8, 0.8)


def test_every_slot_gets_its_own_tastes_at_the_start():
    # The run draws every slot's tastes once (slots of later entrants included); a choice reads
    # them. They must be the per-index draws.
    par = np.zeros(len(PARAMETERS))
    par[IDX["sd_taste_footfall"]], par[IDX["sd_taste_conceal"]] = 0.4, 0.9
    key = stream_keys(11, 2)[S_TASTE]
    foot, conceal = np.zeros(50), np.zeros(50)
    draw_tastes(key, par, foot, conceal)
    for i in (0, 17, 49):
        assert (foot[i], conceal[i]) == tastes(key, i, 0.4, 0.9)
    assert len(set(conceal)) == 50


def test_concealment_tastes_change_nothing_where_no_place_carries_police_risk():
    # Concealment is worth b_conceal x concealment x the highest perceived risk: with no police
    # anywhere it is worth nothing to anyone, so the spread of tastes must not change a draw.
    quiet = site_day(city(0.0, police=""), 1)
    spread = site_day(city(1.5, police=""), 1)
    numbers = quiet.select_dtypes("number").columns  # not the run's ids, which name the inputs
    assert len(numbers) > 10
    pd.testing.assert_frame_equal(quiet[numbers], spread[numbers])


def test_people_who_care_less_about_hiding_keep_the_open_place_in_use():
    # Both places are patrolled alike, so with one taste everyone prefers the hidden place by the
    # same margin. A spread of tastes (mean unchanged) leaves people who care little about hiding
    # nearly indifferent: the open place keeps a larger share (same seeds, common draws).
    same = [open_share(city(0.0), s) for s in SEEDS]
    spread = [open_share(city(1.5), s) for s in SEEDS]
    # Measured: the open place's shares sum to 1.30 over the eight seeds without the spread and
    # to 2.03 with it, higher in 7 of 8. The test asks for a fifth more and 6 seeds of 8.
    assert sum(spread) > 1.2 * sum(same), (same, spread)
    assert sum(b > a for a, b in zip(same, spread, strict=True)) >= 6, (same, spread)
