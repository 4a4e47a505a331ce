"""The place inventory (issue 11): candidate places, stated causes of pull, bounded search."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pytest

import scenelab
from scenelab.model.params import IDX
from scenelab.model.world import K_NEAR, compile_world, km, nearest_sites
from scenelab.scenario import schema as sc
from scenelab.scenario.advice import advise
from scenelab.scenario.errors import ScenarioError
from scenelab.scenario.loader import new_city_text, parse_text

BASE = new_city_text("town")


def _city(replace: tuple[str, str] | None = None) -> scenelab.Scenario:
    text = BASE if replace is None else BASE.replace(*replace, 1)
    return parse_text(text, "town.toml")


def test_nearest_sites_match_a_brute_force_search():
    rng = np.random.default_rng(3)
    lat = 60.0 + rng.uniform(-0.05, 0.05, 300)
    lon = 10.0 + rng.uniform(-0.1, 0.1, 300)
    near = nearest_sites(lat, lon, k=8)
    for i in (0, 17, 299):
        d = np.array([km(lat[i], lon[i], lat[j], lon[j]) for j in range(300)])
        d[i] = np.inf
        assert list(near[i]) == list(np.argsort(d, kind="stable")[:8])


def test_nearest_sites_pad_a_small_city_and_never_list_the_site_itself():
    near = nearest_sites(np.array([60.0, 60.01, 60.02]), np.array([10.0, 10.0, 10.0]), k=K_NEAR)
    assert near.shape == (3, K_NEAR)
    assert list(near[0, :3]) == [1, 2, -1] and list(near[1, :2]) in ([0, 2], [2, 0])
    assert all(i not in near[i] for i in range(3))


def test_shelter_is_compiled_and_checked():
    scn = _city(("concealment = ", "shelter = 0.7\nconcealment = "))
    assert compile_world(scn).site_shelter[0] == pytest.approx(0.7)
    with pytest.raises(ScenarioError, match=r"sites\[0\]\.shelter"):
        _city(("concealment = ", "shelter = 1.5\nconcealment = "))


def test_static_attractiveness_without_a_cause_is_flagged_and_with_one_is_not():
    flagged = _city(("concealment = ", "attractiveness = 0.4\nconcealment = "))
    found = [a for a in advise(flagged) if a.path.endswith(".attractiveness")]
    assert len(found) == 1 and found[0].path == "sites[0].attractiveness"
    assert "attractiveness_cause" in found[0].message
    caused = _city(
        (
            "concealment = ",
            'attractiveness = 0.4\nattractiveness_cause = "a market"\nconcealment = ',
        )
    )
    assert not [a for a in advise(caused) if a.path.endswith(".attractiveness")]


def test_new_place_kinds_are_accepted():
    assert "quay" in sc.SiteKind.__args__ and "disused_building" in sc.SiteKind.__args__
    assert _city(('kind = "park"', 'kind = "disused_building"')).sites[0].kind == (
        "disused_building"
    )


def test_bergen_uses_no_static_attractiveness_and_lists_places_without_a_scene(bergen):
    assert all(s.attractiveness == 0.0 for s in bergen.sites)
    starts = set(bergen.population.initial_sites) | set(bergen.sellers.initial_sites)
    never = [s.id for s in bergen.sites if s.id not in starts and s.initial_activity == 0.0]
    assert len(never) >= 10, never
    found = advise(bergen)
    assert not [a for a in found if a.path.endswith(".attractiveness")]
    # Scouting is on, so places nobody knows at the start can be found from places near them;
    # only a remote one (Loddefjord, 5 km from any other place) is warned about.
    unknown = [a for a in found if "nobody knows" in a.message]
    assert [a.message.split("'")[1] for a in unknown] == ["loddefjord_centre"]
    assert "km from the nearest other place" in unknown[0].message


def test_bergen_police_follow_a_strategy_with_the_real_force(bergen):
    plans = [iv for iv in bergen.interventions if isinstance(iv, sc.PolicePlan)]
    assert [p.sites for p in plans] == [["nygardsparken"]]  # only the pre-closure park raids
    unit = [
        iv
        for iv in bergen.interventions
        if isinstance(iv, sc.PoliceStrategy) and iv.start >= dt.date(2014, 8, 25)
    ]
    # 11 officers x 37.5 h a week / 7 days, plus the ordinary patrol (24), rounded up
    assert unit and all(iv.officer_hours_per_day <= math.ceil(11 * 37.5 / 7 + 24) for iv in unit)
    assert "strax_tunnel" not in {
        s for iv in unit for z in iv.keep_clear for s in bergen.zones[_zone(bergen, z)].sites
    }


def _zone(scn: scenelab.Scenario, zid: str) -> int:
    return next(k for k, z in enumerate(scn.zones) if z.id == zid)


def test_only_the_site_nearest_each_open_dropin_is_known_to_everyone(bergen):
    # Monday 2 January 2012, noon: only the drop-in by Vagsbunnen is open, and eight places lie
    # within its reach. Everyone knows the nearest one, not the first ones in the file.
    from scenelab.api import parameter_vector
    from scenelab.model.engine import initial_state
    from scenelab.model.mechanisms import interventions
    from scenelab.model.rng import stream_keys

    par = parameter_vector(bergen)
    world = compile_world(bergen)
    keys = stream_keys(0, 0)
    _, _, sites = initial_state(bergen, world, par, keys)
    interventions.step(24 + 12, 1, 12, 0, par, keys, world, sites)
    j = [s.id for s in bergen.services if s.kind == "drop_in"].index("bymisjon")
    d = world.dist_site_dropin[:, j]
    assert (d <= par[IDX["reach_service_km"]]).sum() >= 4
    assert [s for s in sites.service_sites if s >= 0] == [int(np.argmin(d))]


@pytest.mark.slow
def test_bergen_officer_hours_never_exceed_the_unit_budget_after_the_closure():
    res = scenelab.run("bergen", seed=3, until=dt.date(2014, 10, 31))
    sd = res.site_day
    sd = sd[sd["date"].astype(str) >= "2014-08-26"]
    daily = sd.groupby("date")["police_hours"].sum()
    assert len(daily) > 60 and (daily <= 83.0 * (1 + 1e-9)).all(), daily.max()
    assert daily.median() == pytest.approx(83.0)
