"""Built-in strategy variants, scenario variants' errors, and strategy comparison under CRN."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

import scenelab
from scenelab.compare import paired_differences
from scenelab.scenario import ScenarioError, builtin_names, load_scenario


def test_builtin_variants_exist_and_differ_from_bergen(bergen):
    for name in ("bergen-no-closure", "bergen-closure-only", "bergen-harm-reduction"):
        assert name in builtin_names()
        scn = load_scenario(name)
        assert scn.name == name
        assert scn.scenario_hash != bergen.scenario_hash
        assert scn.sites == bergen.sites  # same city; only the strategy differs
    no_closure = load_scenario("bergen-no-closure")
    assert not any(iv.type == "close_site" for iv in no_closure.interventions)


def test_variant_with_unknown_dropped_intervention(tmp_path):
    path = tmp_path / "v.toml"
    path.write_text(
        '[variant]\nbase = "bergen"\ndrop_interventions = ["park_closur"]\n'
        '[scenario]\nname = "v"\ntitle = "v"\n'
    )
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    (line,) = info.value.lines()
    assert "v.toml: variant.drop_interventions[0]: 'park_closur' is not an intervention id" in line
    assert "park_closure" in line


def test_variant_reports_every_problem(tmp_path):
    path = tmp_path / "v.toml"
    path.write_text(
        '[variant]\nbase = "bergen"\ndrop = 1\n[sites]\n[scenario]\nname = "v"\ntitle = "v"\n'
    )
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    text = str(info.value)
    assert "variant.drop: unknown key 'drop'" in text
    assert "sites: a variant may only set" in text


def test_probability_out_of_range_and_unknown_survey_item(tmp_path):
    text = scenelab.scenario.builtin_text("bergen")
    text = text.replace("b_peers = 0.3", "b_peers = 0.3\np_use_sif = 1.5")
    text = text.replace("trust_low = 62.0", "trust_lo = 62.0")
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    text = str(info.value)
    assert "parameters.p_use_sif: 1.5 is not a probability" in text
    assert "survey.field_percent.trust_lo: 'trust_lo' is not a item" in text
    assert "did you mean 'trust_low'" in text


def test_paired_differences_against_itself_are_zero():
    frame = pd.DataFrame(
        {"scenario": ["a", "a", "b", "b"], "replicate": [0, 1, 0, 1], "x": [1.0, 3.0, 2.0, 5.0]}
    )
    table = paired_differences(frame, "a", ("x",)).set_index("scenario")
    assert table.loc["a", "diff"] == 0.0
    assert table.loc["b", "diff"] == pytest.approx(1.5)
    assert table.loc["b", "diff_ci_low"] < 1.5 < table.loc["b", "diff_ci_high"]


def test_common_random_numbers_identical_until_policies_differ(bergen):
    """Two arms share every draw: before the first differing intervention, tables are equal."""
    other = load_scenario("bergen-harm-reduction")
    until = dt.date(2015, 5, 31)  # the variants differ from 2015-06-01
    a = scenelab.run(bergen, seed=4, until=until)
    b = scenelab.run(other, seed=4, until=until)
    cols = ["people_present", "violence_incidents", "expulsions", "public_injections"]
    pd.testing.assert_frame_equal(a.site_day[cols], b.site_day[cols])


@pytest.mark.slow
def test_compare_command_writes_differences(tmp_path):
    from scenelab.cli import main

    out = tmp_path / "cmp"
    assert (
        main(
            [
                "compare",
                "bergen",
                "bergen-closure-only",
                "--out",
                str(out),
                "--replicates",
                "2",
                "--quiet",
            ]
        )
        == 0
    )
    table = pd.read_csv(out / "compare.csv")
    ref = table[table["scenario"] == "bergen"]
    assert (ref["diff"] == 0).all()
    assert set(table["scenario"]) == {"bergen", "bergen-closure-only"}
    assert (out / "report.html").stat().st_size > 100_000


def test_crackdown_off_the_scene_shows_in_compare(tmp_path):
    """A strategy that closes every site pushes use off the scene: compare must show that harm."""
    from scenelab.compare import compare_to_directory

    sites = load_scenario("bergen").site_ids()
    closures = "".join(
        f'\n[[interventions]]\nid = "close_{s}"\ntype = "close_site"\nstart = 2012-01-15\n'
        f'site = "{s}"\n'
        for s in sites
    )
    path = tmp_path / "crackdown.toml"
    path.write_text(
        '[variant]\nbase = "bergen"\n[scenario]\nname = "crackdown"\ntitle = "Close all"\n'
        + closures
    )
    out = tmp_path / "cmp"
    compare_to_directory(
        ["bergen", path], out, replicates=1, seed=3, progress=False, until="2012-03-31"
    )
    table = pd.read_csv(out / "compare.csv").set_index(["scenario", "outcome"])
    diff = table["diff"]
    assert diff[("crackdown", "people_present_mean")] < 0  # the scene shrinks...
    assert diff[("crackdown", "public_injections_per_day")] < 0
    assert diff[("crackdown", "offscene_public_injections_per_day")] > 0  # ...its harm moves
    assert diff[("crackdown", "harm_off_scene_per_month")] > 0
    outcomes = pd.read_csv(out / "outcomes.csv").set_index("scenario")
    for name in ("bergen", "crackdown"):  # the off-scene part is inside the composite
        assert 0 < outcomes.loc[name, "harm_off_scene_per_month"]
        assert outcomes.loc[name, "harm_off_scene_per_month"] < outcomes.loc[name, "harm_per_month"]
    nm = pd.read_parquet(out / "neighbourhood_month.parquet")
    assert nm["offscene_public_injections"].sum() > 0
