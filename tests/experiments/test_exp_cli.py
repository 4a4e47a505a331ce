"""The experiments CLI: resumable after Ctrl-C or a killed process; errors; export; short form."""

import json
import os
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest

from scenelab.experiments import ResultStore, load_experiment, plan_experiment, run_experiment
from scenelab.experiments.cli import main

EXPERIMENT = """
[experiment]
name = "cli-toy"
model = "toy"
seed = 9
replicates = 5

[[arms]]
name = "low"
scenario = "toy"
overrides = { lam = 2.0, work_seconds = 0.1 }

[[arms]]
name = "high"
scenario = "toy"
overrides = { lam = 6.0, work_seconds = 0.1 }

[design]
kind = "lhs"
n = 4

[design.parameters]
mu = { low = -1.0, high = 1.0 }
"""


def start_cli(tmp_path, out, replicates=5):
    path = tmp_path / "exp.toml"
    path.write_text(EXPERIMENT.replace("replicates = 5", f"replicates = {replicates}"))
    cmd = [sys.executable, "-m", "scenelab.experiments.cli", "experiment", str(path)]
    cmd += ["--out", str(out), "--workers", "2", "--no-progress"]
    log = open(tmp_path / "cli.log", "w")  # noqa: SIM115 - closed by the caller via the proc
    # SIGINT as in a terminal, even when this suite runs as a background job (which ignores it).
    proc = subprocess.Popen(
        cmd,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    return path, proc, log


def wait_for_stored(out, n, proc, timeout=90):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = out / "status.json"
        if status.exists():
            try:
                if json.loads(status.read_text())["stored"] >= n:
                    return
            except (json.JSONDecodeError, KeyError):
                pass
        assert proc.poll() is None, "the experiment ended before it could be interrupted"
        time.sleep(0.05)
    raise AssertionError("no progress")


def stored_runs(out):
    with ResultStore.in_dir(out, read_only=True) as store:
        return store.query("SELECT run_id, stored_at FROM runs")


@pytest.mark.slow
def test_killed_experiment_resumes_without_redoing_or_duplicating(tmp_path):
    out = tmp_path / "out"
    path, proc, log = start_cli(tmp_path, out)
    try:
        wait_for_stored(out, 4, proc)
        os.killpg(proc.pid, signal.SIGKILL)  # the client, its scheduler and its workers
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()
    total = len(plan_experiment(load_experiment(path)).tasks)
    before = stored_runs(out)
    assert 4 <= len(before) < total, (len(before), total)

    rerun = subprocess.run(
        [sys.executable, "-m", "scenelab.experiments.cli", "experiment", str(path)]
        + ["--out", str(out), "--workers", "2", "--no-progress"],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert rerun.returncode == 0, rerun.stderr
    assert f"{total} of {total} runs stored" in rerun.stdout
    assert f"{len(before)} already stored" in rerun.stdout
    after = stored_runs(out)
    assert len(after) == total and after["run_id"].is_unique
    kept = after.merge(before, on="run_id", suffixes=("", "_before"))
    assert len(kept) == len(before)
    assert (kept["stored_at"] == kept["stored_at_before"]).all()  # finished runs not redone


@pytest.mark.slow
def test_ctrl_c_stops_cleanly_and_the_rest_runs_later(tmp_path, dask_client):
    out = tmp_path / "out"
    path, proc, log = start_cli(tmp_path, out, replicates=10)
    try:
        wait_for_stored(out, 4, proc)
        os.kill(proc.pid, signal.SIGINT)
        code = proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()
    assert code == 130, (tmp_path / "cli.log").read_text()
    assert "run the same command again to resume" in (tmp_path / "cli.log").read_text()
    status = json.loads((out / "status.json").read_text())
    assert status["state"] == "interrupted"
    before = stored_runs(out)
    spec = load_experiment(path)
    total = len(plan_experiment(spec).tasks)
    assert 0 < len(before) < total
    result = run_experiment(spec, out, client=dask_client, progress=False)
    assert result.complete and result.skipped == len(before)
    after = stored_runs(out)
    assert len(after) == total and after["run_id"].is_unique


def test_bad_file_exits_2_with_path_and_choices(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text(
        '[experiment]\nname = "x"\nmodel = "toy"\n[[arms]]\nname = "a"\nscenario = "t"\n'
        '[design]\nkind = "sobol"\nn = 8\n[design.parameters]\nmu = { hi = 1 }\n'
    )
    code = main(["experiment", str(bad), "--out", str(tmp_path / "o"), "--no-progress"])
    assert code == 2
    err = capsys.readouterr().err
    assert "bad.toml: design.parameters.mu.hi: unknown key" in err
    assert "valid keys: high, levels, low, values" in err
    assert not (tmp_path / "o").exists()  # nothing ran


def test_export_command_writes_parquet(tmp_path, dask_client, capsys, toy_spec):
    run_experiment(toy_spec(replicates=1, n=2), tmp_path, client=dask_client, progress=False)
    assert main(["export", str(tmp_path), "--format", "parquet"]) == 0
    printed = capsys.readouterr().out.split()
    assert str(tmp_path / "parquet" / "runs.parquet") in printed
    assert len(pd.read_parquet(tmp_path / "parquet" / "outcomes.parquet")) == 4 * 3
    assert main(["export", str(tmp_path / "missing")]) == 2


@pytest.mark.slow
def test_sensitivity_short_form(tmp_path, capsys):
    code = main(
        ["sensitivity", "linear", "--model", "linear", "--method", "morris"]
        + ["--param", "a=0:1", "--param", "b", "--output", "y", "--n", "6"]
        + ["--out", str(tmp_path), "--workers", "1", "--no-progress"]
    )
    assert code == 0
    out = capsys.readouterr().out
    assert "mu_star" in out and str(tmp_path / "sensitivity.html") in out
    table = pd.read_csv(tmp_path / "sensitivity.csv")
    mu_star = table[table["index"] == "mu_star"].set_index("parameter")["value"]
    assert mu_star.to_dict() == pytest.approx({"a": 10.0, "b": 1.0})
    assert (
        main(
            [
                "sensitivity",
                "linear",
                "--model",
                "linear",
                "--param",
                "a=1",
                "--output",
                "y",
                "--out",
                str(tmp_path / "x"),
            ]
        )
        == 2
    )


def test_scheduler_option_sends_the_experiment_to_an_existing_cluster(
    tmp_path, dask_client, capsys
):
    path = tmp_path / "exp.toml"
    path.write_text(EXPERIMENT.replace("work_seconds = 0.1", "work_seconds = 0.0"))
    address = dask_client.scheduler.address
    argv = ["experiment", str(path), "--out", str(tmp_path / "o"), "--no-progress"]
    assert main([*argv, "--scheduler", address]) == 0
    captured = capsys.readouterr()
    assert f"Dask scheduler {address}: 2 workers" in captured.err
    assert "40 of 40 runs stored (40 new" in captured.out
    workers = {w["id"] for w in dask_client.scheduler_info()["workers"].values()}
    with ResultStore.in_dir(tmp_path / "o", read_only=True) as store:
        assert len(store.query("SELECT DISTINCT worker FROM runs")) == len(workers) == 2
