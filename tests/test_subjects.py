"""Subjects that say what was counted, baselines, and numbers that are not metrics: each class on
sentences written for these tests (places and figures invented), traditional and Hong Kong
wording included."""
import pytest

from zhengfa.pipeline import process_text
from zhengfa.subjects import names_a_thing

HEAD = "柳州市公安局2023年工作情况通报\n"


def rows(text: str, head: str = HEAD) -> list[dict]:
    return process_text("t", head + text, {"published": "2024-01-18"})["metrics"]


def by_quote(text: str, head: str = HEAD) -> dict[str, dict]:
    return {r["quote"]: r for r in rows(text, head)}


# ---------------------------------------------------------------- fragments that name nothing

def test_leading_adverb_is_not_part_of_the_subject():
    r = by_quote("2023年，全市率先在全区建成智慧安防小区37个。")["37个"]
    assert r["subject"].endswith("智慧安防小区")
    assert not r["subject"].startswith("率先")


def test_bare_verb_before_an_amount_takes_its_purpose():
    r = by_quote("2023年，全市投入3.6亿元推动“天网工程”扩容升级。")["3.6亿元"]
    assert r["subject"] == "“天网工程”扩容升级投入"


@pytest.mark.parametrize("subject,ok", [
    ("刑事警情", True), ("打掉诈骗团伙", True), ("不捕率", True), ("群众安全感(全市)", True),
    ("投入", False), ("率先", False), ("", False), ("进一步", False),
])
def test_names_a_thing(subject, ok):
    assert names_a_thing(subject) is ok


# ---------------------------------------------------------------- qualifiers that tell siblings apart

def test_court_qualifiers_are_kept():
    got = by_quote("2023年，最高人民法院审结案件1.9万件，地方各级人民法院审结案件3120.5万件。", "法院工作报告\n")
    assert "最高人民法院" in got["1.9万件"]["subject"]
    assert "地方各级人民法院" in got["3120.5万件"]["subject"]
    assert got["1.9万件"]["subject"] != got["3120.5万件"]["subject"]


def test_homicide_clearance_rate_keeps_homicide():
    r = by_quote("2023年，全市命案现案破案率保持100%，刑事案件破案率达71.4%。")
    assert "命案" in r["100%"]["subject"]
    assert "命案" not in r["71.4%"]["subject"]


def test_members_carry_the_gangs_they_belong_to():
    got = by_quote("2023年，全市打掉涉黑犯罪集团3个，抓获成员52人。")
    assert got["52人"]["subject"] == "涉黑犯罪集团成员"


def test_suspects_carry_the_crime_type_of_the_gangs_before():
    got = by_quote("2023年，全市打掉8个医保诈骗团伙，抓获嫌疑人64人。")
    assert got["8个"]["subject"].endswith("医保诈骗团伙")
    assert got["64人"]["subject"] == "医保诈骗嫌疑人"


def test_anaphora_takes_the_subject_before_it():
    got = by_quote("2023年，全市群众安全感测评得分95.37分，2022年这一数字为94.8分。")
    assert got["94.8分"]["subject"] == got["95.37分"]["subject"]
    assert got["94.8分"]["period_end"] == 2022


def test_from_to_years_keep_the_measure():
    got = by_quote("全市民警人均办案数由2021年的86件增至2023年的104件。")
    assert got["86件"]["subject"] == got["104件"]["subject"] == "民警人均办案数"
    assert (got["86件"]["period_end"], got["104件"]["period_end"]) == (2021, 2023)


def test_people_involved_follow_the_cases():
    got = by_quote("2023年，全市纠正错案6件、涉及11人。")
    assert got["11人"]["subject"] == "纠正错案涉及人数"


# ---------------------------------------------------------------- 分别 lists pair in order

def test_respectively_pairs_subjects_and_figures_in_order():
    got = by_quote("2023年，全市盗窃、诈骗警情同比分别下降17.2%、9.5%。")
    assert got["17.2%"]["subject"].startswith("盗窃") and got["17.2%"]["value"] == -17.2
    assert got["9.5%"]["subject"].startswith("诈骗") and got["9.5%"]["value"] == -9.5


# ---------------------------------------------------------------- baselines

@pytest.mark.parametrize("sentence,quote", [
    ("2023年全市整体罪案按年上升6.2%。", "6.2%"),  # Hong Kong usage
    ("2023年全市整體罪案按年下降3.4%。", "3.4%"),  # traditional characters
    ("与上年相比，2023年全市交通事故死亡人数下降7.7%。", "7.7%"),  # the baseline before the subject
    ("较去年同期，全市电诈发案数下降15.1%。", "15.1%"),
    ("2023年全市盗抢骗警情比上年同期下降8.8%。", "8.8%"),
])
def test_baseline_variants_are_yoy(sentence, quote):
    r = by_quote(sentence)[quote]
    assert r["kind"] == "change" and r["basis"] == "yoy", r


def test_one_baseline_governs_the_clauses_after_it_until_a_semicolon():
    got = by_quote("2023年，全市刑事警情同比下降6.1%，治安警情下降4.2%，交通警情下降2.3%；"
                   "全市破案数上升5.5%。")
    assert [got[q]["basis"] for q in ("6.1%", "4.2%", "2.3%")] == ["yoy", "yoy", "yoy"]
    assert got["5.5%"]["basis"] is None


def test_against_an_earlier_period_is_vs_period():
    r = by_quote("五年来，全市检察机关办理案件1.2万件，比前五年上升18.6%。")["18.6%"]
    assert r["basis"] == "vs_period"
    assert "检察机关" in r["subject"]


# ---------------------------------------------------------------- numbers that are not metrics

def test_thresholds_inside_definitions_are_not_metrics():
    got = by_quote("2023年，全市未发生一次死亡3人以上的较大交通事故，侦破涉案金额100万元以上的经济犯罪案件27起。")
    assert "3人" not in got and "100万元" not in got
    assert got["27起"]["subject"].endswith("经济犯罪案件")


def test_survey_and_meeting_logistics_are_not_metrics():
    got = by_quote("本次群众安全感调查样本量为4500份，参会人数达220人；全市群众安全感达98.1%。")
    assert set(got) == {"98.1%"}


# ---------------------------------------------------------------- figures that were missed

def test_batches_are_counted():
    got = by_quote("2023年，全市分4批次集中销毁毒品2.3吨。")
    assert got["4批次"]["kind"] == "count" and got["4批次"]["value"] == 4
    assert got["2.3吨"]["subject"].endswith("销毁毒品")


@pytest.mark.parametrize("sentence,quote,value", [
    ("2023年全市破获电诈案件数同比增长1.32倍。", "1.32倍", 1.32),
    ("2023年全市跨境赌博资金查扣额比上年增长132倍。", "132倍", 132.0),
])
def test_multiples_are_changes_in_times(sentence, quote, value):
    r = by_quote(sentence)[quote]
    assert (r["kind"], r["unit"], r["value"]) == ("change", "倍", value)


def test_scores_are_rates():
    r = by_quote("2023年全市法治建设满意度测评得分92.73分。")["92.73分"]
    assert (r["kind"], r["unit"], r["value"]) == ("rate", "分", 92.73)


@pytest.mark.parametrize("verb,sign", [("前进", 1), ("后退", -1)])
def test_rank_moves_are_changes_of_rank(verb, sign):
    r = by_quote(f"2023年全市群众安全感测评排名较上年{verb}4位。")["4位"]
    assert (r["kind"], r["unit"], r["value"]) == ("change", "位", 4.0 * sign)
    assert r["basis"] == "yoy"
    assert r["subject"].endswith("排名")
