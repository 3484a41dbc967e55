"""Parquet batches as the system of record; a file lock so one writer works at a time.

Layout under <warehouse>/parquet/:
  manifest/current.parquet      every file seen in the raw folder on the last scan, with its fate
  <stage>/batch-<stamp>.parquet  rows produced for a set of documents (keyed by content hash)
Each batch is written to a temporary name and renamed, so readers never see half a file.
"""
from __future__ import annotations

import contextlib
import fcntl
import os
import time
import uuid
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq


def write_parquet_atomic(df: pd.DataFrame, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    table = pa.Table.from_pandas(df, preserve_index=False)
    pq.write_table(table, tmp)
    with open(tmp, "rb") as f:
        os.fsync(f.fileno())
    os.replace(tmp, path)
    return path


@contextlib.contextmanager
def writer_lock(warehouse_dir: Path, timeout_s: float = 600.0, log=None):
    """Exclusive lock on the warehouse: serializes writers across processes. `log` (a callable
    taking a message) hears when the lock is held by another writer and how long the wait took."""
    warehouse_dir.mkdir(parents=True, exist_ok=True)
    lock_path = warehouse_dir / ".writer.lock"
    with open(lock_path, "a+") as fh:
        start = time.monotonic()
        deadline = start + timeout_s
        waited = False
        while True:
            try:
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if not waited and log:
                    log(f"waiting for the warehouse writer lock {lock_path} (another run is writing)")
                waited = True
                if time.monotonic() > deadline:
                    raise TimeoutError(f"warehouse {warehouse_dir} is locked by another writer")
                time.sleep(0.1)
        if waited and log:
            log(f"got the warehouse writer lock after {time.monotonic() - start:.1f} s")
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def wait_for_duckdb(path: Path, timeout_s: float = 600.0, log=None) -> float:
    """Wait until no other process holds DuckDB's lock on `path` (a reader in the CLI or a
    notebook holds it as long as its connection stays open); returns the seconds waited. `log`
    hears when and why the run waits. Readers should use the published read-only snapshot."""
    if not path.exists():
        return 0.0
    start = time.monotonic()
    told = False
    while True:
        try:
            duckdb.connect(str(path)).close()
            break
        except duckdb.IOException as e:
            if "lock" not in str(e).lower():
                raise
            if not told and log:
                log(f"waiting for DuckDB's file lock on {path}: {str(e).splitlines()[0][:300]}")
            told = True
            if time.monotonic() - start > timeout_s:
                raise
            time.sleep(0.25)
    waited = time.monotonic() - start
    if told and log:
        log(f"DuckDB's file lock on {path} released after {waited:.1f} s")
    return waited


def publish_snapshot(path: Path, snapshot: Path) -> Path:
    """Copy the DuckDB file (checkpointed, no connection open) to a temporary name beside the
    snapshot and rename it over the snapshot: readers opening the snapshot see the previous copy
    or the new one, never half a file, and never hold the writer's lock."""
    tmp = snapshot.with_name(f".{snapshot.name}.{uuid.uuid4().hex}.tmp")
    import shutil

    shutil.copyfile(path, tmp)
    with open(tmp, "rb") as f:
        os.fsync(f.fileno())
    os.replace(tmp, snapshot)
    return snapshot


class StageStore:
    """Rows of one stage, keyed by doc_id (content hash) and code_version."""

    def __init__(self, root: Path, stage: str):
        self.dir = root / "parquet" / stage
        self.stage = stage

    def files(self) -> list[str]:
        if not self.dir.exists():
            return []
        return sorted(str(p) for p in self.dir.glob("batch-*.parquet"))

    def done(self, code_version: str) -> set[str]:
        """Documents with rows for this code version (reads two columns only)."""
        files = self.files()
        if not files:
            return set()
        with duckdb.connect() as con:
            rows = con.execute("SELECT DISTINCT doc_id FROM read_parquet(?, union_by_name=true) "
                               "WHERE code_version = ?", [files, code_version]).fetchall()
        return {r[0] for r in rows if r[0] is not None}

    def done_keys(self, code_version: str) -> set[tuple[str, str]]:
        """(document, source key) pairs with rows for this code version: a document whose page
        metadata changed has a new source key and is not done."""
        files = self.files()
        if not files:
            return set()
        with duckdb.connect() as con:
            cols = {r[0] for r in con.execute("DESCRIBE SELECT * FROM read_parquet(?, union_by_name=true)",
                                              [files]).fetchall()}
            key = "coalesce(source_key, '')" if "source_key" in cols else "''"
            rows = con.execute(f"SELECT DISTINCT doc_id, {key} FROM read_parquet(?, union_by_name=true) "
                               "WHERE code_version = ?", [files, code_version]).fetchall()
        return {(r[0], r[1]) for r in rows if r[0] is not None}

    def read(self, code_version: str, doc_ids: list[str] | None = None) -> pd.DataFrame:
        """Rows for the given documents (all when None); when a document was written twice, its
        latest batch wins. The filters run inside the Parquet scan, so reading a few documents
        costs little however large the store."""
        files = self.files()
        if not files:
            return pd.DataFrame()
        with duckdb.connect() as con:
            want = ""
            if doc_ids is not None:
                con.register("_want", pd.DataFrame({"doc_id": list(doc_ids)}, dtype="string"))
                want = "AND doc_id IN (SELECT doc_id FROM _want)"
            return con.execute(f"""
                WITH b AS (SELECT * FROM read_parquet(?, union_by_name=true, filename=true)
                           WHERE code_version = ? {want}),
                     latest AS (SELECT doc_id, max(filename) AS f FROM b GROUP BY doc_id)
                SELECT b.* EXCLUDE (filename) FROM b JOIN latest l ON b.doc_id = l.doc_id AND b.filename = l.f
                ORDER BY b.filename""", [files, code_version]).df()

    def history(self, code_version: str) -> pd.DataFrame:
        """Every row of every batch, oldest batch first (for logs such as file events, where a
        later batch adds to the earlier ones instead of replacing them)."""
        files = self.files()
        if not files:
            return pd.DataFrame()
        with duckdb.connect() as con:
            return con.execute("SELECT * EXCLUDE (filename) FROM read_parquet(?, union_by_name=true, filename=true) "
                               "WHERE code_version = ? ORDER BY filename", [files, code_version]).df()

    def remove_stale_temporaries(self) -> int:
        """Delete half-written files under the whole Parquet tree (call while holding the lock)."""
        root = self.dir.parent
        stale = list(root.glob("**/.*.tmp")) if root.exists() else []
        for p in stale:
            p.unlink(missing_ok=True)
        return len(stale)

    def write(self, df: pd.DataFrame) -> Path | None:
        if df.empty:
            return None
        # One clock reading for the whole stamp (UTC), so names sort in write order: "latest
        # batch wins" in read() compares names.
        ns = time.time_ns()
        stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime(ns // 10**9))
        name = f"batch-{stamp}-{ns % 10**9:09d}-{uuid.uuid4().hex[:6]}.parquet"
        return write_parquet_atomic(df, self.dir / name)

    def compact(self, code_version: str, keep_ids: set[str], min_files: int = 2) -> int:
        """Rewrite the store as one batch holding only current rows (this code version, live
        documents); returns the number of files replaced. Call while holding the writer lock."""
        old = self.files()
        if len(old) < max(2, min_files):
            return 0
        df = self.read(code_version, sorted(keep_ids))
        new = self.write(df) if not df.empty else None
        for f in old:
            if new is None or f != str(new):
                os.remove(f)
        return len(old)
