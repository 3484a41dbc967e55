"""What analysts read: a chart of key indicators by region and year, one provenance page per
document (its cleaned text with every figure highlighted and its normalized row on hover), and a
read-only snapshot of the DuckDB file that each run publishes atomically."""

import base64
import hashlib
import html
import json
import os
from pathlib import Path

import pandas as pd
from dagster import AssetExecutionContext, AssetKey, MaterializeResult, MetadataValue, asset
from dagster_duckdb import DuckDBResource

from assets.stages import POOL
from assets.warehouse import SQL_DIR
from resources import TextWorkers, Warehouse
from zhengfa import parallel, provenance, relations
from zhengfa.provenance import ROW_FIELDS, page_name
from zhengfa.store import publish_snapshot, wait_for_duckdb, write_parquet_atomic, writer_lock

SNAPSHOT_NAME = "zhengfa_read.duckdb"
CHART_INDICATORS = 6  # small multiples in the chart
VIEWS = [AssetKey(p.stem) for p in sorted(SQL_DIR.glob("*.sql"))]


def _read(con, sql: str, params=None) -> pd.DataFrame:
    return con.execute(sql, params or []).df()


# ---------------------------------------------------------------- chart

def key_indicator_values(con) -> pd.DataFrame:
    """Agreeing values of the indicator series (code and unit) with the most region-years."""
    return _read(con, f"""
        with top as (
            select indicator, unit, count(*) as n from v_indicator_values
            where keyed_by = 'indicator' and agree group by indicator, unit
            order by n desc, indicator, unit limit {CHART_INDICATORS})
        select v.indicator, i.name_en, i.name_zh, v.region, v.year, v.value, v.unit, v.kind, v.quote, v.source_file
        from v_indicator_values v join top on top.indicator = v.indicator and top.unit is not distinct from v.unit
        left join indicators i on i.code = v.indicator
        where v.keyed_by = 'indicator' and v.agree
        order by top.n desc, v.indicator, v.region, v.year""")


def chart_spec(df: pd.DataFrame) -> dict:
    """Small multiples, one per indicator: the year on x, the value on y, one line per region."""
    import altair as alt

    df = df.assign(label=df["name_en"].fillna(df["indicator"]) + " (" + df["unit"].fillna("") + ")")
    base = alt.Chart(df).mark_line(point=alt.OverlayMarkDef(size=80, filled=True)).encode(
        x=alt.X("year:O", title="year", axis=alt.Axis(labelAngle=0)),
        y=alt.Y("value:Q", title=None),
        color=alt.Color("region:N", title="region"),
        tooltip=["indicator", "name_zh", "region", "year", "value", "unit", "quote", "source_file"],
    ).properties(width=200, height=140)
    chart = base.facet(facet=alt.Facet("label:N", title=None), columns=3).resolve_scale(y="independent")
    return chart.properties(title="Key indicators by region and year").to_dict()


@asset(group_name="analytics", deps=[AssetKey("v_indicator_values"), AssetKey("indicators")], pool=POOL,
       description="Chart of the key indicators (the most reported) by region and year, from v_indicator_values "
                   "(agreeing values only): a Vega-Lite spec and a PNG in the warehouse folder (charts/), shown here (metadata `chart`).")
def indicator_chart(context: AssetExecutionContext, warehouse: Warehouse, duckdb: DuckDBResource) -> MaterializeResult:
    with writer_lock(warehouse.path, log=context.log.info):
        wait_for_duckdb(warehouse.duckdb_path, log=context.log.warning)
        with duckdb.get_connection() as con:
            df = key_indicator_values(con)
    out = warehouse.path / "charts"
    out.mkdir(parents=True, exist_ok=True)
    if df.empty:
        return MaterializeResult(metadata={"chart": MetadataValue.md("_no indicator values yet_"), "indicators": 0})
    spec = chart_spec(df)
    import vl_convert as vlc

    png = vlc.vegalite_to_png(spec, scale=1.5)
    (out / "key_indicators.vl.json").write_text(json.dumps(spec, ensure_ascii=False), encoding="utf-8")
    (out / "key_indicators.png").write_bytes(png)
    table = df[["indicator", "region", "year", "value", "unit"]].to_markdown(index=False)
    image = f"![Key indicators by region and year](data:image/png;base64,{base64.b64encode(png).decode()})"
    return MaterializeResult(metadata={
        "chart": MetadataValue.md(f"{image}\n\n{table}"),
        "png": MetadataValue.path(str(out / "key_indicators.png")),
        "vega_lite": MetadataValue.path(str(out / "key_indicators.vl.json")),
        "indicators": int(df["indicator"].nunique()),
        "values": len(df),
    })


# ---------------------------------------------------------------- provenance pages

# What a page shows depends on its document's extraction (code version and page metadata), its
# file name, the taxonomy (indicator codes) and this module's rendering: a page is rendered again
# only when one of them changed, so a run after adding one document renders one page.
_RENDER_VERSION = hashlib.sha256(Path(__file__).read_bytes() + Path(provenance.__file__).read_bytes()).hexdigest()[:12]


def page_keys(con, previous: pd.DataFrame | None = None) -> pd.DataFrame:
    """doc_id, source_file, page name and render key of every document (no text is read). The
    keys are hashed inside DuckDB; a page name is taken from `previous` (the keys file of the
    last run) when its document and file name are the same, and made only for the others."""
    docs = _read(con, f"""select doc_id, source_file,
                              substr(sha256(concat_ws('|', doc_id, coalesce(source_file, ''),
                                                      coalesce(extracted_with, ''), coalesce(source_key, ''),
                                                      coalesce((select max(taxonomy_version) from indicators), ''),
                                                      '{_RENDER_VERSION}')), 1, 16) as key
                          from documents order by source_file""")
    known: dict = {}
    if previous is not None and {"doc_id", "source_file", "page"} <= set(previous.columns):
        known = dict(zip(zip(previous["doc_id"].tolist(), previous["source_file"].tolist()), previous["page"].tolist()))
    ids, files = docs["doc_id"].tolist(), docs["source_file"].tolist()
    docs["page"] = [known.get((d, s)) or page_name(s, d) for d, s in zip(ids, files)]
    return docs


KEY_COLUMNS = ["doc_id", "source_file", "page", "key"]


def _rows(df: pd.DataFrame, columns: list[str]) -> list[tuple]:
    return list(zip(*(df[c].tolist() for c in columns)))


def _write_index(out: Path, docs: pd.DataFrame, counts: dict[str, int]) -> None:
    """index.html: every page, with its document's file name and number of figures."""
    index = "".join(f'<li><a href="{html.escape(p)}">{html.escape(s or p)}</a> ({counts.get(d, 0)} figures)</li>'
                    for d, s, p in zip(docs["doc_id"].tolist(), docs["source_file"].tolist(), docs["page"].tolist()))
    (out / "index.html").write_text('<!doctype html><html lang="zh"><head><meta charset="utf-8"><title>Provenance'
                                    f'</title></head><body><h1>Provenance pages</h1><ul>{index}</ul>'
                                    "</body></html>", encoding="utf-8")


PAGE_CHUNK = 5000  # documents whose pages are rendered from one pair of queries
RENDER_CHUNK = 200  # pages handed to the workers at a time


def _documents_with_metrics(con, doc_ids: list[str]):
    """(document row, its metric rows) for the given documents, PAGE_CHUNK documents at a time:
    one query of each table per chunk (each scans the table once), no sort of the texts, and only
    one chunk's rows held (figures as tuples until their page is rendered)."""
    fields = ["metric_id", "doc_id", "char_start", "char_end", *ROW_FIELDS]
    for i in range(0, len(doc_ids), PAGE_CHUNK):
        con.register("_pages", pd.DataFrame({"doc_id": doc_ids[i:i + PAGE_CHUNK]}, dtype="string"))
        try:
            by_doc: dict[str, list[tuple]] = {}
            for row in con.execute(f"select {', '.join(fields)} from metrics "
                                   "where doc_id in (select doc_id from _pages)").fetchall():
                by_doc.setdefault(row[1], []).append(row)
            docs = con.execute("""select doc_id, source_file, title, region, report_year, publish_date, cleaned_text
                                  from documents where doc_id in (select doc_id from _pages)""")
            names = [d[0] for d in docs.description]
            while rows := docs.fetchmany(200):
                for row in rows:
                    doc = dict(zip(names, row))
                    yield doc, [dict(zip(fields, m)) for m in sorted(by_doc.get(doc["doc_id"], []),
                                                                    key=lambda m: (m[2], m[3], m[0]))]
        finally:
            con.unregister("_pages")


@asset(group_name="analytics", deps=[AssetKey("documents"), AssetKey("metrics")], pool=POOL,
       description="One HTML page per document in the warehouse folder (provenance/): its cleaned text with each extracted "
                   "figure highlighted (green: with an indicator code) and its normalized row on hover; index.html "
                   "lists the pages. Only pages whose document, taxonomy or rendering changed are rendered again.")
def provenance_pages(context: AssetExecutionContext, warehouse: Warehouse, duckdb: DuckDBResource,
                     text_workers: TextWorkers) -> MaterializeResult:
    out = warehouse.path / "provenance"
    out.mkdir(parents=True, exist_ok=True)
    keys_file = out / "pages.parquet"  # document, file name → its page and the render key it was written with
    before = pd.read_parquet(keys_file) if keys_file.exists() else pd.DataFrame(columns=KEY_COLUMNS)
    rendered = dict(zip(before["page"], before["key"]))
    with writer_lock(warehouse.path, log=context.log.info):
        wait_for_duckdb(warehouse.duckdb_path, log=context.log.warning)
        with duckdb.get_connection() as con:
            docs = page_keys(con, before)
            pages = docs["page"].tolist()
            on_disk = {e.name for e in os.scandir(out)}  # one listing, not a stat per page
            stale = [d for d, page, key in zip(docs["doc_id"].tolist(), pages, docs["key"].tolist())
                     if rendered.get(page) != key or page not in on_disk]
            written = set(pages)
            gone = [n for n in on_disk if n.endswith(".html") and n not in written and n != "index.html"]
            # nothing to render or remove, and the same documents under the same names: the keys
            # file and the index (100,000 lines at 100,000 documents) stay as they are
            same = (not stale and not gone and "index.html" in on_disk and set(KEY_COLUMNS) <= set(before.columns)
                    and _rows(docs, KEY_COLUMNS) == _rows(before, KEY_COLUMNS))
            counts = {} if same else dict(con.execute("select doc_id, count(*) from metrics group by doc_id").fetchall())

            def chunks():
                """RENDER_CHUNK pages at a time, each (target, document row, its figures)."""
                items = []
                for doc, metrics in _documents_with_metrics(con, stale):
                    items.append((str(out / page_name(doc["source_file"], doc["doc_id"])), doc, metrics))
                    if len(items) == RENDER_CHUNK:
                        yield [t for t, _, _ in items], items
                        items = []
                if items:
                    yield [t for t, _, _ in items], items

            # rendered and written by the text workers (this process reads the rows)
            failed: list[tuple[str, str]] = []
            for outcome in parallel.shared_runner(text_workers.worker_count).run(
                    provenance.write_pages, chunks(), total=len(stale)):
                failed.extend(outcome.failed)
    for target, error in failed:
        context.log.warning(f"provenance page {target} not written: {error}")
    for name in gone:
        (out / name).unlink(missing_ok=True)
    if not same:
        not_written = {Path(t).name for t, _ in failed}  # no key kept: the next run renders them again
        write_parquet_atomic(docs.loc[~docs["page"].isin(not_written), KEY_COLUMNS], keys_file)
        _write_index(out, docs, counts)
    removed = len(gone)
    shown = docs.head(50)
    listing = pd.DataFrame({"document": shown["source_file"], "page": [str(out / p) for p in shown["page"]]})
    context.log.info(f"provenance pages: {len(stale)} rendered, {len(docs) - len(stale)} unchanged, {removed} removed")
    return MaterializeResult(metadata={
        "pages": len(written), "rendered": len(stale) - len(failed), "unchanged": len(docs) - len(stale),
        "removed": removed, "failed": len(failed),
        "folder": MetadataValue.path(str(out)), "index": MetadataValue.path(str(out / "index.html")),
        "pages_list": MetadataValue.md(listing.to_markdown(index=False) if not listing.empty else "-"),
    })


# ---------------------------------------------------------------- snapshot for readers

@asset(group_name="analytics", deps=VIEWS + [AssetKey("indicator_chart"), AssetKey("provenance_pages")], pool=POOL,
       description=f"Read-only copy of zhengfa.duckdb ({SNAPSHOT_NAME}) published atomically after every run "
                   "(copied under a temporary name, then renamed): analysts query it without ever blocking a run.")
def warehouse_snapshot(context: AssetExecutionContext, warehouse: Warehouse, duckdb: DuckDBResource) -> MaterializeResult:
    snapshot = warehouse.path / SNAPSHOT_NAME
    published_from = warehouse.path / f".{SNAPSHOT_NAME}.source"  # the fingerprint the snapshot was copied at
    with writer_lock(warehouse.path, log=context.log.info):
        wait_for_duckdb(warehouse.duckdb_path, log=context.log.warning)
        with duckdb.get_connection() as con:
            con.execute("CHECKPOINT")
            relations_n = con.execute("select count(*) from information_schema.tables").fetchone()[0]
            fingerprint = relations.warehouse_fingerprint(con)
        # a run that changed nothing leaves the snapshot as it is (a copy of a large file costs seconds)
        current = snapshot.exists() and published_from.exists() and published_from.read_text() == fingerprint
        if not current:
            publish_snapshot(warehouse.duckdb_path, snapshot)
            published_from.write_text(fingerprint)
    for stale in warehouse.path.glob(f".{SNAPSHOT_NAME}.*.tmp"):
        stale.unlink(missing_ok=True)
    context.log.info("snapshot " + ("unchanged: nothing changed since it was published" if current else "published"))
    return MaterializeResult(metadata={"snapshot": MetadataValue.path(str(snapshot)), "relations": int(relations_n),
                                       "published": not current, "bytes": snapshot.stat().st_size,
                                       "query": MetadataValue.md(f"```\nduckdb -readonly {snapshot}\n```")})
