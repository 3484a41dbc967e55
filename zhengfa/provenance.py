"""Provenance pages: a document's cleaned text with each extracted figure highlighted and its
normalized row shown on hover. Plain rendering (no Dagster, no database): the provenance_pages
asset queries the rows and hands them here, in its own process or in the text workers.
"""
from __future__ import annotations

import html
import os
import re
from pathlib import Path

PAGE_CSS = """
body { font-family: "Noto Sans CJK SC", "Noto Sans SC", sans-serif; max-width: 52em; margin: 2em auto; line-height: 1.9; }
h1 { font-size: 1.3em; } .meta { color: #555; font-size: 0.9em; }
mark.fig { background: #ffe08a; position: relative; cursor: help; padding: 0 1px; }
mark.fig.coded { background: #a7e3a1; }
mark.fig .row { display: none; position: absolute; left: 0; top: 1.8em; z-index: 10; background: #fff;
  border: 1px solid #888; padding: 0.4em 0.6em; white-space: nowrap; font-size: 0.85em; line-height: 1.5;
  box-shadow: 0 2px 6px rgba(0,0,0,0.2); }
mark.fig:hover .row, mark.fig:focus .row { display: block; }
.legend span { padding: 0 0.4em; margin-right: 1em; }
p.para { white-space: pre-wrap; margin: 0.6em 0; }
"""

ROW_FIELDS = ["kind", "value", "unit", "approx", "basis", "subject", "indicator", "region", "period_start",
              "period_end"]


def page_name(source_file: str, doc_id: str) -> str:
    stem = re.sub(r"[^\w\u4e00-\u9fff.-]+", "_", Path(source_file or "document").stem)[:60]
    return f"{stem}-{doc_id[:8]}.html"


def _row_html(m: dict) -> str:
    cells = []
    for f in ROW_FIELDS:
        v = m.get(f)
        if v is None or (isinstance(v, float) and v != v):
            v = "—"
        elif isinstance(v, float) and v.is_integer():
            v = int(v)
        cells.append(f'<span class="f-{f}"><b>{f}</b> {html.escape(str(v))}</span>')
    return "<br>".join(cells)


def render_page(doc: dict, metrics: list[dict]) -> str:
    """The cleaned text with each figure highlighted; hovering a figure shows its normalized row(s)
    (figures sharing a span are shown together; a span overlapping an earlier one is not marked)."""
    text = doc["cleaned_text"] or ""
    spans: dict[tuple[int, int], list[dict]] = {}
    for m in metrics:
        spans.setdefault((int(m["char_start"]), int(m["char_end"])), []).append(m)
    parts, pos = [], 0
    for (a, b), rows in sorted(spans.items()):
        if a < pos or b > len(text):
            continue
        parts.append(html.escape(text[pos:a]))
        coded = any(r.get("indicator") for r in rows)
        tip = "<hr>".join(_row_html(r) for r in rows)
        ids = " ".join(r["metric_id"] for r in rows)
        parts.append(f'<mark class="fig{" coded" if coded else ""}" tabindex="0" data-metric-ids="{html.escape(ids)}">'
                     f'{html.escape(text[a:b])}<span class="row">{tip}</span></mark>')
        pos = b
    parts.append(html.escape(text[pos:]))
    body = "".join(parts)
    paragraphs = "".join(f'<p class="para">{p}</p>' for p in body.split("\n") if p.strip())
    title = html.escape(doc.get("title") or doc["source_file"] or "")
    meta = " · ".join(html.escape(str(x)) for x in (doc["source_file"], doc.get("region"), doc.get("report_year"),
                                                     doc.get("publish_date")) if x is not None and x == x and x != "")
    return (f'<!doctype html><html lang="zh"><head><meta charset="utf-8"><title>{title}</title>'
            f"<style>{PAGE_CSS}</style></head><body><h1>{title}</h1><p class=\"meta\">{meta} · "
            f"{len(metrics)} figures</p><p class=\"legend\"><span style=\"background:#a7e3a1\">indicator code</span>"
            f"<span style=\"background:#ffe08a\">no code</span> hover a figure for its row</p>{paragraphs}</body></html>")


def write_pages(items: list[tuple[str, dict, list[dict]]]) -> tuple[list[str], list[tuple[str, str]]]:
    """(target path, document row, its metric rows) → each page written atomically (a temporary
    name, then renamed); returns the paths written and (path, error) for pages that failed."""
    written, failed = [], []
    for target, doc, metrics in items:
        tmp = os.path.join(os.path.dirname(target), f".{os.path.basename(target)}.tmp")
        try:
            with open(tmp, "w", encoding="utf-8") as f:
                f.write(render_page(doc, metrics))
            os.replace(tmp, target)
            written.append(target)
        except Exception as e:  # noqa: BLE001 - one page must not stop the others
            failed.append((target, f"{type(e).__name__}: {e}"))
    return written, failed
