"""Parquet store and folder scan details."""
import os

import pandas as pd

from zhengfa import ingest
from zhengfa.store import StageStore, write_parquet_atomic


def test_atomic_write_and_stale_temporaries(tmp_path):
    store = StageStore(tmp_path, "metrics")
    store.write(pd.DataFrame({"doc_id": ["a"], "code_version": ["v1"], "x": [1]}))
    assert not list(store.dir.glob(".*.tmp"))
    (store.dir / ".batch-x.parquet.dead.tmp").write_bytes(b"half a file")
    assert store.read("v1")["x"].tolist() == [1]  # readers never see temporaries
    assert store.remove_stale_temporaries() == 1
    assert not list(store.dir.glob(".*.tmp"))


def test_latest_batch_wins_per_document(tmp_path):
    store = StageStore(tmp_path, "documents")
    store.write(pd.DataFrame({"doc_id": ["a", "b"], "code_version": ["v1", "v1"], "x": [1, 2]}))
    store.write(pd.DataFrame({"doc_id": ["a"], "code_version": ["v1"], "x": [3]}))
    got = store.read("v1").sort_values("doc_id")
    assert got["x"].tolist() == [3, 2]
    assert store.done("v1") == {"a", "b"} and store.done("v2") == set()


def test_a_rejection_is_judged_again_by_a_new_decoder(tmp_path):
    import os

    raw = tmp_path / "raw"
    raw.mkdir()
    f = raw / "a.txt"
    article = "全区破获案件120起。".encode("utf-8")
    f.write_bytes(b"\x89PNG" + b"\x00" * (len(article) - 4))
    first = ingest.scan(raw, None, set(), 1000, decoder_version="d1")
    assert first.manifest["status"].tolist() == ["rejected"]
    # same size and mtime, new bytes: the same decoder trusts its earlier verdict (no re-read)
    st = f.stat()
    f.write_bytes(article)
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns))
    again = ingest.scan(raw, first.manifest, set(), 1000, decoder_version="d1")
    assert again.manifest["status"].tolist() == ["rejected"]
    # a new decoder reads the file again
    newer = ingest.scan(raw, first.manifest, set(), 1000, decoder_version="d2")
    assert newer.manifest["status"].tolist() == ["accepted"]
    assert newer.manifest["judged_by"].tolist() == ["d2"]


def test_write_parquet_atomic_replaces(tmp_path):
    p = tmp_path / "m.parquet"
    write_parquet_atomic(pd.DataFrame({"a": [1]}), p)
    write_parquet_atomic(pd.DataFrame({"a": [2]}), p)
    assert pd.read_parquet(p)["a"].tolist() == [2]


def test_compaction_keeps_current_rows_only(tmp_path):
    store = StageStore(tmp_path, "sections")
    for i in range(5):
        store.write(pd.DataFrame({"doc_id": [f"d{i}"], "code_version": ["v1"], "x": [i]}))
    store.write(pd.DataFrame({"doc_id": ["d0"], "code_version": ["v1"], "x": [99]}))
    store.write(pd.DataFrame({"doc_id": ["d1"], "code_version": ["v0"], "x": [-1]}))  # older code
    assert store.compact("v1", {"d0", "d1", "d2"}, min_files=10) == 0  # below the threshold
    assert store.compact("v1", {"d0", "d1", "d2"}, min_files=3) == 7
    assert len(store.files()) == 1
    got = store.read("v1").sort_values("doc_id")
    assert got["doc_id"].tolist() == ["d0", "d1", "d2"] and got["x"].tolist() == [99, 1, 2]


def test_walk_lists_what_a_recursive_listing_finds_with_sizes_and_mtimes(tmp_path):
    """Nested folders in sorted order, hidden entries and the root's page metadata left out, a
    symlinked file recorded as skipped, a symlinked folder neither entered nor recorded."""
    import os

    raw = tmp_path / "raw"
    (raw / "b_sub" / "deeper").mkdir(parents=True)
    (raw / "a_sub").mkdir()
    (raw / ".hidden_dir").mkdir()
    for rel, text in {"z.txt": "一", "m.html": "二二", "b_sub/x.txt": "三", "b_sub/deeper/y.txt": "四四四",
                      "a_sub/sources.jsonl": "{}", ".hidden.txt": "五", ".hidden_dir/w.txt": "六",
                      "sources.jsonl": "{}"}.items():
        (raw / rel).write_text(text, encoding="utf-8")
    (raw / "link.txt").symlink_to(raw / "z.txt")
    (raw / "linked_dir").symlink_to(raw / "b_sub", target_is_directory=True)
    files, skipped = ingest.walk(raw)
    assert [f.path for f in files] == ["m.html", "z.txt", "a_sub/sources.jsonl", "b_sub/x.txt", "b_sub/deeper/y.txt"]
    for f in files:
        st = os.stat(raw / f.path)
        assert (f.size, f.mtime_ns, f.name) == (st.st_size, st.st_mtime_ns, os.path.basename(f.path))
        assert f.full == str((raw / f.path).resolve())
    assert [(f.path, reason) for f, reason in skipped] == [("link.txt", "symlink: not followed")]
    # the scan's manifest lists the same paths, the symlink as skipped
    m = ingest.scan(raw, None, set(), 1000).manifest
    status = m.set_index("path")["status"].to_dict()
    assert set(status) == {f.path for f in files} | {"link.txt"}
    assert status["link.txt"] == "skipped" and "skipped" not in {status[f.path] for f in files}


def test_the_manifest_is_read_by_path_whatever_its_columns(tmp_path):
    """A manifest written before the decoder version was recorded still reads (judged_by missing)."""
    old = pd.DataFrame({"path": ["a.txt", "b.txt"], "size": pd.array([3, None], dtype="Int64"),
                        "mtime_ns": pd.array([7, None], dtype="Int64"), "status": ["accepted", "skipped"],
                        "doc_id": ["h1", None], "reason": [None, "symlink: not followed"]})
    by_path = ingest.previous_by_path(old)
    assert by_path["a.txt"].doc_id == "h1" and by_path["a.txt"].judged_by is None
    assert by_path["b.txt"].status == "skipped" and pd.isna(by_path["b.txt"].size)
    assert ingest.previous_by_path(None) == {} and ingest.previous_by_path(old.iloc[:0]) == {}


def test_compaction_merges_the_small_batches_and_leaves_a_builds_chunks(tmp_path):
    """A build's large batches stay as written (a load reads a few of them per group of documents);
    the small batches of later runs merge into one, with their documents' current rows only."""
    store = StageStore(tmp_path, "metrics")
    big = [pd.DataFrame({"doc_id": [f"b{k}{i}" for i in range(300)], "code_version": "v1",
                         "x": list(range(300)), "pad": ["正文" * 40] * 300}) for k in range(2)]
    for df in big:
        store.write(df)
    large = {f: os.path.getsize(f) for f in store.files()}
    small_bytes = min(large.values())
    store.write(pd.DataFrame({"doc_id": ["b00"], "code_version": ["v1"], "x": [-5], "pad": ["新"]}))  # b00 again
    store.write(pd.DataFrame({"doc_id": ["n1"], "code_version": ["v1"], "x": [7], "pad": ["新"]}))
    store.write(pd.DataFrame({"doc_id": ["n2"], "code_version": ["v1"], "x": [8], "pad": ["新"]}))  # n2 removed
    store.write(pd.DataFrame({"doc_id": ["b11"], "code_version": ["v0"], "x": [0], "pad": ["旧"]}))  # older code
    live = {d for df in big for d in df["doc_id"]} | {"n1"}
    before = store.read("v1")
    assert store.compact("v1", live, min_files=4, small_bytes=small_bytes) == 4
    after = store.files()
    assert {f: os.path.getsize(f) for f in after if f in large} == large  # the build's chunks untouched
    assert len(after) == 3
    got = store.read("v1").set_index("doc_id")["x"]
    assert got["b00"] == -5 and got["n1"] == 7 and "n2" not in got.index and got["b11"] == 1
    assert len(got) == len(live)
    assert before[before["doc_id"].isin(live)].set_index("doc_id")["x"].sort_index().equals(got.sort_index())
