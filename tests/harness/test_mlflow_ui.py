"""A sweep as a user sees it in the real MLflow UI: ``mlflow server`` over the sweep's store, Debian's Chromium.

Playwright drives ``/usr/bin/chromium`` (``scripts/system-packages browser``; Playwright never
downloads a browser here). Screenshots are kept under the test's temporary directory.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from mlflow import MlflowClient

from crystalbench.harness.spec import parse_spec
from crystalbench.harness.sweep import run_sweep, trial_run
from crystalbench.harness.tracking import ui_link
from tests.helpers import small_spec, start_mlflow_server, stop_process_group

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]
EXPAND_PARENT = 'button[data-component-id$="runnamecellrenderer.tsx_46"]'
RUN_NAMES = '[col-id="attributes.`Run Name`"]'

pytestmark = pytest.mark.skipif(not CHROMIUM.is_file(), reason="needs Debian's chromium: scripts/system-packages browser")


@pytest.fixture(scope="module")
def ui(local_ray, artifact_root, small_dataset_csv, tmp_path_factory):
    """A finished sweep of 4 cells and an MLflow server over its embedded store: (outcome, cells, server URL)."""
    root = tmp_path_factory.mktemp("ui")
    spec = parse_spec(small_spec(root / "run", small_dataset_csv))
    outcome = run_sweep(spec, progress=False)
    proc, url = start_mlflow_server(outcome.tracking_uri, root / "server.log")
    try:
        yield outcome, spec.grid()[0], url
    finally:
        stop_process_group(proc, timeout=20)


@pytest.fixture
def page(tmp_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        page = browser.new_page(viewport={"width": 1600, "height": 1000})
        page.set_default_timeout(60_000)
        yield page
        browser.close()


def shot(page, tmp_path: Path, name: str) -> None:
    (tmp_path / "screenshots").mkdir(exist_ok=True)
    page.screenshot(path=str(tmp_path / "screenshots" / f"{name}.png"))


def open_runs_view(page, outcome, url: str) -> None:
    _, link = ui_link(outcome.tracking_uri, outcome.experiment_id, port=int(url.rsplit(":", 1)[1]))
    page.goto(link)
    page.get_by_text("matching runs").wait_for()
    close = page.get_by_role("button", name="Close")  # the UI's assistant panel, opened on a first visit
    if close.count():
        close.first.click()


def test_the_printed_link_shows_the_parent_and_one_distinct_child_per_cell(ui, page, tmp_path):
    outcome, cells, url = ui
    open_runs_view(page, outcome, url)
    assert "GenAI" not in page.get_by_role("heading").first.inner_text()
    page.get_by_text("Runs", exact=True).first.wait_for()
    page.locator(EXPAND_PARENT).first.click()
    page.get_by_text(trial_run(cells[-1], {}).name).wait_for()
    shot(page, tmp_path, "runs_table")

    shown = [t.split("\n")[-1] for t in page.locator(RUN_NAMES).all_inner_texts()[1:]]
    expected = sorted(trial_run(c, {}).name for c in cells)
    assert sorted(shown) == sorted(["t", *expected]), "the parent (suite t) and one child per cell"
    assert len({name[:25] for name in expected}) == len(cells), "children differ within their first 25 characters"
    assert "crystalbench" in page.inner_text("body") and "improvement" in page.inner_text("body"), \
        "the experiment's description says what the metrics mean"


def test_the_best_so_far_chart_renders_grouped_by_method(ui, page, tmp_path):
    outcome, cells, url = ui
    open_runs_view(page, outcome, url)
    page.get_by_role("button", name="Group by").click()
    page.locator("[role=menu], [role=listbox], [role=dialog]").get_by_text("method", exact=True).first.click()
    page.keyboard.press("Escape")
    page.locator("label", has=page.locator("input[value=CHART]")).click()
    card = page.get_by_test_id("experiment-view-compare-runs-card").filter(has_text="best_so_far").first
    card.locator("svg.main-svg .scatterlayer .trace").first.wait_for()
    shot(page, tmp_path, "best_so_far_chart")
    assert card.locator("svg.main-svg .scatterlayer .trace").count() >= 1, "a line per group"
    assert "database" in card.inner_text(), "the legend names the group"


def test_the_parent_run_lists_the_report_and_the_spec(ui, page, tmp_path):
    outcome, _, url = ui
    page.goto(f"{url}/#/experiments/{outcome.experiment_id}/runs/{outcome.parent_run_id}/artifacts"
              "?workflowType=machine_learning")
    page.get_by_text("spec.yaml").first.wait_for()
    page.get_by_text("report", exact=True).first.click()
    page.get_by_text("leaderboard.md").first.wait_for()
    shot(page, tmp_path, "parent_artifacts")
    assert page.get_by_text("curves.png").first.is_visible(), "the report folder opens in the artifact tree"
    body = page.inner_text("body")
    for name in ("leaderboard.html", "leaderboard.parquet", "curves.png", "spec.yaml"):
        assert name in body, f"{name} is listed among the parent's artifacts"
    stored = {a.path for a in MlflowClient(outcome.tracking_uri).list_artifacts(outcome.parent_run_id, "report")}
    assert {"report/leaderboard.md", "report/curves.png"} <= stored
    assert os.listdir(tmp_path / "screenshots")
