"""Robustness maps (issue 11): an outcome over a site-attribute shift x a behavioural parameter.

Known answers: (1) a toy runner whose regime is a known function of the shifted concealment, with
a coin flip (by seed) in the middle column: only that column is bistable, the others are 0 or 1
exactly; (2) a tiny two-site city, equally policed, where with a strong preference for hidden places
under police risk (b_conceal) the more concealed site holds most of the scene in every replicate.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import scenelab
from scenelab.experiments.robustness import (
    CELLS_TABLE,
    RUNS_TABLE,
    RobustnessSpec,
    load_base,
    load_robustness,
    run_robustness,
    shifted,
    summarise,
)
from scenelab.experiments.spec import SpecError
from scenelab.experiments.store import ResultStore

ROOT = Path(__file__).resolve().parents[1]
SMALL = ROOT / "examples" / "small_city.toml"

SPEC = """
[robustness]
name = "toy-map"
scenario = "{scenario}"
seed = 100
replicates = {reps}
until = 2020-03-31

[outcome]
label = "underpass share"
figure = {{ kind = "share", site = "east_underpass", window = [2020-02-01, 2020-03-31] }}
threshold = 0.5

[site_attribute]
attribute = "concealment"
sites = {sites}
shifts = [-0.3, 0.0, 0.3]

[parameter]
name = "b_conceal"
values = [0.5, 2.0]
"""


def write_spec(tmp_path: Path, reps: int = 8, sites: str = '["east_underpass"]', **kw) -> Path:
    path = tmp_path / "map.toml"
    text = SPEC.format(scenario=str(SMALL), reps=reps, sites=sites)
    for old, new in kw.items():
        text = text.replace(old, new)
    path.write_text(text, encoding="utf-8")
    return path


class ToyResults:
    """Just what a share figure reads: a site_day table."""

    def __init__(self, site_day: pd.DataFrame) -> None:
        self.site_day = site_day


class ToyRunner:
    """Underpass share 0.9 if its concealment >= 0.95, 0.1 if <= 0.6; in between a coin (seed)."""

    def __init__(self) -> None:
        self.calls: list[tuple[dict[str, float], int, dict[str, float]]] = []

    def __call__(self, scn, seed, overrides, until):  # noqa: ANN001, ANN204
        conc = {s.id: s.concealment for s in scn.sites}
        self.calls.append((conc, seed, dict(overrides)))
        c = conc["east_underpass"]
        if c >= 0.95:
            share = 0.9
        elif c <= 0.6:
            share = 0.1
        else:
            share = 0.9 if np.random.default_rng(seed).random() < 0.5 else 0.1
        dates = pd.date_range("2020-02-01", "2020-03-31")
        rows = [
            {"date": d, "site": site, "people_present": people}
            for d in dates
            for site, people in (("east_underpass", 100 * share), ("river_park", 100 * (1 - share)))
        ]
        return ToyResults(pd.DataFrame(rows))


def test_toy_map_has_the_known_regimes_and_bistable_column(tmp_path):
    spec, base = load_robustness(write_spec(tmp_path))
    runner = ToyRunner()
    res = run_robustness(spec, base, tmp_path / "out", runner=runner)
    assert res.ran == 3 * 2 * 8 and len(res.runs) == 48
    cells = res.cells.set_index(["shift", "parameter_value"])
    for value in (0.5, 2.0):
        assert cells.loc[(-0.3, value), "share_in_regime"] == 0.0  # 0.85 - 0.3 = 0.55
        assert cells.loc[(0.3, value), "share_in_regime"] == 1.0  # 0.85 + 0.3 -> 1.0 (clipped)
        middle = cells.loc[(0.0, value), "share_in_regime"]
        assert 0.0 < middle < 1.0
    assert set(res.cells.loc[res.cells["bistable"], "shift"]) == {0.0}
    # Common random numbers: the same replicate seeds in every cell.
    seeds = res.runs.groupby(["shift", "parameter_value"])["seed"].apply(tuple)
    assert seeds.nunique() == 1 and seeds.iloc[0] == tuple(range(100, 108))
    # The shift is applied to the listed site only, and clipped to [0, 1].
    seen = {round(c["east_underpass"], 6) for c, _, _ in runner.calls}
    assert seen == {0.55, 0.85, 1.0}
    assert {c["river_park"] for c, _, _ in runner.calls} == {0.5}
    assert {o["b_conceal"] for _, _, o in runner.calls} == {0.5, 2.0}
    assert res.html.is_file() and "bistable" in res.html.read_text(encoding="utf-8")


def test_map_is_stored_in_duckdb_and_resumes_without_rerunning(tmp_path):
    spec, base = load_robustness(write_spec(tmp_path, reps=2))
    out = tmp_path / "out"
    run_robustness(spec, base, out, runner=ToyRunner())
    again = ToyRunner()
    res = run_robustness(spec, base, out, runner=again)
    assert again.calls == [] and res.ran == 0 and len(res.runs) == 12
    with ResultStore.in_dir(out, read_only=True) as store:
        n_runs = store.query(f"SELECT count(*) AS n FROM {RUNS_TABLE}")["n"].iloc[0]
        cells = store.query(f"SELECT * FROM {CELLS_TABLE}")
    assert n_runs == 12 and len(cells) == 6 and set(cells["experiment"]) == {"toy-map"}


def test_a_changed_spec_with_the_same_name_is_refused_in_the_same_folder(tmp_path):
    spec, base = load_robustness(write_spec(tmp_path, reps=1))
    run_robustness(spec, base, tmp_path / "out", runner=ToyRunner())
    changed, _ = load_robustness(write_spec(tmp_path, reps=2))
    with pytest.raises(SpecError, match="different map named 'toy-map'"):
        run_robustness(changed, base, tmp_path / "out", runner=ToyRunner())


def test_every_site_is_shifted_when_no_sites_are_listed():
    scn = scenelab.load_scenario(SMALL)
    out = shifted(scn, "concealment", [], -0.2)
    before = {s.id: s.concealment for s in scn.sites}
    after = {s.id: s.concealment for s in out.sites}
    assert after == pytest.approx({k: max(0.0, v - 0.2) for k, v in before.items()})
    assert out.scenario_hash != scn.scenario_hash
    assert shifted(scn, "concealment", [], 0.0) is scn


def test_summary_marks_bistable_cells_only_when_both_regimes_occur():
    runs = pd.DataFrame(
        {"shift": [0, 0, 1, 1], "parameter_value": [1, 1, 1, 1], "outcome": [0.2, 0.8, 0.7, 0.9]}
    )
    cells = summarise(runs, 0.5).set_index("shift")
    assert cells.loc[0, "share_in_regime"] == 0.5 and bool(cells.loc[0, "bistable"])
    assert cells.loc[1, "share_in_regime"] == 1.0 and not bool(cells.loc[1, "bistable"])
    assert cells.loc[0, "sd"] == pytest.approx(np.std([0.2, 0.8], ddof=1))


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        ('sites = ["east_underpass"]', 'sites = ["nowhere"]', "site_attribute.sites[0]"),
        ('name = "b_conceal"', 'name = "b_conseal"', "parameter.name"),
        ('site = "east_underpass"', 'site = "nowhere"', "outcome.figure.site"),
        ("values = [0.5, 2.0]", "values = [0.5, -1e9]", "parameter.values[1]"),
        (
            'figure = { kind = "share", site = "east_underpass",',
            'figure = { kind = "mean", column = "peple_present",',
            "outcome.figure.column",
        ),
    ],
)
def test_spec_that_does_not_fit_its_scenario_is_refused_with_the_key(tmp_path, old, new, key):
    path = write_spec(tmp_path, **{old: new})
    spec, base = load_robustness(path)
    with pytest.raises(SpecError) as err:
        load_base(spec, base, path)
    assert f"{path}: {key}:" in str(err.value)
    if key == "parameter.name":
        assert "did you mean 'b_conceal'" in str(err.value)


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        ('attribute = "concealment"', 'attribute = "beauty"', "site_attribute.attribute"),
        ("shifts = [-0.3, 0.0, 0.3]", "shifts = [0.1, 0.1]", "site_attribute"),
        ("threshold = 0.5", "threshold = 0.5\nextra = 1", "outcome.extra"),
        ("replicates = 8", 'replicates = "8"', "robustness.replicates"),
    ],
)
def test_invalid_file_names_file_and_key(tmp_path, old, new, key):
    path = write_spec(tmp_path, **{old: new})
    with pytest.raises(SpecError) as err:
        load_robustness(path)
    assert f"{path}: {key}" in str(err.value)


def test_cli_bad_file_exits_2(tmp_path, capsys):
    from scenelab.cli import main

    path = write_spec(tmp_path, **{'attribute = "concealment"': 'attribute = "beauty"'})
    assert main(["robustness", str(path), "--out", str(tmp_path / "o")]) == 2
    assert "site_attribute.attribute" in capsys.readouterr().err


@pytest.mark.parametrize(
    "name", sorted(p.name for p in (ROOT / "examples" / "experiments").glob("*robustness*.toml"))
)
def test_example_bergen_spec_is_valid(name):
    spec, base = load_robustness(ROOT / "examples" / "experiments" / name)
    assert isinstance(spec, RobustnessSpec)
    load_base(spec, base)  # every id and parameter exists in Bergen


# -- a tiny city: the answer is known ---------------------------------------------------------

TWO_SITES = """
[scenario]
name = "two_sites"
title = "Two equal sites but for concealment"

[run]
start = 2020-01-01
end = 2020-03-31

[[neighbourhoods]]
id = "n"
name = "N"
deprivation = 0.5
residents = 5000
centre = true

[[sites]]
id = "a"
name = "A"
kind = "street"
neighbourhood = "n"
lat = 60.0
lon = 10.0
capacity_people = 80
concealment = 0.5
hygiene = 0.5
footfall = 0.5
residential_exposure = 0.3
initial_activity = 0.5

[[sites]]
id = "b"
name = "B"
kind = "street"
neighbourhood = "n"
lat = 60.0018
lon = 10.0
capacity_people = 80
concealment = 0.5
hygiene = 0.5
footfall = 0.5
residential_exposure = 0.3
initial_activity = 0.5

[population]
initial_people = 120
max_people = 300
share_women = 0.3
share_injecting = 0.5
share_housed = 0.5
share_in_oat = 0.1
share_occasional = 0.2
substance_mix = { opioids = 0.4, stimulants = 0.3, poly = 0.3 }
initial_sites = { a = 1.0, b = 1.0 }

[sellers]
initial_local = 0
initial_travelling = 0
max_sellers = 10
initial_sites = { a = 1.0, b = 1.0 }

[[interventions]]
type = "police_plan"
start = 2020-01-01
sites = ["a", "b"]
mode = "continuous_patrol"
officers = 1.0
note = "Equal policing at both: concealment is worth b_conceal x concealment x perceived risk"
"""

TWO_SITES_SPEC = """
[robustness]
name = "two-sites"
scenario = "two_sites.toml"
seed = 1
replicates = 2
until = 2020-02-29

[outcome]
figure = { kind = "share", site = "b", window = [2020-02-01, 2020-02-29] }
threshold = 0.5

[site_attribute]
attribute = "concealment"
sites = ["b"]
shifts = [-0.4, 0.4]

[parameter]
name = "b_conceal"
values = [3.0]
"""


@pytest.mark.slow
def test_tiny_city_more_hidden_site_wins_in_every_replicate(tmp_path):
    (tmp_path / "two_sites.toml").write_text(TWO_SITES, encoding="utf-8")
    path = tmp_path / "map.toml"
    path.write_text(TWO_SITES_SPEC, encoding="utf-8")
    spec, base = load_robustness(path)
    res = run_robustness(spec, base, tmp_path / "out")
    runs = res.runs.set_index(["shift", "replicate"])["outcome"]
    assert (runs.loc[0.4] > 0.5).all(), runs
    assert (runs.loc[-0.4] < 0.5).all(), runs
    assert not res.cells["bistable"].any()
    assert res.runs["seed"].tolist() == [1, 2, 1, 2]
    assert dt.date(2020, 2, 29) == spec.robustness.until


@pytest.mark.slow
def test_cli_runs_resumes_and_refuses_a_foreign_folder(tmp_path, capsys):
    from scenelab.cli import main

    (tmp_path / "two_sites.toml").write_text(TWO_SITES, encoding="utf-8")
    path = tmp_path / "map.toml"
    one_run = TWO_SITES_SPEC.replace("replicates = 2", "replicates = 1").replace(
        "shifts = [-0.4, 0.4]", "shifts = [0.4]"
    )
    path.write_text(one_run, encoding="utf-8")
    out = tmp_path / "out"
    assert main(["robustness", str(path), "--out", str(out), "--quiet"]) == 0
    assert "1 runs now, 1 stored" in capsys.readouterr().out
    assert (out / "robustness.html").is_file() and (out / "experiment.duckdb").is_file()
    assert main(["robustness", str(path), "--out", str(out), "--quiet"]) == 0
    assert "0 runs now, 1 stored" in capsys.readouterr().out
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("not scenelab's", encoding="utf-8")
    assert main(["robustness", str(path), "--out", str(foreign)]) == 2
    assert (foreign / "notes.txt").read_text(encoding="utf-8") == "not scenelab's"
