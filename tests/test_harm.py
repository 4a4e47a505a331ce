import dataclasses

import numpy as np
import pandas as pd
import pytest

from scenelab.observe.harm import (
    ENFORCEMENT_COMPONENTS,
    HARM_COMPONENTS,
    HarmWeights,
    composite_harm,
    harm_by_neighbourhood_month,
    harm_by_site_day,
)


def _nm(rows):
    base = {c: 0.0 for c in HARM_COMPONENTS}
    out = []
    for r in rows:
        out.append({"month": pd.Timestamp("2014-09-01"), "neighbourhood": "a", **base, **r})
    return pd.DataFrame(out)


def test_defaults_are_the_documented_values():
    w = HarmWeights()
    assert w.violence_incidents == 182.0
    assert w.sexual_violence_incidents == 1825.0
    assert w.overdose_deaths == 5475.0
    assert w.nuisance == 0.02
    assert list(w.as_dict()) == list(HARM_COMPONENTS)


def test_each_component_weighs_its_own_weight():
    w = HarmWeights()
    for name, weight in w.as_dict().items():
        frame = _nm([{name: 2.0}])
        out = harm_by_neighbourhood_month(frame, w)
        assert out.loc[0, f"harm_{name}"] == pytest.approx(2.0 * weight)
        assert out.loc[0, "harm"] == pytest.approx(2.0 * weight)


def test_composite_is_the_sum_and_counts_are_kept():
    frame = _nm([{"violence_incidents": 3, "overdose_deaths": 1, "nuisance": 10, "expulsions": 4}])
    out = harm_by_neighbourhood_month(frame)
    expected = 3 * 182 + 5475 + 10 * 0.02 + 4 * 1.0
    assert out.loc[0, "harm"] == pytest.approx(expected)
    assert out.loc[0, "harm_enforcement"] == pytest.approx(4.0)
    assert out.loc[0, "violence_incidents"] == 3
    assert composite_harm(frame).iloc[0] == pytest.approx(expected)


def test_without_enforcement_drops_only_the_enforcement_burden():
    frame = _nm([{"violence_incidents": 1, "police_controls": 8, "fines": 2, "expulsions": 1}])
    w = HarmWeights().without_enforcement()
    assert all(w.as_dict()[c] == 0 for c in ENFORCEMENT_COMPONENTS)
    out = harm_by_neighbourhood_month(frame, w)
    assert out.loc[0, "harm"] == pytest.approx(182.0)
    assert out.loc[0, "police_controls"] == 8  # the component is still reported


def test_missing_counts_are_zero():
    frame = _nm([{"violence_incidents": np.nan, "overdoses": 1}])
    assert harm_by_neighbourhood_month(frame).loc[0, "harm"] == pytest.approx(30.0)


def test_harm_is_linear_in_counts():
    rng = np.random.default_rng(3)
    frame = _nm([{c: float(rng.poisson(3)) for c in HARM_COMPONENTS} for _ in range(5)])
    doubled = frame.copy()
    doubled[list(HARM_COMPONENTS)] *= 2
    np.testing.assert_allclose(composite_harm(doubled), 2 * composite_harm(frame))


def test_bad_weights_and_missing_columns_raise():
    with pytest.raises(ValueError, match="nuisance"):
        HarmWeights(nuisance=-1.0)
    with pytest.raises(ValueError, match="overdoses"):
        HarmWeights(overdoses=float("nan"))
    with pytest.raises(TypeError):
        HarmWeights(fines="7")
    with pytest.raises(ValueError, match="valid: violence_incidents"):
        HarmWeights.from_mapping({"murder": 1.0})
    assert HarmWeights.from_mapping({"nuisance": 0.5}).nuisance == 0.5
    with pytest.raises(ValueError, match="overdose_deaths"):
        harm_by_neighbourhood_month(_nm([{}]).drop(columns="overdose_deaths"))
    with pytest.raises(ValueError, match="site"):
        harm_by_site_day(_nm([{}]))


def test_weights_are_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        HarmWeights().nuisance = 1.0  # type: ignore[misc]


def test_site_day_harm():
    frame = _nm([{"overdoses": 2}]).rename(columns={"month": "date", "neighbourhood": "site"})
    out = harm_by_site_day(frame)
    assert out.loc[0, "harm_overdoses"] == pytest.approx(60.0)


def test_sexual_violence_is_weighed_once():
    """Sexual violence is a subset of violence: 1825 per incident, not 182 + 1825."""
    out = harm_by_neighbourhood_month(
        _nm([{"violence_incidents": 3, "sexual_violence_incidents": 1}])
    )
    assert out.loc[0, "harm_violence_incidents"] == pytest.approx(2 * 182.0)
    assert out.loc[0, "harm_sexual_violence_incidents"] == pytest.approx(1825.0)
    assert out.loc[0, "harm"] == pytest.approx(2 * 182.0 + 1825.0)


def test_off_scene_harm_uses_the_same_weights_and_is_reported_apart():
    frame = _nm([{"public_injections": 4, "overdose_deaths": 1}])
    frame["offscene_public_injections"] = 10.0
    frame["offscene_overdoses"] = 2.0
    frame["offscene_overdose_deaths"] = 1.0
    frame["private_violence"] = 3.0
    w = HarmWeights(public_injections=2.0)
    out = harm_by_neighbourhood_month(frame, w)
    off = 10 * 2.0 + 2 * 30.0 + 5475.0 + 3 * 182.0
    assert out.loc[0, "harm_off_scene"] == pytest.approx(off)
    assert out.loc[0, "harm_public_injections"] == pytest.approx((4 + 10) * 2.0)
    assert out.loc[0, "harm_overdose_deaths"] == pytest.approx(2 * 5475.0)
    assert out.loc[0, "harm"] == pytest.approx(4 * 2.0 + 5475.0 + off)
    assert composite_harm(frame, w).iloc[0] == pytest.approx(out.loc[0, "harm"])
    # a table without the off-scene columns (a site_day row) has no off-scene harm
    assert harm_by_neighbourhood_month(_nm([{}])).loc[0, "harm_off_scene"] == 0.0


def test_off_scene_events_are_shared_by_scene_presence():
    from scenelab.observe.tables import _off_scene_shares

    # September: 30 and 10 person-hours; October: nobody on the scene, so the whole run's
    # presence shares; residents only when the run saw no presence at all, then equal shares.
    hours = np.array([[30.0, 10.0], [0.0, 0.0]])
    residents = np.array([100.0, 300.0])
    assert _off_scene_shares(hours, residents).tolist() == [[0.75, 0.25], [0.75, 0.25]]
    assert _off_scene_shares(hours * 0.0, residents).tolist() == [[0.25, 0.75]] * 2
    assert _off_scene_shares(hours * 0.0, residents * 0.0).tolist() == [[0.5, 0.5]] * 2


def test_neighbourhood_month_conserves_events_in_any_row_order():
    import scenelab
    from scenelab.observe.tables import HARM_COLUMNS, OFF_SCENE_COLUMNS, neighbourhood_month

    scn = scenelab.load_scenario("bergen")
    res = scenelab.run(scn, seed=3, until="2012-03-10")
    sd, cd, nm = res.site_day, res.city_day, res.neighbourhood_month
    assert len(nm) == 3 * len(scn.neighbourhoods)  # every neighbourhood in every month
    assert nm["month"].is_monotonic_increasing
    assert nm["people_hours"].sum() == pytest.approx(24.0 * sd["people_present"].sum())
    for col in HARM_COLUMNS:
        assert nm[col].dtype == sd[col].dtype  # counts stay whole
        assert nm[col].sum() == pytest.approx(sd[col].sum(), rel=1e-12)
    for col in OFF_SCENE_COLUMNS:
        assert nm[col].sum() == pytest.approx(cd[col].sum())  # nothing lost or made up
    by_hood = sd.groupby("neighbourhood")["violence_incidents"].sum()
    got = nm.groupby("neighbourhood")["violence_incidents"].sum()
    assert got.reindex(by_hood.index).tolist() == by_hood.tolist()
    shuffled = sd.sample(frac=1.0, random_state=1)
    again = neighbourhood_month(shuffled, scn, {}, cd)
    pd.testing.assert_frame_equal(again, nm.drop(columns=list(sd.columns[:5])))


def test_scenario_harm_weights_are_validated_and_used(tmp_path):
    import scenelab
    from scenelab.observe.outcomes import scenario_weights
    from scenelab.scenario import ScenarioError, load_scenario

    text = scenelab.scenario.builtin_text("bergen")
    good = tmp_path / "w.toml"
    good.write_text(text + "\n[harm_weights]\nnuisance = 0.0\noverdose_deaths = 8400\n")
    w = scenario_weights(load_scenario(good))
    assert (w.nuisance, w.overdose_deaths, w.violence_incidents) == (0.0, 8400.0, 182.0)
    bad = tmp_path / "bad.toml"
    bad.write_text(text + "\n[harm_weights]\nmurder = 1.0\n")
    with pytest.raises(ScenarioError, match="murder"):
        load_scenario(bad)
    negative = tmp_path / "neg.toml"
    negative.write_text(text + "\n[harm_weights]\nfines = -1\n")
    with pytest.raises(ScenarioError, match="fines"):
        load_scenario(negative)


def test_run_uses_the_scenario_harm_weights_for_equity_and_report(tmp_path):
    import json

    import scenelab
    from scenelab.cli import main
    from scenelab.observe.outcomes import scenario_weights
    from scenelab.scenario import load_scenario

    path = tmp_path / "w.toml"
    path.write_text(scenelab.scenario.builtin_text("bergen") + "\n[harm_weights]\nnuisance = 0.0\n")
    out = tmp_path / "out"
    args = ["run", str(path), "--out", str(out), "--until", "2012-02-15", "--seed", "3"]
    assert main([*args, "--quiet"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    nm = pd.read_parquet(out / "neighbourhood_month.parquet")
    weighted = harm_by_neighbourhood_month(nm, scenario_weights(load_scenario(path)))
    total = sum(row["total_harm"] for row in summary["equity_by_period"])
    assert total == pytest.approx(weighted["harm"].sum())
    assert total < harm_by_neighbourhood_month(nm)["harm"].sum()  # nuisance no longer counted
    assert summary["outcomes"]["harm_per_month"]["mean"] == pytest.approx(
        weighted.groupby("month")["harm"].sum().mean()
    )
