"""Quantitative statements → normalized metric rows with provenance.

Extraction is a short sequence of passes over each sentence, each in a module of its own:
  figures         the figure grammar: value, unit, approximation (figures.py)
  groups          figures joined by 、/和 form a list that distributes (分别下降58%、23%)
  clause windows  the words between a figure and the clause break or figure before it
  attributes      kind, sign and baseline (kinds.py), period (periods.py), area (areas.py),
                  subject (subject_phrase.py), indicator code (indicators.py)
  rows            one Metric per figure and subject or place (model.py)
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from zhengfa import regions
from zhengfa.areas import clause_region, paragraph_region, place_list, section_regions, trimmed_lead
from zhengfa.clean import Cleaned
from zhengfa.indicators import indicator
from zhengfa.figures import QUOTED, LIST_JOIN, RESET_BREAK, Figure, achieved_figures, clause_breaks, is_logistics
from zhengfa.kinds import basis_of, kind_of, strip_change
from zhengfa.model import DocContext, Metric
from zhengfa.periods import Period, section_period, topic_period
from zhengfa.sections import Section
from zhengfa.subject_phrase import rank_subjects, split_subjects, subject_of

__all__ = ["DocContext", "Metric", "achieved_figures", "extract", "section_regions"]

_SENTENCE = re.compile(r"[^。！？!?…]+(?:[。！？!?]|…+)?")
_SUBSET_LEAD = re.compile(r"^(其中|这其中|当中)")


def extract(doc: Cleaned, sections: list[Section], ctx: DocContext,
            known_regions: dict[int, str] | None = None) -> list[Metric]:
    """Metrics of a document; `known_regions` (section ord → region) when already computed."""
    sec_region = known_regions if known_regions is not None else section_regions(doc, sections, ctx)
    para_section: dict[int, Section] = {}
    for s in sections:
        for idx in s.paragraphs:
            para_section[idx] = s
    metrics: list[Metric] = []
    for idx, para in enumerate(doc.paragraphs):
        sec = para_section.get(idx)
        region = sec_region.get(sec.ord) if sec else ctx.label
        region = paragraph_region(para.text, region, ctx) if para.caption else region
        default_period = section_period(sec, ctx) if sec else (ctx.report_year, ctx.report_year)
        previous: Period | None = None
        for k, sm in enumerate(_SENTENCE.finditer(para.text)):
            sentence = sm.group()
            if not sentence.strip():
                continue
            topic = topic_period(sentence.strip(), ctx)
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
                r.indicator = indicator(r.subject, r.kind, r.sentence, r.quote)
            metrics.extend(rows)
    return metrics


def part_start(sentence: str, pos: int) -> int:
    """Where the part of a sentence holding `pos` begins: after the last semicolon before it."""
    return max((m.end() for m in RESET_BREAK.finditer(sentence, 0, pos)), default=0)


def group_figures(sentence: str, figs: list[Figure]) -> list[list[Figure]]:
    """Figures of one unit class joined only by 、/和 form a list (分别下降58%、23%)."""
    groups: list[list[Figure]] = []
    for f in figs:
        if groups and LIST_JOIN.match(sentence[groups[-1][-1].end:f.num_start]) and groups[-1][-1].unit_class == f.unit_class:
            groups[-1].append(f)
        else:
            groups.append([f])
    return groups


@dataclass
class Window:
    """The words a group of figures reads its attributes from."""
    head: Figure  # the group's first figure
    cut: int  # end of the last clause break before the head
    start: int  # the window: from the clause break or the previous group's end …
    before: str  # … to the head
    clause_before: str  # from the clause break to the head
    adjacent: bool  # right after the previous group (3个31人)
    period_text: str  # from the last semicolon to the head


def clause_windows(sentence: str, groups: list[list[Figure]]) -> list[Window]:
    breaks = clause_breaks(sentence)
    out = []
    for gi, group in enumerate(groups):
        head = group[0]
        prev_end = groups[gi - 1][-1].end if gi else 0
        cut = max((b for b in breaks if b <= head.start), default=0)
        start = max(cut, prev_end)
        reset = max((m.end() for m in RESET_BREAK.finditer(sentence, 0, head.start)), default=0)
        out.append(Window(head, cut, start, sentence[start:head.start], sentence[cut:head.start],
                          gi > 0 and prev_end == head.num_start, sentence[reset:head.start]))
    return out


def _sentence_metrics(sentence: str, region: str, default_period: Period, ctx: DocContext) -> list[Metric]:
    """The passes over one sentence: figures → groups → clause windows → attributes → rows."""
    figs = achieved_figures(sentence)
    if not figs:
        return []
    anchor = regions.units_by_label().get(region) or ctx.region
    groups = group_figures(sentence, figs)
    rows: list[Metric] = []
    prev_rows: list[Metric] = []  # rows of the previous group in this sentence
    prev_clause_rows: list[Metric] = []
    last_basis, last_basis_pos = None, 0
    for group, w in zip(groups, clause_windows(sentence, groups)):
        head = w.head
        # period
        period = ctx.period_before(w.period_text, default_period)
        if re.search(r"同期", w.period_text) and prev_rows:
            period = (prev_rows[0].period_start, prev_rows[0].period_end)
        # area: places listed in the clause distribute over the group, else the clause's area
        place_labels, consumed = place_list(trimmed_lead(w.clause_before), anchor)
        distributes = bool(re.search(r"分别|均", sentence[w.cut:group[-1].start]))
        if place_labels and not (distributes and (len(place_labels) == len(group) or len(group) == 1)):
            place_labels, consumed = [], 0  # 随县、广水新建…: a figure over several areas belongs to their parent
        row_region = region
        if not place_labels:
            row_region = clause_region(sentence[:head.start], region, anchor, ctx.national and ctx.region is None,
                                       head.rank_scope is not None, sentence=sentence)
        # kind, sign, baseline (a baseline carries over to the changes after it, up to a semicolon)
        kind, sign, basis = kind_of(head, w.before, w.clause_before, group)
        if kind == "change" and basis is None:
            # 与上年相比，…下降6.3%: a baseline standing in a clause before governs the clauses after
            # it, up to a semicolon; 刑事警情同比下降9.7%，治安警情下降5.2%: it carries over
            lead = basis_of(QUOTED.sub("", sentence[part_start(sentence, head.start):w.cut]))
            if lead:
                basis = lead
            elif last_basis and not re.search(r"[;；]", sentence[last_basis_pos:head.start]):
                basis = last_basis
        if kind == "change" and basis:
            last_basis, last_basis_pos = basis, head.start
        # subjects
        subj_list = _subjects(sentence, group, w, kind, consumed, place_labels, rows, prev_rows, prev_clause_rows)
        # rows
        new_rows = [Metric(kind, f.value * sign if kind == "change" else f.value, f.unit, f.approx,
                           basis if kind == "change" else None, s, lab, period[0], period[1], f.quote,
                           sentence.strip(), f.start, f.start + len(f.quote), None)
                    for f, s, lab in _targets(group, subj_list, place_labels, row_region)
                    if not is_logistics(s)]  # 样本量, 参会人数: not results
        rows.extend(new_rows)
        if kind != "rank":
            prev_clause_rows = new_rows if w.start == w.cut or not prev_clause_rows else prev_clause_rows + new_rows
        prev_rows = new_rows
    return rows


def _subjects(sentence: str, group: list[Figure], w: Window, kind: str, consumed: int, place_labels: list[str],
              rows: list[Metric], prev_rows: list[Metric], prev_clause_rows: list[Metric]) -> list[str]:
    """The subject of each figure of a group (one when they share it)."""
    head = group[0]
    subj_text = strip_change(w.before) if kind == "change" else w.before
    subj = subject_of(subj_text, w.clause_before, sentence, head, w.start, prev_rows, w.adjacent, consumed,
                      place_labels, rows)
    distributes = len(group) > 1 or "均" in w.before[-4:] or "均" in sentence[head.start - 6:head.start]
    subj_list = split_subjects(subj) if distributes else [subj]
    if head.unit_class == "rank":
        return rank_subjects(subj, w.before, prev_clause_rows, prev_rows, head)
    if kind == "change" and len(group) > 1 and len(subj_list) < len(group) and rows:
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
            return firsts
    return subj_list or [subj]


def _targets(group: list[Figure], subj_list: list[str], place_labels: list[str],
             row_region: str) -> list[tuple[Figure, str, str]]:
    """(figure, subject, region) per row: places or subjects listed alongside the figures pair up."""
    head = group[0]
    if place_labels and len(place_labels) == len(group) and len(group) > 1:
        return [(f, subj_list[0], lab) for f, lab in zip(group, place_labels)]
    if place_labels and len(group) == 1:
        return [(head, subj_list[0], lab) for lab in place_labels]
    if len(group) > 1 and len(subj_list) == len(group):
        return [(f, s, row_region) for f, s in zip(group, subj_list)]
    if len(group) == 1 and len(subj_list) > 1:
        return [(head, s, row_region) for s in subj_list]
    return [(f, subj_list[0], row_region) for f in group]
