"""The indicator taxonomy: hand-labelled subjects from the development sets, sub-categories with
their own codes, actors read from the subject or the sentence, part-year figures."""
from __future__ import annotations

import csv
from pathlib import Path

import pytest

from zhengfa import indicators
from zhengfa.indicators import indicator, is_part_year, series_key

LABELS = Path(__file__).parent / "data" / "indicator_labels.tsv"


def _labels() -> list[dict]:
    with LABELS.open(encoding="utf-8") as f:
        return list(csv.DictReader((line for line in f if not line.startswith("#")), delimiter="\t"))


def test_labelled_subjects_score_at_least_095_and_wrong_codes_count_double():
    rows = _labels()
    assert len(rows) >= 300
    correct = wrong = missed = 0
    errors = []
    for r in rows:
        got = indicator(r["subject"], r["kind"]) or "-"
        if got == r["expected"]:
            correct += 1
        elif got == "-":
            missed += 1
            errors.append((r["subject"], r["kind"], r["expected"], got))
        else:
            wrong += 1
            errors.append((r["subject"], r["kind"], r["expected"], got))
    n = len(rows)
    score = (correct - 2 * wrong) / n
    assert correct / n >= 0.95, errors[:20]
    assert score >= 0.95, errors[:20]
    assert wrong / n <= 0.02, errors[:20]


def test_every_labelled_code_exists_in_the_taxonomy():
    codes = {r["code"] for r in indicators.taxonomy_rows()}
    assert {r["expected"] for r in _labels()} - {"-"} <= codes


def test_taxonomy_covers_the_categories_and_codes_are_unique():
    rows = indicators.taxonomy_rows()
    codes = [r["code"] for r in rows]
    assert len(codes) == len(set(codes))
    cats = {r["category"] for r in rows}
    assert {"crime", "telecom_fraud", "homicide", "organized_crime", "courts", "procuratorates", "disputes",
            "sentiment", "traffic", "drugs", "fde_crime", "petitions", "ranks"} <= cats
    for r in rows:
        assert r["name_zh"] and r["name_en"] and r["category_zh"], r
        assert not r["parent"] or r["parent"] in codes, r


@pytest.mark.parametrize("subject, kind, code", [
    ("提起公诉", "count", "prosecutions"),
    ("起诉犯罪嫌疑人", "count", "prosecutions"),
    ("检察机关起诉各类刑事犯罪嫌疑人", "count", "prosecutions"),
    ("刑事案件立案数", "count", "criminal_cases_filed"),
    ("刑事案件发案数", "change", "criminal_cases_filed"),
    ("受理审查起诉案件", "count", "prosecution_reviews"),
    ("办理审查起诉案件", "count", "prosecution_reviews"),
    ("批准逮捕各类犯罪嫌疑人", "count", "arrests_approved"),
])
def test_wordings_that_vary_between_years_share_a_code(subject, kind, code):
    assert indicator(subject, kind) == code


@pytest.mark.parametrize("subject, kind, code", [
    ("起诉涉黑涉恶犯罪", "count", "prosecutions_organized_crime"),
    ("起诉电信网络诈骗犯罪", "count", "prosecutions_telecom_fraud"),
    ("打掉涉诈“两卡”团伙", "count", "fraud_card_gangs"),
    ("打掉电诈团伙", "count", "telecom_fraud_gangs"),
    ("打掉犯罪团伙", "count", "criminal_gangs"),
    ("最高人民法院受理案件", "count", "supreme_court_cases_accepted"),
    ("地方各级人民法院和专门人民法院受理案件", "count", "court_cases_accepted"),
    ("审结一审刑事案件", "count", "court_criminal_first_instance_closed"),
])
def test_a_sub_category_has_its_own_code(subject, kind, code):
    assert indicator(subject, kind) == code


@pytest.mark.parametrize("subject, kind", [
    ("春节期间接报警情", "count"), ("农村地区可防性案件", "change"), ("起诉走私犯罪", "count"),
    ("抓获缅北涉我电诈犯罪嫌疑人", "count"), ("审结涉外民商事案件", "count"), ("受理案件", "count"),
])
def test_a_narrower_subject_gets_no_code_rather_than_its_parents(subject, kind):
    assert indicator(subject, kind) is None


def test_the_sentence_names_the_actor_a_subject_leaves_out():
    s = "报告称，2023年最高人民法院受理案件2.13万件，审结1.87万件；地方各级人民法院和专门人民法院受理案件4460.7万件，审结、执结4318万件。"
    assert indicator("审结案件", "count", s, "1.87万件") == "supreme_court_cases_closed"
    assert indicator("受理案件", "count", s, "4460.7万件") == "court_cases_accepted"
    s2 = "全省检察机关全年受理各类案件12.3万件，同比上升5%。"
    assert indicator("受理案件", "count", s2, "12.3万件") == "procuratorate_cases"
    s3 = "区法院全年受理各类案件4.12万件。"
    assert indicator("受理案件", "count", s3, "4.12万件") == "court_cases_accepted"


def test_kind_limits_a_code():
    assert indicator("平安建设考评", "count") is None
    assert indicator("平安建设考评(全省)", "rank") == "ping_an_assessment"
    assert indicator("刑事案件破案率", "count") is None
    assert indicator("刑事警情降幅(全市)", "rank") == "criminal_incidents"


def test_part_year_figures_are_recognized():
    assert is_part_year("春节期间接报警情")
    assert is_part_year("审查起诉案件", "上半年共受理审查逮捕案件412件、审查起诉案件1037件", "1037件")
    assert is_part_year("刑事警情", "1—7月，全县刑事警情同比下降12%", "12%")
    assert not is_part_year("刑事警情", "2023年全年，全县刑事警情1200起", "1200起")
    assert not is_part_year("刑事警情", "今年上半年开展专项行动，全年刑事警情1200起", "1200起")


def test_series_keys_line_up_rare_figures_across_wordings():
    assert series_key("全年共有因公牺牲民警") == series_key("因公牺牲民警")
    assert series_key("“枫桥式公安派出所”") == series_key("枫桥式公安派出所")
    assert series_key("检察机关办理涉企案件") == "procuratorate:办理涉企案件"


def test_a_span_of_days_or_a_cut_off_month_is_part_of_a_year():
    s = "会议通报，今年1月1日至24日，全市刑事警情同比下降9.7%，破获电信网络诈骗案件112起。"
    assert is_part_year("破获电信网络诈骗案件", s, "112起")
    assert is_part_year("抓获犯罪嫌疑人", "截至6月底，抓获犯罪嫌疑人300名。", "300名")
