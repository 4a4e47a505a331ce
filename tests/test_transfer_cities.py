"""The transfer cities (issue 11): Frankfurt 1992 and Vancouver 2003 in examples/cities/.

They must be valid scenario files with valid pattern sidecars, carry Bergen's behavioural
parameters unchanged (only the entry rate is scaled by the city's initial population, Bergen's
per-capita rate), give the places the scene historically moved to no pull of their own, and run.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

import scenelab
from scenelab.patterns import load_patterns, measure

CITIES = Path(__file__).resolve().parents[1] / "examples" / "cities"
FILES = {"frankfurt-1992": ["F1", "F2"], "vancouver-2003": ["V1", "V2", "V3"]}
# Where the scene went historically: ordinary candidates, no pull, nobody starts there.
DESTINATIONS = {
    "frankfurt-1992": ["niddastrasse", "elbestrasse", "moselstrasse", "weserstrasse"],
    "vancouver-2003": ["columbia_block"],
}
SCALED = "rate_entry_per_day"


def _load(name: str) -> scenelab.Scenario:
    return scenelab.load_scenario(CITIES / f"{name}.toml")


@pytest.mark.parametrize("name", sorted(FILES))
def test_city_file_and_its_patterns_are_valid(name):
    scn = _load(name)
    assert scn.name == name
    assert [p.id for p in load_patterns(scn)] == FILES[name]


@pytest.mark.parametrize("name", sorted(FILES))
def test_behavioural_parameters_are_bergens(name):
    bergen = scenelab.load_scenario("bergen")
    scn = _load(name)
    city, ref = scenelab.parameters(scn), scenelab.parameters(bergen)
    # The city sets only its population flow; behaviour is the calibrated set, as in Bergen.
    assert set(scn.parameters) == {SCALED}
    for key, spec in ref.items():
        if key == SCALED:
            per_capita = spec.default / bergen.population.initial_people
            expected = per_capita * scn.population.initial_people
            assert city[key].default == pytest.approx(expected, rel=1e-3), key
        else:
            assert city[key].default == spec.default, key
    assert city["main_scenes_known"].default == 0.0
    assert city["rate_scout_per_hour"].default > 0.0


@pytest.mark.parametrize("name", sorted(FILES))
def test_historical_destinations_have_no_pull(name):
    scn = _load(name)
    sites = {s.id: s for s in scn.sites}
    for sid in DESTINATIONS[name]:
        assert sites[sid].attractiveness == 0.0, sid
        assert sites[sid].initial_activity == 0.0, sid
        assert sid not in scn.population.initial_sites, sid
        assert sid not in scn.sellers.initial_sites, sid


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(FILES))
def test_city_runs_a_short_window_and_patterns_measure(name):
    scn = _load(name)
    until = scn.run.start + dt.timedelta(days=20)
    res = scenelab.run(scn, seed=1, until=until)
    sd = res.site_day
    assert sd["date"].nunique() == 21
    assert set(sd["site"]) == {s.id for s in scn.sites}
    assert sd["people_present"].sum() > 0
    # Every pattern can be measured (windows after `until` give NaN or 0, never an error).
    for pattern in load_patterns(scn):
        found = measure(pattern, res, scn)
        assert set(found.measured) == set(pattern.figures)
        assert all(isinstance(v, float) for v in found.measured.values())


def test_share_of_several_sites_is_the_sum_of_their_shares():
    import pandas as pd
    from pydantic import ValidationError

    from scenelab.patterns import Figure, measure_figure

    class Res:
        site_day = pd.DataFrame(
            {
                "date": pd.to_datetime(["2020-01-01"] * 3 + ["2020-01-02"] * 3),
                "site": ["a", "b", "c"] * 2,
                "people_present": [1.0, 2.0, 7.0, 3.0, 0.0, 7.0],
            }
        )

    window = [dt.date(2020, 1, 1), dt.date(2020, 1, 2)]
    both = Figure(kind="share", sites=["a", "b"], window=window)
    assert measure_figure(both, Res(), None) == pytest.approx(6 / 20)
    one = Figure(kind="share", site="c", window=window)
    assert measure_figure(one, Res(), None) == pytest.approx(14 / 20)
    with pytest.raises(ValidationError, match="site or sites, not both"):
        Figure(kind="share", site="a", sites=["b"], window=window)
    with pytest.raises(ValidationError, match=r"needs site \(or sites"):
        Figure(kind="share", window=window)
