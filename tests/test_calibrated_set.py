"""The calibrated behavioural set (``model/calibrated.toml``): the defaults every city runs with.

A city's file describes the city; behaviour comes from one set, calibrated on Bergen. A new city
written from the template, with no ``[parameters]``, must therefore get site discovery and no list
of main scenes known to all, exactly as Bergen does; an explicit value in a scenario still wins.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from pathlib import Path

import pytest

import scenelab
from scenelab.model.params import (
    BY_NAME,
    CALIBRATED_FILE,
    MECHANISM_DIR,
    calibrated_values,
    load_parameters,
)
from scenelab.scenario.loader import new_city_text, parse_text

ROOT = Path(__file__).resolve().parents[1]
CITY_INPUTS = {"rate_entry_per_day"}


def _mechanism_value(name: str) -> float:
    spec = BY_NAME[name]
    data = tomllib.loads((MECHANISM_DIR / f"{spec.mechanism}.toml").read_text(encoding="utf-8"))
    return float(data["parameters"][name]["default"])


def test_calibrated_values_replace_the_mechanism_files_starting_values():
    values = calibrated_values()
    assert values, "the calibrated set is empty"
    for name, value in values.items():
        spec = BY_NAME[name]
        assert spec.default == value and spec.calibrated, name
        assert spec.start == _mechanism_value(name), name
        assert spec.low <= value <= spec.high, name
    # A parameter not in the set keeps its file's value.
    other = next(p for p in BY_NAME.values() if p.name not in values)
    assert other.default == _mechanism_value(other.name) and not other.calibrated


def test_calibrated_set_rejects_unknown_names_and_values_outside_the_prior(tmp_path):
    bad = tmp_path / "calibrated.toml"
    bad.write_text("[values]\nb_risks = 1.0\n")
    with pytest.raises(ValueError, match="unknown parameters.*b_risks"):
        load_parameters(MECHANISM_DIR, bad)
    high = BY_NAME["b_risk"].high
    bad.write_text(f"[values]\nb_risk = {high + 1.0}\n")
    with pytest.raises(ValueError, match="b_risk .* outside its prior range"):
        load_parameters(MECHANISM_DIR, bad)
    specs, _ = load_parameters(MECHANISM_DIR, None)
    assert {s.name: s.default for s in specs}["b_risk"] == _mechanism_value("b_risk")


def test_no_oracle_of_main_scenes_for_a_city_without_parameters():
    # The template's city sets no behaviour: it must get discovery, as Bergen does.
    scn = parse_text(new_city_text("town"), "town.toml")
    par = scenelab.parameters(scn)
    assert set(scn.parameters) <= CITY_INPUTS
    assert par["main_scenes_known"].default == 0.0
    assert par["rate_scout_per_hour"].default > 0.0
    assert par["rate_word_of_mouth_per_hour"].default > 0.0


def test_explicit_scenario_value_wins_over_the_calibrated_set():
    text = new_city_text("town") + "\n[parameters]\nmain_scenes_known = 1\nb_risk = 2.0\n"
    par = scenelab.parameters(parse_text(text, "town.toml"))
    assert par["main_scenes_known"].default == 1.0
    assert par["b_risk"].default == 2.0
    assert par["b_habit"].default == calibrated_values()["b_habit"]


@pytest.mark.parametrize(
    "path",
    [
        ROOT / "src/scenelab/scenario/builtin/bergen.toml",
        ROOT / "examples/cities/frankfurt-1992.toml",
        ROOT / "examples/cities/vancouver-2003.toml",
    ],
    ids=lambda p: p.stem,
)
def test_city_files_set_no_behaviour(path):
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    assert set(data.get("parameters", {})) <= CITY_INPUTS


@pytest.mark.slow
def test_a_run_records_which_set_it_ran_with():
    data = tomllib.loads(CALIBRATED_FILE.read_text(encoding="utf-8"))
    res = scenelab.run("bergen", seed=1, until=dt.date(2012, 1, 3))
    assert res.summary["parameter_set"] == data["calibration"]["name"] != ""
