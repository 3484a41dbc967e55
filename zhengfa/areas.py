"""Which area each section and each figure is about, below the document's own region (its
where-and-when is decided in where_when): sub-areas named in a section, lists of places that
distribute over figures, and the area a figure's own clause names."""
from __future__ import annotations

import re

from zhengfa import regions, subjects, where_when
from zhengfa.clean import Cleaned
from zhengfa.figures import RESET_BREAK
from zhengfa.model import DocContext
from zhengfa.sections import Section

_PLACE_LIST = re.compile(r"^(?P<names>[\u4e00-\u9fff]{2,8}(?:[、和][\u4e00-\u9fff]{2,8})+)(?P<count>[两二三四五六七八九十]+[省市区县])?")


def section_regions(doc: Cleaned, sections: list[Section], ctx: DocContext) -> dict[int, str]:
    """Region label per section from the evidence inside it (districts, streets, stations),
    weighed against the document's own scope words (全省 in a provincial report's section)."""
    home = ctx.region
    default = ctx.label
    evidence: dict[int, dict[str, float]] = {}
    home_units = [home] if home else []
    # the document's places were scanned once to decide its region (title, line break, text):
    # each section reads its own off that scan
    head = (doc.title or "") + "\n"
    whole = head + doc.text
    spans = [(len(head) + s.start, len(head) + s.end) for s in sections]
    towns = regions.towns_within(whole, ctx.area, spans) if ctx.area else [[] for _ in sections]
    for s, (a, b), section_towns in zip(sections, spans, towns):
        text = s.text
        score: dict[str, float] = {}
        mentions = regions.mentions_in(whole, a, b)
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
        for pos, county in section_towns:
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
        out[s.ord] = pick_region(ev, default) if ev else None
    for s in sections:  # no evidence: the parent's region, else the document's
        if out[s.ord] is None:
            parent = out.get(s.parent) if s.parent is not None and s.kind != "title" else None
            out[s.ord] = parent or default
    return out


def pick_region(ev: dict[str, float], default: str) -> str:
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


def paragraph_region(text: str, region: str, ctx: DocContext) -> str:
    """A caption names its own district (湖里刑事警情持续保持低位…)."""
    anchor = regions.units_by_label().get(region) or ctx.region
    if anchor is None:
        return region
    for m, u in regions.resolve(regions.find_mentions(text), [anchor]):
        if u != anchor and regions.siblings_or_below(u, anchor):
            return u.label
    return region


def place_list(text: str, anchor: regions.Unit | None) -> tuple[list[str], int]:
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


def trimmed_lead(text: str) -> str:
    return subjects.trim(text, places=False) if text else text


def clause_region(prefix: str, region: str, anchor, national: bool = False, rank: bool = False,
                  sentence: str | None = None) -> str:
    """The area a figure's own words name: a sibling or sub-area named in its clause, else in its
    part of the sentence (since the last semicolon), else anywhere before it in the sentence
    (湖里刑事警情…), the narrowest first; several different areas named together leave it to
    their common parent (the section's). In a county's report, 全市 in the figure's clause is its
    city and 全省 its province. In a national report any place named there takes the figure
    (如浙江省…, 以广东省为例，该省…), except a venue. `sentence`: the text `prefix` begins, when
    known (its places are scanned once for all its figures)."""
    if anchor is None and not national:
        return region
    clause_start = max((m.end() for m in re.finditer(r"[,，;；:：]", prefix)), default=0)
    part_start = max((m.end() for m in RESET_BREAK.finditer(prefix)), default=0)
    if anchor is not None and not rank:
        above = where_when.scope_above(prefix[clause_start:], anchor)
        if above is not None:
            return above.label
    for start in (clause_start, part_start, 0):
        named = named_areas(prefix, start, anchor, own_clause=start == clause_start, sentence=sentence)
        if named:
            if named[-1] is None:
                return region
            distinct = {n for n in named if n}
            return named[-1] if len(distinct) == 1 else region
    return region


def named_areas(prefix: str, start: int, anchor, own_clause: bool = True,
                sentence: str | None = None) -> list[str | None]:
    """Areas named in prefix[start:] that may take a figure: labels, None for the anchor itself
    or an area above it. A place compared with (仅次于临川区) takes only a figure of its own clause
    (仅次于襄州区的31.2%), not the figures after it."""
    text = prefix[start:]
    mentions = (regions.mentions_in(sentence, start, len(prefix)) if sentence is not None
                else regions.find_mentions(text))
    context = [anchor] if anchor else regions.context_units(mentions)
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
