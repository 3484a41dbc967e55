"""The code location loads, the asset graph is complete, and a run over the samples builds the warehouse."""
from __future__ import annotations

import duckdb
import pytest
from dagster import AssetKey, Definitions

from assets.warehouse import SQL_DIR, TABLES, sql_dependencies
from tests.conftest import (SAMPLES, VIEWS, check_evaluations, copy_samples, count, make_defs,
                            materialization_metadata, query, run_job)

STAGES = ["raw_documents", "cleaned_documents", "document_sections", "metric_mentions"]
ANALYTICS = ["indicator_chart", "provenance_pages", "warehouse_snapshot"]
SCORER_COLUMNS = ["source_file", "doc_id", "section_id", "kind", "value", "unit", "approx", "basis", "subject",
                  "indicator", "region", "period_start", "period_end", "quote", "sentence", "char_start", "char_end"]


def test_definitions_load(tmp_path):
    defs = make_defs(tmp_path / "raw", tmp_path / "wh")
    Definitions.validate_loadable(defs)
    import definitions

    Definitions.validate_loadable(definitions.defs)  # the module-level code location too
    assert {j.name for j in defs.resolve_all_job_defs()} >= {"ingest_job", "full_refresh_job"}


def test_asset_graph_has_every_stage_table_and_view(tmp_path):
    graph = make_defs(tmp_path / "raw", tmp_path / "wh").resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    assert set(STAGES) <= keys
    assert set(TABLES) <= keys
    assert set(TABLES) >= {"documents", "sections", "metrics", "rejected_documents", "duplicate_files", "file_events"}
    assert set(VIEWS) <= keys
    # stages chain raw → cleaned → sections → metrics → warehouse tables
    for upstream, downstream in zip(STAGES, STAGES[1:] + ["metrics"]):
        assert AssetKey(upstream) in graph.get(AssetKey(downstream)).parent_keys, (upstream, downstream)


def test_view_dependencies_are_the_tables_their_sql_reads(tmp_path):
    graph = make_defs(tmp_path / "raw", tmp_path / "wh").resolve_asset_graph()
    sql_files = sorted(SQL_DIR.glob("*.sql"))
    assert {p.stem for p in sql_files} == set(VIEWS)
    for path in sql_files:
        read = set(sql_dependencies(path.read_text(encoding="utf-8")))
        assert read and read <= set(TABLES) | set(VIEWS), (path.name, read)  # CTE names are not relations
        deps = {k.to_user_string() for k in graph.get(AssetKey(path.stem)).parent_keys}
        assert deps == read, (path.name, deps, read)


def test_sql_dependencies_parses_ctes_and_joins():
    sql = """with a as (select * from metrics), b as (select doc_id from documents)
             select * from a join b using (doc_id) left join sections s on s.doc_id = a.doc_id"""
    assert sql_dependencies(sql) == ["documents", "metrics", "sections"]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("pipeline")
    raw, wh = copy_samples(tmp / "raw"), tmp / "wh"
    result = run_job(raw, wh)
    return raw, wh, result


def test_run_builds_the_warehouse(built):
    _, wh, _ = built
    assert (wh / "zhengfa.duckdb").exists()
    assert count(wh, "documents") == len(SAMPLES) == 5
    assert count(wh, "metrics") > 100
    assert count(wh, "sections") > 0
    assert count(wh, "rejected_documents") == 0
    assert count(wh, "duplicate_files") == 0
    assert count(wh, "file_events") == 5
    assert set(query(wh, "SELECT DISTINCT event FROM file_events")["event"]) == {"added"}
    src = set(query(wh, "SELECT source_file FROM documents")["source_file"])
    assert src == {p.name for p in SAMPLES}


def test_long_texts_are_stored_compressed(built):
    """The texts that make most of the file (section texts, metric sentences) are zstd-compressed in
    both the warehouse and the readers' snapshot, not left uncompressed by DuckDB's own choice."""
    _, wh, _ = built
    for name in ("zhengfa.duckdb", "zhengfa_read.duckdb"):
        con = duckdb.connect(str(wh / name), read_only=True)
        try:
            for table, column in (("sections", "text"), ("metrics", "sentence")):
                kinds = {r[0] for r in con.execute(
                    "SELECT DISTINCT compression FROM pragma_storage_info(?) WHERE column_name = ? AND segment_type = 'VARCHAR' "
                    "AND persistent", [table, column]).fetchall()}
                assert kinds and kinds <= {"ZSTD", "Constant"}, (name, table, kinds)
        finally:
            con.close()


def test_every_asset_materialized_and_every_check_passed(built, tmp_path):
    _, _, result = built
    materialized = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert materialized == set(STAGES) | set(TABLES) | set(VIEWS) | set(ANALYTICS)
    evaluations = check_evaluations(result)
    expected_checks = {key for key in make_defs(tmp_path, tmp_path).resolve_asset_graph().asset_check_keys}
    assert {(k.asset_key.to_user_string(), k.name) for k in expected_checks} == set(evaluations)
    failed = {k: e.metadata for k, e in evaluations.items() if not e.passed}
    assert not failed
    assert ("metrics", "quote_matches_span") in evaluations
    assert ("documents", "files_accounted_for") in evaluations


def test_each_quote_is_its_span_of_the_cleaned_text(built):
    _, wh, _ = built
    df = query(wh, """SELECT m.metric_id, m.quote, m.char_start, m.char_end, d.cleaned_text
                      FROM metrics m JOIN documents d USING (doc_id)""")
    assert len(df) == count(wh, "metrics")
    bad = [r.metric_id for r in df.itertuples() if r.cleaned_text[r.char_start:r.char_end] != r.quote]
    assert not bad
    # each sentence contains its quote
    df = query(wh, "SELECT quote, sentence FROM metrics")
    assert all(q in s for q, s in zip(df["quote"], df["sentence"]))


def test_metrics_have_every_column_the_scorer_needs(built):
    _, wh, _ = built
    cols = query(wh, "DESCRIBE metrics").set_index("column_name")["column_type"].to_dict()
    missing = [c for c in SCORER_COLUMNS if c not in cols]
    assert not missing
    assert cols["value"] == "DOUBLE"
    assert cols["char_start"] in ("BIGINT", "INTEGER") and cols["period_end"] in ("BIGINT", "INTEGER")
    df = query(wh, "SELECT * FROM metrics")
    for c in ("source_file", "doc_id", "kind", "value", "quote", "sentence", "char_start", "char_end"):
        assert df[c].notna().all(), c
    assert set(df["source_file"]) <= {p.name for p in SAMPLES}
    # section ids point at sections of the same document
    orphans = query(wh, """SELECT count(*) n FROM metrics m LEFT JOIN sections s ON s.section_id = m.section_id
                           WHERE m.section_id IS NOT NULL AND (s.section_id IS NULL OR s.doc_id <> m.doc_id)""")
    assert orphans["n"].iloc[0] == 0


def test_views_are_queryable(built):
    _, wh, _ = built
    by_region = query(wh, "SELECT * FROM v_metrics_by_region_year")
    assert len(by_region) > 0
    assert by_region["n_metrics"].sum() == count(wh, "metrics")
    yoy = query(wh, "SELECT * FROM v_yoy_indicators")
    assert {"region", "indicator", "year", "value", "previous_value", "change_pct"} <= set(yoy.columns)


def test_raw_dir_is_a_resource_not_a_constant(built, tmp_path):
    """Pointing the definitions at another folder builds another warehouse from it."""
    raw2 = copy_samples(tmp_path / "raw2", SAMPLES[:2])
    wh2 = tmp_path / "wh2"
    result = run_job(raw2, wh2)
    assert count(wh2, "documents") == 2
    assert set(query(wh2, "SELECT source_file FROM documents")["source_file"]) == {p.name for p in SAMPLES[:2]}
    meta = result.asset_materializations_for_node("raw_documents")[0].metadata
    assert meta["raw_dir"].value == str(raw2.resolve())
    # the first warehouse is untouched
    _, wh, _ = built
    assert count(wh, "documents") == 5


def test_environment_configures_the_module_definitions(tmp_path, monkeypatch):
    raw = copy_samples(tmp_path / "raw", SAMPLES[:1])
    monkeypatch.setenv("ZHENGFA_RAW_DIR", str(raw))
    monkeypatch.setenv("ZHENGFA_WAREHOUSE_DIR", str(tmp_path / "wh"))
    from definitions import make_definitions

    res = make_definitions().resources
    assert res["corpus"].path == raw.resolve()
    assert res["warehouse"].path == (tmp_path / "wh").resolve()


def test_span_checks_detect_wrong_spans():
    """The checks of loaded rows can fail: one wrong metric span, one section past the end, one
    figure stored twice."""
    import pandas as pd

    from assets.warehouse import _conform, _loaded_faults

    text = "全年破获刑事案件2876起，同比上升5%。"
    docs = _conform(pd.DataFrame({"doc_id": ["d"], "cleaned_text": [text]}), "documents")
    mets = _conform(pd.DataFrame({"doc_id": ["d", "d", "other", "twice", "twice"],
                                  "quote": ["2876起", "5%", "1起", "1起", "1起"],
                                  "char_start": [8, 17, 0, 0, 0], "char_end": [13, 19, 2, 2, 2]}), "metrics", only=True)
    secs = _conform(pd.DataFrame({"doc_id": ["d", "d"], "char_start": [0, 5], "char_end": [len(text), len(text) + 1]}),
                    "sections")
    assert text[8:13] == "2876起" and text[18:20] == "5%" and text[17:19] != "5%"
    con = duckdb.connect()
    for name, df in (("documents", docs), ("metrics", mets), ("sections", secs)):
        con.register("_df", df)
        con.execute(f"CREATE TABLE {name} AS SELECT * FROM _df")
        con.unregister("_df")
    assert _loaded_faults(con, ["d", "other"]) == (1, 1, 0)
    assert _loaded_faults(con, ["other"]) == (0, 0, 0)  # only the documents asked about
    assert _loaded_faults(con, ["twice", "d"]) == (1, 1, 1)  # one span, subject, region and kind twice


def test_each_load_that_changes_metrics_refreshes_the_stored_views(tmp_path):
    raw, wh = copy_samples(tmp_path / "raw"), tmp_path / "wh"
    first = run_job(raw, wh)
    stored = [v for v in VIEWS if materialization_metadata(first, v)["materialized"] == "table"]
    assert "v_indicator_values" in stored
    assert {materialization_metadata(first, v)["refresh"] for v in stored} == {"rebuilt"}
    again = run_job(raw, wh)
    assert {materialization_metadata(again, v)["refresh"] for v in stored} == {"unchanged"}
    before = query(wh, "select count(*) as n from v_indicator_values")["n"].iloc[0]
    (raw / "另一县报告.txt").write_text("2023年，南昌县破获电信网络诈骗案件35起，同比下降12%。\n", encoding="utf-8")
    third = run_job(raw, wh)
    assert {materialization_metadata(third, v)["refresh"] for v in stored} == {"partitions"}
    # one new region: the indicator values are refreshed for it alone
    assert materialization_metadata(third, "v_indicator_values")["partitions_refreshed"] == 1
    assert query(wh, "select count(*) as n from v_indicator_values")["n"].iloc[0] > before
    con = duckdb.connect(str(wh / "zhengfa.duckdb"), read_only=True)
    try:  # the stored rows are what the SQL gives now
        for v in stored:
            body = (SQL_DIR / f"{v}.sql").read_text(encoding="utf-8").rstrip().rstrip(";")
            diff = con.execute(f'select count(*) from ((select * from "{v}") except all ({body}))').fetchone()[0]
            assert diff == 0, v
    finally:
        con.close()


def test_figures_mapped_by_another_taxonomy_are_mapped_again_at_load(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from tests.conftest import snapshot
    from zhengfa.store import StageStore

    raw, wh = copy_samples(tmp_path / "raw"), tmp_path / "wh"
    run_job(raw, wh)
    before = snapshot(wh, ["metrics"])
    assert query(wh, "select count(*) as n from metrics where indicator is not null")["n"].iloc[0] > 0
    # the stored figures as an older taxonomy mapped them: other codes, keys and flags
    for f in StageStore(wh, "metrics").files():
        t = pq.read_table(f)
        n = t.num_rows
        for col, value in (("indicator", None), ("series_key", "stale"), ("part_year", None),
                           ("taxonomy_version", "older")):
            t = t.set_column(t.schema.get_field_index(col), col, pa.array([value] * n, t.schema.field(col).type))
        pq.write_table(t, f)
    (wh / "zhengfa.duckdb").unlink()  # the next run loads every document from the stores
    run_job(raw, wh)
    assert snapshot(wh, ["metrics"]) == before


def test_subject_verdicts_are_kept_per_text_version(built, tmp_path):
    """The subject check judges each subject once per text version and reads the kept verdicts
    afterwards; its figures are what judging every subject again gives."""
    import shutil

    from assets.stages import TEXT_VERSION
    from assets.warehouse import VERDICTS, _subject_check
    from zhengfa.subjects import names_a_thing

    _, wh, _ = built
    copy = tmp_path / "wh.duckdb"
    shutil.copy(wh / "zhengfa.duckdb", copy)
    con = duckdb.connect(str(copy))
    try:
        counts = con.execute("SELECT subject, count(*) FROM metrics GROUP BY subject").fetchall()
        expected = sum(n for s, n in counts if not names_a_thing(s or ""))
        assert _subject_check(con).metadata["without_a_noun"].value == expected
        kept = con.execute(f'SELECT count(*), count(DISTINCT version) FROM "{VERDICTS}"').fetchone()
        assert kept == (len(counts), 1)
        assert con.execute(f'SELECT any_value(version) FROM "{VERDICTS}"').fetchone()[0] == TEXT_VERSION
        # the kept verdicts are what the next check reads: flipped, every subject counts as a fragment
        con.execute(f'UPDATE "{VERDICTS}" SET names_a_thing = false')
        assert _subject_check(con).metadata["without_a_noun"].value == sum(n for _, n in counts)
        # another text version's verdicts are not read
        con.execute(f"UPDATE \"{VERDICTS}\" SET version = 'older'")
        assert _subject_check(con).metadata["without_a_noun"].value == expected
    finally:
        con.close()
