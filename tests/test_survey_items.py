"""Survey items answered the way a respondent answers them: from their own history up to their
interview day, with recall windows counted back from it (known answers on hand-made people)."""

from __future__ import annotations

import numpy as np
import pytest

from scenelab.model.interviews import RECALL_DAYS, InterviewCopies, interview_days
from scenelab.model.state import OAT_IN, OAT_NONE, PEOPLE_FIELDS, People
from scenelab.observe.survey import ITEMS, item_answers

DAY = 1000  # every hand-made respondent is interviewed on run day 1000


def _snap(n: int, **cols: list) -> dict[str, np.ndarray]:
    out = {name: np.full(n, fill, dtype=dtype) for name, (dtype, fill, _) in PEOPLE_FIELDS.items()}
    out["status"][:] = 1
    for name, values in cols.items():
        out[name] = np.asarray(values, dtype=out[name].dtype)
    return out


def _snaps(n: int, now: dict, month: dict | None = None, year: dict | None = None, **ref):
    snaps = {
        "interview": {**_snap(n, **now), "day": np.full(n, DAY)},
        "interview_month": _snap(n, **(month or {})),
        "interview_year": _snap(n, **(year or {})),
    }
    if ref:
        snaps["intervention"] = _snap(n, **ref.get("then", {}))
        snaps["intervention_year"] = _snap(n, **ref.get("year_before", {}))
    return snaps


def test_last_month_is_the_30_days_before_each_interview():
    t = DAY * 24
    victim = [t - 29 * 24, t - 31 * 24, -1, t - 1]
    witness = [-1, t - 30 * 24, t - 30 * 24 - 1, -1]
    ans = item_answers(_snaps(4, {"victim_tick": victim, "witness_tick": witness}))
    assert ans["victim_last_month"][1].tolist() == [True, False, False, True]
    assert ans["witness_last_month"][1].tolist() == [False, True, False, False]
    # the last victimisation's setting is asked of people ever victimised only
    assert ans["last_victimisation_public"][0].tolist() == [True, True, False, True]


def test_respect_counts_only_the_last_12_months_of_the_persons_own_contacts():
    now = {"n_bad_contacts": [5, 3, 1, 0], "n_good_contacts": [1, 4, 1, 0]}
    year = {"n_bad_contacts": [5, 0, 0, 0], "n_good_contacts": [0, 4, 1, 0]}
    ans = item_answers(_snaps(4, now, year=year))
    answered, yes = ans["respect_low"]
    # person 0: in the year 0 bad, 1 good; person 1: 3 bad, 0 good; person 2: 1 bad, 0 good;
    # person 3: no contact in the year -> not asked
    assert answered.tolist() == [True, True, True, False]
    assert yes[answered].tolist() == [False, True, True]


def test_help_less_than_needed_from_own_need_and_last_months_help():
    now = {
        "housed": [0, 1, 1, 0],
        "substance": [1, 0, 1, 1],
        "oat": [OAT_NONE, OAT_NONE, OAT_NONE, OAT_NONE],
        "days_needing_help": [40, 30, 50, 20],
        "days_helped": [30, 10, 0, 20],
    }
    month = {"days_needing_help": [20, 10, 50, 0], "days_helped": [15, 0, 0, 0]}
    answered, yes = item_answers(_snaps(4, now, month))["help_less_than_needed"]
    # person 2 is housed and uses stimulants only: no need, not asked
    assert answered.tolist() == [True, True, False, True]
    # last month: 15 of 20 days helped; 10 of 20; -; 20 of 20
    assert yes[answered].tolist() == [False, False, False]
    now["days_helped"] = [20, 19, 0, 5]
    answered, yes = item_answers(_snaps(4, now, month))["help_less_than_needed"]
    assert yes[answered].tolist() == [True, False, True]


def test_help_and_health_compare_before_and_after_the_reference_date():
    now = {
        "days_needing_help": [300, 300, 300],
        "days_helped": [200, 100, 100],
        "housed": [1, 0, 0],
        "oat": [OAT_NONE, OAT_IN, OAT_NONE],
        "n_victim": [4, 4, 9],
        "n_overdoses": [0, 0, 0],
    }
    year = {"n_victim": [4, 0, 0]}  # harms in the last 12 months: 0, 4, 9
    then = {
        "days_needing_help": [100, 100, 100],
        "days_helped": [10, 50, 50],
        "housed": [0, 0, 0],
        "oat": [OAT_NONE, OAT_NONE, OAT_IN],
        "n_victim": [3, 3, 3],
    }
    year_before = {"days_needing_help": [0, 0, 0], "days_helped": [0, 0, 0], "n_victim": [0, 0, 0]}
    ans = item_answers(_snaps(3, now, year=year, then=then, year_before=year_before))
    answered, yes = ans["help_not_easier"]
    # helped share before 10/100, 50/100, 50/100; after 190/200, 50/200, 50/200; person 1 entered
    # OAT since the reference date (help got easier), person 2 left it
    assert answered.all() and yes.tolist() == [False, False, True]
    answered, yes = ans["health_not_improved"]
    # 0: housed (+1), fewer harms 0 < 3 (+1); 1: OAT (+1), more harms 4 > 3 (-1);
    # 2: left OAT (-1), more harms (-1)
    assert answered.all() and yes.tolist() == [False, True, True]


def test_without_a_reference_date_the_before_after_items_have_no_respondents():
    ans = item_answers(_snaps(3, {}))
    assert set(ans) == set(ITEMS)
    for item in ("help_not_easier", "health_not_improved"):
        assert not ans[item][0].any()


def test_interview_days_are_uniform_over_the_window_and_common_across_arms():
    days = interview_days(seed=5, replicate=0, n_slots=40_000, first=100, n_days=300)
    assert days.min() == 100 and days.max() == 399
    assert np.array_equal(days, interview_days(5, 0, 40_000, 100, 300))
    assert not np.array_equal(days, interview_days(6, 0, 40_000, 100, 300))
    # each of 10 equal parts of the window holds 10% of the interviews (4,000 +- 5 sd)
    counts = np.bincount((days - 100) // 30, minlength=10)
    assert np.all(np.abs(counts - 4000) < 5 * np.sqrt(40_000 * 0.1 * 0.9))


def test_copies_hold_each_persons_state_on_their_own_days():
    n = 3
    days = np.array([400, 500, 400])
    arr = {name: np.full(n, fill, dtype=dtype) for name, (dtype, fill, _) in PEOPLE_FIELDS.items()}
    mats = {"known": np.zeros((n, 1)), "fam": np.zeros((n, 1))}
    mats |= {"mem_site": np.zeros((n, 1)), "mem_risk": np.zeros((n, 1))}
    people = People(**arr, **mats)
    copies = InterviewCopies(days, PEOPLE_FIELDS)
    assert copies.days_needed() == {d - lag for d in (400, 500) for lag in RECALL_DAYS.values()}
    for day in range(0, 501):
        people.n_controls[:] = day  # a counter that equals the day
        copies.take(day, people)
    snaps = copies.snapshots(n)
    assert snaps["interview"]["n_controls"].tolist() == [400, 500, 400]
    assert snaps["interview_month"]["n_controls"].tolist() == [370, 470, 370]
    assert snaps["interview_year"]["n_controls"].tolist() == [35, 135, 35]
    assert snaps["interview"]["day"].tolist() == [400, 500, 400]


@pytest.mark.parametrize("item", ITEMS)
def test_every_item_has_answers_for_every_person(item):
    answered, yes = item_answers(_snaps(2, {}, then={}, year_before={}))[item]
    assert answered.shape == yes.shape == (2,)
