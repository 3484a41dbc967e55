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

from resources import RawCorpus, Segmenter, TextWorkers, Warehouse
from zhengfa import guard, ingest, parallel, sources
from zhengfa.store import StageStore, write_parquet_atomic, writer_lock

POOL = "zhengfa_warehouse"
COMPACT_AT = 48  # small batches in a store before they are merged into one (daily runs add one each)
SMALL_BATCH = 1 << 20  # a batch under 1 MB counts towards compaction; a large build's chunks do not
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
                  warehouse: Warehouse, text_workers: TextWorkers) -> MaterializeResult:
    # Refusals come before anything is written: no raw batch, no event, no manifest, no table.
    try:
        guard.check_folder(corpus.path)
        limits = config.removal_limits(corpus)
    except (guard.FolderGuardError, ValueError) as e:
        raise Failure(description=str(e), allow_retries=False, metadata={"raw_dir": str(corpus.path)}) from None
    with writer_lock(warehouse.path):
        store = StageStore(warehouse.path, "raw")
        store.remove_stale_temporaries()  # left by a run killed mid-write; we hold the lock
        previous = read_manifest(warehouse)
        known = set() if config.full_refresh else store.done(DECODE_VERSION)
        # Decoded text goes to disk a chunk at a time, under temporary names: nothing becomes
        # visible before the guard below has passed, and the scan never holds every text.
        pending: list = []

        def sink(decoded: dict[str, dict]) -> None:
            pending.append(store.write_pending(
                pd.DataFrame([{"doc_id": k, "code_version": DECODE_VERSION, **v} for k, v in decoded.items()])))

        try:
            scan = ingest.scan(corpus.path, previous, known, corpus.max_bytes, force=config.full_refresh,
                               decoder_version=DECODE_VERSION, sink=sink, sink_every=text_workers.chunk_docs)
            guard.check_folder(corpus.path)  # gone during the scan: its listing is not the folder
            verdict = guard.check_removal(previous, scan.manifest, corpus.path, limits,
                                          allow=config.allow_mass_removal)
        except guard.FolderGuardError as e:
            store.discard(pending)
            raise Failure(description=str(e), allow_retries=False,
                          metadata={"raw_dir": str(corpus.path)}) from None
        except BaseException:
            store.discard(pending)
            raise
        if verdict.refused:
            context.log.warning(f"mass removal allowed by the run config: {verdict.summary(corpus.path)}")
        # Order matters if the process dies in between: decoded text and events are written
        # before the manifest that makes them current. A rerun then re-diffs against the old
        # manifest (repeated events carry the same `since` and are dropped by the warehouse);
        # writing the manifest first would lose those events for good.
        store.publish(pending)
        live_now = set(scan.manifest.loc[scan.manifest["status"] == "accepted", "doc_id"].dropna())
        store.compact(DECODE_VERSION, live_now, min_files=COMPACT_AT, small_bytes=SMALL_BATCH)
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
    context.log.info(f"scanned {seen} files: {counts}; newly decoded {scan.n_decoded}")
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
            "newly_decoded": scan.n_decoded,
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


def _with_markers(df: pd.DataFrame, done: list[str], id_column: str | None) -> pd.DataFrame:
    """Add a marker row (null id) for each processed document that produced no rows, so it
    counts as done and is not processed again."""
    if id_column is None:
        return df
    if df.empty:
        return pd.DataFrame({"doc_id": done, id_column: None}) if done else df
    missing = sorted(set(done) - set(df["doc_id"]))
    if missing:
        df = pd.concat([df, pd.DataFrame({"doc_id": missing, id_column: None})], ignore_index=True)
    return df


def _todo(store: StageStore, live: list[str], keys: dict[str, str], full_refresh: bool) -> list[str]:
    if full_refresh:
        return live
    done = store.done_keys(TEXT_VERSION)
    return [d for d in live if (d, keys.get(d, "")) not in done]


class StageRun:
    """What a text stage did in one run: counts, a preview of its first rows, failures."""

    def __init__(self, id_column: str | None):
        self.id_column = id_column
        self.processed = self.live = self.new_rows = self.batches = 0
        self.preview = pd.DataFrame()
        self.kinds: dict[str, int] = {}
        self.failed: list[tuple[str, str]] = []

    def add(self, df: pd.DataFrame) -> None:
        real = df[df[self.id_column].notna()] if self.id_column and not df.empty else df
        self.new_rows += len(real)
        if self.preview.empty and not real.empty:
            self.preview = real.head(5).copy()
        if "kind" in real.columns:
            for k, v in real["kind"].value_counts().items():
                self.kinds[k] = self.kinds.get(k, 0) + int(v)


def _run_stage(context, warehouse: Warehouse, config: StageConfig, stage: str, workers: TextWorkers,
               task, chunks, id_column: str | None) -> StageRun:
    """Process the live documents missing from `stage`'s store (or stored with other page
    metadata), a chunk at a time: `chunks(todo ids, metadata by id)` reads the inputs and yields
    (ids, task items); the workers run `task` on them (rows, failures); each chunk's rows are
    written as one batch by this process alone. A document whose processing fails is logged
    and left out (not marked done: the next run tries it again)."""
    result = StageRun(id_column)
    with writer_lock(warehouse.path):
        live = live_doc_ids(warehouse)
        meta = document_sources(warehouse)
        keys = {d: sources.source_key(m) for d, m in meta.items()}
        store = StageStore(warehouse.path, stage)
        todo = _todo(store, live, keys, config.full_refresh)
        result.processed, result.live = len(todo), len(live)
        runner = parallel.shared_runner(workers.worker_count)
        for out in runner.run(task, chunks(todo, meta, workers.chunk_docs), total=len(todo)):
            failed = {d for d, _ in out.failed}
            for doc_id, error in out.failed:
                context.log.warning(f"{stage}: document {doc_id} failed and was left out: {error}")
            result.failed.extend(out.failed)
            df = _with_markers(pd.DataFrame(out.rows), [d for d in out.ids if d not in failed], id_column)
            if df.empty:
                continue
            df["code_version"] = TEXT_VERSION
            df["source_key"] = pd.Series([keys.get(d, "") for d in df["doc_id"]], index=df.index, dtype="string")
            store.write(df)
            result.batches += 1
            result.add(df)
        # small batches (one per incremental run) count towards compaction, a large build's chunks
        # do not: the run after a first build of 100,000 documents does not rewrite them all
        compacted = store.compact(TEXT_VERSION, set(live), min_files=COMPACT_AT, small_bytes=SMALL_BATCH)
    if compacted:
        context.log.info(f"{stage}: compacted {compacted} batches into one")
    context.log.info(f"{stage}: {len(todo)} documents processed in {result.batches} batches "
                     f"({runner.workers if len(todo) >= runner.serial_below else 1} worker(s)), "
                     f"{len(live) - len(todo)} reused, {len(result.failed)} failed")
    return result


def _failure_metadata(run: StageRun) -> dict:
    return {"failed_documents": len(run.failed),
            "failures": MetadataValue.md("\n".join(f"- `{d}`: {e}" for d, e in run.failed[:20]) or "_none_")}


@asset(
    group_name="text",
    deps=[raw_documents],
    code_version=TEXT_VERSION,
    pool=POOL,
    description="Cleaned article text (page furniture removed, full-width and traditional forms "
                "normalized, broken paragraphs joined, repeats flagged, captions marked) and "
                "document metadata: title, outlet, publish date, region, report year.",
)
def cleaned_documents(context: AssetExecutionContext, config: StageConfig, warehouse: Warehouse,
                      text_workers: TextWorkers) -> MaterializeResult:
    def chunks(todo, meta, size):
        for raw in StageStore(warehouse.path, "raw").stream(DECODE_VERSION, todo, ["text"], size):
            ids = list(raw["doc_id"])
            yield ids, [(d, t, meta.get(d)) for d, t in zip(ids, raw["text"])]

    run = _run_stage(context, warehouse, config, "documents", text_workers, parallel.clean_task, chunks, None)
    return MaterializeResult(metadata={
        "dagster/row_count": run.live, "processed": run.processed, "reused": run.live - run.processed,
        **_failure_metadata(run),
        "preview": _preview(run.preview, ["doc_id", "title", "region", "report_year", "publish_date", "n_paragraphs"]),
    })


@asset(
    group_name="text",
    deps=[cleaned_documents],
    code_version=TEXT_VERSION,
    pool=POOL,
    description="Sections of each document: headings and hierarchy, order, text span, and the "
                "region each section is about (from the place, street and station names inside it).",
)
def document_sections(context: AssetExecutionContext, config: StageConfig, warehouse: Warehouse,
                      text_workers: TextWorkers) -> MaterializeResult:
    def chunks(todo, meta, size):
        for docs in StageStore(warehouse.path, "documents").stream(TEXT_VERSION, todo, chunk_docs=size):
            yield list(docs["doc_id"]), docs.to_dict("records")

    run = _run_stage(context, warehouse, config, "sections", text_workers, parallel.section_task, chunks,
                     "section_id")
    return MaterializeResult(metadata={
        "processed_documents": run.processed, "new_rows": run.new_rows, **_failure_metadata(run),
        "preview": _preview(run.preview, ["section_id", "level", "kind", "heading", "region"]),
    })


# what the metric stage reads of a section (its text is the document's text over its span)
_SECTION_COLUMNS = ["section_id", "ord", "level", "kind", "heading", "parent_id", "series", "char_start", "char_end",
                    "region", "paragraph_idx"]


@asset(
    group_name="text",
    deps=[document_sections],
    code_version=TEXT_VERSION,
    pool=POOL,
    description="Every quantitative statement, normalized: kind, value, unit, approximation, basis, "
                "subject, indicator code, region, period, and the quote's span in the cleaned text.",
)
def metric_mentions(context: AssetExecutionContext, config: StageConfig, warehouse: Warehouse,
                    segmenter: Segmenter, text_workers: TextWorkers) -> MaterializeResult:
    segmenter.warm()

    def chunks(todo, meta, size):
        sections = StageStore(warehouse.path, "sections")
        where = sections.latest_files(TEXT_VERSION, todo)  # which batch holds each document's sections
        for docs in StageStore(warehouse.path, "documents").stream(TEXT_VERSION, todo, chunk_docs=size):
            ids = list(docs["doc_id"])
            files = sorted({where[d] for d in ids if d in where})
            secs = sections.read(TEXT_VERSION, ids, _SECTION_COLUMNS, files) if files else pd.DataFrame()
            if not secs.empty:
                secs = secs[secs["section_id"].notna()]  # markers of documents without sections
            by_doc = {k: g.to_dict("records") for k, g in secs.groupby("doc_id")} if not secs.empty else {}
            items = []
            for d in docs.to_dict("records"):
                text = d["cleaned_text"]
                rows = by_doc.get(d["doc_id"], [])
                for r in rows:
                    r["text"] = text[int(r["char_start"]):int(r["char_end"])]
                items.append((d, rows))
            yield ids, items

    run = _run_stage(context, warehouse, config, "metrics", text_workers, parallel.metric_task, chunks, "metric_id")
    return MaterializeResult(metadata={
        "processed_documents": run.processed, "new_rows": run.new_rows, **_failure_metadata(run),
        "by_kind": MetadataValue.json(run.kinds),
        "preview": _preview(run.preview, ["quote", "kind", "value", "unit", "subject", "region", "period_end"]),
    })
