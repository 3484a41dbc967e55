"""Page metadata from the crawl (sources.jsonl): parsing, keys, and how it reaches the warehouse
through a Dagster run; an edited line re-processes its document only."""
from __future__ import annotations

import json
import time

import pandas as pd
import pytest

from zhengfa import ingest
from zhengfa.sources import SOURCES_FILE, normalize_published, parse_sources, read_sources, source_key


def line(**obj) -> str:
    return json.dumps(obj, ensure_ascii=False)


# ---------------------------------------------------------------- parse_sources

def test_valid_lines():
    text = "\n".join([
        line(file="a.txt", url="http://www.jianshui.gov.cn/x/1.html", published="2023-09-22"),
        line(file="sub/b.txt", outlet="会宁县融媒体中心", title="县公安局开展夏季治安整治"),
    ])
    entries, issues = parse_sources(text)
    assert issues == []
    assert entries["a.txt"] == {"url": "http://www.jianshui.gov.cn/x/1.html", "published": "2023-09-22",
                                "outlet": None, "title": None, "line": 1}
    assert entries["sub/b.txt"]["outlet"] == "会宁县融媒体中心"
    assert entries["sub/b.txt"]["title"] == "县公安局开展夏季治安整治"
    assert entries["sub/b.txt"]["line"] == 2


def test_malformed_json_line_is_reported_and_others_kept():
    text = "\n".join([line(file="a.txt", url="http://a"), '{"file": "b.txt", "url": ', line(file="c.txt", url="http://c")])
    entries, issues = parse_sources(text)
    assert set(entries) == {"a.txt", "c.txt"}
    assert entries["c.txt"]["line"] == 3
    assert [(i.line, i.file) for i in issues] == [(2, None)]
    assert issues[0].reason.startswith("not JSON")
    assert '"b.txt"' in issues[0].text


@pytest.mark.parametrize("bad,words", [
    ('["a.txt", "http://a"]', "not a JSON object"),
    ('"a.txt"', "not a JSON object"),
    ("42", "not a JSON object"),
    (line(url="http://a", published="2023"), "no 'file'"),
    (line(file="", url="http://a"), "no 'file'"),
    (line(file=3, url="http://a"), "no 'file'"),
    (line(file="a.txt", published="2023/13/01"), "published"),
    (line(file="a.txt", published="yesterday"), "published"),
    (line(file="a.txt", published="2023-13-01"), "month"),
    (line(file="a.txt", published="2023-02-32"), "day"),
    (line(file="a.txt", url=12), "'url' must be a string"),
    (line(file="../a.txt", url="http://a"), "outside"),
    (line(file="sub/../../a.txt", url="http://a"), "outside"),
])
def test_unusable_line(bad, words):
    text = line(file="ok.txt", url="http://ok") + "\n" + bad + "\n"
    entries, issues = parse_sources(text)
    assert list(entries) == ["ok.txt"]
    assert len(issues) == 1 and issues[0].line == 2
    assert words in issues[0].reason


@pytest.mark.parametrize("value,normal", [
    ("2023", "2023"), ("2021-12", "2021-12"), ("2021-3", "2021-03"), ("2022-9-22", "2022-09-22"),
    ("2024-01-26", "2024-01-26"), (" 2022-9-2 ", "2022-09-02"), ("", None), (None, None),
])
def test_published_forms(value, normal):
    assert normalize_published(value) == normal
    if value is not None:
        entries, issues = parse_sources(line(file="a.txt", published=value))
        assert issues == [] and entries["a.txt"]["published"] == normal


@pytest.mark.parametrize("value", ["2023/13/01", "yesterday", "2023-13", "2023-00-10", "23-01-01", "2023-01-01T08:00"])
def test_bad_published(value):
    with pytest.raises(ValueError):
        normalize_published(value)


def test_path_normalized_and_unknown_keys_ignored():
    entries, issues = parse_sources(line(file="/sub/./b.txt", url="http://b", crawler="x", depth=3, published="2023"))
    assert issues == []
    assert list(entries) == ["sub/b.txt"]
    assert set(entries["sub/b.txt"]) == {"url", "published", "outlet", "title", "line"}


def test_later_line_for_the_same_file_wins():
    text = "\n".join([line(file="a.txt", url="http://first"), line(file="b.txt", url="http://b"),
                      line(file="./a.txt", url="http://second")])
    entries, issues = parse_sources(text)
    assert entries["a.txt"]["url"] == "http://second" and entries["a.txt"]["line"] == 3
    assert [(i.line, i.file) for i in issues] == [(1, "a.txt")]
    assert "superseded by line 3" in issues[0].reason


def test_blank_lines_and_bom(tmp_path):
    text = "\n\n" + line(file="a.txt", url="http://a") + "\n   \n\n" + line(file="b.txt", url="http://b") + "\n"
    entries, issues = parse_sources(text)
    assert issues == [] and entries["a.txt"]["line"] == 3 and entries["b.txt"]["line"] == 6
    (tmp_path / SOURCES_FILE).write_bytes(("\ufeff" + line(file="a.txt", url="http://a") + "\n").encode("utf-8"))
    entries, issues = read_sources(tmp_path)
    assert issues == [] and entries["a.txt"]["url"] == "http://a"


def test_read_sources_missing_and_undecodable(tmp_path):
    assert read_sources(tmp_path) == ({}, [])
    (tmp_path / SOURCES_FILE).write_bytes(b'{"file": "a.txt", "title": "\xff\xfe"}\n')
    entries, issues = read_sources(tmp_path)
    assert entries == {} and len(issues) == 1 and "unreadable" in issues[0].reason


# ---------------------------------------------------------------- source_key

def test_source_key():
    meta = {"url": "http://www.jianshui.gov.cn/x/1.html", "published": "2023-09-22", "outlet": None, "title": None}
    k = source_key(meta)
    assert k and k == source_key(dict(meta)) == source_key({**meta, "line": 7})
    assert source_key({**meta, "url": "http://www.xunwu.gov.cn/x/1.html"}) != k
    assert source_key({**meta, "published": "2022-09-22"}) != k
    assert source_key({**meta, "outlet": "建水县融媒体中心"}) != k
    assert source_key(None) == "" and source_key({}) == ""
    assert source_key({"url": None, "published": None, "outlet": None, "title": None, "line": 3}) == ""


# ---------------------------------------------------------------- through Dagster

PAGE_A = ("县公安局通报今年治安形势\n"
          "今年以来，县公安局紧紧围绕全县中心工作，共破获刑事案件213起，抓获犯罪嫌疑人187人。"
          "我县电信网络诈骗发案数同比下降19.5%。\n")
PAGE_B = ("会宁县司法局2023年人民调解工作总结\n"
          "2023年，会宁县各级人民调解组织共排查矛盾纠纷2417件，调解成功2366件，调解成功率97.9%。\n")
PAGE_C = ("县人民检察院开展检察开放日活动\n"
          "今年，县人民检察院共受理审查逮捕案件96件，受理审查起诉案件143件。\n")

URL_A1 = "http://www.jianshui.gov.cn/xwzx/bmdt/content_1.html"
URL_A2 = "http://www.xunwu.gov.cn/xwzx/bmdt/content_1.html"


def write_sources(raw, a_url, a_published):
    lines = [
        line(file="a.txt", url=a_url, published=a_published),
        '{"file": "c.txt", "url": ',
        line(file="missing.txt", url="http://www.huining.gov.cn/x/2.html", published="2023-01-01"),
        line(file="c.txt", outlet="寻乌县融媒体中心", published="2023-05-04"),
    ]
    (raw / SOURCES_FILE).write_text("\n".join(lines) + "\n", encoding="utf-8")


class Runs:
    """Two runs on one raw folder: the first with sources.jsonl as written, the second after a.txt's
    line changed (url to another county, published a year earlier)."""


def _metrics_of(wh, doc_id):
    from tests.conftest import query

    return query(wh, "SELECT quote, region, period_start, period_end FROM metrics WHERE doc_id = ? "
                     "ORDER BY char_start, quote", [doc_id])


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    from tests.conftest import query, run_job
    from zhengfa.store import StageStore

    tmp = tmp_path_factory.mktemp("sources_e2e")
    r = Runs()
    r.raw, r.wh = raw, wh = tmp / "raw", tmp / "wh"
    raw.mkdir()
    (raw / "a.txt").write_text(PAGE_A, encoding="utf-8")
    (raw / "b.txt").write_text(PAGE_B, encoding="utf-8")
    (raw / "c.txt").write_text(PAGE_C, encoding="utf-8")
    write_sources(raw, URL_A1, "2023-09-22")
    r.result1 = run_job(raw, wh)
    r.docs1 = query(wh, "SELECT * FROM documents ORDER BY source_file").set_index("source_file")
    r.rejected1 = query(wh, "SELECT * FROM rejected_documents")
    r.paths1 = list(query(wh, "SELECT path FROM documents")["path"])
    r.problems1 = query(wh, "SELECT line, file, reason FROM source_problems ORDER BY line")
    r.metrics1 = {k: _metrics_of(wh, r.docs1.loc[k, "doc_id"]) for k in r.docs1.index}
    r.sig1 = ingest.folder_signature(raw)
    r.batches1 = {s: StageStore(wh, s).files() for s in ("documents", "sections", "metrics")}
    time.sleep(0.01)
    write_sources(raw, URL_A2, "2022-09-22")
    r.sig2 = ingest.folder_signature(raw)
    r.result2 = run_job(raw, wh)
    r.batches2 = {s: StageStore(wh, s).files() for s in ("documents", "sections", "metrics")}
    r.docs2 = query(wh, "SELECT * FROM documents ORDER BY source_file").set_index("source_file")
    r.problems2 = query(wh, "SELECT line, file, reason FROM source_problems ORDER BY line")
    r.metrics2 = {k: _metrics_of(wh, r.docs2.loc[k, "doc_id"]) for k in r.docs2.index}
    return r


def _period(df: pd.DataFrame, quote: str):
    return df.loc[df["quote"] == quote, ["period_start", "period_end"]].values.tolist()


@pytest.mark.slow
def test_first_run_stores_page_metadata(runs):
    assert runs.result1.success
    docs = runs.docs1
    assert sorted(docs.index) == ["a.txt", "b.txt", "c.txt"]
    # the metadata file is not an article
    assert not any(SOURCES_FILE in str(v) for v in runs.rejected1.astype(str).values.ravel())
    assert not any(SOURCES_FILE in str(p) for p in runs.paths1)
    a, b, c = docs.loc["a.txt"], docs.loc["b.txt"], docs.loc["c.txt"]
    assert a["url"] == URL_A1 and a["publish_date"] == "2023-09-22" and a["publish_date_from"] == "sources.jsonl"
    assert a["region"] == "红河哈尼族彝族自治州建水县"
    assert json.loads(a["region_evidence"])["cues"][0]["cue"] == "url_gov"
    assert b["region"] == "白银市会宁县" and pd.isna(b["url"])
    assert c["region"] == "赣州市寻乌县" and c["outlet"] == "寻乌县融媒体中心" and c["publish_date"] == "2023-05-04"
    ma = runs.metrics1["a.txt"]
    assert set(ma["region"]) == {"红河哈尼族彝族自治州建水县"}
    assert _period(ma, "213起") == [[2023, 2023]]
    assert len(runs.metrics1["b.txt"]) and len(runs.metrics1["c.txt"])


@pytest.mark.slow
def test_unusable_lines_listed_in_source_problems(runs):
    for probs in (runs.problems1, runs.problems2):
        assert probs["line"].tolist() == [2, 3]
        assert probs.loc[0, "reason"].startswith("not JSON")
        assert probs.loc[1, "file"] == "missing.txt" and "not in the raw folder" in probs.loc[1, "reason"]


@pytest.mark.slow
def test_edited_line_reprocesses_only_its_document(runs):
    assert runs.sig1 != runs.sig2  # the sensor sees the edit
    assert runs.result2.success
    a_id = runs.docs1.loc["a.txt", "doc_id"]
    added = [f for f in runs.batches2["documents"] if f not in runs.batches1["documents"]]
    assert len(added) == 1, added
    batch = pd.read_parquet(added[0])
    assert batch["doc_id"].tolist() == [a_id]
    assert batch["url"].tolist() == [URL_A2] and batch["publish_date"].tolist() == ["2022-09-22"]
    assert batch["region"].tolist() == ["赣州市寻乌县"]
    for stage in ("sections", "metrics"):
        new = [f for f in runs.batches2[stage] if f not in runs.batches1[stage]]
        assert new and all(set(pd.read_parquet(f)["doc_id"]) == {a_id} for f in new), stage
    # the other documents' rows are unchanged
    for key in ("b.txt", "c.txt"):
        for col in ("doc_id", "region", "url", "publish_date", "report_year", "region_evidence", "cleaned_text"):
            assert str(runs.docs2.loc[key, col]) == str(runs.docs1.loc[key, col]), (key, col)
        pd.testing.assert_frame_equal(runs.metrics2[key], runs.metrics1[key])


@pytest.mark.slow
def test_edited_line_changes_region_and_period_in_warehouse(runs):
    a2 = runs.docs2.loc["a.txt"]
    assert a2["url"] == URL_A2 and a2["publish_date"] == "2022-09-22"
    assert a2["region"] == "赣州市寻乌县"
    ma2 = runs.metrics2["a.txt"]
    assert set(ma2["region"]) == {"赣州市寻乌县"}
    assert _period(ma2, "213起") == [[2022, 2022]]


@pytest.mark.slow
def test_stored_keys_are_the_keys_of_each_documents_metadata(runs):
    """The source keys the text stages and the load compare come from the sources table written
    by the raw scan; they are the keys of each document's metadata (and '' without any)."""
    from assets.stages import document_source_keys, document_sources
    from resources import Warehouse

    wh = Warehouse(warehouse_dir=str(runs.wh))
    metas = document_sources(wh)
    assert metas and document_source_keys(wh) == {d: source_key(m) for d, m in metas.items()}
    assert all(document_source_keys(wh).values())  # every page here has a line in sources.jsonl
    one = next(iter(metas))
    assert document_sources(wh, [one]) == {one: metas[one]}
