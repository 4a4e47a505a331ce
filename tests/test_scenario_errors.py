"""Each class of bad scenario input gives a clear error: file, key path, valid choices."""

from __future__ import annotations

import subprocess
import sys

import pytest
from tests.conftest import write_variant

import scenelab
from scenelab.scenario import ScenarioError, load_scenario


def _error(path) -> list[str]:
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    return info.value.lines()


def test_builtin_is_valid(bergen):
    assert bergen.name == "bergen"
    assert len(bergen.scenario_hash) == 64
    assert "strax_tunnel" in bergen.site_ids()


def test_misspelt_site_reference_names_file_path_and_choices(tmp_path):
    path = write_variant(
        tmp_path,
        'type = "close_site"\nstart = 2014-08-25\nsite = "nygardsparken"',
        'type = "close_site"\nstart = 2014-08-25\nsite = "nygardsparke"',
        "bad.toml",
    )
    lines = _error(path)
    assert len(lines) == 1
    line = lines[0]
    assert line.startswith("bad.toml: interventions[")
    assert ".site: 'nygardsparke' is not a site" in line
    assert "did you mean 'nygardsparken'" in line
    assert "vagsbunnen" in line and "strax_tunnel" in line


def test_unknown_key_lists_valid_keys(tmp_path):
    path = write_variant(tmp_path, "capacity_people = 35 ", "capacity_ppl = 35 ")
    (line,) = [x for x in _error(path) if "capacity_ppl" in x]
    assert "sites[2].capacity_ppl: unknown key 'capacity_ppl'" in line
    assert "capacity_people" in line


def test_wrong_unit_for_parameter(tmp_path):
    path = write_variant(
        tmp_path,
        "[parameters]",
        '[parameters]\ndur_visit_hours = { value = 2, unit = "per_day" }',
    )
    (line,) = _error(path)
    assert "parameters.dur_visit_hours.unit" in line
    assert "valid units: days, hours, minutes" in line


def test_unit_conversion_is_applied(tmp_path):
    path = write_variant(
        tmp_path,
        "[parameters]",
        '[parameters]\ndur_visit_hours = { value = 120, unit = "minutes" }',
    )
    scn = load_scenario(path)
    assert scenelab.parameters(scn)["dur_visit_hours"].default == pytest.approx(2.0)


def test_impossible_value_and_bad_type(tmp_path):
    path = write_variant(tmp_path, "share_women = 0.25 ", "share_women = 1.25 ")
    (line,) = _error(path)
    assert "population.share_women" in line and "less than or equal to 1" in line


def test_date_out_of_run_window(tmp_path):
    path = write_variant(tmp_path, "start = 2017-09-09", "start = 2019-09-09")
    (line,) = _error(path)
    assert ".start: 2019-09-09 is outside the run window 2012-01-01 .. 2017-12-31" in line


def test_unknown_intervention_type_lists_types(tmp_path):
    path = write_variant(tmp_path, 'type = "open_site"', 'type = "reopen_site"')
    (line,) = _error(path)
    assert "interventions[" in line and "close_site" in line and "police_plan" in line


def test_unknown_parameter_suggests(tmp_path):
    path = write_variant(tmp_path, "[parameters]", "[parameters]\nb_peer = 0.3")
    (line,) = _error(path)
    assert "parameters.b_peer: 'b_peer' is not a parameter (did you mean 'b_peers'?)" in line


def test_resize_field_of_wrong_service_kind(tmp_path):
    path = write_variant(tmp_path, "low_threshold = true\n", "booths = 3\n")
    (line,) = _error(path)
    assert "a oat service has no 'booths'" in line and "slots" in line


def test_several_problems_reported_at_once(tmp_path):
    text = scenelab.scenario.builtin_text("bergen")
    text = text.replace('zone = "park_zone"', 'zone = "parkzone"').replace(
        'service = "strax_huset"', 'service = "straxhuset"'
    )
    path = tmp_path / "two.toml"
    path.write_text(text)
    lines = _error(path)
    assert any("'parkzone' is not a zone" in x for x in lines)
    assert any("'straxhuset' is not a service" in x for x in lines)


def test_toml_syntax_error(tmp_path):
    path = tmp_path / "broken.toml"
    path.write_text("[scenario\nname = 1")
    (line,) = _error(path)
    assert line.startswith("broken.toml: not valid TOML")


def test_no_code_is_evaluated(tmp_path):
    # A value that looks like code stays an inert string and fails validation as one.
    path = write_variant(tmp_path, "share_women = 0.25 ", "share_women = \"__import__('os')\" ")
    (line,) = _error(path)
    assert "population.share_women" in line and "valid number" in line


def test_cli_validate_exit_codes(tmp_path, bergen):
    ok = tmp_path / "ok.toml"
    ok.write_text(scenelab.scenario.builtin_text("bergen"))
    good = subprocess.run(
        [sys.executable, "-m", "scenelab", "validate", str(ok)], capture_output=True, text=True
    )
    assert good.returncode == 0, good.stderr
    path = write_variant(
        tmp_path,
        'site = "nygardsparken"\nnote = "The upper park',
        'site = "nope"\nnote = "The upper park',
    )
    bad = subprocess.run(
        [sys.executable, "-m", "scenelab", "validate", str(path)], capture_output=True, text=True
    )
    assert bad.returncode == 1
    assert "'nope' is not a site" in bad.stderr
