"""scenelab: a policy laboratory for open drug scenes.

Public API: :func:`load_scenario`, :func:`run`, :func:`parameters`, :class:`Results`.

Names are imported on first use, so ``scenelab --help`` or loading a scenario does not start the
compiled engine.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY: dict[str, str] = {
    "ParamSpec": "scenelab.model.params",
    "Results": "scenelab.api",
    "Scenario": "scenelab.scenario",
    "ScenarioError": "scenelab.scenario",
    "ScenelabError": "scenelab.errors",
    "__version__": "scenelab.api",
    "load_scenario": "scenelab.scenario",
    "parameters": "scenelab.api",
    "run": "scenelab.api",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:  # noqa: ANN401 - whatever the named module exports
    if name not in _LAZY:
        try:  # a subpackage used as an attribute (``scenelab.scenario.builtin_text``)
            return importlib.import_module(f"scenelab.{name}")
        except ModuleNotFoundError:
            raise AttributeError(f"module 'scenelab' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(_LAZY[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
