"""Designs, seeds and run keys."""

import numpy as np
import pytest

from scenelab.experiments import make_design, plan_experiment, replicate_seeds, run_key
from scenelab.experiments.ranges import ParamRange

P3 = [ParamRange(n, 0.0, 2.0) for n in ("a", "b", "c")]


@pytest.mark.parametrize(
    ("kind", "n", "rows"),
    [("lhs", 10, 10), ("morris", 5, 5 * (3 + 1)), ("sobol", 16, 16 * (3 + 2))],
)
def test_salib_designs_have_salib_shapes_and_bounds(kind, n, rows):
    d = make_design(kind, P3, n=n, seed=3)
    assert d.points.shape == (rows, 3)
    assert d.points.min() >= 0.0 and d.points.max() <= 2.0
    again = make_design(kind, P3, n=n, seed=3)
    np.testing.assert_array_equal(d.points, again.points)
    other = make_design(kind, P3, n=n, seed=4)
    assert not np.array_equal(d.points, other.points)
    assert d.problem == {"num_vars": 3, "names": ["a", "b", "c"], "bounds": [[0.0, 2.0]] * 3}


def test_lhs_is_stratified():
    d = make_design("lhs", [ParamRange("a", 0.0, 1.0)], n=20, seed=1)
    strata = np.floor(d.points[:, 0] * 20).astype(int)
    assert sorted(strata) == list(range(20))


def test_baseline_is_one_empty_point():
    d = make_design("baseline", [])
    assert d.rows() == [{}]


def test_replicate_seeds_are_stable_prefixes():
    five = replicate_seeds(7, 5)
    assert replicate_seeds(7, 3) == five[:3]
    assert len(set(five)) == 5
    assert replicate_seeds(8, 3) != five[:3]


def test_run_key_depends_on_every_component():
    base = dict(
        model="toy",
        model_config={"until": None},
        scenario_hash="h",
        params={"a": 1.0},
        seed=1,
        replicate=0,
    )
    key = run_key(**base)
    assert key == run_key(**{**base, "params": {"a": 1}})  # int/float spelling is irrelevant
    changes = [
        {"model": "other"},
        {"model_config": {"until": "2012-03-01"}},
        {"scenario_hash": "g"},
        {"params": {"a": 1.0000001}},
        {"params": {"a": 1.0, "b": 0.0}},
        {"seed": 2},
        {"replicate": 1},
    ]
    keys = {run_key(**{**base, **c}) for c in changes}
    assert key not in keys and len(keys) == len(changes)


def test_plan_uses_common_random_numbers_across_arms_and_points(toy_spec):
    plan = plan_experiment(toy_spec(replicates=3, n=4))
    assert len(plan.tasks) == 2 * 4 * 3
    seeds = replicate_seeds(0, 3)
    for t in plan.tasks:
        assert t.seed == seeds[t.replicate]
    # Arms differ only by their overrides; the design point is the same for both arms.
    by_cell = {(t.point, t.replicate): [] for t in plan.tasks}
    for t in plan.tasks:
        by_cell[(t.point, t.replicate)].append(t)
    for pair in by_cell.values():
        a, b = pair
        assert a.seed == b.seed and a.params["mu"] == b.params["mu"]
        assert {a.params["lam"], b.params["lam"]} == {2.0, 6.0}
    assert len({t.run_id for t in plan.tasks}) == len(plan.tasks)
    assert plan_experiment(toy_spec(replicates=3, n=4)).keys == plan.keys


def test_repeated_design_points_share_one_run():
    from scenelab.experiments import parse_experiment

    spec = parse_experiment(
        {
            "experiment": {"name": "g", "model": "linear"},
            "arms": [{"name": "a", "scenario": "x"}],
            "design": {"kind": "grid", "parameters": {"a": {"values": [0.5, 0.5, 1.0]}}},
        }
    )
    plan = plan_experiment(spec)
    assert len(plan.keys) == 3 and len(plan.tasks) == 2
    assert plan.keys[("a", 0, 0)] == plan.keys[("a", 1, 0)]
