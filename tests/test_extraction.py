"""Extraction phenomena, each on sentences written for these tests (places real, figures invented)."""
import pytest

from zhengfa.pipeline import process_text


def run(body: str, header: str = "发布时间：2024-01-18 09:30 来源：测试日报") -> list[dict]:
    return process_text("t", f"某地平安建设工作综述\n{header}\n{body}\n")["metrics"]


def one(rows, quote):
    found = [r for r in rows if r["quote"] == quote]
    assert found, f"{quote!r} not extracted from {[r['quote'] for r in rows]}"
    return found[0]


DOC = "　　2023年，嘉兴市南湖区持续推进平安建设。"


# ---------------------------------------------------------------- numbers and units

@pytest.mark.parametrize("sentence,quote,value,unit,approx", [
    ("全年调处各类纠纷一千二百余件。", "一千二百余件", 1200, "件", "over"),
    ("累计查获涉案车辆两百余辆。", "两百余辆", 200, "辆", "over"),
    ("共追回赃款3.6亿元。", "3.6亿元", 360_000_000, "元", "exact"),
    ("冻结资金1,250万元。", "1,250万元", 12_500_000, "元", "exact"),
    ("挽回损失约870万元。", "870万元", 8_700_000, "元", "about"),
    ("走访群众逾5.2万户。", "5.2万户", 52_000, "户", "over"),
    ("开展巡逻4100多次。", "4100多次", 4100, "次", "over"),
    ("出动警力近3万人次。", "3万人次", 30_000, "人次", "nearly"),
    ("发放宣传资料12万份左右。", "12万份", 120_000, "份", "about"),
    ("收缴管制刀具３６０把。", "360把", 360, "把", "exact"),
    ("缴获毒品12.5公斤。", "12.5公斤", 12.5, "公斤", "exact"),
    ("帮助企业挽回损失十二亿余元。", "十二亿余元", 1_200_000_000, "元", "over"),
])
def test_numbers_units_and_approximation(sentence, quote, value, unit, approx):
    r = one(run(DOC + sentence), quote)
    assert r["value"] == pytest.approx(value)
    assert r["unit"] == unit
    assert r["approx"] == approx


def test_rates_ratios_and_shares():
    rows = run(DOC + "命案破案率保持100%，群众满意率达96.8%；全区结收案比为1.03，案访比612.4。"
                     "派出所警力占全区总警力的41%。")
    assert one(rows, "96.8%")["kind"] == "rate"
    ratio = one(rows, "1.03")
    assert ratio["kind"] == "rate" and ratio["unit"] == ""
    assert one(rows, "612.4")["unit"] == ""
    assert one(rows, "41%")["kind"] == "rate"


# ---------------------------------------------------------------- changes

def test_signed_changes_and_basis():
    rows = run(DOC + "全区盗窃警情同比下降17.5%，诈骗警情较去年增长3.2%；"
                     "群众安全感较2020年提升1.9个百分点。调解成功案件数增幅达12%，积案下降三成。")
    r = one(rows, "17.5%")
    assert (r["kind"], r["value"], r["basis"]) == ("change", -17.5, "yoy")
    r = one(rows, "3.2%")
    assert (r["value"], r["basis"]) == (3.2, "yoy")
    r = one(rows, "1.9个百分点")
    assert (r["unit"], r["basis"]) == ("个百分点", "vs_period")
    r = one(rows, "12%")
    assert (r["kind"], r["value"], r["basis"]) == ("change", 12, None)
    r = one(rows, "三成")
    assert (r["kind"], r["value"], r["unit"]) == ("change", -30, "%")


def test_change_of_a_count_and_of_money():
    rows = run(DOC + "交通事故死亡人数比上年减少9人，群众被骗损失同比减少1800余万元。")
    r = one(rows, "9人")
    assert (r["kind"], r["value"], r["unit"], r["basis"]) == ("change", -9, "人", "yoy")
    r = one(rows, "1800余万元")
    assert (r["kind"], r["value"], r["approx"]) == ("change", -18_000_000, "over")


# ---------------------------------------------------------------- one number, several subjects

def test_respectively_distributes_values_over_subjects():
    rows = run(DOC + "全区入室盗窃、街面抢夺警情同比分别下降31%、26%。")
    assert {(r["subject"], r["value"]) for r in rows if r["kind"] == "change"} >= {
        ("入室盗窃警情", -31), ("街面抢夺警情", -26)} or \
        [r["value"] for r in rows if r["kind"] == "change"] == [-31, -26]
    subjects = [r["subject"] for r in rows if r["kind"] == "change"]
    assert "入室盗窃" in subjects[0] and "抢夺" in subjects[1]


def test_shared_unit_in_a_list_of_points():
    rows = run(DOC + "不起诉率、撤案率分别为18.2%、6.4%，较上年分别下降1.1个、0.7个百分点。")
    pts = [r for r in rows if r["unit"] == "个百分点"]
    assert [r["value"] for r in pts] == [-1.1, -0.7]
    assert "不起诉率" in pts[0]["subject"] and "撤案率" in pts[1]["subject"]


def test_two_units_on_one_subject():
    rows = run(DOC + "打掉涉恶犯罪团伙6个49人，起诉毒品犯罪案件37件52人。")
    assert one(rows, "6个")["subject"].endswith("涉恶犯罪团伙")
    assert "成员" in one(rows, "49人")["subject"]
    assert one(rows, "52人")["subject"].endswith("人数")


def test_list_items_share_the_verb():
    rows = run(DOC + "全年打掉赌博团伙8个、窝点13个。")
    r = one(rows, "13个")
    assert "窝点" in r["subject"] and "赌博" in r["subject"]


def test_one_rank_for_each_subject():
    rows = run(DOC + "区法院一审服判息诉率92.4%、调撤率61.3%，均居全市第一。")
    ranks = [r for r in rows if r["kind"] == "rank"]
    assert len(ranks) == 2
    assert all(r["value"] == 1 for r in ranks)
    assert "(全市)" in ranks[0]["subject"]


# ---------------------------------------------------------------- ranks

@pytest.mark.parametrize("sentence,quote,value,scope", [
    ("全区刑事警情降幅排全市第二。", "第二", 2, "全市"),
    ("群众安全感测评排名全省第5。", "第5", 5, "全省"),
    ("法官人均结案数居全国首位。", "首位", 1, "全国"),
])
def test_ranks(sentence, quote, value, scope):
    r = one(run(DOC + sentence), quote)
    assert (r["kind"], r["value"], r["unit"]) == ("rank", value, "名")
    assert f"({scope})" in r["subject"]


# ---------------------------------------------------------------- not metrics

@pytest.mark.parametrize("sentence", [
    "2024年1月15日，区委政法工作会议召开。",
    "该区入选第三批全国“枫桥式”派出所名单。",
    "深化“三位一体”巡防机制，落实“1、5、10分钟”快速反应圈。",
    "推动“十四五”规划政法任务落地，开展“雷霆2023”专项行动。",
    "遇到可疑情况请拨打110或96110咨询。",
    "联系电话：0573-82345678，QQ：123456789，浙ICP备12345678号。",
    "坚持“四个不放过”，落实“两个规定”。",
    "地址：南湖区中山东路1088号。",
    "根据〔2023〕57号文件要求部署工作。",
])
def test_not_metrics(sentence):
    assert run(DOC + sentence) == []


def test_ads_and_related_links_are_not_extracted():
    body = (DOC + "全年破获刑事案件860起。\n【广告】临湖精装小户型 首付8万起 咨询热线：400-123-4567\n"
            "相关阅读\n· 秀洲区电诈发案数同比下降21%\n· 平湖市打掉犯罪团伙7个\n")
    assert [r["quote"] for r in run(body)] == ["860起"]


# ---------------------------------------------------------------- region

def test_region_full_form_for_a_district():
    rows = run("　　2023年，南湖区共破获盗窃案件312起。")
    assert one(rows, "312起")["region"] == "嘉兴市南湖区"


def test_region_national_and_provincial():
    rows = run("　　公安部通报，2023年全国公安机关共破获毒品案件4.2万起。全国群众安全感为98.1%。")
    assert {r["region"] for r in rows} == {"全国"}
    rows = run("　　全省政法工作会议召开。2023年全省刑事案件发案数同比下降7.7%，湖南省群众安全感达98.3%。")
    assert {r["region"] for r in rows} == {"湖南省"}


def test_cities_named_in_a_provincial_report_take_their_figures():
    rows = run("　　2023年，全省刑事案件发案数下降8%，浙江省群众安全感达98.7%。"
               "其中，温州、台州两市电诈发案数同比分别下降19.2%、17.6%。")
    assert one(rows, "19.2%")["region"] == "温州市"
    assert one(rows, "17.6%")["region"] == "台州市"
    assert one(rows, "8%")["region"] == "浙江省"


def test_several_sub_areas_together_belong_to_the_parent():
    rows = run("　　2023年，全市刑事警情下降9%，南京市群众安全感98.2%。江宁、浦口新建警务站19个。")
    assert one(rows, "19个")["region"] == "南京市"


def test_interleaved_districts_by_street_names():
    body = ("　　2023年，思明区平安建设稳步推进，全区刑事警情同比下降8.8%。\n"
            "湖里：打造社区枫桥\n"
            "　　殿前街道、禾山街道新建调解室12个，江头街道调解成功率达97%。")
    rows = run(body)
    assert one(rows, "8.8%")["region"] == "厦门市思明区"
    assert one(rows, "12个")["region"] == "厦门市湖里区"


# ---------------------------------------------------------------- period

@pytest.mark.parametrize("sentence,quote,period", [
    ("去年全区共破获电诈案件210起。", "210起", (2023, 2023)),
    ("近三年累计起诉涉黑恶犯罪案件41件。", "41件", (2021, 2023)),
    ("2021年以来，共化解信访积案96件。", "96件", (2021, 2023)),
    ("“十四五”以来，累计投入建设资金3.2亿元。", "3.2亿元", (2021, 2023)),
    ("今年1至9月，全区刑事警情同比下降6%。", "6%", (2024, 2024)),
    ("连续五年保持命案破案率100%。", "100%", (2019, 2023)),
])
def test_periods(sentence, quote, period):
    r = one(run(DOC + sentence), quote)
    assert (r["period_start"], r["period_end"]) == period


def test_baseline_years_are_not_periods():
    r = one(run(DOC + "命案发案数较2019年下降41.5%。"), "41.5%")
    assert (r["period_start"], r["period_end"], r["basis"]) == (2023, 2023, "vs_period")


def test_record_statements_are_not_periods():
    rows = run(DOC + "刑事警情降至近15年最低，全年破获案件502起。")
    assert (one(rows, "502起")["period_start"]) == 2023


# ---------------------------------------------------------------- scripts

def test_traditional_characters_and_pinyin_glosses():
    rows = run("　　2023年，廣東省公安機關破獲電詐案件2.1萬(wàn)宗，羣眾安全感達98.5%。")
    r = one(rows, "2.1万宗")
    assert r["value"] == 21000 and r["unit"] == "宗"
    assert "电诈案件" in r["subject"]
    assert one(rows, "98.5%")["region"] == "广东省"


# ---------------------------------------------------------------- provenance

def test_every_quote_is_its_span():
    res = process_text("t", "测试\n" + DOC + "全年破获案件1,024起，同比上升5.5%，居全市第一。")
    text = res["document"]["cleaned_text"]
    assert res["metrics"]
    for m in res["metrics"]:
        assert text[m["char_start"]:m["char_end"]] == m["quote"]
        assert m["quote"] in m["sentence"]


def test_indicator_codes_from_the_taxonomy():
    rows = run(DOC + "全区刑事警情同比下降9.1%，打掉电诈团伙4个，全年审结案件5123件。")
    assert one(rows, "9.1%")["indicator"] == "criminal_incidents"
    assert one(rows, "4个")["indicator"] == "telecom_fraud_gangs"
    assert one(rows, "5123件")["indicator"] == "court_cases_closed"


def test_linking_words_are_trimmed_only_as_words():
    rows = run(DOC + "全年查处超速违法行为2.6万起，全区群众满意度为97.2%。")
    assert one(rows, "2.6万起")["subject"].endswith("违法行为")
    assert one(rows, "97.2%")["subject"].endswith("满意度")


def test_a_change_without_its_own_subject_takes_the_clause_before():
    rows = run(DOC + "全区火灾亡人数为近年最低，较2020年下降33.3%。")
    r = one(rows, "33.3%")
    assert "火灾亡人数" in r["subject"] and r["basis"] == "vs_period"


def test_common_words_that_are_also_street_names_do_not_move_a_figure():
    rows = process_text("t", "2022年全县政法工作回眸\n　　2022年，宁陵县深化平安建设，全县共受理信访事项312件，"
                             "建成示范村40个，其中省级5个。\n")["metrics"]
    assert {r["region"] for r in rows} == {"商丘市宁陵县"}
    assert one(rows, "5个")["subject"].startswith("省级")


def test_ranges_and_vague_tens():
    rows = run(DOC + "全区可防性案件下降10%-15%，每个社区配备调解员3至5名，排查隐患十余处，破获积案数十起。")
    r = one(rows, "10%-15%")
    assert (r["kind"], r["value"], r["approx"]) == ("change", -10, "over")
    r = one(rows, "3至5名")
    assert (r["value"], r["approx"]) == (3, "over")
    r = one(rows, "十余处")
    assert (r["value"], r["approx"]) == (10, "over")
    assert not [x for x in rows if "十起" in x["quote"]]  # 数十: no figure
    assert len(rows) == 3


def test_no_place_named_is_not_national():
    rows = process_text("t", "年度工作成绩单\n　　2023年，共办理案件320件。\n")["metrics"]
    assert one(rows, "320件")["region"] == ""


def test_byline_place_is_weak_evidence_and_posting_location_is_ignored():
    text = "年度检察工作成绩单\n原创 绍兴检察 2024-01-20 18:00 发表于浙江\n　　2023年，受理审查起诉案件2100件。\n"
    assert one(process_text("t", text)["metrics"], "2100件")["region"] == "绍兴市"


def test_numbered_list_items_and_a_verb_subject_after_a_count():
    rows = run(DOC + "\n1.受理审查起诉案件1500件2100人，起诉1320件1810人；\n2.办理公益诉讼案件96件。")
    assert one(rows, "1500件")["subject"] == "受理审查起诉案件"
    assert one(rows, "1320件")["subject"] == "起诉案件"
    assert one(rows, "1810人")["subject"] == "起诉人数"


def test_an_activity_named_before_does_not_join_the_subject():
    rows = run(DOC + "全区开展“清风护航”行动，出动警力2.3万人次。为群众购买意外伤害保险，全年理赔案件61件。")
    assert one(rows, "2.3万人次")["subject"] == "出动警力"
    assert "保险" in one(rows, "61件")["subject"]


def test_page_counters_and_hotlines_are_not_metrics():
    body = "阅读 3.4万  在看 120  点赞 560\n" + DOC + "“12345”热线受理诉求2100件。\n第1页 共3页 下一页"
    assert [r["quote"] for r in run(body)] == ["2100件"]


def test_scores_in_points_and_ranks_with_a_measure_word():
    rows = run(DOC + "群众安全感测评得分98.6分，位列全市第3名。执勤民警5分钟内到场。")
    r = one(rows, "98.6分")
    assert (r["kind"], r["unit"]) == ("rate", "分")
    r = one(rows, "第3名")
    assert (r["kind"], r["value"]) == ("rank", 3)
    assert len(rows) == 2  # 5分钟 is a duration


def test_plan_targets_are_not_achievements():
    rows = run(DOC + "全年破获盗窃案件618起。下一步，力争2024年刑事案件再下降5%以上，预计新建警务站10个。")
    assert [r["quote"] for r in rows] == ["618起"]
    assert rows[0]["period_end"] == 2023


def test_a_meeting_title_year_is_not_the_figures_year():
    text = ("您当前的位置：首页 >> 政法要闻\n2021年全市政法工作会议召开\n时间：2021-02-03 09:30 来源：某某日报\n"
            "　　2月2日，全市政法工作会议召开。2020年，全市公安机关共破获刑事案件5120起；全市法院结案9.6万件。\n"
            "[相关新闻]\n· 某县打掉犯罪团伙3个\n")
    rows = process_text("t", text)["metrics"]
    assert [r["quote"] for r in rows] == ["5120起", "9.6万件"]
    assert {(r["period_start"], r["period_end"]) for r in rows} == {(2020, 2020)}
    # 公安 is also a county's short name: it is not trimmed as a place (which would leave 机关…);
    # the police as the default actor is trimmed whole
    assert one(rows, "5120起")["subject"] == "破获刑事案件"


def test_ranks_of_places_listed_with_respectively():
    rows = run(DOC + "其中，海盐县、海宁市群众安全感测评分别位居全省第4位、第9位。")
    ranks = {(r["region"], r["value"]) for r in rows if r["kind"] == "rank"}
    assert ranks == {("嘉兴市海盐县", 4), ("嘉兴市海宁市", 9)}
    assert all(r["subject"] == "群众安全感测评(全省)" for r in rows if r["kind"] == "rank")


def test_a_verb_inside_a_long_subject_does_not_cut_it():
    rows = run(DOC + "出台政法机关服务民营经济发展“15条措施”。去年在城区新建8个警务室。")
    assert one(rows, "15条")["subject"] == "出台政法机关服务民营经济发展措施"
    assert one(rows, "8个")["subject"] == "新建警务室"
