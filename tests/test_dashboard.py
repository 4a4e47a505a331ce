"""The dashboard without a browser: edits, their validation, the runner and the server's binding."""

import socket
import threading
import time
import urllib.request
from pathlib import Path

import pytest

pytest.importorskip("dash", reason="the dashboard extra is not installed")

from scenelab.cli import main  # noqa: E402
from scenelab.dashboard.app import Dashboard, make_server  # noqa: E402
from scenelab.dashboard.edits import NEW_HOUSING_ID, NEW_ROOM_ID, edit  # noqa: E402
from scenelab.dashboard.runner import Job  # noqa: E402
from scenelab.scenario import schema as sc  # noqa: E402
from scenelab.scenario.loader import builtin_names, load_scenario  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SMALL = ROOT / "examples" / "small_city.toml"


@pytest.fixture(scope="module")
def small():
    return load_scenario(SMALL)


def _without_name(scn):
    dump = scn.model_dump(mode="json")
    dump.pop("scenario")
    return dump


@pytest.mark.parametrize("name", builtin_names())
def test_no_edit_round_trips_every_builtin(name, tmp_path):
    scn = load_scenario(name)
    result = edit(scn, {})
    assert result.problems == {} and result.scenario is not None
    path = tmp_path / "out.toml"
    path.write_text(result.text, encoding="utf-8")
    again = load_scenario(path)
    assert again.name == f"{name}-edited"
    assert _without_name(again) == _without_name(scn)


def test_each_control_writes_its_scenario_key(small):
    edits = {
        "close": {"on": True, "site": "market_square", "start": "2020-03-01"},
        "police": {"on": True, "kind": "police_strategy", "officer_hours_per_day": 30,
                   "keep_clear": ["centre_zone"], "tolerated": [], "lag_days": 2,
                   "max_officers_per_site": 1.5,
                   "from_hour": 8, "to_hour": 22, "start": "2020-02-01", "end": ""},
        "fine": {"on": True, "zone": "centre_zone", "propensity": 0.2, "amount_nok": 2500,
                 "start": "2020-02-01"},
        "room": {"on": True, "site": "market_square", "booths": 3,
                 "capacity_injections_per_day": 40, "from_hour": 10, "to_hour": 2,
                 "days": "weekdays", "substances": ["stimulants"], "start": "2020-04-01"},
        "housing": {"on": True, "units": 25, "start": "2020-05-01"},
        "oat": {"on": True, "slots": 90, "low_threshold": True, "start": "2020-05-01"},
        "outreach": {"on": True, "sites": ["east_underpass"], "staff": 1.5, "from_hour": 18,
                     "to_hour": 23, "start": "2020-02-01"},
        "expulsion": {"on": False, "propensity": 7},  # off: not applied, not validated
    }  # fmt: skip
    result = edit(small, edits)
    assert result.problems == {}, result.problems
    added = result.scenario.interventions[len(small.interventions) :]
    by_type = {iv.type: iv for iv in added}
    assert by_type["close_site"].site == "market_square"
    assert str(by_type["close_site"].start) == "2020-03-01"
    strategy = by_type["police_strategy"]
    assert (strategy.officer_hours_per_day, strategy.keep_clear, strategy.lag_days) == (
        30,
        ["centre_zone"],
        2,
    )
    assert strategy.max_officers_per_site == 1.5
    assert by_type["fine_policy"].amount_nok == 2500 and by_type["fine_policy"].propensity == 0.2
    assert "expulsion_policy" not in {iv.type for iv in added[:-1]} or len(added) == 8
    room = next(s for s in result.scenario.services if s.id == NEW_ROOM_ID)
    square = next(s for s in small.sites if s.id == "market_square")
    assert (room.lat, room.lon, room.booths, room.days) == (square.lat, square.lon, 3, "weekdays")
    assert room.hours.hours() == [10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 0, 1]
    assert room.substances == ["stimulants"] and room.open_at_start is False
    opened = [iv.service for iv in added if iv.type == "open_service"]
    assert opened == [NEW_ROOM_ID, NEW_HOUSING_ID]  # small city has no housing: a new service
    housing = next(s for s in result.scenario.services if s.id == NEW_HOUSING_ID)
    assert housing.units == 25
    resize = by_type["resize_service"]  # small city has an OAT clinic: resized, not duplicated
    assert (resize.service, resize.slots, resize.low_threshold) == ("city_oat", 90, True)
    assert by_type["outreach"].sites == ["east_underpass"] and by_type["outreach"].staff == 1.5
    assert not any(iv.type == "expulsion_policy" for iv in added)


def test_problems_are_validates_lines_beside_their_control(small, tmp_path, capsys):
    edits = {
        "expulsion": {"on": True, "zone": "centre_zone", "propensity": 1.5, "duration_hours": 24,
                      "start": "2020-02-01"},
        "room": {"on": True, "site": "market_square", "booths": 2.5,
                 "capacity_injections_per_day": 40, "from_hour": 9, "to_hour": 9, "days": "all",
                 "substances": ["opioids"], "start": "2020-04-01"},
    }  # fmt: skip
    result = edit(small, edits)
    assert result.scenario is None
    assert set(result.problems) == {"expulsion.propensity", "room.booths", "room.hours"}
    # The same file given to `scenelab validate` prints exactly these lines.
    path = tmp_path / "small_city-edited.toml"
    path.write_text(result.text, encoding="utf-8")
    assert main(["validate", str(path)]) == 1
    printed = capsys.readouterr().err.strip().splitlines()
    shown = [line for lines in result.problems.values() for line in lines]
    assert sorted(printed) == sorted(shown)
    assert "interventions[" in result.problems["expulsion.propensity"][0]
    assert "less than or equal to 1" in result.problems["expulsion.propensity"][0]


def test_a_date_outside_the_window_and_unknown_place(small):
    result = edit(small, {"close": {"on": True, "site": "nowhere", "start": "2030-01-01"}})
    assert "outside the run window 2020-01-01 .. 2021-12-31" in result.problems["close.start"][0]
    assert "nowhere" in result.problems["close.site"][0]


@pytest.mark.parametrize(
    "value", [None, "", "abc", "1e999", [1, 2], {"a": 1}, True, -1, 10**30, float("nan")]
)
def test_any_page_value_gives_problems_never_an_exception(small, value):
    for group, key in [
        ("room", "booths"),
        ("expulsion", "propensity"),
        ("close", "start"),
        ("police", "sites"),
        ("oat", "low_threshold"),
        ("housing", "units"),
    ]:
        result = edit(small, {group: {"on": True, key: value}})
        assert result.scenario is None or result.problems == {}
        if result.scenario is None:
            assert all(line.startswith("small_city-edited.toml: ")
                       for lines in result.problems.values() for line in lines)  # fmt: skip


def test_runner_pairs_replicates_and_cancel_stops_it(small):
    calls, gate = [], threading.Event()

    def run_one(scn, seed, replicate, until):
        calls.append((scn.name, seed, replicate))
        gate.wait(5)
        return object()

    edited = edit(small, {}).scenario
    job = Job(small, edited, replicates=3, seed=11, run_one=run_one).start()
    time.sleep(0.2)
    job.cancel()
    gate.set()
    assert job.wait(10)
    assert job.state == "cancelled" and job.done == 1
    assert calls == [("small_city", 11, 0)]

    done = Job(small, edited, replicates=2, seed=5, run_one=lambda s, se, r, u: (s.name, se, r))
    done.start().wait(10)
    assert done.state == "done" and done.runs_finished_at is not None
    # common random numbers: replicate r of both arms has the same seed and replicate number
    assert done.results == {
        "small_city": [("small_city", 5, 0), ("small_city", 5, 1)],
        "small_city-edited": [("small_city-edited", 5, 0), ("small_city-edited", 5, 1)],
    }


def test_cancel_with_two_workers_keeps_replicates_paired(small):
    gate = threading.Event()

    def run_one(scn, seed, replicate, until):
        gate.wait(5)
        return (scn.name, replicate)

    job = Job(small, edit(small, {}).scenario, replicates=3, seed=1, workers=2, run_one=run_one)
    job.start()
    time.sleep(0.2)
    job.cancel()
    gate.set()
    assert job.wait(10) and job.state == "cancelled"
    assert job.results == {"small_city": [("small_city", 0)],
                           "small_city-edited": [("small_city-edited", 0)]}  # fmt: skip


def test_a_failing_run_is_reported_not_raised(small):
    def boom(*_):
        raise RuntimeError("kernel fell over")

    job = Job(small, small, replicates=1, seed=1, run_one=boom).start()
    assert job.wait(10)
    assert job.state == "failed" and job.progress_text() == "Failed: RuntimeError: kernel fell over"


def _other_address() -> str | None:
    """A non-loopback IPv4 address of this machine (None if it has none)."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("192.0.2.1", 9))  # TEST-NET-1: no packet is sent for a UDP connect
            address = s.getsockname()[0]
    except OSError:
        return None
    return None if address.startswith("127.") or address == "0.0.0.0" else address


def test_server_binds_loopback_only_and_refuses_other_hosts():
    server = make_server(Dashboard(str(SMALL)), "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        host, port = server.socket.getsockname()[:2]
        assert host == "127.0.0.1"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as page:
            assert page.status == 200 and b"scenelab dashboard" in page.read()
        other = _other_address()
        if other is not None:  # the same port on this machine's network address: nobody listens
            with pytest.raises(OSError):
                socket.create_connection((other, port), timeout=3).close()
        # and a request that did arrive from elsewhere (e.g. through a proxy) is refused
        client = server.app.test_client()
        assert client.get("/", environ_base={"REMOTE_ADDR": "192.0.2.7"}).status_code == 403
        assert client.get("/", environ_base={"REMOTE_ADDR": "127.0.0.1"}).status_code == 200
    finally:
        server.shutdown()
        server.server_close()


def test_cli_dashboard_rejects_a_bad_port_and_a_missing_file(capsys, tmp_path):
    assert main(["dashboard", "--port", "70000"]) == 2
    assert "port must be from 0 to 65535" in capsys.readouterr().err
    assert main(["dashboard", str(tmp_path / "none.toml"), "--port", "0"]) == 2
    assert "no such scenario file" in capsys.readouterr().err


def test_cli_dashboard_on_a_taken_port_says_so(capsys):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        assert main(["dashboard", str(SMALL), "--port", str(port)]) == 2
    err = capsys.readouterr().err
    assert f"cannot listen on 127.0.0.1:{port}" in err and "choose another --port" in err


def test_policy_modes_offered_are_the_schemas():
    from scenelab.dashboard.controls import control_panel

    text = str(control_panel(load_scenario(SMALL)))
    for mode in sc.POLICE_MODES:
        assert f"'value': '{mode}'" in text


@pytest.fixture(scope="module")
def closed_park(small):
    """Two paired replicates, the park closed on 1 Feb (scene must move), to 31 March."""
    import datetime as dt

    from scenelab.dashboard.summary import complete, summarise

    edited = edit(small, {"close": {"on": True, "site": "river_park", "start": "2020-02-01"}})
    job = Job(small, edited.scenario, replicates=2, seed=3, until=dt.date(2020, 3, 31))
    job.summarise = lambda j: summarise(j.reference, j.arm, j.results)
    job.complete = lambda j: complete(j.summary, j.reference, j.arm, j.results)
    assert job.start().wait(600) and job.state == "done", job.error
    return job.summary


@pytest.mark.slow
def test_figures_show_the_closure_and_its_displacement(closed_park):
    from scenelab.dashboard import figures

    s = closed_park
    assert [m.strftime("%Y-%m") for m in s.months] == ["2020-01", "2020-02", "2020-03"]
    park = figures.presence(s, "edited", s.months[1]).set_index("site")["people"]
    assert park["river_park"] == 0.0 and park.sum() > 0
    january = figures.map_figure(s, 0)
    february = figures.map_figure(s, 1)
    arrows = [a for a in february.layout.annotations if a.showarrow]
    assert not [a for a in january.layout.annotations if a.showarrow]  # no month before
    # the edited arm's arrows leave the park (x2 axes: the right-hand, edited panel)
    park_lon = next(x.lon for x in s.sites.itertuples() if x.id == "river_park")
    assert any(a.xref == "x2" and a.ax == park_lon for a in arrows)
    tiles = figures.map_basemap_figure(s, 1)
    assert {t.type for t in tiles.data} == {"scattermap"}
    scene = figures.scene_figure(s)
    assert len(scene.data) == 6  # band (two edges) and mean, per arm
    assert all(len(t.x) == 91 for t in scene.data)  # 1 Jan .. 31 Mar 2020
    nb = figures.neighbourhood_figure(s)
    assert list(nb.data[0].x) == ["Old Town (0.30)", "Harbour East (0.85)"]  # by deprivation
    for fig in (figures.women_figure(s), figures.cost_figure(s)):
        assert len(fig.data) == 2 and all(t.error_y.array is not None for t in fig.data)
    rows = {r["outcome"]: r for r in figures.difference_rows(s)}
    assert "Total cost (NOK)" in rows and "Overdose deaths of women" in rows
    assert s.verdict.since.isoformat() == "2020-02-01" and s.verdict.sentences


def test_loopback_names():
    from scenelab.dashboard.app import is_loopback

    assert all(is_loopback(h) for h in ("127.0.0.1", "127.1.2.3", "localhost", "::1"))
    assert not any(is_loopback(h) for h in ("0.0.0.0", "192.0.2.7", "::", "example.org"))


def test_without_the_extra_the_command_names_it(tmp_path):
    import subprocess
    import sys

    code = (
        "import sys\nsys.modules['dash'] = None\nfrom scenelab.cli import main\n"
        "sys.exit(main(['dashboard', '--port', '0']))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=tmp_path
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip().endswith(
        "dash is not installed: install the dashboard extra: pip install 'scenelab[dashboard]'"
    )
