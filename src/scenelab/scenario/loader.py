"""Load scenarios from built-in names or files, with every problem reported at once."""

from __future__ import annotations

import hashlib
import json
import tomllib
from importlib import resources
from pathlib import Path

import pydantic

from scenelab.scenario.errors import Problem, ScenarioError
from scenelab.scenario.schema import Scenario
from scenelab.scenario.validate import check_references, pydantic_problems

_BUILTIN_PACKAGE = "scenelab.scenario.builtin"


def builtin_names() -> list[str]:
    """Return the names of the scenarios shipped inside the package."""
    folder = resources.files(_BUILTIN_PACKAGE)
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".toml"))


def builtin_text(name: str) -> str:
    """Return the text of a built-in scenario file.

    Raises:
        KeyError: If ``name`` is not a built-in; the message lists the built-ins.
    """
    if name not in builtin_names():
        raise KeyError(
            f"'{name}' is not a built-in scenario; built-ins are: {', '.join(builtin_names())}"
        )
    return resources.files(_BUILTIN_PACKAGE).joinpath(f"{name}.toml").read_text("utf-8")


def parse_text(text: str, source: str) -> Scenario:
    """Parse and validate scenario TOML text; ``source`` names it in error messages.

    Raises:
        ScenarioError: With one problem per line if the text is not a valid scenario.
    """
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(source, [Problem("", f"not valid TOML: {exc}")]) from None
    try:
        scn = Scenario.model_validate(raw)
    except pydantic.ValidationError as exc:
        raise ScenarioError(source, pydantic_problems(exc)) from None
    problems = check_references(scn)
    if problems:
        raise ScenarioError(source, problems)
    scn._source = source
    canonical = json.dumps(scn.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    scn._hash = hashlib.sha256(canonical.encode()).hexdigest()
    return scn


def load_scenario(name_or_path: str | Path) -> Scenario:
    """Load a built-in scenario by name (``"bergen"``) or a scenario file by path.

    Raises:
        ScenarioError: If the file is not valid (one line per problem).
        FileNotFoundError: If it is neither a built-in name nor an existing file.
    """
    text_name = str(name_or_path)
    if not text_name.endswith((".toml", ".TOML")) and text_name in builtin_names():
        return parse_text(builtin_text(text_name), f"{text_name}.toml")
    path = Path(name_or_path)
    if not path.is_file():
        raise FileNotFoundError(
            f"{text_name}: no such scenario file, and not a built-in "
            f"(built-ins: {', '.join(builtin_names())})"
        )
    return parse_text(path.read_text("utf-8"), path.name)
