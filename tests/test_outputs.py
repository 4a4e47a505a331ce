"""Outputs of `scenelab run`: the files, their provenance, and no half-written leftovers."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from scenelab import runs
from scenelab.cli import main


def test_run_writes_tables_summary_and_report(tmp_path):
    out = tmp_path / "bergen"
    assert (
        main(
            [
                "run",
                "bergen",
                "--out",
                str(out),
                "--until",
                "2012-02-15",
                "--seed",
                "3",
                "--replicates",
                "2",
                "--quiet",
            ]
        )
        == 0
    )
    site_day = pd.read_parquet(out / "site_day.parquet")
    assert sorted(site_day["replicate"].unique()) == [0, 1]
    assert site_day["date"].max() == pd.Timestamp("2012-02-15")
    summary = json.loads((out / "summary.json").read_text())
    for key in (
        "scenelab_version",
        "git_revision",
        "scenario_hash",
        "run_ids",
        "window",
        "wall_time_seconds",
        "outcomes",
        "periods_by_replicate",
        "equity_by_period",
    ):
        assert key in summary, key
    assert summary["seed"] == 3 and summary["replicates"] == 2
    assert summary["window"] == {"start": "2012-01-01", "end": "2012-02-15"}
    mean = summary["outcomes"]["people_present_mean"]
    assert mean["min"] <= mean["mean"] <= mean["max"]
    assert (out / "report.html").stat().st_size > 20_000  # loads plotly.min.js beside it
    assert (out / "plotly.min.js").stat().st_size > 1_000_000


def test_interrupted_run_leaves_nothing_behind(tmp_path, monkeypatch):
    out = tmp_path / "run"

    def boom(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(runs, "_add_optional_sections", boom)
    with pytest.raises(KeyboardInterrupt):
        runs.run_to_directory(
            "bergen", out, until=pd.Timestamp("2012-01-10").date(), progress=False
        )
    assert list(tmp_path.iterdir()) == []


def test_failed_rerun_keeps_previous_output(tmp_path, monkeypatch):
    out = tmp_path / "run"
    runs.run_to_directory(
        "bergen", out, until=pd.Timestamp("2012-01-10").date(), progress=False, report=False
    )
    before = (out / "site_day.parquet").read_bytes()
    monkeypatch.setattr(
        runs,
        "_add_optional_sections",
        lambda *a, **k: (_ for _ in ()).throw(RuntimeError("disk full")),
    )
    with pytest.raises(RuntimeError):
        runs.run_to_directory(
            "bergen", out, until=pd.Timestamp("2012-01-20").date(), progress=False
        )
    assert (out / "site_day.parquet").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


def test_cli_lists_and_shows_builtins(capsys):
    assert main(["scenarios"]) == 0
    listing = capsys.readouterr().out
    assert "bergen-harm-reduction" in listing
    assert main(["show", "bergen"]) == 0
    assert "[[sites]]" in capsys.readouterr().out
    assert main(["phases"]) == 0
    phases = capsys.readouterr().out.splitlines()
    assert phases[0].split()[1] == "interventions" and phases[-1].split()[1] == "record"
    assert main(["show", "oslo"]) == 2
    assert "not a built-in scenario" in capsys.readouterr().err
