"""Per-document stages: raw → cleaned → sections → metric mentions.

Each asset is incremental by content hash: it processes only the live documents whose rows
are missing from its Parquet store for the current code version, and appends one batch.
"""

import hashlib
from pathlib import Path
from typing import Optional

import pandas as pd
from dagster import (
    AssetCheckResult,
    AssetCheckSpec,
    AssetExecutionContext,
    Config,
    Failure,
    MaterializeResult,
    MetadataValue,
    asset,
)

from resources import RawCorpus, Segmenter, Warehouse
from zhengfa import guard, ingest, pipeline, sources
from zhengfa.store import StageStore, write_parquet_atomic, writer_lock

POOL = "zhengfa_warehouse"
COMPACT_AT = 48  # batches in a store before they are merged into one (daily runs add one each)
_ROOT = Path(__file__).resolve().parent.parent


def _version(*globs: str) -> str:
    h = hashlib.sha256()
    for pattern in globs:
        for p in sorted(_ROOT.glob(pattern)):
            h.update(p.name.encode())
            h.update(p.read_bytes())
    return h.hexdigest()[:12]


DECODE_VERSION = _version("zhengfa/decode.py", "zhengfa/ingest.py")
# The text stages depend on these modules and the data files; storage and scanning code does not
# change what they produce.
TEXT_VERSION = _version(*(f"zhengfa/{m}.py" for m in ("clean", "sections", "numbers", "periods", "regions",
                                                       "subjects", "extract", "pipeline", "data_files",
                                                       "where_when", "sources", "figures", "kinds", "model",
                                                       "areas", "subject_phrase")),
                        "resources/data/*")


class StageConfig(Config):
    full_refresh: bool = False  # reprocess every live document, ignoring stored rows


class RawConfig(StageConfig):
    # apply a scan that removes more live documents than the limits below allow, or all of them
    allow_mass_removal: bool = False
    # this run's limits on removal; unset: the corpus resource's (ZHENGFA_MASS_REMOVAL_SHARE, default
    # 0.5, and ZHENGFA_MASS_REMOVAL_MIN, default 3)
    mass_removal_share: Optional[float] = None
    mass_removal_min: Optional[int] = None

    def removal_limits(self, corpus: RawCorpus) -> guard.RemovalLimits:
        return guard.RemovalLimits(
            share=corpus.mass_removal_share if self.mass_removal_share is None else self.mass_removal_share,
            min_count=corpus.mass_removal_min if self.mass_removal_min is None else self.mass_removal_min)


def manifest_path(warehouse: Warehouse | Path) -> Path:
    root = warehouse if isinstance(warehouse, Path) else warehouse.path
    return root / "parquet" / "manifest" / "current.parquet"


def read_manifest(warehouse: Warehouse | Path) -> pd.DataFrame:
    p = manifest_path(warehouse)
    return pd.read_parquet(p) if p.exists() else pd.DataFrame(columns=ingest.MANIFEST_COLUMNS)


def sources_path(warehouse: Warehouse, name: str = "sources") -> Path:
    """The page metadata read from the raw folder's sources.jsonl ('sources'), and the lines
    that could not be used ('source_problems')."""
    return warehouse.path / "parquet" / "manifest" / f"{name}.parquet"


SOURCE_COLUMNS = ["file", "line", "url", "published", "outlet", "title", "source_key"]
PROBLEM_COLUMNS = ["line", "file", "reason", "text"]


def read_sources_table(warehouse: Warehouse, name: str = "sources") -> pd.DataFrame:
    p = sources_path(warehouse, name)
    cols = SOURCE_COLUMNS if name == "sources" else PROBLEM_COLUMNS
    return pd.read_parquet(p) if p.exists() else pd.DataFrame(columns=cols)


def document_sources(warehouse: Warehouse) -> dict[str, dict]:
    """doc_id → the metadata of its first accepted file (url, published, outlet, title)."""
    m = read_manifest(warehouse)
    src = read_sources_table(warehouse)
    if m.empty or src.empty:
        return {}
    by_file = {r["file"]: r for r in src.to_dict("records")}
    out = {}
    for r in m[m["status"] == "accepted"].itertuples(index=False):
        meta = by_file.get(str(r.path).replace("\\", "/"))
        if meta is not None and r.doc_id not in out:
            out[r.doc_id] = {k: (meta.get(k) if isinstance(meta.get(k), str) else None) for k in sources.FIELDS}
    return out


def _scan_sources(raw_dir: Path, manifest: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """sources.jsonl as a table, and its unusable lines (malformed, or naming no file here)."""
    entries, issues = sources.read_sources(raw_dir)
    present = set(manifest["path"].astype(str).str.replace("\\", "/", regex=False))
    rows = []
    problems = [dict(line=i.line, file=i.file, reason=i.reason, text=i.text) for i in issues]
    for file, meta in entries.items():
        if file not in present:
            problems.append(dict(line=meta["line"], file=file, text="",
                                 reason="names a file that is not in the raw folder"))
            continue
        rows.append({"file": file, "line": meta["line"], **{k: meta.get(k) for k in sources.FIELDS},
                     "source_key": sources.source_key(meta)})
    table = pd.DataFrame(rows, columns=SOURCE_COLUMNS).astype({"line": "Int64"})
    probs = pd.DataFrame(problems, columns=PROBLEM_COLUMNS).sort_values("line", kind="stable").astype({"line": "Int64"})
    return table, probs


def live_doc_ids(warehouse: Warehouse) -> list[str]:
    m = read_manifest(warehouse)
    return sorted(set(m.loc[m["status"] == "accepted", "doc_id"].dropna()))


def _preview(df: pd.DataFrame, cols: list[str], n: int = 5) -> MetadataValue:
    if df.empty:
        return MetadataValue.md("_no rows_")
    view = df[[c for c in cols if c in df.columns]].head(n).copy()
    for c in view.columns:
        if view[c].dtype == object:
            view[c] = view[c].astype(str).str.slice(0, 40)
    return MetadataValue.md(view.to_markdown(index=False))


@asset(
    group_name="ingest",
    code_version=DECODE_VERSION,
    pool=POOL,
    description="Every file in the raw folder: name, size, sha256 of the bytes (the document id), "
                "detected encoding and decoded text; bad files rejected with a reason.",
    check_specs=[AssetCheckSpec("files_accounted_for", asset="raw_documents",
                                description="files seen = accepted + duplicates + rejected + skipped")],
)
def raw_documents(context: AssetExecutionContext, config: RawConfig, corpus: RawCorpus,
                  warehouse: Warehouse) -> MaterializeResult:
    # Refusals come before anything is written: no raw batch, no event, no manifest, no table.
    try:
        guard.check_folder(corpus.path)
        limits = config.removal_limits(corpus)
    except (guard.FolderGuardError, ValueError) as e:
        raise Failure(description=str(e), allow_retries=False, metadata={"raw_dir": str(corpus.path)}) from None
    with writer_lock(warehouse.path):
        store = StageStore(warehouse.path, "raw")
        previous = read_manifest(warehouse)
        known = set() if config.full_refresh else store.done(DECODE_VERSION)
        scan = ingest.scan(corpus.path, previous, known, corpus.max_bytes, force=config.full_refresh,
                           decoder_version=DECODE_VERSION)
        try:
            guard.check_folder(corpus.path)  # gone during the scan: its listing is not the folder
            verdict = guard.check_removal(previous, scan.manifest, corpus.path, limits,
                                          allow=config.allow_mass_removal)
        except guard.FolderGuardError as e:
            raise Failure(description=str(e), allow_retries=False,
                          metadata={"raw_dir": str(corpus.path)}) from None
        if verdict.refused:
            context.log.warning(f"mass removal allowed by the run config: {verdict.summary(corpus.path)}")
        store.remove_stale_temporaries()  # left by a run killed mid-write; we hold the lock
        # Order matters if the process dies in between: decoded text and events are written
        # before the manifest that makes them current. A rerun then re-diffs against the old
        # manifest (repeated events carry the same `since` and are dropped by the warehouse);
        # writing the manifest first would lose those events for good.
        if scan.decoded:
            store.write(pd.DataFrame([{"doc_id": k, "code_version": DECODE_VERSION, **v} for k, v in scan.decoded.items()]))
        live_now = set(scan.manifest.loc[scan.manifest["status"] == "accepted", "doc_id"].dropna())
        store.compact(DECODE_VERSION, live_now, min_files=COMPACT_AT)
        if not scan.events.empty:
            StageStore(warehouse.path, "file_events").write(scan.events.assign(code_version="events"))
        source_table, source_problems = _scan_sources(corpus.path, scan.manifest)
        write_parquet_atomic(source_table, sources_path(warehouse))
        write_parquet_atomic(source_problems, sources_path(warehouse, "source_problems"))
        write_parquet_atomic(scan.manifest, manifest_path(warehouse))
    m = scan.manifest
    counts = m["status"].value_counts().to_dict()
    seen = len(m)
    accounted = sum(counts.get(k, 0) for k in ("accepted", "duplicate", "rejected", "skipped"))
    context.log.info(f"scanned {seen} files: {counts}; newly decoded {len(scan.decoded)}")
    for p in source_problems.itertuples(index=False):
        context.log.warning(f"{sources.SOURCES_FILE} line {p.line}: {p.reason}")
    return MaterializeResult(
        metadata={
            "dagster/row_count": seen,
            "files_seen": seen,
            "accepted": counts.get("accepted", 0),
            "duplicates": counts.get("duplicate", 0),
            "rejected": counts.get("rejected", 0),
            "skipped": counts.get("skipped", 0),
            "newly_decoded": len(scan.decoded),
            "pages_with_metadata": len(source_table),
            "metadata_lines_unusable": len(source_problems),
            "removed_documents": verdict.removed,
            "events": MetadataValue.json(scan.events["event"].value_counts().to_dict() if not scan.events.empty else {}),
            "raw_dir": str(corpus.path),
            "preview": _preview(m, ["file_name", "status", "reason", "size", "doc_id"]),
        },
        check_results=[AssetCheckResult(
            check_name="files_accounted_for", passed=accounted == seen,
            metadata={"seen": seen, **{k: int(v) for k, v in counts.items()}})],
    )


def _with_markers(df: pd.DataFrame, todo: list[str], id_column: str) -> pd.DataFrame:
    """Add a marker row (null id) for each processed document that produced no rows, so it
    counts as done and is not processed again."""
    if df.empty:
        return pd.DataFrame({"doc_id": todo, id_column: None})
    missing = sorted(set(todo) - set(df["doc_id"]))
    if missing:
        df = pd.concat([df, pd.DataFrame({"doc_id": missing, id_column: None})], ignore_index=True)
    return df


def _todo(store: StageStore, live: list[str], keys: dict[str, str], full_refresh: bool) -> list[str]:
    if full_refresh:
        return live
    done = store.done_keys(TEXT_VERSION)
    return [d for d in live if (d, keys.get(d, "")) not in done]


def _run_stage(context, warehouse: Warehouse, config: StageConfig, stage: str, fn) -> tuple[pd.DataFrame, int, int]:
    """Process the live documents missing from `stage`'s store (or stored with other page
    metadata); fn(todo ids, metadata by id) → rows DataFrame."""
    with writer_lock(warehouse.path):
        live = live_doc_ids(warehouse)
        meta = document_sources(warehouse)
        keys = {d: sources.source_key(m) for d, m in meta.items()}
        store = StageStore(warehouse.path, stage)
        todo = _todo(store, live, keys, config.full_refresh)
        df = fn(todo, meta) if todo else pd.DataFrame()
        if not df.empty:
            df["code_version"] = TEXT_VERSION
            df["source_key"] = pd.Series([keys.get(d, "") for d in df["doc_id"]], index=df.index, dtype="string")
            store.write(df)
        compacted = store.compact(TEXT_VERSION, set(live), min_files=COMPACT_AT)
    if compacted:
        context.log.info(f"{stage}: compacted {compacted} batches into one")
    context.log.info(f"{stage}: {len(todo)} documents processed, {len(live) - len(todo)} reused")
    return df, len(todo), len(live)


@asset(
    group_name="text",
    deps=[raw_documents],
    code_version=TEXT_VERSION,
    pool=POOL,
    description="Cleaned article text (page furniture removed, full-width and traditional forms "
                "normalized, broken paragraphs joined, repeats flagged, captions marked) and "
                "document metadata: title, outlet, publish date, region, report year.",
)
def cleaned_documents(context: AssetExecutionContext, config: StageConfig, warehouse: Warehouse) -> MaterializeResult:
    def work(todo, meta):
        raw = StageStore(warehouse.path, "raw").read(DECODE_VERSION, todo)
        return pd.DataFrame([pipeline.clean_stage(r.doc_id, r.text, meta.get(r.doc_id))
                             for r in raw.itertuples(index=False)])

    df, n_new, n_live = _run_stage(context, warehouse, config, "documents", work)
    return MaterializeResult(metadata={
        "dagster/row_count": n_live, "processed": n_new, "reused": n_live - n_new,
        "preview": _preview(df, ["doc_id", "title", "region", "report_year", "publish_date", "n_paragraphs"]),
    })


@asset(
    group_name="text",
    deps=[cleaned_documents],
    code_version=TEXT_VERSION,
    pool=POOL,
    description="Sections of each document: headings and hierarchy, order, text span, and the "
                "region each section is about (from the place, street and station names inside it).",
)
def document_sections(context: AssetExecutionContext, config: StageConfig, warehouse: Warehouse) -> MaterializeResult:
    def work(todo, meta):
        docs = StageStore(warehouse.path, "documents").read(TEXT_VERSION, todo)
        rows = [row for d in docs.to_dict("records") for row in pipeline.section_stage(d)]
        return _with_markers(pd.DataFrame(rows), todo, "section_id")

    df, n_new, n_live = _run_stage(context, warehouse, config, "sections", work)
    real = df[df["section_id"].notna()] if not df.empty else df
    return MaterializeResult(metadata={
        "processed_documents": n_new, "new_rows": len(real),
        "preview": _preview(real, ["section_id", "level", "kind", "heading", "region"]),
    })


@asset(
    group_name="text",
    deps=[document_sections],
    code_version=TEXT_VERSION,
    pool=POOL,
    description="Every quantitative statement, normalized: kind, value, unit, approximation, basis, "
                "subject, indicator code, region, period, and the quote's span in the cleaned text.",
)
def metric_mentions(context: AssetExecutionContext, config: StageConfig, warehouse: Warehouse,
                    segmenter: Segmenter) -> MaterializeResult:
    segmenter.warm()

    def work(todo, meta):
        docs = StageStore(warehouse.path, "documents").read(TEXT_VERSION, todo)
        secs = StageStore(warehouse.path, "sections").read(TEXT_VERSION, todo)
        if not secs.empty:
            secs = secs[secs["section_id"].notna()]  # markers of documents without sections
        by_doc = {k: g.to_dict("records") for k, g in secs.groupby("doc_id")} if not secs.empty else {}
        rows = []
        for d in docs.to_dict("records"):
            rows.extend(pipeline.metric_stage(d, by_doc.get(d["doc_id"], [])))
        return _with_markers(pd.DataFrame(rows), todo, "metric_id")

    df, n_new, n_live = _run_stage(context, warehouse, config, "metrics", work)
    real = df[df["metric_id"].notna()] if not df.empty else df
    return MaterializeResult(metadata={
        "processed_documents": n_new, "new_rows": len(real),
        "by_kind": MetadataValue.json(real["kind"].value_counts().to_dict() if not real.empty else {}),
        "preview": _preview(real, ["quote", "kind", "value", "unit", "subject", "region", "period_end"]),
    })
