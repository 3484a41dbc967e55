"""The SQL relations of dbt_like_sql/ in DuckDB: views, or tables refreshed only where what they
read changed.

A SQL file is a view unless its header says `-- materialized: table`. A stored table is rebuilt
when its fingerprint changes: its SQL and that of every relation it reads, down to the warehouse
tables, and those tables' versions (a token the warehouse load changes whenever it writes a table;
see record_versions). A file that also says `-- partitioned by: <column>` promises that its rows
for one value of the column (a region) depend only on the rows of the tables it reads with that
value: when only rows changed, the table is refreshed for the values whose rows changed (their
rows deleted and computed again), not rebuilt.
"""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import sqlglot
from duckdb import CatalogException
from sqlglot import exp

VERSIONS = "_relation_versions"  # relation → a token that changes whenever its rows may have changed
PARTITIONS = "_relation_partitions"  # stored relation, partition value → hash of the rows it was computed from
BASE_HASHES = "_table_partition_hashes"  # table, key, partition value → hash of its rows (at a kept version)

_MATERIALIZED = re.compile(r"^--\s*materialized:\s*(table|view)\s*$", re.M)
_PARTITIONED = re.compile(r"^--\s*partitioned by:\s*(\w+)\s*$", re.M)
_NULL_KEY = "chr(0)"  # stands for a null partition value in comparisons


def sql_dependencies(sql: str) -> list[str]:
    """Relations a SELECT reads, from the parsed SQL (CTE names excluded)."""
    tree = sqlglot.parse_one(sql, read="duckdb")
    ctes = {c.alias_or_name for c in tree.find_all(exp.CTE)}
    return sorted({t.name for t in tree.find_all(exp.Table) if t.name and t.name not in ctes})


def materialization(sql: str) -> str:
    """'table' for a SQL file whose header says `-- materialized: table`, else 'view'."""
    m = _MATERIALIZED.search(sql)
    return m.group(1) if m else "view"


def is_directive(line: str) -> bool:
    """A header line that tells how to store the relation, not what it holds."""
    return bool(_MATERIALIZED.match(line) or _PARTITIONED.match(line))


def partition_key(sql: str) -> str | None:
    m = _PARTITIONED.search(sql)
    return m.group(1) if m else None


def sql_files(folder: Path) -> dict[str, str]:
    return {p.stem: p.read_text(encoding="utf-8") for p in sorted(folder.glob("*.sql"))}


# ---------------------------------------------------------------- versions

def _sha(value) -> str:
    return hashlib.sha256(json.dumps(value, ensure_ascii=False, default=str).encode()).hexdigest()[:16]


def frame_version(df: pd.DataFrame) -> str:
    """A content hash of a small table replaced whole on each load."""
    h = hashlib.sha256(",".join(map(str, df.columns)).encode())
    if not df.empty:
        h.update(pd.util.hash_pandas_object(df.astype("string"), index=False).values.tobytes())
    return h.hexdigest()[:16]


def record_versions(con, versions: dict[str, str]) -> None:
    con.execute(f'CREATE TABLE IF NOT EXISTS "{VERSIONS}" (name VARCHAR PRIMARY KEY, version VARCHAR, '
                'updated_at TIMESTAMP WITH TIME ZONE)')
    for name, version in versions.items():
        con.execute(f'INSERT INTO "{VERSIONS}" VALUES (?, ?, now()) ON CONFLICT (name) DO UPDATE '
                    'SET version = excluded.version, updated_at = excluded.updated_at '
                    f'WHERE "{VERSIONS}".version IS DISTINCT FROM excluded.version', [name, version])


def relation_versions(con) -> dict[str, str]:
    try:
        return dict(con.execute(f'SELECT name, version FROM "{VERSIONS}"').fetchall())
    except CatalogException:
        return {}


def warehouse_fingerprint(con) -> str:
    """What the whole database holds, as far as readers can tell: every relation's version and
    every view's SQL (a load, a refresh or a new view changes it; a run that changed nothing
    does not)."""
    try:
        versions = con.execute(f'SELECT name, version FROM "{VERSIONS}" ORDER BY name').fetchall()
    except CatalogException:
        versions = []
    views = con.execute("SELECT view_name, sql FROM duckdb_views() WHERE NOT internal AND NOT temporary "
                        "ORDER BY view_name").fetchall()
    tables = con.execute("SELECT table_name, estimated_size, column_count FROM duckdb_tables() "
                         "WHERE NOT internal AND NOT temporary ORDER BY table_name").fetchall()
    return _sha([versions, views, tables])


def fingerprint(con, name: str, files: dict[str, str]) -> str:
    """What a SQL relation's rows depend on: its SQL and that of the relations it reads, down to
    the warehouse tables, and those tables' versions."""
    versions = relation_versions(con)
    seen, todo, parts = set(), [name], []
    while todo:
        rel = todo.pop()
        if rel in seen:
            continue
        seen.add(rel)
        if rel in files:
            parts.append((rel, files[rel]))
            todo.extend(sql_dependencies(files[rel]))
        else:
            parts.append((rel, versions.get(rel)))
    return _sha(sorted(parts))


# ---------------------------------------------------------------- creating and refreshing

@dataclass
class Refresh:
    how: str  # 'view', 'unchanged', 'rebuilt' or 'partitions'
    partitions: int = 0  # partition values refreshed

    @property
    def wrote(self) -> bool:
        return self.how in ("rebuilt", "partitions")


def _row_hashes(con, rel: str, key: str) -> list[tuple]:
    """(partition value, hash of its rows) of one relation. Several stored relations read the same
    table: the hashes of a table version are computed once and kept (BASE_HASHES, with the version
    they were computed at recorded among the relation versions) until the table's next version."""
    versions = relation_versions(con)
    version, kept_at = versions.get(rel), f"{BASE_HASHES}:{rel}:{key}"
    compute = f'SELECT "{key}", bit_xor(hash(t))::VARCHAR FROM "{rel}" t GROUP BY 1'
    if version is None:
        return con.execute(compute).fetchall()
    con.execute(f'CREATE TABLE IF NOT EXISTS "{BASE_HASHES}" (rel VARCHAR, "key" VARCHAR, part VARCHAR, fp VARCHAR)')
    if versions.get(kept_at) == version:
        return con.execute(f'SELECT part, fp FROM "{BASE_HASHES}" WHERE rel = ? AND "key" = ?', [rel, key]).fetchall()
    rows = con.execute(compute).fetchall()
    con.execute(f'DELETE FROM "{BASE_HASHES}" WHERE rel = ? AND "key" = ?', [rel, key])
    if rows:
        con.register("_hashes", pd.DataFrame({"part": [p for p, _ in rows], "fp": [h for _, h in rows]}, dtype="string"))
        con.execute(f'INSERT INTO "{BASE_HASHES}" SELECT ?, ?, part, fp FROM _hashes', [rel, key])
        con.unregister("_hashes")
    record_versions(con, {kept_at: version})
    return rows


def _partition_hashes(con, relations: list[str], key: str) -> dict[str | None, str]:
    """Partition value → a hash of every row with that value in the relations read."""
    out: dict[str | None, str] = {}
    for rel in sorted(relations):
        for value, h in _row_hashes(con, rel, key):
            out[value] = out.get(value, "") + f"{rel}:{h};"
    return out


def _store_partitions(con, name: str, hashes: dict, only: list | None = None) -> None:
    con.execute(f'CREATE TABLE IF NOT EXISTS "{PARTITIONS}" (name VARCHAR, part VARCHAR, fp VARCHAR)')
    if only is None:
        con.execute(f'DELETE FROM "{PARTITIONS}" WHERE name = ?', [name])
        keep = hashes
    else:
        con.register("_parts", pd.DataFrame({"k": only}, dtype="string"))
        con.execute(f'DELETE FROM "{PARTITIONS}" WHERE name = ? AND coalesce(part, {_NULL_KEY}) IN '
                    f'(SELECT coalesce(k, {_NULL_KEY}) FROM _parts)', [name])
        con.unregister("_parts")
        keep = {k: hashes[k] for k in only if k in hashes}
    if keep:
        con.register("_fps", pd.DataFrame({"name": name, "part": list(keep), "fp": list(keep.values())},
                                          dtype="string"))
        con.execute(f'INSERT INTO "{PARTITIONS}" SELECT name, part, fp FROM _fps')
        con.unregister("_fps")


def _stored_partitions(con, name: str) -> dict:
    try:
        return dict(con.execute(f'SELECT part, fp FROM "{PARTITIONS}" WHERE name = ?', [name]).fetchall())
    except CatalogException:
        return {}


def _refresh_partitions(con, name: str, body: str, relations: list[str], key: str, changed: list) -> None:
    """Delete the rows of the changed partition values and compute them again, with each relation
    read seen through a temporary view holding only those values' rows."""
    db = con.execute("SELECT current_database()").fetchall()[0][0]
    con.register("_parts", pd.DataFrame({"k": changed}, dtype="string"))
    in_parts = f"coalesce(\"{key}\", {_NULL_KEY}) IN (SELECT coalesce(k, {_NULL_KEY}) FROM _parts)"
    try:
        con.execute(f'DELETE FROM "{name}" WHERE {in_parts}')
        for rel in relations:
            con.execute(f'CREATE OR REPLACE TEMP VIEW "{rel}" AS SELECT * FROM "{db}".main."{rel}" WHERE {in_parts}')
        con.execute(f'INSERT INTO "{name}" SELECT * FROM ({body})')
    finally:
        for rel in relations:
            con.execute(f'DROP VIEW IF EXISTS temp.main."{rel}"')
        con.unregister("_parts")


def create_relation(con, name: str, sql: str, files: dict[str, str]) -> Refresh:
    """Create or refresh `name` as its SQL file says (`files`: every SQL file by relation name)."""
    body = sql.rstrip().rstrip(";")
    row = con.execute("SELECT table_type FROM information_schema.tables WHERE table_name = ? "
                      "AND table_schema = 'main' AND table_catalog = current_database()", [name]).fetchall()
    present = row[0][0] if row else None
    if materialization(sql) == "view":
        if present == "BASE TABLE":
            con.execute(f'DROP TABLE "{name}"')
        con.execute(f'CREATE OR REPLACE VIEW "{name}" AS {body}')
        return Refresh("view")
    fp = fingerprint(con, name, files)
    versions = relation_versions(con)
    if present == "BASE TABLE" and versions.get(name) == fp:
        return Refresh("unchanged")
    key = partition_key(sql)
    reads = sql_dependencies(sql)
    sql_fp = _sha([name, sql])
    hashes = _partition_hashes(con, reads, key) if key and not any(r in files for r in reads) else None
    if present == "BASE TABLE" and hashes is not None and versions.get(f"{name}:sql") == sql_fp:
        before = _stored_partitions(con, name)
        changed = sorted((k for k in set(hashes) | set(before) if hashes.get(k) != before.get(k)),
                         key=lambda k: (k is None, k or ""))
        if changed:
            _refresh_partitions(con, name, body, reads, key, changed)
            _store_partitions(con, name, hashes, changed)
        record_versions(con, {name: fp})
        return Refresh("partitions", len(changed))
    if present == "VIEW":
        con.execute(f'DROP VIEW "{name}"')
    con.execute(f'CREATE OR REPLACE TABLE "{name}" AS {body}')
    if hashes is not None:
        _store_partitions(con, name, hashes)
    record_versions(con, {name: fp, f"{name}:sql": sql_fp})
    return Refresh("rebuilt")
