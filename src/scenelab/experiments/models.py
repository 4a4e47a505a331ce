"""The model seam as the experiments layer sees it: a named, picklable model.

Everything in ``scenelab.experiments`` talks to a :class:`Model`: prepare a
scenario once on the client (name + content hash + whatever the workers need),
then run ``(scenario, params, seed, replicate) -> RunOutput`` on any worker.
The real simulation is one adapter (:class:`ScenelabModel`, which calls
``scenelab.run``); any plain function ``(params, seed) -> outcomes`` is another
(:class:`FunctionModel`), so known-answer functions such as Ishigami go through
exactly the same runner, store and analysis path as scenelab runs.

Models are sent to Dask workers by pickle, so they hold configuration only,
never open files, clients or caches that cannot travel.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from scenelab.experiments import toys
from scenelab.experiments.ranges import ParamRange

ModelFunction = Callable[[Mapping[str, float], int], Mapping[str, float]]
"""A plain model function: parameter values and a seed in, named scalar outcomes out."""


@dataclass(frozen=True)
class PreparedScenario:
    """A scenario resolved once on the client, ready to ship to workers.

    Attributes:
        ref: The scenario as the user wrote it (built-in name or path).
        name: The scenario's own name.
        scenario_hash: Content hash; part of every run key.
        payload: What :meth:`Model.run` needs (e.g. a loaded ``Scenario``); pickled to workers.
    """

    ref: str
    name: str
    scenario_hash: str
    payload: Any = None


@dataclass
class RunOutput:
    """What one model run hands back to the experiments layer.

    Attributes:
        outcomes: Named scalar outcomes (``Results.outcomes`` for scenelab).
        tables: Tidy tables by name (``site_day``, ``neighbourhood_month`` for scenelab).
        summary: Free-form JSON-able summary (``Results.summary`` for scenelab).
    """

    outcomes: dict[str, float]
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    summary: dict[str, Any] | None = None


class Model(ABC):
    """A model the experiments layer can run: the seam, seen from above."""

    #: Short name; part of the run key, so two models never share stored runs.
    name: str = "model"
    #: Names of the tidy tables :meth:`run` returns (used to validate ``store_tables``).
    table_names: tuple[str, ...] = ()

    @abstractmethod
    def prepare(self, scenario: str, base_dir: Path | None = None) -> PreparedScenario:
        """Resolve a scenario reference on the client.

        Args:
            scenario: Built-in scenario name or path to a scenario file.
            base_dir: Directory relative paths are resolved against.

        Returns:
            The prepared scenario, with its content hash.
        """

    @abstractmethod
    def parameters(self, scenario: PreparedScenario) -> dict[str, ParamRange]:
        """Parameters that may be overridden, with their ranges.

        Args:
            scenario: A prepared scenario.

        Returns:
            Mapping of parameter name to its range.
        """

    @abstractmethod
    def run(
        self,
        scenario: PreparedScenario,
        params: Mapping[str, float],
        seed: int,
        replicate: int,
    ) -> RunOutput:
        """Run the model once.

        Args:
            scenario: A prepared scenario.
            params: Parameter overrides in canonical units.
            seed: Run seed; the same seed gives the same outputs.
            replicate: Replicate index (provenance only for function models).

        Returns:
            The run's outcomes and tables.
        """

    def value_problem(self, name: str, value: float) -> str | None:
        """Say why ``value`` is not a valid value of parameter ``name``, or return None.

        The default accepts any finite number; a model with stricter rules overrides it.

        Args:
            name: A parameter name.
            value: Its value.

        Returns:
            The reason, or ``None`` if the value is valid.
        """
        if isinstance(value, bool) or not isinstance(value, int | float):
            return f"{value!r} is not a number"
        return None if math.isfinite(value) else f"{value!r} is not a finite number"

    def config(self) -> dict[str, Any]:
        """Model options that change results (part of every run key).

        Returns:
            A JSON-able mapping; empty by default.
        """
        return {}


def _hash_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class FunctionModel(Model):
    """Adapter for a plain model function ``(params, seed) -> outcomes``.

    Declared parameters give defaults (filled in before the call) and ranges
    (used by designs and priors when the experiment file gives none).
    The scenario only labels the arm: its hash is the hash of its name.
    """

    def __init__(
        self,
        fn: ModelFunction,
        *,
        name: str | None = None,
        parameters: Mapping[str, ParamRange] | None = None,
    ) -> None:
        """Wrap a model function.

        Args:
            fn: Picklable (module-level) function ``(params, seed) -> outcomes``.
            name: Model name for run keys; defaults to ``module.qualname`` of ``fn``.
            parameters: Declared parameters with ranges and defaults.
        """
        self.fn = fn
        self.name = name or f"{fn.__module__}.{fn.__qualname__}"
        self._parameters = dict(parameters or {})

    def prepare(self, scenario: str, base_dir: Path | None = None) -> PreparedScenario:
        """Label an arm; function models have no scenario content.

        Args:
            scenario: Any label.
            base_dir: Unused.

        Returns:
            A prepared scenario whose hash depends on the model and label.
        """
        return PreparedScenario(
            ref=scenario, name=scenario, scenario_hash=_hash_text(f"{self.name}\0{scenario}")
        )

    def parameters(self, scenario: PreparedScenario) -> dict[str, ParamRange]:
        """Declared parameters.

        Args:
            scenario: Unused.

        Returns:
            The declared parameters.
        """
        return dict(self._parameters)

    def run(
        self,
        scenario: PreparedScenario,
        params: Mapping[str, float],
        seed: int,
        replicate: int,
    ) -> RunOutput:
        """Call the function with defaults filled in.

        Args:
            scenario: Unused beyond labelling.
            params: Overrides.
            seed: Passed to the function.
            replicate: Unused.

        Returns:
            The function's outcomes as floats.
        """
        full = {p.name: p.default for p in self._parameters.values() if p.default is not None}
        full.update(params)
        outcomes = self.fn(full, seed)
        return RunOutput(outcomes={str(k): float(v) for k, v in outcomes.items()})


def _as_date(value: dt.date | str | None) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(value)


class ScenelabModel(Model):
    """Adapter for the real simulation: ``scenelab.load_scenario`` + ``scenelab.run``.

    The scenario is loaded on the client (so relative paths resolve where the
    experiment file is, and remote workers need no copy of it) and shipped to
    workers inside :class:`PreparedScenario`.
    """

    name = "scenelab"
    table_names = ("site_day", "neighbourhood_month", "city_day")

    def __init__(
        self,
        *,
        until: dt.date | str | None = None,
        figures: Mapping[str, Any] | None = None,
    ) -> None:
        """Configure the adapter.

        Args:
            until: Stop every run at this date (inclusive end as ``scenelab.run``
                defines it); ``None`` runs the scenario's full window.
            figures: Pattern figures (``scenelab.patterns.Figure``) by name, measured on
                every run's tables and added to its outcomes under that name (the same code
                as ``scenelab patterns``).
        """
        self.until = _as_date(until)
        self.figures = dict(figures or {})

    def config(self) -> dict[str, Any]:
        """Options that change results.

        Returns:
            ``{"until": ISO date or None}``, plus ``"figures"`` when pattern figures are measured.
        """
        out: dict[str, Any] = {"until": self.until.isoformat() if self.until else None}
        if self.figures:
            out["figures"] = {k: f.model_dump(mode="json") for k, f in self.figures.items()}
        return out

    def value_problem(self, name: str, value: float) -> str | None:
        """Say why ``value`` is not valid for parameter ``name`` (scenario-file rules), or None.

        Args:
            name: A parameter name.
            value: Its value in canonical units.

        Returns:
            The reason, or ``None`` if the value is valid.
        """
        from scenelab.scenario.validate import parameter_problem

        return parameter_problem(name, value)

    def prepare(self, scenario: str, base_dir: Path | None = None) -> PreparedScenario:
        """Load a built-in scenario or a scenario file.

        Args:
            scenario: Built-in name (``"bergen"``) or path to a ``.toml`` file.
            base_dir: Directory relative paths are resolved against.

        Returns:
            The prepared scenario carrying the loaded ``Scenario``.
        """
        import scenelab

        ref: str | Path = scenario
        looks_like_path = scenario.endswith((".toml", ".yaml", ".yml")) or "/" in scenario
        if looks_like_path:
            path = Path(scenario)
            if not path.is_absolute() and base_dir is not None:
                path = base_dir / path
            ref = path
        scn = scenelab.load_scenario(ref)
        if self.until is not None:
            from scenelab.api import check_until

            check_until(scn, self.until)
        return PreparedScenario(
            ref=scenario, name=scn.name, scenario_hash=scn.scenario_hash, payload=scn
        )

    def parameters(self, scenario: PreparedScenario) -> dict[str, ParamRange]:
        """Parameters from ``scenelab.parameters(scn)``.

        Args:
            scenario: A prepared scenario.

        Returns:
            Mapping of name to range (low/high are the calibration priors).
        """
        import scenelab

        out: dict[str, ParamRange] = {}
        for name, spec in scenelab.parameters(scenario.payload).items():
            out[name] = ParamRange(
                name=name,
                low=float(spec.low),
                high=float(spec.high),
                default=None if spec.default is None else float(spec.default),
                unit=str(getattr(spec, "unit", "") or ""),
                description=str(getattr(spec, "description", "") or ""),
            )
        return out

    def run(
        self,
        scenario: PreparedScenario,
        params: Mapping[str, float],
        seed: int,
        replicate: int,
    ) -> RunOutput:
        """Run the simulation once.

        Args:
            scenario: A prepared scenario.
            params: Overrides in canonical units.
            seed: Run seed.
            replicate: Replicate index.

        Returns:
            Outcomes, the ``site_day``, ``neighbourhood_month`` (and ``city_day``) tables
            and the summary.
        """
        import scenelab
        from scenelab.outputs import strict_json

        res = scenelab.run(
            scenario.payload,
            seed=int(seed),
            overrides=dict(params),
            until=self.until,
            replicate=int(replicate),
            progress=False,
        )
        outcomes = {}
        for key, value in res.outcomes.items():
            try:
                outcomes[str(key)] = float(value)
            except (TypeError, ValueError):
                continue
        if self.figures:
            from scenelab.patterns import measure_figure

            for key, fig in self.figures.items():
                outcomes[key] = float(measure_figure(fig, res, scenario.payload))
        tables = {"site_day": res.site_day, "neighbourhood_month": res.neighbourhood_month}
        city_day = getattr(res, "city_day", None)  # beyond docs/CONTRACT.md; kept when present
        if city_day is not None:
            tables["city_day"] = city_day
        return RunOutput(outcomes=outcomes, tables=tables, summary=strict_json(res.summary))


def builtin_model_names() -> tuple[str, ...]:
    """Names accepted by :func:`builtin_model` (and by ``model =`` in files).

    Returns:
        The valid model names.
    """
    return ("scenelab", "ishigami", "linear", "toy")


def builtin_model(name: str, *, until: dt.date | str | None = None) -> Model:
    """Look up a model by the name used in experiment and calibration files.

    Args:
        name: One of :func:`builtin_model_names`.
        until: End date for scenelab runs (ignored by the toy models).

    Returns:
        The model.

    Raises:
        ValueError: If the name is unknown; the message lists valid names.
    """
    if name == "scenelab":
        return ScenelabModel(until=until)
    if name == "ishigami":
        return FunctionModel(toys.ishigami, name="ishigami", parameters=toys.ISHIGAMI_PARAMETERS)
    if name == "linear":
        return FunctionModel(toys.linear, name="linear", parameters=toys.LINEAR_PARAMETERS)
    if name == "toy":
        return FunctionModel(toys.toy, name="toy", parameters=toys.TOY_PARAMETERS)
    raise ValueError(f"unknown model {name!r}; valid choices: {', '.join(builtin_model_names())}")
