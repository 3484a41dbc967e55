"""The zhengfa code location: every asset, check, job, sensor and schedule in one Definitions."""
from __future__ import annotations

from dagster import Definitions, in_process_executor

from assets.analytics import indicator_chart, provenance_pages, warehouse_snapshot
from assets.automation import daily_reingest, full_refresh_job, ingest_job, make_raw_folder_sensor
from assets.stages import raw_documents, text_stages
from assets.warehouse import view_assets, warehouse_tables
from resources import build_resources


def make_definitions(raw_dir: str | None = None, warehouse_dir: str | None = None,
                     max_bytes: int | None = None) -> Definitions:
    resources = build_resources(raw_dir, warehouse_dir, max_bytes)
    return Definitions(
        assets=[raw_documents, text_stages, warehouse_tables,
                *view_assets(), indicator_chart, provenance_pages, warehouse_snapshot],
        jobs=[ingest_job, full_refresh_job],
        # the sensor watches the folder the corpus resource reads, for the warehouse the runs write
        sensors=[make_raw_folder_sensor(resources["corpus"].path, resources["warehouse"].path,
                                        resources["corpus"].removal_limits)],
        schedules=[daily_reingest],
        resources=resources,
        # One writer at a time on the DuckDB file and the Parquet store: steps run in one process.
        executor=in_process_executor,
    )


defs = make_definitions()
