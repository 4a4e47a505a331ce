"""The first compile in two processes (``model.warmup``): right types, each phase once, no loss."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import numba
import pytest

from scenelab.model import warmup
from scenelab.model.phases import phases


@pytest.fixture(scope="module")
def sources(short_run):  # noqa: ARG001 - the run compiles the tick loop in this process
    """The kernels' inputs for the built-in city, as ``run_model`` builds them."""
    from scenelab.api import parameter_vector
    from scenelab.model import engine
    from scenelab.model import state as st
    from scenelab.model.rng import stream_keys
    from scenelab.scenario.loader import load_scenario

    scn = load_scenario("bergen")
    par = parameter_vector(scn)
    world = engine.compile_world(scn)
    keys = stream_keys(1, 0)
    people, sellers, sites = engine.initial_state(scn, world, par, keys)
    out = st.new_out(world.n_days, len(scn.sites))
    return warmup.Sources(
        world, people, sellers, sites, out, par, engine.population_vector(scn), keys
    )


def test_the_signatures_are_the_ones_the_tick_loop_compiled(sources):
    # If the loop typed a phase differently, the helper's kernels would be compiled for nothing
    # and the loop would compile each phase again. The loop's names get their types from its
    # arguments, lent to the kernels (``structs.lend``: ``W_`` becomes ``W``), ``t`` and ``day``
    # from a range of the int64 ticks, ``ep`` from W.epoch_of_day.
    from scenelab.model.engine import LENT, SIGNATURE, simulate
    from scenelab.model.structs import LentStateType, UnownedArray, lent_type

    (loop_sig,) = simulate.signatures  # after the session's first run, compiled or cached
    loop_types = dict(zip([a.strip() for a in SIGNATURE.split(",")], loop_sig, strict=True))
    assert loop_types["t0"] == loop_types["t1"] == numba.types.int64
    loop_types.update({name: lent_type(loop_types.pop(f"{name}_")) for name in LENT})
    assert isinstance(loop_types["W"], LentStateType)
    assert isinstance(loop_types["par"], UnownedArray)
    sigs = warmup.phase_signatures(sources)
    for p in phases():
        for name, typ in zip(p.args, sigs[p.name], strict=True):
            if name == "ep":
                assert typ == loop_types["W"].field_dict["epoch_of_day"].dtype
            elif name in loop_types:
                assert typ == loop_types[name], (p.name, name)
            else:
                assert name in ("t", "day", "hour") and typ == numba.types.int64
        # The loop's call compiled (or loaded) the kernel for exactly these types.
        assert sigs[p.name] in p.step.signatures, p.name


def test_each_phase_is_claimed_by_exactly_one_process(sources, tmp_path):
    names = [p.name for p in phases()]
    taken = set(names[::3])
    for name in taken:  # another process got these first
        (tmp_path / name).touch()
    done = warmup.compile_claimed(warmup.phase_signatures(sources), tmp_path)
    assert sorted(done) == sorted(set(names) - taken)
    assert sorted(os.listdir(tmp_path)) == sorted(names)
    assert warmup.compile_claimed(warmup.phase_signatures(sources), tmp_path) == []


def test_the_largest_phase_modules_are_claimed_first():
    order = warmup.claim_order(phases())
    sizes = [Path(sys.modules[p.step.py_func.__module__].__file__).stat().st_size for p in order]
    assert sizes == sorted(sizes, reverse=True)
    assert len(order) == len(phases())


class _Loop:
    """Stands for the tick loop before its first call (no signature yet)."""

    signatures: list = []


def test_a_failing_helper_is_reported_and_this_process_compiles_everything(
    sources, tmp_path, monkeypatch, caplog
):
    monkeypatch.setattr(numba.config, "CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(warmup.sys, "executable", "/bin/false")
    monkeypatch.setattr(warmup.os, "sched_getaffinity", lambda _pid: {0, 1}, raising=False)
    claimed = []
    original = warmup.compile_claimed
    monkeypatch.setattr(
        warmup, "compile_claimed", lambda s, c: claimed.extend(original(s, c)) or claimed
    )
    monkeypatch.setattr(warmup, "_warmed", threading.Event())
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    with caplog.at_level(logging.WARNING, logger="scenelab.model.warmup"):
        warmup.compile_engine(_Loop(), sources)
        warmup.compile_engine(_Loop(), sources)  # a second thread: nothing left to do
    # /bin/false claims nothing, so this process compiled every phase, and said why.
    assert sorted(claimed) == sorted(p.name for p in phases())
    assert "compile helper stopped (code 1)" in caplog.text
    assert list(scratch.iterdir()) == []  # its scratch directory of claims is gone


def test_nothing_runs_twice_once_the_cache_says_compiled(sources, tmp_path, monkeypatch):
    monkeypatch.setattr(numba.config, "CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(warmup.os, "sched_getaffinity", lambda _pid: {0, 1}, raising=False)
    warmup.mark_compiled()
    assert (tmp_path / warmup.MARKER).exists()
    called = []
    monkeypatch.setattr(warmup, "_warmed", threading.Event())
    monkeypatch.setattr(warmup, "compile_claimed", lambda s, c: called.append(1))
    warmup.compile_engine(_Loop(), sources)
    monkeypatch.setenv("SCENELAB_PARALLEL_COMPILE", "0")
    (tmp_path / warmup.MARKER).unlink()
    warmup.compile_engine(_Loop(), sources)
    assert called == []


@pytest.mark.slow
def test_the_helper_process_fills_the_shared_cache_for_the_loop(tmp_path):
    # A fresh process, a fresh cache: the helper compiles the one phase left unclaimed (the
    # smallest) into the cache, and another process then loads it instead of compiling it.
    cache, claims = tmp_path / "cache", tmp_path / "claims"
    cache.mkdir()
    claims.mkdir()
    small = "trust_memory"
    for p in phases():
        if p.name != small:
            (claims / p.name).touch()
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache)}
    cmd = [sys.executable, "-m", "scenelab.model.warmup_helper", str(claims)]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    indexes = {p.name.split(".")[0] for p in cache.rglob("*.nbi")}
    assert "trust_memory" in indexes and "violence" not in indexes
    probe = (
        "from scenelab.model import warmup_helper\n"
        "from scenelab.model.phases import phases\n"
        "import pathlib, tempfile\n"
        "d = pathlib.Path(tempfile.mkdtemp())\n"
        f"[(d / p.name).touch() for p in phases() if p.name != {small!r}]\n"
        "warmup_helper.main(str(d))\n"
        f"step = [p.step for p in phases() if p.name == {small!r}][0]\n"
        "print(step.stats.cache_hits.most_common(1)[0][1], len(step.stats.cache_misses))\n"
    )
    again = subprocess.run(
        [sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=300
    )
    assert again.returncode == 0, again.stderr
    hits, misses = again.stdout.split()
    assert (int(hits), int(misses)) == (1, 0)
