"""The text stages as row-producing functions, one document at a time.

clean_stage → a document row (cleaned text, paragraph spans, metadata); section_stage → section
rows; metric_stage → metric rows. Each stage rebuilds what it needs from the rows of the stage
before, so stages can be stored and re-run separately.
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import asdict
from datetime import date

from zhengfa import clean as clean_mod
from zhengfa import regions
from zhengfa.extract import DocContext, _section_regions, achieved_figures, extract
from zhengfa.periods import report_year
from zhengfa.sections import Section, split_sections

_SENT = re.compile(r"[^。！？!?]+[。！？!?]?")


def _area(unit: regions.Unit | None) -> set[str]:
    if unit is None:
        return set()
    city = unit if unit.level == "city" else regions.parent_of(unit) if unit.level == "county" else None
    if city is not None and city.level == "city":
        return {c.label for c in regions.gazetteer().children(city)}
    return {unit.label} if unit.level == "county" else set()


def document_context(cleaned: clean_mod.Cleaned) -> DocContext:
    unit, _ = regions.document_region(cleaned.text, cleaned.title, cleaned.header)
    publish_year = cleaned.publish_date.year if cleaned.publish_date else None
    figure_sentences = [s for s in _SENT.findall(cleaned.text) if achieved_figures(s)]
    ry = report_year(cleaned.text, publish_year, figure_sentences, cleaned.title)
    national = unit is None and regions.is_national((cleaned.title or "") + cleaned.text)
    return DocContext(unit, ry, publish_year, _area(unit), national)


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
    pd_ = _val(doc.get("publish_date"))
    py = int(str(pd_)[:4]) if pd_ else None
    ry = _val(doc.get("report_year"))
    ry = int(ry) if ry is not None else None
    return DocContext(unit, ry, py, _area(unit), label == regions.NATIONAL)


def _cleaned_from_row(doc: dict) -> clean_mod.Cleaned:
    text = doc["cleaned_text"]
    paras = [clean_mod.Paragraph(s, e, text[s:e], bool(c), bool(r)) for s, e, c, r in json.loads(doc["paragraphs"])]
    pdate = date.fromisoformat(str(doc["publish_date"])[:10]) if _val(doc.get("publish_date")) else None
    return clean_mod.Cleaned(text, paras, _val(doc.get("title")), _val(doc.get("outlet")), pdate)


def clean_stage(doc_id: str, text: str) -> dict:
    cleaned = clean_mod.clean(text)
    ctx = document_context(cleaned)
    return {
        "doc_id": doc_id,
        "title": cleaned.title,
        "outlet": cleaned.outlet,
        "publish_date": cleaned.publish_date.isoformat() if cleaned.publish_date else None,
        "report_year": ctx.report_year,
        "region": ctx.label,
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
    sec_regions = _section_regions(cleaned, sections, ctx)
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
        row = asdict(m)
        row.pop("notes", None)
        section_ord = row.pop("section_ord", None)
        row["doc_id"] = doc_id
        row["section_id"] = f"{doc_id}:{section_ord}" if section_ord is not None else None
        row["metric_id"] = f"{doc_id}:{m.char_start}:{m.char_end}:{len(rows)}"
        rows.append(row)
    return rows


def process_text(doc_id: str, text: str) -> dict:
    """All text stages on one decoded document."""
    doc = clean_stage(doc_id, text)
    sections = section_stage(doc)
    return {"document": doc, "sections": sections, "metrics": metric_stage(doc, sections)}
