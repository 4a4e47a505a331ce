"""The cost model: known answers from the schedule, overrides from [costs], clear errors."""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from pathlib import Path

import pandas as pd
import pytest
import tomli_w

from scenelab.costs import ITEMS, cost_table, default_unit_costs, total_cost, unit_costs
from scenelab.scenario.errors import ScenarioError
from scenelab.scenario.loader import parse_text

SMALL = Path(__file__).resolve().parents[1] / "examples" / "small_city.toml"
DOC = Path(__file__).resolve().parents[1] / "docs" / "strategy-lab.md"


def _small(interventions: list[dict], services: bool = False, **extra: object):
    """small_city with the given interventions (and no services unless asked), as a Scenario."""
    raw = tomllib.loads(SMALL.read_text("utf-8"))
    raw["interventions"] = interventions
    if not services:
        raw["services"] = []
    raw.update(extra)
    return parse_text(tomli_w.dumps(raw), "test.toml")


PLAN_2021 = {
    "type": "police_plan",
    "start": dt.date(2021, 1, 1),
    "end": dt.date(2021, 12, 31),
    "sites": ["market_square"],
    "mode": "continuous_patrol",
    "officers": 11.0,
    "hours": {"from_hour": 8, "to_hour": 16},
}


def test_officers_times_hours_times_days_at_the_unit_cost():
    scn = _small([PLAN_2021], costs={"police_officer_hour": 900.0})
    assert total_cost(scn, None) == pytest.approx(11 * 8 * 365 * 900.0, rel=1e-12)
    # the default rate, and only the days from `since` on
    scn = _small([PLAN_2021])
    u = default_unit_costs()["police_officer_hour"].nok
    assert total_cost(scn, None, since=dt.date(2021, 7, 1)) == pytest.approx(11 * 8 * 184 * u)


def test_the_latest_plan_governs_a_site_and_raids_cost_their_hours():
    later = {**PLAN_2021, "start": dt.date(2021, 7, 1), "officers": 1.0, "hours": {}}
    raids = {
        "type": "police_plan",
        "start": dt.date(2021, 1, 1),
        "sites": ["river_park"],
        "mode": "reactive_raids",
        "officer_hours_per_day": 4.0,
    }
    scn = _small([PLAN_2021, later, raids], costs={"police_officer_hour": 1.0})
    expected = 11 * 8 * 181 + 1 * 24 * 184 + 4 * 365
    assert total_cost(scn, None) == pytest.approx(expected)


def test_services_priced_while_open():
    room = "east_injection_room"
    open_room = {"type": "open_service", "start": dt.date(2021, 1, 1), "service": room}
    costs = {"injection_room_opening_hour": 10.0, "drop_in_year": 365.0, "injection_room_year": 0.0}
    scn = _small([open_room], services=True, costs=costs)
    table = cost_table(scn, None)
    by_item = table.groupby("item")["cost_nok"].sum()
    weekdays_2021 = sum(1 for d in pd.date_range("2021-01-01", "2021-12-31") if d.weekday() < 5)
    # the room opens on weekdays 09-21 (12 hours); the drop-in is open all 731 days
    assert by_item["injection_room_opening_hour"] == pytest.approx(12 * weekdays_2021 * 10.0)
    assert by_item["drop_in_year"] == pytest.approx(731.0)
    assert by_item["oat_slot_year"] == 0.0  # no run given: no slots in use
    assert set(table["item"]) == set(ITEMS)


def test_closure_priced_per_site_once():
    close = {"type": "close_site", "start": dt.date(2020, 6, 1), "site": "river_park"}
    scn = _small([close], costs={"site_closure_by_site": {"river_park": 25e6}})
    table = cost_table(scn, None)
    assert table["cost_nok"].sum() == pytest.approx(25e6)
    row = table[(table["item"] == "site_closure") & (table["cost_nok"] > 0)]
    assert list(row["start"]) == ["2020-06-01"] and float(row["quantity"].iloc[0]) == 1.0


def test_unknown_site_in_costs_is_a_clear_error():
    with pytest.raises(ScenarioError) as err:
        _small([], costs={"site_closure_by_site": {"river_prak": 1.0}})
    text = str(err.value)
    assert "costs.site_closure_by_site.river_prak" in text and "river_park" in text


def test_unknown_or_negative_cost_key_is_rejected():
    with pytest.raises(ScenarioError, match="costs"):
        _small([], costs={"police_hour": 1.0})
    with pytest.raises(ScenarioError, match="costs.police_officer_hour"):
        _small([], costs={"police_officer_hour": -5.0})


def test_override_keeps_unit_and_states_its_source():
    scn = _small([], costs={"oat_slot_year": 1.0, "price_year": 2024})
    price = unit_costs(scn)["oat_slot_year"]
    assert (price.nok, price.price_year, price.unit) == (1.0, 2024, "slot-year")
    assert "scenario file" in price.source


def test_every_default_is_in_the_docs_with_its_price_year():
    text = DOC.read_text("utf-8")
    for item, cost in default_unit_costs().items():
        row = next((ln for ln in text.splitlines() if f"`{item}`" in ln), None)
        assert row is not None, f"{item} missing from docs/strategy-lab.md"
        numbers = {float(x.replace(",", "")) for x in re.findall(r"\d[\d,]*(?:\.\d+)?", row)}
        assert cost.nok in numbers and cost.price_year in numbers, row


def test_oat_slots_in_use_come_from_the_run(short_run, bergen):
    table = cost_table(bergen, short_run)
    oat = table[table["item"] == "oat_slot_year"]
    slot_days = float(short_run.city_day["in_oat"].sum())
    assert slot_days > 0
    u = unit_costs(bergen)["oat_slot_year"].nok
    assert oat["cost_nok"].sum() == pytest.approx(slot_days / 365 * u)
    assert table["end"].max() == "2012-03-31"  # priced to the last simulated day only
    # a list of replicates: rows per replicate, and total_cost is their mean
    two = cost_table(bergen, [short_run, short_run])
    assert sorted(two["replicate"].unique()) == [0, 1]
    one = total_cost(bergen, short_run)
    assert total_cost(bergen, [short_run, short_run]) == pytest.approx(one)
    # compare takes each replicate's total from the table: its periods cover every day
    rows = two[two["replicate"] == 1]["cost_nok"].sum()
    assert rows == pytest.approx(one, rel=1e-12)


def test_schedules_are_cached_by_content_not_by_object():
    """Pricing one scenario, then an edited copy, then the first again gives each its own costs."""
    busy = _small([PLAN_2021], costs={"police_officer_hour": 900.0})
    quiet_plan = {**PLAN_2021, "officers": 2.0}
    quiet = _small([quiet_plan], costs={"police_officer_hour": 900.0})
    first = total_cost(busy, None)
    assert total_cost(quiet, None) == pytest.approx(2 * 8 * 365 * 900.0, rel=1e-12)
    assert total_cost(busy, None) == first == pytest.approx(11 * 8 * 365 * 900.0, rel=1e-12)
    # a renamed copy is another entry with the same schedule
    edited = busy.model_copy(update={"name": "busy-renamed"})
    assert total_cost(edited, None) == pytest.approx(first, rel=1e-12)
