"""Cleaned paragraphs → sections: headings, hierarchy, order and character spans."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from zhengfa.clean import Cleaned

_CN_NUM = "一二三四五六七八九十"
# (pattern, level, series kind): level 1 is a top heading, 2 below it.
_HEADINGS = [
    (re.compile(rf"^[{_CN_NUM}]+、\S"), 1, "cn"),
    (re.compile(r"^第[一二三四五六七八九十]+(部分|章|节|篇)"), 1, "part"),
    (re.compile(r"^[A-H]\s+\S"), 1, "latin"),
    (re.compile(rf"^[(]([{_CN_NUM}]+)[)]\s*\S"), 2, "paren"),
    (re.compile(r"^0?\d{1,2}\s+\S"), 2, "arabic"),
    (re.compile(r"^0\d$"), 2, "arabic"),
]
_SENTENCE_END = re.compile(r"[。！？!?；;]")
_LIST_ITEM = re.compile(r"^(?:-\s*)?(?:[①-⑳]|\d{1,2}\s+\S|\d{1,2}[、.]\S|[(]\d{1,2}[)])")
_NUM = re.compile(r"^(?:0?(\d{1,2})|\(([一二三四五六七八九十]+)\)|([一二三四五六七八九十]+)、|([A-H]))")


@dataclass
class Section:
    ord: int
    level: int
    heading: str
    start: int
    end: int
    text: str
    parent: int | None = None
    kind: str = "lead"  # lead | numbered | standalone | scorecard | subtitle
    series: int | None = None  # numbered sibling headings of one run share an id
    paragraphs: list[int] = field(default_factory=list)


def heading_kind(text: str, is_caption: bool) -> tuple[int, str] | None:
    """(level, kind) if a paragraph is a heading line, else None."""
    t = text.strip()
    if is_caption or len(t) > 40:
        return None
    for rx, level, kind in _HEADINGS:
        if rx.match(t):
            if kind == "arabic" and (len(t) > 30 or _SENTENCE_END.search(t)):
                return None  # a numbered list item, not a heading
            return level, kind
    if t.startswith("——"):
        return 3, "subtitle"
    if "成绩单" in t or "成绩表" in t:
        return 2, "scorecard"
    if len(t) <= 36 and not _SENTENCE_END.search(t) and not t.endswith((":", "，", ",")):
        return 2, "standalone"
    return None


def split_sections(doc: Cleaned) -> list[Section]:
    sections: list[Section] = []
    current: Section | None = None
    pending_number: str | None = None
    last_num_kind: str | None = None
    series_id = 0
    series_of_kind: dict[str, int] = {}
    for idx, p in enumerate(doc.paragraphs):
        hk = heading_kind(p.text, p.caption) if idx > 0 else None
        if hk is None and idx == 0:
            hk = (1, "title") if len(p.text) <= 60 and not _SENTENCE_END.search(p.text) else None
        if hk and hk[1] == "arabic" and re.fullmatch(r"0\d", p.text.strip()):
            pending_number = p.text.strip()  # "01" alone: the heading text follows
        if (hk is None and current is not None and current.kind == "scorecard" and len(current.paragraphs) > 1
                and not _LIST_ITEM.match(p.text)):
            # a score card (成绩单) ends with its list: the prose after it is a section of its own
            current = Section(len(sections), current.level, "", p.start, p.end, p.text, current.parent, "body",
                              None, [idx])
            sections.append(current)
            continue
        if hk is None or (current is not None and current.kind == "subtitle" and hk[1] == "subtitle"):
            if current is None:
                current = Section(len(sections), 0, doc.title or "", p.start, p.end, p.text, kind="lead")
                sections.append(current)
            else:
                current.end = p.end
            current.paragraphs.append(idx)
            continue
        level, kind = hk
        if current is not None and pending_number and current.heading == pending_number and len(current.paragraphs) == 1:
            current.heading = f"{pending_number} {p.text}"
            current.end = p.end
            current.paragraphs.append(idx)
            pending_number = None
            continue
        numbered = kind in ("cn", "latin", "paren", "arabic", "part")
        if numbered:
            if kind not in series_of_kind or last_num_kind != kind and _number(p.text) in (1, None):
                series_id += 1
                series_of_kind[kind] = series_id
            elif _number(p.text) == 1:
                series_id += 1
                series_of_kind[kind] = series_id
            last_num_kind = kind
        parent = None
        for s in reversed(sections):
            if s.level < level:
                parent = s.ord
                break
        current = Section(len(sections), level, p.text, p.start, p.end, p.text, parent,
                          "numbered" if numbered else kind, series_of_kind.get(kind) if numbered else None, [idx])
        sections.append(current)
    full = doc.text
    for s in sections:
        s.text = full[s.start:s.end]
    return sections


def _number(text: str) -> int | None:
    m = _NUM.match(text.strip())
    if not m:
        return None
    if m.group(1):
        return int(m.group(1))
    cn = m.group(2) or m.group(3)
    if cn:
        return _CN_NUM.index(cn[0]) + 1 if len(cn) == 1 else None
    return "ABCDEFGH".index(m.group(4)) + 1
