"""Scenario errors: every problem names the file, the key path and what would be valid."""

from __future__ import annotations

from dataclasses import dataclass

from scenelab.errors import ScenelabError


@dataclass(frozen=True)
class Problem:
    """One problem found in a scenario file."""

    path: str
    message: str


class ScenarioError(ScenelabError, ValueError):
    """A scenario file is not valid; ``problems`` holds one entry per problem."""

    def __init__(self, source: str, problems: list[Problem]) -> None:
        self.source = source
        self.problems = problems
        super().__init__("\n".join(self.lines()))

    def lines(self) -> list[str]:
        """Return one human-readable line per problem: ``file: key.path: message``."""
        return [
            f"{self.source}: {p.path}: {p.message}" if p.path else f"{self.source}: {p.message}"
            for p in self.problems
        ]


class ScenarioNotFound(ScenelabError, FileNotFoundError):
    """Neither a built-in scenario name nor an existing file."""

    def __str__(self) -> str:
        return Exception.__str__(self)
