"""Kind, sign and baseline of a figure (count, amount, rate, change, rank; 同比 / 较2019年), from the
words before it and the data files change_words.tsv and basis.tsv."""
from __future__ import annotations

import re
from functools import lru_cache
from typing import TYPE_CHECKING

from zhengfa import data_files

if TYPE_CHECKING:
    from zhengfa.figures import Figure

_ADVERBS = re.compile(r"(大幅|明显|持续|分别|均|稳步|显著|有效|进一步|同比|环比|了|达|为|约|近|超|逾|较大|小幅)+$")


@lru_cache(maxsize=1)
def _change_words() -> list[tuple[str, int]]:
    rows = data_files.read_tsv("change_words.tsv", 2)
    return sorted(((w, int(s)) for w, s in rows), key=lambda x: -len(x[0]))


@lru_cache(maxsize=1)
def basis_rules() -> list[tuple[re.Pattern, str]]:
    return [(re.compile(rx), b) for rx, b in data_files.read_tsv("basis.tsv", 2)]


def change_at(before: str) -> tuple[str, int] | None:
    """A change word ending `before` (ignoring adverbs and approximation words)."""
    t = before.rstrip()
    t = re.sub(r"(了|达|为|约|近|超过|超|逾|将近|接近|分别|均|大约)+$", "", t)
    for word, sign in _change_words():
        if t.endswith(word):  # (降至37% ends with 至: a level, not a change)
            return word, sign
    return None


def basis_of(text: str) -> str | None:
    found = None
    pos = -1
    for rx, b in basis_rules():
        for m in rx.finditer(text):
            if m.start() > pos:
                found, pos = b, m.start()
    return found


def kind_of(head: Figure, before: str, basis_text: str, group: list[Figure]) -> tuple[str, int, str | None]:
    if head.unit_class == "rank":
        return "rank", 1, None
    change = change_at(before)
    if head.unit_class == "multiple":
        return "change", (change[1] if change else 1), basis_of(basis_text)  # 增长1.5倍
    if head.unit_class == "points":
        return "change", (change[1] if change else 1), basis_of(basis_text)
    if change:
        return "change", change[1], basis_of(basis_text)
    if head.unit_class == "money":
        return "amount", 1, None
    if head.unit_class in ("percent", "tenth", "none", "score"):
        return "rate", 1, None
    return "count", 1, None


def strip_change(before: str) -> str:
    t = re.sub(r"(了|达|为|约|近|超过|超|逾|将近|接近|分别|均|大约)+$", "", before.rstrip())
    change = change_at(t)
    if change:
        t = t[: len(t) - len(change[0])]
    for rx, _ in basis_rules():
        t = re.sub(f"(?:{rx.pattern})\\S*$", "", t) if rx.search(t) else t
    t = _ADVERBS.sub("", t)
    return t
