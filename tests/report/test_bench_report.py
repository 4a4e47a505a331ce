"""The report benchmark runs and prints its tables, at toy sizes. Nothing here is timed."""

from benchmarks import bench_report


def test_bench_report_prints_its_tables(capsys):
    assert bench_report.main(["--quick"]) == 0
    out = capsys.readouterr().out
    assert "groupby().quantile" in out and "write_report" in out
    assert "report_html_MB" in out and "plotly_js_MB" in out
