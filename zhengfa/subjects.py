"""What a figure counts: the shortest phrase naming it, trimmed with jieba (POS) and a domain
dictionary, and mapped to canonical indicator codes from the taxonomy file."""
from __future__ import annotations

import re
from functools import lru_cache

from zhengfa import data_files

_PUNCT_EDGE = re.compile(r"^[\s,，;；:：、。.!！?？()（）\-—·•*①-⑳]+|[\s,，;；:：、。.!！?？(（\-—·•*]+$")
_LIST_MARK = re.compile(r"^(?:-\s*)?(?:\d{1,2}\s+|\d{1,2}[.、](?=[\u4e00-\u9fff])|[①-⑳]|[一二三四五六七八九十]+、|\(\d+\)|\([一二三四五六七八九十]+\))")


@lru_cache(maxsize=1)
def _jieba():
    import logging

    import jieba
    import jieba.posseg

    jieba.setLogLevel(logging.WARNING)
    jieba.load_userdict(str(data_files.path("domain_words.txt")))
    return jieba, jieba.posseg


def words(text: str) -> list[tuple[str, str]]:
    """(word, POS) pairs."""
    return list(_tagged(text))


@lru_cache(maxsize=16384)
def _tagged(text: str) -> tuple[tuple[str, str], ...]:
    # subject phrases repeat within and across reports: each distinct phrase is tagged once
    _, pseg = _jieba()
    return tuple((w.word, w.flag) for w in pseg.lcut(text))


@lru_cache(maxsize=1)
def _strip_tables():
    lead = [re.compile(rx) for rx in data_files.read_lines("subject_lead.txt")]
    trail = [re.compile(rx) for rx in data_files.read_lines("subject_trail.txt")]
    generic = set(data_files.read_lines("subject_generic.txt"))
    return lead, trail, generic


_INNER_NOISE = re.compile(r"(全年|各类|各项|各种|(?<=[院局所厅委关])共)(?=[\u4e00-\u9fff]{2})")


def _leading_place(s: str) -> int:
    """Length of an administrative name opening `s` (雨花区得分 → 3), 0 if none."""
    from zhengfa import regions

    for m in regions.find_mentions(s[:12]):
        if m.start == 0 and m.full and len(m.name) < len(s):  # full names only: 公安 is also a county
            return m.end + (1 if s[m.end:m.end + 1] == "的" else 0)
        break
    return 0


def _memo_trim(fn):
    """Memoize trim(): the same clause is trimmed for several figures and in several reports."""
    cached = lru_cache(maxsize=16384)(fn)

    def wrapper(text: str, place_names: list[str] = (), places: bool = True) -> str:
        return cached(text, tuple(place_names), places)

    wrapper.__wrapped__ = fn
    wrapper.__doc__ = fn.__doc__
    wrapper.cache_clear = cached.cache_clear
    return wrapper


@_memo_trim
def trim(text: str, place_names: list[str] = (), places: bool = True) -> str:
    """Strip list marks, time and place words, actors and linking verbs from a clause tail."""
    lead, trail, _ = _strip_tables()
    s = _INNER_NOISE.sub("", text)
    for _ in range(8):
        before = s
        s = _PUNCT_EDGE.sub("", s)
        s = _LIST_MARK.sub("", s)
        for name in sorted(place_names, key=len, reverse=True):
            if s.startswith(name):
                s = s[len(name):]
        cut = _leading_place(s) if places else 0
        if cut:
            s = s[cut:]
        for rx in lead:
            s = rx.sub("", s, count=1)
        for rx in trail:
            m = rx.search(s)
            if m and m.group():
                removed = m.group()
                # a linking word only when it stands alone: 违法行为 keeps its 为
                if len(removed) == 1 and len(s) > 1 and not _ends_with_token(s, removed):
                    continue
                s = s[: m.start()]
        if s == before:
            break
    return _balanced_quotes(s.strip())


def _balanced_quotes(s: str) -> str:
    """Drop a quote mark left open at either end (出台…发展“ → 出台…发展)."""
    if s.endswith("“"):
        s = s[:-1]
    if s.startswith("”"):
        s = s[1:]
    return s.strip()


def _ends_with_token(text: str, tail: str) -> bool:
    ws = words(text)
    return bool(ws) and ws[-1][0] == tail


def is_generic(subject: str) -> bool:
    _, _, generic = _strip_tables()
    return len(subject) < 2 or subject in generic


def last_verb_object(text: str) -> str:
    """The object after the last verb of a clause (为居民购买社会治安综合保险 → 社会治安综合保险)."""
    ws = words(text)
    for i in range(len(ws) - 1, -1, -1):
        if ws[i][1].startswith("v") and i < len(ws) - 1:
            return "".join(w for w, _ in ws[i + 1:])
    return text


def leading_noun_phrase(text: str) -> str:
    """The noun phrase at the start of `text`, stopping at a verb or function word."""
    ws = words(text)
    out = []
    for w, flag in ws:
        if flag.startswith(("v", "p", "c", "u", "d", "r", "m", "q", "x", "w")) and flag not in ("vn",):
            if out:
                break
            return ""
        out.append(w)
    return "".join(out)


def trailing_verb(text: str) -> str:
    """The verb ending a clause (新建, 打掉, 破获), if it ends with one."""
    ws = words(text)
    if ws and ws[-1][1].startswith("v"):
        return ws[-1][0]
    return ""


def head_split(subject: str) -> tuple[str, str]:
    """(first word, rest) of a subject, for sharing a head across a list (盗窃、诈骗案件立案数)."""
    ws = words(subject)
    if len(ws) < 2:
        return subject, ""
    return ws[0][0], "".join(w for w, _ in ws[1:])


def drop_last_word(subject: str) -> str:
    ws = words(subject)
    return "".join(w for w, _ in ws[:-1]) if len(ws) > 1 else ""


from zhengfa.indicators import indicator  # noqa: E402,F401  (the taxonomy lives in zhengfa/indicators.py)


_THING = ("n", "vn", "nz", "nt", "ns", "nr", "ng", "j", "eng", "l", "i")


@lru_cache(maxsize=65536)
def names_a_thing(subject: str) -> bool:
    """Whether a subject holds a noun that names what was counted (刑事警情, 打掉诈骗团伙), not
    only a verb, adverb or function word (投入, 率先, 避免群众 has one: 群众)."""
    if not subject:
        return False
    core = re.sub(r"[(（][^)）]*[)）]$", "", subject)  # the rank scope (全市)
    if re.search(r"(率|比|数|量|额|感|度|指数)$", core) and len(core) >= 2:
        return True  # 不捕率, 结案数: a measure
    return any(flag.startswith(_THING) for _, flag in words(core))
