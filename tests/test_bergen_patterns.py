"""Bergen patterns (docs/calibration-bergen.md) on full 2012-2017 runs of the defaults, seeds 1-12.

P1 and P3 must hold in every seed. P2 in every seed is a strict xfail (the closure is bistable in
the model: with the calibrated set of 2026-12-04, P2 holds in 8 of 12 seeds; in the others the
scene goes to the bus station first). P4 must hold in at least 10 of the 12 seeds: over 40 seeds
it holds in 38. P3's tunnel share and P4's harm shares are also judged on the mean over the
seeds. P3b (a residual scene in Vagsbunnen in late 2016) is a strict xfail: it holds in 11 of 12
seeds. P5, P6 and P7 are judged on the mean over the
seeds (population and survey shares and police counts, noisy per run): P5 population 0-40%
smaller with fewer travelling sellers and occasional buyers; P6 expulsions and fines per year
within a factor of 2 of the police figures, 2014-15 and 2016; P7 62% +- 10 points low trust, and
more among the third with most police contact. Twelve seeds, not four: with four, the 2016 counts'
mean once met the target by the luck of one seed. P6 in every seed and P8 are strict xfails that
fail loudly the day the model meets them. `scenelab patterns bergen` prints the same figures
(``scenelab.patterns``).
"""

from __future__ import annotations

import pandas as pd
import pytest

import scenelab
from scenelab.parallel import RunTask, run_many
from scenelab.patterns import all_patterns

SEEDS = tuple(range(1, 13))
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def measured():
    scn = scenelab.load_scenario("bergen")
    results = run_many([RunTask(scn, seed) for seed in SEEDS])
    return {
        seed: {p.pattern: p for p in all_patterns(res, scn)}
        for seed, res in zip(SEEDS, results, strict=True)
    }


NOT_REPRODUCED_11 = (
    "issue 11: the closure is bistable: P2 holds in 8 of 12 seeds (20 of 40) with the calibrated "
    "set of 2026-12-04; in the others the scene goes to the bus station first "
    "(docs/calibration-bergen.md, 'Tastes that differ between people', and the robustness maps)"
)


def _mean(measured, pattern):
    return pd.DataFrame([m[pattern].measured for m in measured.values()]).mean()


def test_every_pattern_is_measured(measured):
    for found in measured.values():
        assert list(found) == ["P1", "P2", "P3", "P3b", "P4", "P5", "P6", "P7"]


@pytest.mark.parametrize(
    "pattern",
    [
        "P1",
        pytest.param("P2", marks=pytest.mark.xfail(strict=True, reason=NOT_REPRODUCED_11)),
        "P3",
    ],
)
def test_pattern_holds_in_every_seed(measured, pattern):
    failing = {s: m[pattern].measured for s, m in measured.items() if not m[pattern].holds}
    assert not failing, f"{pattern} fails in seeds {failing}"


def test_p4_holds_in_nearly_every_seed(measured):
    # P4 holds in 38 of 40 seeds with the calibrated set of 2026-12-04 (37 of 40 before it). At a
    # rate of 0.95 a seed, 9 or fewer of 12 has a chance of 2%.
    failing = {s: m["P4"].measured for s, m in measured.items() if not m["P4"].holds}
    assert len(failing) <= 2, f"P4 fails in seeds {failing}"


def test_p3_tunnel_is_the_main_scene_in_2016_on_average(measured):
    assert _mean(measured, "P3")["tunnel_share_2016"] > 0.5


def test_p4_harm_leaves_the_centre_for_deprived_areas_on_average(measured):
    m = _mean(measured, "P4")
    assert m["centre_share_after"] < 0.5 * m["centre_share_before"], m.to_dict()
    assert m["concentration_after"] >= m["concentration_before"] + 0.1, m.to_dict()


def test_p5_scene_a_bit_smaller_on_average(measured):
    m = _mean(measured, "P5")
    assert 0.6 * m["population_before"] <= m["population_after"] < m["population_before"]
    assert m["sellers_travelling_after"] < m["sellers_travelling_before"]
    assert m["occasional_after"] < m["occasional_before"]


def test_p7_low_trust_and_contact_gradient_on_average(measured):
    m = _mean(measured, "P7")
    assert abs(m["trust_low_all"] - 62.0) <= 10.0, m.to_dict()
    assert m["trust_low_contact_high"] > m["trust_low_contact_low"]


# Bergen police figures: >1,300 expulsions in 2015, 347 in 2016 (to mid-December), 273 fines in
# 2014-15 and 43 in 2016; tolerance: a factor of 2 either way.
def test_p6_2014_2015_police_counts_within_factor_two_on_average(measured):
    m = _mean(measured, "P6")
    assert 650 <= m["expulsions_2015"] <= 2600, m.to_dict()
    assert 136 <= m["fines_2014_2015"] <= 546, m.to_dict()


def test_p6_2016_police_counts_within_factor_two_on_average(measured):
    m = _mean(measured, "P6")
    assert 173 <= m["expulsions_2016"] <= 694, m.to_dict()
    assert 21 <= m["fines_2016"] <= 86, m.to_dict()


@pytest.mark.xfail(
    strict=True,
    reason="P3b (>= 1 person a day in Vagsbunnen, Jul-Dec 2016) holds in 11 of 12 seeds (36 of 40) "
    "with the calibrated set of 2026-12-04; seed 4 keeps 0.8 people a day",
)
def test_p3b_residual_scene_in_vagsbunnen(measured):
    failing = {s: m["P3b"].measured for s, m in measured.items() if not m["P3b"].holds}
    assert not failing, f"P3b fails in seeds {failing}"


@pytest.mark.xfail(
    strict=True,
    reason="P6 holds in 9 of 12 seeds (30 of 40) with the calibrated set of 2026-12-04: 2015 "
    "expulsions fall below 650 (seeds 8, 11, 12) "
    "(docs/calibration-bergen.md, 'Tastes that differ between people')",
)
def test_p6_police_counts_within_factor_two_in_every_seed(measured):
    failing = {s: m["P6"].measured for s, m in measured.items() if not m["P6"].holds}
    assert not failing, f"P6 fails in seeds {failing}"


@pytest.mark.xfail(
    strict=True,
    reason="issue 11: with the scene and its market in the park at the start, the 1989 clearance "
    "(72 officer-hours a day) leaves half of it in the park (park share 0.5-0.6 in 1990, seeds "
    "1-2, calibrated set of 2026-12-03, afternoon) and none goes to the open square "
    "Torgallmenningen "
    "(docs/calibration-bergen.md, 'P8 with its own 1988 scene')",
)
def test_p8_1989_clearance_and_return():
    from scenelab.patterns import load_patterns, measure

    p8 = next(p for p in load_patterns(scenelab.load_scenario("bergen")) if p.id == "P8")
    scn = scenelab.load_scenario(p8.run)
    failing = {}
    for seed in (1, 2):
        p = measure(p8, scenelab.run(scn, seed=seed), scn)
        if not p.holds:
            failing[seed] = p.measured
    assert not failing, f"P8 fails in seeds {failing}"
