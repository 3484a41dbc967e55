"""What a scan of the raw folder may not do to the warehouse.

Two refusals, decided before anything is written:
- a raw folder that is missing, not a directory or unreadable is an error, never an empty corpus;
- a scan that would remove too many of the live documents at once (a share of them AND a minimum
  count), or leave none at all, is refused unless the run explicitly allows it, like a sync
  tool's limit on deletions.

A document counts as removed when its content is no longer live under any name and none of the
files that carried it is still live: a rename is not a removal, nor is a file changed in place
(its old content is replaced, not removed). A file that turns into a rejection (e.g. unreadable)
removes its document.
"""
from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from zhengfa.ingest import previous_by_path, walk

LIVE_STATUSES = ("accepted", "duplicate")
NOTHING_CHANGED = "nothing was changed: the warehouse still holds the previous scan"
HOW_TO_ALLOW = ("to apply it anyway, run with allow_mass_removal: true in the raw_documents op config "
                "(UI launchpad), or ZHENGFA_ALLOW_MASS_REMOVAL=1 make run, or scripts/run.py --allow-mass-removal")


class FolderGuardError(Exception):
    """A scan was refused; the message says why and that nothing was changed."""


class RawFolderUnavailable(FolderGuardError):
    pass


class MassRemovalRefused(FolderGuardError):
    pass


@dataclass(frozen=True)
class RemovalLimits:
    """Refuse a scan that removes more than `share` of the live documents and at least `min_count`
    of them; a scan that would leave no document where there were some is refused whatever the counts."""

    share: float = 0.5
    min_count: int = 3

    def __post_init__(self):
        if not 0 <= self.share <= 1:
            raise ValueError(f"mass removal share must be between 0 and 1, got {self.share}")
        if self.min_count < 1:
            raise ValueError(f"mass removal minimum must be at least 1, got {self.min_count}")


# ---------------------------------------------------------------- the folder itself

def folder_problem(raw_dir: Path) -> str | None:
    """Why `raw_dir` cannot be scanned (missing, not a directory, unreadable), or None."""
    try:
        st = os.stat(raw_dir)  # follows a symlinked folder, as the scan does
    except FileNotFoundError:
        return f"raw folder {raw_dir} does not exist"
    except OSError as e:
        return f"raw folder {raw_dir} cannot be accessed ({e.strerror or type(e).__name__})"
    if not stat.S_ISDIR(st.st_mode):
        return f"raw folder {raw_dir} is not a directory"
    try:
        with os.scandir(raw_dir) as entries:
            next(entries, None)
    except OSError as e:
        return f"raw folder {raw_dir} cannot be read ({e.strerror or type(e).__name__})"
    return None


def check_folder(raw_dir: Path) -> None:
    """Raise RawFolderUnavailable when the folder cannot be scanned."""
    problem = folder_problem(raw_dir)
    if problem:
        raise RawFolderUnavailable(f"{problem}; {NOTHING_CHANGED}")


# ---------------------------------------------------------------- removals

@dataclass
class RemovalVerdict:
    live: int  # live documents before the scan
    remaining: int  # live documents after it
    removed_paths: dict[str, list[str]] = field(default_factory=dict)  # removed doc_id → its former paths
    refused: bool = False
    limits: RemovalLimits = field(default_factory=RemovalLimits)

    @property
    def removed(self) -> int:
        return len(self.removed_paths)

    def summary(self, raw_dir: Path | str) -> str:
        """What the scan removes, and why that is over the limits when it is."""
        if self.removed == 0:
            return f"the scan of {raw_dir} removes no document"
        names = sorted(p for paths in self.removed_paths.values() for p in paths)
        shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
        what = (f"the scan of {raw_dir} would remove {self.removed} of the {self.live} documents in the warehouse "
                f"({shown})")
        if not self.refused:
            return what
        why = ("it would leave no document" if self.remaining == 0 else
               f"the limit refuses removing more than {self.limits.share:.0%} of the documents and at least "
               f"{self.limits.min_count} at once")
        return f"{what}; {why}"

    def message(self, raw_dir: Path | str) -> str:
        """The refusal: what, why, that nothing changed, and how to allow it."""
        return f"refused: {self.summary(raw_dir)}; {NOTHING_CHANGED}; {HOW_TO_ALLOW}"


def _live(manifest: pd.DataFrame | None) -> tuple[list[str], list[str]]:
    """(paths, doc_ids) of the live rows of a manifest that carry a document id."""
    if manifest is None or manifest.empty:
        return [], []
    m = manifest[manifest["status"].isin(LIVE_STATUSES)]
    pairs = [(p, d) for p, d in zip(m["path"].tolist(), m["doc_id"].tolist()) if isinstance(d, str)]
    return [p for p, _ in pairs], [d for _, d in pairs]


def removal_verdict(previous: pd.DataFrame | None, current: pd.DataFrame,
                    limits: RemovalLimits = RemovalLimits()) -> RemovalVerdict:
    """Compare the previous manifest with a new one: how many live documents go, and whether that is refused.
    A document goes when no live file holds it any more and none of its former paths is live."""
    before_paths, before_ids = _live(previous)
    after_paths, after_ids = _live(current)
    still = set(after_ids)
    live_paths_after = set(after_paths)
    gone: dict[str, set[str]] = {}
    for path, doc_id in zip(before_paths, before_ids):
        if doc_id not in still:
            gone.setdefault(doc_id, set()).add(path)
    removed = {d: sorted(paths) for d, paths in gone.items() if not (paths & live_paths_after)}
    n, live = len(removed), len(set(before_ids))
    refused = live > 0 and n > 0 and (not still or (n > limits.share * live and n >= limits.min_count))
    return RemovalVerdict(live=live, remaining=len(still), removed_paths=removed, refused=refused,
                          limits=limits)


def check_removal(previous: pd.DataFrame | None, current: pd.DataFrame, raw_dir: Path | str,
                  limits: RemovalLimits = RemovalLimits(), allow: bool = False) -> RemovalVerdict:
    """The verdict; raises MassRemovalRefused when it is refused and not allowed."""
    verdict = removal_verdict(previous, current, limits)
    if verdict.refused and not allow:
        raise MassRemovalRefused(verdict.message(raw_dir))
    return verdict


def listing_manifest(raw_dir: Path, previous: pd.DataFrame | None) -> pd.DataFrame:
    """What a scan would find, guessed from the folder listing alone (no file is read).

    A file whose path, size and mtime match the previous manifest keeps its row. A new path whose
    size and mtime match a live file gone from the listing is taken for that file, renamed. Any other
    file counts as a live document of its own (new, or changed in place). The guess can only count
    fewer removals, and more remaining documents, than the real scan, so a refusal of the guess is a
    refusal of the scan.
    """
    prev = previous if previous is not None else pd.DataFrame(columns=["path", "size", "mtime_ns", "doc_id", "status"])
    by_path = previous_by_path(prev)
    files, skipped = walk(raw_dir)
    # a file that vanished while listing is not counted: the scan will not find it either
    listed = {f.path: (f.size, f.mtime_ns) for f in files if f.size is not None}

    def key(r):
        try:
            return int(r.size), int(r.mtime_ns)
        except (TypeError, ValueError):
            return None

    gone = {}
    for path, r in by_path.items():
        if path not in listed and r.status in LIVE_STATUSES and isinstance(r.doc_id, str) and key(r):
            gone.setdefault(key(r), []).append(r.doc_id)
    rows = []
    for path, sig in listed.items():
        r = by_path.get(path)
        if r is not None and key(r) == sig:
            rows.append((path, r.doc_id, r.status))
        elif r is None and gone.get(sig):
            rows.append((path, gone[sig].pop(0), "accepted"))
        else:
            rows.append((path, f"unread:{path}", "accepted"))
    for f, _ in skipped:
        rows.append((f.path, None, "skipped"))
    return pd.DataFrame(rows, columns=["path", "doc_id", "status"])
