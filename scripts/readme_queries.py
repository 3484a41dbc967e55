"""The analyst questions of README.md: each ```sql block under "## Analyst questions" is run
against a warehouse and its result printed as the ```text block after it.

    .venv/bin/python scripts/readme_queries.py warehouse/zhengfa.duckdb           # print every answer
    .venv/bin/python scripts/readme_queries.py warehouse/zhengfa.duckdb --write   # refresh README.md

tests/test_readme.py runs exactly the SQL printed in README.md and compares with the printed output.
"""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
SECTION = "## Analyst questions"
BLOCK = re.compile(r"```sql\n(?P<sql>.*?)```\n+```text\n(?P<out>.*?)```", re.S)


def section_span(text: str) -> tuple[int, int]:
    start = text.index(SECTION)
    nxt = text.find("\n## ", start + len(SECTION))
    return start, nxt if nxt >= 0 else len(text)


def questions(text: str) -> list[tuple[str, str]]:
    """(sql, printed output) of every question in the README's section."""
    a, b = section_span(text)
    return [(m.group("sql"), m.group("out")) for m in BLOCK.finditer(text, a, b)]


def answer(con, sql: str) -> str:
    """A query's result as the README prints it: a plain table, numbers without trailing zeros."""
    df = con.execute(sql).df()
    if df.empty:
        return "(no rows)\n"
    df = df.astype(object).where(df.notna(), "NULL")
    for col in df.columns:
        df[col] = [(f"{v:.2f}".rstrip("0").rstrip(".") if isinstance(v, float) else str(v)) for v in df[col]]
    return df.to_string(index=False) + "\n"


def main() -> int:
    import duckdb

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("database")
    ap.add_argument("--write", action="store_true", help="replace the printed outputs in README.md")
    args = ap.parse_args()
    text = README.read_text(encoding="utf-8")
    con = duckdb.connect(args.database, read_only=True)
    try:
        if not args.write:
            for sql, _ in questions(text):
                print(sql + answer(con, sql))
            return 0
        a, b = section_span(text)
        section = BLOCK.sub(lambda m: f"```sql\n{m.group('sql')}```\n\n```text\n{answer(con, m.group('sql'))}```",
                            text[a:b])
        README.write_text(text[:a] + section + text[b:], encoding="utf-8")
    finally:
        con.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
