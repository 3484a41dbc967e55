"""Where and when a document reports on: its region and its report year, decided from every cue
with the evidence kept.

Cues for the region, each weighed (weights in resources/data/region_cues.tsv):
  url       a government host spells its place in pinyin (gaj.<place>.gov.cn); other hosts and
            path segments (/xianyu/anxi/) are weaker; a pinyin shared by several places is
            settled by the text's level words (全市 vs 全县) and the places the text names
  outlet    a place in the outlet's name (洪山区人民政府门户网站)
  title     places in the title
  dateline  本报宝鸡7月11日电, 北京1月10日电, 记者…/北京报导
  body      places named in the text, except as a venue (在北京召开), an example (如浙江省…)
            or a comparison (仅次于襄州区)
  header    bylines and source lines taken out of the text
  national  national actors (公安部, 最高人民检察院, 中央政法工作会议, …, in national_actors.txt)
            and 全国 as scope
Page furniture (navigation, copyright, ICP and contact lines, related links) is removed by the
cleaner before any of this and gives no evidence.

The publish date comes from the crawl's metadata, the page, a delivery line (——2022年1月7日在…
会议上) or the URL path (/2022/09/22/, t20240126_), in that order; the report year from the
years the figures are stated for, against that date.
"""
from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from functools import lru_cache
from urllib.parse import urlsplit

from zhengfa import data_files, regions
from zhengfa.periods import _BASELINE_BEFORE, EVENT_HEADING, find_periods
from zhengfa.regions import Unit

NATIONAL = regions.NATIONAL


# ---------------------------------------------------------------- dates
@dataclass(frozen=True)
class PubDate:
    year: int
    month: int | None = None
    day: int | None = None

    @classmethod
    def parse(cls, value) -> "PubDate | None":
        m = re.match(r"^\s*((?:19|20)\d{2})(?:-(\d{1,2})(?:-(\d{1,2}))?)?", str(value or ""))
        if not m:
            return None
        mo = int(m.group(2)) if m.group(2) else None
        d = int(m.group(3)) if m.group(3) else None
        if mo is not None and not 1 <= mo <= 12:
            return None
        return cls(int(m.group(1)), mo, d if d and 1 <= d <= 31 else None)

    def iso(self) -> str:
        return "-".join([f"{self.year:04d}"] + ([f"{self.month:02d}"] if self.month else [])
                        + ([f"{self.day:02d}"] if self.month and self.day else []))


_URL_DATES = [
    re.compile(r"/((?:19|20)\d{2})/(\d{1,2})/(\d{1,2})/"),            # /2022/9/22/
    re.compile(r"(?<!\d)((?:19|20)\d{2})-?(\d{2})/(\d{2})/"),          # /2023-07/12/, /202307/12/
    re.compile(r"(?<![\d])((?:19|20)\d{2})(\d{2})(\d{2})(?!\d)"),      # t20240126_, /20230308/
    re.compile(r"/((?:19|20)\d{2})-?(\d{2})/()"),                       # /202112/, /2021-12/
]
_DELIVERY = re.compile(r"^[—-]{1,2}\s*((?:19|20)\d{2})\s*年\s*(\d{1,2})\s*月(?:\s*(\d{1,2})\s*日)?\s*在.{2,60}(会议|大会)")


def date_from_url(url: str | None) -> PubDate | None:
    """The date a page's address spells, if any (/2022/9/22/, /202401/t20240126_, /2023-07/12/)."""
    if not url:
        return None
    path = urlsplit(url).path
    for rx in _URL_DATES:
        for m in rx.finditer(path):
            y, mo = int(m.group(1)), int(m.group(2))
            d = int(m.group(3)) if m.group(3) else None
            if 1 <= mo <= 12 and (d is None or 1 <= d <= 31):
                return PubDate(y, mo, d)
    return None


def delivery_date(text: str) -> PubDate | None:
    """——2022年1月7日在武汉市洪山区第十届人民代表大会第一次会议上: when a report was delivered."""
    for line in text.split("\n")[:6]:
        m = _DELIVERY.match(line.strip())
        if m:
            return PubDate(int(m.group(1)), int(m.group(2)), int(m.group(3)) if m.group(3) else None)
    return None


def publish_date(source: dict | None, page_date, text: str) -> tuple[PubDate | None, str]:
    """(date, where it came from): metadata, then the page, the delivery line, the URL path."""
    source = source or {}
    if source.get("published"):
        d = PubDate.parse(source["published"])
        if d:
            return d, "sources.jsonl"
    if page_date is not None:
        return PubDate(page_date.year, page_date.month, page_date.day), "page"
    d = delivery_date(text)
    if d:
        return d, "delivery line"
    d = date_from_url(source.get("url"))
    if d:
        return d, "url"
    return None, ""


_SESSION = re.compile(r"第[一二三四五六七八九十]+届[^。\n]{0,30}?第([一二三四五六七])次(?:全体)?会议")


def term_start(text: str, report_year: int | None) -> int | None:
    """First year of the people's congress term a work report speaks for (本届以来). Sessions
    meet once a year, so a report to the k-th session (k ≥ 2) of a term reviews the years from
    report_year - k + 2; a report to a term's first session reviews the whole previous five-year
    term."""
    if report_year is None:
        return None
    m = _SESSION.search(text[:400])
    if m:
        from zhengfa.numbers import parse_number

        k = int(parse_number(m.group(1)) or 1)
        if k >= 2:
            return report_year - k + 2
    return report_year - 4


# ---------------------------------------------------------------- region cues
@dataclass
class Evidence:
    cue: str
    seen: str
    region: str
    weight: float

    def as_dict(self) -> dict:
        return {"cue": self.cue, "seen": self.seen, "region": self.region, "weight": round(self.weight, 2)}


@dataclass
class Where:
    unit: Unit | None
    national: bool
    confidence: float
    evidence: list[Evidence] = field(default_factory=list)
    reason: str = ""

    @property
    def label(self) -> str:
        if self.unit is not None:
            return self.unit.label
        return NATIONAL if self.national else ""

    def evidence_json(self) -> str:
        """What decided the region, readable: the decision, then the cues by weight."""
        cues = sorted(self.evidence, key=lambda e: -e.weight)
        return json.dumps({"region": self.label, "confidence": round(self.confidence, 2), "reason": self.reason,
                           "cues": [e.as_dict() for e in cues[:12]]}, ensure_ascii=False)


@lru_cache(maxsize=1)
def _weights() -> dict[str, float]:
    return {k: float(v) for k, v in data_files.read_tsv("region_cues.tsv", 2)}


@lru_cache(maxsize=1)
def _national_actors() -> re.Pattern:
    words = sorted(data_files.read_lines("national_actors.txt"), key=len, reverse=True)
    return re.compile("|".join(re.escape(w) for w in words))


_LEVEL_WORDS = {
    "province": re.compile(r"全省|我省|本省|全区(?=.{0,6}(各市|各盟|地市))"),
    "city": re.compile(r"全市|我市|本市|市委|市政府|市公安局|市中级人民法院|市人民检察院"),
    "county": re.compile(r"全县|我县|本县|全区|我区|本区|全旗|县委|县政府|县公安局|区委|区政府|区公安分局|县人民法院|区人民法院"),
}
# 全国 as the scope of figures, not a rank (全国第一, 全国首位, 全国前列) or a title (全国人大代表,
# 全国文明城市, 全国先进).
_NATIONAL_SCOPE = re.compile(r"全国(?!第|首|前|排名|领先|先进|优秀|模范|文明|示范|人大代表|政协委员|劳模|劳动模范|十佳|百佳|表彰|范围内首)")
_VENUE_AFTER = re.compile(r"^[^,，。;；]{0,14}(召开|举行|举办|开幕|闭幕|落幕|召集)")
_VENUE_BEFORE = re.compile(r"(在|于|赴|到)$")
_EXAMPLE_BEFORE = re.compile(r"(如|比如|例如|譬如|像|以)$")
_COMPARISON_BEFORE = re.compile(r"(仅次于|次于|高于|低于|超过|不及|落后于|领先于|紧随|位于|好于|优于)$")
_SCOPE_AFTER = re.compile(r"^(各县|各区|各市|各地|各设区市|所辖|下辖|市直|范围内)")
_DATELINE = re.compile(r"(?:本报|本网|新华社|中新社|中新网|人民网|央视网|讯|电)?\s*([\u4e00-\u9fff]{2,8}?)\s*\d{1,2}\s*月?\s*\d{1,2}\s*日\s*(?:电|讯)"
                       r"|[\u4e00-\u9fff]{2,4}/([\u4e00-\u9fff]{2,6})报导")


def _context_excludes(text: str, m: regions.Mention) -> str | None:
    before = text[max(0, m.start - 4):m.start]
    after = text[m.end:m.end + 16]
    if _VENUE_BEFORE.search(before[-1:]) and _VENUE_AFTER.match(after):
        return "venue"
    if _EXAMPLE_BEFORE.search(before[-2:]) or _EXAMPLE_BEFORE.search(before[-1:]):
        return "example"
    if _COMPARISON_BEFORE.search(before):
        return "comparison"
    if _SCOPE_AFTER.match(after):
        return "scope"
    return None


def not_about(text: str, m: regions.Mention) -> str | None:
    """Why a place named at `m` is not what the text around it reports on (venue, example,
    comparison, scope), or None."""
    return _context_excludes(text, m)


def scope_words(text: str, unit: Unit | None) -> int:
    """How often `text` speaks at the level of `unit` (全省 for a province, 全市 for a city, 全县
    or 全区 for a county; 全国 when unit is None)."""
    if unit is None:
        return len(_NATIONAL_SCOPE.findall(text))
    if unit.level == "county" and unit.name.endswith("市"):
        return len(_LEVEL_WORDS["city"].findall(text)) + len(_LEVEL_WORDS["county"].findall(text))
    return len(_LEVEL_WORDS[unit.level].findall(text))


_ABOVE = {"city": re.compile(r"全市(?!第|首|前|排名|范围内第)"), "province": re.compile(r"全省(?!第|首|前|排名|范围内第)")}
_RANK_BEFORE = re.compile(r"(居|列|位居|位列|排名|排|位于|在|占)$")


def scope_above(clause: str, anchor: Unit) -> Unit | None:
    """The area above `anchor` that a figure's clause speaks for: 全市 in a county's report (its
    city; a county-level city says 全市 of itself), 全省 in a county's or city's (its province).
    Rank scopes (位列全市第二) do not count."""
    for level in ("city", "province"):
        if level == "city" and (anchor.level != "county" or anchor.name.endswith("市")):
            continue
        if level == "province" and anchor.level == "province":
            continue
        for m in _ABOVE[level].finditer(clause):
            if _RANK_BEFORE.search(clause[max(0, m.start() - 2):m.start()]) or m.end() >= len(clause.rstrip()):
                continue  # 位列全市第二, 占全市的, 降幅全市第一: a rank's or a share's scope
            up = [a for a in regions._ancestors(anchor) if a.level == level]
            if up:
                return up[0]
    return None


def level_counts(text: str) -> Counter:
    """How often the text speaks at each level (全省 / 全市 / 全县, 全区) and nationally (全国)."""
    c = Counter({lvl: len(rx.findall(text)) for lvl, rx in _LEVEL_WORDS.items()})
    c["national"] = len(_NATIONAL_SCOPE.findall(text))
    return c


def national_actors(text: str) -> list[str]:
    """National bodies acting in the text (公安部, 最高人民检察院, 中央政法工作会议, …), unless a
    place qualifies them (a provincial 高级人民法院 is not the supreme court)."""
    out = []
    for m in _national_actors().finditer(text):
        before = text[max(0, m.start() - 6):m.start()]
        if before.endswith(("省", "市", "县", "区", "州")) and not before.endswith("中国"):
            continue
        if text.startswith("代表", m.end()):
            continue  # 全国人大代表: a person's title
        out.append(m.group(0))
    return out


# ---------------------------------------------------------------- url → places
@lru_cache(maxsize=1)
def _pinyin_index() -> dict[str, list[Unit]]:
    """pinyin of a unit's name and short name (宁海 → ninghai, 抚顺市 → fushun, fushunshi) → units."""
    from pypinyin import lazy_pinyin

    idx: dict[str, list[Unit]] = defaultdict(list)
    g = regions.gazetteer()
    names_of: dict[Unit, set[str]] = defaultdict(set)
    for name, units in g.by_name.items():
        for u in units:
            names_of[u].add(name)
    for u, names in names_of.items():
        for name in names:
            if len(name) < 2:
                continue
            key = "".join(lazy_pinyin(name)).lower()
            if key.isascii() and key.isalpha() and u not in idx[key]:
                idx[key].append(u)
    return dict(idx)


_NOT_PLACES = {"www", "gov", "cn", "com", "net", "org", "edu", "hk", "tw", "mo", "news", "bbs", "m", "wap", "cms",
               "art", "html", "htm", "shtml", "content", "index", "thread", "article", "china", "local", "xinwen"}


def url_places(url: str | None) -> list[tuple[str, str, list[Unit]]]:
    """(cue, label, candidate units) for each part of a URL that spells a place: the government
    host's place label ('url_gov'), another host label or a path segment ('url_other')."""
    if not url:
        return []
    parts = urlsplit(url if "//" in url else "//" + url)
    host = (parts.hostname or "").lower()
    labels = host.split(".")
    idx = _pinyin_index()
    out = []
    gov = host.endswith(".gov.cn")
    for i, lab in enumerate(labels):
        if lab in _NOT_PLACES or len(lab) < 3 or lab not in idx:
            continue
        place_label = gov and i + 1 < len(labels) and labels[i + 1] == "gov"
        out.append(("url_gov" if place_label else "url_other", lab, idx[lab]))
    for seg in parts.path.split("/"):
        seg = seg.lower()
        if seg in _NOT_PLACES or len(seg) < 4 or not seg.isalpha() or seg not in idx:
            continue
        out.append(("url_other", seg, idx[seg]))
    return out


# ---------------------------------------------------------------- the decision
def _fits_level(u: Unit, levels: Counter) -> float:
    """How well a unit fits the level words the text uses most (全市 for a city, 全县 for a county;
    a county-level city says 全市 too)."""
    total = levels["province"] + levels["city"] + levels["county"]
    if not total:
        return 0.0
    if u.level == "province":
        share = levels["province"]
    elif u.level == "city":
        share = levels["city"]
    elif u.name.endswith("市"):
        share = levels["city"] + levels["county"]
    else:
        share = levels["county"]
    return share / total


def decide_region(text: str, title: str | None, header: str = "", source: dict | None = None,
                  outlet: str | None = None) -> Where:
    """The document's region from every cue, with the evidence that decided it."""
    w = _weights()
    source = source or {}
    evidence: list[Evidence] = []
    support: Counter = Counter()
    title = title or ""
    full = title + "\n" + text
    levels = level_counts(full)

    def add(cue: str, seen: str, unit: Unit, weight: float):
        evidence.append(Evidence(cue, seen, unit.label, weight))
        support[unit] += weight
        for parent in regions._ancestors(unit):
            support[parent] += weight * w["parent_share"]

    # places named in the title and the body
    mentions = regions.find_mentions(full)
    ctx = regions.context_units(mentions)
    url_cands = [u for _, _, units in url_places(source.get("url")) for u in units]
    resolved = regions.resolve(mentions, ctx + url_cands)
    excluded = Counter()
    for k, (m, u) in enumerate(resolved):
        nxt = resolved[k + 1] if k + 1 < len(resolved) else None
        if nxt and nxt[0].start == m.end and regions.is_within(nxt[1], u):
            continue  # 绍兴市柯桥区: the city only qualifies the county
        why = _context_excludes(full, m)
        if why:
            excluded[why] += 1
            if why == "venue":
                # 全省政法工作会议在南昌召开: a meeting of the level the text speaks at is held
                # inside that area, so the venue's own area at that level is weak evidence
                for up in regions._ancestors(u):
                    if _fits_level(up, levels) >= 0.5:
                        add("venue_area", m.name, up, w["venue_area"])
            continue
        in_title = m.start < len(title)
        add("title" if in_title else "body", m.name, u, w["title"] if in_title else w["body"])
    # dateline and header lines (bylines, sources)
    for line in (text.split("\n")[:3] + header.split("\n")):
        for dm in _DATELINE.finditer(line):
            name = dm.group(1) or dm.group(2)
            for m, u in regions.resolve(regions.find_mentions(name or ""), ctx):
                add("dateline", dm.group(0).strip(), u, w["dateline"])
    for m, u in regions.resolve(regions.find_mentions(header), ctx):
        if header[max(0, m.start - 5):m.start].endswith(("发表于", "IP属地", "属地:", "属地：")):
            continue
        add("header", m.name, u, w["header"])
    # the outlet's name
    for name in [n for n in dict.fromkeys((outlet, source.get("outlet"))) if n]:  # in this order, every run
        for m, u in regions.resolve(regions.find_mentions(name), ctx + url_cands):
            add("outlet", name, u, w["outlet"])
    # the page's address
    for cue, lab, units in url_places(source.get("url")):
        named = [u for u in units if support[u] > 0]
        fitting = [u for u in units if _fits_level(u, levels) > 0]
        top = max((_fits_level(u, levels) for u in fitting), default=0)
        pool = named or [u for u in fitting if _fits_level(u, levels) == top] or units
        for u in pool:  # a spelling shared by several places that nothing else settles: split
            add(cue, lab, u, w[cue] / len(pool))
    # national actors and 全国 as scope
    actors_title = national_actors(title)
    actors_body = national_actors(text)
    national = (w["national_title"] * len(actors_title) + w["national_actor"] * min(len(actors_body), 6)
                + w["national_scope"] * min(levels["national"], 12))
    if national:
        evidence.append(Evidence("national", "、".join(sorted(set(actors_title + actors_body)))
                                 or f"全国×{levels['national']}", NATIONAL, national))
    local_words = levels["province"] + levels["city"] + levels["county"]
    reason_bits = [f"level words {dict((k, v) for k, v in levels.items() if v)}"]
    if excluded:
        reason_bits.append(f"not evidence: {dict(excluded)}")
    if not support and not national:
        return Where(None, False, 0.0, evidence, "; ".join(reason_bits + ["no place named, no address"]))

    def score(u: Unit) -> float:
        return support[u] * (1 + w["level_fit"] * _fits_level(u, levels))

    best = max(support, key=lambda u: (score(u), regions.LEVELS.index(u.level))) if support else None
    best_score = score(best) if best else 0.0
    # National when national actors or 全国 speak louder than the local level words and places.
    if national and (levels["national"] + 2 * (len(actors_title) + len(actors_body)) > 2 * local_words) \
            and national >= w["national_min"] and national > best_score * w["national_over_local"]:
        conf = national / (national + best_score)
        return Where(None, True, conf, evidence, "; ".join(reason_bits + ["national actors or 全国 outweigh local cues"]))
    if best is None:
        return Where(None, False, 0.0, evidence, "; ".join(reason_bits + ["national cues too weak, no place named"]))
    others = sorted((score(u) for u in support if u != best and not regions.is_within(best, u)), reverse=True)
    runner = others[0] if others else 0.0
    conf = best_score / (best_score + runner + (national if national else 0)) if best_score else 0.0
    return Where(best, False, conf, evidence, "; ".join(reason_bits + [f"best supported: {best.label}"]))


# ---------------------------------------------------------------- report year
def report_year(text: str, publish: PubDate | None, figure_sentences: list[str], title: str | None = None) -> int | None:
    """The year a document reports on: the year most figures are stated for, with the title's
    year and the other years named in the text as lighter votes; a report with no year of its
    own reports on its publish year (a report delivered in the first quarter, on the year before,
    when its figures say so)."""
    py = publish.year if publish else None
    votes: Counter = Counter()
    for s in figure_sentences:
        for h in find_periods(s, None, py):
            if h.period[1] is not None and not h.weak and h.period[0] == h.period[1]:
                # figures for 今年 in a page published that year: a report on that year so far
                this_year = py is not None and h.period == (py, py) and not re.search(r"\d", s[h.start:h.end])
                votes[h.period[1]] += 1.5 if this_year else 1
    if title and not EVENT_HEADING.search(title):
        for h in find_periods(title, None, py):
            if h.period[1] is not None and not h.weak and h.period[0] == h.period[1]:
                votes[h.period[1]] += 1.5
    year_rx = r"((?:19|20)\d{2})\s*年(?!\s*\d{1,2}\s*月\s*\d{1,2}\s*日|\s*以来)"
    for m in re.finditer(year_rx, text):
        if not _BASELINE_BEFORE.search(text[max(0, m.start() - 3):m.start()]):
            votes[int(m.group(1))] += 0.25
    if votes:
        return votes.most_common(1)[0][0]
    if publish and publish.month and publish.month <= 4 and delivery_date(text):
        return py - 1  # a work report to a congress in its spring session reviews the year before
    return py
