"""Built-in strategy variants, scenario variants' errors, and strategy comparison under CRN."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from scipy import stats

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
    text = text.replace("[parameters]", "[parameters]\np_use_sif = 1.5")
    text = text.replace("trust_low = 62.0", "trust_lo = 62.0")
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    text = str(info.value)
    assert "parameters.p_use_sif: 1.5 is not a probability" in text
    assert "survey.field_percent.trust_lo: 'trust_lo' is not a item" in text
    assert "did you mean 'trust_low'" in text


def test_paired_differences_cancel_common_noise():
    """The difference is the mean of per-replicate differences; noise shared by the arms of a
    replicate (common random numbers) cancels from both the difference and its interval."""
    rng = np.random.default_rng(8)
    effect = np.array([1.0, 2.0, 1.5, 0.5, 2.5])
    a = rng.normal(10.0, 1.0, effect.size)
    frame = pd.DataFrame(
        {
            "scenario": ["a"] * 5 + ["b"] * 5,
            "replicate": list(range(5)) * 2,
            "x": np.r_[a, a + effect],
        }
    )
    table = paired_differences(frame, "a", ("x",)).set_index("scenario")
    half = stats.t.ppf(0.975, 4) * effect.std(ddof=1) / np.sqrt(5)
    assert table.loc["b", "diff"] == pytest.approx(effect.mean())
    assert table.loc["b", "diff_ci_low"] == pytest.approx(effect.mean() - half)
    assert table.loc["b", "mean"] == pytest.approx((a + effect).mean())
    shifted = frame.assign(x=frame["x"] + np.tile(rng.normal(0.0, 50.0, 5), 2))
    again = paired_differences(shifted, "a", ("x",)).set_index("scenario")
    assert again.loc["b", "diff"] == pytest.approx(table.loc["b", "diff"])
    assert again.loc["b", "diff_ci_high"] == pytest.approx(table.loc["b", "diff_ci_high"])


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
    assert set(table["scenario"]) == {"bergen", "bergen-closure-only"}
    # compare.csv agrees with the per-replicate outcomes it was computed from
    outcomes = pd.read_csv(out / "outcomes.csv").set_index(["scenario", "replicate"])
    other = table[table["scenario"] == "bergen-closure-only"].set_index("outcome")
    for name in ("harm_per_month", "harm_off_scene_per_month", "people_present_mean"):
        paired = outcomes.loc["bergen-closure-only", name] - outcomes.loc["bergen", name]
        assert other.loc[name, "diff"] == pytest.approx(paired.mean())
    for kind in ("site_day", "neighbourhood_month", "city_day"):
        assert set(pd.read_parquet(out / f"{kind}.parquet")["scenario"]) == set(table["scenario"])
    assert (out / "report.html").stat().st_size > 20_000  # loads plotly.min.js beside it
    assert (out / "plotly.min.js").stat().st_size > 1_000_000


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


def test_variant_replaces_population_and_sellers_whole(tmp_path):
    # Another period of the same city starts with its own scene and market (bergen-1989).
    path = tmp_path / "v.toml"
    path.write_text(
        '[variant]\nbase = "bergen"\n[scenario]\nname = "v"\ntitle = "v"\n'
        "[sellers]\ninitial_local = 3\ninitial_travelling = 0\nrisk_tolerance_local = 2.0\n"
        "max_sellers = 10\ninitial_sites = { vagsbunnen = 1.0 }\n"
    )
    scn = load_scenario(path)
    base = scenelab.load_scenario("bergen")
    assert scn.sellers.initial_local == 3 and scn.sellers.initial_sites == {"vagsbunnen": 1.0}
    assert (scn.sellers.risk_tolerance_local, scn.sellers.max_sellers) == (2.0, 10)
    assert (base.sellers.risk_tolerance_local, base.sellers.max_sellers) == (4.0, 300)
    assert scn.population == base.population  # not given: the base's, unchanged
    early = scenelab.load_scenario("bergen-1989")
    assert early.population.initial_sites == {"nygardsparken": 1.0}
    assert early.sellers.initial_sites == {"nygardsparken": 1.0}
