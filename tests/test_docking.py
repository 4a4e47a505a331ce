"""Docking (Axtell et al. 1996): the Mesa reference and scenelab, same rules, same distributions.

Both run the docking variant of Bergen over 2014-06-01..2014-10-31 (the pre-closure operation, the
closure of Nygardsparken on 2014-08-25, the expulsions that follow) for 30 seeds each. For every
period between interventions we compare, per statistic, people present per site, violence,
expulsions, police controls and public injections with a two-sided Mann-Whitney U and a two-sample
Kolmogorov-Smirnov test; the family-wise level is alpha = 0.05, Bonferroni-corrected over all
tests. A power check shows the same test does notice a changed rule.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from benchmarks.docking import compare, sample
from benchmarks.mesa_reference import SceneModel, run_reference
from benchmarks.scenarios import (
    DOCKING_PARAMETERS,
    DOCKING_SOURCE,
    bergen_data,
    docking_scenario,
    docking_text,
    to_toml,
)

import scenelab
from scenelab.api import parameter_vector
from scenelab.model.params import IDX
from scenelab.scenario import parse_text

N_SEEDS = 30
ALPHA = 0.05


# --- fast checks of the docking machinery -----------------------------------------------------
def test_toml_writer_round_trips_bergen():
    again = parse_text(to_toml(bergen_data()), "bergen.toml")
    assert again.scenario_hash == scenelab.load_scenario("bergen").scenario_hash


def test_docking_variant_switches_off_what_the_reference_lacks():
    scn = docking_scenario()
    assert scn.services == []
    assert scn.sellers.initial_local == scn.sellers.initial_travelling == 0
    par = parameter_vector(scn)
    for name, value in DOCKING_PARAMETERS.items():
        assert par[IDX[name]] == value, name
    assert par[IDX["rate_scout_per_hour"]] == 0.0 and par[IDX["main_scenes_known"]] == 1.0
    types = {iv.type for iv in scn.interventions}
    assert {"close_site", "police_operation", "expulsion_policy", "police_plan"} <= types
    assert "police_strategy" not in types


def test_reference_refuses_a_scenario_with_mechanisms_it_lacks():
    with pytest.raises(ValueError, match="does not implement"):
        SceneModel(scenelab.load_scenario("bergen"), seed=1)


def test_reference_is_reproducible_and_closes_the_park():
    scn = docking_scenario()
    until = scn.run.start + dt.timedelta(days=2)
    a = run_reference(scn, seed=3, until=until)
    b = run_reference(scn, seed=3, until=until)
    pd.testing.assert_frame_equal(a.site_day, b.site_day)
    full = 3 * 24 * scn.population.initial_people
    assert 0.99 * full <= a.agent_ticks <= full  # only overdose deaths leave
    closed = run_reference(scn, seed=3, until=dt.date(2014, 8, 27)).site_day
    park = closed[(closed["site"] == "nygardsparken") & (closed["date"] >= "2014-08-25")]
    assert (park["people_present"] == 0).all()


def test_compare_accepts_same_distribution_and_rejects_a_shift():
    rng = np.random.default_rng(0)
    a = pd.DataFrame({"x": rng.normal(0, 1, 30), "y": rng.poisson(5, 30), "c": np.zeros(30)})
    b = pd.DataFrame({"x": rng.normal(0, 1, 30), "y": rng.poisson(5, 30), "c": np.zeros(30)})
    same = compare(a, b, ALPHA)
    assert same.rejected.empty
    assert same.n_tests == 4  # two tests for x and y; the constant c is not tested
    shifted = compare(a, b.assign(x=b["x"] + 2.0), ALPHA)
    assert list(shifted.rejected.index) == ["x"]


# --- the docking itself ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def samples() -> tuple[str, pd.DataFrame, pd.DataFrame]:
    text = docking_text()
    ours = sample("scenelab", text, range(N_SEEDS))
    theirs = sample("mesa", text, range(N_SEEDS), workers=2)
    return text, ours, theirs


@pytest.mark.slow
@pytest.mark.statistical
def test_mesa_reference_docks_with_scenelab(samples):
    _, ours, theirs = samples
    result = compare(ours, theirs, ALPHA)
    print(result.render())
    # Enough statistics vary to make the comparison meaningful (not all constant).
    assert result.n_tests >= 2 * 15
    assert result.rejected.empty, "\n" + result.render()


@pytest.mark.slow
@pytest.mark.statistical
def test_docking_notices_a_changed_rule(samples):
    """Power check: 50% more violence per person-hour in scenelab alone must be rejected."""
    text, _, theirs = samples
    rate = parameter_vector(parse_text(text, DOCKING_SOURCE))[IDX["rate_violence_per_person_hour"]]
    louder = sample("scenelab", text, range(N_SEEDS), {"rate_violence_per_person_hour": 1.5 * rate})
    result = compare(louder, theirs, ALPHA)
    flagged = [name for name in result.rejected.index if name.startswith("violence_incidents")]
    assert flagged, "\n" + result.render()
