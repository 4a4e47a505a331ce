"""Warnings for likely mistakes: each one is triggered by the mistake it names, and only by it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from scenelab.cli import main
from scenelab.scenario.advice import advise
from scenelab.scenario.loader import new_city_text, parse_text

BASE = new_city_text("town")


def _advice(text: str, until: dt.date | None = None) -> list[str]:
    return [f"{a.path}: {a.message}" for a in advise(parse_text(text, "town.toml"), until)]


def test_the_template_has_no_warnings():
    assert _advice(BASE) == []


def test_service_out_of_reach_of_every_place():
    text = BASE.replace("lat = 60.3874\nlon = 5.3392", "lat = 60.4500\nlon = 5.3392")
    found = _advice(text)
    services = [f for f in found if f.startswith("services")]
    assert len(services) == 1 and services[0].startswith("services[0]:")
    assert "east_dropin" in services[0] and "nobody in the scenes will use it" in services[0]
    # The two east-side places were known only through the drop-in; with scouting (the
    # calibrated set) they are still found from places near them: no warning.
    assert [f for f in found if "nobody knows" in f] == []
    # Without scouting nobody can learn of them.
    found = _advice(text + "\n[parameters]\nrate_scout_per_hour = 0\n")
    assert sorted(f.split(":")[0] for f in found if "nobody knows" in f) == ["sites[3]", "sites[4]"]


def test_place_nobody_knows_or_can_reach():
    # Move the drop-in away from the east street: nobody starts there, nothing leads there, and
    # it is not among the most attractive places.
    text = BASE.replace("lat = 60.3874\nlon = 5.3392", "lat = 60.3880\nlon = 5.3380")
    text = text.replace("lat = 60.3872\nlon = 5.3395", "lat = 60.3600\nlon = 5.3395")
    found = [f for f in _advice(text) if "nobody knows" in f]
    # About 3 km from every other place: scouts find it with chance exp(-3 / 0.5), 0.2%.
    assert len(found) == 1 and found[0].startswith("sites[4]:") and "east_street" in found[0]
    assert "km from the nearest other place" in found[0]
    # Near the others again (but still unknown at the start), scouting can find it: no warning.
    near = BASE.replace("lat = 60.3874\nlon = 5.3392", "lat = 60.3880\nlon = 5.3380")
    assert [f for f in _advice(near) if "nobody knows" in f] == []


def test_capacity_far_below_the_population():
    text = BASE.replace("initial_people = 150", "initial_people = 5000").replace(
        "max_people = 600", "max_people = 6000"
    )
    found = _advice(text)
    assert len(found) == 1 and found[0].startswith("sites:") and "crowded" in found[0]


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        ('type = "close_site"\nstart = 2025-06-01\nsite = "central_park"', "already closed"),
        ('type = "open_site"\nstart = 2024-06-01\nsite = "main_square"', "already open"),
        ('type = "open_service"\nstart = 2024-06-01\nservice = "east_dropin"', "already open"),
        ('type = "resize_service"\nstart = 2024-06-01\nservice = "east_dropin"\nstaff = 2',
         "values it already has"),
        ('type = "police_plan"\nstart = 2025-02-01\nsites = ["central_park"]\n'
         'mode = "continuous_patrol"\nofficers = 2', "nobody is there to meet"),
    ],
)  # fmt: skip
def test_interventions_that_change_nothing(extra, needle):
    found = _advice(BASE + "\n[[interventions]]\n" + extra + "\n")
    assert len(found) == 1 and found[0].startswith("interventions[1]:"), found
    assert needle in found[0]


def test_a_plan_on_a_place_that_reopens_is_not_a_no_op():
    text = BASE + (
        '\n[[interventions]]\ntype = "open_site"\nstart = 2025-06-01\nsite = "central_park"\n'
        '\n[[interventions]]\ntype = "police_plan"\nstart = 2025-02-01\nsites = ["central_park"]\n'
        'mode = "continuous_patrol"\nofficers = 2\n'
    )
    assert _advice(text) == []


def test_windows_cut_by_until():
    text = BASE + ("\n[survey]\nstart = 2026-01-01\nend = 2026-06-30\ntarget_n = 50\n")
    found = _advice(text, dt.date(2024, 12, 31))
    assert any(f.startswith("survey:") and "no survey table" in f for f in found)
    assert any(f.startswith("interventions:") and "after the run stops" in f for f in found)
    assert _advice(text) == []


def test_warnings_are_printed_by_validate_and_run_and_listed_in_the_summary(
    tmp_path, monkeypatch, capsys
):
    import json

    monkeypatch.chdir(tmp_path)
    Path("town.toml").write_text(
        BASE.replace("lat = 60.3874\nlon = 5.3392", "lat = 60.4500\nlon = 5.3392")
    )
    assert main(["validate", "town.toml"]) == 0
    captured = capsys.readouterr()
    assert "town.toml: valid" in captured.out
    assert "town.toml: warning: services[0]:" in captured.err
    assert main(["run", "town.toml", "--out", "o", "--until", "2024-01-10", "--quiet"]) == 0
    assert "town.toml: warning: services[0]:" in capsys.readouterr().err
    summary = json.loads(Path("o/summary.json").read_text())
    assert [w["path"] for w in summary["warnings"]][:1] == ["services[0]"]


def test_warnings_are_shown_in_the_report(tmp_path):
    from scenelab.runs import run_to_directory

    text = BASE.replace("lat = 60.3874\nlon = 5.3392", "lat = 60.4500\nlon = 5.3392")
    path = tmp_path / "town.toml"
    path.write_text(text.replace("<", "&lt;"))
    run_to_directory(path, tmp_path / "o", until=dt.date(2024, 1, 10), progress=False)
    html = (tmp_path / "o" / "report.html").read_text()
    assert "Warnings about the scenario" in html and "services[0]: the drop-in centre" in html


def test_compare_writes_every_table_run_writes_including_the_survey(tmp_path):
    import pandas as pd

    from scenelab.compare import compare_to_directory

    town = tmp_path / "town.toml"
    town.write_text(BASE + "\n[survey]\nstart = 2024-01-15\nend = 2024-02-15\ntarget_n = 30\n")
    variant = tmp_path / "town-b.toml"
    variant.write_text(
        '[variant]\nbase = "town.toml"\ndrop_interventions = ["close_park"]\n'
        '[scenario]\nname = "town-b"\ntitle = "Town B"\n'
    )
    out = tmp_path / "cmp"
    compare_to_directory([town, variant], out, replicates=2, progress=False, until="2024-02-29")
    for name in ("site_day.parquet", "neighbourhood_month.parquet", "city_day.parquet"):
        assert set(pd.read_parquet(out / name)["scenario"]) == {"town", "town-b"}, name
    survey = pd.read_csv(out / "survey.csv")
    assert set(survey["scenario"]) == {"town", "town-b"} and set(survey["replicate"]) == {0, 1}
