"""The public names of scenelab.experiments and the CLI subcommands are pinned."""

import argparse

import scenelab.experiments as ex
from scenelab.experiments.cli import register


def test_exported_names():
    assert sorted(ex.__all__) == sorted(
        [
            "DB_NAME",
            "SCHEMA_VERSION",
            "CalibrationSpec",
            "ExperimentResult",
            "ExperimentSpec",
            "FunctionModel",
            "Model",
            "ModelFunction",
            "ParamRange",
            "ParameterDesign",
            "Plan",
            "PreparedScenario",
            "ResultStore",
            "RunOutput",
            "RunRecord",
            "RunTask",
            "ScenelabModel",
            "SpecError",
            "StoreError",
            "builtin_model",
            "builtin_model_names",
            "execute_runs",
            "export_tables",
            "load_calibration",
            "load_experiment",
            "make_design",
            "parse_calibration",
            "parse_experiment",
            "plan_experiment",
            "replicate_seeds",
            "run_experiment",
            "run_key",
        ]
    )
    for name in ex.__all__:
        assert getattr(ex, name) is not None


def test_register_adds_four_subcommands_with_handlers():
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="command"))
    for argv in (
        ["experiment", "f.toml", "--out", "d"],
        ["sensitivity", "bergen", "--param", "b_risk", "--output", "y", "--out", "d"],
        ["calibrate", "c.toml", "--out", "d", "--scheduler", "tcp://127.0.0.1:8786"],
        ["export", "d", "--format", "csv"],
    ):
        args = parser.parse_args(argv)
        assert callable(args.func) and args.command == argv[0]
