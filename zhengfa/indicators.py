"""What a figure measures, as a code of the indicator taxonomy (resources/data/indicators.csv).

A subject is read as `indicator_rules.tsv` says: quotes and bracketed scopes dropped, leading
words of time, scope and manner removed, and the actor (法院, 检察机关, 最高人民法院, …) taken
off and remembered. The first indicator whose variants match the whole rest, and whose actors
allow the one found, gives the code. A subject that names a narrower thing than any indicator
(春节期间接报警情, 农村地区可防性案件) matches none and keeps no code rather than its parent's.

When the subject names no actor, the sentence may: the last actor named before the figure
(最高人民法院受理案件2.13万件，审结1.87万件 → 审结 is the supreme court's).

A figure without a code still has a series key: its subject read the same way, so the same
rare figure lines up across years (`series_key`).
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import lru_cache

from zhengfa import data_files

TAXONOMY_FILES = ("indicators.csv", "indicator_categories.csv", "indicator_rules.tsv")
ANY_ACTOR = frozenset({"-", "court", "procuratorate", "police", "justice", "mediation", "legal_aid"})
LEVEL_KINDS = ("count", "amount", "rate")


@dataclass(frozen=True)
class Indicator:
    code: str
    category: str
    parent: str
    name_zh: str
    name_en: str
    kinds: tuple[str, ...]
    actors: frozenset
    variants: re.Pattern


@dataclass(frozen=True)
class Reading:
    """A subject as the taxonomy reads it: its actor class ('-' for none) and the rest."""
    actor: str
    key: str


@lru_cache(maxsize=1)
def _rules() -> dict[str, list[tuple[re.Pattern, str]]]:
    out: dict[str, list[tuple[re.Pattern, str]]] = {}
    for line in data_files.read_lines("indicator_rules.tsv"):
        parts = line.split("\t")
        out.setdefault(parts[0], []).append((re.compile(parts[1]), parts[2] if len(parts) > 2 else ""))
    return out


@lru_cache(maxsize=1)
def taxonomy() -> list[Indicator]:
    rows = []
    for r in data_files.read_csv("indicators.csv"):
        actors = frozenset(a for a in (r.get("actors") or "").split("|") if a) or ANY_ACTOR
        rows.append(Indicator(r["code"], r["category"], r.get("parent") or "", r["name_zh"], r["name_en"],
                              tuple(k for k in (r.get("kinds") or "").split("|") if k), actors,
                              re.compile(r["variants"])))
    return rows


@lru_cache(maxsize=1)
def categories() -> list[dict]:
    return list(data_files.read_csv("indicator_categories.csv"))


@lru_cache(maxsize=1)
def version() -> str:
    """Content hash of this module and the taxonomy files: a new version re-maps every figure."""
    h = hashlib.sha256(data_files.fingerprint(list(TAXONOMY_FILES)).encode())
    h.update(open(__file__, "rb").read())
    return h.hexdigest()[:12]


def _strip(s: str, rule: str) -> str:
    for _ in range(6):
        before = s
        for rx, _v in _rules().get(rule, []):
            s = rx.sub("", s, count=1)
        if s == before:
            break
    return s


@lru_cache(maxsize=65536)
def read(subject: str, kind: str = "") -> Reading:
    """The subject's actor and its normalized rest (the matching key)."""
    rules = _rules()
    s = subject or ""
    for rx, _v in rules.get("mark", []):
        s = rx.sub("", s)
    s = re.sub(r"的(?!额)", "", s)  # 在职党员认领…的项目, but 标的额
    actor = "-"
    for _ in range(4):  # scope, time and actor words come in any order: 全省法院五年共受理…
        before = s
        s = _strip(s, "lead")
        for rx, cls in rules.get("actor", []):
            m = rx.match(s)
            if m and m.end() < len(s):
                s = s[m.end():]
                actor = cls if actor == "-" else actor
                break
        if s == before:
            break
    if kind == "rank":
        s = _strip(s, "rank_trail")
    s = _strip(s, "trail") if len(s) > 2 else s
    return Reading(actor, s)


def sentence_actor(sentence: str | None, quote: str | None) -> str:
    """The last actor the sentence names before the figure ('-' when none)."""
    if not sentence:
        return "-"
    end = sentence.find(quote) if quote else -1
    head = sentence[:end] if end >= 0 else sentence
    found = sorted(((m.start(), -m.end(), cls) for rx, cls in _rules().get("context", []) for m in rx.finditer(head)))
    best, covered = "-", -1
    for start, neg_end, cls in found:
        if start < covered:
            continue  # 法院 inside 最高人民法院
        best, covered = cls, -neg_end
    return best


def is_part_year(subject: str | None, sentence: str | None = None, quote: str | None = None) -> bool:
    """Whether the figure covers part of a year (上半年, 1—7月, 春节期间), from its subject or the
    words before it in its sentence (a later 全年 speaks for the whole year again)."""
    rules = _rules()
    if any(rx.search(subject or "") for rx, _ in rules.get("part_year", [])):
        return True
    if not sentence:
        return False
    end = sentence.find(quote) if quote else -1
    head = sentence[:end] if end >= 0 else sentence
    last_part = max((m.end() for rx, _ in rules.get("part_year", []) for m in rx.finditer(head)), default=-1)
    last_full = max((m.end() for rx, _ in rules.get("full_year", []) for m in rx.finditer(head)), default=-1)
    return last_part > last_full


def indicator(subject: str, kind: str, sentence: str | None = None, quote: str | None = None) -> str | None:
    """Canonical indicator code for a subject, or None when the taxonomy has no indicator for it.

    `sentence` and `quote` (optional) let a subject that names no actor take the one its sentence
    names before the figure."""
    if not subject:
        return None
    r = read(subject, kind)
    actor = r.actor
    if actor == "-" and sentence:
        actor = sentence_actor(sentence, quote)
    return _match(r, actor, kind)


@lru_cache(maxsize=65536)
def _match(r: Reading, actor: str, kind: str) -> str | None:
    for ind in taxonomy():
        if ind.kinds and kind in LEVEL_KINDS and kind not in ind.kinds:
            continue
        if ind.kinds == ("rank",) and kind != "rank":
            continue
        if actor not in ind.actors and not (r.actor == "-" and "-" in ind.actors and actor not in
                                            ("supreme_court", "supreme_procuratorate")):
            continue
        if ind.variants.fullmatch(r.key):
            return ind.code
    return None


def map_metric(subject: str, kind: str, sentence: str | None = None, quote: str | None = None) -> dict:
    """What the warehouse stores for a figure: its code, its series key and whether it covers
    only part of a year."""
    return {"indicator": indicator(subject, kind, sentence, quote), "series_key": series_key(subject, kind),
            "part_year": is_part_year(subject, sentence, quote)}


def series_key(subject: str, kind: str = "") -> str:
    """A normalized subject for figures without a code: actor and subject as the taxonomy reads them."""
    r = read(subject or "", kind)
    return r.key if r.actor == "-" else f"{r.actor}:{r.key}"


def taxonomy_rows() -> list[dict]:
    """One row per indicator code (the first row of a code names it), with its category."""
    cats = {c["category"]: c for c in categories()}
    seen, out = set(), []
    for ind in taxonomy():
        if ind.code in seen:
            continue
        seen.add(ind.code)
        cat = cats.get(ind.category, {})
        variants = [i.variants.pattern for i in taxonomy() if i.code == ind.code]
        out.append({"code": ind.code, "category": ind.category, "category_zh": cat.get("name_zh"),
                    "category_en": cat.get("name_en"), "parent": ind.parent or None, "name_zh": ind.name_zh,
                    "name_en": ind.name_en, "kinds": "|".join(ind.kinds), "actors": "|".join(sorted(ind.actors)),
                    "variants": " || ".join(variants)})
    return out
