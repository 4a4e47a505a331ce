"""scenelab: a policy laboratory for open drug scenes.

Public API: :func:`load_scenario`, :func:`run`, :func:`parameters`, :class:`Results`.
"""

from scenelab.api import Results, __version__, parameters, run
from scenelab.model.params import ParamSpec
from scenelab.scenario import Scenario, ScenarioError, load_scenario

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
