"""zhengfa.decode.decode on every bad/tricky file from tests/badinput.py."""
from __future__ import annotations

import os
import pathlib

import pytest

from tests import badinput as bi
from zhengfa.decode import Decoded, decode

REASON_PREFIXES = ("empty", "binary", "too large", "encoding", "html", "no Chinese text")

# Every file the corpus writes; the symlink is checked separately (decode never sees it).
DECODED_CASES = [
    bi.GOOD, bi.BOM, bi.GB, bi.BIG5, bi.UTF16, bi.HTML, bi.EMPTY, bi.WHITESPACE, bi.PNG, bi.ZIP,
    bi.PDF, bi.ENGLISH, bi.HTML_NO_ARTICLE, bi.LATIN1, bi.TRUNCATED, bi.NAME_SPACES,
    bi.NAME_QUOTES, bi.NAME_CHINESE, bi.NAME_DASH, bi.NAME_SQL, bi.TOO_LARGE,
]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> tuple[pathlib.Path, dict[str, str]]:
    folder = tmp_path_factory.mktemp("bad") / "corpus"
    return folder, bi.make_bad_corpus(folder)


def _decode_file(folder: pathlib.Path, name: str) -> Decoded:
    return decode((folder / name).read_bytes(), max_bytes=bi.MAX_BYTES)


def test_corpus_lists_every_case_with_a_known_outcome(corpus):
    folder, expected = corpus
    assert set(expected) == set(DECODED_CASES) | {bi.SYMLINK}
    assert {p.name for p in folder.iterdir()} == set(expected)
    for name, outcome in expected.items():
        kind, _, detail = outcome.partition(":")
        assert outcome == "accepted" or (kind == "rejected" and detail in REASON_PREFIXES) \
            or outcome == "skipped:symlink", (name, outcome)


def test_corpus_is_deterministic(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    assert bi.make_bad_corpus(a) == bi.make_bad_corpus(b)
    for name in DECODED_CASES:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


def test_corpus_can_be_rewritten_in_place(tmp_path):
    folder = tmp_path / "corpus"
    assert bi.make_bad_corpus(folder) == bi.make_bad_corpus(folder)


@pytest.mark.parametrize("name", DECODED_CASES)
def test_case_has_expected_outcome(corpus, name):
    folder, expected = corpus
    result = _decode_file(folder, name)
    outcome = expected[name]
    if outcome == "accepted":
        assert result.ok, result.reject_reason
        assert result.reject_reason is None
        assert isinstance(result.text, str) and result.encoding
        assert bi.EXPECTED_TEXT[name] in result.text
        assert "\ufffd" not in result.text and "\x00" not in result.text
        assert not result.text.startswith("\ufeff")
        for forbidden in bi.FORBIDDEN_TEXT.get(name, []):
            assert forbidden not in result.text, forbidden
    else:
        prefix = outcome.removeprefix("rejected:")
        assert not result.ok
        assert result.text is None
        assert result.reject_reason and result.reject_reason.startswith(prefix), result.reject_reason


@pytest.mark.parametrize("name, article, encoding", [
    (bi.GOOD, bi.ARTICLE_UTF8, "utf-8"),
    (bi.BOM, bi.ARTICLE_BOM, "utf-8-sig"),
    (bi.GB, bi.ARTICLE_GB, "gb18030"),
    (bi.BIG5, bi.ARTICLE_BIG5, "big5hkscs"),
    (bi.UTF16, bi.ARTICLE_UTF16, "utf-16"),
])
def test_encodings_round_trip(corpus, name, article, encoding):
    """The decoded text is exactly the article that was encoded (no mojibake, no BOM)."""
    folder, _ = corpus
    result = _decode_file(folder, name)
    assert result.text == article
    assert result.encoding == encoding
    assert result.html is False


def test_big5_keeps_traditional_characters(corpus):
    folder, _ = corpus
    text = _decode_file(folder, bi.BIG5).text
    assert "北嵐市警察局" in text and "偵破" in text and "繳獲" in text


def test_html_page_yields_article_not_furniture(corpus):
    folder, _ = corpus
    result = _decode_file(folder, bi.HTML)
    assert result.html is True
    assert bi.HTML_SENTENCE in result.text
    assert "打掉犯罪团伙12个" in result.text
    assert "群众满意率达到99.1%" in result.text
    assert bi.HTML_NAV not in result.text and bi.HTML_FOOTER not in result.text
    assert "<" not in result.text


def test_truncated_utf8_drops_only_the_cut_character(corpus):
    folder, _ = corpus
    data = (folder / bi.TRUNCATED).read_bytes()
    result = decode(data)
    assert result.encoding == "utf-8+repaired"
    # Everything before the incomplete final character survives unchanged.
    assert result.text == data[:-2].decode("utf-8")
    assert bi.ARTICLE_TRUNC.startswith(result.text)


def _decodes(data: bytes, codec: str) -> bool:
    try:
        data.decode(codec)
        return True
    except UnicodeDecodeError:
        return False


# UTF-8 validates itself, so even a 10-byte prefix must be recognised; GB18030/Big5 detection
# needs some text (charset_normalizer guesses cp949/shift_jis on a few characters).
@pytest.mark.parametrize("article, codec, expected_codec, shortest", [
    (bi.ARTICLE_UTF8, "utf-8", "utf-8", 10),
    (bi.ARTICLE_BOM, "utf-8", "utf-8", 10),
    (bi.ARTICLE_GB, "gb18030", "gb18030", 60),
    (bi.ARTICLE_BIG5, "big5", "big5hkscs", 60),
])
def test_any_cut_through_a_multibyte_character_is_repaired(article, codec, expected_codec, shortest):
    """Cutting the file inside a character keeps everything before it, in the right encoding
    (lenient codecs such as gb18030/cp949 must not turn truncated UTF-8/Big5 into mojibake)."""
    data = article.encode(codec)
    cuts = [i for i in range(shortest, len(data)) if not _decodes(data[:i], codec)]
    assert len(cuts) > 20
    for cut in cuts:
        result = decode(data[:cut])
        assert result.ok, (cut, result.reject_reason)
        assert result.encoding == expected_codec + "+repaired", (cut, result.encoding)
        assert article.startswith(result.text), cut
        assert len(result.text.encode(codec)) >= cut - 3, cut


def test_same_bytes_decode_the_same_under_any_name(corpus):
    folder, _ = corpus
    results = {name: _decode_file(folder, name) for name in
               (bi.NAME_SPACES, bi.NAME_QUOTES, bi.NAME_CHINESE, bi.NAME_DASH, bi.NAME_SQL)}
    assert len({r.text for r in results.values()}) == 1
    assert all(r.ok for r in results.values())


def test_size_limit_only_applies_when_given(corpus):
    folder, _ = corpus
    data = (folder / bi.TOO_LARGE).read_bytes()
    assert len(data) > 3_000_000 > bi.MAX_BYTES
    assert decode(data, max_bytes=bi.MAX_BYTES).reject_reason.startswith("too large")
    assert decode(data).ok


def test_size_limit_boundary():
    data = bi.ARTICLE_UTF8.encode("utf-8")
    assert decode(data, max_bytes=len(data)).ok
    assert decode(data, max_bytes=len(data) - 1).reject_reason.startswith("too large")


def test_empty_reasons_distinguish_no_content_from_whitespace(corpus):
    folder, _ = corpus
    assert _decode_file(folder, bi.EMPTY).reject_reason == "empty: no content"
    assert _decode_file(folder, bi.WHITESPACE).reject_reason == "empty: whitespace only"


@pytest.mark.parametrize("name, kind", [(bi.PNG, "PNG"), (bi.ZIP, "zip"), (bi.PDF, "PDF")])
def test_binary_reason_names_the_format(corpus, name, kind):
    folder, _ = corpus
    assert kind in _decode_file(folder, name).reject_reason


def test_symlink_points_outside_the_folder(corpus):
    folder, expected = corpus
    link = folder / bi.SYMLINK
    assert expected[bi.SYMLINK] == "skipped:symlink"
    assert link.is_symlink()
    target = pathlib.Path(os.readlink(link))
    assert target.is_absolute() and target.exists()
    assert folder.resolve() not in target.resolve().parents
    # The target is a valid article, so an ingester that follows the link would be caught.
    assert decode(target.read_bytes()).ok


def test_decoded_ok_property():
    assert Decoded("文本", "utf-8").ok
    assert not Decoded(None, None, "empty: no content").ok


def test_utf16_without_bom_on_chinese_text():
    text = "全区刑事警情同比下降12.3%，破获电诈案件210起。\n群众安全感达98.6%。\n" * 4
    for codec in ("utf-16-le", "utf-16-be"):
        d = decode(text.encode(codec))
        assert d.ok and d.text == text and d.encoding == codec
