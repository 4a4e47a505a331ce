import numpy as np
import pandas as pd
import pytest

from scenelab.observe.equity import (
    concentration_curve,
    concentration_index,
    equity_by_period,
    harm_by_period,
    normalise_periods,
    share_most_deprived,
)
from scenelab.observe.harm import HARM_COMPONENTS

DEP5 = [0.1, 0.3, 0.5, 0.7, 0.9]


# --- concentration index: known answers -------------------------------------------------------


@pytest.mark.parametrize("n", [2, 5, 10])
def test_all_harm_in_most_deprived_gives_analytic_maximum(n):
    harm = [0.0] * (n - 1) + [7.0]
    assert concentration_index(harm, np.arange(n)) == pytest.approx(1 - 1 / n)
    assert concentration_index(harm[::-1], np.arange(n)) == pytest.approx(-(1 - 1 / n))


def test_equal_harm_gives_zero():
    assert concentration_index([3.0] * 5, DEP5) == pytest.approx(0.0, abs=1e-12)
    # with residents, "equal" means equal harm per resident
    pop = [100, 300, 50, 250, 300]
    assert concentration_index([2 * p for p in pop], DEP5, pop) == pytest.approx(0.0, abs=1e-12)


def test_linear_harm_gives_closed_form():
    n = 5
    harm = np.arange(1, n + 1, dtype=float)  # h_i = i, ranked by i
    assert concentration_index(harm, DEP5) == pytest.approx((n - 1) / (3 * n))


def test_weighted_maximum_is_one_minus_population_share():
    assert concentration_index([0, 0, 10], [1, 2, 3], [100, 100, 200]) == pytest.approx(0.5)


def test_matches_covariance_formula_for_equal_weights():
    rng = np.random.default_rng(7)
    for _ in range(20):
        n = int(rng.integers(2, 30))
        h = rng.gamma(1.0, 2.0, n)
        d = rng.permutation(n).astype(float)
        r = (np.argsort(np.argsort(d)) + 0.5) / n
        expected = 2 * np.cov(h, r, ddof=0)[0, 1] / h.mean()
        assert concentration_index(h, d) == pytest.approx(expected)


def test_matches_weighted_covariance_formula():
    rng = np.random.default_rng(11)
    n = 12
    pop = rng.integers(50, 500, n).astype(float)
    rate = rng.gamma(1.0, 1.0, n)
    d = rng.random(n)
    order = np.argsort(d)
    p = pop[order] / pop.sum()
    r = np.cumsum(p) - p / 2
    h = rate[order]
    mean = np.sum(p * h)
    cov = np.sum(p * (h - mean) * (r - np.sum(p * r)))
    assert concentration_index(rate * pop, d, pop) == pytest.approx(2 * cov / mean)


def test_equals_one_minus_twice_area_under_curve():
    harm, pop = [5, 0, 2, 9, 1], [10, 40, 20, 10, 20]
    curve = concentration_curve(harm, DEP5, pop)
    area = np.trapezoid(curve["cum_harm"], curve["cum_population"])
    assert concentration_index(harm, DEP5, pop) == pytest.approx(1 - 2 * area)


def test_zero_harm_is_undefined():
    assert np.isnan(concentration_index([0, 0, 0], [1, 2, 3]))
    assert np.isnan(share_most_deprived([0, 0, 0], [1, 2, 3]))


# --- concentration index: properties ----------------------------------------------------------


def test_invariant_to_scaling_harm_population_and_deprivation_scale():
    rng = np.random.default_rng(5)
    for _ in range(20):
        n = int(rng.integers(2, 15))
        h, d, pop = rng.gamma(1, 1, n), rng.random(n), rng.integers(1, 1000, n).astype(float)
        c = concentration_index(h, d, pop)
        k = float(rng.uniform(0.01, 100))
        assert concentration_index(k * h, d, pop) == pytest.approx(c)
        assert concentration_index(h, d, k * pop) == pytest.approx(c)
        assert concentration_index(h, np.exp(3 * d), pop) == pytest.approx(c)  # only ranks count
        assert -1 <= c <= 1


def test_row_order_and_ties_do_not_matter():
    h = np.array([1.0, 4.0, 2.0, 8.0, 0.5, 3.0])
    d = np.array([0.2, 0.5, 0.5, 0.9, 0.1, 0.5])  # three-way tie at 0.5
    pop = np.array([1.0, 2.0, 3.0, 1.0, 2.0, 1.0])
    c = concentration_index(h, d, pop)
    s = share_most_deprived(h, d, pop)
    for perm in [np.arange(6)[::-1], np.array([3, 1, 5, 0, 2, 4])]:
        assert concentration_index(h[perm], d[perm], pop[perm]) == pytest.approx(c)
        assert share_most_deprived(h[perm], d[perm], pop[perm]) == pytest.approx(s)


def test_moving_harm_to_a_more_deprived_unit_raises_c():
    base = [2.0, 2.0, 2.0, 2.0, 2.0]
    moved = [1.0, 2.0, 2.0, 2.0, 3.0]
    assert concentration_index(moved, DEP5) > concentration_index(base, DEP5)


# --- share of the most deprived fifth ---------------------------------------------------------


def test_share_of_most_deprived_fifth_known_answers():
    assert share_most_deprived([1] * 5, DEP5) == pytest.approx(0.2)
    assert share_most_deprived([0, 0, 0, 0, 4], DEP5) == pytest.approx(1.0)
    assert share_most_deprived([4, 0, 0, 0, 0], DEP5) == pytest.approx(0.0)
    # 7 equal units: the top fifth is unit 7 plus 40% of unit 6
    harm = np.arange(1, 8, dtype=float)
    assert share_most_deprived(harm, np.arange(7)) == pytest.approx((7 + 0.4 * 6) / 28)
    # by residents: 20% of 400 = 80 of the most deprived unit's 200 residents
    assert share_most_deprived([0, 0, 10], [1, 2, 3], [100, 100, 200]) == pytest.approx(0.4)


def test_share_is_one_minus_curve_at_eighty_percent():
    harm, pop = [5, 0, 2, 9, 1], [10, 40, 20, 10, 20]
    curve = concentration_curve(harm, DEP5, pop)
    at_80 = np.interp(0.8, curve["cum_population"], curve["cum_harm"])
    assert share_most_deprived(harm, DEP5, pop) == pytest.approx(1 - at_80)


def test_zero_population_unit_at_the_top_counts_inside():
    assert share_most_deprived([0, 0, 0, 0, 5, 5], [1, 2, 3, 4, 5, 6], [1, 1, 1, 1, 1, 0]) == (
        pytest.approx((5 + 5) / 10)
    )


def test_bad_inputs_raise():
    with pytest.raises(ValueError, match="equal length"):
        concentration_index([1, 2], [1, 2, 3])
    with pytest.raises(ValueError, match=">= 0"):
        concentration_index([1, -2], [1, 2])
    with pytest.raises(ValueError, match="finite"):
        concentration_index([1, np.nan], [1, 2])
    with pytest.raises(ValueError, match="at least one"):
        concentration_index([], [])
    with pytest.raises(ValueError, match="fraction"):
        share_most_deprived([1, 2], [1, 2], fraction=0)


# --- per period, from neighbourhood_month ---------------------------------------------------


def _neighbourhood_month(replicates=2):
    rows = []
    months = pd.date_range("2014-06-01", "2014-11-01", freq="MS")
    for rep in range(replicates):
        for m in months:
            for i, dep in enumerate(DEP5):
                counts = dict.fromkeys(HARM_COMPONENTS, 0.0)
                if m < pd.Timestamp("2014-09-01"):
                    counts["violence_incidents"] = 1.0  # equal everywhere: 182 harm-days
                elif i == 4:
                    counts["violence_incidents"] = 5.0 + rep  # all in the most deprived
                rows.append(
                    {
                        "run_id": f"r{rep}",
                        "seed": 1,
                        "replicate": rep,
                        "month": m,
                        "neighbourhood": f"n{i}",
                        "deprivation": dep,
                        "centre": i == 0,
                        **counts,
                    }
                )
    return pd.DataFrame(rows)


PERIODS = [("before", "2014-01-01", "2014-08-25"), ("after", "2014-08-25", "2015-01-01")]


def test_equity_by_period_known_answers():
    out = equity_by_period(_neighbourhood_month(), PERIODS)
    assert len(out) == 4
    before = out[out["period"] == "before"]
    after = out[out["period"] == "after"]
    # August 2014 has its midpoint before 25 August, so it belongs to "before"
    assert (before["n_months"] == 3).all() and (after["n_months"] == 3).all()
    np.testing.assert_allclose(before["concentration_index"], 0.0, atol=1e-12)
    np.testing.assert_allclose(before["share_most_deprived"], 0.2)
    np.testing.assert_allclose(before["total_harm"], 3 * 5 * 182.0)
    np.testing.assert_allclose(after["concentration_index"], 0.8)
    np.testing.assert_allclose(after["share_most_deprived"], 1.0)
    np.testing.assert_allclose(
        after.sort_values("replicate")["total_harm"], [3 * 5 * 182.0, 3 * 6 * 182.0]
    )
    assert set(out["weighting"]) == {"equal"}


def test_equity_by_period_uses_residents():
    nm = _neighbourhood_month(replicates=1)
    residents = {"n0": 100, "n1": 100, "n2": 100, "n3": 100, "n4": 400}
    out = equity_by_period(nm, PERIODS, residents=residents).set_index("period")
    # after: all harm in n4, which holds half the residents -> C = 1 - 0.5
    assert out.loc["after", "concentration_index"] == pytest.approx(0.5)
    assert out.loc["after", "weighting"] == "residents"
    # the same through a residents column
    nm["residents"] = nm["neighbourhood"].map(residents)
    out2 = equity_by_period(nm, PERIODS).set_index("period")
    assert out2.loc["after", "concentration_index"] == pytest.approx(0.5)
    with pytest.raises(ValueError, match="n4"):
        equity_by_period(nm, PERIODS, residents={"n0": 1, "n1": 1, "n2": 1, "n3": 1})


def test_harm_by_period_monthly_means():
    out = harm_by_period(_neighbourhood_month(replicates=1), PERIODS)
    row = out[(out["period"] == "after") & (out["neighbourhood"] == "n4")].iloc[0]
    assert row["violence_incidents"] == 15
    assert row["harm_per_month"] == pytest.approx(5 * 182.0)
    assert bool(out.loc[out["neighbourhood"] == "n0", "centre"].all())


def test_periods_are_validated():
    with pytest.raises(ValueError, match="before end"):
        normalise_periods([("x", "2015-01-01", "2014-01-01")])
    with pytest.raises(ValueError, match="unique"):
        normalise_periods([("x", "2014-01-01", "2014-02-01"), ("x", "2014-02-01", "2014-03-01")])
    with pytest.raises(ValueError, match="cannot read"):
        normalise_periods([("x", "not a date", "2014-02-01")])
    with pytest.raises(ValueError, match="at least one"):
        normalise_periods([])


def test_off_scene_harm_counts_in_the_equity_indices():
    """Off-scene harm attributed to a neighbourhood moves its share and the index."""
    from scenelab.observe.equity import equity_by_period

    rows = []
    for hood, dep in (("rich", 0.1), ("poor", 0.9)):
        row = {c: 0.0 for c in HARM_COMPONENTS}
        row.update(month=pd.Timestamp("2016-01-01"), neighbourhood=hood, deprivation=dep)
        row["violence_incidents"] = 1.0 if hood == "rich" else 0.0
        row["offscene_overdose_deaths"] = 1.0 if hood == "poor" else 0.0
        rows.append(row)
    frame = pd.DataFrame(rows)
    eq = equity_by_period(frame, [("2016", "2016-01-01", "2016-02-01")])
    assert eq.loc[0, "total_harm"] == pytest.approx(182.0 + 5475.0)
    assert eq.loc[0, "concentration_index"] > 0  # the death, off-scene, is in the poor area
    without = equity_by_period(
        frame.drop(columns="offscene_overdose_deaths"), [("2016", "2016-01-01", "2016-02-01")]
    )
    assert without.loc[0, "concentration_index"] < 0
