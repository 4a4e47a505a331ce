"""Never lose a user's files; every bad input gets a clear error; no run ends in garbage.

Each case the reliability review found (issue 9) is a regression test here; the property-based
fuzz suite over mutated files and argument sets is in ``test_fuzz.py``.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import multiprocessing
import re
import time
from pathlib import Path

import pytest
from tests.conftest import write_variant

import scenelab
from scenelab import runs
from scenelab.cli import main
from scenelab.errors import ArgumentError, OutputError, ScenelabError
from scenelab.outputs import MARKER, OutputDirectory, dump_json, read_marker
from scenelab.scenario import ScenarioError, load_scenario
from scenelab.scenario.loader import parse_text

UNTIL = "2012-01-03"
BERGEN_TEXT = scenelab.scenario.builtin_text("bergen")


def _run(out: Path, *extra: str) -> int:
    return main(["run", "bergen", "--out", str(out), "--until", UNTIL, "--quiet", *extra])


def _one_line_error(capsys, code: int, expected: int = 2, pattern: str = "") -> str:
    captured = capsys.readouterr()
    assert code == expected, captured
    err = "\n".join(line for line in captured.err.strip().splitlines() if ": warning: " not in line)
    assert "Traceback" not in err
    assert len(err.splitlines()) == 1, err
    assert re.search(pattern, err), err
    return err


# -- output directories ------------------------------------------------------------------------


def test_foreign_folder_is_refused_and_left_untouched(tmp_path, capsys):
    out = tmp_path / "mine"
    (out / "data").mkdir(parents=True)
    (out / "notes.txt").write_text("my notes")
    (out / "data" / "data.csv").write_text("a,b\n1,2\n")
    err = _one_line_error(capsys, _run(out), pattern="did not write.*--force")
    assert "notes.txt" in err
    assert (out / "notes.txt").read_text() == "my notes"
    assert (out / "data" / "data.csv").read_text() == "a,b\n1,2\n"
    assert sorted(p.name for p in out.iterdir()) == ["data", "notes.txt"]


def test_force_adds_outputs_beside_the_users_files_and_keeps_them(tmp_path, capsys):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("my notes")
    assert _run(out, "--force") == 0
    assert (out / "notes.txt").read_text() == "my notes"
    assert (out / "site_day.parquet").exists()
    assert read_marker(out)["files"] == sorted(
        ["city_day.parquet", "costs.csv", "neighbourhood_month.parquet", "plotly.min.js",
         "report.html", "site_day.parquet", "summary.json"]
    )  # fmt: skip
    # A later run in the same folder (now scenelab's) replaces only its own files.
    assert _run(out) == 0
    assert (out / "notes.txt").read_text() == "my notes"


def test_rerun_replaces_own_files_and_removes_only_its_stale_ones(tmp_path):
    out = tmp_path / "run"
    survey = write_variant(
        tmp_path, 'name = "bergen"', 'name = "bergen-copy"', name="copy.toml"
    )  # a copy, so the folder's first writer is a different scenario than the second
    runs.run_to_directory(survey, out, until=dt.date(2012, 1, 3), progress=False, report=False)
    (out / "extra_by_user.txt").write_text("keep me")
    marker = read_marker(out)
    marker["files"].append("old_output.csv")  # as if an earlier version wrote one more file
    (out / MARKER).write_text(json.dumps(marker))
    (out / "old_output.csv").write_text("stale")
    runs.run_to_directory("bergen", out, until=dt.date(2012, 1, 3), progress=False, report=False)
    names = sorted(p.name for p in out.iterdir())
    assert "old_output.csv" not in names  # scenelab wrote it and no longer does
    assert "extra_by_user.txt" in names
    summary = json.loads((out / "summary.json").read_text())
    assert summary["scenario"] == "bergen"


@pytest.mark.parametrize("where", [".", "~", "/"])
def test_working_home_and_root_folders_are_always_refused(tmp_path, monkeypatch, capsys, where):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "scenario.toml").write_text(BERGEN_TEXT)
    code = main(["run", "scenario.toml", "--out", where, "--until", UNTIL, "--quiet", "--force"])
    _one_line_error(capsys, code, pattern="refusing")
    assert (tmp_path / "scenario.toml").read_text() == BERGEN_TEXT
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scenario.toml"]


def test_folder_holding_the_working_directory_is_refused(tmp_path, monkeypatch, capsys):
    inner = tmp_path / "project" / "work"
    inner.mkdir(parents=True)
    monkeypatch.chdir(inner)
    _one_line_error(capsys, _run(tmp_path / "project", "--force"), pattern="refusing")


def test_out_that_is_a_file_or_under_a_file_fails_before_simulating(tmp_path, capsys, monkeypatch):
    simulated = []
    monkeypatch.setattr(runs, "run_replicates", lambda *a, **k: simulated.append(1))
    afile = tmp_path / "afile"
    afile.write_text("x")
    _one_line_error(capsys, _run(afile), pattern="not a directory")
    _one_line_error(capsys, _run(afile / "sub"), pattern="not a directory")
    assert afile.read_text() == "x"
    assert simulated == []


def test_unwritable_parent_fails_before_simulating(tmp_path, capsys, monkeypatch):
    # chmod cannot make a folder unwritable for root (CI runs as root), so the filesystem's
    # refusal is simulated where scenelab probes it: creating a file in the target's parent.
    import tempfile

    real_mkstemp = tempfile.mkstemp
    parent = tmp_path / "ro"
    parent.mkdir()

    def refuse(*args, dir=None, **kwargs):  # noqa: A002 - tempfile's own keyword
        if dir is not None and Path(dir) == parent:
            raise PermissionError(13, "Permission denied")
        return real_mkstemp(*args, dir=dir, **kwargs)

    simulated = []
    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    monkeypatch.setattr(runs, "run_replicates", lambda *a, **k: simulated.append(1))
    _one_line_error(capsys, _run(parent / "out"), pattern="cannot write.*Permission denied")
    assert simulated == [] and list(parent.iterdir()) == []


def _hold_folder(out: str, ready, release) -> None:
    with OutputDirectory(out):
        ready.set()
        release.wait(30)


def test_second_writer_is_refused_while_the_first_holds_the_folder(tmp_path, capsys):
    out = tmp_path / "shared"
    ctx = multiprocessing.get_context("spawn")
    ready, release = ctx.Event(), ctx.Event()
    holder = ctx.Process(target=_hold_folder, args=(str(out), ready, release))
    holder.start()
    try:
        assert ready.wait(60)
        _one_line_error(capsys, _run(out), pattern="another scenelab command")
    finally:
        release.set()
        holder.join(30)
    assert _run(out) == 0  # free again once the first one finished
    assert not list(tmp_path.glob(".shared.scenelab-lock"))


def test_stale_staging_from_a_killed_run_is_cleaned(tmp_path):
    out = tmp_path / "run"
    stale = tmp_path / ".run.scenelab-staging-abc123"
    stale.mkdir()
    (stale / ".scenelab-staging").write_text("4242\n")
    (stale / "site_day.parquet").write_text("half")
    legacy = tmp_path / ".run.k3j4h5g6"  # what scenelab 0.1 left behind
    legacy.mkdir()
    (legacy / "summary.json").write_text("{}")
    not_ours = tmp_path / ".run.notours1"
    not_ours.mkdir()
    (not_ours / "precious.txt").write_text("keep")
    runs.run_to_directory("bergen", out, until=dt.date(2012, 1, 3), progress=False, report=False)
    assert not stale.exists() and not legacy.exists()
    assert (not_ours / "precious.txt").read_text() == "keep"


def test_results_write_uses_the_same_protection(tmp_path, short_run):
    out = tmp_path / "res"
    out.mkdir()
    (out / "mine.txt").write_text("x")
    with pytest.raises(OutputError, match="did not write"):
        short_run.write(out)
    short_run.write(out, force=True)
    assert (out / "mine.txt").read_text() == "x"
    json.loads((out / "summary.json").read_text())


def test_odd_does_not_overwrite_a_foreign_file(tmp_path, capsys):
    target = tmp_path / "ODD.md"
    target.write_text("my own notes\n")
    _one_line_error(capsys, main(["odd", "--out", str(target)]), pattern="not written by")
    assert target.read_text() == "my own notes\n"
    assert main(["odd", "--out", str(tmp_path / "new.md")]) == 0
    assert main(["odd", "--out", str(tmp_path / "new.md")]) == 0  # its own file: replaced


# -- command-line arguments --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "pattern"),
    [
        (["--until", "2012/03/01"], "not a date.*YYYY-MM-DD"),
        (["--until", "2011-03-01"], "outside bergen's run window"),
        (["--until", "2019-01-01"], "outside bergen's run window"),
        (["--replicates", "-1"], "replicates must be from 1 to 10000"),
        (["--replicates", "0"], "replicates must be from 1 to 10000"),
        (["--replicates", "two"], "not a whole number"),
        (["--seed", "-1"], "seed must be from 0"),
        (["--seed", str(10**23)], "seed must be from 0"),
        (["--set", "b_risk=nan"], "b_risk.*not a finite number"),
        (["--set", "b_rsik=1"], "b_rsik.*not a parameter.*did you mean 'b_risk'"),
        (["--set", "p_use_sif=1.7"], "not a probability"),
        (["--set", "b_risk"], "NAME=VALUE"),
    ],
)
def test_bad_run_arguments_get_one_line_and_exit_2(tmp_path, capsys, monkeypatch, args, pattern):
    simulated = []
    monkeypatch.setattr(runs, "run_replicates", lambda *a, **k: simulated.append(1))
    code = main(["run", "bergen", "--out", str(tmp_path / "o"), "--quiet", *args])
    _one_line_error(capsys, code, pattern=pattern)
    assert simulated == []
    assert list(tmp_path.iterdir()) == []


def test_compare_checks_names_and_arguments_before_running(tmp_path, capsys):
    copy = write_variant(tmp_path, 'title = "', 'title = "Copy: ', name="mycity.toml")
    code = main(["compare", "bergen", str(copy), "--out", str(tmp_path / "c"), "--quiet"])
    _one_line_error(capsys, code, pattern="distinct names.*'bergen' is the name of")
    code = main(
        ["compare", "bergen", "bergen-no-closure", "--out", str(tmp_path / "c"),
         "--replicates", "0"]
    )  # fmt: skip
    _one_line_error(capsys, code, pattern="replicates")


def test_internal_error_prints_one_line_and_saves_the_trace(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("SCENELAB_CRASH_DIR", str(tmp_path / "crashes"))

    def broken(*args, **kwargs):
        raise ZeroDivisionError("an internal bug")

    monkeypatch.setattr(runs, "run_replicates", broken)
    err = _one_line_error(capsys, _run(tmp_path / "o"), expected=1, pattern="internal error")
    saved = list((tmp_path / "crashes").iterdir())
    assert len(saved) == 1 and str(saved[0]) in err
    assert "ZeroDivisionError: an internal bug" in saved[0].read_text()
    assert not (tmp_path / "o").exists()


def test_help_and_version(capsys):
    assert main(["--version"]) == 0
    assert re.match(r"scenelab \d", capsys.readouterr().out)
    assert main(["run", "--help"]) == 0
    help_text = capsys.readouterr().out
    for option in ("--out", "--force", "--seed", "--replicates", "--until", "--set", "--quiet"):
        assert option in help_text


# -- scenario files: rejected with the file and key path ---------------------------------------


def _problems(text: str, folder: Path | None = None) -> list[str]:
    with pytest.raises(ScenarioError) as info:
        parse_text(text, "city.toml", folder)
    lines = info.value.lines()
    assert all(line.startswith("city.toml") for line in lines), lines
    return lines


def _sub(old: str, new: str) -> str:
    assert BERGEN_TEXT.count(old) >= 1, old
    return BERGEN_TEXT.replace(old, new, 1)


@pytest.mark.parametrize(
    ("old", "new", "pattern"),
    [
        ("capacity_people = 80", "capacity_people = inf", r"sites\[5\].capacity_people.*finite"),
        ("capacity_people = 80", "capacity_people = 1e30", r"capacity_people.*less than or equal"),
        ("capacity_people = 80", 'capacity_people = "80"', r"capacity_people.*valid number"),
        ("capacity_people = 80", "capacity_people = true", r"capacity_people.*valid number"),
        ("open_at_start = false", 'open_at_start = "yes"', r"open_at_start.*valid boolean"),
        ("start = 2012-01-01", 'start = "2012-01-01"', r"run.start.*TOML date.*unquoted"),
        ("initial_people = ", "initial_people = 1000000000000 #", r"initial_people.*less than"),
        ("[parameters]", "[parameters]\nb_risk = nan", r"parameters.b_risk.*finite number"),
        ("[parameters]", "[parameters]\nb_risk = inf", r"parameters.b_risk.*finite number"),
        ("[parameters]", '[parameters]\nb_risk = "0.5"', r"parameters.b_risk.*finite number"),
        ("[parameters]", "[parameters]\nb_risk = true", r"parameters.b_risk.*finite number"),
        ("[parameters]", "[parameters]\ndur_visit_hours = 0", r"dur_visit_hours.*must be > 0"),
        ("[parameters]", "[parameters]\nn_market_reference = 0", r"n_market_reference.*> 0"),
        ("[parameters]", "[parameters]\nb_risk = 1e12", r"b_risk.*out of range"),
    ],
)
def test_wrong_values_are_rejected_naming_the_key(old, new, pattern):
    lines = _problems(_sub(old, new))
    assert any(re.search(pattern, line) for line in lines), lines


def test_every_bound_in_a_table_is_stated():
    lines = _problems(_sub("units = 20 ", "units = 1099511627776 #"))
    assert any("less than or equal to 1000000" in line for line in lines), lines


def test_empty_hour_window_is_rejected():
    text = BERGEN_TEXT + (
        '\n[[interventions]]\ntype = "police_plan"\nstart = 2013-01-01\nsites = ["nygardsparken"]'
        '\nmode = "continuous_patrol"\nofficers = 2\nhours = { from_hour = 24, to_hour = 0 }\n'
    )
    lines = _problems(text)
    assert any("from_hour" in line and "less than or equal to 23" in line for line in lines)


def test_zero_residents_everywhere_is_rejected():
    text = re.sub(r"residents = \d+", "residents = 0", BERGEN_TEXT)
    assert any("residents are zero" in line for line in _problems(text))


def test_huge_or_infinite_initial_weights_are_rejected():
    lines = _problems(
        _sub("nygardsparken = 0.75, vagsbunnen = 0.12", "nygardsparken = 1e308, vagsbunnen = 1e308")
    )
    assert any("initial_sites" in line and "less than or equal" in line for line in lines)


def test_unreadable_files_get_one_clear_problem(tmp_path):
    cases = {
        "latin1.toml": ("# Nygårdsparken\n" + BERGEN_TEXT).encode("latin-1", "replace"),
        "deep.toml": b"a = " + b"[" * 500 + b"]" * 500,
        "deeptable.toml": b"a = " + b"{b=" * 300 + b"1" + b"}" * 300,
        "bigint.toml": b"a = " + b"9" * 5000,
        "bigint2.toml": b"a = " + b"9" * 40,
        "nottoml.toml": b"[scenario\nname=",
    }
    expected = {
        "latin1.toml": "not UTF-8 text.*line 1",
        "deep.toml": "nested too deep",
        "deeptable.toml": "nested too deep",
        "bigint.toml": "not readable TOML.*digits",
        "bigint2.toml": "too large",
        "nottoml.toml": "not valid TOML",
    }
    for name, data in cases.items():
        path = tmp_path / name
        path.write_bytes(data)
        with pytest.raises(ScenarioError) as info:
            load_scenario(path)
        lines = info.value.lines()
        assert len(lines) == 1 and lines[0].startswith(name), lines
        assert re.search(expected[name], lines[0]), lines


def test_variant_base_is_type_checked_and_limited_to_scenario_files(tmp_path):
    variant = '[variant]\nbase = "{base}"\n[scenario]\nname = "v"\ntitle = "V"\n'
    bad_base = tmp_path / "base.toml"
    bad_base.write_text(BERGEN_TEXT.replace("[parameters]", 'parameters = "oops"\n[parameters]'))
    for base, pattern in [
        ("/etc/passwd", "relative path to a .toml"),
        ("../..", "relative path to a .toml"),
        ("missing.toml", "neither a built-in"),
    ]:
        lines = _problems(variant.format(base=base), tmp_path)
        assert any(re.search(pattern, line) for line in lines), lines
    not_toml = tmp_path / "broken.toml"
    not_toml.write_text("[scenario\n")
    with pytest.raises(ScenarioError) as info:
        parse_text(variant.format(base="broken.toml"), "city.toml", tmp_path)
    assert "broken.toml" in str(info.value) and "not valid TOML" in str(info.value)
    wrong_types = tmp_path / "wrong.toml"
    wrong_types.write_text(BERGEN_TEXT.replace("[[sites]]", "sites = 'x'\n[[nosites]]", 1))
    with pytest.raises(ScenarioError) as info:
        parse_text(variant.format(base="wrong.toml"), "city.toml", tmp_path)
    assert "wrong.toml" in str(info.value)
    lines = _problems('parameters = "x"\n' + variant.format(base="bergen"))
    assert any("parameters" in line and "table" in line for line in lines), lines


def test_dropping_from_a_base_without_ids_says_so(tmp_path):
    base = tmp_path / "plain.toml"
    head, sep, tail = BERGEN_TEXT.partition("[[interventions]]")
    base.write_text(head + sep + re.sub(r'\nid = "[a-z0-9_]+"', "", tail))
    text = (
        '[variant]\nbase = "plain.toml"\ndrop_interventions = ["x"]\n'
        '[scenario]\nname = "v"\ntitle = "V"\n'
    )
    lines = _problems(text, tmp_path)
    assert any("names none of its interventions" in line for line in lines), lines


def test_scenario_errors_are_scenelab_errors():
    assert issubclass(ScenarioError, ScenelabError)
    with pytest.raises(ArgumentError):
        scenelab.run("bergen", until="2011-01-01")
    with pytest.raises(ArgumentError):
        scenelab.run("bergen", seed=-1, until=UNTIL)
    for bad in (math.nan, math.inf, "2"):
        with pytest.raises(ScenelabError, match="b_risk"):
            scenelab.run("bergen", until=UNTIL, overrides={"b_risk": bad})


# -- outputs are valid, strict JSON -------------------------------------------------------------


def test_summary_is_strict_json_even_when_values_are_undefined(tmp_path):
    # Every site closed from the start: shares of nobody are undefined -> null, never NaN.
    text = BERGEN_TEXT.replace("\nconcealment = ", "\nopen_at_start = false\nconcealment = ")
    path = tmp_path / "closed.toml"
    path.write_text(text)
    out = tmp_path / "closed"
    runs.run_to_directory(path, out, until=dt.date(2012, 1, 3), progress=False, report=False)
    raw = (out / "summary.json").read_text()
    json.loads(raw, parse_constant=lambda c: pytest.fail(f"non-standard JSON constant {c}"))


def test_dump_json_turns_nan_into_null():
    import numpy as np

    text = dump_json({"a": math.nan, "b": [np.float64("inf"), 1.5], "c": np.int64(3)})
    assert json.loads(text) == {"a": None, "b": [None, 1.5], "c": 3}


# -- experiments ---------------------------------------------------------------------------------


def test_experiment_nan_override_and_bad_until_are_refused_before_running(tmp_path, capsys):
    spec = tmp_path / "exp.toml"
    spec.write_text(
        '[experiment]\nname = "x"\n\n[[arms]]\nname = "a"\nscenario = "bergen"\n'
        "overrides = { b_risk = nan }\n"
    )
    code = main(["experiment", str(spec), "--out", str(tmp_path / "e"), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2 and "arms[0].overrides.b_risk" in err and "finite" in err, err
    spec.write_text(
        '[experiment]\nname = "x"\nuntil = 2011-01-01\n\n[[arms]]\nname = "a"\n'
        'scenario = "bergen"\noverrides = { p_use_sif = 1.5 }\n'
    )
    code = main(["experiment", str(spec), "--out", str(tmp_path / "e"), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2 and "experiment.until" in err and "outside" in err, err
    assert not (tmp_path / "e" / "experiment.duckdb").exists()


def test_status_of_a_killed_experiment_says_interrupted(tmp_path, capsys):
    from scenelab.experiments.runner import STATUS_FILE, read_status

    ctx = multiprocessing.get_context("spawn")
    dead = ctx.Process(target=time.sleep, args=(0,))
    dead.start()
    dead.join()
    import socket

    (tmp_path / STATUS_FILE).write_text(
        json.dumps({"experiment": "x", "state": "running", "pid": dead.pid,
                    "host": socket.gethostname(), "total": 4, "stored": 1, "failed": 0})
    )  # fmt: skip
    assert read_status(tmp_path)["state"] == "interrupted"
    assert main(["status", str(tmp_path)]) == 0
    assert "interrupted" in capsys.readouterr().out


def test_patterns_on_a_city_without_patterns_says_so(capsys):
    examples = Path(__file__).resolve().parents[1] / "examples" / "small_city.toml"
    err = _one_line_error(capsys, main(["patterns", str(examples)]), pattern="defines no observed")
    assert "small_city.patterns.toml" in err


def test_report_labels_are_human_readable():
    from scenelab.runs import intervention_label, period_labels

    scn = load_scenario(Path(__file__).resolve().parents[1] / "examples" / "small_city.toml")
    labels = period_labels(scn)
    assert labels[0] == "At the start" and len(set(labels)) == len(labels)
    assert not any(re.search(r"\d{4}-\d\d-\d\d\.\.", label) for label in labels)  # no date ranges
    bare = scn.interventions[1].model_copy(update={"note": ""})  # the park closes
    assert intervention_label(bare, scn) == "Riverside Park closed"


def test_a_variant_can_add_a_zone_for_its_own_policy():
    text = (
        '[variant]\nbase = "bergen"\n[scenario]\nname = "v"\ntitle = "V"\n'
        '[[zones]]\nid = "station_zone"\nsites = ["bystasjonen", "jernbanestasjonen"]\n'
        '[[interventions]]\ntype = "expulsion_policy"\nstart = 2015-01-01\nzone = "station_zone"\n'
        "propensity = 0.2\nduration_hours = 24\n"
    )
    scn = parse_text(text, "v.toml")
    assert [z.id for z in scn.zones][-1] == "station_zone"
    assert len(scn.zones) == len(load_scenario("bergen").zones) + 1
    lines = _problems(text.replace('id = "station_zone"', 'id = "park_zone"'))
    assert any("duplicate id 'park_zone'" in line for line in lines), lines


def test_every_command_line_option_has_help_text():
    import argparse

    from scenelab.cli import build_parser

    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    missing = [
        f"{name} {action.option_strings or action.dest}"
        for name, parser in sub.choices.items()
        for action in parser._actions
        if not action.help and not isinstance(action, argparse._HelpAction)
    ]
    assert not missing
