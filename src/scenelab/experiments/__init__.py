"""Experiments at scale: designs × arms × replicates on Dask, into DuckDB.

Public API (see ``docs/experiments.md``)::

    from scenelab.experiments import load_experiment, run_experiment
    spec = load_experiment("examples/experiments/bergen_lhs.toml")
    result = run_experiment(spec, "out/bergen_lhs")

Everything here uses the model seam only (``scenelab.load_scenario``,
``scenelab.parameters``, ``scenelab.run``) through :class:`Model` adapters,
so any ``(params, seed) -> outcomes`` function can be run, analysed and
calibrated the same way (:class:`FunctionModel`).
"""

from scenelab.experiments.design import ParameterDesign, make_design, replicate_seeds
from scenelab.experiments.models import (
    FunctionModel,
    Model,
    ModelFunction,
    ParamRange,
    PreparedScenario,
    RunOutput,
    ScenelabModel,
    builtin_model,
    builtin_model_names,
)
from scenelab.experiments.runner import (
    ExperimentResult,
    Plan,
    RunRecord,
    RunTask,
    execute_runs,
    plan_experiment,
    run_experiment,
    run_key,
)
from scenelab.experiments.spec import (
    CalibrationSpec,
    ExperimentSpec,
    SpecError,
    load_calibration,
    load_experiment,
    parse_calibration,
    parse_experiment,
)
from scenelab.experiments.store import (
    DB_NAME,
    SCHEMA_VERSION,
    ResultStore,
    StoreError,
    export_tables,
)

__all__ = [
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
