"""Open the written report in headless Chromium and check every chart rendered, without JS errors.

Needs /usr/bin/chromium (Debian package): `bash scripts/ensure_chromium.sh` installs it.
"""

import os
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest
from synthetic_runs import PERIODS, make_tables

from scenelab.report import ReportInputs, expected_chart_ids, write_report

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}


def _chromium() -> str:
    path = shutil.which(CHROMIUM)
    if path is None:
        pytest.fail(
            f"Chromium not found at {CHROMIUM}: the report's browser test needs it. "
            "Run `bash scripts/ensure_chromium.sh` (installs Debian's chromium package), "
            "or set CHROMIUM to a Chromium binary."
        )
    return path


class _Charts(HTMLParser):
    """Per plotly div (by id): whether it holds an SVG .main-svg and how many drawn traces."""

    def __init__(self):
        super().__init__()
        self.depth = 0
        self.open: list[tuple[str, int]] = []
        self.charts: dict[str, dict[str, int]] = {}
        self.body_attrs: dict[str, str] = {}
        self.error_text = ""
        self._in_errors = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        classes = (a.get("class") or "").split()
        if tag == "body":
            self.body_attrs = {k: v or "" for k, v in attrs}
        if tag == "div" and "js-plotly-plot" in classes:
            self.charts[a.get("id", f"anon{len(self.charts)}")] = {"main_svg": 0, "traces": 0}
            self.open.append((a.get("id", f"anon{len(self.charts) - 1}"), self.depth))
        if self.open:
            chart = self.charts[self.open[-1][0]]
            if tag == "svg" and "main-svg" in classes:
                chart["main_svg"] += 1
            if tag == "g" and "trace" in classes:
                chart["traces"] += 1
        self._in_errors = tag == "pre" and a.get("id") == "report-errors"
        if tag not in VOID:
            self.depth += 1

    def handle_startendtag(self, tag, attrs):
        if tag not in VOID:
            self.depth -= 1  # balance the increment in handle_starttag for <x/>

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        self.depth -= 1
        if self.open and self.depth <= self.open[-1][1]:
            self.open.pop()
        self._in_errors = False

    def handle_data(self, data):
        if self._in_errors:
            self.error_text += data


def _render(html: Path, profile: Path) -> tuple[_Charts, str]:
    cmd = [
        _chromium(),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        "--virtual-time-budget=10000",
        "--enable-logging=stderr",
        "--v=0",
        "--dump-dom",
        html.resolve().as_uri(),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=90, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    parser = _Charts()
    parser.feed(proc.stdout)
    console = [line for line in proc.stderr.splitlines() if ":CONSOLE" in line]
    return parser, "\n".join(console)


def _assert_rendered(parser: _Charts, console: str, expected: list[str]) -> None:
    assert sorted(parser.charts) == sorted(expected), parser.charts.keys()
    for chart_id, found in parser.charts.items():
        assert found["main_svg"] >= 1, f"{chart_id} has no SVG: plotly did not draw it"
        assert found["traces"] >= 1, f"{chart_id} drew axes but no data"
    assert parser.body_attrs.get("data-js-errors") == "0", parser.error_text
    assert not re.search(r"Uncaught|Error", console), console


@pytest.mark.slow
def test_full_report_renders_every_chart(tmp_path, tables, inputs, survey, comparison):
    out = write_report({**tables, "survey": survey}, inputs, tmp_path / "out", comparison)
    assert out == tmp_path / "out" / "report.html"
    parser, console = _render(out, tmp_path / "profile")
    _assert_rendered(parser, console, list(expected_chart_ids(True, True)))


@pytest.mark.slow
def test_minimal_report_renders_with_survey_placeholder(tmp_path, inputs):
    one = make_tables(replicates=1, start="2014-06-01", end="2014-12-31")
    minimal = ReportInputs(
        sites=inputs.sites,
        neighbourhoods=inputs.neighbourhoods.drop(columns="residents"),
        periods=[PERIODS[1]],
    )
    out = write_report(one, minimal, tmp_path / "minimal.html")
    text = out.read_text(encoding="utf-8")
    assert "No virtual survey in these results" in text
    parser, console = _render(out, tmp_path / "profile")
    _assert_rendered(parser, console, list(expected_chart_ids(False, False)))


@pytest.mark.slow
def test_report_without_plotlyjs_says_why(tmp_path, inputs):
    one = make_tables(replicates=1, start="2014-06-01", end="2014-09-30")
    out = write_report(one, inputs, tmp_path / "report.html")
    (tmp_path / "plotly.min.js").unlink()  # the page copied on its own
    parser, _console = _render(out, tmp_path / "profile")
    assert parser.body_attrs.get("data-js-errors") != "0"
    assert "plotly.min.js was not found beside this page" in parser.error_text
