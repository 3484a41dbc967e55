"""`make run`: materialize every asset through the ingest job, then print a summary.

Runs without `make` too: DAGSTER_HOME defaults to the project's dagster_home/.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TRUE, FALSE = {"1", "true", "yes", "on"}, {"", "0", "false", "no", "off"}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--full-refresh", action="store_true", help="reprocess every document")
    ap.add_argument("--allow-mass-removal", action="store_true",
                    help="apply a scan that removes more documents than the limits allow, or all of them "
                         "(also ZHENGFA_ALLOW_MASS_REMOVAL=1)")
    args = ap.parse_args()
    allow_env = os.environ.get("ZHENGFA_ALLOW_MASS_REMOVAL", "").strip().lower()
    if allow_env not in TRUE | FALSE:
        print(f"ZHENGFA_ALLOW_MASS_REMOVAL={allow_env!r}: expected 1 or 0", file=sys.stderr)
        return 2
    allow = args.allow_mass_removal or allow_env in TRUE
    if not os.environ.get("DAGSTER_HOME"):
        os.environ["DAGSTER_HOME"] = str(ROOT / "dagster_home")
        print(f"DAGSTER_HOME not set: using {os.environ['DAGSTER_HOME']}", file=sys.stderr)
    import duckdb
    from dagster import DagsterInstance

    from definitions import defs
    from zhengfa.store import writer_lock

    job = defs.resolve_job_def("full_refresh_job" if args.full_refresh else "ingest_job")
    run_config = {"loggers": {"console": {"config": {"log_level": "INFO"}}}}  # step logs, not every event
    if allow:  # the op's whole config: a partial one would drop full_refresh_job's own
        op_config = {"allow_mass_removal": True, **({"full_refresh": True} if args.full_refresh else {})}
        run_config["ops"] = {"raw_documents": {"config": op_config}}
    result = job.execute_in_process(instance=_instance(DagsterInstance), run_config=run_config,
                                    raise_on_error=False)
    if not result.success:
        print("run failed:", file=sys.stderr)
        for message in _failures(result):
            print(f"  {message}", file=sys.stderr)
        return 1
    wh = defs.resources["warehouse"]
    # Read under the writer lock: DuckDB refuses to open a file another process is writing
    # (e.g. a second `make run` or the sensor's run rebuilding the tables right now).
    with writer_lock(wh.path), duckdb.connect(str(wh.duckdb_path), read_only=True) as con:
        _summary(con, wh.duckdb_path)
    return 0


def _failures(result) -> list[str]:
    """The message of each failed step (a refusal's own text, else the error), or the run's failure."""
    out = []
    for event in result.all_events:
        if event.is_step_failure:
            data = event.step_failure_data
            if data.user_failure_data is not None and data.user_failure_data.description:
                out.append(f"{event.step_key}: {data.user_failure_data.description}")
            elif data.error is not None:
                out.append(f"{event.step_key}: {data.error.message.strip()}")
    if not out:
        out = [e.message for e in result.all_events if e.is_failure and e.message]
    return out or ["(no failure message)"]


def _instance(DagsterInstance):
    """DagsterInstance.get(), one process at a time: on a fresh DAGSTER_HOME, two runs started
    together would both create the SQLite storage tables and one would fail ("table runs already exists")."""
    import fcntl

    home = os.environ["DAGSTER_HOME"]
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
