"""What analysts read: column schemas in the UI metadata, the chart, provenance pages, the
read-only snapshot published after every run, and runs that say when they wait for a lock."""
from __future__ import annotations

import re
import subprocess
import time

import duckdb
import pytest
from dagster import DagsterInstance

from assets.warehouse import TABLES
from tests.conftest import PYTHON, VIEWS, copy_samples, materialization_metadata, query, run_job


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("analytics")
    raw, wh = copy_samples(tmp / "raw"), tmp / "wh"
    return raw, wh, run_job(raw, wh)


def test_every_table_and_view_has_its_column_schema_with_descriptions(built):
    _, wh, result = built
    for name in TABLES + VIEWS:
        schema = materialization_metadata(result, name)["dagster/column_schema"]
        cols = {c.name: c for c in schema.columns}
        actual = query(wh, f'DESCRIBE "{name}"')
        assert list(cols) == list(actual["column_name"]), name
        assert [c.type for c in schema.columns] == list(actual["column_type"]), name
        missing = [c for c in cols.values() if not c.description]
        assert not missing, (name, [c.name for c in missing])


def test_chart_asset_writes_a_png_and_shows_it(built):
    _, wh, result = built
    md = materialization_metadata(result, "indicator_chart")
    png = wh / "charts" / "key_indicators.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert md["chart"].startswith("![Key indicators by region and year](data:image/png;base64,")
    spec = (wh / "charts" / "key_indicators.vl.json").read_text(encoding="utf-8")
    assert "Key indicators by region and year" in spec and "$schema" in spec
    assert md["indicators"] >= 3


def test_provenance_page_per_document_highlights_every_figure(built):
    _, wh, _ = built
    pages = sorted(p for p in (wh / "provenance").glob("*.html") if p.name != "index.html")
    docs = query(wh, "select doc_id, source_file from documents")
    assert len(pages) == len(docs)
    doc = docs.iloc[0]
    page = next(p for p in pages if p.name.endswith(f"-{doc['doc_id'][:8]}.html"))
    html = page.read_text(encoding="utf-8")
    mets = query(wh, "select metric_id, quote from metrics where doc_id = ?", [doc["doc_id"]])
    marked = set(" ".join(re.findall(r'data-metric-ids="([^"]+)"', html)).split())
    assert len(marked) >= 0.95 * len(mets)  # a figure inside another's span is shown with it
    for q in mets["quote"].head(10):
        assert q in html
    # green only for figures with an indicator code (a null code is no code)
    coded = query(wh, "select metric_id, indicator from metrics where doc_id = ?", [doc["doc_id"]])
    marks = re.findall(r'<mark class="fig( coded)?" tabindex="0" data-metric-ids="([^"]+)"', html)
    with_code = set(coded.loc[coded["indicator"].notna(), "metric_id"])
    assert marks and any(not c for c, _ in marks) and any(c for c, _ in marks)
    for c, ids in marks:
        assert bool(c) == bool(set(ids.split()) & with_code), ids


def test_pages_are_written_whole_and_a_failed_page_does_not_stop_the_others(tmp_path):
    """Each page is written under a temporary name and renamed; one that cannot be written is
    reported with its error, and the pages after it are still written."""
    from zhengfa.provenance import write_pages

    doc = {"doc_id": "d" * 64, "source_file": "a.txt", "title": "标题", "region": "厦门市", "report_year": 2023,
           "publish_date": None, "cleaned_text": "全年破获刑事案件2876起。"}
    fig = {"metric_id": "m1", "char_start": 8, "char_end": 13, "kind": "count", "value": 2876.0, "unit": "起",
           "approx": "exact", "basis": None, "subject": "刑事案件", "indicator": None, "region": "厦门市",
           "period_start": 2023, "period_end": 2023}
    good, blocked = tmp_path / "a.html", tmp_path / "missing" / "b.html"
    later = tmp_path / "c.html"
    written, failed = write_pages([(str(good), doc, [fig]), (str(blocked), doc, []), (str(later), doc, [])])
    assert written == [str(good), str(later)]
    assert [t for t, _ in failed] == [str(blocked)] and "FileNotFoundError" in failed[0][1]
    assert '<mark class="fig" tabindex="0" data-metric-ids="m1">2876起' in good.read_text(encoding="utf-8")
    assert not list(tmp_path.glob(".*.tmp"))
    # the same through worker processes, as a build of many pages runs it
    from zhengfa.parallel import Runner

    targets = [str(tmp_path / f"w{i}.html") for i in range(6)] + [str(blocked)]
    with Runner(2, task_size=2, serial_below=1) as runner:
        [outcome] = list(runner.run(write_pages, [(targets, [(t, doc, [fig]) for t in targets])]))
    assert sorted(outcome.rows) == sorted(targets[:-1]) and [t for t, _ in outcome.failed] == [str(blocked)]
    assert all("2876起" in open(t, encoding="utf-8").read() for t in targets[:-1])


def test_provenance_pages_and_snapshot_are_written_only_when_something_changed(tmp_path):
    raw, wh = copy_samples(tmp_path / "raw"), tmp_path / "wh"
    built = run_job(raw, wh)
    first = materialization_metadata(built, "provenance_pages")
    assert first["rendered"] == first["pages"] == 5
    assert materialization_metadata(built, "warehouse_snapshot")["published"] is True
    pages, snap = wh / "provenance", wh / "zhengfa_read.duckdb"
    stamps = {p.name: p.stat().st_mtime_ns for p in pages.glob("*-*.html")}
    snap_stamp = snap.stat().st_mtime_ns
    listing = {p: p.stat().st_mtime_ns for p in (pages / "index.html", pages / "pages.parquet")}
    unchanged = run_job(raw, wh)
    again = materialization_metadata(unchanged, "provenance_pages")
    assert (again["rendered"], again["unchanged"]) == (0, 5)
    assert {p.name: p.stat().st_mtime_ns for p in pages.glob("*-*.html")} == stamps
    assert {p: p.stat().st_mtime_ns for p in listing} == listing  # the index and the keys are not rewritten
    assert materialization_metadata(unchanged, "warehouse_snapshot")["published"] is False
    assert snap.stat().st_mtime_ns == snap_stamp
    # a new document: its page alone; a removed one: its page goes; a deleted page comes back
    name = sorted(raw.glob("*.txt"))[0]
    (raw / "新增报道.txt").write_text("某县2023年破获电信网络诈骗案件35起，抓获犯罪嫌疑人48人。\n", encoding="utf-8")
    name.rename(tmp_path / name.name)
    gone = next(p for p in pages.glob("*-*.html") if p.name.startswith(re.sub(r"[^\w.-]+", "_", name.stem)[:60]))
    kept = next(p for p in pages.glob("*-*.html") if p != gone)
    kept.unlink()
    changed = run_job(raw, wh)
    third = materialization_metadata(changed, "provenance_pages")
    assert (third["rendered"], third["removed"], third["pages"]) == (2, 1, 5)
    assert materialization_metadata(changed, "warehouse_snapshot")["published"] is True
    con = duckdb.connect(str(snap), read_only=True)
    try:  # the snapshot holds the new document
        assert con.execute("select count(*) from documents where source_file = '新增报道.txt'").fetchone()[0] == 1
    finally:
        con.close()
    assert kept.exists() and not gone.exists()
    assert "新增报道" in (pages / "index.html").read_text(encoding="utf-8")
    fresh = next(p for p in pages.glob("新增报道-*.html"))
    assert "35起" in fresh.read_text(encoding="utf-8") and "data-metric-ids" in fresh.read_text(encoding="utf-8")


def test_snapshot_is_published_and_answers_the_views(built):
    _, wh, _ = built
    snap = wh / "zhengfa_read.duckdb"
    con = duckdb.connect(str(snap), read_only=True)
    try:
        assert con.execute("select count(*) from v_yoy_indicators").fetchone()[0] == \
            query(wh, "select count(*) n from v_yoy_indicators")["n"].iloc[0]
    finally:
        con.close()
    assert not list(wh.glob(".zhengfa_read.duckdb.*.tmp"))


def test_a_reader_of_the_snapshot_never_blocks_a_run(built, tmp_path):
    raw, wh, _ = built
    snap = wh / "zhengfa_read.duckdb"
    reader = subprocess.Popen([PYTHON, "-c", f"import duckdb,time; c=duckdb.connect({str(snap)!r}, read_only=True); "
                               "print(c.execute('select count(*) from metrics').fetchone()[0], flush=True); time.sleep(60)"],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert int(reader.stdout.readline()) > 0
        (raw / "extra.txt").write_text("厦门市同安区2023年平安建设\n2023年，同安区破获刑事案件1200起。", encoding="utf-8")
        start = time.monotonic()
        result = run_job(raw, wh)
        assert time.monotonic() - start < 50
        assert reader.poll() is None  # the reader still holds its (old) copy
    finally:
        reader.kill()
        reader.wait()
    con = duckdb.connect(str(snap), read_only=True)
    try:
        assert con.execute("select count(*) from documents where source_file = 'extra.txt'").fetchone()[0] == 1
    finally:
        con.close()
    (raw / "extra.txt").unlink()
    assert result.success


def test_a_run_logs_when_a_reader_holds_the_warehouse_file(built):
    raw, wh, _ = built
    holder = subprocess.Popen([PYTHON, "-c", f"import duckdb,time; c=duckdb.connect({str(wh / 'zhengfa.duckdb')!r}, "
                               "read_only=True); print('open', flush=True); time.sleep(4)"], stdout=subprocess.PIPE, text=True)
    with DagsterInstance.ephemeral() as instance:
        try:
            assert holder.stdout.readline().strip() == "open"
            result = run_job(raw, wh, instance=instance)
        finally:
            holder.wait(timeout=30)
        messages = [r.user_message for r in instance.all_logs(result.run_id)]
    assert any("waiting for DuckDB's file lock" in (m or "") for m in messages), messages[-20:]
    assert any("released after" in (m or "") for m in messages)
