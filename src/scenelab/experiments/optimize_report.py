"""The Pareto front of a strategy search: numbered table (CSV), plotly page (HTML), export.

The front is computed from *every* stored strategy of the search (not only the last
population): the feasible strategies whose objective means no other feasible strategy beats in
every objective. Points are numbered 1..K by the first objective (best first), the same way
every time, so ``scenelab optimize DIR --export N`` names the same point as the report.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from scenelab.experiments.optimize_store import latest_optimization, strategies_frame
from scenelab.experiments.store import ResultStore

EXPORT_HEADER = "# scenelab optimize --export: one strategy of a multi-objective search"
"""First line of every exported scenario: what lets a later export overwrite it."""


def _front(frame: pd.DataFrame, objectives: list[dict[str, Any]]) -> pd.DataFrame:
    from pymoo.util.nds.non_dominated_sorting import NonDominatedSorting

    names = [ob["name"] for ob in objectives]
    ok = frame[frame["feasible"].astype(bool)].dropna(subset=names)
    if ok.empty:
        return ok.assign(point=pd.Series(dtype=int))
    signs = np.array([1.0 if ob["sense"] == "min" else -1.0 for ob in objectives])
    F = ok[names].to_numpy(dtype=float) * signs  # noqa: N806 - pymoo's names
    idx = NonDominatedSorting().do(F, only_non_dominated_front=True)
    front = ok.iloc[np.sort(idx)]
    front = front.sort_values([*names, "candidate"], ascending=[s > 0 for s in signs] + [True])
    front = front.reset_index(drop=True)
    front.insert(0, "point", np.arange(1, len(front) + 1))
    return front


def front(out_dir: str | Path) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """The numbered front of the latest search in a folder, and every evaluated strategy.

    Args:
        out_dir: The search folder.

    Returns:
        ``(front, all strategies, optimizations row)``.

    Raises:
        LookupError: If the folder holds no search.
        StoreError: If the database is missing or busy.
    """
    with ResultStore.in_dir(out_dir, read_only=True) as store:
        opt = latest_optimization(store)
        frame = strategies_frame(store, opt["optimization"])
    return _front(frame, opt["spec"]["objectives"]), frame, opt


def _table(front: pd.DataFrame, objectives: list[dict[str, Any]]) -> pd.DataFrame:
    rows = []
    for rec in front.to_dict("records"):
        row: dict[str, Any] = {"point": rec["point"], "candidate": rec["candidate"],
                               "generation": rec["generation"]}  # fmt: skip
        for ob in objectives:
            n = ob["name"]
            row[n] = rec[n]
            row[f"{n}_low"] = rec[f"{n}_low"]
            row[f"{n}_high"] = rec[f"{n}_high"]
        row.update(rec["levers"])
        rows.append(row)
    return pd.DataFrame(rows)


def _figures(front: pd.DataFrame, every: pd.DataFrame, objectives: list[dict[str, Any]]) -> list:
    """The first two objectives, every strategy and the numbered front; a matrix for more."""
    import plotly.graph_objects as go

    names = [ob["name"] for ob in objectives]
    label = {ob["name"]: f"{ob['name']} ({ob['sense']})" for ob in objectives}
    x, y = (names * 2)[:2]

    def whisker(col: str) -> dict[str, Any]:
        return {"type": "data", "symmetric": False, "array": front[f"{col}_high"] - front[col],
                "arrayminus": front[col] - front[f"{col}_low"]}  # fmt: skip

    fig = go.Figure()
    fig.add_trace(go.Scatter(x=every[x], y=every[y], mode="markers", name="evaluated",
                             marker={"color": "#bbb", "size": 6}))  # fmt: skip
    fig.add_trace(
        go.Scatter(
            x=front[x], y=front[y], mode="markers+text", name="Pareto front",
            text=[str(p) for p in front["point"]], textposition="top right",
            marker={"color": "#c0392b", "size": 10}, error_x=whisker(x), error_y=whisker(y),
        )
    )  # fmt: skip
    fig.update_layout(xaxis_title=label[x], yaxis_title=label[y], height=600)
    if len(names) <= 2:
        return [fig]
    dims = [{"label": label[n], "values": front[n]} for n in names]
    matrix = go.Figure(
        go.Splom(dimensions=dims, text=[f"point {p}" for p in front["point"]],
                 marker={"color": "#c0392b", "size": 8}, diagonal_visible=False)
    )  # fmt: skip
    matrix.update_layout(height=250 * len(names), title="The front in every pair of objectives")
    return [fig, matrix]


def write_report(out_dir: str | Path, optimization: str | None = None) -> tuple[pd.DataFrame, list]:
    """Write ``front.csv`` and ``front.html`` for the latest search in a folder.

    Args:
        out_dir: The search folder.
        optimization: Unused beyond a check that it is the latest (``None``: the latest).

    Returns:
        ``(numbered front table, files written)``.
    """
    import plotly.graph_objects as go

    from scenelab.experiments.plots import write_html_page
    from scenelab.outputs import atomic_text

    out_dir = Path(out_dir)
    fr, every, opt = front(out_dir)
    if optimization is not None and opt["optimization"] != optimization:  # pragma: no cover
        raise RuntimeError("a newer search was started in this folder meanwhile")
    objectives = opt["spec"]["objectives"]
    table = _table(fr, objectives)
    csv_path = out_dir / "front.csv"
    atomic_text(table.to_csv(index=False), csv_path)
    cells = table.copy()
    for col in cells.columns:
        if cells[col].dtype.kind == "f":
            cells[col] = cells[col].map(lambda v: f"{v:.4g}")
    tab = go.Figure(go.Table(header={"values": list(cells.columns)},
                             cells={"values": [cells[c] for c in cells.columns]}))  # fmt: skip
    tab.update_layout(height=120 + 28 * max(len(cells), 1))
    spec = opt["spec"]["optimize"]
    where = spec["scenario"] if spec["model"] == "scenelab" else spec["model"]
    intro = (
        f"Strategy search '{spec['name']}' on {where}: "
        f"{len(every)} strategies evaluated, {int(every['feasible'].sum())} meet the constraints, "
        f"{len(fr)} on the Pareto front. {spec['replicates']} replicate(s) per strategy with "
        f"common random numbers (seed {spec['seed']}); intervals are {spec['conf_level']:.0%} "
        "Student-t intervals of the mean over replicates, kept inside each quantity's range."
    )
    if spec["model"] == "scenelab":
        intro += f" Objectives are measured from {spec['start']} to the end of the runs."
    sections = [
        ("Pareto front", "Grey: every evaluated strategy. Red: the front, numbered; whiskers are "
         "the intervals. With more than two objectives the first two are plotted (a point may "
         "look dominated there and be on the front by another objective), then the front in "
         "every pair. Export a point with: scenelab optimize DIR --export N",
         _figures(fr, every, objectives)),
        ("Front table", "One row per point (also in front.csv).", [tab]),
    ]  # fmt: skip
    html_path = write_html_page(
        out_dir / "front.html", f"Strategy search: {spec['name']}", sections, intro
    )
    return table, [csv_path, html_path]


def export_point(
    out_dir: str | Path, point: int, to: str | Path | None = None, force: bool = False
) -> Path:
    """Write point ``point`` of the front as a scenario file, and check it loads back the same.

    Args:
        out_dir: The search folder.
        point: The point's number in the front table (1-based).
        to: Target file (default ``DIR/point-N.toml``).
        force: Overwrite a file scenelab did not write.

    Returns:
        The file written.

    Raises:
        ValueError: If the point does not exist, or the search has no scenario (toy models).
        OutputError: If the file may not be written.
    """
    import json

    import scenelab
    from scenelab.outputs import atomic_text, check_output_file

    out_dir = Path(out_dir)
    fr, _, opt = front(out_dir)
    spec = opt["spec"]
    if spec["optimize"]["model"] != "scenelab":
        raise ValueError(
            f"{out_dir}: model {spec['optimize']['model']!r} has no scenario to export"
        )
    if not 1 <= point <= len(fr):
        raise ValueError(f"--export {point}: the front has points 1 to {len(fr)}")
    rec = fr[fr["point"] == point].iloc[0]
    target = Path(to) if to is not None else out_dir / f"point-{point}.toml"
    check_output_file(target, EXPORT_HEADER, force=force)
    lines = [
        EXPORT_HEADER,
        f"# search '{spec['optimize']['name']}' in {out_dir}, point {point} of {len(fr)}, "
        f"strategy {rec['candidate']} (generation {rec['generation']})",
        f"# levers: {json.dumps(rec['levers'], sort_keys=True)}",
    ]
    for ob in spec["objectives"]:
        n = ob["name"]
        lines.append(
            f"# {n} ({ob['sense']}): {rec[n]:.6g} [{rec[f'{n}_low']:.6g}, {rec[f'{n}_high']:.6g}]"
            f" over {int(rec[f'{n}_n'])} replicate(s) from seed {spec['optimize']['seed']}"
        )
    text = "\n".join(lines) + "\n\n" + rec["scenario_text"]
    atomic_text(text, target)
    loaded = scenelab.load_scenario(target)
    if loaded.scenario_hash != rec["scenario_hash"]:  # pragma: no cover - a bug, not input
        raise RuntimeError(f"{target}: exported scenario does not match the stored strategy")
    return target
