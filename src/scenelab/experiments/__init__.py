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

from __future__ import annotations

import importlib
from typing import Any

# Submodule of each public name. Imported on first use (PEP 562), so that the main CLI can
# register these commands without paying for Dask, DuckDB and pandas on `scenelab run`.
_SOURCES: dict[str, str] = {
    "CalibrationSpec": "scenelab.experiments.spec",
    "DB_NAME": "scenelab.experiments.store",
    "ExperimentResult": "scenelab.experiments.runner",
    "ExperimentSpec": "scenelab.experiments.spec",
    "FunctionModel": "scenelab.experiments.models",
    "Model": "scenelab.experiments.models",
    "ModelFunction": "scenelab.experiments.models",
    "ParamRange": "scenelab.experiments.ranges",
    "ParameterDesign": "scenelab.experiments.design",
    "Plan": "scenelab.experiments.plan",
    "PreparedScenario": "scenelab.experiments.models",
    "ResultStore": "scenelab.experiments.store",
    "RunOutput": "scenelab.experiments.models",
    "RunRecord": "scenelab.experiments.plan",
    "RunTask": "scenelab.experiments.plan",
    "SCHEMA_VERSION": "scenelab.experiments.store",
    "ScenelabModel": "scenelab.experiments.models",
    "SpecError": "scenelab.experiments.spec",
    "StoreError": "scenelab.experiments.store",
    "builtin_model": "scenelab.experiments.models",
    "builtin_model_names": "scenelab.experiments.models",
    "execute_runs": "scenelab.experiments.runner",
    "export_tables": "scenelab.experiments.store",
    "load_calibration": "scenelab.experiments.spec",
    "load_experiment": "scenelab.experiments.spec",
    "make_design": "scenelab.experiments.design",
    "parse_calibration": "scenelab.experiments.spec",
    "parse_experiment": "scenelab.experiments.spec",
    "plan_experiment": "scenelab.experiments.plan",
    "replicate_seeds": "scenelab.experiments.design",
    "run_experiment": "scenelab.experiments.runner",
    "run_key": "scenelab.experiments.plan",
}

__all__ = sorted(_SOURCES)

# Top-level modules of the optional extras, for a one-line hint when one is missing.
_EXTRAS = {"dask": "experiments", "distributed": "experiments", "duckdb": "experiments"}
_EXTRAS |= {"SALib": "experiments", "bokeh": "experiments", "pyabc": "calibrate"}
_EXTRAS |= {"pymoo": "experiments", "tomli_w": "experiments"}


def extra_hint(module: str | None, extra: str | None = None) -> str | None:
    """The install hint for a missing optional dependency, or None if it belongs to no extra.

    Args:
        module: The missing module's name (``ModuleNotFoundError.name``).
        extra: The extra to name instead of the module's own (``calibrate`` includes
            ``experiments``).

    Returns:
        E.g. ``"duckdb is not installed: install the experiments extra: pip install
        'scenelab[experiments]'"``.
    """
    root = (module or "").split(".")[0]
    if root not in _EXTRAS:
        return None
    extra = extra or _EXTRAS[root]
    return f"{root} is not installed: install the {extra} extra: pip install 'scenelab[{extra}]'"


def __getattr__(name: str) -> Any:  # noqa: ANN401 - any public object of the package
    """Import a public name from its submodule on first access."""
    try:
        module = _SOURCES[name]
    except KeyError:
        raise AttributeError(f"module 'scenelab.experiments' has no attribute {name!r}") from None
    try:
        value = getattr(importlib.import_module(module), name)
    except ModuleNotFoundError as exc:
        hint = extra_hint(exc.name)
        if hint is None:
            raise
        raise ModuleNotFoundError(hint, name=exc.name) from exc
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
