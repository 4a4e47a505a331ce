"""docs/tutorial.md, end to end: new -> edit -> validate -> run -> variant -> compare."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest

from scenelab.cli import main

DOC = Path(__file__).resolve().parents[1] / "docs" / "tutorial.md"


def _toml_blocks() -> list[str]:
    return re.findall(r"```toml\n(.*?)```", DOC.read_text("utf-8"), flags=re.S)


@pytest.mark.slow
def test_tutorial_commands_work_in_order(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    variant, room = _toml_blocks()

    # 1. the template, valid as written
    assert main(["new", "mytown", "--title", "Mytown: closing the central park"]) == 0
    assert main(["validate", "mytown.toml"]) == 0
    assert "mytown.toml: valid (5 sites, 1 interventions)" in capsys.readouterr().out

    # 2. a scripted edit: an out-of-range value is refused naming the key, then fixed
    text = Path("mytown.toml").read_text("utf-8")
    Path("mytown.toml").write_text(text.replace("concealment = 0.5", "concealment = 1.5", 1))
    assert main(["validate", "mytown.toml"]) == 1
    assert "mytown.toml: sites[0].concealment: Input should be less than or equal to 1" in (
        capsys.readouterr().err
    )
    services_end = text.index("# -- The strategy")
    text = text[:services_end] + room + "\n" + text[services_end:]
    Path("mytown.toml").write_text(text.replace("concealment = 0.5", "concealment = 0.6", 1))
    assert main(["validate", "mytown.toml"]) == 0
    capsys.readouterr()

    # 3. run it
    until = "2025-02-28"
    assert main(["run", "mytown.toml", "--out", "out/mytown", "--replicates", "2",
                 "--until", until, "--quiet"]) == 0  # fmt: skip
    out = Path("out/mytown")
    site_day = pd.read_parquet(out / "site_day.parquet")
    assert set(site_day["site"]) == {
        "central_park", "main_square", "bus_station", "east_underpass", "east_street"
    }  # fmt: skip
    closed = site_day[(site_day["site"] == "central_park") & (site_day["date"] >= "2025-01-01")]
    assert closed["people_present"].sum() == 0  # the park is closed from 2025-01-01
    summary = json.loads((out / "summary.json").read_text())
    assert summary["replicates"] == 2 and summary["scenario"] == "mytown"
    assert (out / "report.html").exists()

    # 4.-5. a variant opening the room, compared with common random numbers
    Path("mytown-services.toml").write_text(variant)
    assert main(["validate", "mytown-services.toml"]) == 0
    assert main(["compare", "mytown.toml", "mytown-services.toml", "--out", "out/compare",
                 "--replicates", "2", "--until", until, "--quiet"]) == 0  # fmt: skip
    table = pd.read_csv("out/compare/compare.csv")
    assert set(table["scenario"]) == {"mytown", "mytown-services"}
    ref = table[table["scenario"] == "mytown"]
    assert (ref["diff"] == 0).all()  # the reference against itself, by construction
    arm = table[table["scenario"] == "mytown-services"].set_index("outcome")
    assert (arm["n"] == 2).all()
    # Common random numbers: before the room opens both strategies are the same city, so their
    # tables agree exactly up to 2024-12-31.
    sd = pd.read_parquet("out/compare/site_day.parquet")
    before = sd[sd["date"] < "2025-01-01"]
    own = ["scenario", "scenario_hash", "run_id"]
    a = before[before["scenario"] == "mytown"].drop(columns=own).reset_index(drop=True)
    b = before[before["scenario"] == "mytown-services"].drop(columns=own).reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b)
