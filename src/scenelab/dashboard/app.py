"""The Dash app: callbacks joining the controls, the background runner and the figures.

Every callback catches what a page edit can cause (a bad value, a missing file) and shows it as a
message; the server never stops on bad input.
"""

from __future__ import annotations

import functools
import itertools
import logging
import socket
import threading
from pathlib import Path
from typing import Any

import dash
from dash import ALL, Input, Output, State, ctx, dcc, html, no_update

from scenelab.dashboard import figures
from scenelab.dashboard.controls import control_panel, edits_from
from scenelab.dashboard.edits import edit
from scenelab.dashboard.layout import CSS, page
from scenelab.dashboard.results import results_view
from scenelab.dashboard.runner import Job, Runner
from scenelab.dashboard.summary import complete, summarise
from scenelab.errors import ScenelabError
from scenelab.scenario import schema as sc
from scenelab.scenario.loader import load_scenario

MAX_REPLICATES = 200
CTL = {"type": "ctl", "group": ALL, "field": ALL}
ERR = {"type": "err", "key": ALL}

#: Whether the tile server answered (filled by a background probe; the page never waits for it).
ONLINE = {"checked": False, "online": False}


def probe_online(host: str = "tile.openstreetmap.org", timeout: float = 2.0) -> None:
    """Try one TCP connection to the tile server and record the answer in :data:`ONLINE`."""
    try:
        with socket.create_connection((host, 443), timeout=timeout):
            ONLINE["online"] = True
    except OSError:
        ONLINE["online"] = False
    ONLINE["checked"] = True


def _load(key: str) -> sc.Scenario:
    return load_scenario(key)


def _message(exc: Exception) -> str:
    if isinstance(exc, ScenelabError):
        return "\n".join(exc.lines())
    return f"{type(exc).__name__}: {exc}"


class Dashboard:
    """The app and its server-side state (the runner and the shown job)."""

    def __init__(self, initial: str, workers: int | None = None) -> None:
        from scenelab.parallel import check_workers, default_workers

        self.runner = Runner()
        self.workers = check_workers(default_workers() if workers is None else workers)
        self.job_ids = itertools.count(1)
        self.job_id = 0
        self.drawn: tuple[int, int] | None = None  # (job, month) of the map on the page
        extra = [] if initial in _builtins() else [initial]
        self.app = dash.Dash(__name__, title="scenelab dashboard", update_title=None)
        self.app.index_string = self.app.index_string.replace(
            "{%css%}", "{%css%}<style>" + CSS + "</style>"
        )
        self.app.layout = page(initial, extra)
        self._callbacks()

    # -- helpers ----------------------------------------------------------------------------

    @staticmethod
    def edited(key: str, items: list[dict[str, Any]]) -> tuple[sc.Scenario, Any]:
        """The unedited scenario and its edit by the controls ``items`` (Dash's id/value dicts)."""
        scn = _load(key)
        values = edits_from([i["id"] for i in items], [i.get("value") for i in items])
        return scn, edit(scn, values)

    # -- callbacks --------------------------------------------------------------------------

    def _callbacks(self) -> None:
        app = self.app

        @app.callback(
            Output("scenario", "options"),
            Output("scenario", "value"),
            Output("scenario-error", "children"),
            Input("path", "value"),
            State("scenario", "options"),
            prevent_initial_call=True,
        )
        def choose_path(path: str | None, options: list) -> tuple:
            if not path:
                return no_update, no_update, ""
            try:
                _load(path)
            except Exception as exc:  # noqa: BLE001 - shown next to the field
                return no_update, no_update, _message(exc)
            return ([path, *[o for o in options if o != path]], path, "")

        @app.callback(
            Output("controls", "children"),
            Output("scenario-status", "children"),
            Input("scenario", "value"),
        )
        def show_scenario(key: str) -> tuple:
            try:
                scn = _load(key)
            except Exception as exc:  # noqa: BLE001
                return [], html.Span(_message(exc), className="err")
            text = (
                f"{scn.scenario.title}: {len(scn.sites)} places, {scn.run.start} .. "
                f"{scn.run.end}, {len(scn.interventions)} interventions"
            )
            return control_panel(scn), text

        @app.callback(
            Output(ERR, "children"),
            Output("edit-status", "children"),
            Output("edit-error", "children"),
            Input(CTL, "value"),
            State("scenario", "value"),
        )
        def check(_values: list, key: str) -> tuple:
            keys = [o["id"]["key"] for o in ctx.outputs_list[0]]
            try:
                _, result = self.edited(key, ctx.inputs_list[0])
            except Exception as exc:  # noqa: BLE001
                return [""] * len(keys), "", _message(exc)
            found = dict(result.problems)
            shown = ["\n".join(found.pop(k, [])) for k in keys]
            rest = "\n".join(line for lines in found.values() for line in lines)
            status = "The edited scenario is valid." if result.scenario is not None else ""
            return shown, status, rest

        @app.callback(
            Output("run-error", "children"),
            Input("run", "n_clicks"),
            State(CTL, "value"),
            State("scenario", "value"),
            State("replicates", "value"),
            State("until", "value"),
            State("seed", "value"),
            prevent_initial_call=True,
        )
        def start(_n: int, _values: list, key: str, reps: Any, until: Any, seed: Any) -> str:  # noqa: ANN401
            try:
                return self.start(key, ctx.states_list[0], reps, until, seed)
            except Exception as exc:  # noqa: BLE001
                return _message(exc)

        @app.callback(
            Output("cancel", "title"),
            Input("cancel", "n_clicks"),
            prevent_initial_call=True,
        )
        def cancel(_n: int) -> str:
            self.runner.cancel()
            return "cancel requested"

        @app.callback(
            Output("progress", "value"),
            Output("progress", "max"),
            Output("progress-text", "children"),
            Output("results", "children"),
            Output("map-panel", "style"),
            Output("month", "max"),
            Output("month", "marks"),
            Output("month", "value"),
            Output("basemap", "options"),
            Output("shown-job", "data"),
            Output("shown-view", "data"),
            Output("map", "figure", allow_duplicate=True),
            Input("tick", "n_intervals"),
            State("shown-job", "data"),
            State("shown-view", "data"),
            prevent_initial_call=True,
        )
        def poll(_n: int, shown: int | None, shown_view: str | None) -> tuple:
            job = self.runner.job
            tiles = [
                {
                    "label": " Tile basemap (online only)",
                    "value": "tiles",
                    "disabled": not ONLINE["online"],
                }
            ]
            if job is None:
                text = "No run yet: change the strategy, then Run."
                return ("0", "1", text, *[no_update] * 5, tiles, *[no_update] * 3)
            head = (str(job.done), str(job.total), job.progress_text())
            view_key = f"{self.job_id}.{job.version}"
            if job.view is None or shown_view == view_key:
                return (*head, *[no_update] * 5, tiles, *[no_update] * 3)
            results, first_map = job.view
            if shown == self.job_id:  # the same job, its complete view: the map stays
                return (*head, results, *[no_update] * 4, tiles, no_update, view_key, no_update)
            try:
                months = job.summary.months
                marks = {k: str(m.year) for k, m in enumerate(months) if m.month == 1 or k == 0}
                last = len(months) - 1
                shown_map = {"display": "block"}
                body = results
            except Exception as exc:  # noqa: BLE001 - shown, and this view is not drawn again
                last, marks, shown_map = 0, {}, {"display": "none"}
                body, first_map = html.Div(_message(exc), className="err"), no_update
            self.drawn = (self.job_id, last)
            return (
                *head,
                body,
                shown_map,
                last,
                marks,
                last,
                tiles,
                self.job_id,
                view_key,
                first_map,
            )

        @app.callback(
            Output("map", "figure"),
            Input("month", "value"),
            Input("basemap", "value"),
            State("shown-job", "data"),
            prevent_initial_call=True,
        )
        def draw_map(month: int, basemap: list, shown: int | None) -> Any:  # noqa: ANN401
            job = self.runner.job
            if job is None or job.summary is None or not shown:
                return no_update
            if not basemap and self.drawn == (shown, month):  # poll sent this one already
                return no_update
            if basemap and ONLINE["online"]:
                self.drawn = None
                return figures.map_basemap_figure(job.summary, month)
            self.drawn = (shown, month)
            return figures.map_figure(job.summary, month)

        @app.callback(
            Output("download", "data"),
            Output("run-error", "children", allow_duplicate=True),
            Input("download-button", "n_clicks"),
            State(CTL, "value"),
            State("scenario", "value"),
            prevent_initial_call=True,
        )
        def download(_n: int, _values: list, key: str) -> tuple:
            try:
                scn, result = self.edited(key, ctx.states_list[0])
            except Exception as exc:  # noqa: BLE001
                return no_update, _message(exc)
            if result.scenario is None:
                return no_update, "Not downloaded: the edited scenario is not valid (see above)."
            return dcc.send_string(result.text, f"{result.scenario.name}.toml"), ""

    def start(self, key: str, items: list, reps: Any, until: Any, seed: Any) -> str:  # noqa: ANN401
        """Validate the run settings and the edit, then start a job; return a message."""
        from scenelab.api import check_seed, check_until
        from scenelab.runs import check_replicates

        scn, result = self.edited(key, items)
        if result.scenario is None:
            return "Not run: the edited scenario is not valid (see the messages above)."
        replicates = check_replicates(reps, MAX_REPLICATES)
        last = check_until(scn, until or None)
        seed = check_seed(seed)
        job = Job(
            scn,
            result.scenario,
            replicates,
            seed,
            last,
            summarise=lambda j: summarise(j.reference, j.arm, j.results),
            render=lambda j: (
                results_view(j),
                figures.map_figure(j.summary, len(j.summary.months) - 1),
            ),
            complete=lambda j: complete(j.summary, j.reference, j.arm, j.results),
            workers=self.workers,
        )
        self.job_id = next(self.job_ids)
        self.runner.submit(job)
        return ""


@functools.cache
def _builtins() -> tuple[str, ...]:
    from scenelab.scenario.loader import builtin_names

    return tuple(builtin_names())


def is_loopback(host: str) -> bool:
    """Whether ``host`` names this machine only (127.0.0.0/8, ::1 or localhost)."""
    return host in ("localhost", "::1") or host.startswith("127.")


def make_server(dashboard: Dashboard, host: str = "127.0.0.1", port: int = 8050) -> Any:  # noqa: ANN401
    """Return a threaded WSGI server for the app, bound to ``host``:``port`` (0: a free port).

    On a loopback host, requests from any other address are refused (403) as well.

    Raises:
        OSError: If the address cannot be bound (e.g. the port is taken).
    """
    from werkzeug.serving import make_server as werkzeug_server

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
    flask = dashboard.app.server
    if is_loopback(host):

        @flask.before_request
        def _local_only() -> Any:  # noqa: ANN401
            from flask import abort, request

            if not is_loopback(request.remote_addr or ""):
                abort(403)
            return None

    if port:  # werkzeug exits the process on a taken port: find out first, with the same options
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((host, port))
    threading.Thread(target=probe_online, daemon=True).start()
    return werkzeug_server(host, port, flask, threaded=True)


def serve(
    scenario: str = "bergen",
    host: str = "127.0.0.1",
    port: int = 8050,
    workers: int | None = None,
) -> None:
    """Serve the dashboard until interrupted, printing its address first.

    ``workers`` runs are simulated at once (default: the cores this process may use).
    """
    if scenario not in _builtins() and not Path(scenario).is_file():
        _load(scenario)  # raises the loader's one-line error
    try:
        server = make_server(Dashboard(scenario, workers), host, port)
    except OSError as exc:
        from scenelab.errors import ArgumentError

        raise ArgumentError(
            f"cannot listen on {host}:{port}: {exc.strerror or exc}; choose another --port "
            "(0 picks a free one)"
        ) from None
    bound_host, bound_port = server.socket.getsockname()[:2]
    where = "only this machine can connect" if is_loopback(host) else "other machines can connect"
    print(
        f"scenelab dashboard: http://{bound_host}:{bound_port}/ ({where}; Ctrl-C stops)", flush=True
    )
    try:
        server.serve_forever()
    finally:
        server.server_close()


__all__ = ["Dashboard", "make_server", "serve"]
