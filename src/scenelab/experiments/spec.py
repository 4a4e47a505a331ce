"""Closed schemas for experiment and calibration files (TOML).

A file is parsed with :mod:`tomllib` (data only — nothing is evaluated) into
frozen pydantic models that forbid unknown keys. Every problem is reported as
a :class:`SpecError` naming the file, the key path (``design.parameters.b_risk.low``)
and, where there is a closed set, the valid choices. Checks that need the
model (do these parameters exist? what are their default ranges?) run in
:func:`resolve_parameters` / :func:`check_overrides`, once, before anything runs.
"""

from __future__ import annotations

import datetime as dt
import difflib
import typing
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, model_validator

from scenelab import tomlfile
from scenelab.errors import ScenelabError
from scenelab.experiments.models import ParamRange, builtin_model_names
from scenelab.pydantic_errors import problems

ModelName = Literal["scenelab", "ishigami", "linear", "toy"]
DesignKind = Literal["baseline", "grid", "lhs", "morris", "sobol"]
assert set(typing.get_args(ModelName)) == set(builtin_model_names())


class SpecError(ScenelabError, ValueError):
    """An experiment or calibration file is invalid.

    Attributes:
        file: The file (or ``"<spec>"`` for specs built in code).
        problems: ``(key path, message)`` pairs, one per problem.
    """

    def __init__(self, file: str | Path | None, problems: Sequence[tuple[str, str]]) -> None:
        self.file = str(file) if file is not None else "<spec>"
        self.problems = list(problems)
        lines = [
            f"{self.file}: {path}: {msg}" if path else f"{self.file}: {msg}"
            for path, msg in self.problems
        ]
        super().__init__("\n".join(lines))


MAX_DESIGN_N = 2**16
"""Largest design size ``n`` (lhs points, morris trajectories, sobol base samples)."""
MAX_RUNS = 10_000_000
"""Most runs one experiment may plan (arms x design points x replicates)."""


class _Closed(BaseModel):
    # Same rules as scenario files: strict types (no "0.5" for 0.5, dates as TOML dates) and
    # finite numbers only, so a NaN override is refused before any run instead of stored as "ok".
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)


# --------------------------------------------------------------------------- experiment files


class ParameterRange(_Closed):
    """A parameter varied by the design.

    For ``lhs``/``morris``/``sobol`` give ``low``/``high`` (default: the model's
    range). For ``grid`` give ``values`` or ``levels`` evenly spaced points
    between ``low`` and ``high``.
    """

    low: float | None = None
    high: float | None = None
    levels: int | None = Field(default=None, ge=2, le=1_000)
    values: list[float] | None = Field(default=None, min_length=1, max_length=1_000)

    @model_validator(mode="after")
    def _check(self) -> ParameterRange:
        if self.low is not None and self.high is not None and not self.low < self.high:
            raise ValueError(f"low must be < high (got low={self.low}, high={self.high})")
        if self.values is not None and (self.low is not None or self.high is not None):
            raise ValueError("give either values or low/high, not both")
        return self


class Arm(_Closed):
    """One compared arm: a scenario plus fixed parameter overrides."""

    name: str = Field(pattern=r"^[A-Za-z0-9_.\-]+$", max_length=80)
    scenario: str = Field(min_length=1)
    overrides: dict[str, float] = Field(default_factory=dict)


class Design(_Closed):
    """The parameter design crossed with every arm."""

    kind: DesignKind = "baseline"
    n: int | None = Field(
        default=None,
        ge=1,
        le=MAX_DESIGN_N,
        description="lhs: points; morris: trajectories; sobol: base samples (power of 2)",
    )
    levels: int = Field(default=4, ge=2, le=1_000, description="morris: grid levels")
    second_order: bool = Field(default=False, description="sobol: also second-order indices")
    seed: int | None = Field(
        default=None, ge=0, lt=2**32, description="sampler seed (default: experiment seed)"
    )
    parameters: dict[str, ParameterRange] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _check(self) -> Design:
        if self.kind == "baseline":
            if self.parameters:
                raise ValueError(
                    "kind 'baseline' takes no parameters; use grid, lhs, morris or sobol"
                )
            return self
        if not self.parameters:
            raise ValueError(f"kind {self.kind!r} needs at least one entry in design.parameters")
        if self.kind == "grid":
            if self.n is not None:
                raise ValueError("grid takes values or levels per parameter, not n")
            for name, p in self.parameters.items():
                if p.values is None and p.levels is None:
                    raise ValueError(f"grid parameter {name!r} needs values = [...] or levels = N")
            return self
        for name, p in self.parameters.items():
            if p.values is not None or p.levels is not None:
                raise ValueError(
                    f"parameter {name!r}: values/levels are for grid designs; "
                    f"{self.kind} takes low/high"
                )
        if self.n is None:
            raise ValueError(f"kind {self.kind!r} needs n")
        if self.kind == "sobol" and self.n & (self.n - 1):
            raise ValueError(f"sobol needs n a power of 2 (got {self.n})")
        return self


class Sensitivity(_Closed):
    """Which outcomes to analyse after a morris or sobol design."""

    outputs: list[str] = Field(min_length=1)
    resamples: int = Field(default=1000, ge=10, le=100_000, description="bootstrap resamples")
    conf_level: float = Field(default=0.95, gt=0.0, lt=1.0)


class ExperimentSection(_Closed):
    """The ``[experiment]`` table."""

    name: str = Field(pattern=r"^[A-Za-z0-9_.\-]+$", max_length=80)
    description: str = ""
    model: ModelName = "scenelab"
    seed: int = Field(default=0, ge=0, lt=2**32, description="base seed of the replicates")
    replicates: int = Field(default=1, ge=1, le=10_000)
    until: dt.date | None = Field(default=None, description="scenelab: stop runs at this date")
    batch_size: int = Field(
        default=1, ge=1, le=100_000, description="runs per Dask task (cheap models)"
    )
    store_tables: list[str] | None = Field(
        default=None, description="tidy tables to keep (default: all the model returns)"
    )


class ExperimentSpec(_Closed):
    """A whole experiment file."""

    experiment: ExperimentSection
    arms: list[Arm] = Field(min_length=1)
    design: Design = Field(default_factory=Design)
    sensitivity: Sensitivity | None = None

    _source: Path | None = PrivateAttr(default=None)
    _label: str | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _check(self) -> ExperimentSpec:
        names = [a.name for a in self.arms]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"arm names must be unique; repeated: {', '.join(dupes)}")
        seen: dict[tuple[str, tuple[tuple[str, float], ...]], str] = {}
        for arm in self.arms:
            key = (arm.scenario, tuple(sorted(arm.overrides.items())))
            if key in seen:
                raise ValueError(
                    f"arms {seen[key]!r} and {arm.name!r} are identical (same scenario and "
                    "overrides); they would share every run"
                )
            seen[key] = arm.name
            both = sorted(set(arm.overrides) & set(self.design.parameters))
            if both:
                raise ValueError(
                    f"arm {arm.name!r} fixes {', '.join(both)}, which the design also varies"
                )
        if self.sensitivity is not None and self.design.kind not in ("morris", "sobol"):
            raise ValueError(
                f"[sensitivity] needs design.kind 'morris' or 'sobol' (got {self.design.kind!r})"
            )
        return self

    @property
    def source(self) -> Path | None:
        """The file this spec was read from, if any."""
        return self._source

    @property
    def label(self) -> str | None:
        """How error messages name this spec (its file, or the label it was parsed with)."""
        return str(self._source) if self._source is not None else self._label

    @property
    def base_dir(self) -> Path:
        """Directory that relative scenario paths are resolved against."""
        return self._source.parent if self._source is not None else Path.cwd()


# --------------------------------------------------------------------------- calibration files


class Prior(_Closed):
    """A calibrated parameter: uniform prior on [low, high] (default: the model's range)."""

    low: float | None = None
    high: float | None = None

    @model_validator(mode="after")
    def _check(self) -> Prior:
        if self.low is not None and self.high is not None and not self.low < self.high:
            raise ValueError(f"low must be < high (got low={self.low}, high={self.high})")
        return self


class Target(_Closed):
    """An observed summary statistic and the scale its distance is measured in."""

    value: float
    scale: float = Field(default=1.0, gt=0.0)


class CalibrationSection(_Closed):
    """The ``[calibration]`` table."""

    name: str = Field(pattern=r"^[A-Za-z0-9_.\-]+$", max_length=80)
    description: str = ""
    model: ModelName = "scenelab"
    scenario: str = "bergen"
    until: dt.date | None = None
    population_size: int = Field(default=100, ge=5, le=100_000)
    max_generations: int = Field(default=8, ge=1, le=1_000)
    min_epsilon: float = Field(default=0.0, ge=0.0)
    min_acceptance_rate: float = Field(
        default=0.0,
        ge=0.0,
        lt=1.0,
        description="converged when a generation accepts fewer of its simulations than this",
    )
    min_epsilon_diff: float = Field(
        default=0.0,
        ge=0.0,
        description="converged when epsilon changes by less than this between two generations "
        "(pyabc's min_eps_diff, in units of the scaled distance)",
    )
    patterns: str | None = Field(
        default=None,
        description="pattern figures as targets: a scenario (built-in name or file) whose "
        "pattern file defines them, or a .patterns.toml file",
    )
    max_walltime_minutes: float | None = Field(default=None, gt=0)
    max_simulations: int | None = Field(default=None, ge=1, le=MAX_RUNS)
    posterior_predictive: int = Field(
        default=100, ge=0, le=100_000, description="runs in the predictive check"
    )
    seed: int = Field(default=0, ge=0, lt=2**32, description="seed of the predictive check")
    batch_size: int = Field(default=1, ge=1, le=100_000)


class CalibrationSpec(_Closed):
    """A whole calibration file."""

    calibration: CalibrationSection
    parameters: dict[str, Prior] = Field(min_length=1)
    targets: dict[str, Target] = Field(min_length=1)
    fixed: dict[str, float] = Field(default_factory=dict)

    _source: Path | None = PrivateAttr(default=None)
    _label: str | None = PrivateAttr(default=None)

    @model_validator(mode="before")
    @classmethod
    def _flatten_targets(cls, data: Any) -> Any:  # noqa: ANN401
        # `P2.share = {...}` in [targets] is a TOML dotted key, i.e. a nested table; a pattern
        # figure's target is named "P2.share".
        if not isinstance(data, Mapping) or not isinstance(data.get("targets"), Mapping):
            return data
        flat: dict[str, Any] = {}
        for name, value in data["targets"].items():
            nested = (
                isinstance(value, Mapping)
                and bool(value)
                and not {"value", "scale"} & set(value)
                and all(isinstance(v, Mapping) for v in value.values())
            )
            if nested:
                for inner, target in value.items():
                    flat[f"{name}.{inner}"] = target
            else:
                flat[name] = value
        return {**data, "targets": flat}

    @model_validator(mode="after")
    def _check(self) -> CalibrationSpec:
        dotted = sorted(name for name in self.targets if "." in name)
        if dotted and self.calibration.patterns is None:
            raise ValueError(
                f"targets {', '.join(dotted)} name pattern figures (PATTERN.figure); "
                "set calibration.patterns to the scenario whose pattern file defines them"
            )
        both = sorted(set(self.fixed) & set(self.parameters))
        if both:
            raise ValueError(f"{', '.join(both)} both fixed and calibrated")
        return self

    @property
    def source(self) -> Path | None:
        """The file this spec was read from, if any."""
        return self._source

    @property
    def label(self) -> str | None:
        """How error messages name this spec (its file, or the label it was parsed with)."""
        return str(self._source) if self._source is not None else self._label

    @property
    def base_dir(self) -> Path:
        """Directory that relative scenario paths are resolved against."""
        return self._source.parent if self._source is not None else Path.cwd()


# --------------------------------------------------------------------------- loading


def _problems(root: type[BaseModel], exc: ValidationError) -> list[tuple[str, str]]:
    return problems(root, exc, id_hint="use only letters, digits, '.', '_' and '-'")


def _parse(cls: type[BaseModel], data: Mapping[str, Any], file: str | Path | None) -> Any:  # noqa: ANN401
    try:
        return cls.model_validate(data)
    except ValidationError as exc:
        raise SpecError(file, _problems(cls, exc)) from None


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomlfile.read(path)
    except tomlfile.TomlProblem as exc:
        raise SpecError(path, [(exc.path, exc.message)]) from None


def parse_experiment(data: Mapping[str, Any], file: str | Path | None = None) -> ExperimentSpec:
    """Validate experiment data already read from a file or built in code.

    Args:
        data: The parsed TOML content.
        file: Where it came from (for messages only; relative scenario paths
            resolve against the working directory).

    Returns:
        The validated spec.

    Raises:
        SpecError: Naming the file, key path and valid choices for every problem.
    """
    spec: ExperimentSpec = _parse(ExperimentSpec, data, file)
    spec._label = str(file) if file is not None else None
    return spec


def load_experiment(path: str | Path) -> ExperimentSpec:
    """Read and validate an experiment file.

    Args:
        path: A ``.toml`` experiment file.

    Returns:
        The validated spec.

    Raises:
        SpecError: If the file cannot be read, is not TOML or does not fit the schema.
    """
    path = Path(path)
    spec = parse_experiment(_read_toml(path), path)
    spec._source = path.resolve()
    return spec


def parse_calibration(data: Mapping[str, Any], file: str | Path | None = None) -> CalibrationSpec:
    """Validate calibration data already read from a file or built in code.

    Args:
        data: The parsed TOML content.
        file: Where it came from (for messages only).

    Returns:
        The validated spec.

    Raises:
        SpecError: Naming the file, key path and valid choices for every problem.
    """
    spec: CalibrationSpec = _parse(CalibrationSpec, data, file)
    spec._label = str(file) if file is not None else None
    return spec


def load_calibration(path: str | Path) -> CalibrationSpec:
    """Read and validate a calibration file.

    Args:
        path: A ``.toml`` calibration file.

    Returns:
        The validated spec.

    Raises:
        SpecError: If the file cannot be read, is not TOML or does not fit the schema.
    """
    path = Path(path)
    spec = parse_calibration(_read_toml(path), path)
    spec._source = path.resolve()
    return spec


# --------------------------------------------------------------------------- model-aware checks


# A varied parameter with its range settled (file value or model default) is a ``ParamRange``
# (``values`` set for grid designs): one name for a parameter range across the layer.
ResolvedParameter = ParamRange  # the name older code and notebooks used


def _unknown(name: str, valid: Iterable[str]) -> str:
    valid = sorted(valid)
    hint = difflib.get_close_matches(name, valid, n=1)
    msg = "unknown parameter"
    if hint:
        msg += f" (did you mean {hint[0]!r}?)"
    return msg + f"; valid choices: {', '.join(valid)}"


def check_overrides(
    overrides: Mapping[str, float],
    known: Mapping[str, ParamRange],
    file: str | Path | None,
    path: str,
) -> None:
    """Check fixed overrides name known parameters.

    Args:
        overrides: Parameter values.
        known: The model's parameters (empty: the model declares none, nothing to check).
        file: For messages.
        path: Key path of the overrides table.

    Raises:
        SpecError: For every unknown name.
    """
    if not known:
        return
    problems = [(f"{path}.{k}", _unknown(k, known)) for k in overrides if k not in known]
    if problems:
        raise SpecError(file, problems)


def check_values(
    model: Any,  # noqa: ANN401 - a Model (imported lazily by callers)
    values: Mapping[str, float],
    file: str | Path | None,
    path: str,
    keyed: bool = True,
) -> None:
    """Check parameter values against the model's own rules, before anything runs.

    Args:
        model: The model; its ``value_problem(name, value)`` says why a value is invalid.
        values: Parameter values.
        file: For messages.
        path: Key path of the values table (or of the one value, with ``keyed=False``).
        keyed: Whether ``path`` names the table (append the name) or the value itself.

    Raises:
        SpecError: For every invalid value (e.g. outside a probability's 0..1).
    """
    problems = []
    for name, value in values.items():
        message = model.value_problem(name, value)
        if message is not None:
            problems.append((f"{path}.{name}" if keyed else path, message))
    if problems:
        raise SpecError(file, problems)


def resolve_parameters(
    wanted: Mapping[str, ParameterRange | Prior],
    known: Mapping[str, ParamRange],
    file: str | Path | None,
    path: str,
) -> list[ParamRange]:
    """Settle each varied parameter's range, falling back to the model's.

    Args:
        wanted: Parameters from the file.
        known: The model's parameters (may be empty for undeclared function models).
        file: For messages.
        path: Key path of the parameters table.

    Returns:
        The parameters in file order with low/high (and grid values) filled in.

    Raises:
        SpecError: For unknown names, missing ranges or an empty range.
    """
    problems: list[tuple[str, str]] = []
    out: list[ParamRange] = []
    for name, p in wanted.items():
        key = f"{path}.{name}"
        if known and name not in known:
            problems.append((key, _unknown(name, known)))
            continue
        values = getattr(p, "values", None)
        if values is not None:
            out.append(ParamRange(name, min(values), max(values), values=tuple(values)))
            continue
        low = p.low if p.low is not None else (known[name].low if name in known else None)
        high = p.high if p.high is not None else (known[name].high if name in known else None)
        if low is None or high is None:
            problems.append((key, "needs low and high (the model declares no range for it)"))
            continue
        if not low < high:
            problems.append((key, f"low must be < high (got low={low}, high={high})"))
            continue
        levels = getattr(p, "levels", None)
        grid = None
        if levels is not None:
            step = (high - low) / (levels - 1)
            grid = tuple(low + i * step for i in range(levels))
        out.append(ParamRange(name, float(low), float(high), values=grid))
    if problems:
        raise SpecError(file, problems)
    return out
