"""The page's results section: the verdict, charts with intervals and the paired differences."""

from __future__ import annotations

import math

from dash import dcc, html

from scenelab.dashboard import figures
from scenelab.dashboard.runner import Job
from scenelab.dashboard.summary import Summary


def _num(value: float) -> str:
    return "n/a" if value is None or not math.isfinite(value) else f"{value:.3g}"


def _table(header: tuple[str, ...], rows: list[tuple[str, ...]], ident: str) -> html.Table:
    return html.Table(
        [html.Tr([html.Th(h) for h in header])]
        + [html.Tr([html.Td(cell) for cell in row]) for row in rows],
        className="diff",
        id=ident,
    )


def verdict_section(s: Summary) -> list:
    """The verdict's sentences and its table (differences after the schedules diverge)."""
    v = s.verdict
    if v is None:
        return [
            html.Div(
                html.P("The verdict and the costs are being computed..."),
                className="verdict",
                id="verdict-pending",
            )
        ]
    head = f"Edited against unedited, {v.since} to {v.until} ({v.n} paired replicates):"
    rows = [
        (
            r.label,
            _num(r.reference_mean),
            _num(r.arm_mean),
            f"{_num(r.difference)} [{_num(r.ci_low)}, {_num(r.ci_high)}]",
            str(r.unit),
        )
        for r in v.table.itertuples()
    ]
    return [
        html.Div([html.P(head), *[html.P(line) for line in v.sentences]], className="verdict",
                 id="verdict"),
        _table(("Quantity", "Unedited", "Edited", "Difference [95% CI]", "Unit"), rows,
               "verdict-table"),
    ]  # fmt: skip


def results_view(job: Job) -> html.Div:
    """The results of a finished job: verdict, charts with intervals, paired differences."""
    s = job.summary
    rows = [
        (r["outcome"], r["unedited"], r["edited"], r["difference"])
        for r in figures.difference_rows(s)
    ]
    return html.Div(
        [
            *verdict_section(s),
            dcc.Graph(figure=figures.scene_figure(s), id="scene-graph"),
            dcc.Graph(figure=figures.neighbourhood_figure(s), id="neighbourhood-graph"),
            dcc.Graph(figure=figures.women_figure(s), id="women-graph"),
            *([dcc.Graph(figure=figures.cost_figure(s), id="cost-graph")]
              if "total_cost" in s.outcomes else []),
            html.H3("Whole run, edited minus unedited (paired replicates, 95% t-interval)"),
            _table(("Outcome", "Unedited", "Edited", "Difference [95% CI]"), rows,
                   "difference-table"),
            html.Span(id="results-ready", **{"data-finished": f"{job.runs_finished_at:.3f}"}),
        ]
    )  # fmt: skip
