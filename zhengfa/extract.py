"""Quantitative statements → normalized metric rows with provenance.

A figure becomes a metric when it carries a measure word, a percent, a money unit, a ratio
subject (案访比928.79) or a rank (全市第一). Lists distribute: 分别下降58%、23% gives one row per
subject or per place; 均居全省第一 gives one rank per subject. Everything else (years, dates,
ordinals, slogans, phone numbers, codes) is left alone.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from functools import lru_cache

from zhengfa import data_files, regions, subjects, where_when
from zhengfa.clean import Cleaned
from zhengfa.numbers import MULTIPLIERS, approx_words, figure_regex, is_chinese_numeral, parse_number, units
from zhengfa.periods import EVENT_HEADING, Period, find_periods, period_before
from zhengfa.sections import Section

_SENTENCE = re.compile(r"[^。！？!?…]+(?:[。！？!?]|…+)?")
_CLAUSE_BREAK = re.compile(r"[,，;；:：]|——")
_RESET_BREAK = re.compile(r"[;；]")
_SUBSET_LEAD = re.compile(r"^(其中|这其中|当中)")
_LIST_JOIN = re.compile(r"^\s*(?:、|和|及|与|以及|,)\s*$")
_RANK = re.compile(
    r"(?P<scope>全[国省市区县州]|本[省市区县])(?P<extra>[\u4e00-\u9fff]{0,6}?)(?:排名|排|位列|位居|列|居)?"
    r"(?P<ord>第(?P<n>[一二三四五六七八九十]{1,3}|\d{1,3})(?:名|位)?(?![批期届次个条轮项家所单阶季章部节课站道场年])|首位|之首)"
)
_RANK_MORE = re.compile(r"^、\s*第([一二三四五六七八九十]{1,3}|\d{1,3})(?:名|位)?")
_RANGE_BEFORE = re.compile(r"(\d+(?:\.\d+)?)\s*%?\s*(?:至|到|-|~|～|—)\s*$")
_SCORE_SUBJECT = re.compile(r"(得分|评分|分数|测评|考评|考核|成绩|满意度|安全感|指数)[^,，;；。]{0,4}$")
_OBJECT_HEADS = ("案件", "纠纷", "事件", "事项", "人员")  # nouns a bare verb can borrow (审执结 → 审执结案件)
_TARGET = re.compile(r"(力争|争取|力求|预计|预期|计划到|计划在|目标是|目标为|拟于|拟将)")
_RATIO_SUBJECT = re.compile(r"(比|率|指数|系数|密度)(为|达到|达|是|:)?\s*$")
_CODE_CONTEXT = re.compile(r"[A-Za-z0-9\-_/〔〕\[\]]$")
_BOOK_TITLE = re.compile(r"《[^》]*》")
_QUOTED = re.compile(r"“[^”]{0,30}”|\"[^\"]{0,30}\"|「[^」]{0,30}」")
_PLACE_LIST = re.compile(r"^(?P<names>[\u4e00-\u9fff]{2,8}(?:[、和][\u4e00-\u9fff]{2,8})+)(?P<count>[两二三四五六七八九十]+[省市区县])?")
_ADVERBS = re.compile(r"(大幅|明显|持续|分别|均|稳步|显著|有效|进一步|同比|环比|了|达|为|约|近|超|逾|较大|小幅)+$")


@lru_cache(maxsize=1)
def _change_words() -> list[tuple[str, int]]:
    rows = data_files.read_tsv("change_words.tsv", 2)
    return sorted(((w, int(s)) for w, s in rows), key=lambda x: -len(x[0]))


@lru_cache(maxsize=1)
def _event_nouns() -> list[str]:
    return data_files.read_lines("event_nouns.txt")


@lru_cache(maxsize=1)
def _basis_rules() -> list[tuple[re.Pattern, str]]:
    return [(re.compile(rx), b) for rx, b in data_files.read_tsv("basis.tsv", 2)]


@dataclass
class Figure:
    """One figure found in a sentence, before it is turned into rows."""
    start: int  # within the sentence
    end: int
    num_start: int
    value: float
    unit: str
    unit_class: str
    approx: str
    quote: str
    rank_scope: str | None = None


@dataclass
class Metric:
    kind: str
    value: float
    unit: str
    approx: str
    basis: str | None
    subject: str
    region: str
    period_start: int | None
    period_end: int | None
    quote: str
    sentence: str
    char_start: int
    char_end: int
    section_ord: int | None
    indicator: str | None = None
    in_caption: bool = False
    in_repeated: bool = False
    notes: list[str] = field(default_factory=list)


@dataclass
class DocContext:
    region: regions.Unit | None  # None: national, or unknown when `national` is False
    report_year: int | None
    publish_year: int | None
    area: set[str]  # county labels of the document's city, for street-level evidence
    national: bool = True
    publish_month: int | None = None
    term_start: int | None = None  # first year of the congress term a work report speaks for

    def periods(self, text: str):
        return find_periods(text, self.report_year, self.publish_year, self.publish_month, self.term_start)

    def period_before(self, text: str, default: Period) -> Period:
        return period_before(text, len(text), self.report_year, self.publish_year, default, self.publish_month,
                             self.term_start)

    @property
    def label(self) -> str:
        """The document's region in the schema's form; '' when the text names no area at all."""
        if self.region is not None:
            return self.region.label
        return regions.NATIONAL if self.national else ""


# ---------------------------------------------------------------- figures

def _memo_figures(fn):
    """Memoize a sentence → figures function: a sentence is read several times (report year,
    topic period, its metrics, a clause's lookback). Callers get their own copies."""
    cached = lru_cache(maxsize=8192)(lambda sentence: tuple(fn(sentence)))

    def clone(f: Figure) -> Figure:
        c = object.__new__(Figure)
        c.__dict__.update(f.__dict__)
        return c

    def wrapper(sentence: str) -> list[Figure]:
        return [clone(f) for f in cached(sentence)]

    wrapper.__wrapped__ = fn
    wrapper.__doc__ = fn.__doc__
    wrapper.cache_clear = cached.cache_clear
    return wrapper


@_memo_figures
def _figures(sentence: str) -> list[Figure]:
    out: list[Figure] = []
    approx_before = approx_words()["before"]
    approx_after = approx_words()["after"]
    approx_before_longest = sorted(approx_before, key=len, reverse=True)
    masked = _BOOK_TITLE.sub(lambda m: "□" * len(m.group()), sentence)
    quoted = [(m.start(), m.end()) for m in _QUOTED.finditer(masked)]
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
        if unit_class == "score" and not _SCORE_SUBJECT.search(masked[max(0, s - 8):s]):
            continue  # 分 is a score only after 得分 / 评分 / 测评 …
        if unit_class == "tenth":
            value *= 10
            unit_canon = "%"
        if unit == "人次" or unit == "件次":
            unit_canon = unit
        if unit_class == "none":
            # A bare number: only a ratio (案访比928.79) or a decimal change of a ratio.
            if not (_RATIO_SUBJECT.search(masked[:s]) or (("." in num) and _change_at(masked[:s]))):
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
        if _LIST_JOIN.match(sentence[a.end:b.num_start]) and b.unit.startswith(a.unit or "\0") and b.unit != a.unit and a.unit_class != "rank":
            a.unit, a.unit_class = b.unit, b.unit_class
    return out


def _change_at(before: str) -> tuple[str, int] | None:
    """A change word ending `before` (ignoring adverbs and approximation words)."""
    t = before.rstrip()
    t = re.sub(r"(了|达|为|约|近|超过|超|逾|将近|接近|分别|均|大约)+$", "", t)
    for word, sign in _change_words():
        if t.endswith(word):  # (降至37% ends with 至: a level, not a change)
            return word, sign
    return None


def _basis(text: str) -> str | None:
    found = None
    pos = -1
    for rx, b in _basis_rules():
        for m in rx.finditer(text):
            if m.start() > pos:
                found, pos = b, m.start()
    return found


# ---------------------------------------------------------------- context

def _section_regions(doc: Cleaned, sections: list[Section], ctx: DocContext) -> dict[int, str]:
    """Region label per section from the evidence inside it (districts, streets, stations),
    weighed against the document's own scope words (全省 in a provincial report's section)."""
    home = ctx.region
    default = ctx.label
    evidence: dict[int, dict[str, float]] = {}
    home_units = [home] if home else []
    for s in sections:
        text = s.text
        score: dict[str, float] = {}
        mentions = regions.find_mentions(text)
        covered = {i for m in mentions for i in range(m.start, m.end)}
        siblings = False
        for m, u in regions.resolve(mentions, home_units):
            if where_when.not_about(text, m):
                continue  # a venue, an example, a comparison or a ranking's scope
            if (home is None and not ctx.national) or u == home or (home is not None and regions.siblings_or_below(u, home)):
                score[u.label] = score.get(u.label, 0) + 2
                siblings = siblings or (home is not None and u != home and u.level == home.level)
        if default and score and not siblings:
            # 全省 in a provincial report's section that names a city speaks for the province,
            # unless the section names another unit of the province's level (then its 全区 may be
            # that district's); a section naming no place inherits its parent's region
            own = where_when.scope_words(text, home)
            if own:
                score[default] = score.get(default, 0) + 2.0 * own
        if ctx.area:
            for pos, county in regions.find_towns(text, ctx.area):
                if pos not in covered:  # 广水 the county, not 广水街道 again
                    score[county.label] = score.get(county.label, 0) + 1
        evidence[s.ord] = score
    # Numbered sibling headings of one run (1 / 2 / 3) share their evidence.
    series: dict[int, dict[str, float]] = {}
    for s in sections:
        if s.series is not None:
            agg = series.setdefault(s.series, {})
            for k, v in evidence[s.ord].items():
                agg[k] = agg.get(k, 0) + v
    out: dict[int, str] = {}
    for s in sections:
        ev = evidence[s.ord]
        if not ev and s.series is not None:
            ev = series.get(s.series, {})
        out[s.ord] = _pick_region(ev, default) if ev else None
    for s in sections:  # no evidence: the parent's region, else the document's
        if out[s.ord] is None:
            parent = out.get(s.parent) if s.parent is not None and s.kind != "title" else None
            out[s.ord] = parent or default
    return out


def _pick_region(ev: dict[str, float], default: str) -> str:
    """A sub-area takes a section when it alone dominates the evidence; several sub-areas
    mentioned alike leave the section to the document's region."""
    home = ev.get(default, 0.0)
    others = sorted(((v, k) for k, v in ev.items() if k != default), reverse=True)
    if not others:
        return default
    best_v, best = others[0]
    second_v = others[1][0] if len(others) > 1 else 0.0
    return best if best_v > second_v and best_v > home else default


def _level(label: str) -> str:
    u = regions.units_by_label().get(label)
    return u.level if u else "national"


def _section_period(s: Section, ctx: DocContext) -> Period:
    """A heading's period governs its section (2022年平安成绩单, 过去五年工作回顾), unless the
    heading is a statement with its own figure, a title, or names an event."""
    hits = [h for h in ctx.periods(s.heading) if not h.weak]
    if hits and s.kind not in ("lead", "title") and not EVENT_HEADING.search(s.heading) \
            and not achieved_figures(s.heading):
        return hits[-1].period
    return (ctx.report_year, ctx.report_year)


def _topic_period(sentence: str, ctx: DocContext) -> Period | None:
    """A period phrase stated before a sentence's first figure (五年来，… / 报告显示，2023年，…)
    is its topic: it governs the whole sentence, across semicolons, and a paragraph it opens."""
    figs = achieved_figures(sentence)
    lead = sentence[:figs[0].start] if figs else sentence
    hits = [h for h in ctx.periods(lead) if not h.weak]
    if not hits or (not figs and not re.search(r"[,，:：]", sentence)):
        return None
    return hits[-1].period


# ---------------------------------------------------------------- rows

def extract(doc: Cleaned, sections: list[Section], ctx: DocContext,
            section_regions: dict[int, str] | None = None) -> list[Metric]:
    """Metrics of a document; `section_regions` (section ord → region) when already computed."""
    sec_region = section_regions if section_regions is not None else _section_regions(doc, sections, ctx)
    para_section: dict[int, Section] = {}
    for s in sections:
        for idx in s.paragraphs:
            para_section[idx] = s
    metrics: list[Metric] = []
    for idx, para in enumerate(doc.paragraphs):
        sec = para_section.get(idx)
        region = sec_region.get(sec.ord) if sec else ctx.label
        region = _paragraph_region(para.text, region, ctx) if para.caption else region
        default_period = _section_period(sec, ctx) if sec else (ctx.report_year, ctx.report_year)
        previous: Period | None = None
        for k, sm in enumerate(_SENTENCE.finditer(para.text)):
            sentence = sm.group()
            if not sentence.strip():
                continue
            topic = _topic_period(sentence.strip(), ctx)
            if topic and k == 0:
                default_period = topic  # 五年来，… opening a paragraph speaks for all of it
            if topic is None and previous and _SUBSET_LEAD.match(sentence.strip()):
                topic = previous  # 其中，…: a part of what the sentence before counted, in its period
            rows = _sentence_metrics(sentence, region, topic or default_period, ctx)
            if rows:
                previous = (rows[-1].period_start, rows[-1].period_end)
            for r in rows:
                r.char_start += para.start + sm.start()
                r.char_end += para.start + sm.start()
                r.section_ord = sec.ord if sec else None
                r.in_caption = para.caption
                r.in_repeated = para.repeated
                r.indicator = subjects.indicator(r.subject, r.kind)
            metrics.extend(rows)
    return metrics


def _paragraph_region(text: str, region: str, ctx: DocContext) -> str:
    """A caption names its own district (湖里刑事警情持续保持低位…)."""
    anchor = regions.units_by_label().get(region) or ctx.region
    if anchor is None:
        return region
    for m, u in regions.resolve(regions.find_mentions(text), [anchor]):
        if u != anchor and regions.siblings_or_below(u, anchor):
            return u.label
    return region


def _place_list(text: str, anchor: regions.Unit | None) -> tuple[list[str], int]:
    """Leading list of sibling places (吉安市、抚州市 / 广州、深圳两市) → labels, length consumed."""
    m = _PLACE_LIST.match(text)
    if not m:
        return [], 0
    names = re.split(r"[、和]", m.group("names"))
    labels = []
    consumed = 0
    ctx_units = [anchor] if anchor else []
    for i, name in enumerate(names):
        found = regions.resolve(regions.find_mentions(name), ctx_units)
        if not found:
            if i == len(names) - 1 and labels:
                # the last item runs on into the subject: 抚州市刑事案件发案数
                break
            return [], 0
        mention, unit = found[0]
        if mention.start != 0:
            return [], 0
        labels.append(unit.label)
    if len(labels) < 2:
        return [], 0
    # consumed = up to the end of the last place name (+ 两市/三省)
    last = names[len(labels) - 1]
    pos = text.find(last) + len(regions.resolve(regions.find_mentions(last), ctx_units)[0][0].name)
    if m.group("count") and labels and len(labels) == len(names):
        pos = m.end()
    consumed = pos
    return labels, consumed


def _breaks(sentence: str) -> list[int]:
    """Clause-break ends outside quotes (a comma inside “…” does not end a clause)."""
    quoted = [(m.start(), m.end()) for m in _QUOTED.finditer(sentence)]
    return [m.end() for m in _CLAUSE_BREAK.finditer(sentence) if not any(a < m.start() < b for a, b in quoted)]


def _target_scope(sentence: str, pos: int) -> str:
    """The text a target word must stand in to govern a figure: from the sentence start or the
    last semicolon to the figure."""
    start = max((m.end() for m in _RESET_BREAK.finditer(sentence, 0, pos)), default=0)
    return sentence[start:pos]


def _is_target(clause: str) -> bool:
    """A plan or target (力争…下降5%以上, 预计…), not an achievement."""
    return bool(_TARGET.search(_QUOTED.sub("", clause)))  # a slogan in quotes is no plan


@_memo_figures
def achieved_figures(sentence: str) -> list[Figure]:
    """The figures of a sentence that report results, not plans or targets."""
    return [f for f in _figures(sentence) if not _is_target(_target_scope(sentence, f.start))]


def _sentence_metrics(sentence: str, region: str, default_period: Period, ctx: DocContext) -> list[Metric]:
    figs = achieved_figures(sentence)
    if not figs:
        return []
    anchor = regions.units_by_label().get(region) or ctx.region
    rows: list[Metric] = []
    # Group figures into lists joined only by 、/和 (分别下降58%、23%).
    groups: list[list[Figure]] = []
    for f in figs:
        if groups and _LIST_JOIN.match(sentence[groups[-1][-1].end:f.num_start]) and groups[-1][-1].unit_class == f.unit_class:
            groups[-1].append(f)
        else:
            groups.append([f])
    prev_rows: list[Metric] = []  # rows of the previous group in this sentence
    prev_clause_rows: list[Metric] = []
    last_basis, last_basis_pos = None, 0
    for gi, group in enumerate(groups):
        head = group[0]
        # clause window: from the last clause break (or previous figure) to the figure
        prev_end = groups[gi - 1][-1].end if gi else 0
        cut = max((b for b in _breaks(sentence) if b <= head.start), default=0)
        window_start = max(cut, prev_end)
        before = sentence[window_start:head.start]
        clause_before = sentence[cut:head.start]
        adjacent = gi > 0 and prev_end == head.num_start  # 3个31人
        reset = max((mm.end() for mm in _RESET_BREAK.finditer(sentence, 0, head.start)), default=0)
        period_text = sentence[reset:head.start]
        period = ctx.period_before(period_text, default_period)
        if re.search(r"同期", period_text) and prev_rows:
            period = (prev_rows[0].period_start, prev_rows[0].period_end)
        basis_text = sentence[cut:head.start]
        # places named in the clause
        place_labels, consumed = _place_list(trimmed_lead(clause_before), anchor)
        distributes = bool(re.search(r"分别|均", sentence[cut:group[-1].start]))
        if place_labels and not (distributes and (len(place_labels) == len(group) or len(group) == 1)):
            place_labels, consumed = [], 0  # 随县、广水新建…: a figure over several areas belongs to their parent
        row_region = region
        if not place_labels:
            row_region = _clause_region(sentence[:head.start], region, anchor, ctx.national and ctx.region is None,
                                        head.rank_scope is not None)
        kind, sign, basis = _kind(head, before, basis_text, group)
        if kind == "change" and basis is None and last_basis and not re.search(r"[;；]", sentence[last_basis_pos:head.start]):
            basis = last_basis  # 刑事警情同比下降9.7%，治安警情下降5.2%: the baseline carries over
        if kind == "change" and basis:
            last_basis, last_basis_pos = basis, head.start
        subj_text = before
        if kind == "change":
            subj_text = _strip_change(before)
        subj = _subject(subj_text, clause_before, sentence, head, window_start, prev_rows, adjacent, consumed,
                        place_labels, rows)
        subj_list = _split_subjects(subj) if len(group) > 1 or "均" in before[-4:] or "均" in sentence[head.start - 6:head.start] else [subj]
        if head.unit_class == "rank":
            subj_list = _rank_subjects(subj, before, prev_clause_rows, prev_rows, head)
        elif kind == "change" and len(group) > 1 and len(subj_list) < len(group) and rows:
            # 受理…412件586人、审查起诉案件1037件1342人，同比分别下降12.3%、8.7%
            firsts, seen_units = [], None
            if len(prev_rows) == len(group) and prev_rows[0].kind != "rank":
                rows_before = prev_rows  # 不捕率、不诉率分别为…，分别上升3.2个、2.7个百分点
            else:
                rows_before = rows
            for r in rows_before:
                if r.kind in ("change", "rank"):
                    continue
                seen_units = seen_units or r.unit
                if r.unit == seen_units and r.subject not in firsts:
                    firsts.append(r.subject)
            if len(firsts) == len(group):
                subj_list = firsts
        targets: list[tuple[Figure, str, str]] = []
        place_subject = subj_list[0] if subj_list else subj
        if place_labels and len(place_labels) == len(group) and len(group) > 1:
            targets = [(f, place_subject, lab) for f, lab in zip(group, place_labels)]
        elif place_labels and len(group) == 1:
            targets = [(head, place_subject, lab) for lab in place_labels]
        elif len(group) > 1 and len(subj_list) == len(group):
            targets = [(f, s, row_region) for f, s in zip(group, subj_list)]
        elif len(group) == 1 and len(subj_list) > 1:
            targets = [(head, s, row_region) for s in subj_list]
        else:
            targets = [(f, subj_list[0] if subj_list else subj, row_region) for f in group]
        new_rows = []
        for f, s, lab in targets:
            value = f.value * sign if kind == "change" else f.value
            new_rows.append(Metric(kind, value, f.unit, f.approx, basis if kind == "change" else None,
                                   s, lab, period[0], period[1], f.quote, sentence.strip(),
                                   f.start, f.start + len(f.quote), None))
        rows.extend(new_rows)
        if kind != "rank":
            prev_clause_rows = new_rows if window_start == cut or not prev_clause_rows else prev_clause_rows + new_rows
        prev_rows = new_rows
    return rows


def trimmed_lead(text: str) -> str:
    return subjects.trim(text, places=False) if text else text


def _clause_region(prefix: str, region: str, anchor, national: bool = False, rank: bool = False) -> str:
    """The area a figure's own words name: a sibling or sub-area named in its clause, else in its
    part of the sentence (since the last semicolon), else anywhere before it in the sentence
    (湖里刑事警情…), the narrowest first; several different areas named together leave it to
    their common parent (the section's). In a county's report, 全市 in the figure's clause is its
    city and 全省 its province. In a national report any place named there takes the figure
    (如浙江省…, 以广东省为例，该省…), except a venue."""
    if anchor is None and not national:
        return region
    clause_start = max((m.end() for m in re.finditer(r"[,，;；:：]", prefix)), default=0)
    part_start = max((m.end() for m in _RESET_BREAK.finditer(prefix)), default=0)
    if anchor is not None and not rank:
        above = where_when.scope_above(prefix[clause_start:], anchor)
        if above is not None:
            return above.label
    for start in (clause_start, part_start, 0):
        named = _named_areas(prefix, start, anchor, own_clause=start == clause_start)
        if named:
            if named[-1] is None:
                return region
            distinct = {n for n in named if n}
            return named[-1] if len(distinct) == 1 else region
    return region


def _named_areas(prefix: str, start: int, anchor, own_clause: bool = True) -> list[str | None]:
    """Areas named in prefix[start:] that may take a figure: labels, None for the anchor itself
    or an area above it. A place compared with (仅次于临川区) takes only a figure of its own clause
    (仅次于襄州区的31.2%), not the figures after it."""
    text = prefix[start:]
    mentions = regions.find_mentions(text)
    context = [anchor] if anchor else [u for _, u in regions.resolve(mentions, [])]
    found = regions.resolve(mentions, context)
    named: list[str | None] = []
    for k, (m, u) in enumerate(found):
        tail = text[m.end:m.end + 2]
        if tail.startswith(("经验", "网", "日报", "方特", "模式", "特色", "样板", "品牌")):
            continue  # 厦门经验, 厦门网: the name qualifies something else
        why = where_when.not_about(text, m)
        if why == "venue" or (why == "comparison" and not own_clause):
            continue
        nxt = found[k + 1] if k + 1 < len(found) else None
        if nxt and nxt[0].start == m.end and regions.is_within(nxt[1], u):
            continue  # 四川省成都市: the province only qualifies the city
        if anchor is None:
            named.append(u.label)
        elif u == anchor or regions.is_within(anchor, u):
            named.append(None)
        elif regions.siblings_or_below(u, anchor) and not (anchor.level == "county" and u.level != "county"):
            named.append(u.label)
    return named


def _kind(head: Figure, before: str, basis_text: str, group: list[Figure]) -> tuple[str, int, str | None]:
    if head.unit_class == "rank":
        return "rank", 1, None
    change = _change_at(before)
    if head.unit_class == "points":
        return "change", (change[1] if change else 1), _basis(basis_text)
    if change:
        return "change", change[1], _basis(basis_text)
    if head.unit_class == "money":
        return "amount", 1, None
    if head.unit_class in ("percent", "tenth", "none", "score"):
        return "rate", 1, None
    return "count", 1, None


def _strip_change(before: str) -> str:
    t = re.sub(r"(了|达|为|约|近|超过|超|逾|将近|接近|分别|均|大约)+$", "", before.rstrip())
    change = _change_at(t)
    if change:
        t = t[: len(t) - len(change[0])]
    for rx, _ in _basis_rules():
        t = re.sub(f"(?:{rx.pattern})\\S*$", "", t) if rx.search(t) else t
    t = _ADVERBS.sub("", t)
    return t


def _subject(text: str, clause: str, sentence: str, head: Figure, window_start: int,
             prev_rows: list[Metric], adjacent: bool, consumed: int, place_labels: list[str],
             sentence_rows: list[Metric] = ()) -> str:
    if adjacent and prev_rows:
        # 打掉恶势力组织3个31人 / 审查起诉案件1536件2108人: a second unit on the same subject
        base = prev_rows[0].subject
        first_unit = prev_rows[0].unit
        if first_unit in ("个", "支", "伙") and head.unit in ("人", "名"):
            return base + "成员"
        if head.unit in ("人", "名"):
            return re.sub(r"(案件|案)$", "", base) + "人数"
        return base
    t = text
    if consumed and place_labels:
        t = subjects.trim(clause, places=False)[consumed:]
        t = re.sub(r"^[两二三四五六七八九十]+[省市区县地]", "", t)
        if _change_at(t):
            t = _strip_change(t)
    subj = subjects.trim(t)
    after = _noun_after(sentence, head)
    if after:
        listing = re.search(r"(等|和|及|与|、)\s*$", t)
        verb = subjects.trailing_verb(subj) if subj else ""
        if not subj:
            # 3项矛调经验入选全省…: the noun after the figure, with what it did
            return after + _continuation(sentence, head, after)
        if listing:
            # 审限内结案率等11个指标实现同比优化: the examples name the kind, the noun names the thing
            return after + _continuation(sentence, head, after)
        if verb:
            head_part = subj[: len(subj) - len(verb)]
            if len(head_part) <= 6 or head_part.startswith(("在", "于", "对", "向", "为", "从")):
                # 去年在主城区新建8个标准街面警务站 → 新建标准街面警务站
                return verb + after
            # 出台政法机关护航高质量发展“20条措施” → …发展措施: the verb is not the governing one
            return subj + after
    if re.fullmatch(r"[\u4e00-\u9fff]{1,3}[级类型]", subj) and prev_rows:
        # 建成示范村58个，其中省级6个、市级21个 → 省级示范村, 市级示范村
        noun = _drop_leading_verbs(prev_rows[-1].subject)
        return subj + re.sub(r"^[\u4e00-\u9fff]{1,3}[级类型]", "", noun) if re.match(r"^[\u4e00-\u9fff]{1,3}[级类型]", noun) and len(noun) > 4 else subj + noun
    if subj and prev_rows and re.match(r"^\s*、", text) and len(subj) <= 4:
        if subjects.trailing_verb(subj) and head.unit in ("人", "名"):
            return subj + "人数"  # 批准逮捕2.1万人、提起公诉5.7万人
        if not subjects.trailing_verb(subj):
            # 打掉电诈团伙20个、窝点20个: the list item shares the verb and modifiers
            # (the previous subject's head, as long as this item, gives way to it)
            prev = prev_rows[-1].subject
            stem = prev[: len(prev) - len(subj)] if len(prev) > len(subj) else ""
            return stem + subj if stem and not stem.endswith(subj) else subj
    if subj.startswith("占") and prev_rows:
        return prev_rows[-1].subject + subj  # 诉求8600余件，占全市总数的37.5%
    if re.search(r"[率比]$", subj) and len(subj) <= 3 and prev_rows:
        # 审结民商事案件1.64万件，调撤率达57.3% → 民商事案件调撤率
        noun = _drop_leading_verbs(prev_rows[-1].subject)
        if noun and not noun.endswith(subj) and not subj.startswith(noun):
            return noun + subj
    if not subj and prev_rows and head.unit != prev_rows[0].unit and head.unit in ("人", "名"):
        return re.sub(r"(案件|案)$", "", prev_rows[0].subject) + "人数"
    if (subjects.is_generic(subj) or len(subj) <= 2) and window_start > 0:
        prior = sentence[:window_start]
        prior_clause = re.split(r"[,，;；:：]|——", prior.rstrip(",，;；:： "))[-1]
        if prev_rows and prior_clause and _figures(prior_clause):
            # 审执结3.98万件 after 受理各类案件4.12万件: borrow the head noun of the last subject
            if subj and subjects.trailing_verb(subj) == subj:
                same_unit = [r for r in reversed(sentence_rows) if r.unit == head.unit and r.kind != "rank"] or prev_rows
                last = subjects.words(same_unit[0].subject)
                noun = last[-1][0] if last and last[-1][0].endswith(_OBJECT_HEADS) else ""
                return subj + noun  # 审执结 + 案件; 破案 after 立案 stays 破案
            if subj and not subjects.is_generic(subj):
                return subj  # 结案13.9万件
            return prev_rows[-1].subject + subj  # 金额271万元
        if not subj and head.unit_class in ("percent", "points", "tenth", "none", "count", "money"):
            # 死亡人数为历史最低，较2019年下降27.5%: what the clause before is about
            topic = re.split(r"(为|是|达到|达|降至|降到|保持|实现|创)", prior_clause)[0]
            topic = subjects.trim(topic)
            if len(topic) >= 2 and not _figures(prior_clause):
                return topic
        obj = _clause_object(prior_clause)
        if not obj and prev_rows:
            obj = prev_rows[-1].subject
        subj = (obj + subj) if obj else subj
    elif 0 < len(subj) <= 4 and window_start > 0:
        # 为居民购买社会治安综合保险,全年理赔案件283件: the clause before names what was claimed on
        prior = sentence[:window_start].rstrip(",，;；:： ")
        prior_clause = re.split(r"[,，;；:：]|——", prior)[-1]
        if prior_clause and not _figures(prior_clause):
            obj = _clause_object(prior_clause).strip("“”\"'‘’()")
            if (obj and 2 <= len(obj) <= 12 and not obj.endswith(subj)
                    and not obj.endswith(tuple(_event_nouns()))):
                subj = obj + subj
    return subj


def _drop_leading_verbs(subject: str) -> str:
    ws = subjects.words(subject)
    i = 0
    while i < len(ws) and ws[i][1].startswith("v") and ws[i][1] != "vn":
        i += 1
    return "".join(w for w, _ in ws[i:])


def _clause_object(clause: str) -> str:
    """What a figure-free clause is about: the object after its last verb, or the clause itself."""
    t = subjects.trim(clause)
    if not t:
        return ""
    ws = subjects.words(t)
    if ws and ws[0][1].startswith(("n", "a", "b", "j", "vn")) and len(t) <= 16:
        return t  # 群众安全感调查测评: the clause is itself a noun phrase
    obj = subjects.last_verb_object(t)
    obj = subjects.trim(obj) if obj else ""
    if obj and len(obj) >= 2:
        return obj
    return t if len(t) <= 16 else ""


_NOUN_CORE = ("n", "vn", "nz", "nt", "ns", "nr", "ng", "j", "i", "l", "eng", "s", "k", "h")
_MODIFIER = ("a", "an", "b", "v", "vd", "f")


def _noun_after(sentence: str, head: Figure) -> str:
    """The noun phrase right after a figure (新建8个标准街面警务站 → 标准街面警务站)."""
    tail = sentence[head.end:]
    if not tail:
        return ""
    if tail.startswith(("“", "\"")):
        m = re.match(r"“[^”]{1,20}”|\"[^\"]{1,20}\"", tail)
        return m.group() if m else ""
    if not re.match(r"[\u4e00-\u9fff]", tail):
        return ""
    tail = re.split(r"[,，;；:：。、!！?？]|和|及|与|以及|的|等|被", tail)[0]
    tail = re.split(r"\d", tail)[0]
    ws = subjects.words(tail)
    out: list[str] = []
    has_noun = False
    for i, (w, flag) in enumerate(ws):
        nxt = ws[i + 1][1] if i + 1 < len(ws) else ""
        if w in "()":
            out.append(w)
        elif flag.startswith(_NOUN_CORE) and flag not in ("nr",) or (out and out[-1] == "("):
            out.append(w)
            has_noun = True
        elif flag in _MODIFIER and nxt.startswith(_NOUN_CORE) and (not has_noun or flag != "v"):
            out.append(w)  # 涉案企业, 在职党员, 困难当事人
        elif flag.startswith("v") and i == len(ws) - 1 and len(w) == 1 and has_noun:
            out.append(w)  # 警务站
        else:
            break
    phrase = "".join(out)
    if phrase.count("(") != phrase.count(")"):
        phrase = phrase.split("(")[0]
    return phrase if len(phrase) >= 2 else ""


def _continuation(sentence: str, head: Figure, after: str) -> str:
    """The verb phrase following a figure's noun, up to the clause end (…入选全省“枫桥式工作法”)."""
    rest = sentence[head.end + len(after):]
    rest = re.split(r"[,，;；:：。!！?？、]|和|及|与|以及", rest)[0]
    rest = re.split(r"\d", rest)[0]
    rest = re.sub(r"^(全部|均|都|已|先后|共|还)", "", rest)
    return rest[:24]


def _split_subjects(subj: str) -> list[str]:
    tiers = re.match(r"^([\u4e00-\u9fff])、([\u4e00-\u9fff])(?:、([\u4e00-\u9fff]))?[两二三四]级(.+)$", subj)
    if tiers:
        # 县、乡两级综治中心达标率 → 县级…, 乡级…
        return [f"{t}级{tiers.group(4)}" for t in tiers.groups()[:3] if t]
    parts = [p for p in re.split(r"、|和|及|与", subj) if p]
    if len(parts) <= 1 or any(re.match(r"^(第|[0-9一二三四五六七八九十]+[批级类项])", p) for p in parts) or any(len(p) < 2 for p in parts):
        return [subj]
    # share the head noun: 盗窃、诈骗案件立案数 → 盗窃案件立案数; 覆盖率、联网率 → 视频监控联网率
    last = parts[-1]
    first_word, rest = subjects.head_split(last)
    out = []
    for p in parts[:-1]:
        if len(p) <= 3 and rest and len(last) >= 4:
            out.append(p + rest)
        else:
            out.append(p)
    out.append(last)
    if len(parts[0]) >= 6:
        prefix = subjects.drop_last_word(parts[0])
        out = [out[0]] + [(prefix + p if len(p) <= 4 and prefix else p) for p in out[1:]]
    return out


def _rank_subjects(subj: str, before: str, prev_clause_rows: list[Metric], prev_rows: list[Metric], head: Figure) -> list[str]:
    scope = f"({head.rank_scope})" if head.rank_scope else ""
    base = subj
    base = re.sub(r"(全[国省市区县州]|本[省市区县])[\u4e00-\u9fff]{0,6}$", "", base) if head.rank_scope else base
    base = re.sub(r"(均|分别)?(排名|位列|位居|排|列|居|名列)$", "", base)
    base = subjects.trim(re.sub(r"(均|分别)$", "", base))  # 考核连续三年位居 → 考核
    if base in ("", "降幅", "增幅", "成绩", "得分", "排名") or subjects.is_generic(base):
        source = prev_clause_rows or prev_rows
        if "均" in before and len(source) > 1:
            return [r.subject + scope for r in source]
        if source:
            r = source[-1]
            implied = r.kind == "change" and r.unit != "个百分点" and not re.search(r"[率感度比]$", r.subject)
            extra = base if base in ("降幅", "增幅") else (("降幅" if r.value < 0 else "增幅") if implied else "")
            return [r.subject + extra + scope]
    if "均" in before:
        parts = _split_subjects(base)
        if len(parts) > 1:
            return [p + scope for p in parts]
    return [base + scope]
