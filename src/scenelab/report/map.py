"""The report's displacement map: places, where the scene was in each period, and the flows.

Split from :mod:`scenelab.report.charts` (which holds the shared palette and layout helpers).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from scenelab.observe.equity import (
    normalise_periods,
)
from scenelab.report.charts import (
    OTHER_COLOUR,
    _base_layout,
    _rgba,
    _short_label,
    _site_names,
)
from scenelab.report.inputs import ReportInputs
from scenelab.report.stats import (
    displacement_flows,
    site_period_presence,
)

__all__ = ["site_map_figure"]


def flow_arrow(a: pd.Series, b: pd.Series, ref: str, **style: Any) -> dict[str, Any]:
    """Return a plotly annotation: an arrow from site ``a`` to site ``b`` on subplot axes ``ref``.

    ``a`` and ``b`` carry ``lat`` and ``lon``; ``style`` sets width, colour, stand-offs, hover text.
    """
    return dict(
        x=b["lon"],
        y=b["lat"],
        ax=a["lon"],
        ay=a["lat"],
        xref=f"x{ref}",
        yref=f"y{ref}",
        axref=f"x{ref}",
        ayref=f"y{ref}",
        showarrow=True,
        arrowhead=2,
        **style,
    )


def site_map_figure(
    site_day: pd.DataFrame,
    inputs: ReportInputs,
    colours: Mapping[str, str],
    min_flow_share: float = 0.01,
) -> tuple[go.Figure, pd.DataFrame, pd.DataFrame]:
    """Sites on plain longitude/latitude axes per period, sized by people present, with flows.

    No map tiles are used: the report must work offline. Axes keep true proportions (one degree of
    latitude is drawn ``1/cos(latitude)`` times a degree of longitude) and a 500 m bar gives scale.

    Args:
        site_day: The ``site_day`` table.
        inputs: The report inputs (site coordinates, periods).
        colours: Site colours.
        min_flow_share: Flows below this share of the scene are not drawn.

    Returns:
        The figure, the per-period presence table (:func:`site_period_presence`) and the flows
        (:func:`displacement_flows`).
    """
    periods = normalise_periods(inputs.periods)
    presence = site_period_presence(site_day, periods)
    flows = displacement_flows(presence, min_share=min_flow_share)
    labels = list(dict.fromkeys(presence["period"]))
    sites = inputs.sites.set_index("id")
    names = _site_names(inputs)
    n = max(len(labels), 1)
    cols = n if n <= 3 else (2 if n == 4 else 3)
    rows = math.ceil(n / cols)
    fig = make_subplots(
        rows=rows,
        cols=cols,
        subplot_titles=labels or ["(no period)"],
        horizontal_spacing=0.06,
        vertical_spacing=0.09 if rows > 1 else 0.0,
    )
    in_tables = set(presence["site"]) | set(site_day["site"].unique())
    used = sites.loc[sites.index.isin(list(in_tables))]
    if used.empty:
        used = sites
    lat0 = float(used["lat"].mean())
    lon_pad = max(0.004, 0.12 * float(used["lon"].max() - used["lon"].min()))
    lat_pad = max(0.002, 0.12 * float(used["lat"].max() - used["lat"].min()))
    x_range = [float(used["lon"].min()) - lon_pad, float(used["lon"].max()) + lon_pad]
    y_range = [float(used["lat"].min()) - lat_pad, float(used["lat"].max()) + lat_pad]
    max_people = float(presence["people"].max()) if len(presence) else 1.0
    max_px = 46.0
    sizeref = 2.0 * max(max_people, 1e-9) / max_px**2
    max_flow = float(flows["share"].max()) if len(flows) else 1.0

    def diameter(people: float) -> float:
        return math.sqrt(2.0 * max(people, 0.0) / sizeref)

    shown_in_legend: set[str] = set()
    # Arrows, scale bars and their labels, set on the layout in one assignment at the end: each
    # add_annotation/add_shape call re-validates everything added before it.
    annotations: list[dict[str, Any]] = []
    shapes: list[dict[str, Any]] = []
    site_rank = {sid: i for i, sid in enumerate(inputs.sites["id"])}
    for k, label in enumerate(labels):
        r, c = k // cols + 1, k % cols + 1
        ref = "" if k == 0 else str(k + 1)
        here = presence[(presence["period"] == label) & (presence["people"] > 0)]
        empty = used[~used.index.isin(here["site"])]
        fig.add_trace(
            go.Scatter(
                x=empty["lon"],
                y=empty["lat"],
                mode="markers",
                marker=dict(size=6, color="rgba(0,0,0,0)", line=dict(color="#999", width=1)),
                name="Site (no one present)",
                legendgroup="_all",
                legendrank=1,
                showlegend=k == 0,
                text=[names.get(s, s) for s in empty.index],
                hovertemplate="%{text}: no one present<extra></extra>",
            ),
            row=r,
            col=c,
        )
        here = here[here["site"].isin(sites.index)].sort_values("people", ascending=False)
        labelled: list[tuple[float, float]] = []
        for _, row in here.iterrows():
            site = row["site"]
            info = sites.loc[site]
            show_label = row["share"] >= 0.08
            # a label near an already labelled (bigger) site goes below its marker
            near = any(
                abs(info["lat"] - la) < 0.0015 and abs(info["lon"] - lo) < 0.003
                for la, lo in labelled
            )
            if show_label:
                labelled.append((info["lat"], info["lon"]))
            fig.add_trace(
                go.Scatter(
                    x=[info["lon"]],
                    y=[info["lat"]],
                    mode="markers+text" if show_label else "markers",
                    marker=dict(
                        size=[row["people"]],
                        sizemode="area",
                        sizeref=sizeref,
                        sizemin=3,
                        color=_rgba(colours.get(site, OTHER_COLOUR), 0.85),
                        line=dict(color="white", width=1),
                    ),
                    text=[_short_label(names.get(site, site))],
                    textposition="bottom center" if near else "top center",
                    textfont=dict(size=11),
                    cliponaxis=False,
                    name=names.get(site, site),
                    legendgroup=site,
                    legendrank=100 + site_rank.get(site, 999),
                    showlegend=site not in shown_in_legend,
                    hovertemplate=(
                        f"<b>{names.get(site, site)}</b> ({info['kind']}, {info['neighbourhood']})"
                        f"<br>{label}: {row['people']:.1f} people present, "
                        f"{100 * row['share']:.0f}% of the scene<extra></extra>"
                    ),
                ),
                row=r,
                col=c,
            )
            shown_in_legend.add(site)
        people_here = presence[presence["period"] == label].set_index("site")["people"]
        for _, f in flows[flows["to_period"] == label].iterrows():
            if f["from_site"] not in sites.index or f["to_site"] not in sites.index:
                continue
            a, b = sites.loc[f["from_site"]], sites.loc[f["to_site"]]
            annotations.append(
                flow_arrow(
                    a,
                    b,
                    ref,
                    arrowsize=1.0,
                    arrowwidth=1.0 + 6.0 * f["share"] / max_flow,
                    arrowcolor="rgba(40,40,40,0.55)",
                    standoff=diameter(float(people_here.get(f["to_site"], 0.0))) / 2 + 2,
                    startstandoff=4,
                    text="",
                    hovertext=(
                        f"{names.get(f['from_site'], f['from_site'])} → "
                        f"{names.get(f['to_site'], f['to_site'])}: "
                        f"{100 * f['share']:.0f} percentage points of the scene "
                        f"(≈{f['people']:.0f} people)"
                    ),
                )
            )
        # 500 m scale bar, bottom right
        km_per_deg_lon = 111.32 * math.cos(math.radians(lat0))
        x0 = x_range[1] - 0.05 * (x_range[1] - x_range[0]) - 0.5 / km_per_deg_lon
        y0 = y_range[0] + 0.05 * (y_range[1] - y_range[0])
        shapes.append(
            dict(
                type="line",
                x0=x0,
                x1=x0 + 0.5 / km_per_deg_lon,
                y0=y0,
                y1=y0,
                xref=f"x{ref}",
                yref=f"y{ref}",
                line=dict(color="#333", width=3),
            )
        )
        annotations.append(
            dict(
                x=x0 + 0.25 / km_per_deg_lon,
                y=y0,
                xref=f"x{ref}",
                yref=f"y{ref}",
                text="500 m",
                showarrow=False,
                yshift=10,
                font=dict(size=10),
            )
        )
        fig.update_xaxes(
            range=x_range,
            title_text="Longitude (°E)" if k + cols >= n else None,
            tickformat=".3f",
            row=r,
            col=c,
            zeroline=False,
        )
        fig.update_yaxes(
            range=y_range,
            title_text="Latitude (°N)" if c == 1 else None,
            tickformat=".3f",
            scaleanchor=f"x{ref}",
            scaleratio=1.0 / math.cos(math.radians(lat0)),
            row=r,
            col=c,
            zeroline=False,
        )
    fig.layout.annotations = tuple(fig.layout.annotations) + tuple(annotations)
    fig.layout.shapes = tuple(fig.layout.shapes) + tuple(shapes)
    _base_layout(fig, "Mean people present per site and period; arrows: displacement", 0)
    row_px = 520 if cols <= 2 else 450
    top_px, bottom_px = 80, 150
    height = row_px * rows + top_px + bottom_px
    fig.update_layout(height=height)
    fig.update_layout(
        legend=dict(
            title=dict(text="Site"),
            itemsizing="constant",
            orientation="h",
            yanchor="top",
            y=-70 / (height - top_px - bottom_px),
            x=0.0,
        ),
        margin=dict(t=top_px, b=bottom_px),
    )
    return fig, presence, flows


# --- 3. Harms over time -----------------------------------------------------------------------
