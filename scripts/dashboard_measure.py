"""Measure the dashboard on Bergen and take the README screenshot (docs/img/dashboard.png).

Starts the dashboard on a free loopback port, drives headless Debian Chromium (Playwright, no
browser download), closes the first place a month in, runs REPLICATES paired replicates and
reports the seconds from the last run's end to the first results drawn in the page (map, scene
size, harm by neighbourhood, harm to women and the outcome table; split into the server's summary
and page build and the rest: poll, transfer, drawing), and to the verdict and costs shown.

    PYTHONPATH=src python scripts/dashboard_measure.py [bergen] [--replicates 5] [--until DATE]
        [--screenshot docs/img/dashboard.png]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

from scenelab.dashboard.app import Dashboard, make_server

ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WATCH = """() => {
  window.__shown = null;
  window.__complete = null;
  const ids = ["#results-ready", "#scene-graph .main-svg", "#neighbourhood-graph .main-svg",
               "#women-graph .main-svg", "#map .scatterlayer .trace"];
  const check = () => {
    if (window.__shown === null && ids.every((s) => document.querySelector(s))) {
      window.__shown = Date.now() / 1000;
    }
    if (window.__complete === null && document.querySelector("#verdict-table")
        && document.querySelector("#cost-graph .main-svg")) {
      window.__complete = Date.now() / 1000;
    }
  };
  new MutationObserver(check).observe(document.body, {childList: true, subtree: true});
}"""


def main() -> int:
    """Run the measurement; print one JSON line."""
    p = argparse.ArgumentParser()
    p.add_argument("scenario", nargs="?", default="bergen")
    p.add_argument("--replicates", type=int, default=5)
    p.add_argument("--until", default="")
    p.add_argument("--screenshot", default="")
    p.add_argument("--chromium", default="/usr/bin/chromium")
    args = p.parse_args()
    dashboard = Dashboard(args.scenario)
    server = make_server(dashboard, "127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.socket.getsockname()[1]}/"
    with sync_playwright() as pw, tempfile.TemporaryDirectory() as profile:
        context = pw.chromium.launch_persistent_context(
            profile, executable_path=args.chromium, headless=True, args=ARGS,
            viewport={"width": 1400, "height": 1000},
        )  # fmt: skip
        page = context.pages[0] if context.pages else context.new_page()
        page.goto(url)
        page.wait_for_selector("#group-close", timeout=120_000)
        page.fill("#replicates", str(args.replicates))
        page.fill("#until", args.until)
        page.click("#group-close summary")
        page.locator('[id*=\'"group":"close"\'][id*=\'"field":"on"\'] input').check()
        page.wait_for_selector("#edit-status:has-text('valid')", timeout=60_000)
        page.evaluate(WATCH)
        started = time.time()
        page.click("#run")
        page.wait_for_function("window.__shown !== null", timeout=3_600_000, polling=200)
        shown = page.evaluate("window.__shown")
        page.wait_for_function("window.__complete !== null", timeout=3_600_000, polling=200)
        complete = page.evaluate("window.__complete")
        job = dashboard.runner.job
        result = {
            "scenario": args.scenario,
            "replicates": args.replicates,
            "until": args.until or None,
            "runs_seconds": round(job.runs_finished_at - started, 1),
            "finish_to_shown_seconds": round(shown - job.runs_finished_at, 2),
            "of_which_summary_and_page_build": round(job.prepared_at - job.runs_finished_at, 2),
            "of_which_poll_transfer_draw": round(shown - job.prepared_at, 2),
            "finish_to_verdict_and_costs_shown_seconds": round(complete - job.runs_finished_at, 2),
            "workers": dashboard.workers,
        }
        if args.screenshot:
            months = len(job.summary.months)
            # the month after the closure: arrows show where the scene went
            handle = page.locator("#month [role=slider]").first  # the time slider
            handle.focus()
            handle.press("Home")
            handle.press("ArrowRight")
            page.wait_for_selector("#map .gtitle:has-text('February')", timeout=120_000)
            page.evaluate("window.scrollTo(0, 0)")
            Path(args.screenshot).parent.mkdir(parents=True, exist_ok=True)
            time.sleep(1.0)
            page.screenshot(path=args.screenshot, full_page=False)
            result["months"] = months
        context.close()
    server.shutdown()
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
