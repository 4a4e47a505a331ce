"""Draw a robustness map: heatmaps of the share of replicates in a regime, the mean and spread."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from scenelab.experiments.plots import write_html_page

HTML_NAME = "robustness.html"
PNG_NAME = "robustness.png"


def _grid(cells: pd.DataFrame, column: str) -> pd.DataFrame:
    return cells.pivot(index="parameter_value", columns="shift", values=column).sort_index()


def _cell_text(share: float, mean: float, sd: float, n: float) -> str:
    text = f"{share:.0%} in regime<br>{mean:.3g} +- {sd:.2g}<br>n={int(n)}"
    return text + ("<br><b>bistable</b>" if 0 < share < 1 else "")


def _heatmap(cells: pd.DataFrame, column: str, title: str, spec: Any, **style: Any) -> Any:  # noqa: ANN401
    import plotly.graph_objects as go

    grid = _grid(cells, column)
    share = _grid(cells, "share_in_regime")
    mean = _grid(cells, "mean")
    sd = _grid(cells, "sd")
    n = _grid(cells, "n")
    text = [
        [_cell_text(share.iloc[i, j], mean.iloc[i, j], sd.iloc[i, j], n.iloc[i, j])
         for j in range(grid.shape[1])]
        for i in range(grid.shape[0])
    ]  # fmt: skip
    x = [f"{s:+.3g}" for s in grid.columns]
    y = [f"{v:g}" for v in grid.index]
    fig = go.Figure(
        go.Heatmap(z=grid.to_numpy(), x=x, y=y, text=text, texttemplate="%{text}", **style)
    )
    sa = spec.site_attribute
    where = ", ".join(sa.sites) if sa.sites else "every site"
    fig.update_layout(
        title=title,
        xaxis_title=f"shift of {sa.attribute} ({where}), clipped to 0-1",
        yaxis_title=spec.parameter.name,
        height=200 + 90 * len(y),
        xaxis={"type": "category"},
        yaxis={"type": "category"},
    )
    return fig


def figures(spec: Any, cells: pd.DataFrame) -> list[Any]:  # noqa: ANN401 - a RobustnessSpec
    """Return the map's figures: share of replicates in the regime, mean outcome, spread."""
    label = spec.outcome.label or spec.outcome.figure.kind
    thr = spec.outcome.threshold
    return [
        _heatmap(
            cells,
            "share_in_regime",
            f"Share of replicates with {label} > {thr:g}",
            spec,
            zmin=0.0,
            zmax=1.0,
            colorscale="RdBu",
        ),  # fmt: skip
        _heatmap(cells, "mean", f"Mean {label}", spec, colorscale="Viridis"),
        _heatmap(cells, "sd", f"Across-replicate SD of {label}", spec, colorscale="Greys"),
    ]


def write_map(spec: Any, cells: pd.DataFrame, out_dir: Path) -> tuple[Path, Path | None]:  # noqa: ANN401
    """Write ``robustness.html`` (and ``robustness.png`` if kaleido is installed).

    Args:
        spec: The :class:`~scenelab.experiments.robustness.RobustnessSpec`.
        cells: Its per-cell summary.
        out_dir: The output folder.

    Returns:
        The HTML path and the PNG path (None without kaleido).
    """
    figs = figures(spec, cells)
    n_bistable = int(cells["bistable"].sum())
    intro = (
        f"{spec.robustness.description}\n\nScenario {spec.robustness.scenario}; "
        f"{len(cells)} cells x {spec.robustness.replicates} replicates with common random "
        f"numbers (replicate k: seed {spec.robustness.seed} + k). A run is in the regime when "
        f"the outcome exceeds {spec.outcome.threshold:g}. Cells marked bistable "
        f"({n_bistable} of {len(cells)}) have replicates in both regimes."
    )
    html = write_html_page(
        out_dir / HTML_NAME,
        f"Robustness map: {spec.robustness.name}",
        [
            (
                "Regimes",
                "Blue: every replicate in the regime; red: none; between: bistable.",
                figs[:1],
            ),
            ("Outcome", "Mean and across-replicate standard deviation per cell.", figs[1:]),
        ],  # fmt: skip
        intro=intro,
    )
    png: Path | None = None
    try:
        import kaleido  # noqa: F401
    except ModuleNotFoundError:
        return html, None
    png = out_dir / PNG_NAME
    figs[0].write_image(str(png))
    return html, png
