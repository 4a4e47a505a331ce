"""Model behaviour: reproducibility, known answers, and directions under common random numbers."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from tests.conftest import SHORT, write_variant

import scenelab
from scenelab.model.phases import PHASES
from scenelab.scenario import load_scenario


def test_same_seed_gives_identical_tables(bergen):
    a = scenelab.run(bergen, seed=11, until=SHORT)
    b = scenelab.run(bergen, seed=11, until=SHORT)
    pd.testing.assert_frame_equal(a.site_day, b.site_day)
    pd.testing.assert_frame_equal(a.neighbourhood_month, b.neighbourhood_month)
    assert a.outcomes == b.outcomes


def test_different_seeds_differ(bergen):
    a = scenelab.run(bergen, seed=11, until=SHORT)
    b = scenelab.run(bergen, seed=12, until=SHORT)
    assert not a.site_day["people_present"].equals(b.site_day["people_present"])


def test_site_day_columns_and_ids(short_run, bergen):
    sd = short_run.site_day
    for col in (
        "run_id",
        "scenario",
        "seed",
        "replicate",
        "date",
        "site",
        "neighbourhood",
        "people_present",
        "people_present_peak",
        "sellers_present",
        "police_hours",
        "police_controls",
        "expulsions",
        "fines",
        "violence_incidents",
        "sexual_violence_incidents",
        "public_injections",
        "unsafe_injections",
        "overdoses",
        "overdose_deaths",
        "nuisance",
    ):
        assert col in sd.columns, col
    assert set(sd["site"]) == set(bergen.site_ids())
    assert len(sd) == len(bergen.sites) * ((SHORT - bergen.run.start).days + 1)
    assert (sd["people_present_peak"] >= sd["people_present"]).all()


def test_engine_calls_phases_in_documented_order():
    from scenelab.model import engine
    from scenelab.model.phases import PHASE_ORDER

    code = engine.simulate.py_func.__code__
    called = [name.removeprefix("_step_") for name in code.co_names if name.startswith("_step_")]
    assert called == list(PHASE_ORDER) == [p.module for p in PHASES]


def test_known_answer_entries_are_poisson(bergen):
    """With exits and visibility feedback off, entries over N days are Poisson(rate x N)."""
    rate = 0.8
    overrides = {"rate_entry_per_day": rate, "k_visibility": 0.0}
    days = (SHORT - bergen.run.start).days  # entries start on day 1
    totals = [
        scenelab.run(bergen, seed=s, until=SHORT, overrides=overrides).city_day["entries"].sum()
        for s in range(8)
    ]
    expected = rate * days * len(totals)
    # Sum of 8 Poisson draws; 4 standard deviations is a false-alarm rate below 1e-4.
    assert abs(sum(totals) - expected) < 4 * np.sqrt(expected)


def test_known_answer_violence_rate_matches_person_hours(bergen):
    """With every modifier off, incidents at sites are Poisson(rate x person-hours)."""
    rate = 1e-3
    overrides = {
        "rate_violence_per_person_hour": rate,
        "k_violence_crowding": 0.0,
        "k_violence_market": 0.0,
        "k_violence_concealment": 0.0,
        "k_guard_police": 0.0,
        "k_guard_staff": 0.0,
        "p_arrest_per_control": 0.0,
    }
    res = scenelab.run(bergen, seed=3, until=dt.date(2012, 6, 30), overrides=overrides)
    person_hours = res.site_day["people_present"].sum() * 24
    expected = rate * person_hours
    observed = res.site_day["violence_incidents"].sum()
    assert expected > 200
    assert abs(observed - expected) < 4 * np.sqrt(expected)


def _mean_presence(res, site, start, end):
    sd = res.site_day
    mask = (sd["site"] == site) & (sd["date"] >= start) & (sd["date"] <= end)
    return sd.loc[mask, "people_present"].mean()


def test_closing_a_site_never_raises_presence_there(tmp_path, bergen):
    path = write_variant(
        tmp_path,
        'type = "close_site"\nstart = 2014-08-25',
        'type = "close_site"\nstart = 2012-02-01',
    )
    closed = load_scenario(path)
    for seed in (1, 2):
        base = scenelab.run(bergen, seed=seed, until=SHORT)
        alt = scenelab.run(closed, seed=seed, until=SHORT)
        after = alt.site_day[
            (alt.site_day["site"] == "nygardsparken") & (alt.site_day["date"] >= "2012-02-01")
        ]
        assert after["people_present"].max() == 0.0
        assert _mean_presence(alt, "nygardsparken", "2012-02-01", "2012-03-31") <= _mean_presence(
            base, "nygardsparken", "2012-02-01", "2012-03-31"
        )


def test_more_police_does_not_raise_presence_in_following_days(tmp_path, bergen):
    extra = """[[interventions]]
type = "police_plan"
start = 2012-03-01
end = 2012-03-31
sites = ["nygardsparken"]
mode = "continuous_patrol"
officers = 4
hours = { from_hour = 8, to_hour = 24 }

[[interventions]]
id = "strax_opens"
"""
    path = write_variant(tmp_path, '[[interventions]]\nid = "strax_opens"\n', extra)
    policed = load_scenario(path)
    until = dt.date(2012, 4, 15)
    for seed in (1, 2, 3):
        base = scenelab.run(bergen, seed=seed, until=until)
        alt = scenelab.run(policed, seed=seed, until=until)
        assert _mean_presence(alt, "nygardsparken", "2012-03-02", "2012-04-15") <= _mean_presence(
            base, "nygardsparken", "2012-03-02", "2012-04-15"
        )


def _with_room(tmp_path, capacity: int, name: str):
    text = scenelab.scenario.builtin_text("bergen")
    text = text.replace(
        "capacity_injections_per_day = 100", f"capacity_injections_per_day = {capacity}"
    )
    text = text.replace(
        'substances = ["opioids"]', 'substances = ["opioids", "stimulants", "poly"]'
    )
    text = text.replace('days = "weekdays"\nsubstances', 'days = "all"\nsubstances')
    text = text.replace("start = 2016-12-01", "start = 2012-01-15")
    path = tmp_path / name
    path.write_text(text)
    return load_scenario(path)


def test_more_injection_room_capacity_never_raises_public_injections(tmp_path):
    small = _with_room(tmp_path, 5, "small.toml")
    large = _with_room(tmp_path, 500, "large.toml")
    for seed in (1, 2):
        a = scenelab.run(small, seed=seed, until=SHORT)
        b = scenelab.run(large, seed=seed, until=SHORT)
        used_a = a.site_day["injection_room_injections"].sum()
        used_b = b.site_day["injection_room_injections"].sum()
        assert used_b > used_a > 0
        assert b.site_day["public_injections"].sum() <= a.site_day["public_injections"].sum()


def test_replicates_have_their_own_streams(bergen):
    a = scenelab.run(bergen, seed=5, replicate=0, until=SHORT)
    b = scenelab.run(bergen, seed=5, replicate=1, until=SHORT)
    assert a.summary["run_id"] != b.summary["run_id"]
    assert not a.site_day["people_present"].equals(b.site_day["people_present"])


def test_override_of_unknown_parameter_is_a_clear_error(bergen):
    with pytest.raises(KeyError, match="b_peers"):
        scenelab.run(bergen, seed=1, until=SHORT, overrides={"b_peer": 1.0})
