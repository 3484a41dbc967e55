"""Dagster resources: the raw corpus folder, the warehouse location, the segmenter, the text workers.

Paths are resolved to absolute paths anchored on the project root, so runs launched from the
web UI (whatever its working directory) read and write the same places.
"""
from __future__ import annotations

import os
from pathlib import Path

from dagster import ConfigurableResource
from dagster_duckdb import DuckDBResource

from zhengfa.guard import RemovalLimits

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_RAW_DIR = PROJECT_ROOT / "data" / "sample_corpus"
DEFAULT_WAREHOUSE_DIR = PROJECT_ROOT / "warehouse"
# Every string column is stored zstd-compressed. DuckDB's own choice keeps long texts (sections.text,
# metrics.sentence) uncompressed, and those make most of the file: zstd makes the file several times
# smaller, and each checkpoint and each copy of the readers' snapshot faster.
DUCKDB_CONFIG = {"force_compression": "zstd"}


def _anchored(path: str) -> str:
    p = Path(path).expanduser()
    return str(p if p.is_absolute() else (PROJECT_ROOT / p).resolve())


class RawCorpus(ConfigurableResource):
    """The folder of raw articles (ZHENGFA_RAW_DIR; default: the bundled sample)."""

    raw_dir: str = str(DEFAULT_RAW_DIR)
    max_bytes: int = 20_000_000  # larger files are rejected with the reason, never read whole (ZHENGFA_MAX_BYTES)
    # A scan removing more than this share of the live documents, and at least `mass_removal_min` of
    # them, is refused unless the run allows it (ZHENGFA_MASS_REMOVAL_SHARE, ZHENGFA_MASS_REMOVAL_MIN).
    mass_removal_share: float = RemovalLimits.share
    mass_removal_min: int = RemovalLimits.min_count

    @property
    def path(self) -> Path:
        return Path(_anchored(self.raw_dir))

    @property
    def removal_limits(self) -> RemovalLimits:
        return RemovalLimits(share=self.mass_removal_share, min_count=self.mass_removal_min)


class Warehouse(ConfigurableResource):
    """Where Parquet batches (the system of record) and the DuckDB file live."""

    warehouse_dir: str = str(DEFAULT_WAREHOUSE_DIR)

    @property
    def path(self) -> Path:
        return Path(_anchored(self.warehouse_dir))

    @property
    def duckdb_path(self) -> Path:
        return self.path / "zhengfa.duckdb"


class Segmenter(ConfigurableResource):
    """jieba with the domain dictionary shipped in resources/data/domain_words.txt."""

    user_dict: str = str(PROJECT_ROOT / "resources" / "data" / "domain_words.txt")

    def warm(self) -> int:
        from zhengfa import subjects

        subjects.words("刑事警情同比下降")
        return sum(1 for _ in open(self.user_dict, encoding="utf-8"))


class TextWorkers(ConfigurableResource):
    """How the per-document text stages use the machine: worker processes (0: one per core;
    ZHENGFA_WORKERS) and documents per chunk (ZHENGFA_CHUNK_DOCS). A stage reads a chunk, has
    the workers process it, and writes it as one Parquet batch, so memory depends on the chunk,
    not on the collection. One worker runs everything in the asset's own process."""

    workers: int = 0
    chunk_docs: int = 500

    @property
    def worker_count(self) -> int:
        from zhengfa.parallel import default_workers

        return self.workers if self.workers > 0 else default_workers()


def build_resources(raw_dir: str | None = None, warehouse_dir: str | None = None,
                    max_bytes: int | None = None) -> dict:
    raw = _anchored(raw_dir or os.environ.get("ZHENGFA_RAW_DIR") or str(DEFAULT_RAW_DIR))
    limit = max_bytes or int(os.environ.get("ZHENGFA_MAX_BYTES") or RawCorpus.model_fields["max_bytes"].default)
    wh = _anchored(warehouse_dir or os.environ.get("ZHENGFA_WAREHOUSE_DIR") or str(DEFAULT_WAREHOUSE_DIR))
    limits = RemovalLimits(share=float(os.environ.get("ZHENGFA_MASS_REMOVAL_SHARE") or RemovalLimits.share),
                           min_count=int(os.environ.get("ZHENGFA_MASS_REMOVAL_MIN") or RemovalLimits.min_count))
    return {
        "corpus": RawCorpus(raw_dir=raw, max_bytes=limit, mass_removal_share=limits.share,
                            mass_removal_min=limits.min_count),
        "warehouse": Warehouse(warehouse_dir=wh),
        "duckdb": DuckDBResource(database=str(Path(wh) / "zhengfa.duckdb"), connection_config=DUCKDB_CONFIG | {
            # DuckDB's buffers are capped (ZHENGFA_DUCKDB_MEMORY, default 512MB): a full load spills to its
            # file instead of growing with the collection
            "memory_limit": os.environ.get("ZHENGFA_DUCKDB_MEMORY") or "512MB"}),
        "segmenter": Segmenter(),
        "text_workers": TextWorkers(workers=int(os.environ.get("ZHENGFA_WORKERS") or 0),
                                    chunk_docs=int(os.environ.get("ZHENGFA_CHUNK_DOCS") or 500)),
    }
