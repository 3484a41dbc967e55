"""A real browser (Debian's chromium, driven by playwright) looks at what a person sees: a
provenance page with its figures highlighted and their rows on hover, and the chart on the Dagster
asset page of `indicator_chart`. `make test` installs chromium and fonts-noto-cjk first
(`make browser-deps`)."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import copy_samples, query, run_script
from tests.test_webserver import serve_ui, ui_home

CHROMIUM = Path(os.environ.get("ZHENGFA_CHROMIUM", "/usr/bin/chromium"))
LAUNCH_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync"]
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def browser():
    assert CHROMIUM.exists(), f"{CHROMIUM} is missing: run `make browser-deps` (apt-get install chromium fonts-noto-cjk)"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """A warehouse built by scripts/run.py into an instance the webserver then serves."""
    tmp = tmp_path_factory.mktemp("browser")
    raw, wh, home = copy_samples(tmp / "raw"), tmp / "wh", tmp / "home"
    ui_home(home)
    done = run_script(raw, wh, home)
    assert done.returncode == 0, done.stderr[-2000:]
    with serve_ui(raw, wh, home) as port:
        yield port, wh


def test_provenance_page_shows_highlighted_figures_and_their_rows_on_hover(site, browser):
    _, wh = site
    doc = query(wh, """select d.doc_id, d.source_file, d.title from documents d
                       where exists (select 1 from metrics m where m.doc_id = d.doc_id and m.indicator is not null)
                       order by d.source_file limit 1""").iloc[0]
    page_file = next((wh / "provenance").glob(f"*-{doc['doc_id'][:8]}.html"))
    n_spans = query(wh, "select count(distinct (char_start, char_end)) n from metrics where doc_id = ?",
                    [doc["doc_id"]])["n"].iloc[0]
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    try:
        page.goto(page_file.as_uri())
        marks = page.locator("mark.fig")
        assert 0.9 * n_spans <= marks.count() <= n_spans
        assert page.locator("h1").inner_text().strip() != ""
        # the first figure with a code: its row is hidden until the reader hovers it
        coded = page.locator("mark.fig.coded").first
        row = coded.locator(".row")
        assert not row.is_visible()
        coded.hover()
        assert row.is_visible()
        text = row.inner_text()
        mid = coded.get_attribute("data-metric-ids").split()[0]
        m = query(wh, "select quote, indicator, subject, kind from metrics where metric_id = ?", [mid]).iloc[0]
        assert m["quote"] in coded.inner_text()
        assert f"indicator {m['indicator']}" in text and f"subject {m['subject']}" in text and m["kind"] in text
        # the highlight is drawn: a coded figure is green, an uncoded one yellow
        assert coded.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(167, 227, 161)"
        box = coded.bounding_box()
        assert box and box["width"] > 0 and box["height"] > 0
    finally:
        page.close()


def test_chart_is_shown_on_its_asset_page(site, browser):
    port, wh = site
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        page.goto(f"http://127.0.0.1:{port}/assets/indicator_chart", wait_until="networkidle", timeout=90_000)
        skip = page.get_by_role("button", name="Skip")  # the first-visit newsletter dialog
        if skip.count():
            skip.first.click()
        page.get_by_text("Key indicators (the most reported) by region and year", exact=False).first.wait_for()
        page.get_by_text("[Show Markdown]").first.click()
        img = page.get_by_role("img", name="Key indicators by region and year")
        img.wait_for(state="visible", timeout=30_000)
        natural = img.evaluate("e => [e.naturalWidth, e.naturalHeight, e.complete]")
        assert natural[0] > 300 and natural[1] > 200 and natural[2]
        box = img.bounding_box()
        assert box["width"] > 300 and box["height"] > 150
        # the table under the chart names the regions the chart plots
        regions = set(query(wh, "select distinct region from v_indicator_values where agree")["region"])
        dialog_text = page.locator(".bp5-dialog, [role=dialog]").first.inner_text()
        assert any(r in dialog_text for r in regions)
    finally:
        page.close()
