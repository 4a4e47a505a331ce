"""ABC-SMC calibration recovers known parameters of a toy simulator (same calibrate path)."""

import json
import os
import re
import signal
import time
from pathlib import Path

import pandas as pd
import pytest

from scenelab.experiments import load_calibration
from scenelab.experiments.calibrate import calibrate
from scenelab.experiments.posterior import weighted_quantile

EXAMPLE = Path(__file__).resolve().parents[2] / "examples/experiments/toy_calibration.toml"


def test_weighted_quantile():
    assert weighted_quantile([1.0, 2.0, 3.0], [1, 1, 1], 0.5) == 2.0
    assert weighted_quantile([1.0, 2.0, 3.0], [0, 0, 1], 0.5) == 3.0
    assert weighted_quantile([3.0, 1.0], [1, 3], 0.25) == pytest.approx(1.0)


@pytest.mark.statistical
@pytest.mark.slow
def test_abc_recovers_known_parameters(tmp_path, dask_client):
    # Truth: mu = 1.5, lam = 4.0. Each statistic is a mean of 200 draws (standard errors
    # 0.07 and 0.14), so the exact posterior sds are about that; ABC stops at epsilon 1
    # (about one scale per statistic). Tolerances: |mean - truth| < 0.2 for mu and < 0.4
    # for lam, and the posterior at least 10x narrower than the prior.
    spec = load_calibration(EXAMPLE)
    result = calibrate(spec, tmp_path, client=dask_client, echo=lambda _msg: None)
    s = result.summary.set_index("parameter")
    assert abs(s.loc["mu", "mean"] - 1.5) < 0.2
    assert abs(s.loc["lam", "mean"] - 4.0) < 0.4
    assert s.loc["mu", "q05"] < 1.5 < s.loc["mu", "q95"]
    assert s.loc["lam", "q05"] < 4.0 < s.loc["lam", "q95"]
    prior_sd_mu, prior_sd_lam = 10 / 12**0.5, 9.5 / 12**0.5
    assert s.loc["mu", "sd"] < prior_sd_mu / 10 and s.loc["lam", "sd"] < prior_sd_lam / 10
    assert result.posterior["weight"].sum() == pytest.approx(1.0)
    assert len(result.posterior) == spec.calibration.population_size
    assert result.epsilons == sorted(result.epsilons, reverse=True)

    check = result.check.set_index("statistic")
    assert check["target_in_90pct_interval"].all()
    assert (check["n_runs"] == spec.calibration.posterior_predictive).all()

    for name in (
        "posterior.csv",
        "posterior_summary.csv",
        "posterior_predictive.csv",
        "predictive_check.csv",
        "calibration.db",
        "calibration.html",
        "calibration_summary.json",
    ):
        assert (tmp_path / name).exists(), name
    assert len(pd.read_csv(tmp_path / "posterior.csv")) == spec.calibration.population_size
    html = (tmp_path / "calibration.html").read_text()
    assert not re.search(r"<script[^>]*\bsrc=", html) and "Posterior predictive check" in html
    import pyabc

    history = pyabc.History(f"sqlite:///{tmp_path / 'calibration.db'}")
    assert history.max_t + 1 == result.generations
    # Where the time went: every step once, none negative, together no more than the whole.
    steps = json.loads((tmp_path / "calibration_summary.json").read_text())["steps"]
    assert list(steps) == [
        "setup_and_pilot_s",
        "before_pyabc_s",
        "pyabc_s",
        "posterior_read_s",
        "predictive_runs_s",
        "sampler_closed_s",
        "report_s",
    ]
    assert min(steps.values()) >= 0.0
    assert sum(steps.values()) <= result.elapsed_s


def test_calibration_checks_names_before_running(tmp_path):
    from scenelab.experiments import SpecError, parse_calibration

    spec = parse_calibration(
        {
            "calibration": {"name": "c", "model": "toy", "scenario": "toy"},
            "parameters": {"muu": {}},
            "targets": {"normal_mean": {"value": 1.0}},
        },
        "cal.toml",
    )
    with pytest.raises(SpecError, match=r"cal.toml: parameters.muu: unknown parameter"):
        calibrate(spec, tmp_path, client=object())
    unknown_target = parse_calibration(
        {
            "calibration": {"name": "c", "model": "toy", "scenario": "toy"},
            "parameters": {"mu": {}},
            "targets": {"normal_men": {"value": 1.0}},
        },
        "cal.toml",
    )
    with pytest.raises(SpecError) as info:
        calibrate(unknown_target, tmp_path, client=object())
    assert info.value.problems == [
        (
            "targets.normal_men",
            "the model produces no such outcome; valid choices: normal_mean, poisson_mean, "
            "poisson_var",
        )
    ]
    assert not (tmp_path / "calibration.db").exists()  # nothing ran
    with pytest.raises(SpecError, match="targets: .*at least 1"):
        parse_calibration(
            {"calibration": {"name": "c"}, "parameters": {"mu": {}}, "targets": {}}, "cal.toml"
        )


@pytest.mark.slow
def test_rerun_resumes_the_stored_calibration(tmp_path, dask_client):
    """Re-running continues pyabc's stored run: kept generations are not re-simulated."""
    import pyabc

    spec = load_calibration(EXAMPLE)

    def with_settings(**changes):
        data = spec.model_dump(mode="json")
        data["calibration"].update(changes)
        return type(spec).model_validate(data)

    small = {"population_size": 40, "posterior_predictive": 5, "min_epsilon": 0.0}
    db_url = f"sqlite:///{tmp_path / 'calibration.db'}"
    messages: list[str] = []

    first = calibrate(
        with_settings(max_generations=2, **small), tmp_path, client=dask_client, echo=lambda m: None
    )
    history = pyabc.History(db_url)
    kept = history.get_distribution(m=0, t=1)[0].reset_index(drop=True)
    assert first.generations == 2 and len(history.all_runs()) == 1

    # Raising the cap (as after an interruption or a time limit) continues the same run.
    second = calibrate(
        with_settings(max_generations=3, **small),
        tmp_path,
        client=dask_client,
        echo=messages.append,
    )
    history = pyabc.History(db_url)
    assert len(history.all_runs()) == 1
    assert second.generations == 3 and history.max_t == 2
    assert any("Resuming calibration run 1" in m for m in messages)
    pd.testing.assert_frame_equal(
        history.get_distribution(m=0, t=1)[0].reset_index(drop=True), kept
    )
    assert second.n_simulations > first.n_simulations

    # The same command again: the run met its cap, so nothing new is simulated.
    third = calibrate(
        with_settings(max_generations=3, **small), tmp_path, client=dask_client, echo=lambda m: None
    )
    assert third.n_simulations == second.n_simulations and third.generations == 3

    # A different target is a different calibration: a new run in the same database.
    data = with_settings(max_generations=1, **small).model_dump(mode="json")
    data["targets"]["normal_mean"]["value"] = 0.5
    calibrate(type(spec).model_validate(data), tmp_path, client=dask_client, echo=lambda m: None)
    assert len(pyabc.History(db_url).all_runs()) == 2


@pytest.mark.slow
def test_interrupted_calibration_continues_where_it_stopped(tmp_path):
    """Ctrl-C during a calibration keeps the finished generations; the same command continues."""
    import signal
    import sqlite3
    import subprocess
    import sys
    import time

    import pyabc

    spec = tmp_path / "cal.toml"
    spec.write_text(
        """
[calibration]
name = "interrupted"
model = "toy"
scenario = "toy"
population_size = 30
max_generations = 6
min_epsilon = 0.0
posterior_predictive = 5

[parameters]
mu = {}
lam = {}

[fixed]
work_seconds = 0.03       # slow enough to interrupt between generations

[targets]
normal_mean = { value = 1.5, scale = 0.1 }
poisson_mean = { value = 4.0, scale = 0.2 }
""",
        encoding="utf-8",
    )
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "scenelab", "calibrate", str(spec), "--out", str(out)]
    cmd += ["--workers", "1"]
    db_url = f"sqlite:///{out / 'calibration.db'}"

    def stored_generations() -> int:
        # Read-only and closed at once, so this poll never holds a lock the calibration's
        # writes wait on (pyabc's History would create tables and open a session).
        db = out / "calibration.db"
        if not db.exists():
            return 0
        try:
            con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1.0)
            try:
                (last,) = con.execute("SELECT MAX(t) FROM populations").fetchone()
            finally:
                con.close()
        except sqlite3.Error:  # not created yet, or locked by the writer
            return 0
        return 0 if last is None else int(last) + 1

    # SIGINT as in a terminal, even when this suite runs as a background job (which ignores it).
    proc = subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.monotonic() + 180
    while stored_generations() < 2 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    assert proc.poll() is None, "the calibration ended before it could be interrupted"
    proc.send_signal(signal.SIGINT)
    try:
        _, err = proc.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        # A hang after Ctrl-C is the failure: ask for every thread's stack (the CLI registers
        # SIGUSR1 with faulthandler), then kill, and show what the process said.
        proc.send_signal(signal.SIGUSR1)
        time.sleep(3)
        proc.kill()
        _, err = proc.communicate()
        pytest.fail(f"no exit within 120 s of Ctrl-C; stderr ends:\n{err[-3000:]}")
    assert proc.returncode != 0
    kept = stored_generations()
    assert 2 <= kept < 6, err
    first = pyabc.History(db_url).get_distribution(m=0, t=0)[0].reset_index(drop=True)

    again = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr
    assert f"Resuming calibration run 1 in calibration.db: {kept}" in again.stderr
    history = pyabc.History(db_url)
    assert len(history.all_runs()) == 1 and history.max_t == 5
    pd.testing.assert_frame_equal(
        history.get_distribution(m=0, t=0)[0].reset_index(drop=True), first
    )


class _FakeSampler:
    def __init__(self):
        self.calls = 0

    def sample_until_n_accepted(self, n, interrupt=False):
        self.calls += 1
        if interrupt:
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(1.0)  # the handler runs here, in the main thread
        return n


def test_ctrl_c_is_held_outside_sampling_and_immediate_inside():
    from scenelab.experiments.calibrate_stopping import InterruptOnlyWhileSampling

    # As in a terminal, whatever started this test run (a background job ignores SIGINT).
    outer = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        _check_ctrl_c_guard()
        # A process that ignores SIGINT keeps ignoring it: the guard installs nothing.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        sampler = _FakeSampler()
        with InterruptOnlyWhileSampling(sampler):
            assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
            assert sampler.sample_until_n_accepted(2) == 2
    finally:
        signal.signal(signal.SIGINT, outer)


def _check_ctrl_c_guard():
    from scenelab.experiments.calibrate_stopping import InterruptOnlyWhileSampling

    before = signal.getsignal(signal.SIGINT)
    sampler = _FakeSampler()
    # Inside a sampling: raised at once.
    with pytest.raises(KeyboardInterrupt), InterruptOnlyWhileSampling(sampler):
        sampler.sample_until_n_accepted(3, interrupt=True)
    assert signal.getsignal(signal.SIGINT) is before
    assert "sample_until_n_accepted" not in vars(sampler)  # the class's method again

    # Between samplings (e.g. while pyabc writes a generation): held until the next one begins.
    guard = InterruptOnlyWhileSampling(sampler)
    with pytest.raises(KeyboardInterrupt), guard:
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.5)
        assert guard.pending  # not raised yet: the write in progress finishes
        sampler.sample_until_n_accepted(3)
    assert sampler.calls == 1  # the held interrupt stopped the sampling before it ran

    # Held to the end of the run: raised when the guarded block ends.
    with pytest.raises(KeyboardInterrupt), InterruptOnlyWhileSampling(sampler):
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.5)
    assert signal.getsignal(signal.SIGINT) is before
