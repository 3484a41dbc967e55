"""Incremental ingestion driven by the raw-folder sensor (issue 4).

One scenario, in order: each step changes the raw folder, evaluates the sensor with its cursor,
runs ingest_job for each RunRequest, then inspects the warehouse and what the stages processed.
"""
from __future__ import annotations

import hashlib
import os
import shutil

import pandas as pd
import pytest
from dagster import DefaultScheduleStatus, DefaultSensorStatus, RunRequest, build_sensor_context

from assets.stages import TEXT_VERSION
from tests.conftest import SAMPLES, copy_samples, count, make_defs, materialization_metadata, query, run_job
from zhengfa.store import StageStore


def sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class Harness:
    """The sensor and the job of one code location, with the sensor's cursor carried across ticks."""

    def __init__(self, raw, wh, instance):
        self.raw, self.wh, self.instance = raw, wh, instance
        self.defs = make_defs(raw, wh)
        self.sensor = self.defs.resolve_sensor_def("raw_folder_sensor")
        self.cursor = None
        self.results = []
        self.run_keys = set()

    def tick(self):
        ctx = build_sensor_context(instance=self.instance, cursor=self.cursor, sensor_name=self.sensor.name,
                                   definitions=self.defs)
        data = self.sensor.evaluate_tick(ctx)
        self.cursor = data.cursor
        return data

    def tick_and_run(self, expect_run: bool = True):
        data = self.tick()
        if not expect_run:
            assert not data.run_requests, "sensor requested a run although nothing changed"
            assert data.skip_message
            return None
        assert len(data.run_requests) == 1, data.skip_message
        request: RunRequest = data.run_requests[0]
        assert request.job_name in (None, "ingest_job")
        # Dagster drops a request whose run key an earlier run of the sensor used
        assert request.run_key is None or request.run_key not in self.run_keys, "repeated run key"
        self.run_keys.add(request.run_key)
        result = run_job(self.raw, self.wh, defs=self.defs, instance=self.instance,
                         run_config=request.run_config, tags=request.tags)
        self.results.append(result)
        return result

    def processed(self, result) -> dict[str, int]:
        return {
            "decoded": materialization_metadata(result, "raw_documents")["newly_decoded"],
            "cleaned": materialization_metadata(result, "cleaned_documents")["processed"],
            "sections": materialization_metadata(result, "document_sections")["processed_documents"],
            "metrics": materialization_metadata(result, "metric_mentions")["processed_documents"],
        }

    def docs(self) -> pd.DataFrame:
        return query(self.wh, "SELECT doc_id, source_file, path FROM documents ORDER BY source_file")

    def doc_ids(self, table: str) -> set[str]:
        return set(query(self.wh, f"SELECT DISTINCT doc_id FROM {table}")["doc_id"])

    def events(self, event: str) -> pd.DataFrame:
        return query(self.wh, "SELECT * FROM file_events WHERE event = ? ORDER BY event_at", [event])

    def batches(self, stage: str) -> list[str]:
        return StageStore(self.wh, stage).files()


@pytest.fixture(scope="module")
def harness(tmp_path_factory):
    from dagster import DagsterInstance

    tmp = tmp_path_factory.mktemp("incremental")
    raw = copy_samples(tmp / "raw", SAMPLES[:3])
    with DagsterInstance.ephemeral() as instance:
        yield Harness(raw, tmp / "wh", instance)


# The tests below share the harness and run in file order, each building on the previous state.

def test_a_first_tick_requests_a_run_that_builds_everything(harness):
    result = harness.tick_and_run()
    assert harness.processed(result) == {"decoded": 3, "cleaned": 3, "sections": 3, "metrics": 3}
    assert count(harness.wh, "documents") == 3
    assert harness.doc_ids("documents") == {sha(p) for p in harness.raw.iterdir()}
    assert harness.doc_ids("metrics") == harness.doc_ids("documents")
    assert len(harness.events("added")) == 3


def test_b_sensor_skips_when_nothing_changed(harness):
    before = harness.cursor
    data = harness.tick()
    assert not data.run_requests
    assert data.skip_message and "no change" in data.skip_message
    assert harness.cursor == before
    # reading the files (no write) changes nothing either
    for p in harness.raw.iterdir():
        p.read_bytes()
    harness.tick_and_run(expect_run=False)


def test_a_run_without_changes_processes_nothing(harness, monkeypatch):
    import assets.warehouse as warehouse_assets

    read = []
    original = warehouse_assets._file_events
    monkeypatch.setattr(warehouse_assets, "_file_events", lambda wh: read.append(1) or original(wh))
    batches = {s: harness.batches(s) for s in ("raw", "documents", "sections", "metrics", "file_events")}
    metrics_before = count(harness.wh, "metrics")
    log = "SELECT version, updated_at FROM _relation_versions WHERE name = 'file_events'"
    events_before, log_before = harness.events("added"), query(harness.wh, log)
    result = run_job(harness.raw, harness.wh, defs=harness.defs, instance=harness.instance)
    assert harness.processed(result) == {"decoded": 0, "cleaned": 0, "sections": 0, "metrics": 0}
    assert {s: harness.batches(s) for s in batches} == batches  # no new Parquet batch anywhere
    assert count(harness.wh, "metrics") == metrics_before
    # the file events' batches are the same: the table is left as it was, not read and written again
    assert not read and len(log_before) == 1 and query(harness.wh, log).equals(log_before)
    pd.testing.assert_frame_equal(harness.events("added"), events_before)


def test_c_added_file_is_the_only_one_processed(harness):
    new = SAMPLES[3]
    copy_samples(harness.raw, [new])
    metric_batches = harness.batches("metrics")
    result = harness.tick_and_run()
    assert harness.processed(result) == {"decoded": 1, "cleaned": 1, "sections": 1, "metrics": 1}
    assert sha(harness.raw / new.name) in harness.doc_ids("documents")
    assert sha(harness.raw / new.name) in harness.doc_ids("metrics")
    assert count(harness.wh, "documents") == 4
    # the one new batch of each stage holds rows of the new document only
    added = sorted(set(harness.batches("metrics")) - set(metric_batches))
    assert len(added) == 1
    assert set(pd.read_parquet(added[0])["doc_id"]) == {sha(harness.raw / new.name)}
    ev = harness.events("added")
    assert new.name in set(ev["path"]) and len(ev) == 4


def test_d_changed_file_replaces_its_rows(harness):
    target = harness.raw / SAMPLES[0].name
    old_id = sha(target)
    old_metrics = query(harness.wh, "SELECT count(*) n FROM metrics WHERE doc_id = ?", [old_id])["n"].iloc[0]
    assert old_metrics > 0
    text = target.read_text(encoding="utf-8")
    target.write_text(text + "\n全年共抓获网上逃犯123名。\n", encoding="utf-8")
    new_id = sha(target)
    result = harness.tick_and_run()
    assert harness.processed(result) == {"decoded": 1, "cleaned": 1, "sections": 1, "metrics": 1}
    for table in ("documents", "metrics", "sections"):
        ids = harness.doc_ids(table)
        assert old_id not in ids, table
        assert new_id in ids, table
    assert count(harness.wh, "documents") == 4
    row = query(harness.wh, "SELECT source_file FROM documents WHERE doc_id = ?", [new_id])
    assert list(row["source_file"]) == [target.name]
    assert query(harness.wh, "SELECT count(*) n FROM metrics WHERE doc_id = ? AND quote LIKE '123%'",
                 [new_id])["n"].iloc[0] == 1
    changed = harness.events("changed")
    assert list(changed["path"]) == [target.name]
    assert changed["previous_doc_id"].iloc[0] == old_id and changed["doc_id"].iloc[0] == new_id


def test_e_renamed_file_keeps_its_document_and_reprocesses_nothing(harness):
    src = harness.raw / SAMPLES[1].name
    doc_id = sha(src)
    dst = harness.raw / "renamed_report.txt"
    metrics_before = query(harness.wh, "SELECT metric_id, quote FROM metrics WHERE doc_id = ? ORDER BY metric_id",
                           [doc_id])
    batches = {s: harness.batches(s) for s in ("raw", "documents", "sections", "metrics")}
    os.rename(src, dst)
    result = harness.tick_and_run()
    assert harness.processed(result) == {"decoded": 0, "cleaned": 0, "sections": 0, "metrics": 0}
    assert {s: harness.batches(s) for s in batches} == batches
    docs = harness.docs()
    assert len(docs) == 4
    assert list(docs.loc[docs["doc_id"] == doc_id, "source_file"]) == ["renamed_report.txt"]
    assert SAMPLES[1].name not in set(docs["source_file"])
    metrics_after = query(harness.wh, "SELECT metric_id, quote, source_file FROM metrics WHERE doc_id = ? "
                                      "ORDER BY metric_id", [doc_id])
    assert metrics_after[["metric_id", "quote"]].equals(metrics_before)
    assert set(metrics_after["source_file"]) == {"renamed_report.txt"}
    renamed = harness.events("renamed")
    assert len(renamed) == 1
    assert renamed["path"].iloc[0] == "renamed_report.txt"
    assert renamed["previous_path"].iloc[0] == SAMPLES[1].name
    assert renamed["doc_id"].iloc[0] == doc_id
    assert harness.events("removed").empty  # a rename is not a removal


def test_f_removed_file_loses_its_rows(harness):
    target = harness.raw / SAMPLES[2].name
    doc_id = sha(target)
    assert doc_id in harness.doc_ids("sections")
    target.unlink()
    result = harness.tick_and_run()
    assert harness.processed(result)["cleaned"] == 0
    for table in ("documents", "metrics", "sections"):
        assert doc_id not in harness.doc_ids(table), table
    assert count(harness.wh, "documents") == 3
    removed = harness.events("removed")
    assert list(removed["path"]) == [SAMPLES[2].name]
    assert removed["previous_doc_id"].iloc[0] == doc_id
    # the history of earlier runs is kept
    assert len(harness.events("added")) == 4 and len(harness.events("renamed")) == 1


def test_f2_file_moved_out_and_back_is_ingested_again(harness):
    """The folder returns to an earlier state: the sensor must still request a run."""
    target = harness.raw / SAMPLES[3].name
    doc_id = sha(target)
    parked = harness.raw.parent / "parked.txt"
    os.rename(target, parked)
    harness.tick_and_run()
    assert doc_id not in harness.doc_ids("documents")
    os.rename(parked, target)  # same name, size and mtime as before
    harness.tick_and_run()
    assert doc_id in harness.doc_ids("documents")
    assert count(harness.wh, "documents") == 3


def test_g_same_content_under_two_names_is_one_document(harness):
    original = harness.raw / SAMPLES[3].name
    copy = harness.raw / "zz_copy_of_report.txt"
    shutil.copyfile(original, copy)
    result = harness.tick_and_run()
    assert harness.processed(result)["cleaned"] == 0  # the content is known
    docs = harness.docs()
    assert len(docs) == 3
    assert list(docs.loc[docs["doc_id"] == sha(original), "source_file"]) == [original.name]
    dups = query(harness.wh, "SELECT * FROM duplicate_files")
    assert list(dups["file_name"]) == ["zz_copy_of_report.txt"]
    assert dups["doc_id"].iloc[0] == sha(original)
    assert dups["duplicate_of"].iloc[0] == original.name
    metrics = query(harness.wh, "SELECT DISTINCT source_file FROM metrics WHERE doc_id = ?", [sha(original)])
    assert list(metrics["source_file"]) == [original.name]
    # removing the first name promotes the copy to the document's name
    original.unlink()
    harness.tick_and_run()
    docs = harness.docs()
    assert list(docs.loc[docs["doc_id"] == sha(copy), "source_file"]) == ["zz_copy_of_report.txt"]
    assert count(harness.wh, "duplicate_files") == 0
    assert count(harness.wh, "documents") == 3


def test_h_full_refresh_reprocesses_every_document(harness):
    tables_before = {t: query(harness.wh, f"SELECT * EXCLUDE (extracted_with) FROM {t} ORDER BY doc_id")
                     if t == "documents" else query(harness.wh, f"SELECT * FROM {t} ORDER BY doc_id, metric_id")
                     for t in ("documents", "metrics")}
    live = count(harness.wh, "documents")
    result = run_job(harness.raw, harness.wh, job="full_refresh_job", defs=harness.defs, instance=harness.instance)
    assert harness.processed(result) == {"decoded": live, "cleaned": live, "sections": live, "metrics": live}
    # same code, same input: same rows
    after = {t: query(harness.wh, f"SELECT * EXCLUDE (extracted_with) FROM {t} ORDER BY doc_id")
             if t == "documents" else query(harness.wh, f"SELECT * FROM {t} ORDER BY doc_id, metric_id")
             for t in ("documents", "metrics")}
    for t in after:
        pd.testing.assert_frame_equal(after[t], tables_before[t], check_dtype=False)
    # a following incremental run has nothing left to do
    result = run_job(harness.raw, harness.wh, defs=harness.defs, instance=harness.instance)
    assert harness.processed(result) == {"decoded": 0, "cleaned": 0, "sections": 0, "metrics": 0}


def test_new_code_version_reprocesses(harness, monkeypatch):
    """Rows are keyed by code version too: a changed extractor re-extracts every live document."""
    import assets.stages as stages

    monkeypatch.setattr(stages, "TEXT_VERSION", TEXT_VERSION + "-next")
    live = count(harness.wh, "documents")
    result = run_job(harness.raw, harness.wh, defs=harness.defs, instance=harness.instance)
    assert harness.processed(result)["cleaned"] == live
    assert harness.processed(result)["decoded"] == 0


def test_sensor_watches_the_configured_folder(tmp_path, instance):
    raw = copy_samples(tmp_path / "elsewhere", SAMPLES[:1])
    defs = make_defs(raw, tmp_path / "wh")
    sensor = defs.resolve_sensor_def("raw_folder_sensor")
    first = sensor.evaluate_tick(build_sensor_context(instance=instance, definitions=defs))
    assert len(first.run_requests) == 1
    assert sensor.evaluate_tick(build_sensor_context(instance=instance, cursor=first.cursor,
                                                     definitions=defs)).skip_message
    (raw / SAMPLES[0].name).unlink()
    again = sensor.evaluate_tick(build_sensor_context(instance=instance, cursor=first.cursor, definitions=defs))
    assert len(again.run_requests) == 1 and again.cursor != first.cursor


def test_schedule_and_sensor_start_running(tmp_path):
    defs = make_defs(tmp_path / "raw", tmp_path / "wh")
    sensor = defs.resolve_sensor_def("raw_folder_sensor")
    schedule = defs.resolve_schedule_def("daily_reingest")
    assert sensor.default_status == DefaultSensorStatus.RUNNING
    assert schedule.default_status == DefaultScheduleStatus.RUNNING
    assert schedule.job_name == "ingest_job" and sensor.job_name == "ingest_job"
    assert schedule.cron_schedule == "0 3 * * *"
    import definitions

    assert definitions.defs.resolve_sensor_def("raw_folder_sensor").default_status == DefaultSensorStatus.RUNNING
    assert definitions.defs.resolve_schedule_def("daily_reingest").default_status == DefaultScheduleStatus.RUNNING


def test_a_document_without_sections_or_figures_is_processed_once(tmp_path):
    """Text made only of page furniture cleans to nothing: it still counts as done."""
    from dagster import DagsterInstance

    from definitions import make_definitions
    from zhengfa.store import StageStore

    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "furniture.txt").write_text("首页 > 新闻 > 正文\n责任编辑：王五\n版权所有 某某网\n", encoding="utf-8")
    defs = make_definitions(str(raw), str(tmp_path / "wh"))
    job = defs.resolve_job_def("ingest_job")
    with DagsterInstance.ephemeral() as instance:
        assert job.execute_in_process(instance=instance).success
        batches = {s: len(StageStore(tmp_path / "wh", s).files()) for s in ("documents", "sections", "metrics")}
        assert job.execute_in_process(instance=instance).success
        assert {s: len(StageStore(tmp_path / "wh", s).files()) for s in batches} == batches


def test_the_sensor_asks_again_once_when_its_run_failed(tmp_path):
    from dagster import DagsterInstance, DagsterRun, DagsterRunStatus, RunRequest, build_sensor_context

    from assets.automation import make_raw_folder_sensor

    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "a.txt").write_text("全区破获案件12起。", encoding="utf-8")
    sensor = make_raw_folder_sensor(raw, tmp_path / "wh")
    with DagsterInstance.ephemeral() as instance:
        ctx = build_sensor_context(instance=instance)
        assert isinstance(sensor(ctx), RunRequest)
        cursor = ctx.cursor  # the folder signature the first evaluation recorded
        # nothing changed and no failure: skip
        assert not isinstance(sensor(build_sensor_context(instance=instance, cursor=cursor)), RunRequest)
        instance.add_run(DagsterRun(job_name="ingest_job", run_id="f" * 32, status=DagsterRunStatus.FAILURE,
                                    tags={"zhengfa/trigger": "raw_folder_sensor"}))
        retry = sensor(build_sensor_context(instance=instance, cursor=cursor))
        assert isinstance(retry, RunRequest) and retry.run_key == "retry-" + "f" * 32


def test_the_text_version_covers_every_module_the_text_stages_run():
    """An edit to any module the text stages import makes every document's rows stale: each of
    them is hashed into TEXT_VERSION."""
    import subprocess
    import sys

    from assets.stages import TEXT_MODULES

    out = subprocess.run([sys.executable, "-c", "import sys, zhengfa.pipeline, zhengfa.parallel; "
                          "print(' '.join(m for m in sys.modules if m.startswith('zhengfa.')))"],
                         capture_output=True, text=True, check=True).stdout.split()
    # the runner is not the rules, and the decoder it also runs has a version of its own (DECODE_VERSION)
    imported = {m.split(".", 1)[1] for m in out} - {"parallel", "_warm", "decode"}
    assert imported <= set(TEXT_MODULES), sorted(imported - set(TEXT_MODULES))
