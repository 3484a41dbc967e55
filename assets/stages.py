"""Per-document stages: raw → cleaned → sections → metric mentions.

Each asset is incremental by content hash: it processes only the live documents whose rows
are missing from its Parquet store for the current code version, and appends one batch.
"""

import hashlib
from pathlib import Path
from typing import Optional

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from dagster import (
    AssetCheckResult,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetSpec,
    Config,
    Failure,
    MaterializeResult,
    MetadataValue,
    asset,
    multi_asset,
)

from resources import RawCorpus, Segmenter, TextWorkers, Warehouse
from zhengfa import guard, ingest, parallel, sources
from zhengfa.store import StageStore, write_parquet_atomic, writer_lock

POOL = "zhengfa_warehouse"
COMPACT_AT = 48  # small batches in a store before they are merged into one (daily runs add one each)
# a batch under 64 KB is small and gets merged; a build's chunks (hundreds of documents, some
# hundreds of KB per store once compressed) are never rewritten by a later small run
SMALL_BATCH = 1 << 16
_ROOT = Path(__file__).resolve().parent.parent


def _version(*globs: str) -> str:
    h = hashlib.sha256()
    for pattern in globs:
        for p in sorted(_ROOT.glob(pattern)):
            h.update(p.name.encode())
            h.update(p.read_bytes())
    return h.hexdigest()[:12]


# What a file decodes to depends on the decoder alone: the folder scan (zhengfa/ingest.py) decides
# which files are read, not what they contain.
DECODE_VERSION = _version("zhengfa/decode.py")
# The text stages depend on these modules and the data files; storage and scanning code does not
# change what they produce (a test checks that every module the text stages import is listed).
TEXT_MODULES = ("areas", "clean", "data_files", "extract", "figures", "indicators", "kinds", "model", "numbers",
                "periods", "pipeline", "regions", "rx", "sections", "sources", "subject_phrase", "subjects",
                "where_when")
TEXT_VERSION = _version(*(f"zhengfa/{m}.py" for m in TEXT_MODULES), "resources/data/*")


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


def _first_files(warehouse: Warehouse, src: pd.DataFrame, doc_ids=None) -> dict[str, int]:
    """doc_id → the row of `src` (the sources table) of the first of its accepted files that has
    metadata, for the given documents (all when None)."""
    m = read_manifest(warehouse)
    if m.empty or src.empty:
        return {}
    row_of = dict(zip(src["file"].tolist(), range(len(src))))
    wanted = None if doc_ids is None else set(doc_ids)
    out: dict[str, int] = {}
    accepted = m[m["status"] == "accepted"]
    for path, doc_id in zip(accepted["path"].astype(str).tolist(), accepted["doc_id"].tolist()):
        row = row_of.get(path.replace("\\", "/"))
        if row is not None and doc_id not in out and (wanted is None or doc_id in wanted):
            out[doc_id] = row
    return out


def document_sources(warehouse: Warehouse, doc_ids=None) -> dict[str, dict]:
    """doc_id → the metadata of its first accepted file (url, published, outlet, title), for the
    given documents (all when None)."""
    src = read_sources_table(warehouse)
    columns = {k: src[k].tolist() for k in sources.FIELDS} if not src.empty else {}
    return {d: {k: (columns[k][row] if isinstance(columns[k][row], str) else None) for k in sources.FIELDS}
            for d, row in _first_files(warehouse, src, doc_ids).items()}


def document_source_keys(warehouse: Warehouse) -> dict[str, str]:
    """doc_id → sources.source_key of its metadata, as the raw scan stored it with the sources
    table (no hashing per document and run)."""
    src = read_sources_table(warehouse)
    keys = src["source_key"].tolist() if not src.empty else []
    return {d: keys[row] or "" for d, row in _first_files(warehouse, src).items()}


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
            # new files are decoded on the text workers (their pool then serves the text stages warm)
            decoder = parallel.decode_with(parallel.shared_runner(text_workers.worker_count))
            scan = ingest.scan(corpus.path, previous, known, corpus.max_bytes, force=config.full_refresh,
                               decoder_version=DECODE_VERSION, sink=sink, sink_every=text_workers.chunk_docs,
                               decode_many=decoder)
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


def _with_column(table: pa.Table, name: str, values: pa.Array) -> pa.Table:
    """`table` with column `name` set to `values` (replaced if there, appended if not)."""
    i = table.schema.get_field_index(name)
    return table.set_column(i, name, values) if i >= 0 else table.append_column(name, values)


def _todo(store: StageStore, live: list[str], keys: dict[str, str], full_refresh: bool) -> list[str]:
    if full_refresh:
        return live
    missing = store.missing(TEXT_VERSION, {d: keys.get(d, "") for d in live})
    return [d for d in live if d in missing]


class StageRun:
    """What a text stage did in one run: counts, a preview of its first rows, failures."""

    def __init__(self, id_column: str | None):
        self.id_column = id_column
        self.processed = self.live = self.new_rows = self.batches = 0
        self.preview = pd.DataFrame()
        self.kinds: dict[str, int] = {}
        self.failed: list[tuple[str, str]] = []

    def add(self, table: pa.Table) -> None:
        real = table.filter(pc.is_valid(table[self.id_column])) if self.id_column else table
        self.new_rows += real.num_rows
        if self.preview.empty and real.num_rows:
            self.preview = real.slice(0, 5).to_pandas()
        if "kind" in real.column_names:
            for kv in pc.value_counts(real["kind"]).to_pylist():
                if kv["values"] is not None:
                    self.kinds[kv["values"]] = self.kinds.get(kv["values"], 0) + kv["counts"]

    def metadata(self) -> dict:
        return {"failed_documents": len(self.failed),
                "failures": MetadataValue.md("\n".join(f"- `{d}`: {e}" for d, e in self.failed[:20]) or "_none_")}


TEXT_STAGES = parallel.STAGE_ROW_IDS


def run_text_stages(context, warehouse: Warehouse, config: StageConfig, workers: TextWorkers,
                    warm=lambda: None) -> dict[str, StageRun]:
    """Every text stage of the live documents missing from any stage's store (or stored with other
    page metadata), a chunk at a time. The workers take each document through all stages in one
    pass (parallel.text_task); this process alone writes, one batch per chunk and stage, and only
    to the stores that lack the document. A document whose processing fails is logged and left
    out of the stages it did not reach (not marked done: the next run tries it again)."""
    runs = {stage: StageRun(id_column) for stage, id_column in TEXT_STAGES.items()}
    with writer_lock(warehouse.path):
        live = live_doc_ids(warehouse)
        keys = document_source_keys(warehouse)
        stores = {stage: StageStore(warehouse.path, stage) for stage in TEXT_STAGES}
        todo = {stage: set(_todo(store, live, keys, config.full_refresh)) for stage, store in stores.items()}
        wanted = [d for d in live if any(d in t for t in todo.values())]
        for stage, run in runs.items():
            run.processed, run.live = len(todo[stage]), len(live)
        meta = document_sources(warehouse, wanted) if wanted else {}
        runner = parallel.shared_runner(workers.worker_count)
        if wanted and runner.in_process(len(wanted)):
            warm()  # the dictionaries are loaded here only when this process does the work

        def chunks():
            for raw in StageStore(warehouse.path, "raw").stream(DECODE_VERSION, wanted, ["text"], workers.chunk_docs):
                ids = raw["doc_id"].tolist()
                yield ids, [(d, t, meta.get(d)) for d, t in zip(ids, raw["text"].tolist())]

        for out in runner.run(parallel.text_tables_task, chunks(), total=len(wanted)):
            errors = dict(out.failed)
            for stage in TEXT_STAGES:
                parts, done = [], set()
                for packed in out.rows:  # one per task
                    part = packed[stage]
                    done.update(part.done)
                    if part.table is None:
                        continue
                    table = part.table
                    if not todo[stage].issuperset(part.done):  # leave out documents this stage already has
                        keep = pa.array([d for d in part.done if d in todo[stage]], pa.string())
                        table = table.filter(pc.is_in(table["doc_id"], value_set=keep))
                    parts.append(table)
                runs[stage].failed.extend((d, errors.get(d, "not processed")) for d in out.ids
                                          if d in todo[stage] and d not in done)
                table = pa.concat_tables(parts, promote_options="permissive") if parts else None
                if table is None or table.num_rows == 0:
                    continue
                table = _with_column(table, "code_version", pa.array([TEXT_VERSION] * table.num_rows, pa.string()))
                table = _with_column(table, "source_key", pa.array([keys.get(d, "") for d in table["doc_id"].to_pylist()],
                                                                   pa.string()))
                stores[stage].write(table)
                runs[stage].batches += 1
                runs[stage].add(table)
            for doc_id, error in out.failed:
                context.log.warning(f"document {doc_id} failed and was left out of the stages it did not reach: {error}")
        # small batches (one per incremental run) count towards compaction, a large build's chunks
        # do not: the run after a first build of 100,000 documents does not rewrite them all
        for stage, store in stores.items():
            compacted = store.compact(TEXT_VERSION, set(live), min_files=COMPACT_AT, small_bytes=SMALL_BATCH)
            if compacted:
                context.log.info(f"{stage}: compacted {compacted} batches into one")
    context.log.info(f"text stages: {len(wanted)} documents processed "
                     f"({runner.workers if len(wanted) >= runner.serial_below else 1} worker(s)), "
                     f"{len(live) - len(wanted)} reused, "
                     f"{len({d for run in runs.values() for d, _ in run.failed})} failed")
    return runs


@multi_asset(
    name="text_stages",
    specs=[
        AssetSpec("cleaned_documents", deps=[raw_documents], group_name="text", code_version=TEXT_VERSION,
                  description="Cleaned article text (page furniture removed, full-width and traditional forms "
                              "normalized, broken paragraphs joined, repeats flagged, captions marked) and "
                              "document metadata: title, outlet, publish date, region, report year."),
        AssetSpec("document_sections", deps=["cleaned_documents"], group_name="text", code_version=TEXT_VERSION,
                  description="Sections of each document: headings and hierarchy, order, text span, and the "
                              "region each section is about (from the place, street and station names inside it)."),
        AssetSpec("metric_mentions", deps=["document_sections"], group_name="text", code_version=TEXT_VERSION,
                  description="Every quantitative statement, normalized: kind, value, unit, approximation, basis, "
                              "subject, indicator code, region, period, and the quote's span in the cleaned text."),
    ],
    pool=POOL,
    can_subset=False,
)
def text_stages(context: AssetExecutionContext, config: StageConfig, warehouse: Warehouse, segmenter: Segmenter,
                text_workers: TextWorkers):
    """The three text stages in one step: each document goes through cleaning, sections and metrics
    in one worker pass (they share one code version, so they are always stale together), and each
    stage keeps its own store and its own materialization."""
    runs = run_text_stages(context, warehouse, config, text_workers, warm=segmenter.warm)
    docs, secs, mets = runs["documents"], runs["sections"], runs["metrics"]
    yield MaterializeResult(asset_key="cleaned_documents", metadata={
        "dagster/row_count": docs.live, "processed": docs.processed, "reused": docs.live - docs.processed,
        **docs.metadata(),
        "preview": _preview(docs.preview, ["doc_id", "title", "region", "report_year", "publish_date", "n_paragraphs"]),
    })
    yield MaterializeResult(asset_key="document_sections", metadata={
        "processed_documents": secs.processed, "new_rows": secs.new_rows, **secs.metadata(),
        "preview": _preview(secs.preview, ["section_id", "level", "kind", "heading", "region"]),
    })
    yield MaterializeResult(asset_key="metric_mentions", metadata={
        "processed_documents": mets.processed, "new_rows": mets.new_rows, **mets.metadata(),
        "by_kind": MetadataValue.json(mets.kinds),
        "preview": _preview(mets.preview, ["quote", "kind", "value", "unit", "subject", "region", "period_end"]),
    })
