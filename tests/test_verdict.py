"""The verdict: divergence from the schedules, intervals inside each quantity's range, and
sentences that call a difference only when its interval leaves out zero."""

from __future__ import annotations

import datetime as dt
import json
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import tomli_w
from scipy import stats

import scenelab
from scenelab.cli import main
from scenelab.compare import outcome_bounds, paired_differences
from scenelab.scenario.loader import parse_text
from scenelab.verdict import clamp_interval, divergence_date, paired_interval, verdict

SMALL = Path(__file__).resolve().parents[1] / "examples" / "small_city.toml"
CLOSE_PARK = {"type": "close_site", "start": dt.date(2020, 6, 1), "site": "river_park"}
UNTIL = dt.date(2020, 12, 31)


def _raw() -> dict:
    """small_city with only its ordinary patrol, a drop-in and OAT (no room), and no survey."""
    raw = tomllib.loads(SMALL.read_text("utf-8"))
    raw["interventions"] = [raw["interventions"][0]]
    raw["services"] = [s for s in raw["services"] if s["kind"] != "injection_room"]
    raw.pop("survey")
    return raw


def _scenario(name: str, extra: list[dict], path: Path | None = None):
    raw = _raw()
    raw["scenario"] = {**raw["scenario"], "name": name}
    raw["interventions"] = raw["interventions"] + extra
    text = tomli_w.dumps(raw)
    if path is not None:
        path.write_text(text, encoding="utf-8")
    return parse_text(text, f"{name}.toml")


REF = _scenario("reference", [])
CLOSED = _scenario("closed_park", [CLOSE_PARK])
# A fine policy that fines nobody (propensity 0): the schedule changes, the outcome cannot.
IDLE = _scenario(
    "idle_fines",
    [{"type": "fine_policy", "start": dt.date(2020, 6, 1), "zone": "centre_zone",
      "propensity": 0.0, "amount_nok": 5000.0}],
)  # fmt: skip


def test_clamp_keeps_the_arm_inside_the_range():
    # the reported bug: a concentration-index interval reaching 1.08 when the reference is 0.1
    assert clamp_interval(0.20, 1.08, 0.1, (-1.0, 1.0)) == (0.20, pytest.approx(0.9))
    # a count cannot fall by more than the reference's count
    assert clamp_interval(-5.0, 3.0, 2.0, (0.0, np.inf)) == (-2.0, 3.0)
    assert clamp_interval(-1.0, 1.0, 0.0, (-1.0, 1.0)) == (-1.0, 1.0)  # inside: unchanged


def test_paired_interval_is_the_t_interval():
    mean, low, high = paired_interval(np.array([1.0, 2.0, 3.0]))
    half = stats.t.ppf(0.975, 2) * 1.0 / np.sqrt(3)
    assert (mean, low, high) == pytest.approx((2.0, 2.0 - half, 2.0 + half))
    assert np.isnan(paired_interval(np.array([4.0]))[1])  # one pair: no interval


def test_compare_csv_interval_respects_the_index_range():
    rows = [("ref", r, 0.1) for r in range(3)] + [
        ("arm", 0, 0.3),
        ("arm", 1, 0.9),
        ("arm", 2, 0.95),
    ]
    outcomes = pd.DataFrame(rows, columns=["scenario", "replicate", "concentration_index"])
    table = paired_differences(outcomes, "ref", ("concentration_index",))
    arm = table[table["scenario"] == "arm"].iloc[0]
    assert arm["diff_ci_high"] <= 1.0 - 0.1 + 1e-12  # unclamped it would be about 1.36
    assert arm["diff_ci_low"] >= -1.0 - 0.1
    assert outcome_bounds("share_most_deprived_2013") == (0.0, 1.0)


def test_divergence_is_the_first_day_the_schedules_differ():
    assert divergence_date(REF, CLOSED) == dt.date(2020, 6, 1)
    noted = _scenario("noted", [{**CLOSE_PARK, "note": "a different note"}])
    assert divergence_date(CLOSED, noted) is None  # a note changes nothing the model runs
    other_city = _raw()
    other_city["population"]["share_women"] = 0.5
    changed = parse_text(tomli_w.dumps(other_city), "women.toml")
    assert divergence_date(REF, changed) == REF.run.start


# Sixteen paired replicates: closing the park raises harm by about 10% (seed 5, 16 replicates:
# +965 on 9,994, interval 392 to 1,538, with the calibrated set of 2026-12-03). With 8 the interval
# reached below 0 (+767, -174 to 1,708) once small_city got site discovery from the calibrated
# set, as 3 had before (-184 to 3,097): the test was underpowered, not the verdict wrong.
N_REPLICATES = 16


@pytest.fixture(scope="module")
def runs() -> dict[str, list]:
    return {
        s.name: [scenelab.run(s, seed=5, replicate=r, until=UNTIL) for r in range(N_REPLICATES)]
        for s in (REF, CLOSED, IDLE)
    }


@pytest.mark.slow
def test_closing_the_park_without_services_is_a_clear_difference(runs):
    v = verdict(runs["reference"], runs["closed_park"], REF, CLOSED)
    assert v.since == v.diverged == dt.date(2020, 6, 1) and v.n == N_REPLICATES
    table = v.table.set_index("quantity")
    harm = table.loc["harm"]
    # closing the park (70% of the scene) with no service pushes injection elsewhere: under
    # common random numbers the interval over 16 replicates (seed 5) is above 0
    assert harm["ci_low"] > 0
    assert harm["difference"] == pytest.approx(harm["arm_mean"] - harm["reference_mean"])
    assert "closed_park raised total harm by" in v.sentences[1]
    assert "of the change)" in v.sentences[1]  # the component that changed most
    assert v.sentences[2].startswith("The largest rise by neighbourhood was in")
    for name, row in table.iterrows():  # every interval inside the quantity's range
        if name in ("concentration_index", "share_most_deprived") and np.isfinite(row["ci_low"]):
            lo, hi = (-1.0, 1.0) if name == "concentration_index" else (0.0, 1.0)
            assert lo - row["reference_mean"] <= row["ci_low"] <= row["ci_high"]
            assert row["ci_high"] <= hi - row["reference_mean"] + 1e-12
        elif row["unit"] != "NOK per harm-day" and np.isfinite(row["ci_low"]):
            assert row["ci_low"] >= -row["reference_mean"] - 1e-9


@pytest.mark.slow
def test_an_irrelevant_setting_makes_no_clear_difference(runs):
    v = verdict(runs["reference"], runs["idle_fines"], REF, IDLE)
    assert v.diverged == dt.date(2020, 6, 1)
    assert any("made no clear difference to total harm" in s for s in v.sentences)
    assert not any("raised total harm" in s or "lowered total harm" in s for s in v.sentences)
    for row in v.table.itertuples():
        if np.isfinite(row.ci_low):
            assert row.ci_low <= 0 <= row.ci_high, row.quantity


def test_unpaired_replicates_are_refused(runs):
    with pytest.raises(ValueError, match="not paired"):
        verdict(runs["reference"], runs["closed_park"][::-1], REF, CLOSED)
    with pytest.raises(ValueError, match="same number of replicates"):
        verdict(runs["reference"], runs["closed_park"][:2], REF, CLOSED)


def _one_line(capsys, code: int, pattern: str) -> None:
    err = capsys.readouterr().err
    assert code == 2 and pattern in err and len(err.strip().splitlines()) == 1, err


def test_compare_flags_are_checked_before_running(tmp_path, capsys):
    a, b = tmp_path / "a.toml", tmp_path / "b.toml"
    _scenario("reference", [], a)
    _scenario("closed_park", [CLOSE_PARK], b)
    out = str(tmp_path / "out")
    _one_line(capsys, main(["compare", str(a), str(b), "--out", out, "--workers", "0"]), "workers")
    code = main(["compare", str(a), str(b), "--out", out, "--set", "no_such_param=1", "--quiet"])
    assert code != 0 and "no_such_param" in capsys.readouterr().err
    code = main(["compare", str(a), str(b), "--out", out, "--until", "2030-01-01", "--quiet"])
    assert code != 0 and "outside" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()  # nothing ran, nothing written


@pytest.mark.slow
def test_compare_prints_the_verdict_and_writes_it(tmp_path, capsys):
    a, b = tmp_path / "a.toml", tmp_path / "b.toml"
    _scenario("reference", [], a)
    _scenario("closed_park", [CLOSE_PARK], b)
    out = tmp_path / "out"
    args = ["compare", str(a), str(b), "--out", str(out), "--until", "2020-09-30"]
    assert main([*args, "--replicates", "2", "--workers", "2", "--set", "b_risk=2.0"]) == 0
    printed = capsys.readouterr().out
    summary = json.loads((out / "summary.json").read_text())
    sentences = summary["verdicts"][0]["sentences"]
    assert sentences[0] in printed and summary["overrides"] == {"b_risk": 2.0}
    assert summary["until"] == "2020-09-30" and summary["verdicts"][0]["since"] == "2020-06-01"
    for name in ("verdict.csv", "costs.csv", "city_day.parquet", "site_day.parquet"):
        assert (out / name).is_file(), name
    page = (out / "report.html").read_text()
    assert page.index("Verdict: each strategy") < page.index("Key figures by period")
    # the verdict in brief is the first thing on the page, above the contents
    brief = page.index("class='verdict-brief'")
    assert brief < page.index("<h2")
    assert "total harm" in page[brief : page.index("</div>", brief)]
    assert "chart-verdict-series" in page
    assert "the days from 2020-06-01, when the strategies diverge" in page  # size against harm


def test_a_window_ending_before_the_divergence_compares_identical_runs():
    until = dt.date(2020, 2, 29)
    ref, arm = ([scenelab.run(s, seed=2, replicate=r, until=until) for r in range(2)]
                for s in (REF, CLOSED))  # fmt: skip
    v = verdict(ref, arm, REF, CLOSED)
    assert v.since == REF.run.start and v.diverged == dt.date(2020, 6, 1)
    assert "after the last simulated day" in v.sentences[1]
    # identical before they diverge (common random numbers): every difference is exactly 0
    assert (v.table["difference"].dropna() == 0).all()
    with pytest.raises(ValueError, match="after the last simulated day"):
        verdict(ref, arm, REF, CLOSED, since=dt.date(2020, 6, 1))


def _synthetic(rows: dict[str, tuple[float, float, float]]):
    """A Verdict whose table holds the given (difference, low, high); other rows are zero."""
    from scenelab.verdict import NOK_PER_HARM_DAY, QUANTITIES, Verdict

    names = [*QUANTITIES, NOK_PER_HARM_DAY]
    table = pd.DataFrame(
        [(q, q, 10.0, 10.0, *rows.get(q, (0.0, -1.0, 1.0)), "unit", 5) for q in names],
        columns=["quantity", "label", "reference_mean", "arm_mean", "difference", "ci_low",
                 "ci_high", "unit", "n"],
    )  # fmt: skip
    day = dt.date(2020, 6, 1)
    return Verdict("ref", "arm", day, dt.date(2021, 1, 1), day, 5, table)


def test_sentences_follow_the_numbers():
    from scenelab.verdict_text import fmt_number, sentences

    detail = {"components": {"overdose_deaths": -30.0, "nuisance": -10.0},
              "neighbourhoods": {"Harbour East": -25.0, "Old Town": 5.0}}  # fmt: skip
    v = _synthetic({"harm": (-40.0, -60.0, -20.0), "cost": (1000.0, 500.0, 1500.0),
                    "cost_per_harm_day_averted": (25.0, 10.0, 60.0)})  # fmt: skip
    text = sentences(v, detail)
    assert text[1].startswith("arm lowered total harm by 40.0 unit [20.0, 60.0]")
    assert "overdose deaths (30.0 harm-days per month, 75% of the change)" in text[1]
    hood = "The largest fall by neighbourhood was in Harbour East (25.0 harm-days per month)."
    assert text[2] == hood
    assert "It raised the cost by 1,000 unit [500, 1,500]." in text
    assert "Each harm-day averted cost NOK 25.0 [10.0, 60.0]." in text
    # an interval that straddles 0 is never called a rise or a fall
    v = _synthetic({"harm": (-40.0, -90.0, 10.0)})
    text = sentences(v, detail)
    assert text[1] == "arm made no clear difference to total harm (-40.0 unit [-90.0, 10.0])."
    assert not any("averted" in s for s in text)
    assert [fmt_number(x) for x in (-0.0001, 0.066, 4792.0, float("nan"))] == [
        "0", "0.066", "4,792", "n/a"
    ]  # fmt: skip
