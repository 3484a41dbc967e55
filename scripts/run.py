"""`make run`: materialize every asset through the ingest job, then print a summary."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--full-refresh", action="store_true", help="reprocess every document")
    args = ap.parse_args()
    import duckdb
    from dagster import DagsterInstance

    from definitions import defs
    from zhengfa.store import writer_lock

    job = defs.resolve_job_def("full_refresh_job" if args.full_refresh else "ingest_job")
    quiet = {"loggers": {"console": {"config": {"log_level": "INFO"}}}}  # step logs, not every event
    result = job.execute_in_process(instance=_instance(DagsterInstance), run_config=quiet)
    if not result.success:
        print("run failed", file=sys.stderr)
        return 1
    wh = defs.resources["warehouse"]
    # Read under the writer lock: DuckDB refuses to open a file another process is writing
    # (e.g. a second `make run` or the sensor's run rebuilding the tables right now).
    with writer_lock(wh.path), duckdb.connect(str(wh.duckdb_path), read_only=True) as con:
        _summary(con, wh.duckdb_path)
    return 0


def _instance(DagsterInstance):
    """DagsterInstance.get(), one process at a time: on a fresh DAGSTER_HOME, two runs started
    together would both create the SQLite storage tables and one would fail ("table runs already exists")."""
    import fcntl
    import os

    home = os.environ.get("DAGSTER_HOME")
    if not home:
        return DagsterInstance.get()  # raises Dagster's own explanation
    Path(home).mkdir(parents=True, exist_ok=True)
    with open(Path(home) / ".zhengfa-instance.lock", "a+") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            return DagsterInstance.get()
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def _summary(con, duckdb_path) -> None:
    print(f"\nwarehouse: {duckdb_path}")
    for t in ("documents", "sections", "metrics", "rejected_documents", "duplicate_files"):
        print(f"  {t:20} {con.execute(f'SELECT count(*) FROM {t}').fetchone()[0]:>8}")
    print("\nmetrics by kind:")
    print(con.execute("SELECT kind, count(*) n FROM metrics GROUP BY kind ORDER BY n DESC").df().to_string(index=False))
    print("\nsample rows:")
    print(con.execute("""SELECT source_file, quote, kind, value, unit, subject, region, period_end AS year
                         FROM metrics ORDER BY source_file, char_start LIMIT 8""").df().to_string(index=False))
    rej = con.execute("SELECT file_name, reason FROM rejected_documents").df()
    if not rej.empty:
        print("\nrejected files:")
        print(rej.to_string(index=False))


if __name__ == "__main__":
    sys.exit(main())
