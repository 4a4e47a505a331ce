"""The model's parameter registry, loaded from data: each mechanism's parameters sit beside it.

Every mechanism module ``mechanisms/<name>.py`` that reads parameters has a
``mechanisms/<name>.toml`` with one row a line per parameter it reads: default, unit, prior
range, a source key and what the parameter does. Sources are keyed tables (``[sources]``) in
the same files; a key may be used by any mechanism. The files are read in tick order
(``phases.PHASE_ORDER``), so the flat parameter vector every kernel reads (positions ``IDX``) is
grouped by mechanism. The behavioural set calibrated on Bergen (``calibrated.toml``) then replaces
the starting values it names: those are the defaults every city runs with, so a new city's file
need not (and should not) restate behaviour.

This module imports no Numba and compiles nothing: validating a scenario file only needs the names,
units and ranges. ``parameter_readers`` finds which model modules read which parameter by parsing
their source (``ast``) for ``IDX["name"]``, so a test can check that every parameter is read by the
mechanism that declares it.
"""

from __future__ import annotations

import ast
import functools
import tomllib
from dataclasses import dataclass, replace
from pathlib import Path

from scenelab.model.phases import PHASE_ORDER

MODEL_DIR = Path(__file__).parent
MECHANISM_DIR = MODEL_DIR / "mechanisms"
#: The behavioural parameter set every city runs with (values replace the mechanism files').
CALIBRATED_FILE = MODEL_DIR / "calibrated.toml"
_ROW_KEYS = frozenset({"default", "unit", "low", "high", "source", "text"})


@dataclass(frozen=True)
class ParamSpec:
    """One model parameter.

    Attributes:
        name: Identifier used in scenario files, overrides and experiment designs.
        default: Default value in ``unit``.
        unit: Canonical unit (``per_hour``, ``per_day``, ``per_year``, ``hours``, ``days``, ``km``,
            ``probability``, ``multiplier``, ``utility``, ``count``, ``NOK``, ``sd``).
        low: Lower end of the prior range.
        high: Upper end of the prior range.
        mechanism: The mechanism module that declares (and reads) it.
        source: Where its form or value comes from.
        description: What it does, in one sentence.
        start: The value in the mechanism's file, from ``source``, before the calibrated set
            (``calibrated.toml``) replaced it; equal to ``default`` where nothing was calibrated.
        calibrated: Whether ``default`` comes from the calibrated behavioural set.
    """

    name: str
    default: float
    unit: str
    low: float
    high: float
    mechanism: str
    source: str
    description: str
    start: float = float("nan")
    calibrated: bool = False


def load_parameters(
    directory: Path = MECHANISM_DIR,
    calibrated: Path | None = CALIBRATED_FILE,
) -> tuple[tuple[ParamSpec, ...], dict[str, str]]:
    """Read every mechanism's parameter file, in tick order, check it, apply the calibrated set.

    Args:
        directory: The folder of the mechanism modules and their ``.toml`` files.
        calibrated: The calibrated behavioural set (``[values]``), whose values become the
            defaults every scenario runs with; ``None`` keeps the mechanism files' values.

    Returns:
        The parameters in registry order and the sources by key.

    Raises:
        ValueError: If a file belongs to no phase, a row has missing or extra fields, a default lies
            outside its prior range, a name or source key is repeated, or a source key is unknown
            or unused; or the calibrated set names an unknown parameter or a value outside its
            prior range.
    """
    stray = sorted(p.stem for p in directory.glob("*.toml") if p.stem not in PHASE_ORDER)
    if stray:
        raise ValueError(f"parameter files of no phase in {directory}: {stray}")
    rows: list[tuple[str, str, dict[str, object]]] = []
    sources: dict[str, str] = {}
    for module in PHASE_ORDER:
        path = directory / f"{module}.toml"
        if not path.exists():
            continue
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        for key, text in data.get("sources", {}).items():
            if key in sources:
                raise ValueError(f"{path.name}: source key '{key}' is defined twice")
            sources[key] = str(text)
        for name, row in data.get("parameters", {}).items():
            if set(row) != _ROW_KEYS:
                raise ValueError(f"{path.name}: {name} needs exactly {sorted(_ROW_KEYS)}")
            rows.append((module, name, row))
    specs: list[ParamSpec] = []
    for module, name, row in rows:
        if row["source"] not in sources:
            raise ValueError(f"{module}.toml: {name} cites unknown source '{row['source']}'")
        spec = ParamSpec(
            name=name,
            default=float(row["default"]),
            unit=str(row["unit"]),
            low=float(row["low"]),
            high=float(row["high"]),
            mechanism=module,
            source=sources[str(row["source"])],
            description=str(row["text"]),
        )
        if not spec.low <= spec.default <= spec.high:
            raise ValueError(f"{module}.toml: {name} default lies outside [low, high]")
        specs.append(spec)
    names = [s.name for s in specs]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ValueError(f"parameters declared twice: {repeated}")
    unused = sorted(set(sources) - {str(row["source"]) for _, _, row in rows})
    if unused:
        raise ValueError(f"sources cited by no parameter: {unused}")
    values = calibrated_values(calibrated) if calibrated is not None else {}
    by_name = {s.name: s for s in specs}
    unknown = sorted(set(values) - set(by_name))
    if unknown:
        raise ValueError(f"{calibrated}: unknown parameters {unknown}")
    out = []
    for spec in specs:
        value = values.get(spec.name, spec.default)
        if not spec.low <= value <= spec.high:
            raise ValueError(
                f"{calibrated}: {spec.name} = {value} lies outside its prior range "
                f"[{spec.low}, {spec.high}]"
            )
        out.append(replace(spec, default=value, start=spec.default, calibrated=spec.name in values))
    return tuple(out), sources


def _calibrated_file(path: Path) -> dict[str, object]:
    """Parse the calibrated set."""
    return tomllib.loads(path.read_text(encoding="utf-8"))


def calibrated_values(path: Path = CALIBRATED_FILE) -> dict[str, float]:
    """Return the calibrated behavioural set: parameter name -> value (canonical units)."""
    values = _calibrated_file(path).get("values", {})
    return {name: float(value) for name, value in values.items()}  # type: ignore[union-attr]


@functools.cache
def calibration_name(path: Path = CALIBRATED_FILE) -> str:
    """Return the name of the calibrated behavioural set, read once (every run records it)."""
    meta = _calibrated_file(path).get("calibration", {})
    return str(meta.get("name", "none"))  # type: ignore[union-attr]


PARAMETERS, SOURCES = load_parameters()
IDX: dict[str, int] = {p.name: i for i, p in enumerate(PARAMETERS)}
BY_NAME: dict[str, ParamSpec] = {p.name: p for p in PARAMETERS}


def names_read(source: str) -> set[str]:
    """Return the parameter names a module's source reads as ``IDX["name"]`` (parsed, not matched).

    Args:
        source: Python source text.

    Returns:
        The string keys of every subscript of a name ``IDX``.
    """
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if (
            isinstance(node, ast.Subscript)
            and isinstance(node.value, ast.Name)
            and node.value.id == "IDX"
            and isinstance(node.slice, ast.Constant)
            and isinstance(node.slice.value, str)
        ):
            found.add(node.slice.value)
    return found


def parameter_readers(model_dir: Path = MODEL_DIR) -> dict[str, list[str]]:
    """Return, per parameter name, the model modules (file stems) whose source reads it.

    Nothing is imported or compiled: each ``.py`` file under ``model_dir`` is parsed.
    """
    readers: dict[str, set[str]] = {}
    for path in sorted(model_dir.rglob("*.py")):
        for name in names_read(path.read_text(encoding="utf-8")):
            readers.setdefault(name, set()).add(path.stem)
    return {name: sorted(mods) for name, mods in readers.items()}
