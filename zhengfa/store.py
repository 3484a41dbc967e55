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
import sys
import time
import uuid
from pathlib import Path
from typing import Iterator

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq


ROW_GROUP_BYTES = 32 << 20  # a reader holds about one row group of a column at a time
# zstd: Chinese text shrinks some sevenfold where snappy barely shrinks it, and writing the smaller
# file costs less CPU; DuckDB and pyarrow read it at no noticeable cost
COMPRESSION = "zstd"


def _rows_per_group(table: pa.Table | pa.RecordBatch) -> int:
    per_row = table.nbytes / table.num_rows if table.num_rows else 1
    return max(64, int(ROW_GROUP_BYTES / max(per_row, 1)))


def _temporary(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    return path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")


def _publish(tmp: Path, path: Path) -> Path:
    with open(tmp, "rb") as f:
        os.fsync(f.fileno())
    os.replace(tmp, path)
    return path


def _write(df: pd.DataFrame | pa.Table, path: Path) -> None:
    table = df if isinstance(df, pa.Table) else pa.Table.from_pandas(df, preserve_index=False)
    pq.write_table(table, path, row_group_size=_rows_per_group(table), compression=COMPRESSION)


def write_parquet_atomic(df: pd.DataFrame | pa.Table, path: Path) -> Path:
    tmp = _temporary(path)
    _write(df, tmp)
    return _publish(tmp, path)


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

    def missing(self, code_version: str, keys: dict[str, str]) -> set[str]:
        """The documents of `keys` (doc_id → source key) without rows for this code version and
        that source key: a document whose page metadata changed has a new key and is missing.
        Compared inside the Parquet scan: only the missing ids come back to Python."""
        if not keys:
            return set()
        files = self.files()
        if not files:
            return set(keys)
        with duckdb.connect() as con:
            cols = {r[0] for r in con.execute("DESCRIBE SELECT * FROM read_parquet(?, union_by_name=true)",
                                              [files]).fetchall()}
            key = "coalesce(source_key, '')" if "source_key" in cols else "''"
            con.register("_wanted", pa.table({"doc_id": pa.array(list(keys), pa.string()),
                                              "k": pa.array(list(keys.values()), pa.string())}))
            rows = con.execute(f"""SELECT w.doc_id FROM _wanted w ANTI JOIN (
                                     SELECT DISTINCT doc_id, {key} AS k FROM read_parquet(?, union_by_name=true)
                                     WHERE code_version = ? AND doc_id IS NOT NULL) s
                                   ON w.doc_id = s.doc_id AND w.k = s.k""", [files, code_version]).fetchall()
        return {r[0] for r in rows}

    def read(self, code_version: str, doc_ids: list[str] | None = None, columns: list[str] | None = None,
             files: list[str] | None = None) -> pd.DataFrame:
        """Rows for the given documents (all when None); when a document was written twice, its
        latest batch wins. The filters run inside the Parquet scan, so reading a few documents
        costs little however large the store. `columns`: only these (and doc_id, code_version);
        `files`: only these batch files (they must include each document's latest)."""
        files = self.files() if files is None else sorted(files)
        if not files:
            return pd.DataFrame()
        with duckdb.connect() as con:
            want = ""
            if doc_ids is not None:
                con.register("_want", pd.DataFrame({"doc_id": list(doc_ids)}, dtype="string"))
                want = "AND doc_id IN (SELECT doc_id FROM _want)"
            cols = "*"
            if columns is not None:
                have = set(self.schema(files).names)
                cols = ", ".join(f'"{c}"' for c in dict.fromkeys(["doc_id", "code_version", *columns]) if c in have)
                cols += ", filename"
            return con.execute(f"""
                WITH b AS (SELECT {cols} FROM read_parquet(?, union_by_name=true, filename=true)
                           WHERE code_version = ? {want}),
                     latest AS (SELECT doc_id, max(filename) AS f FROM b GROUP BY doc_id)
                SELECT b.* EXCLUDE (filename) FROM b JOIN latest l ON b.doc_id = l.doc_id AND b.filename = l.f
                ORDER BY b.filename""", [files, code_version]).df()

    def latest_files(self, code_version: str, doc_ids=None) -> dict[str, str]:
        """doc_id → the batch file holding its current rows (the latest batch that has it), for
        the given documents (all when None). Reads the id columns only."""
        files = self.files()
        if not files:
            return {}
        with duckdb.connect() as con:
            only = ""
            if doc_ids is not None:  # filtered in the scan: a run adding one document gets one row back
                con.register("_wanted", pa.table({"doc_id": pa.array(list(doc_ids), pa.string())}))
                only = "AND doc_id IN (SELECT doc_id FROM _wanted)"
            rows = con.execute("SELECT doc_id, max(filename) FROM read_parquet(?, union_by_name=true, filename=true) "
                               f"WHERE code_version = ? AND doc_id IS NOT NULL {only} GROUP BY doc_id",
                               [files, code_version]).fetchall()
        # interned: a load holds one of these per store for every new document, and the same ids
        # and the few file names would otherwise be a separate string in each (90 MB at 100,000)
        return {sys.intern(d): sys.intern(f) for d, f in rows}

    def batches(self, code_version: str, doc_ids=None, columns: list[str] | None = None,
                batch_rows: int = 2048) -> Iterator[pa.RecordBatch]:
        """The current rows of the given documents (all when None) as Arrow batches, in one pass
        over the store, a few thousand rows at a time: memory does not grow with the store.
        Every batch has the same schema (the union of the files', or `columns` of it)."""
        latest = self.latest_files(code_version, doc_ids)
        files = sorted(set(latest.values()))
        if not files:
            return
        schema = self.schema(files, columns)
        for f in files:
            pf = pq.ParquetFile(f)
            present = [c for c in schema.names if c in pf.schema_arrow.names]
            for batch in pf.iter_batches(batch_size=batch_rows, columns=present):
                ids = batch.column("doc_id").to_pylist()
                versions = batch.column("code_version").to_pylist() if "code_version" in present else None
                keep = [latest.get(d) == f and (versions is None or versions[i] == code_version)
                        for i, d in enumerate(ids)]
                if not any(keep):
                    continue
                batch = batch.filter(pa.array(keep))
                yield pa.RecordBatch.from_arrays(
                    [batch.column(n).cast(t.type) if n in present else pa.nulls(batch.num_rows, t.type)
                     for n, t in zip(schema.names, schema)], schema=schema)

    def schema(self, files: list[str] | None = None, columns: list[str] | None = None) -> pa.Schema:
        """The union of the batch files' columns (a column that is all null in one file takes its
        type from the others); `columns` (and doc_id, code_version) only, when given."""
        files = self.files() if files is None else files
        merged = pa.unify_schemas([pq.read_schema(f) for f in files], promote_options="permissive")
        if columns is not None:
            want = list(dict.fromkeys(["doc_id", "code_version", *columns]))
            merged = pa.schema([merged.field(c) for c in want if c in merged.names])
        return merged

    def stream(self, code_version: str, doc_ids=None, columns: list[str] | None = None,
               chunk_docs: int = 500) -> Iterator[pd.DataFrame]:
        """The current rows of the given documents as DataFrames of about `chunk_docs` documents
        each (a document's rows stay in one frame), in one pass over the store."""
        parts: list[pa.RecordBatch] = []
        docs: set[str] = set()
        for batch in self.batches(code_version, doc_ids, columns):
            ids = batch.column("doc_id").to_pylist()
            run_start = 0
            for i in range(1, len(ids) + 1):
                if i < len(ids) and ids[i] == ids[run_start]:
                    continue
                if ids[run_start] not in docs and len(docs) >= chunk_docs:
                    yield pa.Table.from_batches(parts).to_pandas()
                    parts, docs = [], set()
                parts.append(batch.slice(run_start, i - run_start))
                docs.add(ids[run_start])
                run_start = i
        if parts:
            yield pa.Table.from_batches(parts).to_pandas()

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

    def write_pending(self, df: pd.DataFrame) -> tuple[Path, Path]:
        """Write a batch under a temporary name (invisible to readers, removed by
        remove_stale_temporaries if never published): (temporary, final name)."""
        final = self._batch_path()
        tmp = _temporary(final)
        _write(df, tmp)
        return tmp, final

    @staticmethod
    def publish(pending: list[tuple[Path, Path]]) -> None:
        for tmp, final in pending:
            _publish(tmp, final)

    @staticmethod
    def discard(pending: list[tuple[Path, Path]]) -> None:
        for tmp, _ in pending:
            tmp.unlink(missing_ok=True)

    def write(self, df: pd.DataFrame | pa.Table) -> Path | None:
        if (df.num_rows == 0) if isinstance(df, pa.Table) else df.empty:
            return None
        # One clock reading for the whole stamp (UTC), so names sort in write order: "latest
        # batch wins" in read() compares names.
        return write_parquet_atomic(df, self._batch_path())

    def _batch_path(self) -> Path:
        ns = time.time_ns()
        stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime(ns // 10**9))
        return self.dir / f"batch-{stamp}-{ns % 10**9:09d}-{uuid.uuid4().hex[:6]}.parquet"

    def compact(self, code_version: str, keep_ids: set[str], min_files: int = 2, small_bytes: int | None = None) -> int:
        """Merge the small batches into one holding their documents' current rows (this code
        version, live documents); returns the number of files replaced. `small_bytes`: batches
        under this size are small (one incremental run's); the others (a build's chunks) are left
        as written, so a load that reads a few chunks' files per group of documents never finds
        the whole store merged into one file it must scan each time. None: every batch is small,
        and the store becomes one batch. Streams batch by batch, so memory does not grow with the
        store. Call while holding the writer lock."""
        old = self.files()
        small = old if small_bytes is None else [f for f in old if os.path.getsize(f) < small_bytes]
        if len(old) < 2 or len(small) < max(2, min_files):
            return 0
        wanted = keep_ids
        if len(small) < len(old):  # only the documents whose current rows sit in a small batch
            merged = set(small)
            wanted = {d for d, f in self.latest_files(code_version).items() if f in merged and d in keep_ids}
        new = self._batch_path()
        tmp = _temporary(new)
        writer = None
        try:
            for batch in self.batches(code_version, wanted):
                if writer is None:
                    writer = pq.ParquetWriter(tmp, batch.schema, compression=COMPRESSION)
                writer.write_batch(batch, row_group_size=_rows_per_group(batch))
        finally:
            if writer is not None:
                writer.close()
        if writer is not None:
            _publish(tmp, new)
        for f in small:
            os.remove(f)
        return len(small)

