"""Property-based fuzzing of every input a user gives: scenario files, experiment files, arguments.

The property (issue 9): any input is either valid - and then a short run ends with finite
outputs - or rejected with a :class:`~scenelab.errors.ScenelabError` whose every line names the
file (and, for a value, its key path). Nothing else may escape: no ``TypeError``, ``KeyError``,
``RecursionError`` or traceback.

Inputs are mutations of real files (the built-in Bergen scenario, the example experiments): a
value replaced by one from a pool of troublemakers (wrong types, NaN, inf, huge and negative
numbers, quoted dates, empty tables), a key deleted, an unknown key added, list entries dropped
or repeated. Hypothesis runs derandomised (the same examples in every CI run) so a failure is
reproducible; the counts are set per test below (about 3,500 inputs per run in all).
"""

from __future__ import annotations

import copy
import datetime as dt
import math
import re
import tomllib
from pathlib import Path

import numpy as np
import pytest
import tomli_w
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import scenelab
from scenelab import runs
from scenelab.cli import main
from scenelab.errors import ScenelabError
from scenelab.experiments.runner import plan_experiment
from scenelab.experiments.spec import SpecError, parse_experiment
from scenelab.scenario import ScenarioError
from scenelab.scenario.loader import parse_text

BERGEN = tomllib.loads(scenelab.scenario.builtin_text("bergen"))
EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "experiments"
EXPERIMENTS = {
    p.name: tomllib.loads(p.read_text("utf-8"))
    for p in sorted(EXAMPLES.glob("*.toml"))
    # robustness and optimize files have their own schemas (their own tests fuzz them)
    if "calibration" not in p.name and "robustness" not in p.name and "optimize" not in p.name
}

TROUBLE = [
    -1, 0, 1, 2, 7, -1.5, 0.0, 0.5, 1.0, 1e-300, 1e308, -1e308, math.inf, -math.inf, math.nan,
    2**31, 2**52, "", "x", "0.5", "1", "yes", "true", "2012-06-01", True, False,
    dt.date(1900, 1, 1), dt.date(2012, 6, 1), dt.date(2100, 1, 1),
    dt.datetime(2012, 6, 1, 12, 0), [], [1, 2], ["a"], {}, {"a": 1}, {"value": 0.5},
    {"from_hour": 24, "to_hour": 0}, {"from_hour": 5, "to_hour": 5},
]  # fmt: skip


def _paths(data: object, prefix: tuple = ()) -> list[tuple]:
    """Every key path in a parsed TOML document (tables, lists and leaves)."""
    out = []
    if isinstance(data, dict):
        for key, value in data.items():
            out.append((*prefix, key))
            out.extend(_paths(value, (*prefix, key)))
    elif isinstance(data, list):
        for k, value in enumerate(data):
            out.append((*prefix, k))
            out.extend(_paths(value, (*prefix, k)))
    return out


def _parent(doc: dict, path: tuple) -> object:
    node: object = doc
    for part in path[:-1]:
        node = node[part]  # type: ignore[index]
    return node


@st.composite
def mutated(draw: st.DrawFn, base: dict, max_mutations: int = 3) -> tuple[dict, list[str]]:
    """A deep copy of ``base`` with 1..max_mutations random mutations, and what was done."""
    doc = copy.deepcopy(base)
    done = []
    for _ in range(draw(st.integers(1, max_mutations))):
        paths = _paths(doc)
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = _parent(doc, path)
        key = path[-1]
        kind = draw(st.sampled_from(["replace", "replace", "replace", "delete", "add", "dup"]))
        if kind == "replace":
            parent[key] = copy.deepcopy(draw(st.sampled_from(TROUBLE)))  # type: ignore[index]
        elif kind == "delete":
            del parent[key]  # type: ignore[arg-type]
        elif kind == "add" and isinstance(parent, dict):
            parent[draw(st.sampled_from(["colour", "capacity", "id", "note"]))] = 1
        elif kind == "dup" and isinstance(parent, list):
            parent.append(copy.deepcopy(parent[key]))
        done.append(f"{kind} {'.'.join(map(str, path))}")
    return doc, done


def _toml(doc: dict) -> str | None:
    try:
        return tomli_w.dumps(doc)
    except (TypeError, ValueError):
        return None  # e.g. a list of mixed tables and values TOML cannot express


def _assert_clear(exc: ScenelabError, *sources: str) -> None:
    lines = exc.lines()
    assert lines, "an error without a message"
    for line in lines:
        source = next((s for s in sources if line.startswith(s)), None)
        assert source is not None, line
        assert "Traceback" not in line and len(line) < 2_000, line
        assert re.search(r"\w", line[len(source) :]), line


FUZZ = {
    "derandomize": True,
    "database": None,
    "deadline": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
}


@pytest.mark.slow
@settings(max_examples=2000, **FUZZ)
@given(mutated(BERGEN))
def test_mutated_scenarios_are_valid_or_clearly_rejected(case):
    doc, done = case
    text = _toml(doc)
    if text is None:
        return
    try:
        parse_text(text, "fuzz.toml")
        event("valid")
    except ScenarioError as exc:
        event("rejected")
        _assert_clear(exc, "fuzz.toml")


VARIANTS = {
    name: tomllib.loads(scenelab.scenario.builtin_text(name))
    for name in scenelab.scenario.builtin_names()
    if "[variant]" in scenelab.scenario.builtin_text(name)
}


@pytest.mark.slow
@settings(max_examples=500, **FUZZ)
@given(st.sampled_from(sorted(VARIANTS)).flatmap(lambda n: mutated(VARIANTS[n], 2)))
def test_mutated_variants_are_valid_or_clearly_rejected(tmp_path_factory, case):
    doc, done = case
    text = _toml(doc)
    if text is None:
        return
    folder = tmp_path_factory.getbasetemp()
    try:
        parse_text(text, "fuzz.toml", folder)
        event("valid")
    except ScenarioError as exc:
        event("rejected")
        # A problem in the base is reported against the base file.
        _assert_clear(exc, "fuzz.toml", "bergen.toml")


NUMBERS = st.sampled_from([0, 1, 3, 0.0, 0.01, 0.3, 0.99, 1.0, 2.5, 40.0, 1e4, -0.2])


@st.composite
def numeric_mutation(draw: st.DrawFn) -> dict:
    """Bergen with 1-4 numbers changed to other numbers: often valid, so it gets run."""
    doc = copy.deepcopy(BERGEN)
    leaves = [
        p for p in _paths(doc)
        if isinstance(_parent(doc, p)[p[-1]], int | float)
        and not isinstance(_parent(doc, p)[p[-1]], bool) and p[0] not in ("run",)
    ]  # fmt: skip
    for _ in range(draw(st.integers(1, 4))):
        path = draw(st.sampled_from(leaves))
        old = _parent(doc, path)[path[-1]]
        new = draw(NUMBERS)
        _parent(doc, path)[path[-1]] = int(new) if isinstance(old, int) else float(new)
    return doc


@pytest.mark.slow
@settings(max_examples=120, **FUZZ)
@given(numeric_mutation())
def test_valid_mutated_scenarios_run_to_finite_outputs(doc):
    text = _toml(doc)
    try:
        scn = parse_text(text, "fuzz.toml")
    except ScenarioError as exc:
        event("rejected")
        _assert_clear(exc, "fuzz.toml")
        return
    event("valid: ran")
    res = scenelab.run(scn, seed=1, until=scn.run.start + dt.timedelta(days=1))
    for name, frame in (("site_day", res.site_day), ("city_day", res.city_day)):
        numbers = frame.select_dtypes("number").to_numpy(dtype=float)
        assert np.isfinite(numbers).all(), name
    bad = {k: v for k, v in res.outcomes.items() if not math.isfinite(v)}
    assert not bad, bad


@pytest.mark.slow
@settings(max_examples=600, **FUZZ)
@given(st.sampled_from(sorted(EXPERIMENTS)).flatmap(lambda n: mutated(EXPERIMENTS[n], 2)))
def test_mutated_experiment_files_are_valid_or_clearly_rejected(case):
    doc, done = case
    text = _toml(doc)
    if text is None:
        return
    try:
        spec = parse_experiment(tomllib.loads(text), "fuzz.toml")
        spec._source = EXAMPLES / "fuzz.toml"  # relative scenario paths resolve as in examples/
        plan_experiment(spec)
        event("valid")
    except SpecError as exc:
        event("rejected")
        _assert_clear(exc, "fuzz.toml", str(EXAMPLES / "fuzz.toml"))


DATES = st.one_of(
    st.sampled_from(["2012-01-02", "2012-01-01", "2011-12-31", "2018-01-01", "2012/01/02",
                     "2012-02-30", "yesterday", "", "2012-1-2", "20120102", "2012-01-02T00:00"]),
    st.text(max_size=12),
)  # fmt: skip
INTS = st.one_of(
    st.integers(-5, 5).map(str),
    st.sampled_from(["10001", str(2**32), str(10**23), "1.5", "one", "", "0x10", "-0"]),
)


@pytest.mark.slow
@settings(max_examples=600, **FUZZ)
@given(
    until=st.none() | DATES,
    seed=st.none() | INTS,
    replicates=st.none() | INTS,
    sets=st.lists(
        st.sampled_from(
            [
                "b_risk=2",
                "b_risk=nan",
                "b_risk=inf",
                "p_use_sif=1.7",
                "nope=1",
                "b_risk",
                "=3",
                "dur_visit_hours=0",
                "b_risk=-1e9",
            ]
        ),
        max_size=2,
    ),  # fmt: skip
)
def test_cli_argument_sets_run_or_fail_with_one_line(tmp_path_factory, until, seed, replicates,
                                                      sets):  # fmt: skip
    import contextlib
    import io

    out = tmp_path_factory.mktemp("cli") / "out"
    argv = ["run", "bergen", "--out", str(out), "--quiet"]
    for flag, value in (("--until", until), ("--seed", seed), ("--replicates", replicates)):
        if value is not None:
            argv += [f"{flag}={value}"]
    for item in sets:
        argv += [f"--set={item}"]
    calls = []
    err = io.StringIO()
    with pytest.MonkeyPatch.context() as mp:
        # Simulation and writing are stubbed: this property is about arguments, and every
        # check of them runs before the first simulated hour.
        mp.setattr(runs, "run_replicates", lambda *a, **k: calls.append(k))
        mp.setattr(runs, "_write_run", lambda *a, **k: None)
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            try:
                code = main(argv)
            except SystemExit as exc:  # argparse's own exit for a bad option
                code = exc.code
    text = err.getvalue()
    assert "Traceback" not in text
    event(f"exit {code}")
    if code == 0:
        assert calls and all(k["until"] is None or isinstance(k["until"], dt.date) for k in calls)
    else:
        assert code == 2, (argv, code, text)
        lines = text.strip().splitlines()
        assert lines and all(line.startswith("scenelab") for line in lines), text
        assert len(lines) == 1 or all(" override " in line for line in lines), text
        assert not calls
