"""A raw folder that disappears, is not a folder, or empties never empties the warehouse; a scan
that would remove most documents at once is refused unless the run allows it."""
from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import pandas as pd
import pytest
from dagster import DagsterInstance, RunRequest, SkipReason, build_sensor_context

from tests.conftest import (ALL_TABLES, ROOT, SAMPLES, PYTHON, copy_samples, count, make_defs,
                            materialization_metadata, query, run_job, snapshot)
from zhengfa import guard

# ---------------------------------------------------------------- the decision, on manifests


def manifest(*rows) -> pd.DataFrame:
    """rows of (path, doc_id, status)."""
    return pd.DataFrame(list(rows), columns=["path", "doc_id", "status"])


FIVE = manifest(*[(f"{i}.txt", f"d{i}", "accepted") for i in range(5)])


def keep(m: pd.DataFrame, paths) -> pd.DataFrame:
    return m[m["path"].isin(paths)].reset_index(drop=True)


def test_first_scan_and_no_change_are_not_removals():
    assert not guard.removal_verdict(None, FIVE).refused
    assert not guard.removal_verdict(manifest(), FIVE).refused
    v = guard.removal_verdict(FIVE, FIVE)
    assert (v.live, v.removed, v.remaining, v.refused) == (5, 0, 5, False)


@pytest.mark.parametrize("left, refused", [(5, False), (4, False), (3, False), (2, True), (1, True), (0, True)])
def test_default_limits_refuse_more_than_half_and_at_least_three(left, refused):
    v = guard.removal_verdict(FIVE, keep(FIVE, [f"{i}.txt" for i in range(left)]))
    assert v.removed == 5 - left and v.refused is refused


def test_a_small_corpus_below_the_minimum_count_may_shrink_but_not_empty():
    two = keep(FIVE, ["0.txt", "1.txt"])
    assert not guard.removal_verdict(two, keep(two, ["0.txt"])).refused  # 1 of 2: below the minimum of 3
    emptied = guard.removal_verdict(two, manifest())
    assert emptied.refused and emptied.remaining == 0
    assert "leave no document" in emptied.summary("/raw")
    # only rejected files left: no document either
    junk = manifest(("0.txt", None, "rejected"), ("x.bin", None, "rejected"))
    assert guard.removal_verdict(two, junk).refused


def test_limits_are_settable():
    three_gone = keep(FIVE, ["0.txt", "1.txt"])
    assert not guard.removal_verdict(FIVE, three_gone, guard.RemovalLimits(share=0.6)).refused
    assert not guard.removal_verdict(FIVE, three_gone, guard.RemovalLimits(min_count=4)).refused
    one_gone = keep(FIVE, ["0.txt", "1.txt", "2.txt", "3.txt"])
    assert guard.removal_verdict(FIVE, one_gone, guard.RemovalLimits(share=0.1, min_count=1)).refused
    # share 1 never refuses by share; emptying is still refused
    assert not guard.removal_verdict(FIVE, keep(FIVE, ["0.txt"]), guard.RemovalLimits(share=1.0)).refused
    assert guard.removal_verdict(FIVE, manifest(), guard.RemovalLimits(share=1.0)).refused
    with pytest.raises(ValueError):
        guard.RemovalLimits(share=1.5)
    with pytest.raises(ValueError):
        guard.RemovalLimits(min_count=0)


def test_renames_and_changes_in_place_are_not_removals():
    renamed = FIVE.assign(path=[f"new_{p}" for p in FIVE["path"]])
    assert guard.removal_verdict(FIVE, renamed).removed == 0
    edited = FIVE.assign(doc_id=[f"{d}-v2" for d in FIVE["doc_id"]])
    assert guard.removal_verdict(FIVE, edited).removed == 0
    # the first name of a document goes, its duplicate stays: the content is still live
    dup = manifest(("a.txt", "d0", "accepted"), ("b.txt", "d0", "duplicate"), ("c.txt", "d1", "accepted"))
    assert guard.removal_verdict(dup, manifest(("b.txt", "d0", "accepted"), ("c.txt", "d1", "accepted"))).removed == 0


def test_files_turned_into_rejections_count_as_removed():
    unreadable = FIVE.assign(doc_id=None, status="rejected")
    v = guard.removal_verdict(FIVE, unreadable)
    assert v.removed == 5 and v.refused


def test_message_says_how_many_of_how_many_and_how_to_allow():
    v = guard.removal_verdict(FIVE, keep(FIVE, ["0.txt"]))
    msg = v.message("/data/raw")
    assert "/data/raw" in msg and "remove 4 of the 5 documents" in msg
    assert "1.txt" in msg and "4.txt" in msg and "0.txt" not in msg
    assert "more than 50%" in msg and "at least 3" in msg
    assert "nothing was changed" in msg
    assert "allow_mass_removal" in msg and "ZHENGFA_ALLOW_MASS_REMOVAL=1" in msg and "--allow-mass-removal" in msg
    with pytest.raises(guard.MassRemovalRefused, match="remove 4 of the 5"):
        guard.check_removal(FIVE, keep(FIVE, ["0.txt"]), "/data/raw")
    assert guard.check_removal(FIVE, keep(FIVE, ["0.txt"]), "/data/raw", allow=True).removed == 4


def test_folder_problems(tmp_path, monkeypatch):
    assert guard.folder_problem(tmp_path) is None
    missing = tmp_path / "nowhere"
    assert guard.folder_problem(missing) == f"raw folder {missing} does not exist"
    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    assert guard.folder_problem(a_file) == f"raw folder {a_file} is not a directory"
    with pytest.raises(guard.RawFolderUnavailable, match="nothing was changed"):
        guard.check_folder(missing)

    def denied(path):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(guard.os, "scandir", denied)
    assert guard.folder_problem(tmp_path) == f"raw folder {tmp_path} cannot be read (Permission denied)"


def test_listing_guess_never_counts_more_removals_than_the_scan(tmp_path):
    from zhengfa.ingest import scan

    raw = copy_samples(tmp_path / "raw")
    before = scan(raw, None, set(), 10**8).manifest
    names = sorted(p.name for p in raw.iterdir())
    os.rename(raw / names[0], raw / "renamed.txt")  # keeps size and mtime
    (raw / names[1]).write_text("改写后的内容：全区破获案件3起。", encoding="utf-8")  # changed in place
    (raw / names[2]).unlink()
    (raw / names[3]).unlink()
    (raw / "new.txt").write_text("全区新建警务站8个。", encoding="utf-8")
    guess = guard.listing_manifest(raw, before)
    real = scan(raw, before, set(before["doc_id"]), 10**8).manifest
    g, r = guard.removal_verdict(before, guess), guard.removal_verdict(before, real)
    assert g.removed == r.removed == 2
    assert sorted(p for ps in g.removed_paths.values() for p in ps) == sorted(names[2:4])
    assert g.remaining >= r.remaining


# ---------------------------------------------------------------- runs against a built warehouse

@pytest.fixture(scope="module")
def pristine(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("guard")
    raw = copy_samples(tmp / "raw")
    run_job(raw, tmp / "wh")
    return raw, tmp / "wh"


@pytest.fixture
def built(pristine, tmp_path):
    """A copy of a warehouse built from the five samples, and its raw folder (mtimes kept)."""
    raw, wh = tmp_path / "raw", tmp_path / "wh"
    shutil.copytree(pristine[0], raw)
    shutil.copytree(pristine[1], wh)
    return raw, wh


def file_digests(wh: Path) -> dict[str, str]:
    return {str(p.relative_to(wh)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(wh.rglob("*")) if p.is_file()}


def run(raw: Path, wh: Path, job: str = "ingest_job", run_config=None):
    defs = make_defs(raw, wh)
    with DagsterInstance.ephemeral() as inst:
        return defs.resolve_job_def(job).execute_in_process(instance=inst, run_config=run_config, raise_on_error=False)


def failure_message(result) -> str:
    failures = [e for e in result.all_events if e.is_step_failure]
    assert [e.step_key for e in failures] == ["raw_documents"]
    return failures[0].step_failure_data.user_failure_data.description


def assert_refused(raw, wh, result, *needles):
    """The run failed in raw_documents with a message naming the folder; nothing downstream ran."""
    assert not result.success
    msg = failure_message(result)
    for needle in (str(raw), "nothing was changed", *needles):
        assert needle in msg, msg
    assert not result.get_asset_materialization_events()
    return msg


def test_missing_folder_fails_and_changes_nothing(built):
    raw, wh = built
    files, tables = file_digests(wh), snapshot(wh)
    moved = raw.with_name("raw_renamed")
    raw.rename(moved)
    result = run(raw, wh)
    assert_refused(raw, wh, result, "does not exist")
    assert file_digests(wh) == files and snapshot(wh) == tables
    assert count(wh, "documents") == 5 and count(wh, "metrics") > 0
    # the folder comes back: nothing was lost, nothing is recorded as removed
    moved.rename(raw)
    ok = run(raw, wh)
    assert ok.success
    assert materialization_metadata(ok, "raw_documents")["newly_decoded"] == 0
    assert snapshot(wh) == tables


def test_a_file_in_place_of_the_folder_fails_and_changes_nothing(built):
    raw, wh = built
    files, tables = file_digests(wh), snapshot(wh)
    shutil.rmtree(raw)
    raw.write_text("not a folder")
    assert_refused(raw, wh, run(raw, wh), "is not a directory")
    assert file_digests(wh) == files and snapshot(wh) == tables


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any folder")
def test_unreadable_folder_fails_and_changes_nothing(built):
    raw, wh = built
    files = file_digests(wh)
    raw.chmod(0)
    try:
        assert_refused(raw, wh, run(raw, wh), "cannot be read")
    finally:
        raw.chmod(0o755)
    assert file_digests(wh) == files


def test_missing_folder_on_a_new_warehouse_creates_nothing(tmp_path):
    wh = tmp_path / "wh"
    result = run(tmp_path / "nowhere", wh)
    assert not result.success and "does not exist" in failure_message(result)
    assert not wh.exists()


def test_emptied_folder_is_refused_and_changes_nothing(built):
    raw, wh = built
    files, tables = file_digests(wh), snapshot(wh)
    for p in raw.iterdir():
        p.unlink()
    msg = assert_refused(raw, wh, run(raw, wh), "remove 5 of the 5 documents", "leave no document",
                         "allow_mass_removal")
    assert SAMPLES[0].name in msg
    assert file_digests(wh) == files and snapshot(wh) == tables


def test_most_files_removed_is_refused(built):
    raw, wh = built
    files, tables = file_digests(wh), snapshot(wh)
    for p in sorted(raw.iterdir())[:3]:
        p.unlink()
    assert_refused(raw, wh, run(raw, wh), "remove 3 of the 5 documents", "more than 50%")
    assert file_digests(wh) == files and snapshot(wh) == tables


def test_a_few_files_removed_are_applied(built):
    raw, wh = built
    gone = sorted(raw.iterdir())[:2]
    for p in gone:
        p.unlink()
    result = run(raw, wh)
    assert result.success
    assert materialization_metadata(result, "raw_documents")["removed_documents"] == 2
    assert count(wh, "documents") == 3
    assert set(query(wh, "SELECT source_file FROM documents")["source_file"]).isdisjoint(p.name for p in gone)
    removed = query(wh, "SELECT path FROM file_events WHERE event = 'removed'")
    assert sorted(removed["path"]) == sorted(p.name for p in gone)


def test_mass_removal_allowed_by_run_config_is_applied(built):
    raw, wh = built
    for p in raw.iterdir():
        p.unlink()
    result = run(raw, wh, run_config={"ops": {"raw_documents": {"config": {"allow_mass_removal": True}}}})
    assert result.success
    assert count(wh, "documents") == 0 and count(wh, "metrics") == 0
    assert len(query(wh, "SELECT * FROM file_events WHERE event = 'removed'")) == 5


def test_full_refresh_with_allowed_mass_removal_still_refreshes(built):
    raw, wh = built
    for p in sorted(raw.iterdir())[:4]:
        p.unlink()
    config = {"ops": {"raw_documents": {"config": {"full_refresh": True, "allow_mass_removal": True}}}}
    result = run(raw, wh, job="full_refresh_job", run_config=config)
    assert result.success and count(wh, "documents") == 1
    assert materialization_metadata(result, "raw_documents")["newly_decoded"] == 1
    assert materialization_metadata(result, "cleaned_documents")["processed"] == 1


def test_limits_from_run_config(built):
    raw, wh = built
    for p in sorted(raw.iterdir())[:3]:
        p.unlink()
    assert not run(raw, wh).success
    bad = run(raw, wh, run_config={"ops": {"raw_documents": {"config": {"mass_removal_share": 1.5}}}})
    assert not bad.success and "between 0 and 1" in failure_message(bad)
    assert count(wh, "documents") == 5
    result = run(raw, wh, run_config={"ops": {"raw_documents": {"config": {"mass_removal_min": 4}}}})
    assert result.success and count(wh, "documents") == 2


def test_limits_from_the_environment(built, monkeypatch):
    raw, wh = built
    for p in sorted(raw.iterdir())[:3]:
        p.unlink()
    monkeypatch.setenv("ZHENGFA_MASS_REMOVAL_SHARE", "0.8")  # read by make_definitions
    defs = make_defs(raw, wh)
    assert defs.resources["corpus"].removal_limits == guard.RemovalLimits(share=0.8, min_count=3)
    assert len(tick(defs).run_requests) == 1  # the sensor applies the same limits
    assert run(raw, wh).success and count(wh, "documents") == 2


# ---------------------------------------------------------------- the sensor

def tick(defs, cursor=None):
    sensor = defs.resolve_sensor_def("raw_folder_sensor")
    with DagsterInstance.ephemeral() as inst:
        return sensor.evaluate_tick(build_sensor_context(instance=inst, cursor=cursor, definitions=defs))


def test_sensor_skips_a_missing_folder_with_the_path(built):
    raw, wh = built
    defs = make_defs(raw, wh)
    first = tick(defs)
    assert len(first.run_requests) == 1 and first.cursor
    shutil.rmtree(raw)
    data = tick(defs, first.cursor)
    assert not data.run_requests
    assert data.skip_message == f"raw folder {raw} does not exist; no run requested"
    assert data.cursor == first.cursor  # looked at again at the next tick
    raw.write_text("a file")
    assert "is not a directory" in tick(defs, first.cursor).skip_message


def test_sensor_skips_a_mass_removal_with_the_reason(built):
    raw, wh = built
    defs = make_defs(raw, wh)
    first = tick(defs)
    for p in sorted(raw.iterdir())[:4]:
        p.unlink()
    data = tick(defs, first.cursor)
    assert not data.run_requests and data.cursor == first.cursor
    assert "remove 4 of the 5 documents" in data.skip_message and "allow_mass_removal" in data.skip_message
    for p in raw.iterdir():
        p.unlink()
    assert "leave no document" in tick(defs, first.cursor).skip_message
    # the direct call returns a SkipReason (what the UI shows on the tick)
    sensor = defs.resolve_sensor_def("raw_folder_sensor")
    with DagsterInstance.ephemeral() as inst:
        assert isinstance(sensor(build_sensor_context(instance=inst, cursor=first.cursor)), SkipReason)


def test_sensor_requests_runs_for_renames_and_small_removals(built):
    raw, wh = built
    defs = make_defs(raw, wh)
    cursor = tick(defs).cursor
    for p in sorted(raw.iterdir()):
        os.rename(p, p.with_name("renamed_" + p.name))
    data = tick(defs, cursor)
    assert len(data.run_requests) == 1, data.skip_message  # five renames are not five removals
    run_job(raw, wh, defs=defs)
    assert count(wh, "documents") == 5
    for p in sorted(raw.iterdir())[:2]:
        p.unlink()
    again = tick(defs, data.cursor)
    assert len(again.run_requests) == 1 and isinstance(again.run_requests[0], RunRequest)


# ---------------------------------------------------------------- scripts/run.py without make

def script(raw: Path, wh: Path, *args: str, **env):
    import subprocess

    full_env = {k: v for k, v in os.environ.items() if k not in ("DAGSTER_HOME", "PYTHONPATH")}
    full_env.update(ZHENGFA_RAW_DIR=str(raw), ZHENGFA_WAREHOUSE_DIR=str(wh), **env)
    return subprocess.run([PYTHON, str(ROOT / "scripts" / "run.py"), *args], env=full_env, cwd=raw.parent,
                          capture_output=True, text=True, timeout=300)


def test_run_script_without_dagster_home(tmp_path):
    raw, wh = copy_samples(tmp_path / "raw"), tmp_path / "wh"
    done = script(raw, wh)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "documents                   5" in done.stdout
    assert f"DAGSTER_HOME not set: using {ROOT / 'dagster_home'}" in done.stderr
    tables = snapshot(wh, ALL_TABLES)

    moved = raw.with_name("raw_moved")
    raw.rename(moved)
    failed = script(raw, wh)
    assert failed.returncode == 1
    tail = failed.stderr[failed.stderr.index("run failed:"):]
    assert f"raw_documents: raw folder {raw} does not exist; nothing was changed" in tail
    assert snapshot(wh, ALL_TABLES) == tables

    moved.rename(raw)
    for p in raw.iterdir():
        p.unlink()
    refused = script(raw, wh)
    assert refused.returncode == 1
    tail = refused.stderr[refused.stderr.index("run failed:"):]
    assert "would remove 5 of the 5 documents" in tail and "--allow-mass-removal" in tail
    assert snapshot(wh, ALL_TABLES) == tables

    allowed = script(raw, wh, "--full-refresh", ZHENGFA_ALLOW_MASS_REMOVAL="1")
    assert allowed.returncode == 0, allowed.stderr[-3000:]
    assert count(wh, "documents") == 0 and count(wh, "metrics") == 0


def test_run_script_flag_allows_mass_removal(built):
    raw, wh = built
    for p in sorted(raw.iterdir())[:3]:
        p.unlink()
    assert script(raw, wh, ZHENGFA_ALLOW_MASS_REMOVAL="0").returncode == 1
    bad = script(raw, wh, ZHENGFA_ALLOW_MASS_REMOVAL="maybe")
    assert bad.returncode == 2 and "ZHENGFA_ALLOW_MASS_REMOVAL" in bad.stderr
    done = script(raw, wh, "--allow-mass-removal")
    assert done.returncode == 0, done.stderr[-3000:]
    assert count(wh, "documents") == 2
