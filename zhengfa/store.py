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
def writer_lock(warehouse_dir: Path, timeout_s: float = 600.0):
    """Exclusive lock on the warehouse: serializes writers across processes."""
    warehouse_dir.mkdir(parents=True, exist_ok=True)
    lock_path = warehouse_dir / ".writer.lock"
    with open(lock_path, "a+") as fh:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"warehouse {warehouse_dir} is locked by another writer")
                time.sleep(0.1)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


class StageStore:
    """Rows of one stage, keyed by doc_id (content hash) and code_version."""

    def __init__(self, root: Path, stage: str):
        self.dir = root / "parquet" / stage
        self.stage = stage

    def files(self) -> list[str]:
        if not self.dir.exists():
            return []
        return sorted(str(p) for p in self.dir.glob("batch-*.parquet"))

    def _rel(self, con, code_version: str):
        files = self.files()
        if not files:
            return None
        con.register("_all", con.read_parquet(files, union_by_name=True, filename=True))
        con.execute("CREATE OR REPLACE TEMP TABLE _b AS SELECT * FROM _all WHERE code_version = ?", [code_version])
        return "_b"

    def done(self, code_version: str) -> set[str]:
        con = duckdb.connect()
        try:
            if self._rel(con, code_version) is None:
                return set()
            return {r[0] for r in con.execute("SELECT DISTINCT doc_id FROM _b").fetchall()}
        finally:
            con.close()

    def read(self, code_version: str, doc_ids: list[str] | None = None) -> pd.DataFrame:
        """Rows for the given documents; when a document was written twice, its latest batch wins."""
        con = duckdb.connect()
        try:
            if self._rel(con, code_version) is None:
                return pd.DataFrame()
            con.execute("CREATE OR REPLACE TEMP TABLE _want (doc_id VARCHAR)")
            if doc_ids is not None:
                con.executemany("INSERT INTO _want VALUES (?)", [[d] for d in doc_ids])
            where = "WHERE b.doc_id IN (SELECT doc_id FROM _want)" if doc_ids is not None else ""
            return con.execute(f"""
                WITH latest AS (SELECT doc_id, max(filename) AS f FROM _b GROUP BY doc_id)
                SELECT b.* EXCLUDE (filename) FROM _b b JOIN latest l ON b.doc_id = l.doc_id AND b.filename = l.f
                {where}""").df()
        finally:
            con.close()

    def history(self, code_version: str) -> pd.DataFrame:
        """Every row of every batch, oldest batch first (for logs such as file events, where a
        later batch adds to the earlier ones instead of replacing them)."""
        con = duckdb.connect()
        try:
            if self._rel(con, code_version) is None:
                return pd.DataFrame()
            return con.execute("SELECT * EXCLUDE (filename) FROM _b ORDER BY filename").df()
        finally:
            con.close()

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

    def compact(self, code_version: str, keep_ids: set[str]) -> int:
        """Rewrite the store as one batch holding only current rows; returns files removed."""
        old = self.files()
        if len(old) <= 1:
            return 0
        df = self.read(code_version, sorted(keep_ids))
        new = self.write(df) if not df.empty else None
        for f in old:
            if new is None or f != str(new):
                os.remove(f)
        return len(old)
