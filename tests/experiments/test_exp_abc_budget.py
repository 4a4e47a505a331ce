"""A generation stops at pyabc's budget of simulations (population / min_acceptance_rate).

pyabc's future-based samplers ignore the budget and sample until the population is full; the
thread sampler of ``scenelab.experiments.abc_sampler`` checks it, so a run whose acceptance rate
has fallen below ``min_acceptance_rate`` stops after at most the budget, with the last complete
generation as the posterior, and the stopping report says so.
"""

import threading
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from scenelab.experiments.abc_sampler import budgeted_dask_sampler, budgeted_thread_sampler
from scenelab.experiments.calibrate_resume import stored_unfinished
from scenelab.experiments.calibrate_stopping import stopping_rule

pyabc = pytest.importorskip("pyabc")

POP = 20
MIN_RATE = 0.2  # budget: POP / MIN_RATE = 100 simulations a generation
ACCEPT = 0.05  # generation 1 accepts about 5%: 20 accepted need about 400 simulations


def _uniform_model(_par: object) -> dict[str, float]:
    """A model whose output ignores the parameter (picklable, for Dask's worker processes)."""
    return {"x": float(np.random.default_rng().uniform())}


def _run(
    sampler: object, tmp_path, seed: int, model: object = None, eps: tuple = (1.0, ACCEPT)
) -> object:
    """Two generations: epsilon 1 accepts every draw, epsilon ACCEPT about 5% of them."""
    rng = np.random.default_rng(seed)
    lock = threading.Lock()

    def in_threads(_par: object) -> dict[str, float]:
        with lock:
            return {"x": float(rng.uniform())}

    model = model or in_threads

    abc = pyabc.ABCSMC(
        model,
        pyabc.Distribution(a=pyabc.RV("uniform", 0.0, 1.0)),
        lambda sim, obs: abs(sim["x"] - obs["x"]),
        population_size=POP,
        sampler=sampler,
        eps=pyabc.ListEpsilon(list(eps)),
    )
    abc.new(f"sqlite:///{tmp_path / f'abc{seed}.db'}", {"x": 0.0})
    return abc.run(max_nr_populations=2, min_acceptance_rate=MIN_RATE)


def test_a_generation_stops_at_its_budget_and_the_report_says_so(tmp_path):
    with ThreadPoolExecutor(2) as pool:
        budgeted = budgeted_thread_sampler()(
            pool, client_max_jobs=2, batch_size=1, default_pickle=False
        )
        history = _run(budgeted, tmp_path, seed=1)
    # Generation 0 is stored; generation 1 spent exactly its budget and is not.
    assert history.max_t == 0
    assert budgeted.unfinished["t"] == 1
    assert budgeted.unfinished["simulations"] == POP / MIN_RATE
    # 100 draws at 5%: P(20 or more accepted) is about 1e-7.
    assert budgeted.unfinished["accepted"] < POP
    cal = SimpleNamespace(
        min_epsilon=0.0,
        min_epsilon_diff=0.0,
        min_acceptance_rate=MIN_RATE,
        max_generations=10,
        max_simulations=None,
        max_walltime_minutes=None,
    )
    report = stopping_rule(history, cal, unfinished=budgeted.unfinished)
    assert report["stopped_by"] == "min_acceptance_rate" and report["converged"]
    assert report["unfinished_generation"]["acceptance_rate"] < MIN_RATE
    # Without the unfinished generation, the stored one (all accepted) meets no rule.
    assert stopping_rule(history, cal)["stopped_by"] is None


def test_the_first_generation_is_completed_past_its_budget(tmp_path):
    # Generation 0 accepts about 5% too: it needs about 400 simulations against a budget of 100,
    # and completes (a run needs a posterior); its rate then stops the run before generation 1.
    with ThreadPoolExecutor(2) as pool:
        budgeted = budgeted_thread_sampler()(
            pool, client_max_jobs=2, batch_size=1, default_pickle=False
        )
        history = _run(budgeted, tmp_path, seed=2, eps=(ACCEPT, ACCEPT))
    assert history.max_t == 0
    populations = history.get_all_populations()
    first = populations[populations["t"] == 0].iloc[0]
    assert first["particles"] == POP and first["samples"] > POP / MIN_RATE
    assert budgeted.unfinished is None


def test_on_dask_a_generation_stops_where_its_jobs_are_submitted(tmp_path, dask_client):
    sampler = budgeted_dask_sampler()(dask_client=dask_client, batch_size=1)
    history = _run(sampler, tmp_path, seed=3, model=_uniform_model)
    assert history.max_t == 0
    assert sampler.unfinished["t"] == 1
    assert sampler.unfinished["simulations"] == POP / MIN_RATE
    assert sampler.unfinished["accepted"] < POP
    # The sampler's own client is back after the sampling.
    assert sampler.client is dask_client


def test_pyabcs_own_thread_sampler_runs_past_the_budget(tmp_path):
    # Why the budget is checked here: the same run with pyabc's sampler fills generation 1,
    # about 400 simulations (P(20 accepted within 100) is about 1e-7).
    from pyabc.sampler import ConcurrentFutureSampler

    with ThreadPoolExecutor(2) as pool:
        plain = ConcurrentFutureSampler(pool, client_max_jobs=2, batch_size=1, default_pickle=False)
        history = _run(plain, tmp_path, seed=2)
    pops = history.get_all_populations()
    assert history.max_t == 1
    assert int(pops.loc[pops["t"] == 1, "samples"].iloc[0]) > POP / MIN_RATE


def test_a_resumed_run_finds_the_unfinished_generation_in_the_summary(tmp_path):
    summary = tmp_path / "calibration_summary.json"
    assert stored_unfinished(summary, 3) is None  # no summary yet
    pd.Series(
        {"stopping": {"unfinished_generation": {"t": 3, "simulations": 400, "accepted": 31}}}
    ).to_json(summary)
    assert stored_unfinished(summary, 3) == {"t": 3, "simulations": 400, "accepted": 31}
    # Only for the generation a resumed run would start next.
    assert stored_unfinished(summary, 4) is None
    summary.write_text("not json", encoding="utf-8")
    assert stored_unfinished(summary, 3) is None


@pytest.mark.slow
def test_a_calibration_stopped_at_its_budget_is_reported_and_resumed(tmp_path, dask_client):
    """End to end: the budget stops a generation; the same command reports it, a lower rate resumes.

    The toy simulator's acceptance falls as epsilon tightens, so with ``min_acceptance_rate``
    0.3 (a budget of 100 simulations for a population of 30) a generation spends its budget
    within the cap of 12: every complete generation accepted at least 30 of at most 100.
    """
    import json
    from pathlib import Path

    from scenelab.experiments import load_calibration
    from scenelab.experiments.calibrate import calibrate

    example = Path(__file__).resolve().parents[2] / "examples/experiments/toy_calibration.toml"
    spec = load_calibration(example)

    def with_settings(**changes: object) -> object:
        data = spec.model_dump(mode="json")
        data["calibration"].update(
            {"population_size": 30, "posterior_predictive": 5, "min_epsilon": 0.0, "batch_size": 1}
        )
        data["calibration"].update(changes)
        return type(spec).model_validate(data)

    def summary() -> dict:
        return json.loads((tmp_path / "calibration_summary.json").read_text(encoding="utf-8"))

    db_url = f"sqlite:///{tmp_path / 'calibration.db'}"
    first = calibrate(
        with_settings(min_acceptance_rate=0.3, max_generations=12),
        tmp_path,
        client=dask_client,
        echo=lambda m: None,
    )
    assert first.stopping["stopped_by"] == "min_acceptance_rate", first.stopping
    unfinished = summary()["stopping"]["unfinished_generation"]
    stored = pyabc.History(db_url).max_t + 1
    assert unfinished["t"] == stored == first.generations  # not stored, and reported as such
    assert unfinished["simulations"] == 100  # the budget, POP / min_acceptance_rate
    assert unfinished["accepted"] < 30
    kept = pyabc.History(db_url).get_distribution(m=0, t=stored - 1)[0].reset_index(drop=True)

    # The same command: the stored run met its rule at the unfinished generation; nothing new.
    messages: list[str] = []
    again = calibrate(
        with_settings(min_acceptance_rate=0.3, max_generations=12),
        tmp_path,
        client=dask_client,
        echo=messages.append,
    )
    assert any("without new simulations" in m for m in messages), messages
    assert again.n_simulations == first.n_simulations and again.generations == stored

    # A lower rate (a budget of 1,500) continues the same run with that generation, complete.
    resumed = calibrate(
        with_settings(min_acceptance_rate=0.02, max_generations=stored + 1),
        tmp_path,
        client=dask_client,
        echo=lambda m: None,
    )
    history = pyabc.History(db_url)
    assert len(history.all_runs()) == 1 and history.max_t == stored
    assert resumed.generations == stored + 1 and resumed.stopping["stopped_by"] == "max_generations"
    assert summary()["stopping"].get("unfinished_generation") is None
    pd.testing.assert_frame_equal(
        history.get_distribution(m=0, t=stored - 1)[0].reset_index(drop=True), kept
    )
