"""What a rule's regular expression cannot match without: literal text a cheap `in` test can look
for before the regex scans.

Rule lists (periods.tsv, the cleaning rules) are tried one regex at a time over every clause or
line, and most of them name a word that the text at hand does not contain: 年, 截至, 责任编辑.
`needs(pattern)` reads that word off the parsed pattern (the standard library's own parser), so a
rule is skipped where its word is absent, and the data files stay plain regexes.
"""
from __future__ import annotations

import re
from functools import lru_cache
from re import _parser as _sre  # the parser `re.compile` itself uses

_REPEATS = tuple(op for op in (_sre.MAX_REPEAT, _sre.MIN_REPEAT, getattr(_sre, "POSSESSIVE_REPEAT", None)) if op)
_ATOMIC = getattr(_sre, "ATOMIC_GROUP", None)


def _score(option: tuple[str, ...]) -> tuple[float, int]:
    """A longer word is rarer; a choice of words costs one test each."""
    return min(map(len, option)) / len(option), -len(option)


def _sequence(items) -> tuple[str, ...] | None:
    """Literal strings one of which every match of the sequence `items` contains, or None."""
    best: tuple[str, ...] | None = None
    run = ""

    def consider(option: tuple[str, ...] | None) -> None:
        nonlocal best
        if option and (best is None or _score(option) > _score(best)):
            best = option

    for op, av in items:
        if op is _sre.LITERAL:
            run += chr(av)
            continue
        consider((run,) if run else None)
        run = ""
        if op is _sre.SUBPATTERN:
            _, add_flags, _, sub = av
            if not add_flags & re.IGNORECASE:
                consider(_sequence(sub))
        elif _ATOMIC is not None and op is _ATOMIC:
            consider(_sequence(av))
        elif op in _REPEATS and av[0] >= 1:
            consider(_sequence(av[2]))
        elif op is _sre.BRANCH:
            options = [_sequence(branch) for branch in av[1]]
            if all(options):
                consider(tuple(dict.fromkeys(s for o in options for s in o)))
        # anything else (a class, a lookaround, an anchor, an optional part) requires no literal
    consider((run,) if run else None)
    return best


@lru_cache(maxsize=None)
def needs(pattern: str, flags: int = 0) -> tuple[str, ...] | None:
    """Literal strings one of which occurs in every match of `pattern`; None when the pattern
    requires none, or is case-insensitive or verbose (then it always runs)."""
    try:
        parsed = _sre.parse(pattern, flags)
    except re.error:
        return None
    if parsed.state.flags & (re.IGNORECASE | re.VERBOSE):
        return None
    return _sequence(parsed)


def may_match(rx: re.Pattern, text: str) -> bool:
    """False only when `rx` cannot match anywhere in `text`: a word it needs is absent."""
    words = needs(rx.pattern, rx.flags) if isinstance(rx.pattern, str) else None
    return words is None or any(w in text for w in words)
