"""Load scenarios from built-in names or files, with every problem reported at once."""

from __future__ import annotations

import hashlib
import json
import re
from importlib import resources
from pathlib import Path

import pydantic

from scenelab import tomlfile
from scenelab.scenario.errors import Problem, ScenarioError, ScenarioNotFound
from scenelab.scenario.schema import Scenario
from scenelab.scenario.validate import check_references, pydantic_problems

_BUILTIN_PACKAGE = "scenelab.scenario.builtin"
_TEMPLATES = "scenelab.scenario.templates"


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


def new_city_text(name: str, title: str | None = None) -> str:
    """Return a small, commented starting scenario named ``name`` (``scenelab new``).

    Raises:
        ScenarioError: If ``name`` is not a valid scenario name.
    """
    if not re.fullmatch(r"[a-z][a-z0-9_-]{0,63}", name):
        raise ScenarioError(
            f"{name}.toml",
            [Problem("scenario.name", f"{name!r} is not a valid name: use lower-case ASCII "
                     "letters, digits, _ and -, starting with a letter (at most 64)")],
        )  # fmt: skip
    title = " ".join((title or f"{name}: a new city").split())[:200]
    text = resources.files(_TEMPLATES).joinpath("new_city.toml").read_text("utf-8")
    text = text.replace('"{title}"', json.dumps(title, ensure_ascii=False))
    return text.replace("{title}", title).replace("{name}", name)


_VARIANT_KEYS = ("base", "drop_interventions", "drop_survey")


def _read_file(path: Path, source: str) -> dict:
    """Read a scenario file as UTF-8 TOML, turning every read problem into a ScenarioError."""
    try:
        return tomlfile.read(path)
    except tomlfile.TomlProblem as exc:
        raise ScenarioError(source, [Problem(exc.path, exc.message)]) from None


def _parse_raw(text: str, source: str) -> dict:
    try:
        return tomlfile.loads(text)
    except tomlfile.TomlProblem as exc:
        raise ScenarioError(source, [Problem(exc.path, exc.message)]) from None


def _resolve_base(base_name: object, source: str, folder: Path | None) -> tuple[dict, str, Path]:
    """Return the raw base scenario of a variant, its name in messages, and its folder.

    A base is a built-in name or a ``.toml`` path relative to the variant file; it is read and
    validated exactly like any scenario file (errors name the base file).
    """
    if not isinstance(base_name, str) or not base_name:
        raise ScenarioError(
            source, [Problem("variant.base", "must be a built-in name or a .toml file path")]
        )
    if base_name in builtin_names():
        text = builtin_text(base_name)
        raw = _parse_raw(text, f"{base_name}.toml")
        _validate(dict(raw), f"{base_name}.toml", None)
        return raw, f"{base_name}.toml", Path.cwd()
    candidate = Path(base_name)
    if candidate.is_absolute() or candidate.suffix.lower() != ".toml":
        raise ScenarioError(
            source,
            [
                Problem(
                    "variant.base",
                    f"'{base_name}' must be a built-in ({', '.join(builtin_names())}) or a "
                    "relative path to a .toml scenario file beside the variant",
                )
            ],
        )
    path = (folder or Path.cwd()) / candidate
    if not path.is_file():
        raise ScenarioError(
            source,
            [
                Problem(
                    "variant.base",
                    f"'{base_name}' is neither a built-in ({', '.join(builtin_names())}) "
                    f"nor a file (looked for {path})",
                )
            ],
        )
    raw = _read_file(path, path.name)
    if "variant" in raw:
        raise ScenarioError(source, [Problem("variant.base", "a base may not itself be a variant")])
    _validate(dict(raw), path.name, path.parent)  # type-checked like any file
    return raw, path.name, path.parent


def _apply_variant(raw: dict, source: str, folder: Path | None) -> dict:
    """Build a scenario from ``[variant] base = ...``: drop named interventions, add and override.

    A variant file holds ``[variant]`` (``base``: a built-in name or a ``.toml`` path relative to
    the file; ``drop_interventions``: ids of the base's interventions to remove; ``drop_survey``),
    a ``[scenario]`` section, and optionally ``[[interventions]]`` to add and ``[parameters]`` to
    override, and ``[[zones]]`` to add (for new expulsion or fine policies). Added interventions
    and zones follow the base's, so error paths index the merged lists. ``[run]``, ``[survey]``,
    ``[population]`` and ``[sellers]`` replace the base's section whole (another period of the
    same city starts with its own scene and market).
    """
    spec = raw.pop("variant")
    if not isinstance(spec, dict) or "base" not in spec:
        raise ScenarioError(source, [Problem("variant.base", "required key is missing")])
    allowed = {
        "scenario",
        "interventions",
        "zones",
        "parameters",
        "survey",
        "run",
        "population",
        "sellers",
    }
    problems = [
        Problem(f"variant.{k}", f"unknown key '{k}'; valid keys: {', '.join(_VARIANT_KEYS)}")
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
    if "interventions" in raw and not (
        isinstance(raw["interventions"], list)
        and all(isinstance(iv, dict) for iv in raw["interventions"])
    ):
        problems.append(Problem("interventions", "must be a list of [[interventions]] tables"))
    if "zones" in raw and not (
        isinstance(raw["zones"], list) and all(isinstance(z, dict) for z in raw["zones"])
    ):
        problems.append(Problem("zones", "must be a list of [[zones]] tables"))
    if "parameters" in raw and not isinstance(raw["parameters"], dict):
        problems.append(Problem("parameters", "must be a [parameters] table"))
    if problems:
        raise ScenarioError(source, problems)
    base, base_source, _ = _resolve_base(spec["base"], source, folder)
    ids = [iv.get("id") for iv in base.get("interventions", [])]
    named = [i for i in ids if i]
    problems = [
        Problem(
            f"variant.drop_interventions[{k}]",
            f"'{d}' is not an intervention id of the base ({base_source}); "
            + (f"ids are: {', '.join(named)}" if named else "the base names none of its "
               "interventions (give them an id = ... to drop them)"),
        )
        for k, d in enumerate(drop)
        if d not in ids
    ]  # fmt: skip
    if problems:
        raise ScenarioError(source, problems)
    merged = dict(base)
    merged["interventions"] = [
        iv for iv in base.get("interventions", []) if iv.get("id") not in drop
    ] + list(raw.get("interventions", []))
    merged["parameters"] = {**base.get("parameters", {}), **raw.get("parameters", {})}
    if "zones" in raw:  # added zones follow the base's (an id used twice is reported as usual)
        merged["zones"] = list(base.get("zones", [])) + list(raw["zones"])
    for key in ("scenario", "survey", "run", "population", "sellers"):
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
    return _validate(_parse_raw(text, source), source, folder)


def _validate(raw: dict, source: str, folder: Path | None) -> Scenario:
    """Validate parsed TOML (merging a variant with its base first) into a Scenario."""
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
    scn._folder = str(folder) if folder is not None else None
    canonical = json.dumps(scn.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    scn._hash = hashlib.sha256(canonical.encode()).hexdigest()
    return scn


def load_scenario(name_or_path: str | Path) -> Scenario:
    """Load a built-in scenario by name (``"bergen"``) or a scenario file by path.

    Raises:
        ScenarioError: If the file is not valid or not readable (one line per problem).
        FileNotFoundError: If it is neither a built-in name nor an existing file.
    """
    text_name = str(name_or_path)
    if not text_name.endswith((".toml", ".TOML")) and text_name in builtin_names():
        return parse_text(builtin_text(text_name), f"{text_name}.toml")
    path = Path(name_or_path)
    if not path.is_file():
        raise ScenarioNotFound(
            f"{text_name}: no such scenario file, and not a built-in "
            f"(built-ins: {', '.join(builtin_names())})"
        )
    try:
        text = tomlfile.decode(path.read_bytes())
    except tomlfile.TomlProblem as exc:
        raise ScenarioError(path.name, [Problem(exc.path, exc.message)]) from None
    except OSError as exc:
        raise ScenarioError(path.name, [Problem("", f"cannot read: {exc.strerror}")]) from None
    return parse_text(text, path.name, path.parent)
