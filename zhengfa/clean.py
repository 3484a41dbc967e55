"""Article text → cleaned paragraphs with offsets, flags and document metadata.

Removes page furniture (navigation, bylines, footers, link lists, ads), normalizes
whitespace, full-width forms and traditional characters, joins paragraphs broken
across a page, flags verbatim repeats and marks photo captions.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache

from zhengfa import data_files


@dataclass
class Paragraph:
    start: int
    end: int
    text: str
    caption: bool = False
    repeated: bool = False


@dataclass
class Cleaned:
    text: str
    paragraphs: list[Paragraph]
    title: str | None = None
    outlet: str | None = None
    publish_date: date | None = None
    removed_lines: int = 0
    header: str = ""  # source, byline and date lines taken out of the text (weak place evidence)
    notes: list[str] = field(default_factory=list)


@lru_cache(maxsize=1)
def _opencc():
    import opencc

    return opencc.OpenCC("t2s")


@lru_cache(maxsize=1)
def _rules():
    drop, strip, block = [], [], []
    for kind, pattern in data_files.read_tsv("boilerplate.tsv", 2):
        rx = re.compile(pattern)
        {"drop_line": drop, "strip": strip, "block": block}[kind].append(rx)
    captions = [line for line in data_files.read_lines("captions.txt")]
    return drop, strip, block, captions


_FULLWIDTH = {c: c - 0xFEE0 for c in range(0xFF01, 0xFF5F)}
_FULLWIDTH.update({ord("「"): "“", ord("」"): "”", ord("『"): "‘", ord("』"): "’"})
_FULLWIDTH.update({0x3000: 0x20, 0xA0: 0x20, 0x2002: 0x20, 0x2003: 0x20, 0x200B: None, 0xFEFF: None})
# str.translate looks every character up in the table; a character-class scan finds the few to
# replace and is some twenty times faster on Chinese text
_FULLWIDTH_CHARS = {chr(k): v if isinstance(v, str) else "" if v is None else chr(v) for k, v in _FULLWIDTH.items()}
_FULLWIDTH_RX = re.compile("[" + "".join(re.escape(c) for c in sorted(_FULLWIDTH_CHARS)) + "]")
_PINYIN_GLOSS = re.compile(r"(?<=[\u3400-\u9fff])\s?\([a-zA-Zāáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜüńňḿ]{1,8}[1-5]?\)")
_DATE = re.compile(r"(20\d{2}|19\d{2})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?")
_TIME = re.compile(r"\b\d{1,2}:\d{2}(:\d{2})?\b")
_META_HINT = re.compile(r"(发布|時間|时间|日期|来源|來源|发表|浏览|作者|编辑)")
_SOURCE = re.compile(r"(?:来源|來源)\s*[:：]?\s*([^\s:：|｜【]{2,20}?)(?=\s|$|责任编辑|作者|编辑|\||｜|【|\d)")
_TERMINAL = "。！？!?；;…”」』)）"
_CJK = re.compile(r"[\u3400-\u9fff]")
_HEADING_START = re.compile(r"^([一二三四五六七八九十]+[、.]|[(（][一二三四五六七八九十\d]+[)）]|[A-H]\s|\d{1,2}\s|0\d\s*$|[①-⑳]|第[一二三四五六七八九十]+[部章节])")


def normalize(text: str) -> str:
    """Newlines, full-width forms, pinyin glosses and traditional characters."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _FULLWIDTH_RX.sub(lambda m: _FULLWIDTH_CHARS[m.group()], text)
    text = _PINYIN_GLOSS.sub("", text)
    return _opencc().convert(text)


def _parse_date(s: str) -> date | None:
    m = _DATE.search(s)
    if not m:
        return None
    try:
        return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        return None


def _is_meta_line(line: str) -> bool:
    """A header line carrying date/source/time and little prose."""
    if not _DATE.search(line):
        return False
    rest = _DATE.sub("", line)
    rest = _TIME.sub("", rest)
    prose = len(_CJK.findall(rest))
    return (bool(_META_HINT.search(line)) or bool(_TIME.search(line)) or prose <= 8) and prose <= 30 and "。" not in line


def clean(raw: str) -> Cleaned:
    drop, strip, block, caption_marks = _rules()
    text = normalize(raw)
    lines = [ln.strip() for ln in text.split("\n")]
    publish_date, outlet, removed = None, None, 0
    kept: list[str] = []
    header_lines: list[str] = []
    in_block = False
    banner_end = _banner_end(lines)
    for i, line in enumerate(lines):
        if not line:
            continue
        if i < banner_end:
            removed += 1  # the site's name, slogan and menus above its navigation trail
            continue
        header = i < 15
        if header and _is_meta_line(line):
            publish_date = publish_date or _parse_date(line)
            m = _SOURCE.search(line)
            if m and not outlet:
                outlet = m.group(1)
            elif not outlet:
                before = _DATE.split(line)[0].strip()
                if 1 < len(before) <= 12 and _CJK.search(before) and not _META_HINT.search(before.split()[-1]):
                    outlet = before.split()[-1]
            header_lines.append(line)
            removed += 1
            continue
        if header and not publish_date and _DATE.search(line) and _META_HINT.search(line):
            publish_date = _parse_date(line)
        if any(rx.search(line) for rx in block):
            in_block = True
            removed += 1
            continue
        if in_block:
            if len(line) < 60 or line.startswith(("·", "•", "-", "*")):
                removed += 1
                continue
            in_block = False
        if not outlet:
            m = _SOURCE.search(line)
            if m and len(line) < 60:
                outlet = m.group(1)
        if any(rx.search(line) for rx in drop) or _is_menu(line):
            if header and _BYLINE.search(line):
                header_lines.append(line)  # a source or byline: weak evidence of place
            removed += 1
            continue
        for rx in strip:
            line = rx.sub("", line).strip()
        if not line or not (_CJK.search(line) or re.search(r"\d", line)):
            removed += 1
            continue
        kept.append(line)
    kept = _join_broken(kept)
    paragraphs: list[Paragraph] = []
    seen: set[str] = set()
    pos = 0
    for line in kept:
        key = re.sub(r"\s+", "", line)
        para = Paragraph(pos, pos + len(line), line)
        para.caption = any(mark in line for mark in caption_marks)
        para.repeated = len(key) >= 20 and key in seen
        seen.add(key)
        paragraphs.append(para)
        pos += len(line) + 1
    title = _title(paragraphs)
    return Cleaned("\n".join(p.text for p in paragraphs), paragraphs, title, outlet, publish_date, removed,
                   "\n".join(header_lines))


_MENU_SEP = re.compile(r"\s*[|｜]\s*")
_TRAIL = re.compile(r"(当前位置|您的位置|你在|所在位置|首页|首頁)\s*[:：]?\s*\S{0,12}\s*[>›»]|\S{1,10}\s*[>›»]\s*\S{1,10}")
_BYLINE = re.compile(r"(来源|來源|作者|记者|記者|通讯员|本报|报导|报道|讯|電|电)")


def _is_menu(line: str) -> bool:
    """A row of site menu links (首页 | 时政 | 民生 | 视频): several short items and no prose."""
    items = [x for x in _MENU_SEP.split(line) if x]
    if len(items) < 4 or re.search(r"[。，；]", line):
        return False
    with_digits = sum(bool(re.search(r"\d", x)) for x in items)
    return with_digits < 2 and sum(len(x) for x in items) / len(items) <= 10


def _banner_end(lines: list[str]) -> int:
    """Index just past the site's navigation trail or menu near the top of a page (当前位置:首页 >
    …, 首页 | 时政 | …): it and the short lines above it are the site's banner. 0 when there is none."""
    end = -1
    for i, line in enumerate(lines[:16]):
        if not line:
            continue
        if _TRAIL.search(line) and len(line) <= 60 and "。" not in line:
            end = i
            break  # the trail comes last, just above the title
        if _is_menu(line):
            end = i
        elif len(line) > 60 or "。" in line:
            break  # prose: the article has begun
    if end < 0:
        return 0
    above = [ln for ln in lines[:end] if ln and not _is_menu(ln)]
    if len(above) > 6 or any(len(ln) > 80 or "。" in ln for ln in above):
        return 0
    return end + 1


def _join_broken(lines: list[str]) -> list[str]:
    """Join a paragraph cut mid-sentence (a long line with no closing punctuation)."""
    out: list[str] = []
    for line in lines:
        if out:
            prev = out[-1]
            if (len(prev) >= 40 and ("。" in prev or prev.count(",") >= 2) and prev[-1] not in _TERMINAL
                    and _CJK.match(prev[-1])
                    and _CJK.match(line[0]) and not _HEADING_START.match(line)):
                out[-1] = prev + line
                continue
        out.append(line)
    return out


def _title(paragraphs: list[Paragraph]) -> str | None:
    for p in paragraphs[:6]:
        if 4 <= len(p.text) <= 60 and not p.caption and "。" not in p.text:
            return p.text
    return paragraphs[0].text[:60] if paragraphs else None
