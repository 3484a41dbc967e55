"""Property tests: decode never raises on any bytes; clean keeps paragraph offsets exact."""
from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from zhengfa.clean import clean
from zhengfa.decode import Decoded, decode

SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Article-like characters: CJK (BMP and extension A), digits, Chinese and ASCII punctuation,
# full-width forms, assorted whitespace and line breaks.
_ALPHABET = st.one_of(
    st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF),
    st.characters(min_codepoint=0x3400, max_codepoint=0x4DBF),
    st.characters(min_codepoint=0xFF01, max_codepoint=0xFF5E),
    st.sampled_from(list("0123456789%、，。；：！？（）“”《》·—…-.年月日万亿元起名个")),
    st.sampled_from(["\n", "\r", " ", "\t", "\u3000", "\xa0", "\u200b", "\ufeff"]),
    st.characters(codec="utf-8"),
)
article_text = st.text(alphabet=_ALPHABET, max_size=400)

_TAGS = ["<html>", "</html>", "<body>", "<div>", "</div>", "<p>", "</p>", "<br>", "<nav>", "</nav>",
         "<footer>", "<script>", "</script>", "<!DOCTYPE html>", "<article>", "</article>", "<a href='/'>"]
html_like = st.lists(st.one_of(st.sampled_from(_TAGS), article_text), min_size=6, max_size=30).map("".join)

_ENCODINGS = ["utf-8", "utf-8-sig", "gb18030", "utf-16", "utf-16-le", "utf-16-be"]


@st.composite
def encoded_text(draw) -> bytes:
    """Article-like or HTML-like text in a random encoding, possibly cut at a random byte."""
    text = draw(st.one_of(article_text, html_like))
    data = text.encode(draw(st.sampled_from(_ENCODINGS)))
    cut = draw(st.integers(min_value=0, max_value=len(data)))
    return data[:cut] if draw(st.booleans()) else data


magic_prefixed = st.builds(lambda magic, rest: magic + rest,
                           st.sampled_from([b"\x89PNG", b"PK\x03\x04", b"%PDF", b"\xef\xbb\xbf",
                                            b"\xff\xfe", b"\xfe\xff", b""]),
                           st.binary(max_size=2000))


def _check(result: Decoded) -> None:
    assert isinstance(result, Decoded)
    if result.ok:
        assert result.reject_reason is None
        assert isinstance(result.text, str) and result.text.strip()
        assert isinstance(result.encoding, str)
    else:
        assert result.text is None
        assert isinstance(result.reject_reason, str) and result.reject_reason


@SETTINGS
@given(st.one_of(st.binary(max_size=4000), magic_prefixed, encoded_text()),
       st.one_of(st.none(), st.integers(min_value=0, max_value=5000)))
def test_decode_never_raises(data, max_bytes):
    result = decode(data, max_bytes=max_bytes)
    _check(result)
    if max_bytes is not None and len(data) > max_bytes:
        assert result.reject_reason.startswith("too large")


@SETTINGS
@given(st.one_of(article_text, html_like, st.text(max_size=400)))
def test_clean_never_raises_and_offsets_slice_text(text):
    cleaned = clean(text)
    assert isinstance(cleaned.text, str)
    previous_end = -1
    for para in cleaned.paragraphs:
        assert cleaned.text[para.start:para.end] == para.text
        assert para.start > previous_end
        previous_end = para.end


@given(st.one_of(article_text, st.text(max_size=400)))
@SETTINGS
def test_full_width_forms_are_replaced_as_the_translation_table_says(text):
    """The scan that replaces full-width forms, ideographic spaces and zero-width marks does what
    str.translate with the same table does, on any text."""
    from zhengfa import clean as clean_mod

    got = clean_mod._FULLWIDTH_RX.sub(lambda m: clean_mod._FULLWIDTH_CHARS[m.group()], text)
    assert got == text.translate(clean_mod._FULLWIDTH)
    assert clean_mod.normalize("１２３，（注）　「好」\u200b") == "123,(注) “好”"
