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


def test_off_scene_events_are_attributed_by_scene_presence_and_conserved():
    from scenelab.observe.tables import OFF_SCENE_COLUMNS, _off_scene_by_neighbourhood

    months = [pd.Timestamp("2014-09-01"), pd.Timestamp("2014-10-01")]
    grouped = pd.DataFrame(
        {
            "month": [months[0]] * 2 + [months[1]] * 2,
            "neighbourhood": ["a", "b"] * 2,
            "people_hours": [30.0, 10.0, 0.0, 0.0],  # nobody on the scene in October
            "residents": [100.0, 300.0] * 2,
        }
    )
    dates = pd.date_range("2014-09-01", "2014-10-31", freq="D")
    cd = pd.DataFrame({"date": dates, **{c: 1 for c in OFF_SCENE_COLUMNS}})
    out = _off_scene_by_neighbourhood(grouped, cd).set_index(["month", "neighbourhood"])
    for col in OFF_SCENE_COLUMNS:
        assert out[col].sum() == pytest.approx(len(dates))  # nothing lost or made up
        assert out.loc[(months[0], "a"), col] == pytest.approx(30 * 0.75)
        assert out.loc[(months[0], "b"), col] == pytest.approx(30 * 0.25)
        # October: no presence, so the whole run's presence shares
        assert out.loc[(months[1], "a"), col] == pytest.approx(31 * 0.75)


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
