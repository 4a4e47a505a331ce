"""Observed patterns live with the city: a built-in's pattern file, or a sidecar beside a file."""

from __future__ import annotations

import pytest

from scenelab.cli import main
from scenelab.patterns import load_patterns, pattern_table
from scenelab.scenario import ScenarioError, load_scenario
from scenelab.scenario.loader import new_city_text

SIDECAR = """
[[patterns]]
id = "T1"
target = "the closed park is empty and the underpass holds people"
figures.park = { kind = "mean", table = "site_day", column = "people_present", sites = ["central_park"], window = [2025-01-08, 2025-01-31] }
figures.underpass = { kind = "share", site = "east_underpass", window = [2025-01-08, 2025-01-31] }
holds = [{ left = "park", op = "<", value = 0.01 }, { left = "underpass", op = ">=", value = 0.0 }]

[[patterns]]
id = "T2"
target = "an impossible target, so the check can fail"
figures.people = { kind = "mean", table = "site_day", column = "people_present", window = [2025-01-08, 2025-01-31] }
holds = [{ left = "people", op = ">", value = 1e9 }]
"""  # noqa: E501


def test_bergen_patterns_come_from_its_pattern_file():
    ids = [p.id for p in load_patterns(load_scenario("bergen"))]
    assert ids == ["P1", "P2", "P3", "P3b", "P4", "P5", "P6", "P7", "P8"]
    assert load_patterns(load_scenario("bergen-no-closure")) == []  # a strategy, not a history


def test_a_city_file_gets_its_patterns_from_a_sidecar(tmp_path):
    text = new_city_text("town").replace("end = 2026-12-31", "end = 2025-01-31")
    (tmp_path / "town.toml").write_text(text)
    assert load_patterns(load_scenario(tmp_path / "town.toml")) == []
    (tmp_path / "town.patterns.toml").write_text(SIDECAR)
    scn = load_scenario(tmp_path / "town.toml")
    assert [p.id for p in load_patterns(scn)] == ["T1", "T2"]
    table = pattern_table(scn, [1])
    verdict = table.drop_duplicates("pattern").set_index("pattern")["holds"]
    assert verdict.to_dict() == {"T1": True, "T2": False}


@pytest.mark.parametrize(
    ("bad", "expected"),
    [
        ('op = "<"', "op"),  # replaced below by an invalid operator
        ('left = "park"', "not a figure"),
        ("window = [2025-01-08, 2025-01-31] }\nfigures.underpass", "needs site"),
    ],
)
def test_a_bad_pattern_file_names_the_file_and_key(tmp_path, bad, expected):
    broken = {
        'op = "<"': SIDECAR.replace('op = "<"', 'op = "=="', 1),
        'left = "park"': SIDECAR.replace('left = "park"', 'left = "parc"', 1),
        "window = [2025-01-08, 2025-01-31] }\nfigures.underpass": SIDECAR.replace(
            'site = "east_underpass", ', "", 1
        ),
    }[bad]
    (tmp_path / "town.toml").write_text(new_city_text("town"))
    (tmp_path / "town.patterns.toml").write_text(broken)
    with pytest.raises(ScenarioError) as info:
        load_patterns(load_scenario(tmp_path / "town.toml"))
    lines = info.value.lines()
    assert all(line.startswith("town.patterns.toml: patterns[") for line in lines), lines
    assert any(expected in line for line in lines), lines


def test_patterns_command_runs_a_sidecar(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    text = new_city_text("town").replace("end = 2026-12-31", "end = 2025-01-31")
    (tmp_path / "town.toml").write_text(text)
    (tmp_path / "town.patterns.toml").write_text(SIDECAR)
    assert main(["patterns", "town.toml", "--seeds", "1"]) == 0
    out = capsys.readouterr().out
    assert "T1: PASS (1/1 seeds)" in out and "T2: FAIL (0/1 seeds)" in out
