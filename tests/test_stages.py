"""Each text stage on its own, on lines written for these tests."""
from zhengfa import clean, numbers, periods, regions, sections

PAGE = """首页 > 新闻中心 > 正文
宁波公安：筑牢平安防线
发布时间：2023-12-28 10:12 来源：甬城晚报 作者：陈明
【字体：大 中 小】 打印 关闭
　　本报讯（记者 李华 通讯员 王强）12月27日，记者从市公安局获悉，今年以来全市破获电诈案件2400余起。
图为民警在社区开展反诈宣传。
　　在江北区，民警走进楼宇开展宣传，累计覆盖群众12万人次，推动辖区电诈发案数持续下
降。
　　在江北区，民警走进楼宇开展宣传，累计覆盖群众12万人次，推动辖区电诈发案数持续下
降。
分享到：微信 微博
相关阅读
· 鄞州打掉跑分团伙5个
Copyright © 2023 甬城晚报 版权所有 浙ICP备00000000号
"""


def test_clean_removes_furniture_and_keeps_the_article():
    c = clean.clean(PAGE)
    assert "首页" not in c.text and "打印" not in c.text and "版权所有" not in c.text
    assert "分享到" not in c.text and "跑分团伙" not in c.text  # related links dropped
    assert "记者 李华" not in c.text  # inline byline removed
    assert "破获电诈案件2400余起" in c.text
    assert c.publish_date.isoformat() == "2023-12-28"
    assert c.outlet == "甬城晚报"
    assert c.title == "宁波公安:筑牢平安防线"


def test_clean_joins_broken_paragraphs_flags_repeats_and_marks_captions():
    c = clean.clean(PAGE)
    joined = [p for p in c.paragraphs if "持续下降" in p.text]
    assert len(joined) == 2  # "下\n降" joined back
    assert [p.repeated for p in joined] == [False, True]
    captions = [p for p in c.paragraphs if p.caption]
    assert len(captions) == 1 and "图为" in captions[0].text
    for p in c.paragraphs:
        assert c.text[p.start:p.end] == p.text


def test_clean_normalizes_full_width_and_traditional_forms():
    c = clean.clean("標題\n　　全區破獲案件１２０起，挽回損失３０萬(wàn)元。")
    assert "全区破获案件120起,挽回损失30万元。" in c.text


def test_sections_hierarchy_and_kinds():
    text = "\n".join([
        "某区政法工作报告",
        "　　2023年，全区政法工作稳中有进，各项指标向好。",
        "一、坚持严打整治",
        "　　全年破获刑事案件320起，抓获嫌疑人410名。",
        "（一）打击电诈犯罪",
        "　　打掉电诈团伙6个。",
        "（二）整治突出问题",
        "　　整改隐患180处。",
        "二、深化基层治理",
        "2023年平安成绩单",
        "①新建调解室12个，化解纠纷1300件。",
        "②建成智慧小区40个。",
        "　　会议要求，今年要持续发力，不断提升群众安全感。",
    ])
    secs = sections.split_sections(clean.clean(text))
    heads = [(s.level, s.kind, s.heading) for s in secs]
    assert (1, "numbered", "一、坚持严打整治") in heads
    assert (2, "numbered", "(一)打击电诈犯罪") in heads
    by_head = {s.heading: s for s in secs}
    assert by_head["(一)打击电诈犯罪"].parent == by_head["一、坚持严打整治"].ord
    assert by_head["(二)整治突出问题"].series == by_head["(一)打击电诈犯罪"].series
    card = by_head["2023年平安成绩单"]
    assert card.kind == "scorecard" and "智慧小区" in card.text
    assert "会议要求" not in card.text  # the card ends with its list
    assert secs[-1].kind == "body"


def test_numbers_parse_arabic_and_chinese():
    assert numbers.parse_number("1,250") == 1250
    assert numbers.parse_number("一千二百") == 1200
    assert numbers.parse_number("两") == 2
    assert numbers.parse_number("十二亿") == 1_200_000_000
    assert numbers.parse_number("万") is None


def test_regions_from_the_gazetteer():
    unit, _ = regions.document_region("鄞州区召开政法工作会议。全区刑事警情下降。鄞州区群众安全感提升。")
    assert unit.label == "宁波市鄞州区"
    unit, _ = regions.document_region("全省政法工作会议召开。江西省刑事案件下降。全省群众安全感提升。")
    assert unit.label == "江西省"
    unit, _ = regions.document_region("公安部：全国刑事案件下降。全国公安机关破案。全国群众安全感提升。")
    assert unit is None  # national
    # an alias inside a set phrase names no place
    assert not [m for m in regions.find_mentions("努力实现长治久安") if m.name == "长治"]


def test_towns_resolve_inside_the_story_area():
    gz = regions.gazetteer()
    chengdu = next(u for u in gz.units if u.level == "city" and u.name == "成都市")
    area = {c.label for c in gz.children(chengdu)}
    hits = regions.find_towns("驷马桥街道与荷花池片区", area)
    assert {c.label for _, c in hits} == {"成都市金牛区"}


def test_periods_resolve_relative_phrases():
    assert periods.period_before("近五年累计", 5, 2023, 2024, (2023, 2023)) == (2019, 2023)
    assert periods.period_before("去年全市", 4, 2023, 2024, (2023, 2023)) == (2023, 2023)
    assert periods.period_before("较2019年下降", 7, 2023, 2024, (2023, 2023)) == (2023, 2023)
    assert periods.period_before("先后涌现出", 5, 2023, 2024, (2023, 2023)) == (None, 2023)
    # no publish date: 去年 means the report year
    assert periods.period_before("去年全市", 4, 2022, None, (2022, 2022)) == (2022, 2022)
