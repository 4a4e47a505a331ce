"""The experiments layer on the real model seam (short Bergen window, two workers)."""

import datetime as dt
import logging

import pandas as pd
import pytest
from distributed import Client, LocalCluster

import scenelab
from scenelab.experiments import (
    ResultStore,
    SpecError,
    parse_experiment,
    plan_experiment,
    run_experiment,
)

UNTIL = "2012-02-15"


def bergen_spec(replicates=2):
    return parse_experiment(
        {
            "experiment": {
                "name": "bergen-short",
                "model": "scenelab",
                "seed": 2012,
                "replicates": replicates,
                "until": dt.date.fromisoformat(UNTIL),
            },
            "arms": [
                {"name": "baseline", "scenario": "bergen"},
                {"name": "risk-averse", "scenario": "bergen", "overrides": {"b_risk": 4.0}},
            ],
        },
        "bergen-short.toml",
    )


def test_real_parameters_are_checked_with_choices():
    data = bergen_spec().model_dump()
    data["arms"][1]["overrides"] = {"b_rsik": 4.0}
    with pytest.raises(SpecError) as info:
        plan_experiment(parse_experiment(data, "bergen-short.toml"))
    (path, msg), *_ = info.value.problems
    assert path == "arms[1].overrides.b_rsik"
    assert "did you mean 'b_risk'?" in msg and "controls_per_officer_hour" in msg


@pytest.mark.slow
def test_bergen_runs_are_stored_with_tidy_tables_and_match_a_direct_run(tmp_path, dask_client):
    spec = bergen_spec()
    result = run_experiment(spec, tmp_path, client=dask_client, progress=False)
    assert result.complete and result.completed == 4, result.failures
    scn = scenelab.load_scenario("bergen")
    with ResultStore.in_dir(tmp_path, read_only=True) as store:
        runs = store.query("SELECT * FROM runs ORDER BY replicate, arm")
        assert set(runs["scenario_hash"]) == {scn.scenario_hash}
        assert runs.groupby("replicate")["seed"].nunique().eq(1).all()  # CRN
        assert set(runs["model_config"]) == {f'{{"until": "{UNTIL}"}}'}
        n_days = (pd.Timestamp(UNTIL) - pd.Timestamp(scn.run.start)).days + 1
        per_run = store.query("SELECT run_id, count(DISTINCT date) AS d FROM site_day GROUP BY 1")
        assert len(per_run) == 4 and (per_run["d"] == n_days).all()
        nm = store.query("SELECT DISTINCT run_id FROM neighbourhood_month")
        assert len(nm) == 4
        row = runs[(runs.arm == "risk-averse") & (runs.replicate == 1)].iloc[0]
        stored = store.query(
            "SELECT * EXCLUDE (run_id) FROM site_day WHERE run_id = ? ORDER BY date, site",
            [row["run_id"]],
        )
        outcomes = dict(
            store.con.execute(
                "SELECT name, value FROM outcomes WHERE run_id = ?", [row["run_id"]]
            ).fetchall()
        )
    direct = scenelab.run(
        scn, seed=int(row["seed"]), overrides={"b_risk": 4.0}, until=UNTIL, replicate=1
    )
    expected = direct.site_day.drop(columns="run_id").sort_values(["date", "site"])
    pd.testing.assert_frame_equal(
        stored.reset_index(drop=True),
        expected.reset_index(drop=True),
        check_dtype=False,
    )
    assert outcomes == pytest.approx(direct.outcomes)


@pytest.mark.slow
def test_bergen_same_results_on_one_or_two_workers(tmp_path, dask_client):
    spec = bergen_spec(replicates=1)
    run_experiment(spec, tmp_path / "two", client=dask_client, progress=False)
    with (
        LocalCluster(
            n_workers=1,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address="127.0.0.1:0",
            silence_logs=logging.CRITICAL,
        ) as cluster,
        Client(cluster) as client,
    ):
        run_experiment(spec, tmp_path / "one", client=client, progress=False)
    frames = []
    for sub in ("one", "two"):
        with ResultStore.in_dir(tmp_path / sub, read_only=True) as store:
            frames.append(store.query("SELECT * FROM site_day ORDER BY run_id, date, site"))
    assert len(frames[0]) > 0
    pd.testing.assert_frame_equal(frames[0], frames[1])
