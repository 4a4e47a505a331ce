"""Harm, equity and the report on a real short run of the built-in scenario (no browser)."""

import numpy as np
import pandas as pd
import pytest

from scenelab.observe.equity import equity_by_period
from scenelab.observe.harm import HARM_COMPONENTS, harm_by_neighbourhood_month, harm_by_site_day
from scenelab.report import ReportInputs, expected_chart_ids, write_report


def _inputs(scn) -> ReportInputs:
    sites = pd.DataFrame(
        [
            dict(
                id=s.id,
                name=s.name,
                kind=s.kind,
                neighbourhood=s.neighbourhood,
                lat=s.lat,
                lon=s.lon,
            )
            for s in scn.sites
        ]
    )
    hoods = pd.DataFrame(
        [
            dict(
                id=n.id,
                name=n.name,
                deprivation=n.deprivation,
                centre=n.centre,
                residents=n.residents,
            )
            for n in scn.neighbourhoods
        ]
    )
    return ReportInputs(
        sites=sites,
        neighbourhoods=hoods,
        interventions=[(i.start, getattr(i, "note", "") or i.type) for i in scn.interventions],
        periods=[
            ("January", "2012-01-01", "2012-02-01"),
            ("February-March", "2012-02-01", "2012-04-01"),
        ],
        scenario_name=scn.name,
    )


@pytest.mark.slow
def test_harm_and_equity_on_engine_tables(short_run):
    nm = harm_by_neighbourhood_month(short_run.neighbourhood_month)
    sd = harm_by_site_day(short_run.site_day)
    for frame in (nm, sd):
        assert (frame["harm"] >= 0).all()
        parts = frame[[f"harm_{c}" for c in HARM_COMPONENTS]].sum(axis=1)
        np.testing.assert_allclose(frame["harm"], parts)
    # the same harm at the sites, whichever table it is summed from; off-scene harm only in nm
    on_scene = nm["harm"].sum() - nm["harm_off_scene"].sum()
    assert on_scene == pytest.approx(sd["harm"].sum(), rel=1e-9)
    assert sd["harm_off_scene"].sum() == 0
    eq = equity_by_period(short_run.neighbourhood_month, [("Q1", "2012-01-01", "2012-04-01")])
    assert eq.loc[0, "weighting"] == "residents"
    assert -1 <= eq.loc[0, "concentration_index"] <= 1


@pytest.mark.slow
def test_report_from_engine_results(tmp_path, bergen, short_run):
    out = write_report(short_run, _inputs(bergen), tmp_path)
    text = out.read_text(encoding="utf-8")
    for chart_id in expected_chart_ids(False, False):
        assert f'id="{chart_id}"' in text
    assert "Scenario: <b>bergen</b>" in text
