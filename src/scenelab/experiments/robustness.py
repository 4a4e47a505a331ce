"""Robustness maps: an outcome over a site-attribute shift x a behavioural parameter.

A robustness file names a scenario, an outcome (a pattern *figure*, as in a city's
``.patterns.toml``, with a threshold that splits runs into two regimes), a site attribute shifted
by a list of amounts at some (or every) site, and a model parameter with a list of values. Every
cell of that grid is run ``replicates`` times with common random numbers (replicate ``k`` has seed
``seed + k`` in every cell), each run's outcome is stored in ``DIR/experiment.duckdb`` (table
``robustness_runs``) as soon as it finishes, and the per-cell summary (table ``robustness_cells``)
is drawn as a map (:mod:`scenelab.experiments.robustness_map`). Re-running skips stored runs.

Bistability shows as cells where some replicates end in one regime and some in the other
(``0 < share_in_regime < 1``) and as a large across-replicate spread.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator

from scenelab.experiments.spec import MAX_RUNS, SpecError, _parse, _read_toml, _unknown
from scenelab.observe.tables import SITE_DAY_COLUMNS
from scenelab.patterns import Figure, measure_figure

Attribute = Literal["concealment", "hygiene", "footfall", "residential_exposure"]
"""Site attributes a map may shift (all 0-1 fractions; shifted values are clipped to [0, 1])."""

RUNS_TABLE = "robustness_runs"
CELLS_TABLE = "robustness_cells"


class _Closed(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)


class MapSection(_Closed):
    """The ``[robustness]`` table."""

    name: str = Field(pattern=r"^[A-Za-z0-9_.\-]+$", max_length=80)
    description: str = ""
    scenario: str = Field(min_length=1, description="built-in name or file (relative to this file)")
    seed: int = Field(default=1, ge=0, lt=2**32 - 10_000, description="replicate k: seed + k")
    replicates: int = Field(default=3, ge=1, le=10_000)
    until: dt.date | None = None


class Outcome(_Closed):
    """The mapped outcome: one pattern figure and the threshold between two regimes."""

    label: str = Field(default="", max_length=200)
    figure: Figure
    threshold: float = Field(description="regime: outcome > threshold")


class SiteAttribute(_Closed):
    """The x axis: a site attribute shifted by each amount (clipped to 0-1)."""

    attribute: Attribute
    sites: list[str] = Field(default_factory=list, description="site ids; empty: every site")
    shifts: list[float] = Field(min_length=1, max_length=100)

    @model_validator(mode="after")
    def _check(self) -> SiteAttribute:
        if len(set(self.shifts)) != len(self.shifts):
            raise ValueError("shifts must be distinct")
        if any(abs(s) > 1.0 for s in self.shifts):
            raise ValueError("each shift must lie in [-1, 1] (the attribute is a 0-1 fraction)")
        return self


class Parameter(_Closed):
    """The y axis: a model parameter and its values (canonical units)."""

    name: str
    values: list[float] = Field(min_length=1, max_length=100)

    @model_validator(mode="after")
    def _check(self) -> Parameter:
        if len(set(self.values)) != len(self.values):
            raise ValueError("values must be distinct")
        return self


class RobustnessSpec(_Closed):
    """A whole robustness file."""

    robustness: MapSection
    outcome: Outcome
    site_attribute: SiteAttribute
    parameter: Parameter

    @property
    def n_runs(self) -> int:
        """Runs the map needs (cells x replicates)."""
        cells = len(self.site_attribute.shifts) * len(self.parameter.values)
        return cells * self.robustness.replicates

    def digest(self) -> str:
        """A short hash of the spec's content (a stored run belongs to one spec)."""
        text = json.dumps(self.model_dump(mode="json"), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def load_robustness(path: str | Path) -> tuple[RobustnessSpec, Path]:
    """Read and validate a robustness file (data only; nothing is evaluated).

    Args:
        path: The ``.toml`` file.

    Returns:
        The spec and the folder relative scenario paths resolve against.

    Raises:
        SpecError: Naming the file, the key path and what would be valid.
    """
    path = Path(path)
    spec: RobustnessSpec = _parse(RobustnessSpec, _read_toml(path), path)
    if spec.n_runs > MAX_RUNS:
        raise SpecError(path, [("", f"{spec.n_runs} runs planned; at most {MAX_RUNS}")])
    return spec, path.resolve().parent


# -- the scenario of one cell --------------------------------------------------------------------


def load_base(spec: RobustnessSpec, base_dir: Path, file: str | Path | None = None) -> Any:  # noqa: ANN401 - a Scenario
    """Load the spec's scenario and check every id and parameter the spec names against it.

    Raises:
        SpecError: For an unknown site or parameter, an invalid value or ``until``.
        ScenarioError: If the scenario itself is invalid.
    """
    import scenelab
    from scenelab.api import check_until
    from scenelab.scenario.validate import parameter_problem

    ref: str | Path = spec.robustness.scenario
    if str(ref).endswith((".toml", ".TOML")) or "/" in str(ref):
        ref = Path(ref) if Path(ref).is_absolute() else base_dir / ref
    scn = scenelab.load_scenario(ref)
    site_ids = [s.id for s in scn.sites]
    problems: list[tuple[str, str]] = []
    valid = f"valid: {', '.join(site_ids)}"
    for i, sid in enumerate(spec.site_attribute.sites):
        if sid not in site_ids:
            problems.append((f"site_attribute.sites[{i}]", f"unknown site {sid!r} ({valid})"))
    fig = spec.outcome.figure
    for key, sid in (("site", fig.site), ("other", fig.other)):
        if sid is not None and sid not in site_ids:
            problems.append((f"outcome.figure.{key}", f"unknown site {sid!r} ({valid})"))
    for i, sid in enumerate(fig.sites or []):
        if sid not in site_ids:
            problems.append((f"outcome.figure.sites[{i}]", f"unknown site {sid!r} ({valid})"))
    if fig.table == "site_day" and fig.kind in ("mean", "sum"):
        if fig.column not in SITE_DAY_COLUMNS:
            choices = ", ".join(SITE_DAY_COLUMNS)
            problems.append(("outcome.figure.column", f"unknown site_day column {fig.column!r} "
                             f"(valid: {choices})"))  # fmt: skip
    known = scenelab.parameters(scn)
    name = spec.parameter.name
    if name not in known:
        problems.append(("parameter.name", _unknown(name, known)))
    else:
        for i, value in enumerate(spec.parameter.values):
            message = parameter_problem(name, value)
            if message is not None:
                problems.append((f"parameter.values[{i}]", message))
    if problems:
        raise SpecError(file, problems)
    if spec.robustness.until is not None:
        try:
            check_until(scn, spec.robustness.until)
        except ValueError as exc:
            raise SpecError(file, [("robustness.until", str(exc))]) from None
    return scn


def shifted(scenario: Any, attribute: str, sites: list[str], shift: float) -> Any:  # noqa: ANN401
    """Return ``scenario`` with ``attribute`` + ``shift`` (clipped to [0, 1]) at ``sites``.

    Args:
        scenario: A loaded scenario.
        attribute: A 0-1 site attribute (``concealment``, ...).
        sites: Site ids to shift; empty: every site.
        shift: The amount added.

    Returns:
        A new, validated scenario (its own hash), or ``scenario`` itself for a zero shift.
    """
    if shift == 0.0:
        return scenario
    from scenelab.scenario.loader import _validate

    raw = scenario.model_dump(mode="python")
    for site in raw["sites"]:
        if not sites or site["id"] in sites:
            site[attribute] = float(np.clip(site[attribute] + shift, 0.0, 1.0))
    folder = Path(scenario.folder) if scenario.folder is not None else None
    return _validate(raw, scenario.source, folder)


# -- running ---------------------------------------------------------------------------------------

Runner = Callable[[Any, int, Mapping[str, float], "dt.date | None"], Any]
"""``runner(scenario, seed, overrides, until) -> Results`` (``scenelab.run`` by default)."""


def _scenelab_runner(scn: Any, seed: int, overrides: Mapping[str, float], until: Any) -> Any:  # noqa: ANN401
    import scenelab

    return scenelab.run(scn, seed=seed, overrides=dict(overrides), until=until)


@dataclass(frozen=True)
class RobustnessResult:
    """What :func:`run_robustness` produced."""

    runs: pd.DataFrame
    cells: pd.DataFrame
    html: Path
    png: Path | None
    ran: int


_DDL = f"""CREATE TABLE IF NOT EXISTS {RUNS_TABLE} (
    experiment VARCHAR, spec_hash VARCHAR, scenario VARCHAR, scenario_hash VARCHAR,
    attribute VARCHAR, shift DOUBLE, parameter VARCHAR, parameter_value DOUBLE,
    replicate INTEGER, seed BIGINT, outcome DOUBLE, in_regime BOOLEAN,
    wall_seconds DOUBLE, created_at TIMESTAMP)"""


def summarise(runs: pd.DataFrame, threshold: float) -> pd.DataFrame:
    """Per-cell summary of stored runs: mean, spread and the share of replicates in the regime.

    Args:
        runs: One row per run with ``shift``, ``parameter_value``, ``outcome``.
        threshold: Regime boundary (a run is in the regime if its outcome > threshold).

    Returns:
        One row per cell: ``shift, parameter_value, n, mean, sd, min, max, share_in_regime,
        bistable`` (``bistable``: some replicates in each regime).
    """
    frame = runs.assign(in_regime=runs["outcome"] > threshold)
    cells = (
        frame.groupby(["shift", "parameter_value"])
        .agg(
            n=("outcome", "size"),
            mean=("outcome", "mean"),
            sd=("outcome", lambda s: float(s.std(ddof=1)) if len(s) > 1 else 0.0),
            min=("outcome", "min"),
            max=("outcome", "max"),
            share_in_regime=("in_regime", "mean"),
        )
        .reset_index()
    )
    share = cells["share_in_regime"]
    cells["bistable"] = (share > 0.0) & (share < 1.0)
    return cells


def run_robustness(
    spec: RobustnessSpec,
    base_dir: Path,
    out_dir: str | Path,
    *,
    runner: Runner | None = None,
    scenario: Any = None,  # noqa: ANN401 - a loaded Scenario (default: load spec's)
    progress: bool = False,
    file: str | Path | None = None,
) -> RobustnessResult:
    """Run (or resume) a robustness map into ``out_dir`` and draw it.

    Args:
        spec: The validated spec.
        base_dir: Folder relative scenario paths resolve against.
        out_dir: The output folder (``experiment.duckdb``, ``robustness.html``).
        runner: How to run one scenario (tests inject a toy); default ``scenelab.run``.
        scenario: The base scenario, already loaded (default: load and check the spec's).
        progress: Print one line per run.
        file: The spec's file, for messages.

    Returns:
        The stored runs, the per-cell summary and the files written.

    Raises:
        SpecError: If the spec does not fit its scenario, or the folder holds another spec's map.
    """
    from scenelab.experiments.robustness_map import write_map
    from scenelab.experiments.store import ResultStore

    scn = scenario if scenario is not None else load_base(spec, base_dir, file)
    run_one = runner or _scenelab_runner
    sec, sa, par = spec.robustness, spec.site_attribute, spec.parameter
    digest = spec.digest()
    out = Path(out_dir)
    ran = 0
    with ResultStore.in_dir(out) as store:
        store.con.execute(_DDL)
        other = store.query(
            f"SELECT DISTINCT spec_hash FROM {RUNS_TABLE} WHERE experiment = ? AND spec_hash <> ?",
            [sec.name, digest],
        )
        if len(other):
            raise SpecError(
                file,
                [("robustness.name", f"{out} holds a different map named {sec.name!r}; "
                  "use a new --out or another name")],
            )  # fmt: skip
        done = set(
            store.query(
                f"SELECT shift, parameter_value, replicate FROM {RUNS_TABLE} "
                "WHERE experiment = ? AND spec_hash = ?",
                [sec.name, digest],
            ).itertuples(index=False, name=None)
        )
        for shift in sa.shifts:
            cell_scn = shifted(scn, sa.attribute, sa.sites, shift)
            for value in par.values:
                for rep in range(sec.replicates):
                    if (shift, value, rep) in done:
                        continue
                    seed = sec.seed + rep
                    started = time.time()
                    results = run_one(cell_scn, seed, {par.name: value}, sec.until)
                    outcome = measure_figure(spec.outcome.figure, results, cell_scn)
                    wall = time.time() - started
                    store.con.execute(
                        f"INSERT INTO {RUNS_TABLE} VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                        [sec.name, digest, scn.name, cell_scn.scenario_hash, sa.attribute,
                         shift, par.name, value, rep, seed, outcome,
                         bool(outcome > spec.outcome.threshold), wall,
                         dt.datetime.now(dt.UTC).replace(tzinfo=None)],
                    )  # fmt: skip
                    ran += 1
                    if progress:
                        print(
                            f"{sa.attribute} {shift:+.3g}, {par.name} {value:g}, replicate "
                            f"{rep}: {outcome:.4g} ({wall:.0f} s)",
                            flush=True,
                        )
        runs = store.query(
            f"SELECT * FROM {RUNS_TABLE} WHERE experiment = ? AND spec_hash = ? "
            "ORDER BY shift, parameter_value, replicate",
            [sec.name, digest],
        )
        cells = summarise(runs, spec.outcome.threshold)
        store.replace_experiment_rows(CELLS_TABLE, cells.assign(experiment=sec.name), sec.name)
    html, png = write_map(spec, cells, out)
    return RobustnessResult(runs=runs, cells=cells, html=html, png=png, ran=ran)
