"""Global sensitivity analysis of stored runs: Morris screening and Sobol indices.

Reads outcomes from the results database, rebuilds the output vector in the
exact row order of the design (via the run keys), averages replicates per
design point (the replicates share seeds across points, so noise is common
to all points), and calls SALib's analysers. Results go to a tidy
``sensitivity`` table in the database, ``DIR/sensitivity.csv`` and plots in
``DIR/sensitivity.html``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from scenelab.experiments.design import ParameterDesign
from scenelab.experiments.plan import Plan
from scenelab.experiments.plots import write_html_page
from scenelab.experiments.store import ResultStore

SENSITIVITY_HTML = "sensitivity.html"
SENSITIVITY_CSV = "sensitivity.csv"


@dataclass
class SensitivityResult:
    """Indices of every (arm, output) pair.

    Attributes:
        table: Tidy indices: experiment, arm, output, method, parameter,
            parameter2 (second-order only), index, value, conf (half-width of
            the bootstrap confidence interval at ``conf_level``).
        html_path: The plots.
        csv_path: The table as CSV.
    """

    table: pd.DataFrame
    html_path: Path
    csv_path: Path

    def indices(self, arm: str, output: str, index: str) -> pd.Series:
        """One index for all parameters.

        Args:
            arm: Arm name.
            output: Outcome name.
            index: ``S1``, ``ST``, ``mu_star``, ``sigma`` or ``mu``.

        Returns:
            Values by parameter, in design order.
        """
        t = self.table
        sel = t[(t["arm"] == arm) & (t["output"] == output) & (t["index"] == index)]
        return sel.set_index("parameter")["value"]

    def conf(self, arm: str, output: str, index: str) -> pd.Series:
        """Confidence half-widths of one index for all parameters.

        Args:
            arm: Arm name.
            output: Outcome name.
            index: ``S1``, ``ST`` or ``mu_star``.

        Returns:
            Half-widths by parameter.
        """
        t = self.table
        sel = t[(t["arm"] == arm) & (t["output"] == output) & (t["index"] == index)]
        return sel.set_index("parameter")["conf"]


def _outputs_vector(
    store: ResultStore, plan: Plan, arm: str, output: str
) -> tuple[np.ndarray, int]:
    n_points = plan.design.points.shape[0]
    reps = len(plan.seeds)
    ids = [plan.keys[(arm, p, r)] for p in range(n_points) for r in range(reps)]
    values = store.outcome_values(set(ids), output)
    missing = sum(1 for i in ids if i not in values)
    y = np.array([values.get(i, np.nan) for i in ids], dtype=float).reshape(n_points, reps)
    return y.mean(axis=1), missing


def sensitivity_indices(
    design: ParameterDesign,
    y: np.ndarray,
    *,
    resamples: int = 1000,
    conf_level: float = 0.95,
    seed: int | None = None,
) -> pd.DataFrame:
    """Compute Morris or Sobol indices of one output over a design's points (pure: no I/O).

    Args:
        design: The morris or sobol design the runs followed (its points in order).
        y: The output at each design point, in the design's order.
        resamples: Bootstrap resamples for the confidence intervals.
        conf_level: Confidence level of the intervals.
        seed: Bootstrap seed.

    Returns:
        One row per index: method, parameter, parameter2 (for S2), index, value, conf.

    Raises:
        ValueError: If the design is neither morris nor sobol, or ``y`` has the wrong length.
    """
    from SALib.analyze import morris as morris_analyze
    from SALib.analyze import sobol as sobol_analyze

    if design.kind not in ("morris", "sobol"):
        raise ValueError(f"sensitivity needs a morris or sobol design (got {design.kind!r})")
    if len(y) != len(design.points):
        raise ValueError(f"{len(y)} outputs for {len(design.points)} design points")
    rows: list[dict[str, object]] = []

    def add(method: str, name: str, name2: str | None, idx: str, value: float, conf: float) -> None:
        rows.append(
            {"method": method, "parameter": name, "parameter2": name2, "index": idx,
             "value": float(value), "conf": float(conf)}
        )  # fmt: skip

    names = design.names
    if design.kind == "sobol":
        si = sobol_analyze.analyze(
            design.problem,
            y,
            calc_second_order=design.second_order,
            num_resamples=resamples,
            conf_level=conf_level,
            seed=seed,
        )
        for i, name in enumerate(names):
            for idx in ("S1", "ST"):
                add("sobol", name, None, idx, si[idx][i], si[f"{idx}_conf"][i])
        if design.second_order:
            for i in range(len(names)):
                for j in range(i + 1, len(names)):
                    add("sobol", names[i], names[j], "S2", si["S2"][i, j], si["S2_conf"][i, j])
    else:
        si = morris_analyze.analyze(
            design.problem,
            design.points,
            y,
            num_resamples=resamples,
            conf_level=conf_level,
            num_levels=design.levels,
            seed=seed,
        )
        for i, name in enumerate(names):
            for idx in ("mu", "mu_star", "sigma"):
                conf = si["mu_star_conf"][i] if idx == "mu_star" else np.nan
                add("morris", name, None, idx, si[idx][i], conf)
    return pd.DataFrame(rows)


def analyze_sensitivity(
    plan: Plan,
    out_dir: str | Path,
    *,
    outputs: Sequence[str] | None = None,
    resamples: int | None = None,
    conf_level: float | None = None,
    seed: int | None = None,
) -> SensitivityResult:
    """Compute Morris or Sobol indices for stored runs of a planned experiment, and store them.

    Three steps: read each arm's outputs from the store, compute the indices
    (:func:`sensitivity_indices`, a pure function), write them to the database, CSV and HTML.

    Args:
        plan: The experiment's plan (``design.kind`` morris or sobol).
        out_dir: Experiment directory holding the results database.
        outputs: Outcome names (default: the spec's ``[sensitivity] outputs``).
        resamples: Bootstrap resamples (default: from the spec, else 1000).
        conf_level: Confidence level (default: from the spec, else 0.95).
        seed: Bootstrap seed (default: the experiment seed).

    Returns:
        The indices, also written to the database, CSV and HTML.

    Raises:
        ValueError: For a design that is not morris/sobol, unknown outputs
            (the message lists stored outcome names) or runs still missing.
    """
    spec = plan.spec
    kind = plan.design.kind
    if kind not in ("morris", "sobol"):
        raise ValueError(f"sensitivity needs a morris or sobol design (got {kind!r})")
    sens = spec.sensitivity
    outputs = list(outputs or (sens.outputs if sens else []))
    if not outputs:
        raise ValueError("no outputs to analyse; give [sensitivity] outputs = [...]")
    resamples = resamples or (sens.resamples if sens else 1000)
    conf_level = conf_level or (sens.conf_level if sens else 0.95)
    seed = spec.experiment.seed if seed is None else seed
    out_dir = Path(out_dir)
    with ResultStore.in_dir(out_dir) as store:
        known = store.outcome_names()
        unknown = [o for o in outputs if o not in known]
        if unknown:
            raise ValueError(
                f"unknown output(s) {', '.join(unknown)}; stored outcomes: {', '.join(known)}"
            )
        frames = []
        for arm in (a.name for a in spec.arms):
            for output in outputs:
                y, missing = _outputs_vector(store, plan, arm, output)
                if missing:
                    raise ValueError(
                        f"arm {arm!r}: {missing} runs have no {output!r} yet; finish the "
                        "experiment (re-run the same command) before analysing"
                    )
                part = sensitivity_indices(
                    plan.design, y, resamples=resamples, conf_level=conf_level, seed=seed
                )
                part.insert(0, "output", output)
                part.insert(0, "arm", arm)
                part.insert(0, "experiment", spec.experiment.name)
                frames.append(part)
        table = pd.concat(frames, ignore_index=True)
        table["conf_level"] = conf_level
        table["parameter2"] = table["parameter2"].astype("string")
        store.replace_experiment_rows("sensitivity", table, spec.experiment.name)
    csv_path = out_dir / SENSITIVITY_CSV
    table.to_csv(csv_path, index=False)
    html_path = write_sensitivity_html(table, out_dir / SENSITIVITY_HTML, plan)
    return SensitivityResult(table=table, html_path=html_path, csv_path=csv_path)


def write_sensitivity_html(table: pd.DataFrame, path: str | Path, plan: Plan) -> Path:
    """Plot indices per (arm, output) into a self-contained HTML page.

    Args:
        table: The tidy indices.
        path: Output file.
        plan: The experiment's plan (for titles and counts).

    Returns:
        The path written.
    """
    import plotly.graph_objects as go

    spec = plan.spec
    level = float(table["conf_level"].iloc[0]) if len(table) else 0.95
    sections = []
    for (arm, output), sub in table.groupby(["arm", "output"], sort=False):
        figs = []
        if sub["method"].iloc[0] == "sobol":
            fig = go.Figure()
            for idx, label in (("S1", "first order S1"), ("ST", "total order ST")):
                s = sub[sub["index"] == idx]
                fig.add_bar(
                    x=s["parameter"],
                    y=s["value"],
                    name=label,
                    error_y={"type": "data", "array": s["conf"], "visible": True},
                )
            fig.update_layout(
                barmode="group",
                yaxis_title="Sobol index",
                title=f"{output} — arm {arm}",
                height=420,
            )
            figs.append(fig)
            text = (
                f"First-order (S1) and total-order (ST) Sobol indices with {level:.0%} "
                "bootstrap confidence intervals. S1 is the share of output variance explained "
                "by the parameter alone; ST - S1 is its share through interactions."
            )
        else:
            mu_star = sub[sub["index"] == "mu_star"].set_index("parameter")
            sigma = sub[sub["index"] == "sigma"].set_index("parameter")
            bar = go.Figure()
            bar.add_bar(
                x=mu_star.index,
                y=mu_star["value"],
                name="mu*",
                error_y={"type": "data", "array": mu_star["conf"], "visible": True},
            )
            bar.update_layout(
                yaxis_title="mu* (mean |elementary effect|)",
                title=f"{output} — arm {arm}: Morris mu*",
                height=400,
            )
            scatter = go.Figure()
            scatter.add_scatter(
                x=mu_star["value"],
                y=sigma.loc[mu_star.index, "value"],
                mode="markers+text",
                text=list(mu_star.index),
                textposition="top center",
            )
            scatter.update_layout(
                xaxis={"title": "mu*", "rangemode": "tozero"},
                yaxis={"title": "sigma (spread of elementary effects)", "rangemode": "tozero"},
                title=f"{output} — arm {arm}: mu* against sigma",
                height=400,
            )
            figs.extend([bar, scatter])
            text = (
                f"Morris screening: mu* (with {level:.0%} bootstrap interval) ranks parameters "
                "by overall influence; a large sigma relative to mu* means non-linear effects "
                "or interactions."
            )
        sections.append((f"{output} — arm {arm}", text, figs))
    n_points = plan.design.points.shape[0]
    intro = (
        f"Experiment {spec.experiment.name}: {plan.design.kind} design over "
        f"{', '.join(plan.design.names)} ({n_points} points x {len(plan.seeds)} replicates "
        f"x {len(spec.arms)} arms). Outputs are averaged over replicates per point; "
        "replicates share seeds across points (common random numbers)."
    )
    return write_html_page(path, f"Sensitivity — {spec.experiment.name}", sections, intro)
