"""README.md's analyst questions: exactly the SQL printed there, run on the bundled sample, gives
exactly the output printed under it."""
from __future__ import annotations

import importlib.util

import duckdb
import pytest

from tests.conftest import ROOT, copy_samples, run_job

spec = importlib.util.spec_from_file_location("readme_queries", ROOT / "scripts" / "readme_queries.py")
readme = importlib.util.module_from_spec(spec)
spec.loader.exec_module(readme)
QUESTIONS = readme.questions(readme.README.read_text(encoding="utf-8"))


def test_readme_has_at_least_six_questions():
    assert len(QUESTIONS) >= 6
    assert all(out.strip() for _, out in QUESTIONS)


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("readme")
    raw, wh = copy_samples(tmp / "raw"), tmp / "wh"
    run_job(raw, wh)
    con = duckdb.connect(str(wh / "zhengfa_read.duckdb"), read_only=True)  # as the README says to query
    yield con
    con.close()


@pytest.mark.parametrize("i", range(len(QUESTIONS)))
def test_printed_sql_gives_the_printed_output(snapshot, i):
    sql, printed = QUESTIONS[i]
    assert readme.answer(snapshot, sql) == printed
