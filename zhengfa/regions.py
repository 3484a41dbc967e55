"""Place names → administrative units, from the division gazetteer shipped with jionlp.

The gazetteer (province / prefecture / county / town, with adcodes and short names) is read
from the package's data file; nothing here is a hand-typed list of places except the
stop-phrases in resources/data/place_stopwords.txt (words that contain a place alias but
name no place, like 长治久安).
"""
from __future__ import annotations

import importlib.util
import re
import zipfile
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

from zhengfa import data_files

NATIONAL = "全国"
LEVELS = ("province", "city", "county")
_TOWN_SUFFIXES = ("街道办事处", "街道", "地区办事处", "镇", "乡", "苏木")
_COUNTY_SUFFIXES = ("自治县", "自治旗", "新区", "林区", "特区", "区", "县", "市", "旗")


class Unit(NamedTuple):
    """A unit of the gazetteer. A named tuple: units are hashed and compared wherever evidence is
    weighed, and a tuple does both in C."""
    level: str  # province | city | county
    name: str
    adcode: str
    province: str
    city: str | None = None

    @property
    def label(self) -> str:
        """The schema's form: 广东省, 随州市, 厦门市同安区 (municipal districts: 北京市朝阳区)."""
        if self.level == "province":
            return self.name
        if self.level == "city":
            return self.name
        return f"{self.city}{self.name}" if self.city else self.name

    @property
    def parent_key(self) -> str | None:
        if self.level == "county":
            return self.city
        if self.level == "city":
            return self.province if self.province != self.name else None
        return None


@dataclass
class Gazetteer:
    units: list[Unit]
    by_name: dict[str, list[Unit]]  # full names and short aliases
    full_names: set[str]
    towns: dict[str, list[tuple[str, Unit]]]  # town name or short name → (full town name, county)
    stop_phrases: list[str]
    max_len: int
    lengths_by_first: dict[str, tuple[int, ...]] = None  # first two chars → name lengths, longest first
    town_lengths_by_first: dict[str, tuple[int, ...]] = None
    children_of: dict = field(default_factory=dict)

    def children(self, unit: Unit) -> list[Unit]:
        """Prefectures of a province, counties of a prefecture."""
        if not self.children_of:
            for u in self.units:
                if u.level == "city":
                    self.children_of.setdefault(("province", u.province), []).append(u)
                elif u.level == "county":
                    self.children_of.setdefault(("city", u.city), []).append(u)
        return self.children_of.get((unit.level, unit.name), [])


def _location_file() -> Path:
    spec = importlib.util.find_spec("jionlp")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the jionlp package (division gazetteer) is not installed")
    return Path(list(spec.submodule_search_locations)[0]) / "dictionary" / "china_location.zip"


def _short(name: str, suffixes) -> str:
    for s in suffixes:
        if name.endswith(s) and len(name) - len(s) >= 2:
            return name[: -len(s)]
    return name


@lru_cache(maxsize=1)
def gazetteer() -> Gazetteer:
    with zipfile.ZipFile(_location_file()) as z:
        lines = z.read("china_location.txt").decode("utf-8").splitlines()
    units: list[Unit] = []
    by_name: dict[str, list[Unit]] = defaultdict(list)
    full: set[str] = set()
    towns: dict[str, list[tuple[str, Unit]]] = defaultdict(list)
    prov = city = county = None
    for line in lines:
        depth = len(line) - len(line.lstrip("\t"))
        if depth >= 4:
            continue
        parts = line.strip().split("\t") + ["", ""]
        name = parts[0]
        if not name:
            continue
        if depth == 0:
            prov = Unit("province", name, parts[1], name)
            units.append(prov)
            by_name[name].append(prov)
            full.add(name)
            if parts[2] and parts[2] != name:
                by_name[parts[2]].append(prov)
        elif depth == 1:
            city = Unit("city", name, parts[1], prov.name, name)
            if name != prov.name:  # municipalities repeat themselves as their own city
                units.append(city)
                by_name[name].append(city)
                full.add(name)
                if parts[2] and parts[2] != name:
                    by_name[parts[2]].append(city)
        elif depth == 2:
            county = Unit("county", name, parts[1], prov.name, city.name)
            units.append(county)
            by_name[name].append(county)
            full.add(name)
            alias = parts[2] or _short(name, _COUNTY_SUFFIXES)
            if alias != name and len(alias) >= 2:
                by_name[alias].append(county)
        elif depth == 3 and county is not None:
            towns[name].append((name, county))
            alias = _short(name, _TOWN_SUFFIXES)
            if alias != name and len(alias) >= 2:
                towns[alias].append((name, county))
    stop = data_files.read_lines("place_stopwords.txt")
    max_len = max(len(n) for n in list(by_name) + list(towns))

    return Gazetteer(units, dict(by_name), full, dict(towns), stop, max_len, _first_index(by_name),
                     _first_index(towns))


def _first_index(names) -> dict[str, tuple[int, ...]]:
    """Name lengths by a name's first two characters, longest first: a scan looks up one pair
    per position and tries only lengths that some name opening with that pair has (every name
    has two or more characters)."""
    idx: dict[str, set[int]] = defaultdict(set)
    for n in names:
        if len(n) >= 2:
            idx[n[:2]].add(len(n))
    return {k: tuple(sorted(v, reverse=True)) for k, v in idx.items()}


class Mention(NamedTuple):
    """A place name found in a text: its span, the name, the units it may be, whether it is a full name."""
    start: int
    end: int
    name: str
    units: tuple[Unit, ...]
    full: bool


@lru_cache(maxsize=1)
def _stop_index() -> dict[str, tuple[tuple[str, int], ...]]:
    """Character → (stop phrase, offset of the character in it) for every character of a stop phrase."""
    out: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for phrase in gazetteer().stop_phrases:
        for k, ch in enumerate(phrase):
            out[ch].append((phrase, k))
    return {ch: tuple(v) for ch, v in out.items()}


def in_stop_phrase(text: str, i: int) -> bool:
    """Position i lies inside a stop phrase (长治久安): an alias starting there names no place.
    Only the phrases holding text[i] are tried, each where it would have to start."""
    for phrase, k in _stop_index().get(text[i], ()):
        if k <= i and text.startswith(phrase, i - k):
            return True
    return False


def _pair_table(index: dict[str, tuple[int, ...]]):
    """The index's two-character keys for a vectorized scan of long texts: which characters can
    come first and second (a mask over the Basic Multilingual Plane), and the pairs as sorted
    integers."""
    import numpy as np

    first = np.zeros(0x10000, dtype=bool)
    second = np.zeros(0x10000, dtype=bool)
    for k in index:
        first[min(ord(k[0]), 0xFFFF)] = True
        second[min(ord(k[1]), 0xFFFF)] = True
    pairs = np.array(sorted((ord(k[0]) << 21) | ord(k[1]) for k in index), dtype=np.uint64)
    return first, second, pairs


@lru_cache(maxsize=1)
def _name_scan():
    g = gazetteer()
    return g.lengths_by_first, _pair_table(g.lengths_by_first)


def _starts(text: str, index: dict[str, tuple[int, ...]], table) -> list[int]:
    """Positions where some name of `index` may start: its first two characters are a key.
    Long texts are scanned with numpy (every position at once), short ones in Python."""
    if not index:
        return []
    if len(text) < 256:
        return [i for i in range(len(text) - 1) if text[i:i + 2] in index]
    import numpy as np

    first, second, pairs = table
    cp = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype="<u4")
    bmp = np.minimum(cp, 0xFFFF)  # a character beyond it maps to 0xFFFF: a candidate at most
    at = np.flatnonzero(first[bmp[:-1]] & second[bmp[1:]])
    keys = (cp[at].astype(np.uint64) << np.uint64(21)) | cp[at + 1].astype(np.uint64)
    pos = np.searchsorted(pairs, keys)
    pos[pos == len(pairs)] = 0
    return at[pairs[pos] == keys].tolist()


def find_mentions(text: str) -> list[Mention]:
    """Longest-match scan for province, prefecture and county names (full and short)."""
    return list(_mentions(text))


@lru_cache(maxsize=1)
def _name_chars() -> frozenset[str]:
    """Every character some place name or stop phrase contains."""
    g = gazetteer()
    return frozenset("".join(g.by_name)) | frozenset("".join(g.stop_phrases))


def _clean_cut(text: str, i: int, chars: frozenset[str]) -> bool:
    """No place name or stop phrase can span position i: one of the two characters around it
    occurs in none."""
    return i <= 0 or i >= len(text) or text[i - 1] not in chars or text[i] not in chars


def mentions_in(text: str, start: int, end: int) -> list[Mention]:
    """find_mentions(text[start:end]), positions relative to `start`. When no name or stop phrase
    can span either cut (a line break, a comma, a digit), the slice holds exactly the mentions
    of the whole text that lie inside it: they are read off the whole text's memoized scan, so
    the clauses and sections of one text cost one scan."""
    chars = _name_chars()
    if not (_clean_cut(text, start, chars) and _clean_cut(text, end, chars)):
        return find_mentions(text[start:end])
    return [m if start == 0 else Mention(m.start - start, m.end - start, m.name, m.units, m.full)
            for m in _mentions(text) if start <= m.start and m.end <= end]


@lru_cache(maxsize=8192)
def _mentions(text: str) -> tuple[Mention, ...]:
    # the same clause is scanned many times while a document's figures are placed: memoized
    g = gazetteer()
    lengths_at, table = _name_scan()
    by_name, full_names = g.by_name, g.full_names
    out: list[Mention] = []
    n, end = len(text), 0
    for i in _starts(text, lengths_at, table):
        if i < end:
            continue  # inside the last name found
        for length in lengths_at[text[i:i + 2]]:
            if i + length > n:
                continue
            cand = text[i:i + length]
            units = by_name.get(cand)
            if units:
                full = cand in full_names
                if not full and in_stop_phrase(text, i):
                    continue  # an alias inside 长治久安 / 长安网 names no place
                out.append(Mention(i, i + length, cand, tuple(units), full))
                end = i + length
                break
    return tuple(out)


@lru_cache(maxsize=1)
def _towns_by_county() -> dict[str, list[str]]:
    """County label → the town names (full and short) with an entry in that county."""
    out: dict[str, list[str]] = defaultdict(list)
    for name, entries in gazetteer().towns.items():
        for label in {c.label for _, c in entries}:
            out[label].append(name)
    return dict(out)


@lru_cache(maxsize=64)
def _area_towns(counties: frozenset[str]):
    by_county = _towns_by_county()
    index = _first_index({n for c in counties for n in by_county.get(c, ())})
    return index, _pair_table(index)


@lru_cache(maxsize=1)
def _full_town_names() -> frozenset[str]:
    """Town names that are some town's full name (not only a short form)."""
    return frozenset(name for name, entries in gazetteer().towns.items() if any(full == name for full, _ in entries))


_TOWN_CONTEXT_AFTER = re.compile(r"(派出所|片区|社区|街区|一带|周边|辖区|地区|区域|、|和|等地|等街道|等镇|司法所|法庭|中队|警务站|综治中心)")


def find_towns(text: str, counties: set[str]) -> list[tuple[int, Unit]]:
    """Town/street mentions whose county is among `counties` (labels); ambiguous short names
    are only trusted inside the given area."""
    g = gazetteer()
    # only towns with a county in the area can be found: the scan looks for those alone
    lengths_at, table = _area_towns(frozenset(counties))
    towns, full_towns = g.towns, _full_town_names()
    out = []
    n, end = len(text), 0
    for i in _starts(text, lengths_at, table):
        if i < end:
            continue  # inside the last town found
        if in_stop_phrase(text, i):
            continue
        for length in lengths_at[text[i:i + 2]]:
            if i + length > n:
                continue
            name = text[i:i + length]
            entries = towns.get(name)
            if entries and name not in full_towns:
                # a short town name (莲前, 荷花池) counts only where the text treats it as a place
                after, before = text[i + length:i + length + 3], text[max(0, i - 1):i]
                if not (_TOWN_CONTEXT_AFTER.match(after) or before in ("、", "在", "于", "到")):
                    entries = None
            if entries:
                inside = {c.label: c for _, c in entries if c.label in counties}
                if len(inside) == 1:
                    out.append((i, next(iter(inside.values()))))
                    end = i + length
                    break
    return out


def _line_cut(text: str, i: int) -> bool:
    """Position i is an end of the text or next to a line break."""
    return i <= 0 or i >= len(text) or text[i - 1] == "\n" or text[i] == "\n"


def towns_within(text: str, counties: set[str], spans: list[tuple[int, int]]) -> list[list[tuple[int, Unit]]]:
    """find_towns(text[a:b], counties) for each (a, b) of `spans`, positions relative to a. Where
    both cuts are at line breaks (no town name, stop phrase or the words around a short name
    that make it a place, 在莲前 / 莲前片区, reach across one), a slice holds exactly the whole
    text's towns inside it, so one scan of the whole text serves every such slice."""
    whole = None
    out = []
    for a, b in spans:
        if not (_line_cut(text, a) and _line_cut(text, b)):
            out.append(find_towns(text[a:b], counties))
            continue
        if whole is None:
            whole = find_towns(text, counties)
        out.append([(i - a, u) for i, u in whole if a <= i < b])
    return out


@lru_cache(maxsize=1)
def units_by_label() -> dict[str, Unit]:
    return {u.label: u for u in gazetteer().units}


def is_within(child: Unit, parent: Unit) -> bool:
    if parent.level == "province":
        return child.province == parent.name and child != parent
    if parent.level == "city":
        return child.level == "county" and child.city == parent.name
    return False


def siblings_or_below(candidate: Unit, anchor: Unit) -> bool:
    """Whether a mention may override the anchor region: a sub-area of it, or a sibling."""
    if is_within(candidate, anchor):
        return True
    if candidate.level == anchor.level == "county":
        return candidate.city == anchor.city
    if candidate.level == anchor.level == "city":
        return candidate.province == anchor.province
    if candidate.level == anchor.level == "province":
        return True
    if anchor.level == "county" and candidate.level == "county":
        return candidate.city == anchor.city
    return False


def resolve(mentions: list[Mention], context: list[Unit] | None = None) -> list[tuple[Mention, Unit]]:
    """Pick one unit per mention: prefer candidates inside the context units; short aliases
    of counties need their city or province in context."""
    context = context or []
    ctx_names = {(u.level, u.name) for u in context}
    # a municipality (北京市) is the city of its districts too
    ctx_cities = {u.city for u in context if u.level in ("city", "county")} | {u.name for u in context if u.level == "province"}
    ctx_provs = {u.province for u in context}
    out = []
    for m in mentions:
        best, best_score = None, -1
        for u in m.units:
            score = 0
            if (u.level, u.name) in ctx_names:
                score += 4
            if u.level == "county" and u.city in ctx_cities:
                score += 3
            if u.province in ctx_provs:
                score += 1
            if u.level == "county" and (not m.full or len(m.name) <= 2) and u.city not in ctx_cities:
                continue  # a bare county alias (or 城区, 郊区) far from the story's area names nothing
            if u.level != "county" and not m.full and len(m.name) < 2:
                continue
            # A prefecture beats a same-named county when nothing else decides.
            score += {"province": 0.3, "city": 0.2, "county": 0.0}[u.level]
            if score > best_score:
                best, best_score = u, score
        if best is not None:
            out.append((m, best))
    return out


def context_units(mentions: list[Mention]) -> list[Unit]:
    """The units named without ambiguity (杭州市, not 西湖区, which two cities have): the context
    that settles the ambiguous names. A first guess at an ambiguous name must not vote for itself."""
    guesses = resolve(mentions, [])
    ctx = [u for m, u in guesses if len(m.units) == 1]
    return ctx or [u for _, u in guesses]  # nothing unambiguous: the best guesses


def document_region(text: str, title: str | None = None, header: str = "") -> tuple[Unit | None, Counter]:
    """The area a document reports on: the best-supported unit, weighing name mentions and
    scope words (全省 / 全市 / 全区 / 全国). `header` (bylines, source lines removed from the
    text) counts as weak evidence. Returns (unit, scores); unit None means national when
    national words dominate (see `is_national`), else that no area is named."""
    body = (title or "") + "\n" + text + ("\n" + header if header else "")
    header_start = len(body) - len(header) if header else len(body) + 1
    mentions = find_mentions(body)
    ctx = context_units(mentions)
    resolved = resolve(mentions, ctx)
    scores: Counter = Counter()
    from_header: Counter = Counter()
    for k, (m, u) in enumerate(resolved):
        nxt = resolved[k + 1] if k + 1 < len(resolved) else None
        if nxt and nxt[0].start == m.end and is_within(nxt[1], u):
            continue  # 绍兴市柯桥区: the city only qualifies the county
        if m.start >= header_start:
            if body[max(0, m.start - 3):m.start].endswith(("发表于", "IP属地", "属地:")):
                continue  # where an account posted from, not what it reports on
            from_header[u] += 0.5
            continue
        scores[u] += 2.0 if title and m.start < len(title) else 1.0
    scope = {
        "province": body.count("全省"),
        "city": body.count("全市") + body.count("我市"),
        "county": body.count("全区") + body.count("全县") + body.count("我区") + body.count("我县"),
        "national": body.count("全国") - body.count("全国首") - body.count("全国第"),
    }
    if not scores and not from_header:
        return None, scores
    # Support for a unit counts its own mentions and those of the areas below it; header lines
    # (bylines, source) count for the unit named only.
    support: Counter = Counter()
    for u, s in scores.items():
        support[u] += s
        for parent in _ancestors(u):
            support[parent] += s * 0.5
    for u, s in from_header.items():
        support[u] += s
    # ties go to the more specific area: a city report names its province in passing
    best = max(support, key=lambda u: (support[u] + 0.6 * scope.get(u.level, 0), LEVELS.index(u.level)))
    national_words = scope["national"]
    if national_words >= 3 and national_words > 2 * max(scope["province"], scope["city"], scope["county"]) \
            and support[best] < national_words:
        return None, scores
    return best, scores


def is_national(text: str) -> bool:
    """Whether a text speaks of the whole country (全国 as scope, 公安部 / 最高法 / 最高检 as source)."""
    words = text.count("全国") - text.count("全国首") - text.count("全国第") - text.count("全国表彰")
    words += sum(text.count(w) for w in ("公安部", "最高人民法院", "最高人民检察院", "最高法", "最高检", "司法部"))
    return words >= 2


def _ancestors(u: Unit) -> list[Unit]:
    idx = _index()
    out = []
    if u.level == "county" and u.city and ("city", u.city) in idx:
        out.append(idx[("city", u.city)])
    if u.level in ("county", "city") and ("province", u.province) in idx:
        out.append(idx[("province", u.province)])
    return out


@lru_cache(maxsize=1)
def _index() -> dict[tuple[str, str], Unit]:
    out = {}
    for u in gazetteer().units:
        out.setdefault((u.level, u.name), u)
    return out


def parent_of(u: Unit) -> Unit | None:
    anc = _ancestors(u)
    return anc[0] if anc else None
