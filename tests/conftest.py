"""Shared helpers for the end-to-end tests: small corpora in tmp_path, in-process runs through
the project's own Definitions, and table snapshots for comparing warehouses."""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from dagster import DagsterInstance

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_DIR = ROOT / "data" / "sample_corpus"
SAMPLES = sorted(SAMPLE_DIR.glob("*.txt"))
PYTHON = sys.executable

# Columns that record when something happened: they differ between otherwise identical runs.
TIMESTAMP_COLUMNS = {"scanned_at", "event_at"}
CORE_TABLES = ["documents", "sections", "metrics"]
ALL_TABLES = CORE_TABLES + ["rejected_documents", "duplicate_files", "file_events"]
VIEWS = ["v_indicator_values", "v_metrics_by_region_year", "v_region_rollups", "v_yoy_computed", "v_yoy_consistency",
         "v_yoy_implied", "v_yoy_indicators", "v_yoy_stated"]


def copy_samples(dest: Path, names: list[Path] | None = None) -> Path:
    """Writable copies of the bundled sample articles (the originals are read-only)."""
    dest.mkdir(parents=True, exist_ok=True)
    for p in names or SAMPLES:
        target = dest / p.name
        shutil.copyfile(p, target)
        os.chmod(target, 0o644)
    return dest


@pytest.fixture
def raw_dir(tmp_path) -> Path:
    return copy_samples(tmp_path / "raw")


@pytest.fixture
def warehouse_dir(tmp_path) -> Path:
    return tmp_path / "warehouse"


@pytest.fixture
def instance():
    with DagsterInstance.ephemeral() as inst:
        yield inst


def make_defs(raw: Path, wh: Path, **kwargs):
    from definitions import make_definitions

    return make_definitions(str(raw), str(wh), **kwargs)


def run_job(raw: Path, wh: Path, job: str = "ingest_job", instance: DagsterInstance | None = None,
            defs=None, run_config=None, tags=None, **kwargs):
    """Execute one of the project's jobs in process; asserts the run succeeded."""
    defs = defs or make_defs(raw, wh, **kwargs)
    job_def = defs.resolve_job_def(job)
    if instance is None:
        with DagsterInstance.ephemeral() as inst:
            result = job_def.execute_in_process(instance=inst, run_config=run_config, tags=tags)
    else:
        result = job_def.execute_in_process(instance=instance, run_config=run_config, tags=tags)
    assert result.success, [e.message for e in result.all_events if e.is_failure]
    return result


def connect(wh: Path) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(str(wh / "zhengfa.duckdb"), read_only=True)


def query(wh: Path, sql: str, params=None) -> pd.DataFrame:
    con = connect(wh)
    try:
        return con.execute(sql, params or []).df()
    finally:
        con.close()


def count(wh: Path, table: str) -> int:
    return int(query(wh, f'SELECT count(*) AS n FROM "{table}"')["n"].iloc[0])


def table_digest(con: duckdb.DuckDBPyConnection, table: str) -> tuple[list[str], int, str]:
    """(columns, rows, checksum of the sorted rows) of a table, timestamp columns excluded."""
    cols = [r[0] for r in con.execute(f'DESCRIBE "{table}"').fetchall() if r[0] not in TIMESTAMP_COLUMNS]
    rows = con.execute(f'SELECT {", ".join(chr(34) + c + chr(34) for c in cols)} FROM "{table}"').fetchall()
    lines = sorted(repr(tuple(r)) for r in rows)
    return cols, len(lines), hashlib.sha256("\n".join(lines).encode("utf-8", "surrogatepass")).hexdigest()


def snapshot(wh: Path, tables=None) -> dict[str, tuple]:
    con = connect(wh)
    try:
        return {t: table_digest(con, t) for t in (tables or ALL_TABLES)}
    finally:
        con.close()


def check_evaluations(result) -> dict[tuple[str, str], object]:
    """{(asset, check name): evaluation} for every asset check a run evaluated."""
    return {(e.asset_key.to_user_string(), e.check_name): e for e in result.get_asset_check_evaluations()}


def materialization_metadata(result, asset: str) -> dict:
    for event in result.get_asset_materialization_events():
        mat = event.event_specific_data.materialization
        if mat.asset_key.to_user_string() == asset:
            return {k: v.value for k, v in mat.metadata.items()}
    raise KeyError(asset)


def warehouse_invariants(wh: Path) -> None:
    """What the asset checks assert, re-checked from the DuckDB file alone."""
    con = connect(wh)
    try:
        tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
        assert set(ALL_TABLES) <= tables, tables
        assert con.execute("""SELECT count(*) FROM metrics m LEFT JOIN documents d USING (doc_id)
                              WHERE d.doc_id IS NULL""").fetchone()[0] == 0, "metric of an unknown document"
        assert con.execute("""SELECT count(*) FROM sections s LEFT JOIN documents d USING (doc_id)
                              WHERE d.doc_id IS NULL""").fetchone()[0] == 0, "section of an unknown document"
        assert con.execute("""SELECT count(*) FROM metrics m JOIN documents d USING (doc_id)
            WHERE substr(d.cleaned_text, m.char_start + 1, m.char_end - m.char_start) <> m.quote""").fetchone()[0] == 0
        assert con.execute("""SELECT count(*) FROM sections s JOIN documents d USING (doc_id)
            WHERE s.char_start < 0 OR s.char_end > length(d.cleaned_text) OR s.char_start > s.char_end""").fetchone()[0] == 0
        assert con.execute("SELECT count(*) FROM metrics WHERE value IS NULL OR NOT isfinite(value)").fetchone()[0] == 0
        assert con.execute("""SELECT count(*) FROM (SELECT DISTINCT region FROM metrics WHERE coalesce(region, '') <> '') m
                              LEFT JOIN regions r USING (region) WHERE r.region IS NULL""").fetchone()[0] == 0, \
            "a region named by a figure is missing from the regions table"
        assert con.execute("SELECT count(*) - count(DISTINCT doc_id) FROM documents").fetchone()[0] == 0
        assert con.execute("SELECT count(*) - count(DISTINCT metric_id) FROM metrics").fetchone()[0] == 0
        # documents, duplicate names and rejections never overlap on a path
        overlap = con.execute("""SELECT count(*) FROM (SELECT path FROM documents UNION ALL SELECT path FROM duplicate_files
                                 UNION ALL SELECT path FROM rejected_documents) GROUP BY path HAVING count(*) > 1""").fetchall()
        assert not overlap
        for v in VIEWS:
            if v in tables:
                con.execute(f'SELECT count(*) FROM "{v}"').fetchone()
    finally:
        con.close()


def run_script(raw: Path, wh: Path, home: Path, *args: str, wait: bool = True, **popen):
    """`python scripts/run.py` in a subprocess, as `make run` does."""
    env = dict(os.environ, ZHENGFA_RAW_DIR=str(raw), ZHENGFA_WAREHOUSE_DIR=str(wh), DAGSTER_HOME=str(home),
               PYTHONPATH=str(ROOT))
    home.mkdir(parents=True, exist_ok=True)
    cmd = [PYTHON, str(ROOT / "scripts" / "run.py"), *args]
    if wait:
        return subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True, timeout=300)
    return subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            **popen)


def describe_diff(wh_a: Path, wh_b: Path, tables=None) -> dict[str, list[str]]:
    """Which columns differ between the same tables of two warehouses (for assertion messages)."""
    out = {}
    a_con, b_con = connect(wh_a), connect(wh_b)
    try:
        for t in tables or ALL_TABLES:
            a, b = table_digest(a_con, t), table_digest(b_con, t)
            if a == b:
                continue
            cols = [c for c in a[0] if c in b[0]]
            differing = []
            for c in cols:
                qa = sorted(map(repr, a_con.execute(f'SELECT "{c}" FROM "{t}"').fetchall()))
                qb = sorted(map(repr, b_con.execute(f'SELECT "{c}" FROM "{t}"').fetchall()))
                if qa != qb:
                    differing.append(f"{c}: {sorted(set(qa) - set(qb))[:2]} vs {sorted(set(qb) - set(qa))[:2]}")
            out[t] = [f"rows {a[1]} vs {b[1]}", f"columns only in one: {set(a[0]) ^ set(b[0])}"] + differing
    finally:
        a_con.close()
        b_con.close()
    return out


def pytest_configure(config):
    # duckdb's DataFrame export calls DataFrame.drop(inplace=...), deprecated in pandas 3.1: not ours
    config.addinivalue_line("filterwarnings", "ignore:The inplace keyword in DataFrame.drop:Warning")
