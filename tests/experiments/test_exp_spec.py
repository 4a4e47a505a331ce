"""Experiment and calibration files: closed schema, clear errors, model-aware checks."""

from pathlib import Path

import pytest

from scenelab.experiments import (
    SpecError,
    builtin_model,
    load_calibration,
    load_experiment,
    parse_experiment,
    plan_experiment,
)

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "experiments"

MINIMAL = {
    "experiment": {"name": "t", "model": "toy"},
    "arms": [{"name": "a", "scenario": "toy"}],
}


def _with(**sections):
    data = {k: (dict(v) if isinstance(v, dict) else v) for k, v in MINIMAL.items()}
    data.update(sections)
    return data


def write(tmp_path, text, name="exp.toml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_unknown_key_names_file_path_and_valid_keys(tmp_path):
    path = write(
        tmp_path,
        """
[experiment]
name = "t"
model = "toy"
replicatse = 3

[[arms]]
name = "a"
scenario = "toy"
""",
    )
    with pytest.raises(SpecError) as info:
        load_experiment(path)
    msg = str(info.value)
    assert str(path.resolve().name) in msg
    assert "experiment.replicatse: unknown key" in msg
    assert "did you mean 'replicates'" in msg
    assert "valid keys: " in msg and "seed" in msg and "until" in msg


def test_unknown_key_in_nested_list_and_dict_lists_owner_keys():
    data = _with(
        arms=[{"name": "a", "scenario": "toy", "overides": {}}],
        design={"kind": "lhs", "n": 4, "parameters": {"mu": {"lo": 1}}},
    )
    with pytest.raises(SpecError) as info:
        parse_experiment(data, "x.toml")
    paths = [p for p, _ in info.value.problems]
    assert "arms[0].overides" in paths
    assert "design.parameters.mu.lo" in paths
    msg = str(info.value)
    assert "valid keys: name, overrides, scenario" in msg
    assert "valid keys: high, levels, low, values" in msg


def test_bad_choice_lists_valid_choices():
    with pytest.raises(SpecError) as info:
        parse_experiment(_with(design={"kind": "latin"}), "x.toml")
    msg = str(info.value)
    assert "design.kind" in msg
    for choice in ("baseline", "grid", "lhs", "morris", "sobol"):
        assert choice in msg
    with pytest.raises(SpecError, match="experiment.model.*'scenelab'.*'toy'"):
        parse_experiment(_with(experiment={"name": "t", "model": "nope"}), "x.toml")


@pytest.mark.parametrize(
    ("design", "fragment"),
    [
        ({"kind": "sobol", "n": 100, "parameters": {"mu": {}}}, "power of 2"),
        ({"kind": "lhs", "parameters": {"mu": {}}}, "needs n"),
        ({"kind": "lhs", "n": 4}, "at least one entry"),
        ({"kind": "grid", "parameters": {"mu": {"low": 0, "high": 1}}}, "values = [...]"),
        (
            {"kind": "lhs", "n": 4, "parameters": {"mu": {"low": 2, "high": 1}}},
            "low must be < high",
        ),
        ({"kind": "baseline", "parameters": {"mu": {}}}, "takes no parameters"),
    ],
)
def test_design_checks(design, fragment):
    with pytest.raises(SpecError) as info:
        parse_experiment(_with(design=design), "x.toml")
    assert fragment in str(info.value)
    assert str(info.value).startswith("x.toml: design")


def test_cross_checks():
    with pytest.raises(SpecError, match="needs design.kind 'morris' or 'sobol'"):
        parse_experiment(_with(sensitivity={"outputs": ["y"]}))
    with pytest.raises(SpecError, match="repeated: a"):
        parse_experiment(
            _with(arms=[{"name": "a", "scenario": "toy"}, {"name": "a", "scenario": "x"}])
        )
    with pytest.raises(SpecError, match="identical"):
        parse_experiment(
            _with(arms=[{"name": "a", "scenario": "toy"}, {"name": "b", "scenario": "toy"}])
        )
    with pytest.raises(SpecError, match="also varies"):
        parse_experiment(
            _with(
                arms=[{"name": "a", "scenario": "toy", "overrides": {"mu": 1.0}}],
                design={"kind": "lhs", "n": 2, "parameters": {"mu": {}}},
            )
        )


def test_not_toml_and_missing_file(tmp_path):
    with pytest.raises(SpecError, match="not valid TOML"):
        load_experiment(write(tmp_path, "[experiment\nname="))
    with pytest.raises(SpecError, match="cannot read file"):
        load_experiment(tmp_path / "missing.toml")


def test_nothing_is_evaluated(tmp_path):
    # A string that would do something if evaluated is just an unknown parameter name.
    data = _with(arms=[{"name": "a", "scenario": "toy", "overrides": {"__import__('os')": 1.0}}])
    spec = parse_experiment(data, "x.toml")
    with pytest.raises(SpecError, match="unknown parameter; valid choices: lam, mu, work_seconds"):
        plan_experiment(spec)


def test_model_aware_checks_name_path_and_choices():
    data = _with(design={"kind": "lhs", "n": 2, "parameters": {"muu": {}}})
    with pytest.raises(SpecError) as info:
        plan_experiment(parse_experiment(data, "x.toml"))
    assert info.value.problems == [
        (
            "design.parameters.muu",
            "unknown parameter (did you mean 'mu'?); valid choices: lam, mu, work_seconds",
        )
    ]
    data = _with(experiment={"name": "t", "model": "toy", "store_tables": ["site_day"]})
    with pytest.raises(SpecError, match="experiment.store_tables: unknown table"):
        plan_experiment(parse_experiment(data, "x.toml"))


def test_ranges_default_to_the_model_and_grid_levels_expand():
    data = _with(
        design={"kind": "grid", "parameters": {"mu": {"levels": 3}, "lam": {"values": [1, 2]}}}
    )
    plan = plan_experiment(parse_experiment(data))
    assert plan.design.names == ("mu", "lam")
    assert plan.design.points.tolist() == [
        [-5.0, 1.0],
        [-5.0, 2.0],
        [0.0, 1.0],
        [0.0, 2.0],
        [5.0, 1.0],
        [5.0, 2.0],
    ]
    assert plan.design.bounds == ((-5.0, 5.0), (1.0, 2.0))


def test_relative_scenario_paths_resolve_against_the_file(tmp_path):
    sub = tmp_path / "sub"
    sub.mkdir()
    path = write(
        sub, '[experiment]\nname="t"\nmodel="toy"\n[[arms]]\nname="a"\nscenario="s.toml"\n'
    )
    spec = load_experiment(path)
    assert spec.base_dir == sub.resolve()


def test_example_files_are_valid():
    # Robustness maps and optimize files have their own schemas (tests/test_robustness.py,
    # tests/experiments/test_optimize.py check them).
    files = sorted(
        p
        for p in EXAMPLES.glob("*.toml")
        if "robustness" not in p.name and "optimize" not in p.name
    )
    assert files, f"no example files in {EXAMPLES}"
    for path in files:
        if "calibrat" in path.name:
            spec = load_calibration(path)
            assert spec.targets
        else:
            spec = load_experiment(path)
            assert spec.arms
    # Every example experiment also plans against its model (names and ranges exist).
    for path in files:
        if "calibrat" not in path.name:
            spec = load_experiment(path)
            assert plan_experiment(spec, builtin_model(spec.experiment.model)).tasks, path
