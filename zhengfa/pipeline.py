"""One document through every text stage: clean → sections → metrics, as plain rows."""
from __future__ import annotations

import math
import re
from dataclasses import asdict

from zhengfa import clean as clean_mod
from zhengfa import regions
from zhengfa.extract import DocContext, _figures, extract
from zhengfa.periods import report_year
from zhengfa.sections import split_sections

_SENT = re.compile(r"[^。！？!?]+[。！？!?]?")


def document_context(cleaned: clean_mod.Cleaned) -> DocContext:
    unit, _ = regions.document_region(cleaned.text, cleaned.title)
    publish_year = cleaned.publish_date.year if cleaned.publish_date else None
    figure_sentences = [s for s in _SENT.findall(cleaned.text) if _figures(s)]
    ry = report_year(cleaned.text, publish_year, figure_sentences)
    area: set[str] = set()
    if unit is not None:
        city = unit if unit.level == "city" else regions.parent_of(unit) if unit.level == "county" else None
        if city is not None and city.level == "city":
            area = {c.label for c in regions.gazetteer().children(city)}
        elif unit.level == "county":
            area = {unit.label}
    return DocContext(unit, ry, publish_year, area)


def process_text(doc_id: str, text: str) -> dict:
    """Run the text stages on one decoded document; returns {'document', 'sections', 'metrics'}."""
    cleaned = clean_mod.clean(text)
    ctx = document_context(cleaned)
    sections = split_sections(cleaned)
    metrics = extract(cleaned, sections, ctx)
    section_ids = {s.ord: f"{doc_id}:{s.ord}" for s in sections}
    from zhengfa.extract import _section_regions

    sec_regions = _section_regions(cleaned, sections, ctx)
    document = {
        "doc_id": doc_id,
        "title": cleaned.title,
        "outlet": cleaned.outlet,
        "publish_date": cleaned.publish_date.isoformat() if cleaned.publish_date else None,
        "report_year": ctx.report_year,
        "region": ctx.region.label if ctx.region else regions.NATIONAL,
        "regions": sorted(set(sec_regions.values())),
        "cleaned_text": cleaned.text,
        "n_paragraphs": len(cleaned.paragraphs),
        "n_captions": sum(p.caption for p in cleaned.paragraphs),
        "n_repeated": sum(p.repeated for p in cleaned.paragraphs),
        "removed_lines": cleaned.removed_lines,
    }
    section_rows = [{
        "section_id": section_ids[s.ord], "doc_id": doc_id, "ord": s.ord, "level": s.level,
        "kind": s.kind, "heading": s.heading,
        "parent_id": section_ids.get(s.parent) if s.parent is not None else None,
        "series": s.series, "char_start": s.start, "char_end": s.end, "text": s.text,
        "region": sec_regions.get(s.ord),
    } for s in sections]
    metric_rows = []
    seen = set()
    for m in metrics:
        if not math.isfinite(m.value):
            continue
        key = (m.char_start, m.char_end, m.kind, m.subject, m.region, m.value)
        if key in seen:
            continue
        seen.add(key)
        row = asdict(m)
        row.pop("notes", None)
        row["doc_id"] = doc_id
        row["section_id"] = section_ids.get(m.section_ord)
        row.pop("section_ord", None)
        metric_rows.append(row)
    return {"document": document, "sections": section_rows, "metrics": metric_rows}
