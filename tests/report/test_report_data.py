"""The report's data layer and HTML assembly, without a browser."""

import re

import numpy as np
import pandas as pd
import plotly.offline
import pytest
from synthetic_runs import NEIGHBOURHOODS, PERIODS, SITES, make_tables

from scenelab.observe.equity import normalise_periods
from scenelab.report import (
    ReportInputs,
    collect_tables,
    displacement_flows,
    expected_chart_ids,
    site_colours,
    site_period_presence,
    strategy_outcomes,
    write_report,
)
from scenelab.report.html import PLOTLY_JS
from scenelab.report.stats import BAND_HIGH, BAND_LOW, replicate_summary


def _presence(rows):
    return pd.DataFrame(rows, columns=["period", "site", "people", "share"])


def test_flows_send_lost_share_to_gainers_in_proportion():
    presence = _presence(
        [
            ("p1", "a", 80, 0.8),
            ("p1", "b", 20, 0.2),
            ("p1", "c", 0, 0.0),
            ("p2", "a", 10, 0.2),
            ("p2", "b", 15, 0.3),
            ("p2", "c", 25, 0.5),
        ]
    )
    flows = displacement_flows(presence)
    got = {(f.from_site, f.to_site): f.share for f in flows.itertuples()}
    assert got == pytest.approx({("a", "c"): 0.5, ("a", "b"): 0.1})
    assert flows.iloc[0]["to_site"] == "c"  # largest first
    # people at the later period's scene size (50)
    assert flows.set_index("to_site").loc["c", "people"] == pytest.approx(25.0)


def test_flows_conserve_share_and_skip_small_ones():
    rng = np.random.default_rng(2)
    rows = []
    for p in ("p1", "p2", "p3"):
        people = rng.gamma(1.0, 10.0, 6)
        rows += [(p, f"s{i}", x, x / people.sum()) for i, x in enumerate(people)]
    presence = _presence(rows)
    flows = displacement_flows(presence)
    for (a, b), f in flows.groupby(["from_period", "to_period"]):
        sa = presence[presence.period == a].set_index("site")["share"]
        sb = presence[presence.period == b].set_index("site")["share"]
        moved = (sb - sa).clip(lower=0).sum()  # total variation distance
        assert f["share"].sum() == pytest.approx(moved)
        lost = (sa - sb).clip(lower=0)
        assert f.groupby("from_site")["share"].sum().to_dict() == pytest.approx(
            lost[lost > 0].to_dict()
        )
    assert (displacement_flows(presence, min_share=0.05)["share"] > 0.05).all()


def test_no_change_means_no_flow():
    same = _presence(
        [("p1", "a", 5, 0.5), ("p1", "b", 5, 0.5), ("p2", "a", 9, 0.5)] + [("p2", "b", 9, 0.5)]
    )
    assert displacement_flows(same).empty


def test_site_period_presence_averages_days_then_replicates():
    sd = pd.DataFrame(
        {
            "run_id": ["r0", "r0", "r1", "r1", "r0", "r1"],
            "date": pd.to_datetime(["2014-01-01", "2014-01-02"] * 2 + ["2014-01-01"] * 2),
            "site": ["a", "a", "a", "a", "b", "b"],
            "people_present": [10.0, 20.0, 30.0, 30.0, 5.0, 15.0],
        }
    )
    periods = normalise_periods([("jan", "2014-01-01", "2014-02-01")])
    out = site_period_presence(sd, periods).set_index("site")
    assert out.loc["a", "people"] == pytest.approx((15 + 30) / 2)
    assert out.loc["b", "people"] == pytest.approx(10.0)
    assert out["share"].sum() == pytest.approx(1.0)


def test_replicate_summary_band():
    frame = pd.DataFrame({"g": ["x"] * 5, "v": [1.0, 2.0, 3.0, 4.0, 5.0]})
    row = replicate_summary(frame, ["g"], "v").iloc[0]
    assert (row["mean"], row["n"]) == (3.0, 5)
    assert row["low"] == pytest.approx(1.1) and row["high"] == pytest.approx(4.9)


def test_report_inputs_are_validated():
    with pytest.raises(ValueError, match="lat"):
        ReportInputs(sites=SITES.drop(columns="lat"), neighbourhoods=NEIGHBOURHOODS)
    with pytest.raises(ValueError, match="deprivation"):
        ReportInputs(sites=SITES, neighbourhoods=NEIGHBOURHOODS.drop(columns="deprivation"))
    with pytest.raises(ValueError, match="valid: \\['Before closure'"):
        ReportInputs(SITES, NEIGHBOURHOODS, periods=PERIODS, compare_periods=("x", "After closure"))
    with pytest.raises(ValueError, match="date, label"):
        ReportInputs(SITES, NEIGHBOURHOODS, interventions=[("2014-08-25",)])
    with pytest.raises(ValueError, match="duplicate"):
        ReportInputs(pd.concat([SITES, SITES.head(1)]), NEIGHBOURHOODS)


def test_collect_tables_stacks_replicates_and_rejects_junk():
    a, b = make_tables(replicates=1, end="2013-02-28"), make_tables(replicates=1, end="2013-02-28")
    both = collect_tables([a, b])
    assert len(both.site_day) == 2 * len(a["site_day"])
    assert both.survey is None
    with pytest.raises(TypeError, match="site_day"):
        collect_tables({"site_day": "nope"})
    with pytest.raises(ValueError, match="survey"):
        collect_tables({**a, "survey": pd.DataFrame({"item": ["x"]})})


def test_site_colours_follow_site_order_and_grey_unknown(inputs):
    colours = site_colours(inputs, extra_sites=["elsewhere"])
    assert list(colours)[: len(SITES)] == list(SITES["id"])
    assert len(set(list(colours.values())[: len(SITES)])) == len(SITES)
    assert colours["elsewhere"] == "#888888"


def test_strategy_outcomes_from_tables(inputs):
    inputs.evaluation_period = "After Vågsbunnen policing"
    runs = {"as happened": make_tables(replicates=2, start="2015-01-01", end="2016-12-31")}
    out = strategy_outcomes(runs, inputs)
    assert list(out.columns[:4]) == ["strategy", "replicate", "size", "harm"]
    assert len(out) == 2
    sd = runs["as happened"]["site_day"]
    window = sd[(sd["date"] >= "2015-06-01") & (sd["date"] < "2016-12-01")]
    expected = window.groupby(["run_id", "date"])["people_present"].sum().groupby(level=0).mean()
    np.testing.assert_allclose(out["size"], expected.to_numpy())
    # the tunnel (most deprived neighbourhood) carries most harm after the policing
    assert (out["concentration_index"] > 0.5).all()


def test_strategy_outcomes_table_passthrough_and_errors(inputs):
    table = pd.DataFrame({"strategy": ["a", "a", "b"], "size": [1, 2, 3], "harm": [4, 5, 6]})
    out = strategy_outcomes(table, inputs)
    assert list(out["replicate"]) == [0, 1, 0]
    with pytest.raises(ValueError, match="harm"):
        strategy_outcomes(table.drop(columns="harm"), inputs)


def test_write_report_is_offline_small_and_escapes_text(tmp_path, inputs):
    inputs.title = "Report <script>alert(1)</script>"
    inputs.sites.loc[0, "name"] = "Park </script><b>x"
    tables = make_tables(replicates=2, start="2014-06-01", end="2015-08-31")
    out = write_report(tables, inputs, tmp_path / "r.html")
    text = out.read_text(encoding="utf-8")
    assert out.name == "r.html"
    # the only script loaded is plotly.js, by a relative path, written beside the page
    assert re.findall(r"<script[^>]+src=\"([^\"]*)\"", text) == [PLOTLY_JS]
    assert (tmp_path / PLOTLY_JS).read_text(encoding="utf-8") == plotly.offline.get_plotlyjs()
    assert not re.search(r"<link[^>]+href=\"?https?:", text), "no external stylesheets"
    assert "* plotly.js v" not in text, "plotly.js is not embedded"
    assert out.stat().st_size < 1_000_000
    assert sorted(p.name for p in tmp_path.iterdir()) == [PLOTLY_JS, "r.html"]  # no temp files
    assert "Report &lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "Park </script>" not in text
    for chart_id in expected_chart_ids(False, False):
        assert f'id="{chart_id}"' in text
    assert 'id="chart-survey"' not in text and 'id="chart-strategies"' not in text


def test_write_report_needs_periods(tmp_path):
    bare = ReportInputs(SITES, NEIGHBOURHOODS)
    with pytest.raises(ValueError, match="periods"):
        write_report(make_tables(replicates=1, end="2013-02-28"), bare, tmp_path)


def test_interventions_outside_the_run_are_not_drawn_and_same_day_ones_merge(inputs):
    from scenelab.report.charts import scene_size_figure

    inputs.interventions = [
        ("2014-08-25", "Park closed"),
        ("2014-08-25", "Special unit starts"),
        ("2019-01-01", "Outside the run"),
    ]
    tables = make_tables(replicates=1, start="2014-06-01", end="2014-12-31")
    fig = scene_size_figure(tables["site_day"], inputs, site_colours(inputs))
    assert len(fig.layout.shapes) == 1
    labels = [a.text for a in fig.layout.annotations]
    assert labels == ["Park closed; Special unit starts"]


def test_plotlyjs_is_written_once_per_directory(tmp_path, inputs):
    tables = make_tables(replicates=1, start="2014-06-01", end="2014-09-30")
    write_report(tables, inputs, tmp_path / "report.html")
    js = tmp_path / PLOTLY_JS
    stamp = js.stat().st_mtime_ns
    write_report(tables, inputs, tmp_path)  # a directory: report.html inside, plotly.js kept
    assert js.stat().st_mtime_ns == stamp
    js.write_text("stale", encoding="utf-8")
    write_report(tables, inputs, tmp_path / "again.html")
    assert js.read_text(encoding="utf-8") == plotly.offline.get_plotlyjs()


def test_replicate_summary_matches_per_group_quantiles():
    rng = np.random.default_rng(5)
    frame = pd.DataFrame(
        {
            "a": rng.choice(["x", "y", "z"], 400),
            "b": rng.integers(0, 15, 400),
            "v": rng.normal(size=400),
        }
    )
    frame.loc[rng.choice(400, 30), "v"] = np.nan
    frame.loc[frame["b"] == 3, "v"] = np.nan  # an all-NaN group
    frame.loc[rng.choice(400, 4), "a"] = None  # a missing key is a group of its own
    got = replicate_summary(frame, ["a", "b"], "v")
    want = (
        frame.groupby(["a", "b"], sort=True, dropna=False)["v"]
        .agg(
            mean="mean",
            low=lambda s: s.quantile(BAND_LOW),
            high=lambda s: s.quantile(BAND_HIGH),
            n="count",
        )
        .reset_index()
    )
    pd.testing.assert_frame_equal(got, want)


def test_intervention_lines_are_shapes_on_every_subplot(inputs):
    from scenelab.report.charts import harm_components_figure

    tables = make_tables(replicates=2, start="2014-06-01", end="2015-08-31")
    fig = harm_components_figure(tables["neighbourhood_month"], inputs)
    n_panels = len(list(fig.select_xaxes()))
    assert n_panels == 10
    # two interventions in the window: one dotted line per subplot each, and no extra traces
    assert len(fig.layout.shapes) == 2 * n_panels
    refs = {(s.xref, s.yref) for s in fig.layout.shapes}
    assert ("x", "y domain") in refs and ("x10", "y10 domain") in refs
    assert all(s.line.dash == "dot" and (s.y0, s.y1) == (0, 1) for s in fig.layout.shapes)
    assert all(t.mode == "lines" for t in fig.data)


def test_harm_charts_show_off_scene_harm_per_component(inputs):
    """Each component with events off the sites gets a dashed line of their count; the composite
    chart a line of the off-scene harm-days (the strategy that pushes people off the scene)."""
    from scenelab.report.charts import composite_harm_figure, harm_components_figure

    nm = make_tables(replicates=1, start="2014-06-01", end="2014-09-30")["neighbourhood_month"]
    nm["private_violence"] = 2.0
    nm["street_violence"] = 1.0
    nm["offscene_overdose_deaths"] = 0.5
    fig = harm_components_figure(nm, inputs)
    dashed = {t.name: t for t in fig.data if t.line.dash == "dash"}
    assert set(dashed) == {"Violence, off the scene sites", "Overdose deaths, off the scene sites"}
    per_month = nm.groupby("month")["private_violence"].sum() * 1.5  # private + street
    assert np.allclose(dashed["Violence, off the scene sites"].y, per_month.to_numpy())
    comp = composite_harm_figure(nm, inputs)
    (off,) = [t for t in comp.data if t.name == "Of which off the scene sites"]
    n_hoods = nm.groupby("month").size().to_numpy()
    assert np.allclose(off.y, n_hoods * (3.0 * 182.0 + 0.5 * 5475.0))
