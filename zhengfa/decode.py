"""Bytes → text: encoding detection with verification, binary and HTML handling.

Every outcome is either a decoded text or a rejection with a reason; nothing raises.
"""
from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

import charset_normalizer

# Magic numbers of formats that are never articles.
_BINARY_MAGIC = {
    b"\x89PNG": "binary: PNG image",
    b"\xff\xd8\xff": "binary: JPEG image",
    b"GIF8": "binary: GIF image",
    b"PK\x03\x04": "binary: zip archive",
    b"%PDF": "binary: PDF document",
    b"\x1f\x8b": "binary: gzip archive",
    b"\x7fELF": "binary: executable",
    b"Rar!": "binary: rar archive",
    b"7z\xbc\xaf": "binary: 7z archive",
    b"\xd0\xcf\x11\xe0": "binary: MS Office document",
    b"RIFF": "binary: media file",
}
# Encodings we accept after detection, mapped to the codec we decode with.
_SUPERSETS = {"gb2312": "gb18030", "gbk": "gb18030", "cp936": "gb18030", "big5": "big5hkscs",
              "ascii": "utf-8", "utf_8": "utf-8", "utf-8": "utf-8"}
_CJK = re.compile(r"[\u3400-\u9fff]")
_COMMON = set("\n 0123456789%.,，。、；：“”的是在了和有年月日")
_HTML = re.compile(r"<(?:!doctype html|html|body|div|p|article|head|meta|br)\b", re.I)


@dataclass(frozen=True)
class Decoded:
    text: str | None
    encoding: str | None
    reject_reason: str | None = None
    html: bool = False

    @property
    def ok(self) -> bool:
        return self.reject_reason is None


def _reject(reason: str) -> Decoded:
    return Decoded(None, None, reason)


def _looks_binary(data: bytes) -> str | None:
    for magic, reason in _BINARY_MAGIC.items():
        if data.startswith(magic):
            return reason
    head = data[:4096]
    utf16 = head.startswith(codecs.BOM_UTF16_LE) or head.startswith(codecs.BOM_UTF16_BE)
    if b"\x00" in head and not utf16:
        # UTF-16 without BOM has NULs in every other byte (ASCII-heavy text), or decodes to
        # mostly CJK (Chinese-heavy text); anything else with NULs is binary.
        even, odd = head[0::2].count(0), head[1::2].count(0)
        if max(even, odd) < len(head) // 4 and _utf16_cjk(data) is None:
            return "binary: NUL bytes"
        utf16 = True
    if utf16:
        # Every ASCII character in UTF-16 carries a 0x00 byte, so a byte-level control count
        # is meaningless; control characters are checked on the decoded text (_plausible).
        return None
    control = sum(1 for b in head if b < 9 or 13 < b < 32)
    if head and control / len(head) > 0.05:
        return "binary: control bytes"
    return None


def _utf16_cjk(data: bytes) -> tuple[str, str, None] | None:
    """(text, codec, None) when BOM-less bytes decode as UTF-16 to mostly Chinese text."""
    best = None
    for codec in ("utf-16-le", "utf-16-be"):
        text = _try(data[: len(data) - len(data) % 2], codec)
        if not text or not _plausible(text):
            continue
        sample = text[:2000]
        if len(_CJK.findall(sample)) < 0.3 * len(sample):
            continue
        # both byte orders can land in the CJK block; the right one also has newlines, digits
        # and the commonest punctuation and function characters
        score = sum(1 for c in sample if c in _COMMON)
        if best is None or score > best[0]:
            best = (score, text, codec)
    return (best[1], best[2], None) if best and best[0] > 0 else None


def _plausible(text: str) -> bool:
    """A decoded article has CJK text and few replacement or control characters."""
    if not text.strip():
        return True
    bad = text.count("\ufffd") + sum(1 for c in text if ord(c) < 32 and c not in "\r\n\t")
    return bad <= max(2, len(text) // 200)


def _try(data: bytes, codec: str) -> str | None:
    try:
        return data.decode(codec)
    except (UnicodeDecodeError, LookupError):
        return None


def detect_and_decode(data: bytes) -> tuple[str | None, str | None, str | None]:
    """Return (text, encoding, reason-if-failed)."""
    if data.startswith(codecs.BOM_UTF8):
        text = _try(data[3:], "utf-8")
        return (text, "utf-8-sig", None) if text is not None else (None, None, "encoding: invalid UTF-8 after BOM")
    for bom, codec in ((codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be")):
        if data.startswith(bom):
            text = _try(data[2:], codec)
            return (text, "utf-16", None) if text is not None else (None, None, "encoding: invalid UTF-16")
    text = _try(data, "utf-8")
    if text is not None:
        return text, "utf-8", None
    # UTF-16 without BOM: every other byte NUL on ASCII-heavy text, mostly CJK on Chinese text.
    head = data[:2048]
    if b"\x00" in head:
        found = _utf16_cjk(data)
        if found is not None:
            return found
    if head and head[1::2].count(0) > len(head) // 4:
        text = _try(data, "utf-16-le")
        if text is not None:
            return text, "utf-16-le", None
    if head and head[0::2].count(0) > len(head) // 4:
        text = _try(data, "utf-16-be")
        if text is not None:
            return text, "utf-16-be", None
    # UTF-8 validates itself: a few bad sequences (typically a character cut off at the end) in
    # otherwise valid UTF-8 Chinese text mean a damaged UTF-8 file, not another encoding, which
    # a lenient multi-byte codec (gb18030, cp949, ...) would otherwise decode to mojibake.
    text = data.decode("utf-8", errors="replace")
    if text.count("\ufffd") <= 3 and _CJK.search(text):
        return text.replace("\ufffd", ""), "utf-8+repaired", None
    found = _detect_cjk(data)
    if found:
        return found[0], found[1], None
    # A truncated multi-byte tail: drop the cut-off last character. Only the tail is repaired,
    # since gb18030/big5 pair almost any two high bytes, so errors elsewhere (e.g. Latin-1
    # text) would come out as mojibake.
    for cut in (1, 2, 3):
        found = _detect_cjk(data[:-cut])
        if found:
            return found[0], found[1] + "+repaired", None
    return None, None, "encoding: undetectable"


def _detect_cjk(data: bytes) -> tuple[str, str] | None:
    """Strict decode with the detected encoding, then gb18030 and big5hkscs; (text, codec) or None."""
    best = charset_normalizer.from_bytes(data).best()
    candidates = []
    if best is not None and best.encoding:
        candidates.append(best.encoding.lower())
    candidates += ["gb18030", "big5hkscs"]
    for enc in candidates:
        codec = _SUPERSETS.get(enc, enc)
        text = _try(data, codec)
        if text is not None and _plausible(text) and _CJK.search(text):
            return text, codec
    return None


def html_to_text(html: str) -> str | None:
    import trafilatura

    return trafilatura.extract(html, include_comments=False, include_tables=True, favor_recall=True)


def decode(data: bytes, max_bytes: int | None = None) -> Decoded:
    """Decode raw file bytes into article text, or reject with a reason."""
    if max_bytes is not None and len(data) > max_bytes:
        return _reject(f"too large: {len(data)} bytes > limit {max_bytes}")
    if not data.strip():
        return _reject("empty: no content" if not data else "empty: whitespace only")
    reason = _looks_binary(data)
    if reason:
        return _reject(reason)
    text, encoding, reason = detect_and_decode(data)
    if text is None:
        return _reject(reason or "encoding: undetectable")
    text = text.lstrip("\ufeff")
    if not _plausible(text):
        return _reject(f"encoding: {encoding} decode produced garbage")
    is_html = bool(_HTML.search(text[:5000])) and text.count("<") > 5
    if is_html:
        extracted = html_to_text(text)
        if not extracted or not extracted.strip():
            return _reject("html: no article text found")
        text = extracted
    if not text.strip():
        return _reject("empty: whitespace only")
    if not _CJK.search(text):
        return _reject("no Chinese text")
    return Decoded(text, encoding, None, is_html)


def decode_or_reject(data: bytes, max_bytes: int | None = None) -> Decoded:
    """decode(), with an error inside the decoder turned into this file's rejection: one bad file
    never stops a scan, whether it is decoded here or on a worker."""
    try:
        return decode(data, max_bytes)
    except Exception as e:  # noqa: BLE001
        return _reject(f"decoder error: {type(e).__name__}: {e}"[:500])
