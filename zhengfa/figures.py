"""The figure grammar: the numbers of a sentence that are metrics, with their value, unit and
approximation (pass 1 of extraction).

A figure carries a measure word, a percent, a money unit, a ratio subject (案访比928.79) or a rank
(全市第一). Years, dates, ordinals (第九批), slogans in quotes, phone numbers and codes are left
alone; plans and targets (力争…, 预计…) are not achievements.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace
from functools import lru_cache

from zhengfa import data_files
from zhengfa.kinds import change_at
from zhengfa.numbers import MULTIPLIERS, approx_words, figure_regex, is_chinese_numeral, parse_number, units

CLAUSE_BREAK = re.compile(r"[,，;；:：]|——")
RESET_BREAK = re.compile(r"[;；]")
LIST_JOIN = re.compile(r"^\s*(?:、|和|及|与|以及|,)\s*$")
_RANK = re.compile(
    r"(?P<scope>全[国省市区县州]|本[省市区县])(?P<extra>[\u4e00-\u9fff]{0,6}?)(?:排名|排|位列|位居|列|居)?"
    r"(?P<ord>第(?P<n>[一二三四五六七八九十]{1,3}|\d{1,3})(?:名|位)?(?![批期届次个条轮项家所单阶季章部节课站道场年])|首位|之首)"
)
_RANK_MORE = re.compile(r"^、\s*第([一二三四五六七八九十]{1,3}|\d{1,3})(?:名|位)?")
_RANGE_BEFORE = re.compile(r"(\d+(?:\.\d+)?)\s*%?\s*(?:至|到|-|~|～|—)\s*$")
_SCORE_SUBJECT = re.compile(r"(得分|评分|分数|测评|考评|考核|成绩|满意度|安全感|指数)[^,，;；。]{0,4}$")
_TARGET = re.compile(r"(力争|争取|力求|预计|预期|计划到|计划在|目标是|目标为|拟于|拟将)")
_RATIO_SUBJECT = re.compile(r"(比|率|指数|系数|密度)(为|达到|达|是|:)?\s*$")
_CODE_CONTEXT = re.compile(r"[A-Za-z0-9\-_/〔〕\[\]]$")
_BOOK_TITLE = re.compile(r"《[^》]*》")
QUOTED = re.compile(r"“[^”]{0,30}”|\"[^\"]{0,30}\"|「[^」]{0,30}」")


@dataclass(frozen=True)
class Figure:
    """One figure found in a sentence, before it is turned into rows. Immutable: the memoized
    figures of a sentence are shared by every reader of it."""
    start: int  # within the sentence
    end: int
    num_start: int
    value: float
    unit: str
    unit_class: str
    approx: str
    quote: str
    rank_scope: str | None = None


_SCORE_BEFORE = re.compile(r"(得分|评分|测评得|考评得|打分)[^。]*\d+(?:\.\d+)?\s*分")


@lru_cache(maxsize=1)
def _non_metric_rules() -> dict[str, list[re.Pattern]]:
    rules: dict[str, list[re.Pattern]] = {"after": [], "before": [], "subject": []}
    for where, rx in data_files.read_tsv("non_metrics.tsv", 2):
        rules[where].append(re.compile(rx))
    return rules


def in_definition(text: str, start: int, end: int) -> bool:
    """Whether the figure at text[start:end] is a threshold inside a definition (…10人以上的特大
    交通事故, 涉案金额1万元以上的案件) rather than a result (non_metrics.tsv)."""
    rules = _non_metric_rules()
    after, before = text[end:end + 12], text[max(0, start - 12):start]
    return any(rx.search(after) for rx in rules["after"]) or any(rx.search(before) for rx in rules["before"])


def is_logistics(subject: str) -> bool:
    """Survey or meeting logistics (样本量, 参会人数): numbers about the report, not results."""
    return any(rx.search(subject) for rx in _non_metric_rules()["subject"])


@lru_cache(maxsize=1)
def _approx_before_longest() -> list[str]:
    return sorted(approx_words()["before"], key=len, reverse=True)


def _memo_figures(fn):
    """Memoize a sentence → figures function: a sentence is read several times (report year,
    topic period, its metrics, a clause's lookback). Figures are immutable, so callers share them;
    each gets its own list."""
    cached = lru_cache(maxsize=8192)(lambda sentence: tuple(fn(sentence)))

    def wrapper(sentence: str) -> list[Figure]:
        return list(cached(sentence))

    wrapper.__wrapped__ = fn
    wrapper.__doc__ = fn.__doc__
    wrapper.cache_clear = cached.cache_clear
    return wrapper


@_memo_figures
def find_figures(sentence: str) -> list[Figure]:
    out: list[Figure] = []
    approx_before = approx_words()["before"]
    approx_after = approx_words()["after"]
    approx_before_longest = _approx_before_longest()
    masked = _BOOK_TITLE.sub(lambda m: "□" * len(m.group()), sentence)
    quoted = [(m.start(), m.end()) for m in QUOTED.finditer(masked)]
    unit_table = units()
    ranges: list[tuple[int, int]] = []  # (range start, upper bound start)
    for m in figure_regex().finditer(masked):
        num, unit = m.group("num"), m.group("unit")
        s, e = m.start(), m.end()
        prev = masked[max(0, s - 1):s]
        nxt = masked[e:e + 1]
        in_range = bool(unit and _RANGE_BEFORE.search(masked[:s]))
        if prev == "第" or (_CODE_CONTEXT.search(prev) and not in_range) or (not unit and re.match(r"[A-Za-z0-9\-]", nxt or " ")):
            continue
        if prev == "□":
            continue
        cn = is_chinese_numeral(num)
        unit_canon, unit_class = unit_table.get(unit, ("", "none")) if unit else ("", "none")
        if unit_class == "skip":
            continue
        value = parse_number(num)
        if value is None:
            continue
        approx = "exact"
        suf = m.group("suf1") or m.group("suf2")
        if suf:
            approx = approx_after[suf]
        if m.group("post"):
            approx = approx_after[m.group("post")]
        head = masked[max(0, s - 2):s]
        for word in approx_before_longest:
            if head.endswith(word):
                approx = approx_before[word]
                break
        if cn:
            inside_quotes = any(a <= s < b for a, b in quoted)
            big = any(c in num for c in "百千万亿")
            if inside_quotes or not (suf or big or unit_class == "tenth"):
                continue
            if unit_class == "tenth" and (value > 10 or re.match(r"[\u4e00-\u9fff]", masked[e:e + 1] or " ")
                                          and masked[e:e + 2] not in ("以上", "左右")):
                continue  # 这一成果 / 三成员: not a share
            if unit_class == "none":
                continue
        mult = m.group("mult")
        if mult:
            value = round(value * MULTIPLIERS[mult], 6)
        if unit_class == "money":
            unit_canon = "元"
        if unit_class == "score" and not (_SCORE_SUBJECT.search(masked[max(0, s - 8):s])
                                          or _SCORE_BEFORE.search(masked[:s])):
            continue  # 分 is a score only after 得分 / 评分 / 测评 … (in this clause or earlier in the sentence)
        if in_definition(masked, s, m.end("unit") if unit else e):
            continue  # 一次死亡10人以上的特大交通事故: a threshold defining a category, not a result
        if unit_class == "tenth":
            value *= 10
            unit_canon = "%"
        if unit == "人次" or unit == "件次":
            unit_canon = unit
        if unit_class == "none":
            # A bare number: only a ratio (案访比928.79) or a decimal change of a ratio.
            if not (_RATIO_SUBJECT.search(masked[:s]) or (("." in num) and change_at(masked[:s]))):
                continue
            if 1900 <= value <= 2100 and "." not in num:
                continue
        if not math.isfinite(value):
            continue
        rng = _RANGE_BEFORE.search(masked[:s])
        if rng and unit_class != "none":
            # 3至5个 / 10%-15%: a range is reported by its lower bound, as "over"
            low = parse_number(rng.group(1))
            if low is not None:
                value = round(low * (MULTIPLIERS[mult] if mult else 1) * (10 if unit_class == "tenth" else 1), 6)
                approx = "over"
                s = rng.start()
        quote_end = m.end("unit") if unit else (m.end("suf2") if m.group("suf2") else (m.end("mult") if mult else m.end("num")))
        quote_end = max(quote_end, m.end("num"))
        out.append(Figure(s, e, s, value, unit_canon, unit_class, approx, sentence[s:quote_end]))
        if s != m.start():
            ranges.append((s, m.start()))
    for m in _RANK.finditer(masked):
        if m.group("n"):
            n = parse_number(m.group("n"))
        else:
            n = 1.0
        if n is None:
            continue
        scope = m.group("scope") + (m.group("extra") if m.group("extra") and not re.search(r"(排名|位列|位居|排|列|居)", m.group("extra")) else "")
        out.append(Figure(m.start("ord"), m.end("ord"), m.start(), n, "名", "rank", "exact",
                          sentence[m.start("ord"):m.end("ord")], scope))
        tail = masked[m.end():]
        more = _RANK_MORE.match(tail)
        while more:
            n2 = parse_number(more.group(1))
            a, b = m.end() + more.start() + 1, m.end() + more.end()
            if n2:
                out.append(Figure(a, b, a, n2, "名", "rank", "exact", sentence[a:b], scope))
            tail = tail[more.end():]
            more = _RANK_MORE.match(tail)
    out = [f for f in out if not any(a <= f.start < b and f.end <= b for a, b in ranges)]
    out.sort(key=lambda f: f.start)
    # 3.2个、2.7个百分点: a list shares its last figure's unit.
    for i in range(len(out) - 2, -1, -1):
        a, b = out[i], out[i + 1]
        if LIST_JOIN.match(sentence[a.end:b.num_start]) and b.unit.startswith(a.unit or "\0") and b.unit != a.unit and a.unit_class != "rank":
            out[i] = replace(a, unit=b.unit, unit_class=b.unit_class)
    return out


def clause_breaks(sentence: str) -> list[int]:
    """Clause-break ends outside quotes (a comma inside “…” does not end a clause)."""
    quoted = [(m.start(), m.end()) for m in QUOTED.finditer(sentence)]
    return [m.end() for m in CLAUSE_BREAK.finditer(sentence) if not any(a < m.start() < b for a, b in quoted)]


def target_scope(sentence: str, pos: int) -> str:
    """The text a target word must stand in to govern a figure: from the sentence start or the
    last semicolon to the figure."""
    start = max((m.end() for m in RESET_BREAK.finditer(sentence, 0, pos)), default=0)
    return sentence[start:pos]


def is_target(clause: str) -> bool:
    """A plan or target (力争…下降5%以上, 预计…), not an achievement."""
    return bool(_TARGET.search(QUOTED.sub("", clause)))  # a slogan in quotes is no plan


@_memo_figures
def achieved_figures(sentence: str) -> list[Figure]:
    """The figures of a sentence that report results, not plans or targets."""
    return [f for f in find_figures(sentence) if not is_target(target_scope(sentence, f.start))]
