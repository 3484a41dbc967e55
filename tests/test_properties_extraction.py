"""Property tests: any text or bytes through decoding, cleaning, splitting and extraction."""
import math

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from zhengfa.decode import decode
from zhengfa.pipeline import process_text

PIECES = ["全区", "刑事警情", "同比", "下降", "上升", "分别", "均", "居全市第一", "排名全省第", "约", "余", "近",
          "超", "万", "亿", "元", "件", "人", "个", "起", "%", "个百分点", "、", "，", "。", "；", "“", "”",
          "2023年", "去年", "近三年", "十四五", "厦门市", "思明区", "湖里", "全国", "第", "成", "两", "十二",
          "一千二百", "(", ")", "\n", " ", "较2019年", "案访比", "为", "达", "打掉", "团伙", "0", "1", "9", ".",
          "５", "萬", "國", "首页 > ", "责任编辑：", "相关阅读", "·", "图为"]
article_text = st.lists(st.one_of(st.sampled_from(PIECES), st.integers(0, 99999).map(str),
                                  st.text(max_size=3)), max_size=80).map("".join)


def _check(result, doc_id):
    text = result["document"]["cleaned_text"]
    for s in result["sections"]:
        assert 0 <= s["char_start"] <= s["char_end"] <= len(text)
    for m in result["metrics"]:
        assert m["doc_id"] == doc_id
        assert 0 <= m["char_start"] < m["char_end"] <= len(text)
        assert text[m["char_start"]:m["char_end"]] == m["quote"]
        assert m["quote"] in m["sentence"]
        assert isinstance(m["value"], float) and math.isfinite(m["value"])
        assert m["kind"] in ("count", "amount", "rate", "change", "rank")
        assert m["approx"] in ("exact", "over", "nearly", "about")
        assert m["basis"] in (None, "yoy", "vs_period")
        assert m["section_id"] is None or m["section_id"].startswith(doc_id + ":")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(article_text)
def test_any_article_like_text_extracts_with_provenance(text):
    _check(process_text("doc", text), "doc")


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=300))
def test_any_text_extracts_with_provenance(text):
    _check(process_text("doc", text), "doc")


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=600))
def test_any_bytes_decode_or_are_rejected_then_extract(data):
    d = decode(data)
    if d.ok:
        _check(process_text("doc", d.text), "doc")
    else:
        assert d.reject_reason
