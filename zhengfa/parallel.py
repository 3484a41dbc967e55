"""The text stages over batches of documents, on every core: a process pool of plain workers.

Workers import only zhengfa (never Dagster), load the dictionaries once when they start, and
return plain rows; the caller alone writes. A document whose processing raises is reported as a
failure with its error, and its batch goes on. With one worker (or little work) everything runs
in the calling process, with the same functions and the same results.
"""
from __future__ import annotations

import atexit
import multiprocessing
import os
import threading
import time
import traceback
from collections import deque
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator

import pyarrow as pa

from zhengfa import decode, pipeline

# ---------------------------------------------------------------- the work of one task


_warmed = False


def warm() -> None:
    """Load what every document needs (gazetteer and its scan tables, jieba with the domain
    dictionary, OpenCC, the rule files), so the first document pays nothing extra. Once per
    process (a worker forked from a warm server process inherits it)."""
    global _warmed
    if _warmed:
        return
    _warmed = True
    pipeline.process_text("warm-up", "厦门市同安区2023年破获电信诈骗案件120起，同比下降12.5%，全市第一。\n"
                                     "一、平安建设\n思明区莲前街道派出所新建8个警务站。")
    pipeline.clear_memos()


def start_worker(owner: int) -> None:
    """A worker's initializer: load the dictionaries, and leave when the process that owns the
    pool is gone (killed with no chance to stop its workers, they would wait for work forever)."""
    warm()

    def watch() -> None:
        while True:
            time.sleep(1.0)
            try:
                os.kill(owner, 0)
            except ProcessLookupError:
                os._exit(0)
            except PermissionError:
                pass

    threading.Thread(target=watch, name="owner-watch", daemon=True).start()


@dataclass
class TextResult:
    """One document through the text stages: each stage's rows, None from the stage that failed on."""
    doc_id: str
    document: dict | None = None
    sections: list[dict] | None = None
    metrics: list[dict] | None = None

    def rows(self, stage: str):
        return {"documents": self.document, "sections": self.sections, "metrics": self.metrics}[stage]


def text_task(items: list[tuple[str, str, dict | None]]) -> tuple[list[TextResult], list[tuple[str, str]]]:
    """(doc_id, decoded text, page metadata) → every text stage of each document in one pass (the
    clauses each stage reads stay in this worker's memos), failures as (doc_id, "stage: error")."""
    results, failed = [], []
    for doc_id, text, meta in items:
        r = TextResult(doc_id)
        results.append(r)
        stage = "documents"  # the stage being run, named by its store
        try:
            r.document = pipeline.clean_stage(doc_id, text, meta)
            stage = "sections"
            r.sections = pipeline.section_stage(r.document)
            stage = "metrics"
            r.metrics = pipeline.metric_stage(r.document, r.sections)
        except Exception as e:  # noqa: BLE001 - one bad document must not stop the others
            failed.append((doc_id, f"{stage}: {_describe(e)}"))
    return results, failed


# the store of each text stage → the column that is null on a marker row (a document without rows)
STAGE_ROW_IDS = {"documents": None, "sections": "section_id", "metrics": "metric_id"}


@dataclass
class StageTable:
    """A task's rows of one stage as one Arrow table, and the documents the stage finished (a
    document that finished without rows has a marker row: doc_id and a null row id)."""
    done: list[str]
    table: pa.Table | None


def stage_tables(results: list[TextResult]) -> dict[str, StageTable]:
    """Per-document results → one table per stage, built where the rows were made: the process
    that writes receives columns (cheap to send, ready to write), not a dict per row."""
    out = {}
    for stage, id_column in STAGE_ROW_IDS.items():
        rows, done, empty = [], [], []
        for r in results:
            produced = r.rows(stage)
            if produced is None:
                continue  # the document failed before or in this stage
            done.append(r.doc_id)
            if stage == "documents":
                rows.append(produced)
            elif produced:
                rows.extend(produced)
            else:
                empty.append(r.doc_id)
        rows.extend({"doc_id": d, id_column: None} for d in sorted(empty))
        out[stage] = StageTable(done, pa.Table.from_pylist(rows) if rows else None)
    return out


def text_tables_task(items: list[tuple[str, str, dict | None]]) -> tuple[list[dict[str, StageTable]],
                                                                         list[tuple[str, str]]]:
    """text_task, with each stage's rows packed as a table (what a build's workers return)."""
    results, failed = text_task(items)
    return [stage_tables(results)], failed


def decode_task(items: list[tuple[bytes, int | None]]) -> tuple[list[decode.Decoded], list]:
    """Files' bytes → Decoded, in order (a decoder error rejects only its file)."""
    return [decode.decode_or_reject(data, max_bytes) for data, max_bytes in items], []


def decode_with(runner: "Runner") -> Callable[[list[bytes], int | None], list[decode.Decoded]]:
    """A decoder for ingest.scan that spreads the files over the runner's workers."""
    def decode_many(datas: list[bytes], max_bytes: int | None) -> list[decode.Decoded]:
        items = [(d, max_bytes) for d in datas]
        return [d for out in runner.run(decode_task, [(list(range(len(items))), items)], total=len(items))
                for d in out.rows]
    return decode_many


def _describe(e: BaseException) -> str:
    frame = traceback.extract_tb(e.__traceback__)[-1] if e.__traceback__ else None
    where = f" at {os.path.basename(frame.filename)}:{frame.lineno}" if frame else ""
    return f"{type(e).__name__}: {e}{where}"[:500]


# ---------------------------------------------------------------- running tasks


def default_workers() -> int:
    """Usable cores (ZHENGFA_WORKERS overrides; 0 or unset: every core this process may use)."""
    env = os.environ.get("ZHENGFA_WORKERS", "").strip()
    if env and int(env) > 0:
        return int(env)
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


@dataclass
class Outcome:
    ids: list[str]  # the documents of the chunk
    rows: list = field(default_factory=list)  # what the task returned for them
    failed: list[tuple[str, str]] = field(default_factory=list)


class Runner:
    """Maps a task function over chunks of work, in worker processes or in this one.

    `run(task, chunks)` takes an iterable of chunks (each a list of items, read lazily by the
    caller) and yields one Outcome per chunk, in order. Each chunk is cut into tasks of
    `task_size` items spread over the workers; while they work, the next chunk is read, so at
    most `ahead` + 1 chunks are held at once.
    """

    def __init__(self, workers: int | None = None, task_size: int = 16, ahead: int = 1,
                 serial_below: int = 8):
        self.workers = workers if workers and workers > 0 else default_workers()
        self.task_size = max(1, task_size)
        self.ahead = max(0, ahead)
        self.serial_below = serial_below
        self._pool: ProcessPoolExecutor | None = None

    def __enter__(self) -> "Runner":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def _get_pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            # forkserver: workers start from a fresh interpreter that imported zhengfa (not from a
            # copy of a threaded Dagster process), and each loads the dictionaries once
            ctx = multiprocessing.get_context("forkserver")
            ctx.set_forkserver_preload(["zhengfa._warm"])
            self._pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=ctx, initializer=start_worker,
                                             initargs=(os.getpid(),))
        return self._pool

    def in_process(self, total: int | None) -> bool:
        """Whether `total` documents (None: unknown) run in this process: one worker, or too
        little work to be worth a pool."""
        return self.workers <= 1 or (total is not None and total < self.serial_below)

    def run(self, task: Callable[[list], tuple[list, list]], chunks: Iterable[tuple[list[str], list]],
            total: int | None = None) -> Iterator[Outcome]:
        """`chunks`: (document ids, task items) pairs; `total`: the number of documents to come,
        if known (little work runs in this process)."""
        if self.in_process(total):
            for ids, items in chunks:
                rows, failed = task(items) if items else ([], [])
                yield Outcome(ids, rows, failed)
            return
        pool = self._get_pool()
        pending: deque[tuple[list[str], list[Future]]] = deque()
        for ids, items in chunks:
            size = self._split(len(items))
            pending.append((ids, [pool.submit(task, items[i:i + size]) for i in range(0, len(items), size)]))
            del items
            while len(pending) > self.ahead:
                yield self._collect(*pending.popleft())
        while pending:
            yield self._collect(*pending.popleft())

    def _split(self, n: int) -> int:
        """Task size for a chunk of n items: at least two tasks per worker when there is enough."""
        return max(1, min(self.task_size, -(-n // (2 * self.workers))))

    @staticmethod
    def _collect(ids: list[str], futures: list[Future]) -> Outcome:
        out = Outcome(ids)
        for f in futures:
            rows, failed = f.result()
            out.rows.extend(rows)
            out.failed.extend(failed)
        return out


_shared: dict[int, Runner] = {}


def shared_runner(workers: int | None = None) -> Runner:
    """One runner (and pool) per worker count for the life of this process: the stages of a run
    reuse the same warm workers."""
    n = workers if workers and workers > 0 else default_workers()
    if n not in _shared:
        _shared[n] = Runner(n)
        atexit.register(_shared[n].close)
    return _shared[n]
