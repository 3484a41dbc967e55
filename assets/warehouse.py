"""The warehouse: current tables loaded into DuckDB from the Parquet stores, in one transaction,
and the SQL views of dbt_like_sql/ (dependencies read from the SQL itself)."""

from pathlib import Path

import pandas as pd
import sqlglot
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
from sqlglot import exp

from assets.stages import POOL, DECODE_VERSION, TEXT_VERSION, metric_mentions, read_manifest
from resources import Warehouse
from zhengfa.store import StageStore, writer_lock

SQL_DIR = Path(__file__).resolve().parent.parent / "dbt_like_sql"
TABLES = ["documents", "sections", "metrics", "rejected_documents", "duplicate_files", "file_events"]
METRIC_COLUMNS = ["metric_id", "source_file", "doc_id", "section_id", "kind", "value", "unit", "approx", "basis",
                  "subject", "indicator", "region", "period_start", "period_end", "quote", "sentence",
                  "char_start", "char_end", "in_caption", "in_repeated"]

_CHECKS = [
    AssetCheckSpec("quote_matches_span", asset="metrics",
                   description="each metric's char_start:char_end slice of its cleaned text equals its quote"),
    AssetCheckSpec("no_duplicate_metrics", asset="metrics", description="no two rows share document, span, subject and region"),
    AssetCheckSpec("values_finite", asset="metrics", description="every value is a finite number"),
    AssetCheckSpec("indicator_coverage", asset="metrics",
                   description="share of metrics whose subject maps to a taxonomy code (unmapped keep a null code)"),
    AssetCheckSpec("files_accounted_for", asset="documents",
                   description="files seen = accepted + duplicate names + rejected + skipped"),
    AssetCheckSpec("section_spans_in_text", asset="sections", description="every section span lies inside its document"),
]


def _current(warehouse: Warehouse, stage: str, version: str, ids: list[str]) -> pd.DataFrame:
    return StageStore(warehouse.path, stage).read(version, ids)


@multi_asset(
    specs=[AssetSpec(t, group_name="warehouse", deps=[metric_mentions],
                     description=f"Warehouse table `{t}` in zhengfa.duckdb, rebuilt from the Parquet stores")
           for t in TABLES],
    check_specs=_CHECKS,
    pool=POOL,
    can_subset=False,
)
def warehouse_tables(context: AssetExecutionContext, warehouse: Warehouse, duckdb: DuckDBResource):
    with writer_lock(warehouse.path):
        manifest = read_manifest(warehouse)
        accepted = manifest[manifest["status"] == "accepted"]
        live = sorted(set(accepted["doc_id"].dropna()))
        names = accepted.groupby("doc_id")["file_name"].first().to_dict()
        paths = accepted.groupby("doc_id")["path"].first().to_dict()
        docs = _current(warehouse, "documents", TEXT_VERSION, live)
        raw = _current(warehouse, "raw", DECODE_VERSION, live)
        secs = _current(warehouse, "sections", TEXT_VERSION, live)
        mets = _current(warehouse, "metrics", TEXT_VERSION, live)
        events = StageStore(warehouse.path, "file_events").read("events")
        if not docs.empty:
            docs = docs.drop(columns=["code_version"], errors="ignore")
            docs.insert(1, "source_file", docs["doc_id"].map(names))
            docs.insert(2, "path", docs["doc_id"].map(paths))
            meta = manifest.drop_duplicates("doc_id").set_index("doc_id")
            docs["size"] = docs["doc_id"].map(meta["size"])
            if not raw.empty:
                enc = raw.set_index("doc_id")
                docs["encoding"] = docs["doc_id"].map(enc["encoding"])
                docs["was_html"] = docs["doc_id"].map(enc["html"])
            docs["extracted_with"] = TEXT_VERSION
        if not mets.empty:
            mets = mets[mets["metric_id"].notna()].copy()
            mets["source_file"] = mets["doc_id"].map(names)
            mets = mets[[c for c in METRIC_COLUMNS if c in mets.columns]]
            for c in ("period_start", "period_end", "char_start", "char_end"):
                mets[c] = mets[c].astype("Int64")
        else:
            mets = pd.DataFrame(columns=METRIC_COLUMNS)
        secs = secs.drop(columns=["code_version"], errors="ignore") if not secs.empty else pd.DataFrame(
            columns=["section_id", "doc_id"])
        rejected = manifest[manifest["status"].isin(["rejected", "skipped"])][
            ["path", "file_name", "size", "status", "reason", "doc_id", "scanned_at"]]
        dups = manifest[manifest["status"] == "duplicate"][["path", "file_name", "doc_id", "duplicate_of", "scanned_at"]]
        frames = {"documents": docs if not docs.empty else pd.DataFrame(columns=["doc_id", "source_file"]),
                  "sections": secs, "metrics": mets, "rejected_documents": rejected, "duplicate_files": dups,
                  "file_events": events.drop(columns=["code_version"], errors="ignore") if not events.empty
                  else pd.DataFrame(columns=["path", "event", "doc_id", "previous_doc_id", "previous_path", "at"])}
        with duckdb.get_connection() as con:
            con.execute("BEGIN TRANSACTION")
            try:
                for name, df in frames.items():
                    con.register("_frame", df)
                    con.execute(f'CREATE OR REPLACE TABLE "{name}" AS SELECT * FROM _frame')
                    con.unregister("_frame")
                con.execute("COMMIT")
            except Exception:
                con.execute("ROLLBACK")
                raise
            checks = _checks(con, manifest)
    for name, df in frames.items():
        yield MaterializeResult(asset_key=AssetKey(name), metadata={
            "dagster/row_count": len(df),
            "preview": MetadataValue.md(df.head(5).astype(str).apply(lambda s: s.str.slice(0, 30)).to_markdown(index=False))
            if not df.empty else MetadataValue.md("_no rows_"),
        })
    yield from checks


def _checks(con, manifest: pd.DataFrame) -> list[AssetCheckResult]:
    out = []
    bad_spans = con.execute("""
        SELECT count(*) FROM metrics m JOIN documents d USING (doc_id)
        WHERE substr(d.cleaned_text, m.char_start + 1, m.char_end - m.char_start) <> m.quote""").fetchone()[0]
    out.append(AssetCheckResult(asset_key="metrics", check_name="quote_matches_span", passed=bad_spans == 0,
                                metadata={"mismatched": int(bad_spans)}))
    dups = con.execute("""SELECT count(*) FROM (SELECT doc_id, char_start, char_end, subject, region, kind, count(*) c
                          FROM metrics GROUP BY ALL HAVING c > 1)""").fetchone()[0]
    out.append(AssetCheckResult(asset_key="metrics", check_name="no_duplicate_metrics", passed=dups == 0,
                                metadata={"duplicate_groups": int(dups)}))
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
    bad_secs = con.execute("""SELECT count(*) FROM sections s JOIN documents d USING (doc_id)
                              WHERE s.char_start < 0 OR s.char_end > length(d.cleaned_text) OR s.char_start > s.char_end""").fetchone()[0]
    out.append(AssetCheckResult(asset_key="sections", check_name="section_spans_in_text", passed=bad_secs == 0,
                                metadata={"bad_spans": int(bad_secs)}))
    return out


# ---------------------------------------------------------------- SQL views

def sql_dependencies(sql: str) -> list[str]:
    """Relations a SELECT reads, from the parsed SQL (CTE names excluded)."""
    tree = sqlglot.parse_one(sql, read="duckdb")
    ctes = {c.alias_or_name for c in tree.find_all(exp.CTE)}
    return sorted({t.name for t in tree.find_all(exp.Table) if t.name and t.name not in ctes})


def _view_asset(path: Path):
    name = path.stem
    sql = path.read_text(encoding="utf-8")
    deps = sql_dependencies(sql)
    description = " ".join(line[2:].strip() for line in sql.splitlines() if line.startswith("--")) or f"View {name}"

    @asset(name=name, group_name="views", deps=[AssetKey(d) for d in deps], pool=POOL,
           description=description, code_version=__import__("hashlib").sha256(sql.encode()).hexdigest()[:12],
           check_specs=[AssetCheckSpec("view_queryable", asset=name)])
    def _view(context: AssetExecutionContext, warehouse: Warehouse, duckdb: DuckDBResource) -> MaterializeResult:
        with writer_lock(warehouse.path):
            with duckdb.get_connection() as con:
                con.execute(f'CREATE OR REPLACE VIEW "{name}" AS {sql.rstrip().rstrip(";")}')
                n = con.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0]
                head = con.execute(f'SELECT * FROM "{name}" LIMIT 5').df()
        return MaterializeResult(
            metadata={"dagster/row_count": int(n), "sql": MetadataValue.md(f"```sql\n{sql}\n```"),
                      "depends_on": MetadataValue.json(deps),
                      "preview": MetadataValue.md(head.to_markdown(index=False) if not head.empty else "_no rows_")},
            check_results=[AssetCheckResult(check_name="view_queryable", passed=True, metadata={"rows": int(n)})])

    return _view


def view_assets() -> list:
    return [_view_asset(p) for p in sorted(SQL_DIR.glob("*.sql"))]
