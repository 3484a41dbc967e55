"""Year over year on a corpus written for the tests (tests/data/yoy_corpus): the same places in
consecutive years, worded differently each year (提起公诉 / 起诉, 立案 / 发案, 受理 / 新收,
受理 / 办理审查起诉), a second article that contradicts one figure, and a national report where the
supreme court's own cases sit beside all courts' cases. Every expected row is checked by hand."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conftest import query, run_job

CORPUS = Path(__file__).parent / "data" / "yoy_corpus"
YUHANG, YINZHOU = "杭州市余杭区", "宁波市鄞州区"


@pytest.fixture(scope="module")
def wh(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("yoy")
    raw = tmp / "raw"
    shutil.copytree(CORPUS, raw)
    run_job(raw, tmp / "wh")
    return tmp / "wh"


def rows(wh, sql, params=None):
    return [tuple(r) for r in query(wh, sql, params).itertuples(index=False)]


def test_one_value_per_region_indicator_unit_and_year(wh):
    got = rows(wh, """select region, indicator, unit, year, value, n_statements, agree from v_indicator_values
                      where keyed_by = 'indicator' order by region, indicator, year""")
    assert got == [
        ("全国", "court_cases_accepted", "件", 2022, 33704000.0, 1, True),
        ("全国", "court_cases_accepted", "件", 2023, 45574000.0, 1, True),
        ("全国", "court_cases_concluded", "件", 2022, 30810000.0, 1, True),
        ("全国", "court_cases_concluded", "件", 2023, 45268000.0, 1, True),
        ("全国", "supreme_court_cases_accepted", "件", 2022, 18000.0, 1, True),
        ("全国", "supreme_court_cases_accepted", "件", 2023, 21300.0, 1, True),
        ("全国", "supreme_court_cases_closed", "件", 2022, 16000.0, 1, True),
        ("全国", "supreme_court_cases_closed", "件", 2023, 18700.0, 1, True),
        (YINZHOU, "court_cases_accepted", "件", 2022, 31000.0, 1, True),
        (YINZHOU, "court_cases_accepted", "件", 2023, 33500.0, 1, True),
        (YINZHOU, "court_cases_concluded", "件", 2022, 30000.0, 1, True),
        (YINZHOU, "court_cases_concluded", "件", 2023, 32800.0, 1, True),
        (YUHANG, "arrests_approved", "人", 2022, 412.0, 1, True),
        (YUHANG, "arrests_approved", "人", 2023, 405.0, 2, False),  # a tie: the first file by name
        (YUHANG, "criminal_cases_filed", "起", 2022, 4210.0, 1, True),
        (YUHANG, "criminal_cases_filed", "起", 2023, 3950.0, 1, True),
        (YUHANG, "prosecution_reviews", "件", 2022, 1120.0, 1, True),
        (YUHANG, "prosecution_reviews", "件", 2023, 1187.0, 1, True),
        (YUHANG, "prosecutions", "人", 2022, 1380.0, 1, True),
        (YUHANG, "prosecutions", "人", 2023, 1452.0, 1, True),
    ]


def test_conflicting_statements_are_flagged_with_both_values_and_provenance(wh):
    r = query(wh, """select * from v_indicator_values
                     where region = ? and indicator = 'arrests_approved' and year = 2023""", [YUHANG]).iloc[0]
    assert not r["agree"] and r["n_values"] == 2 and (r["min_value"], r["max_value"]) == (398, 405)
    assert r["value"] in (398, 405)  # one statement's value, never their mean
    assert r["quote"] in r["sentence"] and r["source_file"].startswith("yuhang_")


def test_computed_changes_line_up_varying_wordings_and_never_use_conflicts(wh):
    got = rows(wh, """select region, indicator, year, previous_value, value, change, change_pct from v_yoy_computed
                      where keyed_by = 'indicator' order by region, indicator, year""")
    assert got == [
        ("全国", "court_cases_accepted", 2023, 33704000.0, 45574000.0, 11870000.0, 35.22),
        ("全国", "court_cases_concluded", 2023, 30810000.0, 45268000.0, 14458000.0, 46.93),
        ("全国", "supreme_court_cases_accepted", 2023, 18000.0, 21300.0, 3300.0, 18.33),
        ("全国", "supreme_court_cases_closed", 2023, 16000.0, 18700.0, 2700.0, 16.88),
        (YINZHOU, "court_cases_accepted", 2023, 31000.0, 33500.0, 2500.0, 8.06),
        (YINZHOU, "court_cases_concluded", 2023, 30000.0, 32800.0, 2800.0, 9.33),
        (YUHANG, "criminal_cases_filed", 2023, 4210.0, 3950.0, -260.0, -6.18),
        (YUHANG, "prosecution_reviews", 2023, 1120.0, 1187.0, 67.0, 5.98),
        (YUHANG, "prosecutions", 2023, 1380.0, 1452.0, 72.0, 5.22),
    ]
    # no computed change from a year whose statements disagree
    bad = query(wh, """select count(*) n from v_yoy_computed c join v_indicator_values v
                       on v.region = c.region and v.series = c.series and v.kind = c.kind
                      and v.unit is not distinct from c.unit and v.year in (c.year, c.previous_year)
                       where not v.agree""")
    assert bad["n"].iloc[0] == 0


def test_stated_changes_implied_levels_and_consistency(wh):
    stated = rows(wh, """select region, indicator, year, stated_change, change_unit from v_yoy_stated
                         where keyed_by = 'indicator' order by region, indicator, year""")
    assert stated == [
        (YINZHOU, "court_cases_accepted", 2023, 8.1, "%"),
        (YINZHOU, "court_cases_concluded", 2023, 9.3, "%"),
        (YUHANG, "criminal_cases_filed", 2022, -8.5, "%"),
        (YUHANG, "criminal_cases_filed", 2023, -6.2, "%"),
        (YUHANG, "prosecutions", 2023, 5.2, "%"),
    ]
    implied = rows(wh, """select region, indicator, year, implied_previous_value from v_yoy_implied
                          where keyed_by = 'indicator' order by region, indicator, year""")
    assert implied == [
        (YINZHOU, "court_cases_accepted", 2023, 30989.82),
        (YINZHOU, "court_cases_concluded", 2023, 30009.15),
        (YUHANG, "criminal_cases_filed", 2022, 4601.09),
        (YUHANG, "criminal_cases_filed", 2023, 4211.09),
        (YUHANG, "prosecutions", 2023, 1380.23),
    ]
    consistency = rows(wh, """select region, indicator, year, computed_change, stated_change, consistent
                              from v_yoy_consistency order by region, indicator, year""")
    assert consistency == [
        (YINZHOU, "court_cases_accepted", 2023, 8.06, 8.1, True),
        (YINZHOU, "court_cases_concluded", 2023, 9.33, 9.3, True),
        (YUHANG, "criminal_cases_filed", 2023, -6.18, -6.2, True),
        (YUHANG, "prosecutions", 2023, 5.22, 5.2, True),
    ]


def test_one_stop_view_and_roll_ups(wh):
    r = query(wh, """select * from v_yoy_indicators where region = ? and indicator = 'prosecutions' and year = 2023""",
              [YUHANG]).iloc[0]
    assert (r["previous_value"], r["value"], r["change_pct"], r["stated_yoy_change"]) == (1380, 1452, 5.22, 5.2)
    assert r["stated_matches_computed"] and r["implied_previous_value"] == 1380.23
    conflict = query(wh, """select * from v_yoy_indicators where region = ? and indicator = 'arrests_approved'
                            and year = 2023""", [YUHANG]).iloc[0]
    assert not conflict["agree"] and conflict["previous_value"] != conflict["previous_value"]  # NaN: no change
    roll = query(wh, """select * from v_region_rollups where region = '杭州市' and indicator = 'prosecutions'
                        and year = 2023""").iloc[0]
    assert roll["children_sum"] == 1452 and roll["n_children_reported"] == 1 and not roll["complete"]
    assert roll["n_children"] == query(wh, "select n_children from regions where region = '杭州市'")["n_children"].iloc[0] > 1


def test_the_value_most_statements_agree_with_is_chosen_within_what_approximations_allow():
    """The agreement count of v_indicator_values, on statements written here: the majority value
    wins over a dissenting one however the rows are ordered, a 余 (over) statement agrees with
    values up to a quarter above it, a 近 (nearly) one with values up to a fifth below, and
    statements without a unit group together."""
    import duckdb

    from assets.warehouse import SQL_DIR

    con = duckdb.connect()
    con.execute("""create table metrics (metric_id varchar, doc_id varchar, source_file varchar, char_start int,
                   kind varchar, value double, unit varchar, approx varchar, indicator varchar, series_key varchar,
                   region varchar, period_start int, period_end int, part_year boolean, in_repeated boolean,
                   quote varchar, sentence varchar, subject varchar)""")
    statements = [("majority", "件", v, "exact") for v in (150, 7, 7, 7, 9, 9)]
    statements += [("over", "件", 1000, "over"), ("over", "件", 1100, "exact")]
    statements += [("nearly", "人", 500, "nearly"), ("nearly", "人", 480, "exact")]
    statements += [("no_unit", None, 3.5, "exact"), ("no_unit", None, 3.5, "exact")]
    con.executemany("insert into metrics values (?, ?, ?, ?, 'count', ?, ?, ?, ?, null, '某县', 2023, 2023, false, false, '', '', '')",
                    [(f"m{i}", f"d{i}", f"f{i:02d}.txt", i, value, unit, approx, code)
                     for i, (code, unit, value, approx) in enumerate(statements)])
    sql = (SQL_DIR / "v_indicator_values.sql").read_text(encoding="utf-8")
    got = {r[0]: r[1:] for r in con.execute(f"""select indicator, value, n_statements, n_values, agree
                                                from ({sql}) order by indicator""").fetchall()}
    assert got == {
        "majority": (7.0, 6, 3, False),  # three say 7, two say 9, one 150
        "over": (1100.0, 2, 2, True),  # 1000余 allows 1100; 1100 exact does not allow 1000
        "nearly": (480.0, 2, 2, True),  # 近500 allows 480
        "no_unit": (3.5, 2, 1, True),
    }


# every statement against every distinct value of its group: the plain form of the agreement count
_AGREEMENT_BY_PAIRS = """
    select a.region, a.series, a.kind, a.unit, a.period_end, a.value, sum(b.n) as n_agreeing
    from (select distinct region, series, kind, unit, period_end, value from statements) a
    join statements b
      on a.region = b.region and a.series = b.series and a.kind = b.kind
     and a.unit is not distinct from b.unit and a.period_end = b.period_end
    where abs(a.value - b.value) <= 0.01 * greatest(abs(a.value), abs(b.value))
       or (b.approx = 'over' and a.value >= b.value and a.value <= 1.25 * b.value)
       or (b.approx = 'nearly' and a.value <= b.value and a.value >= 0.8 * b.value)
       or (b.approx = 'about' and abs(a.value - b.value) <= 0.1 * abs(b.value))
    group by all"""


def test_the_bucketed_agreement_count_equals_the_count_over_every_pair():
    """The view meets each value with the statements whose band reaches its bucket of log|value|;
    on values placed on and around every band's edge (1%, a quarter, a fifth, a tenth, zero,
    negatives, numbers that do not round trip), it counts what comparing every pair counts."""
    import random
    import re

    import duckdb

    from assets.warehouse import SQL_DIR

    sql = (SQL_DIR / "v_indicator_values.sql").read_text(encoding="utf-8")
    body = sql[re.search(r"(?m)^with ", sql).start():]
    support = re.search(r"\nsupport as \((.*?)\n\),\n", body, re.S)
    assert support, "v_indicator_values.sql: no support CTE"
    reference = body.replace(support.group(1), _AGREEMENT_BY_PAIRS)
    rng = random.Random(7)
    bases = [100, 99, 101, 1000, 1250, 800, 3.5, 0.07, 12.34, 7, 1e6, 123456.789, -5, -4.95, 0]
    factors = [1, 0.99, 1 / 0.99, 1.01, 0.9, 1.1, 0.8, 1.25, 1.2500001, 0.7999999, 0.98999, 1.0101011, 1.5]
    con = duckdb.connect()
    con.execute("""create table metrics (metric_id varchar, doc_id varchar, source_file varchar, char_start int,
                   kind varchar, value double, unit varchar, approx varchar, indicator varchar, series_key varchar,
                   region varchar, period_start int, period_end int, part_year boolean, in_repeated boolean,
                   quote varchar, sentence varchar, subject varchar)""")
    rows_ = []
    for g in range(300):
        base = rng.choice(bases)
        for i in range(rng.randint(1, 9)):
            value = base * rng.choice(factors) if rng.random() < 0.9 else float(rng.randint(-3, 3))
            approx = rng.choice(["exact", "exact", "over", "nearly", "about"])
            rows_.append((f"m{g}-{i}", f"d{i}", f"f{i}.txt", i, value, rng.choice(["件", None]), approx,
                          f"code{g % 40}", f"region{g // 40}"))
    con.executemany("insert into metrics values (?, ?, ?, ?, 'count', ?, ?, ?, ?, null, ?, 2023, 2023, false, false, "
                    "'', '', '')", rows_)
    got = con.execute(f"select * from ({body}) order by all").fetchall()
    want = con.execute(f"select * from ({reference}) order by all").fetchall()
    assert len(got) > 100 and got == want
