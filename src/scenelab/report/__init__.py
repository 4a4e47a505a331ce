"""HTML report of a run or a comparison: scene size, displacement, harms and who carries them.

The report reads only the run tables of ``docs/CONTRACT.md`` and plain scenario facts
(:class:`ReportInputs`), and writes ``report.html`` with a shared ``plotly.min.js`` beside it;
both open offline.
"""

from scenelab.report.charts import site_colours
from scenelab.report.html import expected_chart_ids, write_report
from scenelab.report.inputs import ReportInputs, RunTables, collect_tables
from scenelab.report.stats import displacement_flows, site_period_presence
from scenelab.report.strategies import strategy_outcomes

__all__ = [
    "ReportInputs",
    "RunTables",
    "collect_tables",
    "displacement_flows",
    "expected_chart_ids",
    "site_colours",
    "site_period_presence",
    "strategy_outcomes",
    "write_report",
]
