"""Figures in Chinese report prose: Arabic and Chinese numerals, multipliers, approximation words."""
from __future__ import annotations

import math
import re
from functools import lru_cache

import cn2an

from zhengfa import data_files

MULTIPLIERS = {"万亿": 1e12, "千万": 1e7, "百万": 1e6, "亿": 1e8, "万": 1e4, "千": 1e3}
CN_DIGITS = "零〇一二两三四五六七八九十百千万亿"


@lru_cache(maxsize=1)
def units() -> dict[str, tuple[str, str]]:
    """measure word → (canonical unit, class)."""
    return {u: (canon, cls) for u, canon, cls in data_files.read_tsv("units.tsv", 3)}


@lru_cache(maxsize=1)
def approx_words() -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {"before": {}, "after": {}}
    for word, pos, value in data_files.read_tsv("approx.tsv", 3):
        out[pos][word] = value
    return out


@lru_cache(maxsize=1)
def figure_regex() -> re.Pattern:
    unit_alt = "|".join(re.escape(u) for u in sorted(units(), key=len, reverse=True))
    after = "|".join(re.escape(w) for w in sorted(approx_words()["after"], key=len, reverse=True)
                     if w not in ("余", "多"))
    return re.compile(
        r"(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|[一二两三四五六七八九十][零〇一二两三四五六七八九十百千万亿]*)"
        r"(?P<suf1>余|多)?(?P<mult>万亿|千万|百万|万|亿|千)?(?P<suf2>余|多)?"
        rf"(?P<unit>{unit_alt})?(?P<post>{after})?"
    )


@lru_cache(maxsize=16384)
def parse_number(token: str) -> float | None:
    """'1,200' → 1200.0, '5.4' → 5.4, '一千二百' → 1200.0, '两' → 2.0; None if not a number."""
    token = token.strip()
    if not token:
        return None
    if token[0].isdigit():
        try:
            value = float(token.replace(",", ""))
        except ValueError:
            return None
        return value if math.isfinite(value) else None
    try:
        value = float(cn2an.cn2an(token, "smart"))
    except (ValueError, KeyError, TypeError, IndexError):
        return None
    return value if math.isfinite(value) else None


def is_chinese_numeral(token: str) -> bool:
    return bool(token) and not token[0].isdigit()
