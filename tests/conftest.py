"""Shared fixtures: short runs of the built-in scenario, cached per test session."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

import scenelab

BERGEN = scenelab.load_scenario("bergen")
SHORT = dt.date(2012, 3, 31)


@pytest.fixture(scope="session")
def bergen() -> scenelab.Scenario:
    return BERGEN


@pytest.fixture(scope="session")
def short_run() -> scenelab.Results:
    return scenelab.run(BERGEN, seed=7, until=SHORT)


def write_variant(tmp_path: Path, old: str, new: str, name: str = "variant.toml") -> Path:
    """Write a copy of the Bergen file with one textual substitution (must match exactly once)."""
    text = scenelab.scenario.builtin_text("bergen")
    assert text.count(old) == 1, f"fixture text not unique: {old!r}"
    path = tmp_path / name
    path.write_text(text.replace(old, new), encoding="utf-8")
    return path
