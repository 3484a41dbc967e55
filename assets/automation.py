"""Jobs, the raw-folder sensor and the daily re-ingestion schedule."""
from __future__ import annotations

from pathlib import Path

from dagster import (
    DagsterRunStatus,
    RunsFilter,
    AssetSelection,
    DefaultScheduleStatus,
    DefaultSensorStatus,
    RunRequest,
    ScheduleDefinition,
    SensorEvaluationContext,
    SkipReason,
    define_asset_job,
    sensor,
)

from assets.stages import raw_documents, read_manifest, text_stages
from zhengfa import guard
from zhengfa.ingest import folder_signature

ingest_job = define_asset_job(
    "ingest_job", selection=AssetSelection.all(),
    description="Incremental build: only new or changed documents are decoded, cleaned and extracted.")

_STAGES = [raw_documents, text_stages]
full_refresh_job = define_asset_job(
    "full_refresh_job", selection=AssetSelection.all(),
    description="Reprocess every live document through every stage, ignoring stored rows.",
    config={"ops": {a.op.name: {"config": {"full_refresh": True}} for a in _STAGES}})

daily_reingest = ScheduleDefinition(
    name="daily_reingest", job=ingest_job, cron_schedule="0 3 * * *",
    default_status=DefaultScheduleStatus.RUNNING,
    description="Re-ingests the raw folder every day at 03:00.")


def make_raw_folder_sensor(raw_dir: Path | str | None = None, warehouse_dir: Path | str | None = None,
                           limits: guard.RemovalLimits | None = None):
    """The sensor watching `raw_dir` for the warehouse in `warehouse_dir` (defaults: ZHENGFA_RAW_DIR,
    ZHENGFA_WAREHOUSE_DIR and the mass-removal limits from the environment, read at each tick).

    make_definitions passes the folder its corpus resource reads, the warehouse it writes and the
    corpus resource's limits, so the sensor and the runs it requests look at the same places.
    """
    @sensor(name="raw_folder_sensor", job=ingest_job, minimum_interval_seconds=30,
            default_status=DefaultSensorStatus.RUNNING,
            description="Requests an incremental run when files are added, changed or removed in the raw folder; "
                        "skips, with the reason, when the folder is missing or unreadable or the change would "
                        "remove too many documents at once.")
    def raw_folder_sensor(context: SensorEvaluationContext):
        from resources import build_resources

        env = build_resources() if raw_dir is None or warehouse_dir is None or limits is None else None
        folder = Path(raw_dir) if raw_dir is not None else env["corpus"].path
        wh = Path(warehouse_dir) if warehouse_dir is not None else env["warehouse"].path
        # The cursor is left as it was on every skip below, so the sensor looks again at the next tick.
        problem = guard.folder_problem(folder)
        if problem:
            return SkipReason(f"{problem}; no run requested")
        signature = folder_signature(folder)
        if signature == context.cursor:
            failed = _last_run_failed(context)
            if failed is None:
                return SkipReason(f"no change in {folder}")
            # the run this sensor requested for the current folder failed: ask once more
            # (the run key makes Dagster drop further requests for the same failed run)
            request = RunRequest(run_key=f"retry-{failed}",
                                 tags={"zhengfa/trigger": "raw_folder_sensor", "zhengfa/retry_of": failed})
        else:
            # No run key: the cursor already deduplicates, and a folder can come back to an earlier
            # state (a file moved out and back in keeps its mtime); Dagster would drop a request whose
            # key an earlier run of this sensor used, leaving the warehouse stale. Runs are idempotent.
            request = RunRequest(tags={"zhengfa/trigger": "raw_folder_sensor",
                                       "zhengfa/folder_signature": signature[:16]})
        # A run the guard would refuse is not requested: the listing (no file read) against the
        # stored manifest never counts more removals than the run's scan.
        previous = read_manifest(wh)
        verdict = guard.removal_verdict(previous, guard.listing_manifest(folder, previous),
                                        limits if limits is not None else env["corpus"].removal_limits)
        if verdict.refused:
            return SkipReason(f"no run requested: {verdict.message(folder)}")
        if signature != context.cursor:
            context.update_cursor(signature)
        return request

    return raw_folder_sensor


def _last_run_failed(context: SensorEvaluationContext) -> str | None:
    """The id of this sensor's latest run when that run failed, else None."""
    if context.instance is None:
        return None
    runs = context.instance.get_runs(filters=RunsFilter(tags={"zhengfa/trigger": "raw_folder_sensor"}), limit=1)
    if runs and runs[0].status == DagsterRunStatus.FAILURE:
        return runs[0].run_id
    return None


raw_folder_sensor = make_raw_folder_sensor()
