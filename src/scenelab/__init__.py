"""scenelab: a policy laboratory for open drug scenes.

Public API: :func:`load_scenario`, :func:`run`, :func:`parameters`, :class:`Results`.

The names from ``scenelab.api`` (which loads the compiled engine) are imported on first use, so
importing ``scenelab`` to load or validate a scenario does not load Numba.
"""

from scenelab.model.params import ParamSpec
from scenelab.scenario import Scenario, ScenarioError, load_scenario

_FROM_API = ("Results", "__version__", "parameters", "run")

__all__ = [
    "ParamSpec",
    "Results",
    "Scenario",
    "ScenarioError",
    "__version__",
    "load_scenario",
    "parameters",
    "run",
]


def __getattr__(name: str) -> object:
    """Import the run seam (and with it the engine) when one of its names is first used."""
    if name in _FROM_API:
        from scenelab import api

        return getattr(api, name)
    raise AttributeError(f"module 'scenelab' has no attribute {name!r}")
