"""Next-event scheduling (issue 13): drawn waiting times behave like the hourly draws they replace.

Two levels. The waiting-time draws themselves (``model.schedule``) against the exact distribution
of the first event of an hourly Bernoulli process. Then the model: a tiny city (one site that
never closes, no police, nobody enters, leaves or changes housing or treatment), many people,
stepped one tick at a time; its arrivals by hour of day and hours present per day are compared
with the exact expectations of the per-hour two-state process (absent: arrive with a(h); present:
leave with 1 / dur_visit_hours), computed by forward recursion for every person.
"""

from __future__ import annotations

import numpy as np
import pytest

from scenelab.api import parameter_vector
from scenelab.model import engine
from scenelab.model import state as st
from scenelab.model.mechanisms.common import HOUR_PROFILE
from scenelab.model.mechanisms.site_choice import arrive_probability
from scenelab.model.params import IDX
from scenelab.model.rng import stream_keys
from scenelab.model.schedule import NEVER, geometric_tick, profile_tick
from scenelab.model.world import compile_world
from scenelab.scenario.loader import parse_text


def first_event_pmf(a: np.ndarray, h0: int, n: int) -> np.ndarray:
    """Exact P(first event at t0 + m), m < n, for hourly chances ``a[h]`` starting at hour h0."""
    pmf = np.empty(n)
    surv = 1.0
    for m in range(n):
        p = a[(h0 + m) % 24]
        pmf[m] = surv * p
        surv *= 1.0 - p
    return pmf


def test_profile_tick_draws_the_first_event_of_the_hourly_process():
    # Bergen's regular person: 4 h a day, stays of 3 h; starting at 05:00 and at 17:00.
    a = np.array([arrive_probability(4.0, 1.0 / 3.0, HOUR_PROFILE[h]) for h in range(24)])
    surv = 1.0 - a
    log_day = float(np.log(surv).sum())
    rng = np.random.default_rng(1)
    n_draws, n_bins = 200_000, 96
    for t0 in (5, 24 * 7 + 17):
        u = rng.random(n_draws)
        waits = np.array([profile_tick(t0, x, surv, log_day) - t0 for x in u])
        assert waits.min() >= 0
        pmf = first_event_pmf(a, t0 % 24, n_bins)
        counts = np.bincount(np.minimum(waits, n_bins), minlength=n_bins + 1)
        expected = np.append(pmf, 1.0 - pmf.sum()) * n_draws
        # Pearson chi-square over 97 cells (96 hours and the tail): df 96, mean 96, sd 13.9;
        # 170 is p < 1e-6.
        chi2 = float(((counts - expected) ** 2 / expected).sum())
        assert chi2 < 170, chi2
        # The mean wait against the exact mean (24 days of hours cover all but ~1e-12 of it).
        exact_mean = float((np.arange(24 * 24) * first_event_pmf(a, t0 % 24, 24 * 24)).sum())
        assert waits.mean() == pytest.approx(exact_mean, rel=0.01)


def test_profile_tick_certain_and_impossible_hours():
    surv = np.ones(24)
    assert profile_tick(10, 0.5, surv, 0.0) == NEVER  # no hour has a chance
    surv[3] = 0.0  # an arrival at 03:00 is certain, and nothing can happen before it
    assert profile_tick(10, 0.999, surv, -np.inf) == 10 + 17
    assert profile_tick(27, 0.0, surv, -np.inf) == 27


def test_geometric_tick_is_the_first_event_of_a_constant_hourly_chance():
    rng = np.random.default_rng(2)
    p = 0.1
    waits = np.array([geometric_tick(100, p, x) - 100 for x in rng.random(200_000)])
    pmf = p * (1.0 - p) ** np.arange(60)
    counts = np.bincount(np.minimum(waits, 60), minlength=61)
    expected = np.append(pmf, 1.0 - pmf.sum()) * waits.size
    chi2 = float(((counts - expected) ** 2 / expected).sum())
    assert chi2 < 125, chi2  # df 60: mean 60, sd 11; 125 is p < 1e-6
    assert geometric_tick(5, 1.0, 0.7) == 5
    assert geometric_tick(5, 0.0, 0.7) == NEVER


CITY = """
[scenario]
name = "attendance_city"
title = "Attendance test city"
description = "One site that never closes, nothing else: attendance alone."

[run]
start = 2020-01-01
end = 2020-03-31
tick_hours = 1
seed = 1
replicates = 1

[[neighbourhoods]]
id = "centre"
name = "Centre"
deprivation = 0.5
residents = 5000
businesses = 300
centre = true

[[sites]]
id = "park"
name = "Park"
kind = "park"
neighbourhood = "centre"
lat = 60.0
lon = 10.0
capacity_people = 5000
concealment = 0.3
hygiene = 0.5
footfall = 0.6
residential_exposure = 0.3
attractiveness = 0.5
initial_activity = 1.0

[population]
initial_people = 3000
max_people = 3000
share_women = 0.3
share_injecting = 0.5
share_housed = 0.3
share_in_oat = 0.3
share_occasional = 0.2
trust_mean = 0.5
trust_sd = 0.05
substance_mix = { opioids = 0.6, stimulants = 0.2, poly = 0.2 }
initial_sites = { park = 1.0 }

[sellers]
initial_local = 0
initial_travelling = 0
max_sellers = 1
risk_tolerance_local = 2.0
risk_tolerance_travelling = 0.5
initial_sites = { park = 1.0 }

[parameters]
rate_entry_per_day = 0.0
rate_exit_per_year = 0.0
rate_exit_occasional_per_year = 0.0
rate_exit_oat_per_year = 0.0
rate_exit_housed_per_year = 0.0
rate_oat_dropout_per_year = 0.0
rate_housing_loss_per_year = 0.0
rate_travelling_seller_entry_per_day = 0.0
p_od_per_injection = 0.0
"""
DAYS = 21


@pytest.fixture(scope="module")
def stepped() -> dict[str, np.ndarray]:
    """Run the tiny city tick by tick; return presence per tick and the people's types."""
    scn = parse_text(CITY, "<attendance test city>")
    par = parameter_vector(scn)
    world = compile_world(scn)
    keys = stream_keys(3, 0)
    people, sellers, sites = engine.initial_state(scn, world, par, keys)
    out = st.new_out(world.n_days, len(scn.sites))
    pop = engine.population_vector(scn)
    present = np.zeros((DAYS * 24, people.status.size), dtype=bool)
    for t in range(DAYS * 24):
        engine.simulate(t, t + 1, par, pop, keys, world, people, sellers, sites, out, -1, -1)
        present[t] = people.site >= 0
    assert (people.status == st.STATUS_ACTIVE).all()  # nobody left: the types stayed fixed
    return {"present": present, "people": people, "par": par}


def expected_presence(par: np.ndarray, people: st.People, n_ticks: int) -> np.ndarray:
    """Per tick, each person's exact chance of being present under the hourly draws."""
    share = np.where(
        people.occasional == 1,
        par[IDX["hours_scene_per_day_occasional"]],
        par[IDX["hours_scene_per_day_regular"]],
    )
    share = share * np.where(people.housed == 1, par[IDX["rel_attend_housed"]], 1.0)
    share = share * np.where(people.oat == st.OAT_IN, par[IDX["rel_attend_oat"]], 1.0)
    leave = 1.0 / par[IDX["dur_visit_hours"]]
    p = np.zeros(share.size)  # everyone starts off the scene
    out = np.empty((n_ticks, share.size))
    for t in range(n_ticks):
        f = np.minimum(0.9, share / 24.0 * HOUR_PROFILE[t % 24])
        a = np.minimum(1.0, leave * f / (1.0 - f))
        p = p * (1.0 - leave) + (1.0 - p) * a
        out[t] = p
    return out


def test_arrivals_by_hour_of_day_match_the_hourly_process(stepped):
    present, people, par = stepped["present"], stepped["people"], stepped["par"]
    n_ticks = present.shape[0]
    p = expected_presence(par, people, n_ticks)
    leave = 1.0 / par[IDX["dur_visit_hours"]]
    before = np.vstack([np.zeros((1, p.shape[1])), p[:-1]])
    # Arrival at t: absent after t - 1, present after t (nobody arrives in the hour they leave).
    exp_arrivals = (p - before * (1.0 - leave)).sum(axis=1)
    was = np.vstack([np.zeros((1, present.shape[1]), dtype=bool), present[:-1]])
    arrivals = (present & ~was).sum(axis=1)
    by_hour = arrivals.reshape(DAYS, 24).sum(axis=0)
    exp_by_hour = exp_arrivals.reshape(DAYS, 24).sum(axis=0)
    # Per hour of day about 1,000-6,000 arrivals: a Poisson-like sd of 30-80. Tolerance 4.5 sd
    # per hour (24 hours: a false alarm below 1e-4), and 1.5% on the total.
    z = (by_hour - exp_by_hour) / np.sqrt(exp_by_hour)
    assert np.abs(z).max() < 4.5, np.round(z, 2)
    assert arrivals.sum() == pytest.approx(exp_arrivals.sum(), rel=0.015)


def test_hours_present_per_day_match_the_hourly_process_by_type(stepped):
    present, people, par = stepped["present"], stepped["people"], stepped["par"]
    p = expected_presence(par, people, present.shape[0])
    hours = present.sum(axis=0) / DAYS
    exp_hours = p.sum(axis=0) / DAYS
    assert (people.hours_present == present.sum(axis=0)).all()
    groups = {
        "regular, unhoused, not in OAT": (people.occasional == 0)
        & (people.housed == 0)
        & (people.oat != st.OAT_IN),
        "regular, housed or in OAT (thinned)": (people.occasional == 0)
        & ((people.housed == 1) | (people.oat == st.OAT_IN)),
        "occasional": people.occasional == 1,
    }
    for name, sel in groups.items():
        assert sel.sum() > 300, name
        # People are independent here, so the group mean's standard error is the spread of their
        # hours over sqrt(n) (1-3% of the mean); allow 4 standard errors (a false alarm < 1e-4).
        se = hours[sel].std() / np.sqrt(sel.sum())
        z = (hours[sel].mean() - exp_hours[sel].mean()) / se
        assert abs(z) < 4.0, (name, hours[sel].mean(), exp_hours[sel].mean(), z)
