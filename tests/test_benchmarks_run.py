"""The benchmarks run and print their tables, at toy sizes. Nothing here is timed.

Benchmarks are not timed tests (a shared machine makes timings noise): ``make bench`` produces the
figures, recorded in docs/performance.md. These tests only keep the benchmark code working.
"""

from __future__ import annotations

import numpy as np
import pytest
from benchmarks import (
    bare_kernel,
    bench_mesa,
    bench_scaling,
    bench_startup,
    bench_threads,
    docking,
    pairing,
    phase_profile,
    run_all,
)
from benchmarks.synthetic_city import synthetic_city

import scenelab
from scenelab.model.phases import PHASES


# --- fast checks of the pieces ------------------------------------------------------------------
@pytest.mark.parametrize(("people", "sites"), [(10, 4), (500, 37), (2_000, 400)])
def test_synthetic_city_is_a_valid_scenario_of_the_asked_size(people, sites):
    scn = synthetic_city(people, sites, days=2)
    assert scn.population.initial_people == people
    assert len(scn.sites) == sites
    res = scenelab.run(scn, seed=1)
    assert res.city_day["population"].iloc[0] >= people * 0.9


def test_synthetic_city_rejects_toy_sizes():
    with pytest.raises(ValueError, match="at least"):
        synthetic_city(5, 2)


def test_bare_kernel_makes_one_choice_per_person_and_tick():
    inp = bare_kernel.make_inputs(50, 12, bare_kernel.choice_set_size(12, 3))
    made = bare_kernel.bare_kernel(
        7, inp["key"], inp["cand"], inp["fam"], inp["dist"], inp["attr"], inp["cap"],
        inp["site"], inp["smooth"],
    )  # fmt: skip
    assert made == 50 * 7
    assert all(inp["site"][i] in inp["cand"][i] for i in range(50))
    assert np.isfinite(inp["smooth"]).all()


def test_bare_kernel_with_attendance_chooses_only_on_arrival_or_reconsidering():
    inp = bare_kernel.make_inputs(400, 12, 9)
    away = np.full(400, -1, dtype=np.int32)
    made = bare_kernel.bare_kernel_attending(
        48, inp["key"], inp["cand"], inp["fam"], inp["dist"], inp["attr"], inp["cap"], away,
        inp["smooth"], 1 / 15, 1 / 3, 0.1,
    )  # fmt: skip
    assert 0 < made < 400 * 48 / 4  # about 0.07 choices per person and tick
    present = away >= 0
    assert 0 < present.sum() < 400
    assert all(away[i] in inp["cand"][i] for i in np.flatnonzero(present))


def test_profiled_loop_times_every_phase_in_order():
    _, names = phase_profile.profiled_simulate()
    assert names == ["(clock)", *(p.module for p in PHASES)]


# --- each benchmark's command prints its table ---------------------------------------------
@pytest.mark.slow
def test_pairing_prints_paired_and_unpaired_spread(capsys):
    assert pairing.main(["--replicates", "3"]) == 0
    out = capsys.readouterr().out
    assert "paired vs unpaired differences" in out and "var_ratio" in out
    assert "groups of 3 replicates" in out


@pytest.mark.slow
def test_bench_mesa_prints_its_table(capsys):
    assert bench_mesa.main(["--repeats", "1", "--end", "2014-06-02"]) == 0
    out = capsys.readouterr().out
    assert "scenelab vs Mesa reference" in out
    for word in ("Mesa reference", "scenelab.run", "scenelab engine", "agent_ticks_per_s"):
        assert word in out


@pytest.mark.slow
def test_bare_kernel_prints_its_table(capsys):
    args = ["--repeats", "1", "--mesa-ticks", "3", "--until", "2012-01-02"]
    assert bare_kernel.main(args) == 0
    out = capsys.readouterr().out
    assert "full model vs bare kernel" in out
    assert "bare Numba site choice" in out and "x_bare" in out


@pytest.mark.slow
def test_phase_profile_prints_every_phase(capsys):
    assert phase_profile.main(["bergen", "--until", "2012-01-02"]) == 0
    out = capsys.readouterr().out
    assert "phase profile" in out
    for phase in PHASES:
        assert phase.module in out


@pytest.mark.slow
def test_scaling_prints_exponents_and_memory(capsys):
    args = ["--people", "100", "300", "--sites", "5", "9", "--fixed-sites", "5",
            "--fixed-people", "100", "--days", "2", "--repeats", "1"]  # fmt: skip
    assert bench_scaling.main(args) == 0
    out = capsys.readouterr().out
    assert "fitted_exponent" in out and "people_bytes_per_person" in out
    assert "ns per agent-tick by phase" in out


@pytest.mark.slow
def test_places_sweep_prints_discovery_off_and_on_side_by_side(capsys):
    args = ["--places", "--sites", "5", "40", "--fixed-people", "100", "--days", "2",
            "--repeats", "1"]  # fmt: skip
    assert bench_scaling.main(args) == 0
    out = capsys.readouterr().out
    assert "cost per agent-tick vs number of places" in out
    assert "ns_per_agent_tick_discovery_off" in out and "ns_per_agent_tick_discovery_on" in out
    assert "x_smallest" in out


@pytest.mark.slow
def test_startup_prints_its_table(capsys):
    assert bench_startup.main(["--cold", "0", "--cached", "1"]) == 0
    out = capsys.readouterr().out
    assert "start-up of `scenelab run" in out and "ready_to_simulate_s" in out


@pytest.mark.slow
def test_docking_prints_its_table(capsys):
    assert docking.main(["--seeds", "3", "--workers", "1", "--end", "2014-06-03"]) == 0
    out = capsys.readouterr().out
    assert "Mann-Whitney" in out and "rejected:" in out


@pytest.mark.slow
def test_run_all_quick_prints_the_goals(capsys):
    assert run_all.main(["--quick"]) == 0
    out = capsys.readouterr().out
    assert "goals of the performance issue" in out
    assert "cost exponent vs people" in out


def test_threads_bench_prints_speedup_and_efficiency(capsys):
    assert bench_threads.main(["--quick"]) == 0
    out = capsys.readouterr().out
    assert "efficiency_2" in out and "speedup" in out


def test_threads_bench_times_compare_of_the_four_strategies(capsys):
    assert bench_threads.main(["--compare", "--quick"]) == 0
    out = capsys.readouterr().out
    assert "compare in threads" in out and "efficiency_2" in out
    row = out.strip().splitlines()[-1].split()
    assert row[:2] == ["4", "2"]  # four strategies, two replicates each at toy size
    assert float(row[2]) > 0 and float(row[3]) > 0
