"""Running experiments on Dask: every run stored once, resumable, worker-count invariant."""

import json
import logging
import os
import signal

import pytest
from distributed import Client, LocalCluster

from scenelab.experiments import ResultStore, parse_experiment, plan_experiment, run_experiment


def stored(out_dir, sql):
    with ResultStore.in_dir(out_dir, read_only=True) as store:
        return store.query(sql)


def test_experiment_stores_every_run_once_with_common_random_numbers(
    tmp_path, dask_client, toy_spec
):
    spec = toy_spec(replicates=3, n=4)
    seen = []
    result = run_experiment(
        spec,
        tmp_path,
        client=dask_client,
        progress=False,
        on_run=lambda rec, done, total: seen.append((done, total)),
    )
    assert (result.total, result.completed, result.skipped, result.failed) == (24, 24, 0, 0)
    assert seen[-1] == (24, 24) and len(seen) == 24
    runs = stored(tmp_path, "SELECT * FROM runs")
    assert len(runs) == 24 and runs["run_id"].is_unique
    assert set(runs["status"]) == {"ok"}
    assert runs.groupby("replicate")["seed"].nunique().eq(1).all()  # CRN: one seed per replicate
    assert runs["seed"].nunique() == 3
    outcomes = stored(tmp_path, "SELECT count(*) AS n, count(DISTINCT run_id) AS r FROM outcomes")
    assert outcomes.iloc[0].tolist() == [24 * 3, 24]
    # Under CRN the two arms see the same normal draws (lam does not touch them).
    wide = stored(
        tmp_path,
        "SELECT r.arm, r.point, r.replicate, o.value FROM runs r JOIN outcomes o USING (run_id) "
        "WHERE o.name = 'normal_mean'",
    ).pivot_table(index=["point", "replicate"], columns="arm", values="value")
    assert (wide["low"] == wide["high"]).all()
    status = json.loads((tmp_path / "status.json").read_text())
    assert status["state"] == "done" and status["stored"] == 24

    again = run_experiment(spec, tmp_path, client=dask_client, progress=False)
    assert (again.completed, again.skipped) == (0, 24)
    assert len(stored(tmp_path, "SELECT run_id FROM runs")) == 24


def test_adding_replicates_runs_only_the_new_ones(tmp_path, dask_client, toy_spec):
    run_experiment(toy_spec(replicates=1, n=3), tmp_path, client=dask_client, progress=False)
    first = stored(tmp_path, "SELECT run_id, stored_at FROM runs")
    more = run_experiment(toy_spec(replicates=2, n=3), tmp_path, client=dask_client, progress=False)
    assert (more.skipped, more.completed) == (6, 6)
    after = stored(tmp_path, "SELECT run_id, stored_at FROM runs")
    kept = after.merge(first, on="run_id", suffixes=("", "_before"))
    assert len(kept) == 6 and (kept["stored_at"] == kept["stored_at_before"]).all()


def test_model_errors_fail_only_their_runs_and_are_retried(tmp_path, dask_client, toy_spec):
    arms = [
        {"name": "ok", "scenario": "toy", "overrides": {"lam": 2.0}},
        {"name": "bad", "scenario": "toy", "overrides": {"lam": -1.0}},  # numpy: lam < 0
    ]
    spec = toy_spec(replicates=2, n=2, arms=arms)
    result = run_experiment(spec, tmp_path, client=dask_client, progress=False)
    assert (result.completed, result.failed) == (4, 4) and not result.complete
    assert all("lam" in line for _, line in result.failures)
    runs = stored(tmp_path, "SELECT arm, status, error FROM runs")
    assert runs.groupby("arm")["status"].unique().map(list).to_dict() == {
        "bad": ["failed"],
        "ok": ["ok"],
    }
    assert runs.loc[runs.arm == "bad", "error"].str.contains("ValueError").all()
    retry = run_experiment(spec, tmp_path, client=dask_client, progress=False)
    assert (retry.skipped, retry.completed, retry.failed) == (4, 0, 4)
    assert len(stored(tmp_path, "SELECT * FROM runs")) == 8  # replaced, not duplicated


def test_batches_and_store_tables_option(tmp_path, dask_client):
    spec = parse_experiment(
        {
            "experiment": {"name": "b", "model": "linear", "batch_size": 7},
            "arms": [{"name": "a", "scenario": "x"}],
            "design": {"kind": "lhs", "n": 20, "parameters": {"a": {}, "b": {}}},
        }
    )
    result = run_experiment(spec, tmp_path, client=dask_client, progress=False)
    assert result.completed == 20
    values = stored(
        tmp_path,
        "SELECT r.params, o.value FROM runs r JOIN outcomes o USING (run_id) WHERE o.name = 'y'",
    )
    for params, value in zip(values["params"], values["value"], strict=True):
        p = json.loads(params)
        assert value == pytest.approx(10 * p["a"] + 1 * p["b"] + 0 * 0.5)


def _toy_cluster(n):
    return LocalCluster(
        n_workers=n,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address="127.0.0.1:0",
        silence_logs=logging.CRITICAL,
    )


@pytest.mark.slow
def test_killed_worker_loses_nothing_and_duplicates_nothing(tmp_path, toy_spec):
    spec = toy_spec("kill", replicates=5, n=3, work=0.15)  # 30 runs of ~0.15 s CPU each
    total = len(plan_experiment(spec).tasks)
    killed = []
    with _toy_cluster(2) as cluster, Client(cluster) as client:
        pids = set(client.run(os.getpid).values())

        def kill_one(rec, done, total):
            # Kill the worker that has just finished a run, so the victim provably did
            # work before it died (killing a fixed pid raced: the other worker could take
            # the first runs, and the test then failed in CI).
            victim = int(rec.worker.split(":")[1])
            if done >= 6 and not killed and victim in pids:
                os.kill(victim, signal.SIGKILL)
                killed.append(victim)

        result = run_experiment(
            spec, tmp_path, client=client, progress=False, on_run=kill_one, max_in_flight=8
        )
        assert killed, "the worker was never killed"
        assert result.complete and result.failed == 0
    runs = stored(tmp_path, "SELECT run_id, worker, status FROM runs")
    assert len(runs) == total and runs["run_id"].is_unique
    workers = {w.split(":")[1] for w in runs["worker"]}
    assert str(killed[0]) in workers  # some runs were done by the worker that died...
    assert len(workers) >= 2
    counts = stored(tmp_path, "SELECT count(*) AS n, count(DISTINCT run_id) AS d FROM outcomes")
    assert counts.iloc[0].tolist() == [total * 3, total]


@pytest.mark.slow
def test_same_seeds_same_results_on_one_or_two_workers(tmp_path, toy_spec):
    spec = toy_spec("workers", replicates=3, n=4, work=0.01)
    tables = []
    for n in (1, 2):
        with _toy_cluster(n) as cluster, Client(cluster) as client:
            run_experiment(spec, tmp_path / str(n), client=client, progress=False)
        tables.append(
            stored(
                tmp_path / str(n),
                "SELECT run_id, name, value FROM outcomes ORDER BY run_id, name",
            )
        )
        workers = stored(tmp_path / str(n), "SELECT DISTINCT worker FROM runs")
        assert len(workers) == n
    assert len(tables[0]) == 24 * 3
    assert tables[0].equals(tables[1])
