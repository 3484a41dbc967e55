"""The text stages as row-producing functions, one document at a time.

clean_stage → a document row (cleaned text, paragraph spans, metadata); section_stage → section
rows; metric_stage → metric rows. Each stage rebuilds what it needs from the rows of the stage
before, so stages can be stored and re-run separately.
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import fields
from datetime import date
from operator import attrgetter

from zhengfa import clean as clean_mod
from zhengfa import figures, indicators, numbers, periods, regions, subjects, where_when
from zhengfa.areas import section_regions
from zhengfa.extract import extract
from zhengfa.figures import achieved_figures
from zhengfa.model import DocContext, Metric
from zhengfa.sections import Section, split_sections
from zhengfa.sources import source_key

_SENT = re.compile(r"[^。！？!?]+[。！？!?]?")


def _area(unit: regions.Unit | None) -> set[str]:
    if unit is None:
        return set()
    city = unit if unit.level == "city" else regions.parent_of(unit) if unit.level == "county" else None
    if city is not None and city.level == "city":
        return {c.label for c in regions.gazetteer().children(city)}
    return {unit.label} if unit.level == "county" else set()


def document_context(cleaned: clean_mod.Cleaned, source: dict | None = None
                     ) -> tuple[DocContext, where_when.Where, where_when.PubDate | None, str]:
    """Where and when a document reports on, from its text and its page's metadata."""
    source = source or {}
    title = source.get("title") or cleaned.title
    where = where_when.decide_region(cleaned.text, title, cleaned.header, source, cleaned.outlet)
    published, how = where_when.publish_date(source, cleaned.publish_date, cleaned.text)
    figure_sentences = [s for s in _SENT.findall(cleaned.text) if achieved_figures(s)]
    ry = where_when.report_year(cleaned.text, published, figure_sentences, title)
    ctx = DocContext(where.unit, ry, published.year if published else None, _area(where.unit), where.national,
                     published.month if published else None, where_when.term_start(cleaned.text, ry))
    return ctx, where, published, how


def _val(x):
    """None for the missing-value markers a DataFrame round trip leaves (NaN, NA)."""
    if x is None:
        return None
    try:
        if x != x:  # NaN
            return None
    except (TypeError, ValueError):
        return None if str(x) in ("<NA>", "NaT") else x
    return None if str(x) in ("<NA>", "NaT", "nan") else x


def _context_from_row(doc: dict) -> DocContext:
    label = _val(doc.get("region")) or ""
    unit = regions.units_by_label().get(label) if label not in (regions.NATIONAL, "") else None
    published = where_when.PubDate.parse(_val(doc.get("publish_date")))
    ry = _val(doc.get("report_year"))
    ry = int(ry) if ry is not None else None
    return DocContext(unit, ry, published.year if published else None, _area(unit), label == regions.NATIONAL,
                      published.month if published else None, where_when.term_start(doc["cleaned_text"], ry))


def _cleaned_from_row(doc: dict) -> clean_mod.Cleaned:
    text = doc["cleaned_text"]
    paras = [clean_mod.Paragraph(s, e, text[s:e], bool(c), bool(r)) for s, e, c, r in json.loads(doc["paragraphs"])]
    published = where_when.PubDate.parse(_val(doc.get("publish_date")))
    pdate = date(published.year, published.month or 1, published.day or 1) if published else None
    return clean_mod.Cleaned(text, paras, _val(doc.get("title")), _val(doc.get("outlet")), pdate)


def clean_stage(doc_id: str, text: str, source: dict | None = None) -> dict:
    """`source`: the page's line of sources.jsonl (url, published, outlet, title), if any."""
    source = source or {}
    cleaned = clean_mod.clean(text)
    ctx, where, published, how = document_context(cleaned, source)
    return {
        "doc_id": doc_id,
        "source_key": source_key(source),
        "url": source.get("url"),
        "title": source.get("title") or cleaned.title,
        "outlet": source.get("outlet") or cleaned.outlet,
        "publish_date": published.iso() if published else None,
        "publish_date_from": how or None,
        "report_year": ctx.report_year,
        "region": ctx.label,
        "region_confidence": round(where.confidence, 3),
        "region_evidence": where.evidence_json(),
        "cleaned_text": cleaned.text,
        "paragraphs": json.dumps([[p.start, p.end, int(p.caption), int(p.repeated)] for p in cleaned.paragraphs]),
        "n_paragraphs": len(cleaned.paragraphs),
        "n_captions": sum(p.caption for p in cleaned.paragraphs),
        "n_repeated": sum(p.repeated for p in cleaned.paragraphs),
        "removed_lines": cleaned.removed_lines,
    }


def section_stage(doc: dict) -> list[dict]:
    cleaned = _cleaned_from_row(doc)
    ctx = _context_from_row(doc)
    sections = split_sections(cleaned)
    sec_regions = section_regions(cleaned, sections, ctx)
    doc_id = doc["doc_id"]
    return [{
        "section_id": f"{doc_id}:{s.ord}", "doc_id": doc_id, "ord": s.ord, "level": s.level,
        "kind": s.kind, "heading": s.heading,
        "parent_id": f"{doc_id}:{s.parent}" if s.parent is not None else None,
        "series": s.series, "char_start": s.start, "char_end": s.end, "text": s.text,
        "region": sec_regions.get(s.ord), "paragraph_idx": json.dumps(s.paragraphs),
    } for s in sections]


def _sections_from_rows(rows: list[dict]) -> list[Section]:
    out = []
    for r in sorted(rows, key=lambda r: r["ord"]):
        parent = _val(r.get("parent_id"))
        series = _val(r.get("series"))
        out.append(Section(int(r["ord"]), int(r["level"]), r["heading"], int(r["char_start"]), int(r["char_end"]),
                           r["text"], int(parent.rsplit(":", 1)[1]) if isinstance(parent, str) else None,
                           r["kind"], int(series) if series is not None else None,
                           json.loads(r["paragraph_idx"])))
    return out


_METRIC_FIELDS = tuple(f.name for f in fields(Metric) if f.name != "notes")
_metric_values = attrgetter(*_METRIC_FIELDS)


def metric_stage(doc: dict, section_rows: list[dict]) -> list[dict]:
    cleaned = _cleaned_from_row(doc)
    ctx = _context_from_row(doc)
    sections = _sections_from_rows(section_rows)
    doc_id = doc["doc_id"]
    rows, seen = [], set()
    regions_of = {int(r["ord"]): (_val(r.get("region")) or "") for r in section_rows}
    for m in extract(cleaned, sections, ctx, regions_of if len(regions_of) == len(sections) else None):
        if not math.isfinite(m.value):
            continue
        key = (m.char_start, m.char_end, m.kind, m.subject, m.region, m.value)
        if key in seen:
            continue
        seen.add(key)
        row = dict(zip(_METRIC_FIELDS, _metric_values(m)))  # asdict() deep-copies: slow, and every value is flat
        section_ord = row.pop("section_ord", None)
        row["doc_id"] = doc_id
        row["section_id"] = f"{doc_id}:{section_ord}" if section_ord is not None else None
        row["metric_id"] = f"{doc_id}:{m.char_start}:{m.char_end}:{len(rows)}"
        # what the warehouse stores besides the code (extract gave it): mapped here, on every core;
        # the warehouse maps a figure again only when the taxonomy changed since
        row["series_key"] = indicators.series_key(m.subject, m.kind)
        row["part_year"] = indicators.is_part_year(m.subject, m.sentence, m.quote)
        row["taxonomy_version"] = indicators.version()
        rows.append(row)
    return rows


def process_text(doc_id: str, text: str, source: dict | None = None) -> dict:
    """All text stages on one decoded document (`source`: its sources.jsonl metadata)."""
    doc = clean_stage(doc_id, text, source)
    sections = section_stage(doc)
    return {"document": doc, "sections": sections, "metrics": metric_stage(doc, sections)}


def clear_memos() -> None:
    """Forget the memoized per-phrase results (figures, periods, place scans, tags, trims), e.g.
    to time a stage from cold. The dictionaries and gazetteer stay loaded."""
    for fn in (figures.find_figures, figures.achieved_figures, periods._find_periods, numbers.parse_number,
               regions._mentions, subjects._tagged, subjects.trim, subjects.names_a_thing):
        fn.cache_clear()
