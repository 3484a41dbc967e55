"""Bad input, idempotency, crashes and concurrent writers (issue 5)."""
from __future__ import annotations

import os
import re
import shutil
import signal
import time
from pathlib import Path

import pandas as pd
import pytest

from assets.stages import DECODE_VERSION
from bench.make_corpus import make_corpus
from tests import badinput as bi
from tests.conftest import (ALL_TABLES, ROOT, SAMPLES, copy_samples, count, connect, query, run_job, run_script,
                            snapshot, warehouse_invariants, check_evaluations, describe_diff)
from zhengfa.store import StageStore


# ---------------------------------------------------------------- bad input

@pytest.fixture(scope="module")
def bad_build(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("bad")
    raw = tmp / "corpus"
    expected = bi.make_bad_corpus(raw)
    wh = tmp / "wh"
    result = run_job(raw, wh, max_bytes=bi.MAX_BYTES)
    return raw, wh, expected, result


def _fates(wh: Path) -> pd.DataFrame:
    return query(wh, """
        SELECT path, 'accepted' AS fate, NULL AS reason, doc_id FROM documents
        UNION ALL SELECT path, 'duplicate', NULL, doc_id FROM duplicate_files
        UNION ALL SELECT path, status, reason, doc_id FROM rejected_documents""")


def test_bad_corpus_run_succeeds_and_checks_pass(bad_build):
    _, wh, _, result = bad_build
    assert result.success
    failed = {k: e.metadata for k, e in check_evaluations(result).items() if not e.passed}
    assert not failed
    warehouse_invariants(wh)


def test_every_file_is_accounted_for_exactly_once(bad_build):
    raw, wh, expected, _ = bad_build
    fates = _fates(wh)
    assert sorted(fates["path"]) == sorted(expected), "a file is missing or counted twice"
    assert fates["path"].is_unique
    by_path = fates.set_index("path")
    for name, outcome in expected.items():
        fate, reason = by_path.loc[name, "fate"], by_path.loc[name, "reason"]
        kind, _, prefix = outcome.partition(":")
        if kind == "accepted":
            assert fate in ("accepted", "duplicate"), (name, fate, reason)
        elif kind == "rejected":
            assert fate == "rejected" and reason.startswith(prefix), (name, fate, reason)
        else:
            assert fate == "skipped" and reason.startswith("symlink"), (name, fate, reason)


def test_same_content_under_five_names_is_one_document(bad_build):
    _, wh, expected, _ = bad_build
    names = [bi.NAME_SPACES, bi.NAME_QUOTES, bi.NAME_CHINESE, bi.NAME_DASH, bi.NAME_SQL]
    fates = _fates(wh).set_index("path").loc[names]
    assert fates["doc_id"].nunique() == 1
    assert (fates["fate"] == "accepted").sum() == 1 and (fates["fate"] == "duplicate").sum() == 4
    first = fates.index[fates["fate"] == "accepted"][0]
    dups = query(wh, "SELECT duplicate_of FROM duplicate_files WHERE doc_id = ?", [fates["doc_id"].iloc[0]])
    assert set(dups["duplicate_of"]) == {first}
    accepted_names = [n for n, o in expected.items() if o == "accepted"]
    assert count(wh, "documents") == len(accepted_names) - 4


def test_sql_looking_file_name_is_just_a_name(bad_build):
    _, wh, _, _ = bad_build
    con = connect(wh)
    try:
        tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
        assert set(ALL_TABLES) <= tables
        assert con.execute("SELECT count(*) FROM metrics").fetchone()[0] > 0
        found = con.execute("""SELECT count(*) FROM (SELECT path FROM documents UNION ALL
                               SELECT path FROM duplicate_files) WHERE path = ?""", [bi.NAME_SQL]).fetchone()[0]
        assert found == 1
        added = con.execute("SELECT count(*) FROM file_events WHERE path = ? AND event = 'added'",
                            [bi.NAME_SQL]).fetchone()[0]
        assert added == 1
    finally:
        con.close()


def test_decoded_text_is_the_article(bad_build):
    raw, wh, _, _ = bad_build
    fates = _fates(wh).set_index("path")
    texts = StageStore(wh, "raw").read(DECODE_VERSION).set_index("doc_id")["text"]
    for name, sentence in bi.EXPECTED_TEXT.items():
        assert sentence in texts[fates.loc[name, "doc_id"]], name
    page = query(wh, "SELECT cleaned_text FROM documents WHERE path = ?", [bi.HTML])["cleaned_text"].iloc[0]
    for furniture in bi.FORBIDDEN_TEXT[bi.HTML]:
        assert furniture not in page
    # the symlink's target (outside the raw folder) was never read
    all_text = "".join(query(wh, "SELECT cleaned_text FROM documents")["cleaned_text"])
    assert "柳川市" not in all_text
    assert (raw.parent / (raw.name + ".outside") / "outside_article.txt").exists()


def test_size_limit_comes_from_the_resource(tmp_path, monkeypatch):
    raw = copy_samples(tmp_path / "raw", SAMPLES[:2])
    small, large = sorted(raw.iterdir(), key=lambda p: p.stat().st_size)
    limit = (small.stat().st_size + large.stat().st_size) // 2
    run_job(raw, tmp_path / "default_limit")
    assert count(tmp_path / "default_limit", "documents") == 2
    run_job(raw, tmp_path / "small_limit", max_bytes=limit)
    assert list(query(tmp_path / "small_limit", "SELECT source_file FROM documents")["source_file"]) == [small.name]
    rejected = query(tmp_path / "small_limit", "SELECT file_name, reason FROM rejected_documents")
    assert list(rejected["file_name"]) == [large.name]
    assert rejected["reason"].iloc[0] == f"too large: {large.stat().st_size} bytes > limit {limit}"
    # raising the limit on the same warehouse admits the file (no stale "too large" verdict)
    run_job(raw, tmp_path / "small_limit")
    assert count(tmp_path / "small_limit", "documents") == 2
    assert count(tmp_path / "small_limit", "rejected_documents") == 0
    # `make run` takes the limit from the environment
    monkeypatch.setenv("ZHENGFA_MAX_BYTES", str(limit))
    from definitions import make_definitions

    assert make_definitions(str(raw), str(tmp_path / "x")).resources["corpus"].max_bytes == limit


def test_folder_without_any_article_builds_empty_tables(tmp_path):
    raw = tmp_path / "corpus"
    raw.mkdir()
    (raw / "empty.txt").write_bytes(b"")
    (raw / "english.txt").write_text(bi.ENGLISH_ONLY)
    wh = tmp_path / "wh"
    result = run_job(raw, wh)
    assert all(e.passed for e in result.get_asset_check_evaluations())
    assert count(wh, "documents") == 0 and count(wh, "metrics") == 0 and count(wh, "rejected_documents") == 2
    # same column types as a warehouse with rows: the views still bind
    types = query(wh, "DESCRIBE metrics").set_index("column_name")["column_type"]
    assert types["value"] == "DOUBLE" and types["period_end"] == "BIGINT" and types["quote"] == "VARCHAR"
    assert "NULL" not in set(query(wh, "SELECT data_type FROM information_schema.columns")["data_type"])
    assert len(query(wh, "SELECT * FROM v_yoy_indicators")) == 0
    # the folder is then emptied entirely: still a valid run
    for p in raw.iterdir():
        p.unlink()
    run_job(raw, wh)
    assert count(wh, "rejected_documents") == 0
    assert count(wh, "file_events") == 4  # 2 added, 2 removed


def test_symlink_replaced_by_a_file(bad_build, tmp_path):
    """A path recorded as a skipped symlink (no size) that becomes a regular file is read."""
    raw = tmp_path / "corpus"
    bi.make_bad_corpus(raw)
    wh = tmp_path / "wh"
    run_job(raw, wh, max_bytes=bi.MAX_BYTES)
    link = raw / bi.SYMLINK
    link.unlink()
    link.write_text(bi.ARTICLE_OUTSIDE, encoding="utf-8")
    run_job(raw, wh, max_bytes=bi.MAX_BYTES)
    assert query(wh, "SELECT count(*) n FROM documents WHERE path = ?", [bi.SYMLINK])["n"].iloc[0] == 1


def test_two_runs_give_identical_tables(bad_build):
    raw, wh, _, _ = bad_build
    first = snapshot(wh)
    run_job(raw, wh, max_bytes=bi.MAX_BYTES)
    assert snapshot(wh) == first


# ---------------------------------------------------------------- crashes and concurrent writers

@pytest.mark.parametrize("crash_at", ["events", "manifest"])
def test_file_events_survive_a_crash_in_the_scan(tmp_path, monkeypatch, crash_at):
    """A run that dies while recording its scan (writing the event batch, or replacing the
    manifest after it) leaves events that the next run neither loses nor doubles."""
    import assets.stages as stages
    from dagster import DagsterInstance

    from tests.conftest import make_defs

    raw = copy_samples(tmp_path / "raw", SAMPLES[:1])
    wh = tmp_path / "wh"
    run_job(raw, wh)
    copy_samples(raw, SAMPLES[1:2])

    if crash_at == "manifest":
        def crash(df, path):
            raise OSError("disk full")

        monkeypatch.setattr(stages, "write_parquet_atomic", crash)
    else:
        real_write = StageStore.write

        def crash_on_events(self, df):
            if self.stage == "file_events":
                raise OSError("disk full")
            return real_write(self, df)

        monkeypatch.setattr(StageStore, "write", crash_on_events)
    with DagsterInstance.ephemeral() as inst:
        failed = make_defs(raw, wh).resolve_job_def("ingest_job").execute_in_process(instance=inst, raise_on_error=False)
    assert not failed.success
    monkeypatch.undo()
    run_job(raw, wh)
    events = query(wh, 'SELECT path, event FROM file_events ORDER BY event_at')
    assert sorted(map(tuple, events.values.tolist())) == sorted([(SAMPLES[0].name, "added"), (SAMPLES[1].name, "added")])
    assert count(wh, "documents") == 2



def _varied_corpus(folder: Path, n: int, seed: int) -> None:
    """n synthetic articles made from the samples (places, years and figures changed)."""
    make_corpus(folder, n, seed)


def _newest(path: Path) -> float:
    try:
        return path.stat().st_mtime_ns
    except FileNotFoundError:
        return 0


def _kill_when(proc, condition, timeout: float = 120.0) -> bool:
    """SIGKILL proc as soon as condition() holds; False if the run ended first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        if condition():
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            return True
        time.sleep(0.002)
    proc.kill()
    raise AssertionError("run neither finished nor reached the kill point")


@pytest.mark.slow
def test_kill_9_leaves_a_consistent_warehouse_and_the_next_run_recovers(tmp_path):
    raw = copy_samples(tmp_path / "raw")
    ref = tmp_path / "reference"
    run_job(raw, ref)  # the warehouse as it was before the crashes
    wh = tmp_path / "wh"
    shutil.copytree(ref, wh)
    old = snapshot(wh)
    assert old["documents"][1] == 5

    _varied_corpus(raw, 30, seed=11)
    run_job(raw, ref)  # reference: the same two builds, never interrupted
    new = snapshot(ref)
    assert new["documents"][1] == 35 and new != old

    parquet = wh / "parquet"
    manifest_mtime = _newest(parquet / "manifest" / "current.parquet")

    def batches(stage):
        return set(StageStore(wh, stage).files())

    before = {s: batches(s) for s in ("raw", "documents", "sections", "metrics")}
    db_mtime = _newest(wh / "zhengfa.duckdb")

    kill_points = [
        ("raw scan written", lambda: _newest(parquet / "manifest" / "current.parquet") != manifest_mtime),
        ("cleaned batch written", lambda: batches("documents") != before["documents"]),
        ("metrics batch written", lambda: batches("metrics") != before["metrics"]),
        ("DuckDB being written", lambda: (wh / "zhengfa.duckdb.wal").exists()
         or _newest(wh / "zhengfa.duckdb") != db_mtime),
    ]
    home = tmp_path / "dagster_home"
    killed = []
    for label, condition in kill_points:
        proc = run_script(raw, wh, home, wait=False)
        try:
            was_killed = _kill_when(proc, condition)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        stderr = proc.stderr.read()
        if not was_killed:
            assert proc.returncode == 0, stderr[-3000:]
        killed.append((label, was_killed))
        # the warehouse is the old one or the new one, never a mix, and always readable
        warehouse_invariants(wh)
        state = snapshot(wh)
        assert state in (old, new), (label, {t: state[t][1] for t in state})
    assert sum(k for _, k in killed) >= 3, killed

    done = run_script(raw, wh, home)
    assert done.returncode == 0, done.stderr[-3000:]
    warehouse_invariants(wh)
    assert snapshot(wh) == new, describe_diff(wh, ref)


@pytest.mark.slow
def test_two_concurrent_runs_both_succeed_and_equal_one_clean_build(tmp_path):
    raw = copy_samples(tmp_path / "raw")
    _varied_corpus(raw, 10, seed=5)
    ref = tmp_path / "reference"
    run_job(raw, ref)
    wh = tmp_path / "wh"
    home = tmp_path / "dagster_home"  # shared, as with two `make run`
    procs = [run_script(raw, wh, home, wait=False) for _ in range(2)]
    for p in procs:
        p.wait(timeout=300)
    errors = [p.stderr.read()[-3000:] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], errors
    for err in errors:
        assert "Traceback" not in err and "locked" not in err.lower(), err
    warehouse_invariants(wh)
    assert snapshot(wh) == snapshot(ref), describe_diff(wh, ref)


def test_run_script_prints_a_summary(tmp_path):
    raw = copy_samples(tmp_path / "raw", SAMPLES[:1])
    done = run_script(raw, tmp_path / "wh", tmp_path / "home")
    assert done.returncode == 0, done.stderr[-3000:]
    assert re.search(r"documents\s+1\b", done.stdout)
    assert str(tmp_path / "wh" / "zhengfa.duckdb") in done.stdout


def test_ui_binds_localhost_by_default():
    makefile = (ROOT / "Makefile").read_text()
    lines = makefile.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("ui:"))
    recipe = []
    for line in lines[start + 1:]:
        if not line.startswith("\t"):
            break
        recipe.append(line)
    assert any("dagster dev" in r for r in recipe), recipe
    cmd = next(r for r in recipe if "dagster dev" in r)
    assert re.search(r"(-h|--host)\s+127\.0\.0\.1\b", cmd), cmd
    assert "0.0.0.0" not in makefile
