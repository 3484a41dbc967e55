"""Page metadata from the crawl: `sources.jsonl` at the root of the raw folder.

One JSON object per line: `file` (path relative to the raw folder) and any of `url`,
`published` (YYYY-MM-DD, YYYY-MM or YYYY), `outlet`, `title`; other keys are ignored. The file
is metadata, never an article. A line that cannot be used is reported with its number and the
reason; the other lines still count.
"""
from __future__ import annotations

import hashlib
import json
import posixpath
import re
from dataclasses import dataclass
from pathlib import Path

SOURCES_FILE = "sources.jsonl"
FIELDS = ("url", "published", "outlet", "title")
_PUBLISHED = re.compile(r"^(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?$")


@dataclass(frozen=True)
class SourceIssue:
    line: int
    file: str | None
    reason: str
    text: str


def normalize_published(value) -> str | None:
    """'2022-9-22' → '2022-09-22', '2021-12' → '2021-12', '2023' → '2023'; ValueError when not a date."""
    if value is None or value == "":
        return None
    m = _PUBLISHED.match(str(value).strip())
    if not m:
        raise ValueError(f"published {value!r} is not YYYY-MM-DD, YYYY-MM or YYYY")
    y, mo, d = m.group(1), m.group(2), m.group(3)
    if mo and not 1 <= int(mo) <= 12:
        raise ValueError(f"published {value!r}: month out of range")
    if d and not 1 <= int(d) <= 31:
        raise ValueError(f"published {value!r}: day out of range")
    return "-".join([y] + ([f"{int(mo):02d}"] if mo else []) + ([f"{int(d):02d}"] if d else []))


def _relative(file: str) -> str:
    p = posixpath.normpath(file.replace("\\", "/").lstrip("/"))
    if p.startswith("../") or p == "..":
        raise ValueError(f"file {file!r} points outside the raw folder")
    return p


def parse_sources(text: str) -> tuple[dict[str, dict], list[SourceIssue]]:
    """{relative path: {url, published, outlet, title}} and the lines that could not be used.
    When two lines name the same file, the later one wins and the earlier is reported."""
    entries: dict[str, dict] = {}
    line_of: dict[str, int] = {}
    issues: list[SourceIssue] = []
    for no, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            issues.append(SourceIssue(no, None, f"not JSON: {e.msg} at column {e.colno}", raw[:200]))
            continue
        if not isinstance(obj, dict):
            issues.append(SourceIssue(no, None, f"not a JSON object but {type(obj).__name__}", raw[:200]))
            continue
        file = obj.get("file")
        if not isinstance(file, str) or not file.strip():
            issues.append(SourceIssue(no, None, "no 'file' (path of the article relative to the raw folder)", raw[:200]))
            continue
        try:
            rel = _relative(file.strip())
            meta = {}
            for key in FIELDS:
                value = obj.get(key)
                if value is not None and not isinstance(value, str):
                    raise ValueError(f"'{key}' must be a string, not {type(value).__name__}")
                meta[key] = value.strip() or None if isinstance(value, str) else None
            meta["published"] = normalize_published(meta["published"])
        except ValueError as e:
            issues.append(SourceIssue(no, file, str(e), raw[:200]))
            continue
        if rel in entries:
            issues.append(SourceIssue(line_of[rel], rel, f"superseded by line {no}, which names the same file", ""))
        entries[rel] = meta
        line_of[rel] = no
    for rel, meta in entries.items():
        meta["line"] = line_of[rel]
    return entries, issues


def read_sources(raw_dir: Path) -> tuple[dict[str, dict], list[SourceIssue]]:
    """The metadata file of a raw folder; ({}, []) when there is none."""
    path = raw_dir / SOURCES_FILE
    if not path.is_file():
        return {}, []
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except (OSError, UnicodeDecodeError) as e:
        return {}, [SourceIssue(0, None, f"{SOURCES_FILE} unreadable: {type(e).__name__}: {e}", "")]
    return parse_sources(text)


def source_key(meta: dict | None) -> str:
    """A short hash of the metadata a document's text stages read: a changed line re-processes
    that document, and only that one. '' when there is no metadata."""
    if not meta or not any(meta.get(k) for k in FIELDS):
        return ""
    payload = json.dumps({k: meta.get(k) for k in FIELDS}, ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:16]
