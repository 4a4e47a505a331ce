"""Strategy search on a real (small) city: run, front, export, and the export re-runs the same."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pymoo")
pytest.importorskip("duckdb")

import scenelab  # noqa: E402
from scenelab.experiments.design import replicate_seeds  # noqa: E402
from scenelab.experiments.optimize import run_optimize  # noqa: E402
from scenelab.experiments.optimize_model import window_outcomes  # noqa: E402
from scenelab.experiments.optimize_report import EXPORT_HEADER, export_point, front  # noqa: E402
from scenelab.experiments.optimize_spec import load_optimize, parse_optimize  # noqa: E402
from scenelab.experiments.store import ResultStore  # noqa: E402
from scenelab.outputs import OutputError  # noqa: E402

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "experiments"


@pytest.mark.slow
def test_small_city_search_exports_a_strategy_that_reproduces(tmp_path, dask_client):
    spec = load_optimize(EXAMPLES / "small_city_optimize.toml")
    o = spec.optimize
    out = tmp_path / "search"
    result = run_optimize(spec, out, client=dask_client, progress=False, echo=lambda m: None)
    fr, every, _ = front(out)
    assert result.generations == o.generations and len(every) == result.evaluated >= 2
    assert 1 <= len(fr) <= len(every)
    # every strategy has all three objectives over both replicates
    assert (every[["total_harm_n", "deprived_share_n", "scene_size_n"]] == o.replicates).all().all()

    best = fr.loc[fr["total_harm"].idxmin()]
    target = export_point(out, int(best["point"]), tmp_path / "best.toml")
    assert target.read_text(encoding="utf-8").splitlines()[0] == EXPORT_HEADER
    scn = scenelab.load_scenario(target)  # a valid scenario file, loaded like any other
    assert scn.scenario_hash == best["scenario_hash"]

    # Re-run the exported file with scenelab.run and the search's seeds (common random numbers):
    # the objective lands in its stored interval (and is in fact the same, run by run).
    seeds = replicate_seeds(o.seed, o.replicates)
    again = [
        window_outcomes(scn, scenelab.run(scn, seed=s, until=o.until, replicate=r), o.start)
        for r, s in enumerate(seeds)
    ]
    harm = [a["window_harm"] for a in again]
    assert best["total_harm_low"] <= float(np.mean(harm)) <= best["total_harm_high"]
    with ResultStore.in_dir(out, read_only=True) as store:
        stored = store.query(
            'SELECT "values" FROM strategy_objectives WHERE candidate = ? AND objective = ?',
            [best["candidate"], "total_harm"],
        )["values"][0]
    assert harm == pytest.approx(json.loads(stored), rel=1e-9)

    # An export never overwrites a file scenelab did not write; its own it may.
    mine = tmp_path / "notes.toml"
    mine.write_text("my own notes\n", encoding="utf-8")
    with pytest.raises(OutputError, match="not written by scenelab"):
        export_point(out, 1, mine)
    assert mine.read_text(encoding="utf-8") == "my own notes\n"
    export_point(out, int(best["point"]), target)
    with pytest.raises(ValueError, match="the front has points 1 to"):
        export_point(out, len(fr) + 1)


@pytest.mark.slow
def test_a_constraint_keeps_infeasible_strategies_off_the_front(tmp_path, dask_client):
    data = load_optimize(EXAMPLES / "small_city_optimize.toml").model_dump(
        mode="python", exclude_defaults=True
    )
    data["optimize"]["scenario"] = str(EXAMPLES.parent / "small_city.toml")
    data["optimize"].update(generations=1, replicates=1)
    data["constraints"] = [{"objective": "scene_size", "max": 25.0}]
    spec = parse_optimize(data, "constrained.toml")
    run_optimize(spec, tmp_path / "c", client=dask_client, progress=False, echo=lambda m: None)
    fr, every, _ = front(tmp_path / "c")
    assert (every["feasible"] == (every["scene_size"] <= 25.0)).all()
    assert (fr["scene_size"] <= 25.0).all()


@pytest.mark.slow
def test_killed_search_resumes_to_the_same_front(tmp_path, dask_client):
    """SIGKILL the whole `scenelab optimize` process group mid-search, re-run: same result."""
    import os
    import signal
    import subprocess
    import sys
    import time

    text = (EXAMPLES / "zdt1_optimize.toml").read_text(encoding="utf-8")
    text = text.replace("generations = 15", "generations = 6").replace(
        "batch_size = 20", "batch_size = 1"
    )
    path = tmp_path / "zdt1.toml"
    path.write_text(text.replace("population_size = 20", "population_size = 8"), "utf-8")
    out = tmp_path / "killed"
    log_path = tmp_path / "cli.log"
    cmd = [sys.executable, "-m", "scenelab", "optimize", str(path), "--out", str(out)]
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [*cmd, "--workers", "1", "--no-progress"],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 300
            while "generation 3/6" not in log_path.read_text():
                assert proc.poll() is None, log_path.read_text()
                assert time.monotonic() < deadline, "no progress"
                time.sleep(0.05)
            time.sleep(0.5)
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
    quiet = {"client": dask_client, "progress": False, "echo": lambda m: None}
    resumed = run_optimize(load_optimize(path), out, **quiet)
    assert resumed.runs_reused >= 16  # two whole generations at least were not redone
    whole = run_optimize(load_optimize(path), tmp_path / "whole", **quiet)
    fr, every, _ = front(out)
    fr2, every2, _ = front(tmp_path / "whole")
    assert sorted(every["candidate"]) == sorted(every2["candidate"])
    assert list(fr["candidate"]) == list(fr2["candidate"])
    assert resumed.runs_new + resumed.runs_reused == whole.runs_new + whole.runs_reused
    with ResultStore.in_dir(out, read_only=True) as store:
        ids = store.query("SELECT run_id FROM runs")["run_id"]
    assert ids.is_unique and len(ids) == whole.runs_new
