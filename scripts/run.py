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

    job = defs.resolve_job_def("full_refresh_job" if args.full_refresh else "ingest_job")
    result = job.execute_in_process(instance=DagsterInstance.get())
    if not result.success:
        print("run failed", file=sys.stderr)
        return 1
    wh = defs.resources["warehouse"]
    con = duckdb.connect(str(wh.duckdb_path), read_only=True)
    try:
        print(f"\nwarehouse: {wh.duckdb_path}")
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
    finally:
        con.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
