"""Scanning the raw folder: every file accounted for, content-hash keys, cheap re-scans.

A file's bytes are read only when its (path, size, mtime) changed since the last scan; its
sha256 is its document id, so the same content under two names is stored once.
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, NamedTuple

import pandas as pd

from zhengfa.decode import Decoded, decode_or_reject
from zhengfa.sources import SOURCES_FILE

MANIFEST_COLUMNS = ["path", "file_name", "size", "mtime_ns", "doc_id", "status", "reason", "duplicate_of", "judged_by",
                    "scanned_at"]
TEXT_SUFFIXES = {".txt", ".text", ".htm", ".html", ".md", ""}
DECODE_BATCH_BYTES = 64 << 20  # new files' bytes held for one decode call, at most (or `sink_every` files)


@dataclass
class Scan:
    manifest: pd.DataFrame  # one row per file seen
    decoded: dict[str, dict]  # doc_id → {'text', 'encoding', 'html'} for newly decoded content (not yet sunk)
    events: pd.DataFrame
    n_decoded: int = 0  # documents decoded by this scan, including those handed to the sink


def _sha256_file(path: Path, limit: int) -> tuple[str | None, bytes | None, str | None]:
    """(hash, bytes-if-small-enough, error). Large files are hashed in chunks and not kept."""
    h = hashlib.sha256()
    data = bytearray()
    try:
        with open(path, "rb", buffering=0) as f:
            while True:
                chunk = f.read(1 << 20)
                if not chunk:
                    break
                h.update(chunk)
                if data is not None:
                    data.extend(chunk)
                    if len(data) > limit:
                        data = None  # too large: stop keeping bytes, keep hashing
    except (FileNotFoundError, PermissionError, IsADirectoryError, OSError) as e:
        return None, None, f"unreadable: {type(e).__name__}: {e}"
    return h.hexdigest(), (bytes(data) if data is not None else None), None


def _same(stored, current: int) -> bool:
    """A manifest value (Int64 column: may be <NA>, e.g. for a path that was a symlink) equals `current`."""
    try:
        return stored is not None and not pd.isna(stored) and int(stored) == current
    except (TypeError, ValueError):
        return False


@dataclass(frozen=True, slots=True)
class Entry:
    """A file of the raw folder as listed: its path relative to the folder, and its size and mtime
    (None when it vanished between the listing and its stat)."""
    path: str
    name: str
    full: str
    size: int | None
    mtime_ns: int | None


def walk(raw_dir: Path) -> tuple[list[Entry], list[tuple[Entry, str]]]:
    """Regular files under raw_dir (recursive, sorted, hidden skipped) with one lstat each, and the
    symlinks found, with why they are skipped: a symlink is recorded, never followed. One directory
    scan per folder, no path objects: a listing of 100,000 files costs a fraction of a second."""
    files: list[Entry] = []
    skipped: list[tuple[Entry, str]] = []
    root = str(raw_dir.resolve())

    def visit(folder: str, rel: str) -> None:
        try:
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError:
            return  # unreadable or gone: nothing listed from it
        subdirs = []
        for e in entries:
            if e.name.startswith("."):
                continue  # hidden files and folders
            try:
                is_dir = e.is_dir()  # a link to a folder counts as a folder, and is not entered
            except OSError:
                is_dir = False
            if is_dir:
                if not e.is_symlink():
                    subdirs.append(e)
                continue
            if not rel and e.name == SOURCES_FILE:
                continue  # the page metadata at the root is not an article
            path = rel + e.name
            if e.is_symlink():
                target = os.path.realpath(e.path)
                inside = target.startswith(root + os.sep)
                skipped.append((Entry(path, e.name, e.path, None, None),
                                "symlink: not followed" + ("" if inside else " (points outside the raw folder)")))
                continue
            try:
                st = e.stat(follow_symlinks=False)
                files.append(Entry(path, e.name, e.path, st.st_size, st.st_mtime_ns))
            except OSError:
                files.append(Entry(path, e.name, e.path, None, None))
        for d in subdirs:
            visit(d.path, rel + d.name + os.sep)

    visit(root, "")
    return files, skipped


_PREVIOUS = ["size", "mtime_ns", "status", "doc_id", "reason", "judged_by"]


class _Previous(NamedTuple):
    size: object
    mtime_ns: object
    status: str
    doc_id: object
    reason: object
    judged_by: object


def previous_by_path(previous: pd.DataFrame | None) -> dict[str, _Previous]:
    """The previous manifest's rows by path (read column by column: no per-row pandas objects)."""
    if previous is None or previous.empty:
        return {}
    cols = [previous[c].tolist() if c in previous.columns else [None] * len(previous) for c in _PREVIOUS]
    return {path: _Previous(*vals) for path, *vals in zip(previous["path"].tolist(), *cols)}


def decode_each(datas: list[bytes], max_bytes: int | None) -> list[Decoded]:
    """Decode files' bytes one after another in this process (`scan`'s default decoder)."""
    return [decode_or_reject(d, max_bytes) for d in datas]


def scan(raw_dir: Path, previous: pd.DataFrame | None, known_docs: set[str], max_bytes: int,
         force: bool = False, decoder_version: str = "", sink: Callable[[dict[str, dict]], None] | None = None,
         sink_every: int = 500,
         decode_many: Callable[[list[bytes], int | None], list[Decoded]] = decode_each) -> Scan:
    """Compare the folder with the previous manifest; decode content not seen before.
    A rejection stands only while the decoder that judged it (`decoder_version`) is current.
    `sink`, if given, receives the decoded documents every `sink_every` of them, so a scan never
    holds the whole collection's text. New content is decoded `sink_every` files (or 64 MB) at a
    time by `decode_many` (bytes → Decoded, in order), which may spread them over worker processes."""
    now = pd.Timestamp.now(tz="UTC")
    prev_by_path = previous_by_path(previous)
    files, skipped = walk(raw_dir)
    rows, decoded = [], {}
    sunk: set[str] = set()  # decoded and handed to the sink
    waiting: dict[str, tuple[bytes, list[int]]] = {}  # doc_id → (bytes, its rows) until the next decode
    waiting_bytes = 0

    def decode_waiting() -> None:
        nonlocal decoded, waiting_bytes
        ids = list(waiting)
        for doc_id, d in zip(ids, decode_many([waiting[i][0] for i in ids], max_bytes)):
            verdict = {"status": "accepted", "reason": None} if d.ok else {"status": "rejected", "reason": d.reject_reason}
            for row in waiting[doc_id][1]:  # every file with these bytes gets the verdict
                rows[row].update(verdict)
            if d.ok:
                decoded[doc_id] = {"text": d.text, "encoding": d.encoding, "html": d.html}
        waiting.clear()
        waiting_bytes = 0
        if sink is not None and len(decoded) >= sink_every:
            sink(decoded)
            sunk.update(decoded)
            decoded = {}

    for f in files:
        rel, size = f.path, f.size
        if size is None:
            rows.append(dict(path=rel, file_name=f.name, size=None, mtime_ns=None, doc_id=None,
                             status="rejected", reason="unreadable: vanished during scan (FileNotFoundError)",
                             duplicate_of=None))
            continue
        prev = prev_by_path.get(rel)
        reuse = (not force and prev is not None and _same(prev.size, size) and _same(prev.mtime_ns, f.mtime_ns)
                 and prev.status in ("accepted", "duplicate", "rejected") and isinstance(prev.doc_id, str)
                 # a file rejected as too large is read again once the limit admits it
                 and not (prev.status == "rejected" and str(prev.reason).startswith("too large")
                          and size <= max_bytes)
                 and not (prev.status == "rejected" and prev.judged_by != decoder_version))
        if reuse and (prev.status == "rejected" or prev.doc_id in known_docs):
            doc_id, status, reason = prev.doc_id, prev.status, prev.reason
            if status == "duplicate":
                status = "accepted"
        else:
            doc_id, data, err = _sha256_file(Path(f.full), max_bytes)
            if err:
                rows.append(dict(path=rel, file_name=f.name, size=size, mtime_ns=f.mtime_ns, doc_id=None,
                                 status="rejected", reason=err, duplicate_of=None))
                continue
            if doc_id in known_docs or doc_id in decoded or doc_id in sunk:
                status, reason = "accepted", None
            elif data is None:
                status, reason = "rejected", f"too large: {size} bytes > limit {max_bytes}"
            else:  # rejected until its decoding says otherwise
                status, reason = "rejected", None
                if doc_id not in waiting:
                    waiting[doc_id] = (data, [])
                    waiting_bytes += len(data)
                waiting[doc_id][1].append(len(rows))
        rows.append(dict(path=rel, file_name=f.name, size=size, mtime_ns=f.mtime_ns, doc_id=doc_id,
                         status=status, reason=reason, duplicate_of=None))
        if len(waiting) >= sink_every or waiting_bytes >= DECODE_BATCH_BYTES:
            decode_waiting()
    if waiting:
        decode_waiting()
    first_name_of: dict[str, str] = {}
    for row in rows:  # in folder order: the first file of each content is the document, the rest duplicates
        if row["status"] == "accepted":
            if row["doc_id"] in first_name_of:
                row.update(status="duplicate", duplicate_of=first_name_of[row["doc_id"]])
            else:
                first_name_of[row["doc_id"]] = row["path"]
    for f, reason in skipped:
        rows.append(dict(path=f.path, file_name=f.name, size=None, mtime_ns=None, doc_id=None, status="skipped",
                         reason=reason, duplicate_of=None))
    manifest = pd.DataFrame(rows, columns=MANIFEST_COLUMNS[:-2])
    manifest["judged_by"] = decoder_version
    manifest["scanned_at"] = now
    manifest["size"] = manifest["size"].astype("Int64")
    manifest["mtime_ns"] = manifest["mtime_ns"].astype("Int64")
    events = diff_events(previous, manifest, now)
    n_decoded = len(sunk) + len(decoded)
    if sink is not None and decoded:
        sink(decoded)
        decoded = {}
    return Scan(manifest, decoded, events, n_decoded)


def diff_events(previous: pd.DataFrame | None, current: pd.DataFrame, now) -> pd.DataFrame:
    """added / changed / removed / renamed events between two manifests.

    `since` names the previous manifest (its scan time, or 'initial'): a run killed after writing
    its events but before replacing the manifest diffs against the same manifest again, and the
    repeated events carry the same `since`, so the warehouse can drop the repeats.
    """
    def _id(x):  # a missing id reads back from Parquet as None, NaN or <NA>: one None for all
        return x if isinstance(x, str) else None

    def ids(df):
        return {} if df is None or df.empty else dict(zip(df["path"].tolist(), map(_id, df["doc_id"].tolist())))

    prev, cur = ids(previous), ids(current)
    events = []
    removed = {p: d for p, d in prev.items() if p not in cur}
    added = {p: d for p, d in cur.items() if p not in prev}
    renamed_from = {}
    for p, d in added.items():
        src = next((q for q, e in removed.items() if e == d and d is not None and q not in renamed_from.values()), None)
        if src:
            renamed_from[p] = src
    for p, d in added.items():
        if p in renamed_from:
            events.append(dict(path=p, event="renamed", doc_id=d, previous_doc_id=d, previous_path=renamed_from[p]))
        else:
            events.append(dict(path=p, event="added", doc_id=d, previous_doc_id=None, previous_path=None))
    for p, d in removed.items():
        if p not in renamed_from.values():
            events.append(dict(path=p, event="removed", doc_id=None, previous_doc_id=d, previous_path=None))
    for p, d in cur.items():
        if p in prev and prev[p] != d:
            events.append(dict(path=p, event="changed", doc_id=d, previous_doc_id=prev[p], previous_path=None))
    df = pd.DataFrame(events, columns=["path", "event", "doc_id", "previous_doc_id", "previous_path"])
    df["event_at"] = now
    since = "initial"
    if previous is not None and not previous.empty and "scanned_at" in previous.columns:
        since = str(pd.Timestamp(previous["scanned_at"].max()).isoformat())
    df["since"] = since
    return df


def folder_signature(raw_dir: Path) -> str:
    """Cheap fingerprint of a folder listing (names, sizes, mtimes) for the sensor cursor."""
    h = hashlib.sha256()
    if not raw_dir.exists():
        return "missing"
    files, skipped = walk(raw_dir)
    for f in files:
        line = f"{f.full}\0gone\n" if f.size is None else f"{f.full}\0{f.size}\0{f.mtime_ns}\n"
        h.update(line.encode("utf-8", "surrogateescape"))
    meta = raw_dir / SOURCES_FILE  # page metadata: an edited line re-processes its document
    for p in [Path(f.full) for f, _ in skipped] + ([meta] if meta.is_file() else []):
        try:
            st = p.lstat()
            h.update(f"{p}\0{st.st_size}\0{st.st_mtime_ns}\n".encode("utf-8", "surrogateescape"))
        except OSError:
            h.update(f"{p}\0gone\n".encode("utf-8", "surrogateescape"))
    return h.hexdigest()
