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


_VARIANT_KEYS = ("base", "drop_interventions", "drop_survey")


def _apply_variant(raw: dict, source: str, folder: Path | None) -> dict:
    """Build a scenario from ``[variant] base = ...``: drop named interventions, add and override.

    A variant file holds ``[variant]`` (``base``: a built-in name or a path relative to the file;
    ``drop_interventions``: ids of the base's interventions to remove; ``drop_survey``), a
    ``[scenario]`` section, and optionally ``[[interventions]]`` to add and ``[parameters]`` to
    override. Added interventions follow the base's, so error paths index the merged list.
    """
    spec = raw.pop("variant")
    if not isinstance(spec, dict) or "base" not in spec:
        raise ScenarioError(source, [Problem("variant.base", "required key is missing")])
    allowed = {"scenario", "interventions", "parameters", "survey", "run"}
    problems = [
        Problem(f"variant.{k}", f"unknown key '{k}'; valid keys are: {', '.join(_VARIANT_KEYS)}")
        for k in spec
        if k not in _VARIANT_KEYS
    ]
    problems += [
        Problem(k, f"a variant may only set: {', '.join(sorted(allowed))}")
        for k in raw
        if k not in allowed
    ]
    drop = spec.get("drop_interventions", [])
    if not isinstance(drop, list) or not all(isinstance(d, str) for d in drop):
        problems.append(Problem("variant.drop_interventions", "must be a list of intervention ids"))
        drop = []
    if not isinstance(spec.get("drop_survey", False), bool):
        problems.append(Problem("variant.drop_survey", "must be true or false"))
    if problems:
        raise ScenarioError(source, problems)
    base_name = str(spec["base"])
    if base_name in builtin_names():
        base = tomllib.loads(builtin_text(base_name))
    else:
        path = (folder or Path.cwd()) / base_name
        if not path.is_file():
            raise ScenarioError(
                source,
                [
                    Problem(
                        "variant.base",
                        f"'{base_name}' is neither a "
                        f"built-in ({', '.join(builtin_names())}) "
                        "nor a file",
                    )
                ],
            )
        base = tomllib.loads(path.read_text("utf-8"))
    if "variant" in base:
        raise ScenarioError(source, [Problem("variant.base", "a base may not itself be a variant")])
    ids = [iv.get("id") for iv in base.get("interventions", [])]
    problems = [
        Problem(
            f"variant.drop_interventions[{k}]",
            f"'{d}' is not an intervention id of the "
            f"base; ids are: {', '.join(i for i in ids if i)}",
        )
        for k, d in enumerate(drop)
        if d not in ids
    ]
    if problems:
        raise ScenarioError(source, problems)
    merged = dict(base)
    merged["interventions"] = [
        iv for iv in base.get("interventions", []) if iv.get("id") not in drop
    ] + list(raw.get("interventions", []))
    merged["parameters"] = {**base.get("parameters", {}), **raw.get("parameters", {})}
    for key in ("scenario", "survey", "run"):
        if key in raw:
            merged[key] = raw[key]
    if spec.get("drop_survey", False):
        merged.pop("survey", None)
    return merged


def parse_text(text: str, source: str, folder: Path | None = None) -> Scenario:
    """Parse and validate scenario TOML text; ``source`` names it in error messages.

    Raises:
        ScenarioError: With one problem per line if the text is not a valid scenario.
    """
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(source, [Problem("", f"not valid TOML: {exc}")]) from None
    if "variant" in raw:
        raw = _apply_variant(raw, source, folder)
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
    return parse_text(path.read_text("utf-8"), path.name, path.parent)
