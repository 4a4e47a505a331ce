"""Trust in police -> compliance with expulsion orders (issue 11, item 4): off by default."""

from __future__ import annotations

import math

import pytest
from tests.test_discovery import UNTIL, city

import scenelab
from scenelab.model.mechanisms.policing import comply_probability

# Expulsion orders on the street (where the scene goes when the park closes).
EXPULSIONS = """
[[zones]]
id = "street_zone"
name = "Street"
sites = ["street"]

[[interventions]]
type = "expulsion_policy"
start = 2020-01-01
zone = "street_zone"
propensity = 0.5
duration_hours = 24
"""


def test_compliance_is_p_comply_ban_when_the_slope_is_zero():
    for trust in (0.0, 0.3, 0.5, 1.0):
        assert comply_probability(0.8, 0.0, 0.5, trust) == 0.8


def test_low_trust_lowers_the_chance_of_complying():
    assert comply_probability(0.8, 0.8, 0.5, 0.1) == pytest.approx(0.48)
    assert comply_probability(0.8, 0.8, 0.5, 0.9) == 1.0  # kept within [0, 1]
    assert comply_probability(0.8, 0.8, 0.5, 0.1) < comply_probability(0.8, 0.8, 0.5, 0.5)


def _street_people(slope: float, trust: float) -> float:
    extra = f"k_trust_comply = {slope}\n{EXPULSIONS}"
    total = 0.0
    for seed in (1, 2, 3):
        sd = scenelab.run(city(1.0, extra=extra, trust=trust), seed=seed, until=UNTIL).site_day
        total += sd.loc[sd["site"] == "street", "people_present"].sum()
    return total


def test_low_trust_people_stay_in_the_banned_zone_more_when_trust_is_read():
    # A low-trust population: reading trust lowers compliance (0.8 -> 0.48), so more of the
    # expelled come back to the banned street (same seeds, same draws).
    assert _street_people(0.8, trust=0.1) > _street_people(0.0, trust=0.1)


def test_risk_weight_reads_neither_trust_nor_fines_by_default():
    from scenelab.model.mechanisms.site_choice import risk_weight

    base = 3.0 * math.exp(-0.8 * 0.7)
    for trust, fines in ((0.0, 0.0), (0.2, 50_000.0), (1.0, 1e6)):
        assert risk_weight(3.0, 0.8, 0.7, 0.0, 0.5, trust, 0.0, fines) == base


def test_low_trust_raises_avoidance_of_police_and_fines_act_by_their_slope():
    from scenelab.model.mechanisms.site_choice import risk_weight

    low = risk_weight(3.0, 0.0, 0.0, 1.0, 0.5, 0.1, 0.0, 0.0)
    high = risk_weight(3.0, 0.0, 0.0, 1.0, 0.5, 0.9, 0.0, 0.0)
    assert low == pytest.approx(3.0 * 1.4) and high == pytest.approx(3.0 * 0.6)
    assert risk_weight(3.0, 0.0, 0.0, 0.0, 0.5, 0.5, 0.2, 20_000.0) == pytest.approx(3.0 * 1.4)
    assert risk_weight(3.0, 0.0, 0.0, 0.0, 0.5, 0.5, -0.5, 40_000.0) == 0.0  # kept >= 0
