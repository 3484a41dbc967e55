"""Access to the data files shipped under resources/data (dictionaries, taxonomies, tables)."""
from __future__ import annotations

import csv
from functools import lru_cache
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent.parent / "resources" / "data"


def path(name: str) -> Path:
    return DATA_DIR / name


@lru_cache(maxsize=None)
def read_lines(name: str) -> list[str]:
    """Non-empty lines, comments (#) skipped."""
    out = []
    for line in path(name).read_text(encoding="utf-8").splitlines():
        line = line.rstrip("\n")
        if line.strip() and not line.lstrip().startswith("#"):
            out.append(line.strip())
    return out


def read_tsv(name: str, ncols: int) -> list[list[str]]:
    rows = []
    for line in read_lines(name):
        parts = line.split("\t")
        if len(parts) < ncols:
            raise ValueError(f"{name}: expected {ncols} tab-separated columns: {line!r}")
        rows.append(parts[:ncols])
    return rows


@lru_cache(maxsize=None)
def read_csv(name: str) -> list[dict]:
    with path(name).open(encoding="utf-8", newline="") as f:
        return [row for row in csv.DictReader(line for line in f if not line.startswith("#"))]


def fingerprint(names: list[str]) -> str:
    """Content hash of data files, for code versions."""
    import hashlib

    h = hashlib.sha256()
    for name in sorted(names):
        h.update(name.encode())
        h.update(path(name).read_bytes())
    return h.hexdigest()[:12]
