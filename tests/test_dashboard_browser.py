"""The dashboard in a real browser: headless Debian Chromium driven by Playwright.

Load the page, run the small city unedited (common random numbers: every paired difference is
exactly zero), change a control, run again (the differences move), see a bad value get
``validate``'s message beside its control, download the scenario and validate it.

Needs /usr/bin/chromium (``bash scripts/ensure_chromium.sh``); Playwright never downloads a
browser here. Skipped with the reason when Chromium is missing outside CI; in CI it fails.
"""

import os
import re
import threading
from pathlib import Path

import pytest

pytest.importorskip("dash", reason="the dashboard extra is not installed")
sync_api = pytest.importorskip("playwright.sync_api", reason="the dashboard extra is not installed")

from scenelab.dashboard.app import Dashboard, make_server  # noqa: E402
from scenelab.scenario.loader import load_scenario  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SMALL = ROOT / "examples" / "small_city.toml"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_or_skip() -> str:
    """The Chromium binary; skip (fail in CI) if there is none."""
    if Path(CHROMIUM).is_file() and os.access(CHROMIUM, os.X_OK):
        return CHROMIUM
    message = f"{CHROMIUM} is missing: run `bash scripts/ensure_chromium.sh` (Debian chromium)"
    if os.environ.get("CI", "").lower() in ("true", "1"):
        pytest.fail(message)
    pytest.skip(message)


def browser_page(playwright, profile: Path):
    """A fresh headless Chromium (its own --user-data-dir) and one page in it."""
    context = playwright.chromium.launch_persistent_context(
        str(profile),
        executable_path=chromium_or_skip(),
        headless=True,
        args=CHROMIUM_ARGS,
        accept_downloads=True,
        viewport={"width": 1400, "height": 1000},
    )
    return context, context.pages[0] if context.pages else context.new_page()


@pytest.fixture
def server():
    dashboard = Dashboard(str(SMALL))
    srv = make_server(dashboard, "127.0.0.1", 0)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield dashboard, f"http://127.0.0.1:{srv.socket.getsockname()[1]}/"
    dashboard.runner.cancel()
    srv.shutdown()
    srv.server_close()


def _ctl(page, group: str, key: str):
    return page.locator(f'[id*=\'"group":"{group}"\'][id*=\'"field":"{key}"\']')


def _err(page, key: str):
    return page.locator(f'[id*=\'"key":"{key}"\']')


def _run_and_read(page, timeout_ms: int = 240_000) -> list[str]:
    page.click("#run")
    page.wait_for_selector("#results-ready", state="attached", timeout=timeout_ms)
    page.wait_for_selector("#scene-graph .main-svg", timeout=30_000)
    cells = page.locator("#difference-table tr td:nth-child(4)").all_inner_texts()
    assert cells, "no paired differences shown"
    return cells


@pytest.mark.slow
def test_change_run_compare_download(server, tmp_path):
    dashboard, url = server
    errors: list[str] = []
    with sync_api.sync_playwright() as p:
        context, page = browser_page(p, tmp_path / "profile")
        try:
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(url)
            page.wait_for_selector("#group-close", timeout=60_000)
            page.fill("#replicates", "2")
            page.fill("#until", "2020-03-31")

            # 1. unedited vs itself: common random numbers make every difference exactly zero
            zero = _run_and_read(page)
            assert all(re.fullmatch(r"\+0 \[\+0, \+0\]", c) for c in zero), zero
            sync_api.expect(page.locator("#verdict")).to_contain_text(
                "against small_city", timeout=120_000
            )
            assert page.locator("#verdict-table tr").count() > 5

            # 2. a bad value: validate's message beside the control, and Run refuses
            page.click("#group-expulsion summary")
            _ctl(page, "expulsion", "on").locator("input").check()
            _ctl(page, "expulsion", "propensity").fill("1.5")
            _ctl(page, "expulsion", "propensity").press("Enter")
            message = _err(page, "expulsion.propensity")
            sync_api.expect(message).to_contain_text(
                "small_city-edited.toml: interventions[", timeout=20_000
            )
            sync_api.expect(message).to_contain_text("less than or equal to 1")
            _ctl(page, "expulsion", "on").locator("input").uncheck()
            sync_api.expect(message).to_have_text("", timeout=20_000)

            # 3. close the park a month in: the scene moves, differences are no longer zero
            page.click("#group-close summary")
            _ctl(page, "close", "on").locator("input").check()
            _ctl(page, "close", "start").fill("2020-02-01")
            _ctl(page, "close", "start").press("Enter")
            sync_api.expect(page.locator("#edit-status")).to_have_text(
                "The edited scenario is valid.", timeout=20_000
            )
            page.evaluate("document.getElementById('results-ready').remove()")
            moved = _run_and_read(page)
            assert moved != zero and any(not c.startswith("+0 ") for c in moved), moved
            page.wait_for_selector("#map .scatterlayer .trace", timeout=60_000)
            sync_api.expect(page.locator("#map .gtitle")).to_contain_text("March 2020")
            handle = page.locator("#month [role=slider]").first  # the time slider
            handle.focus()
            handle.press("Home")
            handle.press("ArrowRight")
            sync_api.expect(page.locator("#map .gtitle")).to_contain_text(
                "February 2020", timeout=60_000
            )
            summary = dashboard.runner.job.summary
            park = summary.monthly_site[
                (summary.monthly_site["site"] == "river_park")
                & (summary.monthly_site["month"] >= "2020-02-01")
            ]
            assert park[park["arm"] == "edited"]["people_present"].max() == 0.0
            assert park[park["arm"] == "reference"]["people_present"].min() > 0.0

            # 4. download the edited scenario and validate it
            with page.expect_download() as info:
                page.click("#download-button")
            target = tmp_path / "downloaded.toml"
            info.value.save_as(target)
            scn = load_scenario(target)
            closes = [iv for iv in scn.interventions if iv.type == "close_site"]
            assert [(iv.site, str(iv.start)) for iv in closes][-1] == ("river_park", "2020-02-01")
            assert not errors, errors
        finally:
            context.close()
