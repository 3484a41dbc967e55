"""Stored SQL relations: a table rebuilt only when what it reads changed, and refreshed for the
changed partitions only when its SQL says its rows of one region depend on that region's rows."""
from __future__ import annotations

import duckdb
import pytest

from zhengfa.relations import create_relation, is_directive, materialization, partition_key, record_versions

TOTAL = "-- materialized: table\n-- partitioned by: region\nselect region, sum(value) as total, count(*) as n " \
        "from metrics group by region"
FILES = {"v_total": TOTAL, "v_top": "select * from v_total order by total desc"}


@pytest.fixture
def con():
    c = duckdb.connect()
    c.execute("CREATE TABLE metrics AS SELECT * FROM (VALUES ('a', 3), ('b', 5), (NULL, 1)) t(region, value)")
    yield c
    c.close()


def rows(con, name):
    return sorted(con.execute(f'select * from "{name}"').fetchall(), key=str)


def fresh(con, sql):
    return sorted(con.execute(sql.split("\n")[-1]).fetchall(), key=str)


def test_directives_are_read_from_the_header():
    assert materialization(TOTAL) == "table" and partition_key(TOTAL) == "region"
    assert materialization(FILES["v_top"]) == "view" and partition_key(FILES["v_top"]) is None
    assert is_directive("-- materialized: table") and not is_directive("-- one row per region")


def test_a_table_is_rebuilt_only_when_a_table_it_reads_has_a_new_version(con):
    assert create_relation(con, "v_total", TOTAL, FILES).how == "rebuilt"
    assert create_relation(con, "v_top", FILES["v_top"], FILES).how == "view"
    assert create_relation(con, "v_total", TOTAL, FILES).how == "unchanged"
    # rows written without a new version are not seen: the warehouse load records one whenever it writes
    con.execute("INSERT INTO metrics VALUES ('a', 4)")
    assert create_relation(con, "v_total", TOTAL, FILES).how == "unchanged"
    record_versions(con, {"metrics": "after-insert"})
    refresh = create_relation(con, "v_total", TOTAL, FILES)
    assert (refresh.how, refresh.partitions) == ("partitions", 1)  # region a alone
    assert rows(con, "v_total") == fresh(con, TOTAL)
    assert con.execute("select total from v_top limit 1").fetchone()[0] == 7


def test_changed_removed_and_null_partitions_match_a_full_computation(con):
    create_relation(con, "v_total", TOTAL, FILES)
    con.execute("DELETE FROM metrics WHERE region = 'b'")
    con.execute("INSERT INTO metrics VALUES ('c', 2), (NULL, 6)")
    con.execute("UPDATE metrics SET value = 10 WHERE region = 'a'")
    record_versions(con, {"metrics": "v2"})
    refresh = create_relation(con, "v_total", TOTAL, FILES)
    assert (refresh.how, refresh.partitions) == ("partitions", 4)  # a changed, b gone, c new, null changed
    assert rows(con, "v_total") == fresh(con, TOTAL)
    assert ("b", 5, 1) not in rows(con, "v_total")
    # the temporary views that narrowed the input are gone
    assert con.execute("select count(*) from metrics").fetchone()[0] == 4


def test_a_change_of_sql_rebuilds_and_a_table_can_become_a_view_and_back(con):
    create_relation(con, "v_total", TOTAL, FILES)
    create_relation(con, "v_top", FILES["v_top"], FILES)
    files = dict(FILES, v_total=TOTAL.replace("sum(value)", "max(value)"))
    assert create_relation(con, "v_total", files["v_total"], files).how == "rebuilt"
    assert rows(con, "v_total") == fresh(con, files["v_total"])
    as_view = files["v_total"].replace("-- materialized: table\n", "")
    create_relation(con, "v_total", as_view, dict(files, v_total=as_view))
    kind = "select table_type from information_schema.tables where table_name = 'v_total'"
    assert con.execute(kind).fetchone()[0] == "VIEW"
    con.execute("INSERT INTO metrics VALUES ('a', 9)")
    assert con.execute("select total from v_top limit 1").fetchone()[0] == 9
    assert create_relation(con, "v_total", files["v_total"], files).how == "rebuilt"
    assert con.execute(kind).fetchone()[0] == "BASE TABLE"


def test_a_table_reading_another_stored_relation_is_rebuilt_whole(con):
    files = dict(FILES, v_share="-- materialized: table\n-- partitioned by: region\n"
                                "select region, total / (select sum(total) from v_total) as share from v_total")
    create_relation(con, "v_total", TOTAL, files)
    assert create_relation(con, "v_share", files["v_share"], files).how == "rebuilt"
    con.execute("INSERT INTO metrics VALUES ('a', 4)")
    record_versions(con, {"metrics": "v2"})
    create_relation(con, "v_total", TOTAL, files)
    # its partition promise cannot be checked through another relation: rebuilt whole, and right
    assert create_relation(con, "v_share", files["v_share"], files).how == "rebuilt"
    assert rows(con, "v_share") == fresh(con, files["v_share"])


def test_tables_read_by_several_relations_are_hashed_once_per_version(con):
    """Two stored relations partitioned by the same key over one table: its row hashes are computed
    by the first refresh of a table version and reused by the second, and a new version is hashed
    again (a kept hash of an old version would hide a change)."""
    count = "-- materialized: table\n-- partitioned by: region\nselect region, count(*) as n from metrics group by region"
    files = {"v_total": TOTAL, "v_count": count}
    record_versions(con, {"metrics": "v1"})
    create_relation(con, "v_total", TOTAL, files)
    create_relation(con, "v_count", count, files)
    kept_at = "select version from _relation_versions where name = '_table_partition_hashes:metrics:region'"
    assert con.execute(kept_at).fetchall() == [("v1",)]
    con.execute("UPDATE metrics SET value = 9 WHERE region = 'b'")
    con.execute("INSERT INTO metrics VALUES ('b', 1)")
    record_versions(con, {"metrics": "v2"})
    assert create_relation(con, "v_total", TOTAL, files).partitions == 1
    # the second relation reads the hashes the first computed for v2, and still sees region b change
    con.execute("UPDATE _table_partition_hashes SET fp = 'tampered' WHERE part = 'a'")
    refresh = create_relation(con, "v_count", count, files)
    assert (refresh.how, refresh.partitions) == ("partitions", 2)  # b changed; a only seems to (the kept hash)
    assert rows(con, "v_count") == fresh(con, count) and rows(con, "v_total") == fresh(con, TOTAL)
    assert con.execute(kept_at).fetchall() == [("v2",)]
