"""police_strategy (issue 11, item 3): officers follow the scene within a budget."""

from __future__ import annotations

import pandas as pd
import pytest
from tests.test_discovery import UNTIL, city

import scenelab

BUDGET = 48.0  # officer-hours per day
STRATEGY = f"""
[[zones]]
id = "centre_zone"
name = "Park and street"
sites = ["park", "street"]

[[interventions]]
type = "police_strategy"
start = 2020-01-01
officer_hours_per_day = {BUDGET}
keep_clear = ["centre_zone"]
hours = {{ from_hour = 8, to_hour = 22 }}
lag_days = 1
"""


@pytest.fixture(scope="module")
def police_hours() -> pd.DataFrame:
    # No timetable at all: every officer-hour comes from the strategy. The scene is at the park
    # until it closes on 15 January, then moves to the street (same keep-clear zone).
    scn = city(1.0, extra=STRATEGY, police="", main_known=1)
    sd = scenelab.run(scn, seed=1, until=UNTIL).site_day
    sd["date"] = pd.to_datetime(sd["date"])
    return sd.pivot_table(index="date", columns="site", values="police_hours", aggfunc="sum")


def test_officer_hours_never_exceed_the_budget(police_hours):
    daily = police_hours.sum(axis=1)
    assert (daily <= BUDGET * (1 + 1e-9)).all(), daily.max()
    assert daily.iloc[1:].min() == pytest.approx(BUDGET)  # the whole budget is deployed


def test_sites_outside_the_keep_clear_zones_get_no_officers(police_hours):
    assert (police_hours["hidden"] == 0).all()


def test_officers_follow_the_scene_within_the_keep_clear_zone(police_hours):
    before = police_hours.loc["2020-01-05":"2020-01-14"]
    after = police_hours.loc["2020-01-20":"2020-02-29"]
    assert before["park"].sum() > before["street"].sum()
    assert after["street"].sum() > 0.9 * after[["park", "street"]].sum().sum()


def test_a_strategy_naming_an_unknown_zone_is_rejected():
    bad = STRATEGY.replace('keep_clear = ["centre_zone"]', 'keep_clear = ["nowhere"]')
    with pytest.raises(scenelab.scenario.errors.ScenarioError, match="keep_clear"):
        city(1.0, extra=bad, police="", main_known=1)


def test_a_dosage_limit_caps_officers_per_site_and_leaves_the_rest_unspent():
    # 48 officer-hours over 14 duty hours is 3.4 officers at once; at most 1 per site, the scene
    # at one site gets 14 officer-hours a day and the rest of the budget is not spent.
    capped = STRATEGY.replace("lag_days = 1", "lag_days = 1\nmax_officers_per_site = 1.0")
    scn = city(1.0, extra=capped, police="", main_known=1)
    sd = scenelab.run(scn, seed=1, until=UNTIL).site_day
    hours = sd.pivot_table(index="date", columns="site", values="police_hours", aggfunc="sum")
    duty_hours = 14
    assert (hours.max() <= duty_hours * (1 + 1e-9)).all(), hours.max()
    daily = hours.sum(axis=1)
    assert (daily <= BUDGET * (1 + 1e-9)).all()
    # the scene is at one site most days: those days are capped well below the budget
    assert (daily.iloc[1:] < 0.75 * BUDGET).mean() > 0.5, daily.describe()


@pytest.mark.parametrize("value", [0, -1.0, "two"])
def test_a_bad_dosage_limit_is_rejected_with_its_key(value):
    bad = STRATEGY.replace("lag_days = 1", f"lag_days = 1\nmax_officers_per_site = {value!r}")
    bad = bad.replace("'two'", '"two"')
    with pytest.raises(scenelab.scenario.errors.ScenarioError, match="max_officers_per_site"):
        city(1.0, extra=bad, police="", main_known=1)
