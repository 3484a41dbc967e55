"""The warehouse: current tables loaded into DuckDB from the Parquet stores, in one transaction,
and the SQL views of dbt_like_sql/ (dependencies read from the SQL itself)."""

import hashlib
import uuid
from functools import lru_cache
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    AssetSpec,
    MaterializeResult,
    MetadataValue,
    asset,
    multi_asset,
)
from dagster_duckdb import DuckDBResource

from assets.stages import (POOL, DECODE_VERSION, TEXT_VERSION, document_source_keys, read_manifest,
                           read_sources_table)
from resources import Warehouse
from zhengfa import indicators as taxonomy
from zhengfa import regions as gazetteer
from zhengfa import relations
from zhengfa.relations import materialization, sql_dependencies
from assets.columns import column_schema
from zhengfa.store import StageStore, wait_for_duckdb, writer_lock

SQL_DIR = Path(__file__).resolve().parent.parent / "dbt_like_sql"
TABLES = ["documents", "sections", "metrics", "rejected_documents", "duplicate_files", "file_events",
          "source_problems", "indicators", "regions"]
METRIC_COLUMNS = ["metric_id", "source_file", "doc_id", "section_id", "kind", "value", "unit", "approx", "basis",
                  "subject", "indicator", "region", "period_start", "period_end", "quote", "sentence",
                  "char_start", "char_end", "in_caption", "in_repeated", "series_key", "part_year"]

_CHECKS = [
    AssetCheckSpec("quote_matches_span", asset="metrics",
                   description="each metric's char_start:char_end slice of its cleaned text equals its quote "
                               "(checked on the documents each load inserts)"),
    AssetCheckSpec("no_duplicate_metrics", asset="metrics",
                   description="no two rows share document, span, subject, region and kind (checked on the documents "
                               "each load inserts)"),
    AssetCheckSpec("values_finite", asset="metrics", description="every value is a finite number"),
    AssetCheckSpec("indicator_coverage", asset="metrics",
                   description="share of metrics whose subject maps to a taxonomy code (unmapped keep a null code)"),
    AssetCheckSpec("files_accounted_for", asset="documents",
                   description="files seen = accepted + duplicate names + rejected + skipped"),
    AssetCheckSpec("section_spans_in_text", asset="sections",
                   description="every section span lies inside its document (checked on the documents each load inserts)"),
    AssetCheckSpec("every_rejection_has_a_reason", asset="rejected_documents",
                   description="each rejected or skipped file says why"),
    AssetCheckSpec("duplicates_point_to_stored_files", asset="duplicate_files",
                   description="each duplicate name points to a stored document with the same content"),
    AssetCheckSpec("known_event_kinds", asset="file_events",
                   description="events are added, changed, renamed or removed"),
    AssetCheckSpec("region_coverage", asset="documents",
                   description="share of documents with a region (unknown regions listed)"),
    AssetCheckSpec("low_confidence_regions", asset="documents",
                   description="documents whose region the cues did not settle clearly (confidence < 0.6), with their evidence"),
    AssetCheckSpec("period_coverage", asset="metrics", description="share of metrics with a period"),
    AssetCheckSpec("periods_well_formed", asset="metrics",
                   description="no period open at its end (2021..null) and none that starts after it ends; "
                               "a cumulative figure with no known start (先后, 历年来: null..2023) is allowed"),
    AssetCheckSpec("subjects_name_a_thing", asset="metrics",
                   description="subjects that hold no noun naming what was counted (a bare verb, adverb or "
                               "function word: 投入, 率先), counted and listed; fails above 5% of metrics"),
    AssetCheckSpec("metadata_lines_usable", asset="source_problems",
                   description="every line of sources.jsonl is usable (problems listed with line number and reason)"),
]
LOW_CONFIDENCE = 0.6


_STR, _INT, _TS = "string", "Int64", "datetime64[us, UTC]"
# Column types of the warehouse tables, so a table has the same schema whether it has rows or not
# (an empty or all-null pandas column would otherwise become a DuckDB column of type NULL).
SCHEMAS: dict[str, dict[str, str]] = {
    "documents": {"doc_id": _STR, "source_file": _STR, "path": _STR, "url": _STR, "title": _STR, "outlet": _STR,
                  "publish_date": _STR, "publish_date_from": _STR, "report_year": _INT, "region": _STR,
                  "region_confidence": "float64", "region_evidence": _STR, "source_key": _STR, "cleaned_text": _STR,
                  "paragraphs": _STR, "n_paragraphs": _INT, "n_captions": _INT, "n_repeated": _INT,
                  "removed_lines": _INT, "size": _INT, "encoding": _STR, "was_html": "boolean",
                  "extracted_with": _STR},
    "sections": {"section_id": _STR, "doc_id": _STR, "ord": _INT, "level": _INT, "kind": _STR, "heading": _STR,
                 "parent_id": _STR, "series": _INT, "char_start": _INT, "char_end": _INT, "text": _STR,
                 "region": _STR, "paragraph_idx": _STR},
    "metrics": {"metric_id": _STR, "source_file": _STR, "doc_id": _STR, "section_id": _STR, "kind": _STR,
                "value": "float64", "unit": _STR, "approx": _STR, "basis": _STR, "subject": _STR,
                "indicator": _STR, "region": _STR, "period_start": _INT, "period_end": _INT, "quote": _STR,
                "sentence": _STR, "char_start": _INT, "char_end": _INT, "in_caption": "boolean",
                "in_repeated": "boolean", "series_key": _STR, "part_year": "boolean"},
    "rejected_documents": {"path": _STR, "file_name": _STR, "size": _INT, "status": _STR, "reason": _STR,
                           "doc_id": _STR, "scanned_at": _TS},
    "duplicate_files": {"path": _STR, "file_name": _STR, "doc_id": _STR, "duplicate_of": _STR, "scanned_at": _TS},
    "file_events": {"path": _STR, "event": _STR, "doc_id": _STR, "previous_doc_id": _STR, "previous_path": _STR,
                    "event_at": _TS},
    "source_problems": {"line": _INT, "file": _STR, "reason": _STR, "text": _STR},
    "indicators": {"code": _STR, "category": _STR, "category_zh": _STR, "category_en": _STR, "parent": _STR,
                   "name_zh": _STR, "name_en": _STR, "kinds": _STR, "actors": _STR, "variants": _STR,
                   "taxonomy_version": _STR},
    "regions": {"region": _STR, "level": _STR, "adcode": _STR, "parent": _STR, "city": _STR, "province": _STR,
                "n_children": _INT},
}
assert list(SCHEMAS["metrics"]) == METRIC_COLUMNS


def _conform(df: pd.DataFrame, table: str, only: bool = False) -> pd.DataFrame:
    """Give `df` the table's columns and types; `only` drops columns not in the schema."""
    schema = SCHEMAS[table]
    df = df.copy() if not df.empty else pd.DataFrame(columns=list(schema))
    for col in schema:
        if col not in df.columns:
            df[col] = None
    cols = list(schema) if only or df.empty else list(df.columns)
    df = df[cols].reset_index(drop=True)
    for col, dtype in schema.items():
        if dtype.startswith("datetime"):
            df[col] = pd.to_datetime(df[col], utc=True).astype(dtype)
        elif dtype == _INT:
            df[col] = pd.to_numeric(df[col]).round().astype(dtype)
        else:
            df[col] = df[col].astype(dtype)
    for col in df.columns:  # columns the schema does not know: never a NULL-typed column
        if col not in schema and df[col].isna().all():
            df[col] = df[col].astype(_STR)
    return df


@multi_asset(
    specs=[AssetSpec(t, group_name="warehouse", deps=["metric_mentions"],
                     description=f"Warehouse table `{t}` in zhengfa.duckdb, rebuilt from the Parquet stores")
           for t in TABLES],
    check_specs=_CHECKS,
    pool=POOL,
    can_subset=False,
)
def warehouse_tables(context: AssetExecutionContext, warehouse: Warehouse, duckdb: DuckDBResource):
    """Per-document tables are updated incrementally: rows of documents no longer live (or
    extracted by other code) are deleted and the new ones inserted, in one transaction; the small
    file tables are replaced. A missing table or a changed schema rebuilds everything."""
    with writer_lock(warehouse.path, log=context.log.info):
        wait_for_duckdb(warehouse.duckdb_path, log=context.log.warning)
        manifest = read_manifest(warehouse)
        accepted = manifest[manifest["status"] == "accepted"]
        live = set(accepted["doc_id"].dropna())
        names, paths = {}, {}  # the first accepted file of each document
        for d, name, path in zip(accepted["doc_id"].tolist(), accepted["file_name"].tolist(), accepted["path"].tolist()):
            if isinstance(d, str) and d not in names:
                names[d], paths[d] = name, path
        with duckdb.get_connection() as con:
            rebuild = not _schemas_match(con)
            present = {} if rebuild else {d: (v, k or "") for d, v, k in con.execute(
                "SELECT doc_id, extracted_with, source_key FROM documents").fetchall()}
            # a document stays when its rows came from this code and from its current page metadata
            keys = document_source_keys(warehouse)
            keep = {d for d, (v, k) in present.items() if d in live and v == TEXT_VERSION and k == keys.get(d, "")}
            drop = sorted(set(present) - keep)
            add = sorted(live - keep)
            # the file events are a log of 100,000 rows at 100,000 documents: read and replaced only
            # when its batches changed (their names and sizes, and this module, make its version)
            events_version = _events_version(warehouse)
            stored_versions = {} if rebuild else relations.relation_versions(con)  # as of the last load
            events_same = (not rebuild and _has_schema(con, "file_events")
                           and stored_versions.get("file_events") == events_version)
            files = _file_frames(warehouse, manifest, events=not events_same)
            mapping = pd.DataFrame({"doc_id": list(names), "source_file": list(names.values()),
                                    "path": [paths[d] for d in names]}, columns=["doc_id", "source_file", "path"])
            remap = not rebuild and _taxonomy_changed(con)
            # DuckDB holds a transaction's new rows in memory until it commits: a load of more than
            # one chunk (a first build, a full refresh) commits each chunk, so memory stays flat; a
            # run killed during it leaves whole documents, and the next run loads the rest
            per_chunk = len(add) > LOAD_CHUNK
            if per_chunk:
                # no checkpoint after each chunk: each would rewrite the table's growing last row
                # group (quadratic); one checkpoint at the end writes everything once (zstd, as
                # every write: DuckDB's own analysis of Chinese text runs at ~12 MB/s, zstd far faster)
                con.execute("SET checkpoint_threshold = '1TB'")
            con.execute("BEGIN TRANSACTION")
            try:
                if remap:  # the taxonomy changed: every stored figure is mapped again
                    _remap_indicators(con)
                for name in ("documents", "sections", "metrics"):
                    if rebuild:
                        _replace(con, name, _conform(pd.DataFrame(), name, only=True))
                    elif drop or add:
                        con.register("_gone", pd.DataFrame({"doc_id": drop + add}, dtype="string"))
                        con.execute(f'DELETE FROM "{name}" WHERE doc_id IN (SELECT doc_id FROM _gone)')
                        con.unregister("_gone")
                # the new documents' rows, a chunk at a time straight from the stores
                faults = [0, 0, 0]
                for chunk in _load_documents(con, warehouse, manifest, add, names, paths):
                    faults = [a + b for a, b in zip(faults, _loaded_faults(con, chunk, prefix=NEW))]
                    if per_chunk:
                        con.execute("COMMIT")
                        con.execute("BEGIN TRANSACTION")
                for name in ("documents", "sections", "metrics"):
                    con.execute(f'DROP TABLE IF EXISTS temp.main."{NEW}{name}"')
                # renamed files and duplicates taking over a name: refresh the names of every live document
                con.register("_names", mapping.astype("string"))
                con.execute("""UPDATE documents SET source_file = n.source_file, path = n.path FROM _names n
                               WHERE documents.doc_id = n.doc_id
                                 AND (documents.source_file IS DISTINCT FROM n.source_file
                                      OR documents.path IS DISTINCT FROM n.path)""")
                renamed = con.execute("""UPDATE metrics SET source_file = n.source_file FROM _names n
                               WHERE metrics.doc_id = n.doc_id AND metrics.source_file IS DISTINCT FROM n.source_file
                               """).fetchone()[0]
                con.unregister("_names")
                # the regions table is computed again only when the regions named or the gazetteer changed
                labels = _region_labels(con)
                versions = {"regions": regions_version(labels)}
                if (rebuild or stored_versions.get("regions") != versions["regions"]
                        or not _has_schema(con, "regions")):
                    files["regions"] = _regions_frame(labels)
                for name, df in files.items():
                    _replace(con, name, df)
                changed = rebuild or remap or bool(drop or add or renamed)
                # a new version for each table this load wrote: stored views that read it are refreshed
                versions |= {name: relations.frame_version(df) for name, df in files.items()
                             if name not in ("regions", "file_events")}
                if "file_events" in files:
                    versions["file_events"] = events_version
                if changed:
                    versions.update({n: uuid.uuid4().hex for n in ("documents", "sections", "metrics")})
                relations.record_versions(con, versions)
                con.execute("COMMIT")
            except Exception:
                con.execute("ROLLBACK")
                raise
            finally:
                if per_chunk:
                    con.execute("RESET checkpoint_threshold")
            if per_chunk:
                con.execute("CHECKPOINT")
            counts = {t: con.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in TABLES}
            previews = {t: con.execute(f'SELECT * FROM "{t}" LIMIT 5').df() for t in TABLES}
            schemas = {t: column_schema(con, t) for t in TABLES}
            checks = _checks(con, manifest, tuple(faults), len(add))
    context.log.info(f"warehouse: {'rebuilt' if rebuild else 'updated'}; {len(add)} documents in, "
                     f"{len(set(drop) - set(add))} out, {len(keep)} kept")
    for name in TABLES:
        df = previews[name]
        yield MaterializeResult(asset_key=AssetKey(name), metadata={
            "dagster/row_count": int(counts[name]),
            "dagster/column_schema": schemas[name],
            "documents_inserted": len(add) if name in ("documents", "sections", "metrics") else 0,
            "documents_deleted": len(drop) if name in ("documents", "sections", "metrics") else 0,
            "preview": MetadataValue.md(df.astype(str).apply(lambda c: c.str.slice(0, 30)).to_markdown(index=False))
            if not df.empty else MetadataValue.md("_no rows_"),
        })
    yield from checks


LOAD_CHUNK = 2000  # documents per insert (and per commit in a large load): what the load holds at once


# what each table takes from outside its store: the file's name and path, its size, how it was
# decoded, the code that extracted it (sources: m = the file, r = the raw store, s = the stage store)
_FROM_ELSEWHERE = {
    "documents": {"source_file": "m.source_file", "path": "m.path", "size": "m.size", "encoding": "r.encoding",
                  "was_html": "r.html", "extracted_with": f"'{TEXT_VERSION}'"},
    "sections": {},
    "metrics": {"source_file": "m.source_file"},
}
_ROW_ID = {"documents": None, "sections": "section_id", "metrics": "metric_id"}


def _load_documents(con, warehouse: Warehouse, manifest: pd.DataFrame, ids: list[str], names: dict, paths: dict):
    """Insert the rows of the documents `ids` into documents, sections and metrics, LOAD_CHUNK
    documents at a time, yielding each chunk's ids once it is in. DuckDB reads each document's
    latest batch of each store straight from Parquet (no rows pass through Python); figures mapped
    with another taxonomy than the current one are mapped again."""
    if not ids:
        return
    latest = {stage: StageStore(warehouse.path, stage).latest_files(version, ids)
              for stage, version in (("raw", DECODE_VERSION), ("documents", TEXT_VERSION),
                                     ("sections", TEXT_VERSION), ("metrics", TEXT_VERSION))}
    # in the order of the documents store's batches: the documents of a chunk then sit in a few
    # batch files of each store (written together), and each insert reads only those, not the store
    ids = sorted(ids, key=lambda d: (latest["documents"].get(d, ""), d))
    first = manifest.drop_duplicates("doc_id")
    sizes = dict(zip(first["doc_id"].tolist(), first["size"].tolist()))
    for i in range(0, len(ids), LOAD_CHUNK):
        chunk = ids[i:i + LOAD_CHUNK]
        # each chunk's file names alone: a join with every document's would cost each insert a
        # scan that grows with the collection
        con.register("_file", pa.table({"doc_id": pa.array(chunk, pa.string()),
                                        "source_file": pa.array([names.get(d) for d in chunk], pa.string()),
                                        "path": pa.array([paths.get(d) for d in chunk], pa.string()),
                                        "size": pa.array([_int_or_none(sizes.get(d)) for d in chunk], pa.int64())}))
        try:
            for table in ("documents", "sections", "metrics"):
                _insert_from_store(con, warehouse, table, chunk, latest)
        finally:
            con.unregister("_file")
        stale = _stale_mappings(con, warehouse, chunk, latest["metrics"])
        if stale:
            _remap_indicators(con, stale)
        yield chunk


def _int_or_none(x) -> int | None:
    return None if x is None or pd.isna(x) else int(x)


def _latest_rows(con, stage: str, chunk: list[str], latest: dict[str, str], alias: str) -> str | None:
    """Register which batch file holds each document's current rows of `stage` (as `_want_<alias>`)
    and return the FROM item reading them, or None when the store has none of them."""
    want = [(d, latest[d]) for d in chunk if d in latest]
    if not want:
        return None
    con.register(f"_want_{alias}", pd.DataFrame({"doc_id": [d for d, _ in want], "file": [f for _, f in want]},
                                                dtype="string"))
    files = ", ".join("'" + f.replace("'", "''") + "'" for f in sorted({f for _, f in want}))
    version = DECODE_VERSION if stage == "raw" else TEXT_VERSION
    return (f"(SELECT x.* FROM read_parquet([{files}], union_by_name=true, filename=true) x "
            f"JOIN _want_{alias} w ON x.doc_id = w.doc_id AND x.filename = w.file "
            f"WHERE x.code_version = '{version}') {alias}")


NEW = "_new_"  # prefix of the temporary tables holding the rows of the chunk being loaded


def _insert_from_store(con, warehouse: Warehouse, table: str, chunk: list[str], latest: dict) -> None:
    """Insert the chunk's rows of `table`, staged first in the temporary table _new_<table>: the
    checks of loaded rows read them there, not by scanning a table that grows with the collection."""
    source = _latest_rows(con, table, chunk, latest[table], "s")
    if source is None:
        con.execute(f'CREATE OR REPLACE TEMP TABLE "{NEW}{table}" AS SELECT * FROM "{table}" LIMIT 0')
        return
    raw = _latest_rows(con, "raw", chunk, latest["raw"], "r") if table == "documents" else None
    try:
        stored = set(StageStore(warehouse.path, table).schema(sorted({latest[table][d] for d in chunk
                                                                       if d in latest[table]})).names)
        columns = con.execute(f"SELECT column_name, data_type FROM information_schema.columns "
                              f"WHERE table_name = '{table}' AND table_schema = 'main' "
                              "AND table_catalog = current_database() ORDER BY ordinal_position").fetchall()
        exprs = []
        for col, typ in columns:
            expr = _FROM_ELSEWHERE[table].get(col) or (f's."{col}"' if col in stored else "NULL")
            if expr.startswith("r.") and raw is None:
                expr = "NULL"  # no decoded batch left for these documents
            exprs.append(f'CAST({expr} AS {typ}) AS "{col}"')
        joins = "LEFT JOIN _file m ON m.doc_id = s.doc_id" + (f" LEFT JOIN {raw} ON r.doc_id = s.doc_id" if raw else "")
        row_id = _ROW_ID[table]
        where = f'WHERE s."{row_id}" IS NOT NULL' if row_id else ""  # markers of documents without rows
        con.execute(f'CREATE OR REPLACE TEMP TABLE "{NEW}{table}" AS '
                    f'SELECT {", ".join(exprs)} FROM {source} {joins} {where}')
        con.execute(f'INSERT INTO "{table}" SELECT * FROM "{NEW}{table}"')
    finally:
        con.unregister("_want_s")
        if raw is not None:
            con.unregister("_want_r")


def _stale_mappings(con, warehouse: Warehouse, chunk: list[str], latest: dict[str, str]) -> list[str]:
    """Documents of the chunk whose stored figures were mapped by another taxonomy (or by code
    that did not map them)."""
    files = sorted({latest[d] for d in chunk if d in latest})
    if not files:
        return []
    if "taxonomy_version" not in StageStore(warehouse.path, "metrics").schema(files).names:
        return [d for d in chunk if d in latest]
    if all(_only_value(f, "taxonomy_version") == taxonomy.version() for f in files):
        return []  # the files' statistics say every figure in them was mapped by this taxonomy
    con.register("_chunk", pd.DataFrame({"doc_id": chunk}, dtype="string"))
    try:
        return [d for (d,) in con.execute(
            "SELECT DISTINCT doc_id FROM read_parquet(?, union_by_name=true) WHERE metric_id IS NOT NULL "
            "AND doc_id IN (SELECT doc_id FROM _chunk) AND taxonomy_version IS DISTINCT FROM ?",
            [files, taxonomy.version()]).fetchall()]
    finally:
        con.unregister("_chunk")


_MODULE_VERSION = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:12]


def _events_version(warehouse: Warehouse) -> str:
    """A version of the file events table: its batches (written once, never changed in place)
    by name and size, and the code that reads them."""
    store = StageStore(warehouse.path, "file_events")
    listing = [(Path(f).name, Path(f).stat().st_size) for f in store.files()]
    return relations.frame_version(pd.DataFrame(listing, columns=["batch", "size"])) + _MODULE_VERSION


def _file_frames(warehouse: Warehouse, manifest: pd.DataFrame, events: bool = True) -> dict[str, pd.DataFrame]:
    """The per-file tables, replaced whole (file_events only when `events`)."""
    frames = {"rejected_documents": _conform(manifest[manifest["status"].isin(["rejected", "skipped"])],
                                             "rejected_documents", only=True),
              "duplicate_files": _conform(manifest[manifest["status"] == "duplicate"], "duplicate_files", only=True),
              "source_problems": _conform(read_sources_table(warehouse, "source_problems"), "source_problems",
                                          only=True),
              "indicators": _conform(pd.DataFrame([{**r, "taxonomy_version": taxonomy.version()}
                                                   for r in taxonomy.taxonomy_rows()]), "indicators", only=True)}
    if events:
        frames["file_events"] = _file_events(warehouse)
    return frames


def _file_events(warehouse: Warehouse) -> pd.DataFrame:
    # file events are a log: every batch adds rows (a 'removed' event has no doc_id), so all
    # batches are read, not the latest batch per document
    events = StageStore(warehouse.path, "file_events").history("events")
    if not events.empty:
        events = events.drop(columns=["code_version"], errors="ignore").sort_values("event_at", kind="stable")
        if "since" in events.columns:  # repeats written by a run that died before its manifest
            key = ["since", "path", "event", "doc_id", "previous_doc_id", "previous_path"]
            repeat = events["since"].notna() & events.duplicated(key, keep="last")
            events = events[~repeat]
    return _conform(events, "file_events", only=True)


def _with_indicators(mets: pd.DataFrame) -> pd.DataFrame:
    """Indicator code (with the actor its sentence names), series key and part-year flag of
    each figure, from the taxonomy as it is now."""
    if mets.empty or "subject" not in mets.columns:
        return mets
    mapped = [taxonomy.map_metric(s, k, sen, q) for s, k, sen, q in
              zip(mets["subject"], mets["kind"], mets["sentence"], mets["quote"])]
    mets = mets.copy()
    for col in ("indicator", "series_key", "part_year"):
        mets[col] = [m[col] for m in mapped]
    return mets


def _taxonomy_changed(con) -> bool:
    try:
        stored = {r[0] for r in con.execute("SELECT DISTINCT taxonomy_version FROM indicators").fetchall()}
    except Exception:  # no table yet
        return True
    return stored != {taxonomy.version()}


def _only_value(path: str, column: str):
    """The single non-null value a Parquet file's column holds (nulls are the marker rows of
    documents without figures), from its row groups' statistics: no data is read. None when they
    show several values or none, or have no statistics."""
    meta = pq.ParquetFile(path).metadata
    values = set()
    for g in range(meta.num_row_groups):
        group = meta.row_group(g)
        idx = next((i for i in range(group.num_columns) if group.column(i).path_in_schema == column), None)
        stats = group.column(idx).statistics if idx is not None else None
        if stats is None:
            return None
        if not stats.has_min_max:
            if stats.null_count == group.column(idx).num_values:
                continue  # only marker rows in this group
            return None
        values.update((stats.min, stats.max))
    return values.pop() if len(values) == 1 else None


def _remap_indicators(con, doc_ids: list[str] | None = None) -> None:
    """Map the figures again with the taxonomy as it is now (of the given documents, or all)."""
    if doc_ids is None:
        df = con.execute("SELECT metric_id, subject, kind, sentence, quote FROM metrics").df()
    else:
        con.register("_remap", pd.DataFrame({"doc_id": doc_ids}, dtype="string"))
        df = con.execute("SELECT metric_id, subject, kind, sentence, quote FROM metrics "
                         "WHERE doc_id IN (SELECT doc_id FROM _remap)").df()
        con.unregister("_remap")
    if df.empty:
        return
    df = _with_indicators(df)[["metric_id", "indicator", "series_key", "part_year"]]
    con.register("_mapped", df.astype({"metric_id": "string", "indicator": "string", "series_key": "string",
                                       "part_year": "boolean"}))
    con.execute("""UPDATE metrics SET indicator = m.indicator, series_key = m.series_key, part_year = m.part_year
                   FROM _mapped m WHERE metrics.metric_id = m.metric_id""")
    con.unregister("_mapped")


def _region_labels(con) -> set[str]:
    return {r[0] for r in con.execute("SELECT DISTINCT region FROM metrics WHERE coalesce(region, '') <> ''").fetchall()}


@lru_cache(maxsize=1)
def _gazetteer_version() -> str:
    """Changes with the division data or the code that reads it."""
    h = hashlib.sha256(gazetteer._location_file().read_bytes())
    h.update(Path(gazetteer.__file__).read_bytes())
    return h.hexdigest()[:12]


def regions_version(labels: set[str]) -> str:
    """What the regions table is computed from: the regions the figures name, and the gazetteer."""
    return relations.frame_version(pd.DataFrame({"region": sorted(labels)})) + _gazetteer_version()


def _regions_frame(labels: set[str]) -> pd.DataFrame:
    """The regions the figures name (`labels`) and their ancestors in the gazetteer (district →
    city → province), with how many units the gazetteer lists directly below each: what a
    roll-up needs to say how complete it is."""
    by_label = gazetteer.units_by_label()
    units = {}
    for label in labels:
        u = by_label.get(label)
        while u is not None and u.label not in units:
            units[u.label] = u
            u = gazetteer.parent_of(u)
    children: dict[str, int] = {}
    for u in gazetteer.gazetteer().units:
        p = gazetteer.parent_of(u)
        if p is not None and p.label in units and u.level in ("city", "county"):
            children[p.label] = children.get(p.label, 0) + 1
    rows = []
    for label, u in sorted(units.items()):
        p = gazetteer.parent_of(u)
        rows.append({"region": label, "level": u.level, "adcode": u.adcode,
                     "parent": p.label if p else ("全国" if u.level == "province" else None),
                     "city": u.city if u.level == "county" else (u.name if u.level == "city" else None),
                     "province": u.province, "n_children": children.get(label, 0)})
    if units:
        labels = labels | {"全国"}
    for label in sorted(labels - set(units)):  # 全国, or a name the gazetteer does not hold
        rows.append({"region": label, "level": "country" if label == "全国" else None, "adcode": None,
                     "parent": None, "city": None, "province": None,
                     "n_children": sum(1 for u in gazetteer.gazetteer().units if u.level == "province")
                     if label == "全国" else 0})
    return _conform(pd.DataFrame(rows), "regions", only=True)


def _replace(con, name: str, df: pd.DataFrame) -> None:
    con.register("_frame", df)
    con.execute(f'CREATE OR REPLACE TABLE "{name}" AS SELECT * FROM _frame')
    con.unregister("_frame")


def _schemas_match(con) -> bool:
    """Whether the per-document tables exist with the columns this code writes."""
    return all(_has_schema(con, name) for name in ("documents", "sections", "metrics"))


def _has_schema(con, name: str) -> bool:
    """Whether table `name` exists with the columns this code writes."""
    cols = [r[0] for r in con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = ? ORDER BY ordinal_position",
        [name]).fetchall()]
    return cols == list(SCHEMAS[name])


def _loaded_faults(con, doc_ids: list[str], prefix: str = "") -> tuple[int, int, int]:
    """(metrics whose span of the cleaned text is not their quote, sections outside their document,
    groups of duplicate metrics) among the given documents' rows, read from the tables
    <prefix>documents, <prefix>sections and <prefix>metrics. Each fault lies within one document,
    so checking the documents a load inserted (staged in _new_* tables) checks every row it wrote,
    at a cost that does not grow with the warehouse.

    Compared with Python string slicing: DuckDB's substr on UTF-8 scans from the start of the text
    for every row, which is quadratic on a long document (a 3 MB article with 72k figures took 27 s)."""
    con.register("_spans", pd.DataFrame({"doc_id": doc_ids}, dtype="string"))
    try:
        text = dict(con.execute(f"SELECT doc_id, cleaned_text FROM {prefix}documents "
                                "WHERE doc_id IN (SELECT doc_id FROM _spans)").fetchall())
        bad_metrics = 0
        for d, a, b, q in con.execute(f"SELECT doc_id, char_start, char_end, quote FROM {prefix}metrics "
                                      "WHERE doc_id IN (SELECT doc_id FROM _spans)").fetchall():
            t = text.get(d)
            if t is None or a is None or b is None or q is None:
                continue  # no document or null span: not compared
            if t[a:b] != q:
                bad_metrics += 1
        bad_sections = 0
        for d, a, b in con.execute(f"SELECT doc_id, char_start, char_end FROM {prefix}sections "
                                   "WHERE doc_id IN (SELECT doc_id FROM _spans)").fetchall():
            t = text.get(d)
            if t is None or a is None or b is None:
                continue
            if a < 0 or b > len(t) or a > b:
                bad_sections += 1
        duplicates = con.execute(f"""SELECT count(*) FROM (
                                      SELECT doc_id, char_start, char_end, subject, region, kind, count(*) c
                                      FROM {prefix}metrics WHERE doc_id IN (SELECT doc_id FROM _spans)
                                      GROUP BY ALL HAVING c > 1)""").fetchall()[0][0]
    finally:
        con.unregister("_spans")
    return bad_metrics, bad_sections, duplicates


def _checks(con, manifest: pd.DataFrame, faults: tuple[int, int, int], loaded: int) -> list[AssetCheckResult]:
    """`faults`: (metrics whose span is not their quote, sections outside their document, groups
    of duplicate metrics) among the `loaded` documents just inserted (see _loaded_faults)."""
    out = []
    bad_spans, bad_secs, dups = faults
    out.append(AssetCheckResult(asset_key="metrics", check_name="quote_matches_span", passed=bad_spans == 0,
                                metadata={"mismatched": int(bad_spans), "documents_checked": loaded}))
    out.append(AssetCheckResult(asset_key="metrics", check_name="no_duplicate_metrics", passed=dups == 0,
                                metadata={"duplicate_groups": int(dups), "documents_checked": loaded}))
    nonfinite = con.execute("SELECT count(*) FROM metrics WHERE value IS NULL OR NOT isfinite(value)").fetchone()[0]
    out.append(AssetCheckResult(asset_key="metrics", check_name="values_finite", passed=nonfinite == 0,
                                metadata={"non_finite": int(nonfinite)}))
    total, unmapped = con.execute("SELECT count(*), count(*) FILTER (WHERE indicator IS NULL) FROM metrics").fetchone()
    top = con.execute("""SELECT subject, count(*) n FROM metrics WHERE indicator IS NULL
                         GROUP BY subject ORDER BY n DESC, subject LIMIT 10""").df()
    share = 1 - unmapped / total if total else 1.0
    out.append(AssetCheckResult(asset_key="metrics", check_name="indicator_coverage", passed=True,
                                severity=AssetCheckSeverity.WARN,
                                metadata={"metrics": int(total), "unmapped": int(unmapped), "mapped_share": round(share, 3),
                                          "top_unmapped": MetadataValue.md(top.to_markdown(index=False) if not top.empty else "-")}))
    docs = con.execute("SELECT count(*) FROM documents").fetchone()[0]
    rej = con.execute("SELECT count(*) FROM rejected_documents").fetchone()[0]
    dup = con.execute("SELECT count(*) FROM duplicate_files").fetchone()[0]
    # several names can share one accepted content: count accepted files, not documents
    accepted_files = int((manifest["status"] == "accepted").sum())
    seen = len(manifest)
    out.append(AssetCheckResult(asset_key="documents", check_name="files_accounted_for",
                                passed=accepted_files + dup + rej == seen and docs == manifest.loc[manifest["status"] == "accepted", "doc_id"].nunique(),
                                metadata={"files_seen": seen, "accepted": accepted_files, "documents": int(docs),
                                          "duplicates": int(dup), "rejected_or_skipped": int(rej)}))
    out.append(AssetCheckResult(asset_key="sections", check_name="section_spans_in_text", passed=bad_secs == 0,
                                metadata={"bad_spans": int(bad_secs), "documents_checked": loaded}))
    no_reason = con.execute("SELECT count(*) FROM rejected_documents WHERE reason IS NULL OR reason = ''").fetchone()[0]
    reasons = con.execute("""SELECT split_part(reason, ':', 1) AS reason, count(*) AS files FROM rejected_documents
                             GROUP BY 1 ORDER BY 2 DESC""").df()
    out.append(AssetCheckResult(asset_key="rejected_documents", check_name="every_rejection_has_a_reason",
                                passed=no_reason == 0, metadata={
                                    "without_reason": int(no_reason),
                                    "by_reason": MetadataValue.md(reasons.to_markdown(index=False) if not reasons.empty else "-")}))
    orphans = con.execute("""SELECT count(*) FROM duplicate_files d LEFT JOIN documents s USING (doc_id)
                             WHERE s.doc_id IS NULL""").fetchone()[0]
    out.append(AssetCheckResult(asset_key="duplicate_files", check_name="duplicates_point_to_stored_files",
                                passed=orphans == 0, metadata={"orphans": int(orphans)}))
    unknown = con.execute("""SELECT count(*) FROM file_events
                             WHERE event NOT IN ('added', 'changed', 'renamed', 'removed')""").fetchone()[0]
    out.append(AssetCheckResult(asset_key="file_events", check_name="known_event_kinds", passed=unknown == 0,
                                metadata={"unknown": int(unknown)}))
    out.extend(_where_when_checks(con))
    out.append(_subject_check(con))
    return out


FRAGMENT_SHARE_MAX = 0.05


VERDICTS = "_subject_verdicts"  # subject, text version → whether it names a thing (kept: jieba is slow to load)


def _subject_check(con) -> AssetCheckResult:
    """Subjects without a noun that names a thing, by how many metrics carry them. A subject is
    judged once per text version (the verdict is kept in _subject_verdicts): a run that brings no
    new subject needs no tagger."""
    con.execute(f'CREATE TABLE IF NOT EXISTS "{VERDICTS}" (subject VARCHAR, version VARCHAR, names_a_thing BOOLEAN)')
    counts = con.execute(f"""SELECT m.subject, count(*) AS n, any_value(v.names_a_thing) AS ok
                             FROM metrics m LEFT JOIN "{VERDICTS}" v
                               ON v.subject = coalesce(m.subject, '') AND v.version = ?
                             GROUP BY m.subject""", [TEXT_VERSION]).fetchall()
    unknown = [s or "" for s, _, ok in counts if ok is None]
    if unknown:
        from zhengfa.subjects import names_a_thing

        judged = {s: names_a_thing(s) for s in unknown}
        con.execute(f'DELETE FROM "{VERDICTS}" WHERE version <> ?', [TEXT_VERSION])
        con.register("_judged", pa.table({"subject": pa.array(list(judged), pa.string()),
                                          "ok": pa.array(list(judged.values()), pa.bool_())}))
        con.execute(f'INSERT INTO "{VERDICTS}" SELECT subject, ?, ok FROM _judged', [TEXT_VERSION])
        con.unregister("_judged")
        counts = [(s, n, judged[s or ""] if ok is None else ok) for s, n, ok in counts]
    total = sum(n for _, n, _ in counts)
    bad = sorted(((s, n) for s, n, ok in counts if not ok), key=lambda x: (-x[1], x[0] or ""))
    n_bad = sum(n for _, n in bad)
    share = n_bad / total if total else 0.0
    listing = pd.DataFrame(bad[:30], columns=["subject", "metrics"])
    return AssetCheckResult(asset_key="metrics", check_name="subjects_name_a_thing",
                            passed=share <= FRAGMENT_SHARE_MAX, severity=AssetCheckSeverity.WARN,
                            metadata={"metrics": int(total), "without_a_noun": int(n_bad), "share": round(share, 4),
                                      "subjects": _md(listing)})


def _md(df: pd.DataFrame) -> MetadataValue:
    return MetadataValue.md(df.astype(str).to_markdown(index=False) if not df.empty else "-")


def _where_when_checks(con) -> list[AssetCheckResult]:
    """Where and when: regions and periods found, low-confidence regions, well-formed periods,
    usable page metadata."""
    out = []
    docs, with_region = con.execute("SELECT count(*), count(*) FILTER (WHERE coalesce(region, '') <> '') "
                                    "FROM documents").fetchone()
    unknown = con.execute("""SELECT source_file, title, url FROM documents WHERE coalesce(region, '') = ''
                             ORDER BY source_file LIMIT 20""").df()
    out.append(AssetCheckResult(asset_key="documents", check_name="region_coverage", passed=True,
                                severity=AssetCheckSeverity.WARN,
                                metadata={"documents": int(docs), "with_region": int(with_region),
                                          "share": round(with_region / docs, 3) if docs else 1.0,
                                          "without_region": _md(unknown)}))
    low = con.execute("""SELECT source_file, region, round(region_confidence, 2) AS confidence,
                                json_extract_string(region_evidence, '$.reason') AS reason
                         FROM documents WHERE coalesce(region, '') <> '' AND region_confidence < ?
                         ORDER BY region_confidence, source_file""",
                      [LOW_CONFIDENCE]).df()
    out.append(AssetCheckResult(asset_key="documents", check_name="low_confidence_regions", passed=low.empty,
                                severity=AssetCheckSeverity.WARN,
                                metadata={"low_confidence": len(low), "threshold": LOW_CONFIDENCE,
                                          "documents": _md(low.head(20))}))
    total, with_period = con.execute("SELECT count(*), count(*) FILTER (WHERE period_end IS NOT NULL) "
                                     "FROM metrics").fetchone()
    out.append(AssetCheckResult(asset_key="metrics", check_name="period_coverage", passed=True,
                                severity=AssetCheckSeverity.WARN,
                                metadata={"metrics": int(total), "with_period": int(with_period),
                                          "share": round(with_period / total, 3) if total else 1.0}))
    bad = con.execute("""SELECT source_file, quote, subject, period_start, period_end FROM metrics
                         WHERE (period_start IS NOT NULL AND period_end IS NULL) OR period_start > period_end
                         LIMIT 20""").df()
    out.append(AssetCheckResult(asset_key="metrics", check_name="periods_well_formed", passed=bad.empty,
                                metadata={"malformed": len(bad), "examples": _md(bad)}))
    probs = con.execute("SELECT line, file, reason FROM source_problems ORDER BY line LIMIT 50").df()
    out.append(AssetCheckResult(asset_key="source_problems", check_name="metadata_lines_usable", passed=probs.empty,
                                severity=AssetCheckSeverity.WARN,
                                metadata={"unusable_lines": len(probs), "lines": _md(probs)}))
    return out


# ---------------------------------------------------------------- SQL views

def _view_asset(path: Path):
    name = path.stem
    sql = path.read_text(encoding="utf-8")
    deps = sql_dependencies(sql)
    kind = materialization(sql)
    description = " ".join(line[2:].strip() for line in sql.splitlines()
                           if line.startswith("--") and not relations.is_directive(line)) or f"View {name}"
    if kind == "table":
        description += " (Stored as a table, refreshed where the rows it reads changed.)"

    @asset(name=name, group_name="views", deps=[AssetKey(d) for d in deps], pool=POOL,
           description=description, code_version=hashlib.sha256(sql.encode()).hexdigest()[:12],
           check_specs=[AssetCheckSpec("view_queryable", asset=name)])
    def _view(context: AssetExecutionContext, warehouse: Warehouse, duckdb: DuckDBResource) -> MaterializeResult:
        with writer_lock(warehouse.path, log=context.log.info):
            wait_for_duckdb(warehouse.duckdb_path, log=context.log.warning)
            with duckdb.get_connection() as con:
                con.execute("BEGIN TRANSACTION")
                try:
                    refresh = relations.create_relation(con, name, sql, relations.sql_files(SQL_DIR))
                    con.execute("COMMIT")
                except Exception:
                    con.execute("ROLLBACK")
                    raise
                n = con.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0]
                head = con.execute(f'SELECT * FROM "{name}" LIMIT 5').df()
                schema = column_schema(con, name)
        if kind == "table":
            context.log.info(f"{name}: {refresh.how}" + (f" ({refresh.partitions} partitions)"
                                                         if refresh.how == "partitions" else ""))
        return MaterializeResult(
            metadata={"dagster/row_count": int(n), "dagster/column_schema": schema, "materialized": kind,
                      **({"refresh": refresh.how, "partitions_refreshed": refresh.partitions}
                         if kind == "table" else {}),
                      "sql": MetadataValue.md(f"```sql\n{sql}\n```"),
                      "depends_on": MetadataValue.json(deps),
                      "preview": MetadataValue.md(head.to_markdown(index=False) if not head.empty else "_no rows_")},
            check_results=[AssetCheckResult(check_name="view_queryable", passed=True, metadata={"rows": int(n)})])

    return _view


def view_assets() -> list:
    return [_view_asset(p) for p in sorted(SQL_DIR.glob("*.sql"))]
