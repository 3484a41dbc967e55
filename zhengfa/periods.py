"""Which years a figure covers, from the phrases around it and the document's dates."""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from zhengfa import data_files
from zhengfa.figures import achieved_figures
from zhengfa.numbers import parse_number
from zhengfa.rx import needs

if TYPE_CHECKING:
    from zhengfa.model import DocContext
    from zhengfa.sections import Section

Period = tuple[int | None, int | None]
_DATE_AFTER = re.compile(r"^\s*\d{1,2}\s*月\s*\d{1,2}\s*日")
_BASELINE_BEFORE = re.compile(r"(较|比|与|相比|对比|同比|低于|高于)\s*$")
_SAME_PERIOD = re.compile(r"同期")
# A heading or title about an event (a meeting held in 2021 reviews 2020): its year is not the
# year of the figures below it.
EVENT_HEADING = re.compile(r"(会议|召开|举行|部署|要点|计划|展望|发布会|开幕|闭幕)")


@dataclass(frozen=True)
class Rule:
    rx: re.Pattern
    start: str
    end: str
    needs: tuple[str, ...] | None = None  # words one of which every match contains (rx.needs)

    @property
    def weak(self) -> bool:
        return self.start == "None"


@lru_cache(maxsize=1)
def rules() -> list[Rule]:
    return [Rule(re.compile(rx), s, e, needs(rx)) for rx, s, e in data_files.read_tsv("periods.tsv", 3)]


@lru_cache(maxsize=1)
def _needed_words() -> tuple[str, ...]:
    return tuple(sorted({w for r in rules() if r.needs for w in r.needs}))


def _eval(expr: str, env: dict) -> int | None:
    if expr == "None":
        return None
    total, sign, token = 0, 1, ""
    for ch in expr + "+":
        if ch in "+-":
            if token:
                value = env.get(token) if not token.isdigit() else int(token)
                if value is None:
                    return None
                total += sign * value
            sign, token = (1 if ch == "+" else -1), ""
        else:
            token += ch
    return total


@dataclass(frozen=True)
class PeriodHit:
    start: int
    end: int
    period: Period
    weak: bool


def months_start(n: int, report_year: int | None, publish_year: int | None, publish_month: int | None) -> int | None:
    """The year a run of `n` months began (连续14个月), the run ending with the latest month the
    report covers: the month before publication in a report on its own year, else December."""
    if report_year is None:
        return None
    if publish_year == report_year and publish_month:
        end = report_year * 12 + publish_month - 2  # months counted from 0; the month before
    else:
        end = report_year * 12 + 11
    return (end - (n - 1)) // 12


def find_periods(text: str, report_year: int | None, publish_year: int | None,
                 publish_month: int | None = None, term_start: int | None = None) -> list[PeriodHit]:
    """Every period phrase in `text`, resolved to (start year, end year). `term_start`: first
    year of the people's congress term a report speaks for (本届以来), when known."""
    return list(_find_periods(text, report_year, publish_year, publish_month, term_start))


@lru_cache(maxsize=8192)
def _find_periods(text: str, report_year: int | None, publish_year: int | None,
                  publish_month: int | None, term_start: int | None) -> tuple[PeriodHit, ...]:
    # a clause is searched again for each figure in it: memoized (hits are immutable)
    py = publish_year or report_year
    hits: list[PeriodHit] = []
    taken: list[tuple[int, int]] = []
    present = {w for w in _needed_words() if w in text}  # each word looked up once, not once per rule
    for rule in rules():
        if rule.needs is not None and present.isdisjoint(rule.needs):
            continue  # the phrase's word is absent: no match here
        for m in rule.rx.finditer(text):
            if any(a < m.end() and m.start() < b for a, b in taken):
                continue
            groups = [g for g in m.groups() if g]
            env = {"RY": report_year, "PY": py,
                   "TS": term_start if term_start is not None else (report_year - 4 if report_year else None)}
            years = [int(g) for g in groups if g.isdigit() and len(g) == 4]
            if years:
                env["Y"] = years[0]
                env["Y2"] = years[1] if len(years) > 1 else years[0]
                if _BASELINE_BEFORE.search(text[max(0, m.start() - 3):m.start()]):
                    taken.append((m.start(), m.end()))
                    continue  # 较2019年: a baseline, not the period
                if _DATE_AFTER.match(text[m.end():]):
                    taken.append((m.start(), m.end()))
                    continue  # 2024年1月26日: a date
            if not years and _BASELINE_BEFORE.search(text[max(0, m.start() - 3):m.start()]):
                taken.append((m.start(), m.end()))
                continue  # 较去年: a baseline, not the period
            counts = [g for g in groups if not (g.isdigit() and len(g) == 4)]
            if counts:
                n = parse_number(counts[0])
                env["N"] = int(n) if n else None
                if env["N"]:
                    env["MS"] = months_start(env["N"], report_year, publish_year, publish_month)
            start_expr, end_expr = rule.start, rule.end
            if publish_year is None:
                # no publish date: relative years (去年, 今年) are read as the report year itself
                start_expr = start_expr.replace("PY-1", "RY").replace("PY-2", "RY-1").replace("PY", "RY")
                end_expr = end_expr.replace("PY-1", "RY").replace("PY-2", "RY-1").replace("PY", "RY")
            start, end = _eval(start_expr, env), _eval(end_expr, env)
            if end is None and start is None:
                continue
            if start is not None and end is not None and start > end:
                continue  # 十四五以来 read against a report year before 2021: no period from it
            hits.append(PeriodHit(m.start(), m.end(), (start, end), rule.weak))
            taken.append((m.start(), m.end()))
    hits.sort(key=lambda h: h.start)
    return tuple(hits)


def period_before(text: str, pos: int, report_year, publish_year, default: Period,
                  publish_month: int | None = None, term_start: int | None = None) -> Period:
    """The period in force at `pos` of a clause group: the last strong phrase before it, else a
    weak one (先后), else `default`. 同期 keeps the default (the period already in force)."""
    hits = find_periods(text[:pos], report_year, publish_year, publish_month, term_start)
    strong = [h for h in hits if not h.weak]
    # a weak phrase (先后) speaks only for its own clause
    last_break = max((m.end() for m in re.finditer(r"[,，;；:：]", text[:pos])), default=0)
    hits = strong + [h for h in hits if h.weak and h.start >= last_break]
    if strong:
        # 2020年、2021年连续两年: a count phrase right after explicit years does not override them.
        last = strong[-1]
        if len(strong) > 1 and last.start - strong[-2].end <= 1 and strong[-2].period[0] != strong[-2].period[1]:
            return strong[-2].period
        return last.period
    weak = [h for h in hits if h.weak]
    if weak:
        return weak[-1].period
    return default


# ---------------------------------------------------------------- the period pass of extraction

def section_period(s: Section, ctx: DocContext) -> Period:
    """A heading's period governs its section (2022年平安成绩单, 过去五年工作回顾), unless the
    heading is a statement with its own figure, a title, or names an event."""
    hits = [h for h in ctx.periods(s.heading) if not h.weak]
    if hits and s.kind not in ("lead", "title") and not EVENT_HEADING.search(s.heading) \
            and not achieved_figures(s.heading):
        return hits[-1].period
    return (ctx.report_year, ctx.report_year)


def topic_period(sentence: str, ctx: DocContext) -> Period | None:
    """A period phrase stated before a sentence's first figure (五年来，… / 报告显示，2023年，…)
    is its topic: it governs the whole sentence, across semicolons, and a paragraph it opens."""
    figs = achieved_figures(sentence)
    lead = sentence[:figs[0].start] if figs else sentence
    hits = [h for h in ctx.periods(lead) if not h.weak]
    if not hits or (not figs and not re.search(r"[,，:：]", sentence)):
        return None
    return hits[-1].period
