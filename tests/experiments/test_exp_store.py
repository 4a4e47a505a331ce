"""The results database: provenance, exactly-once writes, schema version, export."""

import datetime as dt
import json

import duckdb
import pandas as pd
import pytest

from scenelab.experiments import SCHEMA_VERSION, ResultStore, StoreError, export_tables
from scenelab.experiments.store import StoredRun


def run(run_id="r1", status="ok", n_days=3, **kw):
    now = dt.datetime(2024, 1, 1, 12)
    table = pd.DataFrame(
        {
            "run_id": "model-own-id",
            "date": pd.date_range("2012-01-01", periods=n_days),
            "site": ["park"] * n_days,
            "people_present": [1.5] * n_days,
        }
    )
    fields = dict(
        run_id=run_id,
        experiment="e",
        arm="a",
        point=0,
        replicate=0,
        seed=11,
        scenario="bergen",
        scenario_ref="bergen",
        scenario_hash="abc",
        model="scenelab",
        model_config={"until": "2012-03-01"},
        params={"b_risk": 2.0},
        status=status,
        started_at=now,
        finished_at=now + dt.timedelta(seconds=2),
        worker="host:1",
        outcomes={"violence_per_day": 0.5, "people_present_mean": 30.0} if status == "ok" else {},
        tables={"site_day": table} if status == "ok" else {},
        summary={"periods": [{"start": "2012-01-01"}]},
    )
    fields.update(kw)
    return StoredRun(**fields)


def test_run_is_stored_with_provenance_and_tidy_tables(tmp_path):
    with ResultStore.in_dir(tmp_path) as store:
        assert store.write_run(run())
        row = store.query("SELECT * FROM runs").iloc[0]
        assert row["run_id"] == "r1" and row["status"] == "ok"
        assert json.loads(row["params"]) == {"b_risk": 2.0}
        assert json.loads(row["model_config"]) == {"until": "2012-03-01"}
        assert row["seed"] == 11 and row["scenario_hash"] == "abc"
        assert row["duration_s"] == pytest.approx(2.0)
        assert row["scenelab_version"] == "0.1.0"
        assert row["python_version"]
        outcomes = store.query("SELECT name, value FROM outcomes ORDER BY name")
        assert outcomes.to_dict("list") == {
            "name": ["people_present_mean", "violence_per_day"],
            "value": [30.0, 0.5],
        }
        site_day = store.query("SELECT * FROM site_day")
        assert list(site_day.columns)[0] == "run_id"
        assert set(site_day["run_id"]) == {"r1"}  # the store's run key replaces the model's id
        assert len(site_day) == 3
        meta = dict(store.con.execute("SELECT key, value FROM meta").fetchall())
        assert meta["schema_version"] == str(SCHEMA_VERSION)
        # JSON columns are queryable with SQL.
        assert store.query("SELECT params->>'b_risk' AS b FROM runs")["b"][0] == "2.0"


def test_a_run_is_never_stored_twice(tmp_path):
    with ResultStore.in_dir(tmp_path) as store:
        assert store.write_run(run())
        assert not store.write_run(run())
    with ResultStore.in_dir(tmp_path) as store:  # also after reopening
        assert not store.write_run(run())
        counts = store.query(
            "SELECT (SELECT count(*) FROM runs) r, (SELECT count(*) FROM outcomes) o, "
            "(SELECT count(*) FROM site_day) s"
        ).iloc[0]
        assert counts.tolist() == [1, 2, 3]
        with pytest.raises(duckdb.ConstraintException):
            store.con.execute(
                "INSERT INTO runs SELECT * FROM runs WHERE run_id = 'r1'"
            )  # the primary key is the backstop


def test_failed_run_is_replaced_by_its_retry(tmp_path):
    with ResultStore.in_dir(tmp_path) as store:
        assert store.write_run(run(status="failed", error="boom"))
        assert store.run_statuses() == {"r1": "failed"}
        assert store.write_run(run())
        assert store.run_statuses() == {"r1": "ok"}
        assert store.query("SELECT count(*) AS n FROM runs")["n"][0] == 1


def test_a_failing_write_leaves_no_partial_run(tmp_path):
    bad = run(
        tables={"site_day": pd.DataFrame({"date": [1]}), "Bad Name": pd.DataFrame({"x": [1]})}
    )
    with ResultStore.in_dir(tmp_path) as store:
        with pytest.raises(ValueError, match="invalid table or column name"):
            store.write_run(bad)
        assert store.run_statuses() == {}
        assert store.query("SELECT count(*) AS n FROM outcomes")["n"][0] == 0
        assert store.write_run(run())  # and the store is still usable


def test_new_columns_are_added_not_lost(tmp_path):
    extra = run("r2")
    extra.tables["site_day"]["overdoses"] = 1
    with ResultStore.in_dir(tmp_path) as store:
        store.write_run(run("r1"))
        store.write_run(extra)
        df = store.query("SELECT run_id, overdoses FROM site_day ORDER BY run_id")
        assert df.groupby("run_id")["overdoses"].first().isna().tolist() == [True, False]


def test_schema_version_mismatch_is_refused(tmp_path):
    with ResultStore.in_dir(tmp_path) as store:
        store.con.execute("UPDATE meta SET value = '999' WHERE key = 'schema_version'")
    with pytest.raises(StoreError, match="schema version 999"):
        ResultStore.in_dir(tmp_path)


def test_read_only_needs_an_existing_database(tmp_path):
    with pytest.raises(StoreError, match="no results database"):
        ResultStore.in_dir(tmp_path / "nothing", read_only=True)


def test_export_to_parquet_round_trips(tmp_path):
    with ResultStore.in_dir(tmp_path) as store:
        store.write_run(run("r1"))
        store.write_run(run("r2", seed=12))
    paths = export_tables(tmp_path, fmt="parquet")
    names = sorted(p.name for p in paths)
    assert names == [
        "experiments.parquet",
        "meta.parquet",
        "outcomes.parquet",
        "runs.parquet",
        "site_day.parquet",
    ]
    runs = pd.read_parquet(tmp_path / "parquet" / "runs.parquet")
    assert sorted(runs["seed"]) == [11, 12]
    assert len(pd.read_parquet(tmp_path / "parquet" / "site_day.parquet")) == 6
    with pytest.raises(ValueError, match="valid choices: parquet, csv"):
        export_tables(tmp_path, fmt="xlsx")
    with pytest.raises(ValueError, match="unknown table.*valid choices"):
        export_tables(tmp_path, tables=["nope"])
    (csv,) = export_tables(tmp_path, fmt="csv", tables=["outcomes"])
    assert len(pd.read_csv(csv)) == 4


def test_a_second_writer_is_refused_with_a_clear_message(tmp_path):
    import subprocess
    import sys

    ResultStore.in_dir(tmp_path).close()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time, duckdb; con = duckdb.connect(sys.argv[1]); "
            "print('locked', flush=True); time.sleep(60)",
            str(tmp_path / "experiment.duckdb"),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(StoreError, match="is another experiment running into this directory"):
            ResultStore.in_dir(tmp_path)
    finally:
        holder.kill()
        holder.wait()
