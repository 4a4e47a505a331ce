"""Replicates run in threads give exactly the tables they give one after another."""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path

import pandas as pd
import pytest

from scenelab.errors import ArgumentError
from scenelab.model import engine
from scenelab.parallel import RunTask, check_workers, run_many, run_replicates
from scenelab.scenario.loader import load_scenario

SMALL = "examples/small_city.toml"
UNTIL = dt.date(2020, 6, 30)


@pytest.fixture(scope="module")
def scn():  # noqa: ANN201
    return load_scenario(SMALL)


def _tables(results: list) -> list[pd.DataFrame]:
    return [getattr(r, name) for r in results for name in ("site_day", "city_day")]


def test_threads_give_the_same_tables_in_the_same_order(scn) -> None:  # noqa: ANN001
    one = run_replicates(scn, 7, 3, until=UNTIL, workers=1)
    two = run_replicates(scn, 7, 3, until=UNTIL, workers=2)
    assert [r.summary["replicate"] for r in two] == [0, 1, 2]
    for a, b in zip(_tables(one), _tables(two), strict=True):
        pd.testing.assert_frame_equal(a, b)
    # and the replicates really differ (the comparison above is not of one run with itself)
    assert not one[0].city_day["population"].equals(one[1].city_day["population"])


def test_run_many_keeps_task_order_across_scenarios_and_seeds(scn) -> None:  # noqa: ANN001
    tasks = [RunTask(scn, seed, 0, UNTIL) for seed in (5, 4, 3)]
    results = run_many(tasks, workers=2)
    assert [r.summary["seed"] for r in results] == [5, 4, 3]


def test_the_compiled_loop_releases_the_gil() -> None:
    # Parallel speed rests on this flag; without it threads would take turns.
    assert engine.simulate.targetoptions.get("nogil") is True


def test_on_done_counts_every_run(scn) -> None:  # noqa: ANN001
    seen: list[tuple[int, int]] = []
    lock = threading.Lock()

    def on_done(k: int, n: int) -> None:
        with lock:
            seen.append((k, n))

    run_many([RunTask(scn, 1, r, UNTIL) for r in range(3)], workers=2, on_done=on_done)
    assert sorted(seen) == [(1, 3), (2, 3), (3, 3)]


@pytest.mark.parametrize("bad", [0, -1, 257, 1.5, True, "2"])
def test_bad_worker_counts_are_refused(bad: object) -> None:
    with pytest.raises(ArgumentError, match="workers must be"):
        check_workers(bad)


def _pair(tmp_path) -> list:  # noqa: ANN001
    """The small city and a variant of it with its own name (compare needs distinct names)."""
    base = tmp_path / "small_city.toml"
    base.write_text((Path(__file__).resolve().parents[1] / SMALL).read_text(encoding="utf-8"))
    variant = tmp_path / "small-b.toml"
    variant.write_text(
        '[variant]\nbase = "small_city.toml"\n[scenario]\nname = "small-b"\ntitle = "Small B"\n'
    )
    return [load_scenario(base), load_scenario(variant)]


def test_compare_writes_the_same_files_with_two_workers(tmp_path) -> None:  # noqa: ANN001
    from scenelab.compare import compare_to_directory

    pair = _pair(tmp_path)
    outs = {}
    for workers in (1, 2):
        out = tmp_path / f"w{workers}"
        compare_to_directory(pair, out, replicates=2, until=UNTIL, progress=False,
                             workers=workers)  # fmt: skip
        outs[workers] = out
    for name in ("compare.csv", "outcomes.csv", "costs.csv", "verdict.csv", "summary.json"):
        one, two = ((outs[w] / name).read_text() for w in (1, 2))
        assert one == two, name
    for kind in ("site_day", "neighbourhood_month", "city_day"):
        one, two = (pd.read_parquet(outs[w] / f"{kind}.parquet") for w in (1, 2))
        pd.testing.assert_frame_equal(one, two, check_exact=True)
        assert len(one) > 0


def test_compare_leaves_nothing_when_writing_the_tables_fails(tmp_path, monkeypatch) -> None:  # noqa: ANN001
    from scenelab import compare

    def broken(results, staging) -> None:  # noqa: ANN001
        raise OSError("disk full")

    pair = _pair(tmp_path)
    monkeypatch.setattr(compare, "_write_tables", broken)
    out = tmp_path / "c"
    with pytest.raises(OSError, match="disk full"):
        compare.compare_to_directory(pair, out, replicates=1, until=UNTIL, progress=False,
                                     workers=2)  # fmt: skip
    # no output directory, no staging directory: only the two scenario files
    assert sorted(p.name for p in tmp_path.iterdir()) == ["small-b.toml", "small_city.toml"]
