"""Scenario language: schema, units, validation and the built-in cities."""

from scenelab.scenario.errors import Problem, ScenarioError
from scenelab.scenario.loader import builtin_names, builtin_text, load_scenario, parse_text
from scenelab.scenario.schema import Scenario

__all__ = [
    "Problem",
    "Scenario",
    "ScenarioError",
    "builtin_names",
    "builtin_text",
    "load_scenario",
    "parse_text",
]
