"""Where and when a page reports on: region cues (address, outlet, furniture, dateline, national
actors, venue / example / comparison) and period phrases, on short pages written for these tests
(places real, figures invented)."""
from __future__ import annotations

import json

import pytest

from zhengfa import regions, where_when
from zhengfa.pipeline import process_text
from zhengfa.where_when import PubDate, decide_region

XUNWU = "赣州市寻乌县"
JIANSHUI = "红河哈尼族彝族自治州建水县"
HUINING = "白银市会宁县"
GANZHOU_CITY = "赣州市"
GANZHOU_DISTRICT = "张掖市甘州区"


def doc_of(text: str, source: dict | None = None) -> dict:
    return process_text("t", text, source)["document"]


def metrics_of(text: str, source: dict | None = None) -> list[dict]:
    return process_text("t", text, source)["metrics"]


def one(rows: list[dict], quote: str) -> dict:
    found = [r for r in rows if r["quote"] == quote]
    assert found, f"{quote!r} not extracted from {[r['quote'] for r in rows]}"
    return found[0]


def period(row: dict):
    return (row["period_start"], row["period_end"])


def test_gazetteer_labels_used_here_exist():
    labels = regions.units_by_label()
    for label in (XUNWU, JIANSHUI, HUINING, GANZHOU_CITY, GANZHOU_DISTRICT, "景德镇市", "天水市", "江西省",
                  "云南省", "抚州市东乡区", "抚州市临川区"):
        assert label in labels, label


# ---------------------------------------------------------------- the page's address

COUNTY_PAGE = ("县公安局2023年工作总结\n"
               "2023年，县公安局紧紧围绕全县中心工作，全力维护社会稳定。全年共破获刑事案件312起，抓获犯罪嫌疑人405人。"
               "我县电信网络诈骗发案数同比下降21.5%。\n")
CITY_PAGE = ("市公安局2022年工作情况\n"
             "2022年，全市公安机关共破获刑事案件2160起，抓获犯罪嫌疑人1894人。全市八类严重暴力案件发案数下降12.3%。\n")
DISTRICT_PAGE = ("区公安分局2022年工作情况\n"
                 "2022年，全区公安机关共破获刑事案件760起，抓获犯罪嫌疑人531人。全区八类严重暴力案件发案数下降9.3%。"
                 "我区群众安全感达98.2%。\n")


def test_page_naming_no_place_has_no_region_without_address():
    doc = doc_of(COUNTY_PAGE)
    assert doc["region"] == ""
    assert all(m["region"] == "" for m in metrics_of(COUNTY_PAGE))


@pytest.mark.parametrize("url,label", [
    ("http://www.xunwu.gov.cn/xwzx/bmdt/content_1.html", XUNWU),
    ("http://www.jianshui.gov.cn/xwzx/bmdt/content_1.html", JIANSHUI),
    ("https://www.huining.gov.cn/art/2024/1/3/art_1.html", HUINING),
])
def test_county_government_host_gives_the_county(url, label):
    r = process_text("t", COUNTY_PAGE, {"url": url})
    assert r["document"]["region"] == label
    assert r["metrics"] and all(m["region"] == label for m in r["metrics"])
    ev = json.loads(r["document"]["region_evidence"])
    assert ev["cues"][0]["cue"] == "url_gov"


def test_city_police_host_with_city_words_gives_the_city():
    r = process_text("t", CITY_PAGE, {"url": "http://gaj.tianshui.gov.cn/info/1021/5533.htm"})
    assert r["document"]["region"] == "天水市"
    assert {m["region"] for m in r["metrics"]} == {"天水市"}


def test_shared_pinyin_is_settled_by_level_words():
    # ganzhou spells both 赣州市 (a city) and 甘州区 (a district of 张掖市)
    units = {u.label: u.level for u in where_when._pinyin_index()["ganzhou"]}
    assert units.get(GANZHOU_CITY) == "city" and units.get(GANZHOU_DISTRICT) == "county"
    url = "http://gaj.ganzhou.gov.cn/info/1021/5533.htm"
    assert doc_of(CITY_PAGE, {"url": url})["region"] == GANZHOU_CITY
    assert doc_of(DISTRICT_PAGE, {"url": url})["region"] == GANZHOU_DISTRICT


def test_url_places_kinds():
    assert [(c, lab) for c, lab, _ in where_when.url_places("http://gaj.tianshui.gov.cn/a/1.htm")] == \
        [("url_gov", "tianshui")]
    got = where_when.url_places("http://news.example.com/xianyu/xunwu/20230304/1.html")
    assert [(c, lab) for c, lab, _ in got] == [("url_other", "xunwu")]
    assert where_when.url_places(None) == [] and where_when.url_places("") == []
    # host labels that are not places
    assert where_when.url_places("http://www.gov.cn/xinwen/index.htm") == []


def test_non_government_path_segment_is_weaker_than_government_host():
    other = decide_region(COUNTY_PAGE, None, source={"url": "http://news.example.com/xianyu/xunwu/1.html"})
    gov = decide_region(COUNTY_PAGE, None, source={"url": "http://www.xunwu.gov.cn/xwzx/1.html"})
    assert other.label == gov.label == XUNWU
    w_other = max(e.weight for e in other.evidence if e.cue == "url_other")
    w_gov = max(e.weight for e in gov.evidence if e.cue == "url_gov")
    assert w_other < w_gov
    # a title naming another county beats a path segment but not a government host
    title = "会宁县公安局2023年工作总结"
    text = COUNTY_PAGE.split("\n", 1)[1]
    assert decide_region(text, title, source={"url": "http://news.example.com/xianyu/xunwu/1.html"}).label == HUINING
    assert decide_region(text, title, source={"url": "http://www.xunwu.gov.cn/xwzx/1.html"}).label == XUNWU


def test_ambiguous_pinyin_between_two_counties_is_not_certain():
    where = decide_region(COUNTY_PAGE, None, source={"url": "http://www.wuyuan.gov.cn/xwzx/1.html"})
    sure = decide_region(COUNTY_PAGE, None, source={"url": "http://www.xunwu.gov.cn/xwzx/1.html"})
    assert where.confidence < sure.confidence


# ---------------------------------------------------------------- outlet

def test_outlet_in_page_header_names_the_county():
    page = ("县公安局开展夏季治安整治\n发布时间：2023-08-10 来源：会宁县融媒体中心\n"
            "今年以来，县公安局共查处治安案件218起，全县刑事案件发案数同比下降17.2%。\n")
    r = process_text("t", page)
    assert r["document"]["region"] == HUINING
    assert r["document"]["outlet"] == "会宁县融媒体中心"
    assert {m["region"] for m in r["metrics"]} == {HUINING}
    assert "outlet" in {c["cue"] for c in json.loads(r["document"]["region_evidence"])["cues"]}


def test_outlet_from_metadata_names_the_county():
    page = "县公安局开展夏季治安整治\n今年以来，县公安局共查处治安案件218起，全县刑事案件发案数同比下降17.2%。\n"
    assert doc_of(page)["region"] == ""
    r = process_text("t", page, {"outlet": "建水县融媒体中心", "published": "2023-08-10"})
    assert r["document"]["region"] == JIANSHUI
    assert {m["region"] for m in r["metrics"]} == {JIANSHUI}
    assert period(one(r["metrics"], "218起")) == (2023, 2023)


# ---------------------------------------------------------------- page furniture

NATIONAL_ON_COUNTY_SITE = """公安部召开新闻发布会通报2023年全国公安机关打击犯罪成效
发布时间：2024-01-12 10:00 来源：寻乌县人民政府
2023年，全国公安机关共破获电信网络诈骗案件43.7万起，抓获犯罪嫌疑人79.2万名。公安部有关负责人介绍，全国刑事案件立案数同比下降4.6%。
相关链接
会昌县开展反诈宣传进万家活动
安远县召开平安建设推进会
定南县公安局破获一起盗窃案
版权所有：寻乌县人民政府办公室 主办单位：寻乌县人民政府
赣ICP备05001234号 地址：江西省赣州市寻乌县长宁镇府前路1号
联系电话：0797-2831234
"""


def test_national_report_on_county_site_with_county_footer_is_national():
    r = process_text("t", NATIONAL_ON_COUNTY_SITE, {"url": "http://www.xunwu.gov.cn/xwzx/gnyw/content_9.html"})
    doc = r["document"]
    assert doc["region"] == regions.NATIONAL
    for word in ("会昌县", "安远县", "定南县", "ICP", "长宁镇", "0797"):
        assert word not in doc["cleaned_text"], word
    assert r["metrics"] and {m["region"] for m in r["metrics"]} == {regions.NATIONAL}
    seen = {c["seen"] for c in json.loads(doc["region_evidence"])["cues"]}
    assert not seen & {"会昌县", "安远县", "定南县", "长宁镇"}


PROVINCIAL_PAPER = """甘肃日报 甘肃省委机关报 每日甘肃网
首页 | 甘肃要闻 | 甘肃政务 | 甘肃经济 | 甘肃社会 | 甘肃视频
当前位置：首页 > 甘肃要闻 > 市县新闻
平安建设再上新台阶
2023年，会宁县共调处矛盾纠纷1436件，调处成功率98.6%。县公安局全年破获刑事案件287起，全县群众安全感达97.9%。
版权所有：甘肃日报报业集团有限责任公司 甘ICP备09001234号
地址：甘肃省兰州市城关区某路1号 电话：0931-8151234
"""


def test_county_report_on_provincial_paper_site_is_the_county():
    r = process_text("t", PROVINCIAL_PAPER)
    doc = r["document"]
    assert doc["region"] == HUINING
    assert "甘肃要闻" not in doc["cleaned_text"] and "报业集团" not in doc["cleaned_text"]
    assert r["metrics"] and {m["region"] for m in r["metrics"]} == {HUINING}


# ---------------------------------------------------------------- dateline

def test_dateline_city():
    page = ("平安建设取得新进展\n本报景德镇3月5日电（记者 张三）今年1至2月，全市公安机关共破获刑事案件356起，"
            "抓获犯罪嫌疑人298人，刑事案件发案数同比下降11.4%。\n")
    r = process_text("t", page)
    assert r["document"]["region"] == "景德镇市"
    assert {m["region"] for m in r["metrics"]} == {"景德镇市"}
    cues = {c["cue"] for c in json.loads(r["document"]["region_evidence"])["cues"]}
    assert "dateline" in cues


# ---------------------------------------------------------------- national actors

@pytest.mark.parametrize("title", ["最高人民检察院工作报告摘要", "最高人民法院工作报告要点",
                                   "国新办举行新闻发布会介绍平安中国建设成效", "中央政法工作会议部署2024年重点工作"])
def test_national_actor_in_title_is_national(title):
    page = f"{title}\n2023年，共批准逮捕各类犯罪嫌疑人72.6万人，起诉168.8万人。\n"
    r = process_text("t", page)
    assert r["document"]["region"] == regions.NATIONAL
    assert {m["region"] for m in r["metrics"]} == {regions.NATIONAL}


def test_traditional_report_on_hong_kong_site_is_national():
    page = ("最高人民法院工作報告\n發布時間：2024-03-08 來源：香港商報\n"
            "2023年，各級人民法院共受理案件4557.4萬件，審結執結4526.8萬件。\n"
            "版權所有 香港商報有限公司\n地址：香港九龍觀塘道332號\n")
    r = process_text("t", page)
    assert r["document"]["region"] == regions.NATIONAL
    assert one(r["metrics"], "4557.4万件")["region"] == regions.NATIONAL


def test_provincial_high_court_is_the_province():
    assert where_when.national_actors("江西省高级人民法院") == []
    assert where_when.national_actors("最高人民法院") == ["最高人民法院"]
    page = "江西省高级人民法院工作报告\n2023年，全省法院共受理各类案件123.4万件，审结执结119.8万件。\n"
    r = process_text("t", page)
    assert r["document"]["region"] == "江西省"
    assert {m["region"] for m in r["metrics"]} == {"江西省"}


def test_congress_deputy_title_does_not_make_a_local_report_national():
    assert where_when.national_actors("全国人大代表王某某") == []
    assert where_when.national_actors("全国人大常委会") == ["全国人大常委会"]
    page = ("县人民法院工作报告\n2023年，全县共受理各类案件4213件，审结4102件。全国人大代表王某某、全国人大代表李某某"
            "对法院工作给予肯定。县人民法院执结案件1876件。\n")
    r = process_text("t", page, {"url": "http://www.jianshui.gov.cn/x/1.html"})
    assert r["document"]["region"] == JIANSHUI
    assert one(r["metrics"], "1876件")["region"] == JIANSHUI


# ---------------------------------------------------------------- venue, example, comparison

def test_venue_is_not_evidence():
    page = "全省政法工作会议在南昌召开\n会议指出，2023年，全省政法机关共破获刑事案件8.6万起，全省命案现案破案率100%。\n"
    where = decide_region(page.split("\n", 1)[1], page.split("\n")[0])
    assert where.label != "南昌市"
    assert all(e.region != "南昌市" for e in where.evidence)
    assert "venue" in where.reason
    m = regions.find_mentions("在南昌召开")[0]
    assert where_when.not_about("在南昌召开", m) == "venue"


def test_venue_with_province_named_is_the_province():
    page = ("全省政法工作会议在南昌召开\n会议指出，2023年，江西省政法机关共破获刑事案件8.6万起，"
            "全省命案现案破案率100%。\n")
    r = process_text("t", page)
    assert r["document"]["region"] == "江西省"
    assert one(r["metrics"], "8.6万起")["region"] == "江西省"


def test_provincial_meeting_in_capital_is_the_province():
    page = "全省政法工作会议在南昌召开\n会议指出，2023年，全省政法机关共破获刑事案件8.6万起，全省命案现案破案率100%。\n"
    assert doc_of(page)["region"] == "江西省"


def test_example_in_national_report():
    page = ("公安部通报全国打击整治电信网络诈骗工作成效\n2023年，全国公安机关共破获电信网络诈骗案件43.7万起。"
            "如云南省破获跨境电诈案件1.2万起，抓获犯罪嫌疑人2.3万名。\n")
    r = process_text("t", page)
    assert r["document"]["region"] == regions.NATIONAL
    assert one(r["metrics"], "43.7万起")["region"] == regions.NATIONAL
    assert one(r["metrics"], "1.2万起")["region"] == "云南省"


def test_comparison_sibling_is_not_the_document_region():
    page = ("区公安分局2023年工作总结\n2023年，全区刑事案件发案数同比下降18.4%，降幅仅次于临川区。"
            "全区破获刑事案件612起。\n")
    r = process_text("t", page, {"url": "http://www.dongxiang.gov.cn/x/1.html"})
    assert r["document"]["region"] == "抚州市东乡区"
    assert "comparison" in json.loads(r["document"]["region_evidence"])["reason"]
    assert one(r["metrics"], "612起")["region"] == "抚州市东乡区"


def test_figure_after_comparison_keeps_the_document_region():
    page = ("东乡区公安分局2023年工作总结\n2023年，东乡区刑事案件发案数同比下降18.4%，降幅仅次于临川区，"
            "全区破获刑事案件612起。\n")
    r = process_text("t", page)
    assert r["document"]["region"] == "抚州市东乡区"
    assert one(r["metrics"], "612起")["region"] == "抚州市东乡区"


# ---------------------------------------------------------------- periods

COURT = "建水县人民法院工作报告\n——2024年1月8日在建水县第十八届人民代表大会第四次会议上\n"


def test_delivery_line_is_the_publish_date():
    assert where_when.delivery_date(COURT) == PubDate(2024, 1, 8)
    doc = doc_of(COURT + "2023年，全县法院共受理案件5102件。\n")
    assert doc["publish_date"] == "2024-01-08" and doc["publish_date_from"] == "delivery line"
    assert doc["report_year"] == 2023


def test_five_years_in_january_report_with_year_figures():
    rows = metrics_of(COURT + "2023年，全县法院共受理案件5102件。五年来，全县法院共受理各类案件2.1万件。\n")
    assert period(one(rows, "5102件")) == (2023, 2023)
    assert period(one(rows, "2.1万件")) == (2019, 2023)


def test_five_years_in_january_report():
    rows = metrics_of(COURT + "五年来，全县法院共受理各类案件2.1万件，审结执结2.05万件。\n")
    assert period(one(rows, "2.1万件")) == (2019, 2023)


def test_three_years_phrases():
    rows = metrics_of(COURT + "2023年，全县法院受理案件5102件。三年来，全县法院共化解矛盾纠纷6312件。"
                              "近三年，全县法院执结案件5120件。\n")
    assert period(one(rows, "6312件")) == (2021, 2023)
    assert period(one(rows, "5120件")) == (2021, 2023)


def test_since_year_runs_to_report_year():
    doc_rows = process_text("t", COURT + "三年来，全县法院共化解矛盾纠纷6312件。2021年以来，全县法院审结毒品案件132件。\n")
    rows = doc_rows["metrics"]
    assert doc_rows["document"]["report_year"] >= 2023
    assert period(one(rows, "132件"))[0] == 2021 and period(one(rows, "132件"))[1] >= 2023


def test_since_year_with_report_year_stated():
    rows = metrics_of(COURT + "2023年，全县法院受理案件5102件。2021年以来，全县法院审结毒品案件132件。\n")
    assert period(one(rows, "132件")) == (2021, 2023)


def test_thirteenth_five_year_plan():
    rows = metrics_of(COURT + "2023年，全县法院受理案件5102件。十三五期间，全县共破获刑事案件3120起。\n")
    assert period(one(rows, "3120起")) == (2016, 2020)


def test_fourteenth_five_year_plan_without_any_year():
    rows = metrics_of("平安建设规划\n十四五期间，全县计划新建智能安防小区120个。\n",
                      {"url": "http://www.jianshui.gov.cn/x/1.html"})
    assert period(one(rows, "120个")) == (2021, 2025)


def test_since_fourteenth_plan_to_report_year():
    rows = metrics_of(COURT + "2023年，全县法院共受理案件5102件。十四五以来，全县法院共审结案件1.42万件。\n")
    assert period(one(rows, "1.42万件")) == (2021, 2023)


def test_anti_gang_campaign_three_years():
    rows = metrics_of(COURT + "扫黑除恶专项斗争三年来，全县共打掉涉黑组织3个，涉恶犯罪集团11个。\n")
    assert period(one(rows, "3个")) == (2018, 2020)
    assert period(one(rows, "11个")) == (2018, 2020)


def test_since_eighteenth_congress():
    rows = metrics_of(COURT + "党的十八大以来，全县法院共审结各类案件4.8万件。2023年，全县法院受理案件5102件。\n")
    assert period(one(rows, "4.8万件")) == (2012, 2023)


RELATIVE = ("县公安局通报治安形势\n今年，全县破获刑事案件210起。去年，全县破获刑事案件260起。"
            "前年，全县破获刑事案件301起。\n")


@pytest.mark.parametrize("source,year,how", [
    ({"published": "2023-09-22", "url": "http://www.jianshui.gov.cn/x/1.html"}, 2023, "sources.jsonl"),
    ({"url": "http://www.jianshui.gov.cn/xwzx/2022/09/22/1.html"}, 2022, "url"),
    ({"url": "http://www.jianshui.gov.cn/xwzx/202401/t20240126_123.html"}, 2024, "url"),
    # metadata beats the address
    ({"published": "2021-05", "url": "http://www.jianshui.gov.cn/xwzx/2022/09/22/1.html"}, 2021, "sources.jsonl"),
])
def test_this_last_and_year_before_last(source, year, how):
    r = process_text("t", RELATIVE, source)
    assert r["document"]["publish_date_from"] == how
    assert r["document"]["region"] == JIANSHUI
    rows = r["metrics"]
    assert period(one(rows, "210起")) == (year, year)
    assert period(one(rows, "260起")) == (year - 1, year - 1)
    assert period(one(rows, "301起")) == (year - 2, year - 2)


def test_months_run_in_january_report():
    rows = metrics_of("县公安局通报治安形势\n2023年，全县破获刑事案件2210起。全县刑事案件发案数连续14个月同比下降，"
                      "全县破获电诈案件210起。\n",
                      {"published": "2024-01-15", "url": "http://www.jianshui.gov.cn/x/1.html"})
    assert period(one(rows, "2210起")) == (2023, 2023)
    assert period(one(rows, "210起")) == (2022, 2023)


def test_no_year_and_no_date_gives_no_period():
    rows = metrics_of("县公安局通报治安形势\n全县共破获刑事案件210起，抓获犯罪嫌疑人188人。\n",
                      {"url": "http://www.jianshui.gov.cn/x/1.html"})
    assert rows
    assert all(period(m) == (None, None) for m in rows)


ALL_PAGES = [
    (COUNTY_PAGE, {"url": "http://www.xunwu.gov.cn/x/1.html"}),
    (CITY_PAGE, {"url": "http://gaj.ganzhou.gov.cn/x/1.html"}),
    (DISTRICT_PAGE, None),
    (NATIONAL_ON_COUNTY_SITE, {"url": "http://www.xunwu.gov.cn/xwzx/gnyw/content_9.html"}),
    (PROVINCIAL_PAPER, None),
    (RELATIVE, None),
    (RELATIVE, {"published": "2023"}),
    (RELATIVE, {"url": "http://www.jianshui.gov.cn/xwzx/202401/t20240126_123.html"}),
    (COURT + "五年来，全县法院共受理各类案件2.1万件。三年来，全县化解纠纷6312件。\n", None),
    (COURT + "三年来，全县法院共化解矛盾纠纷6312件。2021年以来，全县法院审结毒品案件132件。\n", None),
    (COURT + "十三五期间，全县共破获刑事案件3120起。\n", None),
    (COURT + "2023年，全县受理案件5102件。十三五期间，全县共破获刑事案件3120起。十四五以来，全县共审结案件1.42万件。\n",
     None),
    (COURT + "扫黑除恶专项斗争三年来，全县共打掉涉黑组织3个。党的十八大以来，全县审结案件4.8万件。\n", None),
    ("县公安局通报治安形势\n全县刑事案件发案数连续14个月同比下降，全年全县破获刑事案件2210起。\n",
     {"published": "2024-01-15"}),
    ("县公安局通报治安形势\n全县刑事案件发案数连续14个月同比下降，全县破获刑事案件2210起。\n", None),
    ("平安建设规划\n十四五期间，全县计划新建智能安防小区120个。去年全县新建小区31个。\n", None),
]


def test_periods_are_never_half_open_or_reversed():
    n = 0
    for text, source in ALL_PAGES:
        for m in metrics_of(text, source):
            n += 1
            s, e = period(m)
            assert (s is None) == (e is None), (text[:20], m["quote"], s, e)
            assert s is None or s <= e, (text[:20], m["quote"], s, e)
    assert n >= 20


def test_since_fourteenth_plan_after_thirteenth_plan_is_not_reversed():
    rows = metrics_of(COURT + "十三五期间，全县共破获刑事案件3120起。十四五以来，全县共审结案件1.42万件。\n")
    s, e = period(one(rows, "1.42万件"))
    assert s == 2021 and e is not None and e >= s


# ---------------------------------------------------------------- dates and terms

def test_dates_from_urls():
    assert where_when.date_from_url("http://a.gov.cn/xw/2022/09/22/1.html") == PubDate(2022, 9, 22)
    assert where_when.date_from_url("http://a.gov.cn/xw/202401/t20240126_5.html") == PubDate(2024, 1, 26)
    assert where_when.date_from_url("http://a.gov.cn/xw/2023-07/12/c_1.htm") == PubDate(2023, 7, 12)
    assert where_when.date_from_url("http://a.gov.cn/xw/2023/13/40/1.html") is None
    assert where_when.date_from_url("http://a.gov.cn/xw/index.html") is None
    assert where_when.date_from_url(None) is None


def test_publish_date_order():
    text = "——2023年1月9日在某县第十七届人民代表大会第二次会议上\n正文。"
    assert where_when.publish_date({"published": "2022-06", "url": "http://x/2021/01/02/a"}, None, text) == \
        (PubDate(2022, 6), "sources.jsonl")
    assert where_when.publish_date({"url": "http://x/2021/01/02/a"}, None, text) == (PubDate(2023, 1, 9), "delivery line")
    assert where_when.publish_date({"url": "http://x/2021/01/02/a"}, None, "正文。") == (PubDate(2021, 1, 2), "url")
    assert where_when.publish_date(None, None, "正文。") == (None, "")


@pytest.mark.parametrize("session,year,start", [
    ("第一次", 2022, 2018), ("第二次", 2023, 2023), ("第三次", 2024, 2023), ("第五次", 2026, 2023),
])
def test_term_start_from_session(session, year, start):
    text = f"某县人民法院工作报告\n——在某县第十八届人民代表大会{session}会议上\n"
    assert where_when.term_start(text, year) == start


def test_term_start_without_session_or_year():
    assert where_when.term_start("某县人民法院工作报告\n正文。", 2023) == 2019
    assert where_when.term_start("——在某县第十八届人民代表大会第三次会议上", None) is None


def test_since_this_term_uses_the_session():
    text = ("建水县人民法院工作报告\n——2024年1月8日在建水县第十八届人民代表大会第四次会议上\n"
            "2023年，全县法院受理案件5102件。本届以来，全县法院共审结案件1.5万件。\n")
    assert period(one(metrics_of(text), "1.5万件")) == (2021, 2023)


# ---------------------------------------------------------------- evidence and confidence

def test_evidence_json_names_the_deciding_cue():
    where = decide_region(COUNTY_PAGE, None, source={"url": "http://www.xunwu.gov.cn/x/1.html"})
    ev = json.loads(where.evidence_json())
    assert ev["region"] == XUNWU == where.label
    assert ev["cues"][0] == {"cue": "url_gov", "seen": "xunwu", "region": XUNWU, "weight": 4.0}
    assert 0 <= ev["confidence"] <= 1
    empty = json.loads(decide_region(COUNTY_PAGE, None).evidence_json())
    assert empty["region"] == "" and empty["cues"] == [] and empty["confidence"] == 0


def test_confidence_lower_when_cues_conflict():
    text = COUNTY_PAGE.split("\n", 1)[1]
    clean_case = decide_region(text, "寻乌县公安局2023年工作总结", source={"url": "http://www.xunwu.gov.cn/x/1.html"})
    conflict = decide_region(text, "会宁县公安局2023年工作总结", source={"url": "http://www.xunwu.gov.cn/x/1.html"})
    assert 0 <= conflict.confidence < clean_case.confidence <= 1
    labels = {e.region for e in conflict.evidence}
    assert {XUNWU, HUINING} <= labels


@pytest.mark.parametrize("text,source", ALL_PAGES)
def test_confidence_in_unit_interval(text, source):
    doc = doc_of(text, source)
    assert 0 <= doc["region_confidence"] <= 1
    ev = json.loads(doc["region_evidence"])
    assert ev["region"] == doc["region"]


def test_a_district_name_two_cities_share_is_settled_by_the_city_named():
    """西湖区 is a district of 杭州 and of 南昌: the city named beside it decides, and a first
    guess at the ambiguous name does not vote for itself."""
    text = "杭州市西湖区2023年平安建设工作总结\n2023年，西湖区刑事警情同比下降8.1%，全区破获电诈案件312起。"
    out = process_text("t", text)
    assert out["document"]["region"] == "杭州市西湖区"
    assert {m["region"] for m in out["metrics"]} == {"杭州市西湖区"}


def test_a_municipality_settles_its_district():
    text = "北京市朝阳区2023年平安建设情况\n2023年，朝阳区刑事警情同比下降5.2%，全区调解纠纷1.8万件。"
    assert process_text("t", text)["document"]["region"] == "北京市朝阳区"


@pytest.mark.parametrize("text", [
    "会宁县公安局破案120起，白银市全市下降5%；寻乌县、长治久安的中山路\n赣州市章贡区2023年",
    "甘州区刑事案件下降三成，长安网报道：建水县第三\n\n临川区与襄州区分别为31.2%和八五０农场",
    "巴州/巴音郭楞蒙古自治州、克州/克孜勒苏两地，长治市长治久安",
])
def test_mentions_of_a_slice_are_those_a_scan_of_the_slice_finds(text):
    """Every slice, at any two cuts: the mentions read off the whole text's scan (clean cuts) or
    scanned again (a cut inside what may be a name or stop phrase) are what scanning the slice
    alone finds."""
    def key(ms):
        return [(m.start, m.end, m.name, m.full) for m in ms]

    for start in range(len(text) + 1):
        for end in range(start, len(text) + 1):
            assert key(regions.mentions_in(text, start, end)) == key(regions.find_mentions(text[start:end])), (start, end)


def test_towns_of_a_slice_are_those_a_scan_of_the_slice_finds():
    """Streets of a district read off one scan of the whole text, for every slice: the same as
    scanning the slice alone, whether the cuts fall on line breaks or inside a name."""
    text = "思明区莲前街道派出所破案，嘉莲街道和鹭江等地\n湖里区殿前街道、禾山在内\n\n长治久安，莲前片区"
    counties = {"厦门市思明区", "厦门市湖里区"}
    assert len(regions.find_towns(text, counties)) >= 5
    spans = [(a, b) for a in range(len(text) + 1) for b in range(a, len(text) + 1)]
    for (a, b), got in zip(spans, regions.towns_within(text, counties, spans)):
        assert got == regions.find_towns(text[a:b], counties), (a, b)


@pytest.mark.parametrize("text", [
    "长治久安长治市，中国长安网与长安网；海南海北海西州山南市",
    "白银市白银区城区新区，大同小异的大同市，江北河东河西",
])
def test_a_position_is_inside_a_stop_phrase_where_some_occurrence_of_one_covers_it(text):
    """The per-position check equals marking every occurrence of every stop phrase, overlapping
    ones included, and it is what keeps an alias inside a stop phrase from naming a place."""
    covered = set()
    for phrase in regions.gazetteer().stop_phrases:
        covered.update(i for s in range(len(text)) if text.startswith(phrase, s) for i in range(s, s + len(phrase)))
    assert covered  # the texts hold stop phrases
    assert {i for i in range(len(text)) if regions.in_stop_phrase(text, i)} == covered
    assert regions.find_mentions("长治久安") == []
    assert [m.name for m in regions.find_mentions("长治久安，长治市")] == ["长治市"]
