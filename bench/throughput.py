"""Throughput figures for the benchmark: each text stage alone, jieba.posseg over the same text,
the memory of the whole process tree, and the SQL views over a million metric rows.

Stage figures are CPU seconds of one process (MB/s per core), each stage timed from cold
memos (zhengfa.pipeline.clear_memos) on documents it has not seen, with the dictionaries
loaded beforehand; MB are UTF-8 megabytes of decoded input text.
"""
from __future__ import annotations

import os
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def stage_throughput(texts: list[str]) -> dict:
    """Each text stage alone over `texts`, and jieba.posseg over the same text."""
    import hashlib
    import logging

    from zhengfa import parallel, pipeline

    parallel.warm()
    mb = sum(len(t.encode("utf-8")) for t in texts) / 1e6
    cpu = time.process_time
    out: dict = {"documents": len(texts), "mb": round(mb, 3)}

    pipeline.clear_memos()
    t0 = cpu()
    docs = [pipeline.clean_stage(hashlib.sha256(t.encode()).hexdigest(), t) for t in texts]
    clean_s = cpu() - t0
    pipeline.clear_memos()
    t0 = cpu()
    secs = [pipeline.section_stage(d) for d in docs]
    section_s = cpu() - t0
    pipeline.clear_memos()
    t0 = cpu()
    for d, s in zip(docs, secs):
        pipeline.metric_stage(d, s)
    metric_s = cpu() - t0
    total = clean_s + section_s + metric_s
    # what a build does: each document through every stage in one pass (parallel.text_task)
    pipeline.clear_memos()
    t0 = cpu()
    parallel.text_task([(hashlib.sha256(t.encode()).hexdigest(), t, None) for t in texts])
    one_pass_s = cpu() - t0

    import jieba
    import jieba.posseg

    jieba.setLogLevel(logging.WARNING)
    jieba.posseg.lcut("刑事警情同比下降")  # dictionary loaded before timing
    t0 = cpu()
    for t in texts:
        jieba.posseg.lcut(t)
    posseg_s = cpu() - t0

    def rate(s):
        return round(mb / s, 2) if s else None

    out["stages"] = {
        "clean": {"cpu_s": round(clean_s, 2), "mb_per_s_per_core": rate(clean_s)},
        "sections": {"cpu_s": round(section_s, 2), "mb_per_s_per_core": rate(section_s)},
        "metrics": {"cpu_s": round(metric_s, 2), "mb_per_s_per_core": rate(metric_s)},
        "all text stages": {"cpu_s": round(total, 2), "mb_per_s_per_core": rate(total)},
        "one pass (as built)": {"cpu_s": round(one_pass_s, 2), "mb_per_s_per_core": rate(one_pass_s)},
    }
    out["jieba_posseg"] = {"cpu_s": round(posseg_s, 2), "mb_per_s_per_core": rate(posseg_s)}
    for v in out["stages"].values():
        v["x_posseg"] = round(posseg_s / v["cpu_s"], 1) if v["cpu_s"] else None
    return out


# ---------------------------------------------------------------- memory of the process tree

def _tree(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def _mem_kb(pid: int) -> tuple[int, int]:
    """(RSS, PSS) of a process in KiB; PSS splits pages shared between processes."""
    rss = pss = 0
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Rss:"):
                    rss = int(line.split()[1])
                elif line.startswith("Pss:"):
                    pss = int(line.split()[1])
    except OSError:
        pass
    return rss, pss


class TreeMemory:
    """Samples the memory of this process and its descendants (the worker pool) in the
    background; peaks in MB: this process's RSS, the largest worker's RSS, and the tree's total
    PSS (shared pages counted once)."""

    def __init__(self, interval_s: float = 0.25):
        self.interval_s = interval_s
        self.peak_main_rss = self.peak_worker_rss = self.peak_tree_pss = 0.0
        self.main_samples: list[tuple[float, float]] = []  # (time.time(), this process's RSS in MB)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def sample(self) -> None:
        me = os.getpid()
        total_pss = 0
        for pid in _tree(me):
            rss, pss = _mem_kb(pid)
            total_pss += pss
            if pid == me:
                self.peak_main_rss = max(self.peak_main_rss, rss / 1024)
                self.main_samples.append((time.time(), rss / 1024))
            else:
                self.peak_worker_rss = max(self.peak_worker_rss, rss / 1024)
        self.peak_tree_pss = max(self.peak_tree_pss, total_pss / 1024)

    def reset(self) -> None:
        self.peak_main_rss = self.peak_worker_rss = self.peak_tree_pss = 0.0
        self.main_samples = []

    def main_peaks_by_step(self, intervals: dict[str, tuple[float, float]]) -> dict[str, int]:
        """The Dagster process's peak RSS (MB) during each step, largest first."""
        out = {step: round(max((m for t, m in self.main_samples if a <= t <= b), default=0))
               for step, (a, b) in intervals.items()}
        return dict(sorted(out.items(), key=lambda kv: -kv[1]))

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.sample()

    def start(self) -> "TreeMemory":
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join()

    def peaks(self) -> dict:
        return {"main_rss_mb": round(self.peak_main_rss), "largest_worker_rss_mb": round(self.peak_worker_rss),
                "tree_pss_mb": round(self.peak_tree_pss)}


# ---------------------------------------------------------------- the views over 1M metric rows

def views_over(duckdb_path: Path, rows: int = 1_000_000, repeats: int = 3) -> dict:
    """The dbt_like_sql views over a metrics table of at least `rows` rows: the warehouse's
    metrics repeated, each copy with its own regions and documents (so groups multiply as they
    would with more places), in an in-memory database. Best of `repeats` full fetches; a relation
    stored as a table also reports the time its build took (paid by a run that changes metrics)."""
    import duckdb

    con = duckdb.connect()
    try:
        con.execute("SET enable_progress_bar = false")
        con.execute(f"ATTACH '{duckdb_path}' AS wh (READ_ONLY)")
        base = con.execute("SELECT count(*) FROM wh.metrics").fetchone()[0]
        if not base:
            return {"rows": 0}
        copies = -(-rows // base)
        con.execute(f"""CREATE TABLE metrics AS
            SELECT m.* REPLACE (m.metric_id || '#' || k AS metric_id, m.doc_id || '#' || k AS doc_id,
                                m.region || CASE WHEN k = 0 THEN '' ELSE '#' || k END AS region)
            FROM wh.metrics m, range({copies}) r(k)""")
        # the gazetteer's regions, one copy per metrics copy (the roll-ups join on them)
        con.execute(f"""CREATE TABLE regions AS
            SELECT g.* REPLACE (g.region || CASE WHEN k = 0 THEN '' ELSE '#' || k END AS region,
                                g.parent || CASE WHEN k = 0 THEN '' ELSE '#' || k END AS parent)
            FROM wh.regions g, range({copies}) r(k)""")
        con.execute("CREATE TABLE indicators AS SELECT * FROM wh.indicators")
        con.execute("DETACH wh")
        n = con.execute("SELECT count(*) FROM metrics").fetchone()[0]
        out = {"rows": int(n), "views": {}}
        # each relation is created as the warehouse creates it (a view, or a stored table for a SQL
        # file marked `materialized: table`, whose build is timed apart), once what it reads exists
        from zhengfa.relations import create_relation

        files = {p.stem: p.read_text(encoding="utf-8") for p in sorted((ROOT / "dbt_like_sql").glob("*.sql"))}
        waiting = dict(files)
        created: list[str] = []
        builds: dict[str, float] = {}
        while waiting:
            progress = False
            for name, sql in list(waiting.items()):
                t0 = time.perf_counter()
                try:
                    if create_relation(con, name, sql, files).wrote:
                        builds[name] = time.perf_counter() - t0
                except duckdb.CatalogException:
                    continue
                created.append(name)
                del waiting[name]
                progress = True
            if not progress:
                for name in waiting:
                    out["views"][name] = {"error": "reads a relation the benchmark does not build"}
                break
        for name in sorted(created):
            best, result_rows = None, 0
            try:
                for _ in range(repeats):
                    t0 = time.perf_counter()
                    result_rows = con.sql(f'SELECT * FROM "{name}"').to_arrow_table().num_rows
                    dt = time.perf_counter() - t0
                    best = dt if best is None else min(best, dt)
            except duckdb.Error as e:
                out["views"][name] = {"error": str(e).splitlines()[0]}
                continue
            out["views"][name] = {"seconds": round(best, 3), "result_rows": int(result_rows)}
            if name in builds:
                out["views"][name]["stored_table_build_s"] = round(builds[name], 3)
        return out
    finally:
        con.close()
