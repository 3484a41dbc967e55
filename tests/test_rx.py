"""The words a rule's regex cannot match without (zhengfa.rx), read off the parsed pattern: a rule
skipped where its word is absent must be a rule that could not have matched there."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from zhengfa import clean, periods
from zhengfa.rx import may_match, needs

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("pattern, words", [
    ("截至目前", ("截至目前",)),
    ("去年|上年|上一年", ("去年", "上年", "上一年")),
    (r"(\d+)\s*年以来", ("年以来",)),
    (r"近(\d+)年(?!度)", ("近",)),  # the lookahead's 度 is not part of a match
    (r"(?:党的)?十八大以来", ("十八大以来",)),  # an optional part requires nothing
    (r"(?:本届|上届)(?:以来|期间)", ("本届", "上届")),  # either set would do; a tie goes to the first
    (r"\d+[件起]", None),  # classes name no single literal
    (r"(?i)copyright", None),  # case-insensitive: not read
    (r"(?i:abc)年度", ("年度",)),
    (r"(?:案件){2,}", ("案件",)),
    (r"(?:案件)*", None),
])
def test_needed_words(pattern, words):
    assert needs(pattern) == words


def test_may_match_is_false_only_without_the_word():
    rx = re.compile(r"(\d+)\s*年以来")
    assert not may_match(rx, "全市刑事案件下降5%")
    assert may_match(rx, "2019年以来") and rx.search("2019年以来")
    assert may_match(re.compile(r"\d+[件起]"), "anything")  # nothing needed: always tried


def _rules():
    drop, strip, block, _ = clean._rules()
    return [r.rx for r in periods.rules()] + drop + strip + block


def _texts():
    folders = [ROOT / "data" / "sample_corpus", ROOT / "tests" / "data"]
    for folder in folders:
        for p in sorted(folder.rglob("*.txt")):
            try:
                yield p.read_text(encoding="utf-8")
            except UnicodeDecodeError:
                continue


def test_every_match_of_every_rule_contains_a_needed_word():
    """Over the sample articles and the test pages, line by line: wherever a rule of the data files
    matches, the line holds a word the rule needs (so skipping on its absence loses nothing)."""
    rules = [(rx, needs(rx.pattern, rx.flags)) for rx in _rules()]
    assert sum(w is not None for _, w in rules) > len(rules) // 2  # most rules are skipped somewhere
    matched = 0
    for text in _texts():
        for line in clean.normalize(text).split("\n"):
            for rx, words in rules:
                m = rx.search(line)
                if m:
                    matched += 1
                    assert words is None or any(w in m.group(0) for w in words), (rx.pattern, m.group(0))
    assert matched > 100
