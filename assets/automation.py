"""Jobs, the raw-folder sensor and the daily re-ingestion schedule."""
from __future__ import annotations

import os
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

from assets.stages import cleaned_documents, document_sections, metric_mentions, raw_documents
from zhengfa.ingest import folder_signature

ingest_job = define_asset_job(
    "ingest_job", selection=AssetSelection.all(),
    description="Incremental build: only new or changed documents are decoded, cleaned and extracted.")

_STAGES = [raw_documents, cleaned_documents, document_sections, metric_mentions]
full_refresh_job = define_asset_job(
    "full_refresh_job", selection=AssetSelection.all(),
    description="Reprocess every live document through every stage, ignoring stored rows.",
    config={"ops": {a.op.name: {"config": {"full_refresh": True}} for a in _STAGES}})

daily_reingest = ScheduleDefinition(
    name="daily_reingest", job=ingest_job, cron_schedule="0 3 * * *",
    default_status=DefaultScheduleStatus.RUNNING,
    description="Re-ingests the raw folder every day at 03:00.")


def raw_dir_from_env() -> Path:
    from resources import DEFAULT_RAW_DIR, _anchored

    return Path(_anchored(os.environ.get("ZHENGFA_RAW_DIR") or str(DEFAULT_RAW_DIR)))


def make_raw_folder_sensor(raw_dir: Path | str | None = None):
    """The sensor watching `raw_dir` (default: ZHENGFA_RAW_DIR or the bundled sample, read at each tick).

    make_definitions passes the folder its corpus resource reads, so the sensor and the runs it
    requests always look at the same place.
    """
    @sensor(name="raw_folder_sensor", job=ingest_job, minimum_interval_seconds=30,
            default_status=DefaultSensorStatus.RUNNING,
            description="Requests an incremental run when files are added, changed or removed in the raw folder.")
    def raw_folder_sensor(context: SensorEvaluationContext):
        folder = Path(raw_dir) if raw_dir is not None else raw_dir_from_env()
        signature = folder_signature(folder)
        if signature == context.cursor:
            failed = _last_run_failed(context)
            if failed is not None:
                # the run this sensor requested for the current folder failed: ask once more
                # (the run key makes Dagster drop further requests for the same failed run)
                return RunRequest(run_key=f"retry-{failed}",
                                  tags={"zhengfa/trigger": "raw_folder_sensor", "zhengfa/retry_of": failed})
            return SkipReason(f"no change in {folder}")
        context.update_cursor(signature)
        # No run key: the cursor already deduplicates, and a folder can come back to an earlier
        # state (a file moved out and back in keeps its mtime); Dagster would drop a request whose
        # key an earlier run of this sensor used, leaving the warehouse stale. Runs are idempotent.
        return RunRequest(tags={"zhengfa/trigger": "raw_folder_sensor",
                                "zhengfa/folder_signature": signature[:16]})

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
