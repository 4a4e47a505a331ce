"""The dashboard page: scenario choice, strategy controls, run settings, progress and results."""

from __future__ import annotations

from dash import dcc, html

from scenelab.scenario.loader import builtin_names

CSS = """
body { font-family: Helvetica Neue, Helvetica, Arial, sans-serif; color: #222; margin: 0; }
header { background: #332288; color: white; padding: 10px 20px; }
header h1 { font-size: 20px; margin: 0; }
main { display: flex; gap: 16px; padding: 12px 20px; }
#left { width: 360px; flex: none; }
#right { flex: 1; min-width: 0; }
.group { border: 1px solid #ddd; border-radius: 4px; margin: 6px 0; padding: 4px 8px; }
.group summary { font-weight: bold; cursor: pointer; }
.row { margin: 4px 0; }
.lbl { display: block; font-size: 12px; color: #555; }
.err { color: #b00020; font-size: 12px; white-space: pre-wrap; }
.ok { color: #117733; font-size: 12px; }
button { margin: 4px 4px 4px 0; padding: 6px 12px; }
progress { width: 100%; height: 18px; }
table.diff { border-collapse: collapse; font-size: 13px; }
table.diff td, table.diff th { border-bottom: 1px solid #eee; padding: 3px 8px;
  text-align: right; }
table.diff td:first-child, table.diff th:first-child { text-align: left; }
.verdict { font-size: 15px; background: #f4f4fb; padding: 8px 12px;
  border-left: 4px solid #332288; }
"""


def page(initial: str, extra_choices: list[str]) -> html.Div:
    """Return the whole page; ``initial`` is the scenario shown first (a built-in or a path)."""
    choices = [*extra_choices, *builtin_names()]
    return html.Div(
        [
            html.Header(
                html.H1(
                    "scenelab dashboard: change a strategy, run it, see where the "
                    "scene goes and who pays"
                )
            ),
            html.Main(
                [
                    html.Div(
                        [
                            html.Label("Scenario (built-in or the file given)", className="lbl"),
                            dcc.Dropdown(
                                id="scenario", options=choices, value=initial, clearable=False
                            ),
                            html.Label("...or a scenario file path", className="lbl"),
                            dcc.Input(
                                id="path",
                                type="text",
                                debounce=True,
                                placeholder="path/to/city.toml",
                            ),
                            html.Div(id="scenario-status", className="ok"),
                            html.Div(id="scenario-error", className="err"),
                            html.H3("Strategy"),
                            html.Div(id="controls"),
                            html.Div(id="edit-status", className="ok"),
                            html.Div(id="edit-error", className="err"),
                            html.H3("Run"),
                            html.Label(
                                "Replicates (paired, common random numbers)", className="lbl"
                            ),
                            dcc.Input(id="replicates", type="number", value=5, step=1),
                            html.Label(
                                "Last simulated day (empty: the scenario's end)", className="lbl"
                            ),
                            dcc.Input(id="until", type="text", placeholder="YYYY-MM-DD"),
                            html.Label("Seed", className="lbl"),
                            dcc.Input(id="seed", type="number", value=1, step=1),
                            html.Div(id="run-error", className="err"),
                            html.Div(
                                [
                                    html.Button("Run", id="run"),
                                    html.Button("Cancel", id="cancel"),
                                    html.Button("Download scenario", id="download-button"),
                                ]
                            ),
                            dcc.Download(id="download"),
                        ],
                        id="left",
                    ),
                    html.Div(
                        [
                            html.Progress(id="progress", value="0", max="1"),
                            html.Div(id="progress-text"),
                            html.Div(
                                [
                                    html.Label("Month", className="lbl"),
                                    dcc.Slider(
                                        id="month", min=0, max=0, step=1, value=0, marks=None
                                    ),
                                    dcc.Checklist(id="basemap", options=[], value=[]),
                                    dcc.Graph(id="map"),
                                ],
                                id="map-panel",
                                style={"display": "none"},
                            ),
                            html.Div(id="results"),
                        ],
                        id="right",
                    ),
                ]
            ),
            dcc.Interval(id="tick", interval=1000),
            dcc.Store(id="shown-job", data=None),
            dcc.Store(id="shown-view", data=None),
        ]
    )
