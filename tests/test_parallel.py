"""The text stages on several worker processes, a chunk at a time: the same warehouse as one
process, chunks of any size, one failing document reported while the others go through."""
from __future__ import annotations

import sys

import pandas as pd
import pytest

from conftest import ROOT, copy_samples, describe_diff, materialization_metadata, run_job, snapshot
from zhengfa import decode, ingest, parallel, pipeline
from zhengfa.store import StageStore

sys.path.insert(0, str(ROOT / "bench"))
from make_corpus import variant_text  # noqa: E402


@pytest.fixture
def corpus(tmp_path):
    """The samples and a dozen generated reports: enough documents for the worker pool."""
    raw = copy_samples(tmp_path / "raw")
    for i in range(12):
        (raw / f"generated_{i:02d}.txt").write_text(variant_text(i, 3), encoding="utf-8")
    return raw


def _build(raw, wh, monkeypatch, workers: int, chunk: int):
    monkeypatch.setenv("ZHENGFA_WORKERS", str(workers))
    monkeypatch.setenv("ZHENGFA_CHUNK_DOCS", str(chunk))
    return run_job(raw, wh)


@pytest.mark.slow
def test_workers_and_chunks_give_the_same_warehouse(corpus, tmp_path, monkeypatch):
    serial = tmp_path / "serial"
    _build(corpus, serial, monkeypatch, workers=1, chunk=500)
    pooled = tmp_path / "pooled"
    result = _build(corpus, pooled, monkeypatch, workers=2, chunk=4)
    tiny = tmp_path / "tiny"
    _build(corpus, tiny, monkeypatch, workers=2, chunk=1)
    # a load larger than one chunk commits each chunk: the same tables
    import assets.warehouse
    monkeypatch.setattr(assets.warehouse, "LOAD_CHUNK", 3)
    committed = tmp_path / "committed"
    _build(corpus, committed, monkeypatch, workers=1, chunk=500)
    assert snapshot(serial) == snapshot(pooled), describe_diff(serial, pooled)
    assert snapshot(serial) == snapshot(tiny), describe_diff(serial, tiny)
    assert snapshot(serial) == snapshot(committed), describe_diff(serial, committed)
    # one batch per chunk: 17 documents in chunks of 4 → 5 batches per stage
    assert len(StageStore(pooled, "metrics").files()) == 5
    assert len(StageStore(tiny, "documents").files()) == 17
    assert materialization_metadata(result, "metric_mentions")["failed_documents"] == 0


@pytest.mark.slow
def test_a_document_that_fails_is_reported_and_the_rest_go_through(corpus, tmp_path, monkeypatch):
    original = pipeline.clean_stage
    bad = corpus / "generated_05.txt"
    marker = "（本文另附一份无法处理的附件）"
    bad.write_text(bad.read_text(encoding="utf-8") + "\n" + marker, encoding="utf-8")

    def flaky(doc_id, text, source=None):
        if marker in text:
            raise ValueError("cannot read this one")
        return original(doc_id, text, source)

    monkeypatch.setattr(pipeline, "clean_stage", flaky)  # one worker: the stage runs in this process
    wh = tmp_path / "wh"
    result = _build(corpus, wh, monkeypatch, workers=1, chunk=5)
    meta = materialization_metadata(result, "cleaned_documents")
    assert meta["failed_documents"] == 1
    assert "ValueError: cannot read this one" in meta["failures"]
    from conftest import query
    files = set(query(wh, "SELECT source_file FROM documents")["source_file"])
    assert bad.name not in files and len(files) == 16
    assert query(wh, "SELECT count(*) AS n FROM metrics")["n"].iloc[0] > 0
    # not marked done: once it reads again, the next run processes it and only it
    monkeypatch.setattr(pipeline, "clean_stage", original)
    again = _build(corpus, wh, monkeypatch, workers=1, chunk=5)
    assert materialization_metadata(again, "cleaned_documents")["processed"] == 1
    assert bad.name in set(query(wh, "SELECT source_file FROM documents")["source_file"])


def test_pool_reports_a_failing_document_and_keeps_the_batch():
    texts = [variant_text(i, 4) for i in range(10)]
    items = [(f"d{i}", t, None) for i, t in enumerate(texts)]
    items[3] = ("d3", None, None)  # not text: the stage raises on it
    runner = parallel.Runner(workers=2, task_size=2, serial_below=1)
    try:
        outs = list(runner.run(parallel.text_task, [([d for d, _, _ in items[:6]], items[:6]),
                                                    ([d for d, _, _ in items[6:]], items[6:])]))
    finally:
        runner.close()
    assert [o.ids for o in outs] == [[f"d{i}" for i in range(6)], [f"d{i}" for i in range(6, 10)]]
    assert [d for o in outs for d, _ in o.failed] == ["d3"]
    assert [e for o in outs for _, e in o.failed][0].startswith("documents: ")
    results = [r for o in outs for r in o.rows]
    assert [r.doc_id for r in results] == [f"d{i}" for i in range(10)]
    assert [r.doc_id for r in results if r.document is None] == ["d3"]
    serial, _ = parallel.text_task([it for it in items if it[0] != "d3"])
    assert [r for r in results if r.doc_id != "d3"] == serial
    # every stage in one pass gives the rows each stage gives alone
    one = serial[0]
    assert one.document == pipeline.clean_stage("d0", texts[0])
    assert one.sections == pipeline.section_stage(one.document)
    assert one.metrics == pipeline.metric_stage(one.document, one.sections) and one.metrics


def test_a_later_stage_failing_keeps_the_earlier_stages(monkeypatch):
    def broken(doc, sections):
        raise RuntimeError("metric rules broke")

    monkeypatch.setattr(pipeline, "metric_stage", broken)
    results, failed = parallel.text_task([("a", variant_text(2, 4), None)])
    assert results[0].document is not None and results[0].sections is not None and results[0].metrics is None
    assert failed == [("a", failed[0][1])] and failed[0][1].startswith("metrics: RuntimeError: metric rules broke")


def test_stage_tables_hold_each_stages_rows_markers_and_only_finished_documents(monkeypatch):
    original = pipeline.metric_stage

    def fails_on_c(doc, sections):
        if doc["doc_id"] == "c":
            raise RuntimeError("metric rules broke")
        return original(doc, sections)

    monkeypatch.setattr(pipeline, "metric_stage", fails_on_c)
    items = [("a", variant_text(3, 4), None), ("b", "平安建设工作会议召开。\n会议总结了工作。", None),
             ("c", variant_text(4, 4), None), ("d", None, None)]
    results, failed = parallel.text_task(items)
    assert [d for d, _ in failed] == ["c", "d"]
    packed = parallel.stage_tables(results)
    assert packed["documents"].done == ["a", "b", "c"] and packed["sections"].done == ["a", "b", "c"]
    assert packed["metrics"].done == ["a", "b"]  # c failed in this stage, d before it
    docs = packed["documents"].table.to_pylist()
    assert docs == [results[0].document, results[1].document, results[2].document]
    metrics = packed["metrics"].table.to_pylist()
    assert results[0].metrics and results[1].metrics == []
    assert metrics[:-1] == results[0].metrics
    marker = metrics[-1]  # b has no figures: one marker row, so it counts as done
    assert marker["doc_id"] == "b" and marker["metric_id"] is None and marker["value"] is None
    # a task of documents that all failed packs nothing
    nothing = parallel.stage_tables(parallel.text_task([("d", None, None)])[0])
    assert all(p.done == [] and p.table is None for p in nothing.values())


@pytest.mark.slow
def test_a_store_missing_some_documents_gets_only_those(corpus, tmp_path, monkeypatch):
    wh = tmp_path / "wh"
    _build(corpus, wh, monkeypatch, workers=2, chunk=4)
    before = snapshot(wh)
    metrics = StageStore(wh, "metrics")
    lost = metrics.files()[1]  # a batch of the metrics store lost (deleted by hand, say)
    lost_ids = set(pd.read_parquet(lost)["doc_id"])
    docs_files = set(StageStore(wh, "documents").files())
    import os
    os.remove(lost)
    result = _build(corpus, wh, monkeypatch, workers=2, chunk=4)
    assert materialization_metadata(result, "metric_mentions")["processed_documents"] == len(lost_ids)
    assert materialization_metadata(result, "cleaned_documents")["processed"] == 0
    assert set(StageStore(wh, "documents").files()) == docs_files  # nothing written to the other stores
    assert set(pd.read_parquet(metrics.files()[-1])["doc_id"]) == lost_ids  # the one new batch: those documents
    assert snapshot(wh) == before


def test_the_scan_decodes_on_the_workers_with_the_same_verdicts(corpus, monkeypatch):
    (corpus / "zz_copy_of_01.txt").write_bytes((corpus / "generated_01.txt").read_bytes())  # same bytes, 2 names
    (corpus / "blob.txt").write_bytes(bytes(range(256)) * 8)  # binary
    (corpus / "empty.txt").write_bytes(b"")
    (corpus / "gbk.txt").write_bytes("平安建设：全年破获刑事案件120起。".encode("gbk"))

    def scan(**kw):
        sunk = {}
        result = ingest.scan(corpus, None, set(), 10**8, sink=sunk.update, sink_every=4, **kw)
        return result.manifest.drop(columns=["scanned_at"]), sunk, result.n_decoded

    calls = []

    def counting(datas, max_bytes):
        calls.append([len(d) for d in datas])
        return ingest.decode_each(datas, max_bytes)

    serial, serial_texts, n = scan(decode_many=counting)
    sizes = [len(c) for c in calls]
    assert max(sizes) == 4 and sum(sizes) == n + 2  # in batches, each content once; the two rejects too
    runner = parallel.Runner(workers=2, serial_below=1)
    try:
        pooled, pooled_texts, _ = scan(decode_many=parallel.decode_with(runner))
    finally:
        runner.close()
    pd.testing.assert_frame_equal(serial, pooled)
    assert serial_texts == pooled_texts and len(serial_texts) == n
    by_name = serial.set_index("file_name")
    assert by_name.loc["zz_copy_of_01.txt", "status"] == "duplicate"
    assert by_name.loc["generated_01.txt", "status"] == "accepted"
    assert by_name.loc["blob.txt", "status"] == "rejected" and by_name.loc["blob.txt", "reason"]
    assert by_name.loc["empty.txt", "reason"].startswith("empty")
    assert serial_texts[by_name.loc["gbk.txt", "doc_id"]]["encoding"].lower().startswith("gb")
    # large files are decoded a few at a time, whatever the batch size
    calls.clear()
    monkeypatch.setattr(ingest, "DECODE_BATCH_BYTES", 1)
    small, _, _ = scan(decode_many=counting)
    assert all(sum(1 for size in c if size) == 1 for c in calls) and small.equals(serial)  # (and empty ones)


def test_a_decoder_error_rejects_its_file_and_not_the_others(monkeypatch):
    real = decode.decode

    def fragile(data, max_bytes=None):
        if b"boom" in data:
            raise MemoryError("decoder ran out")
        return real(data, max_bytes)

    monkeypatch.setattr(decode, "decode", fragile)
    items = [("平安建设".encode(), None), (b"boom", None), ("政法工作".encode(), None)]
    out, _ = parallel.decode_task(items)
    assert [d.ok for d in out] == [True, False, True]
    assert out[1].reject_reason.startswith("decoder error: MemoryError: decoder ran out")
    assert ingest.decode_each([d for d, _ in items], None) == out  # the same in the scan's own process


def test_runner_runs_little_work_in_this_process(monkeypatch):
    runner = parallel.Runner(workers=4, serial_below=8)
    monkeypatch.setattr(runner, "_get_pool", lambda: pytest.fail("no pool for three documents"))
    outs = list(runner.run(parallel.text_task, [(["a"], [("a", variant_text(1, 1), None)])], total=3))
    assert len(outs[0].rows) == 1 and outs[0].rows[0].sections


def test_stream_keeps_documents_whole_and_the_latest_batch(tmp_path):
    store = StageStore(tmp_path, "metrics")
    old = pd.DataFrame({"doc_id": ["a", "a", "b"], "metric_id": ["a1", "a2", "b1"], "code_version": "v"})
    store.write(old)
    new = pd.DataFrame({"doc_id": ["b", "b", "b", "c"], "metric_id": ["b1", "b2", "b3", None], "code_version": "v"})
    store.write(new)
    store.write(pd.DataFrame({"doc_id": ["d"], "metric_id": ["d1"], "code_version": "other"}))
    for size in (1, 2, 10):
        chunks = list(store.stream("v", None, chunk_docs=size))
        assert all(c["doc_id"].nunique() <= size for c in chunks)
        seen = [d for c in chunks for d in c["doc_id"].unique()]
        assert sorted(seen) == ["a", "b", "c"] and len(seen) == len(set(seen))  # no document split
        rows = pd.concat(chunks)
        assert sorted(rows.loc[rows["doc_id"] == "b", "metric_id"]) == ["b1", "b2", "b3"]  # the newer batch
    picked = pd.concat(store.stream("v", ["a", "c"], columns=["metric_id"]))
    assert sorted(picked["doc_id"]) == ["a", "a", "c"] and set(picked.columns) == {"doc_id", "code_version", "metric_id"}
    before = store.read("v").sort_values(["doc_id", "metric_id"]).reset_index(drop=True)
    assert store.compact("v", {"a", "b", "c"}, small_bytes=1) == 0  # no batch is small: nothing to merge
    assert store.compact("v", {"a", "b", "c"}) == 3
    after = store.read("v").sort_values(["doc_id", "metric_id"]).reset_index(drop=True)
    assert len(store.files()) == 1
    pd.testing.assert_frame_equal(before, after, check_dtype=False)


def test_workers_leave_when_their_owner_is_killed(tmp_path):
    import os
    import signal
    import subprocess
    import time

    script = tmp_path / "owner.py"
    script.write_text(
        "import os, sys, time\n"
        f"sys.path.insert(0, {str(ROOT)!r})\n"
        "from zhengfa import parallel\n"
        "if __name__ == '__main__':\n"
        "    r = parallel.Runner(workers=2, serial_below=1)\n"
        "    pids = set()\n"
        "    for _ in range(4):\n"
        "        list(r.run(parallel.text_task, [(['a'], [('a', '平安建设', None)])]))\n"
        "    print(' '.join(str(p) for p in r._pool._processes), flush=True)\n"
        "    time.sleep(120)\n", encoding="utf-8")
    owner = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    try:
        workers = [int(p) for p in owner.stdout.readline().split()]
        assert workers  # the pool starts workers as work arrives
        owner.send_signal(signal.SIGKILL)
        owner.wait(timeout=10)
        deadline = time.monotonic() + 15
        alive = workers
        while alive and time.monotonic() < deadline:
            time.sleep(0.5)
            alive = [p for p in workers if os.path.exists(f"/proc/{p}") and
                     open(f"/proc/{p}/stat").read().rsplit(")", 1)[1].split()[0] != "Z"]
        assert not alive, f"workers still running after their owner was killed: {alive}"
    finally:
        if owner.poll() is None:
            owner.kill()
