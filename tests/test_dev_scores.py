"""The extraction bar on every development set (scored with the shared scorer): the sample, the
synthetic hard cases, and the where-and-when pages with their sources.jsonl."""
import importlib.util
from pathlib import Path

import pytest

from zhengfa.decode import decode
from zhengfa.pipeline import process_text
from zhengfa.sources import read_sources

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
SETS = {
    "sample": (ROOT / "data" / "sample_corpus", [SHARED / "gold" / "seeds.jsonl"]),
    "synthetic": (SHARED / "corpus_synthetic", [SHARED / "gold" / "synthetic.jsonl"]),
    "context": (SHARED / "corpus_context", [SHARED / "gold" / "context_local.jsonl",
                                            SHARED / "gold" / "context_national.jsonl"]),
}


def _scorer():
    path = SHARED / "eval" / "score_metrics.py"
    if not path.exists():
        pytest.skip("the shared scorer is not beside this checkout")
    spec = importlib.util.spec_from_file_location("score_metrics", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.parametrize("name", sorted(SETS))
def test_development_set_meets_the_bar(name):
    scorer = _scorer()
    folder, gold_paths = SETS[name]
    missing = [g for g in gold_paths if not g.exists()]
    if missing:
        pytest.skip(f"{missing} missing")
    meta, problems = read_sources(folder)
    assert not problems, problems
    pred = []
    for p in sorted(folder.glob("*.txt")):
        d = decode(p.read_bytes())
        assert d.ok, p
        for m in process_text(p.name, d.text, meta.get(p.name))["metrics"]:
            pred.append({**m, "source_file": p.name})
    gold = [g for path in gold_paths for g in scorer.load_gold(str(path))]
    result, _ = scorer.score(gold, pred)
    a = result["attributes"]
    assert result["f1"] >= 0.97, result
    assert a["subject"] >= 0.93, a
    assert a["region"] >= 0.97, a
    assert a["period"] >= 0.97, a
    assert a["approx"] >= 0.97, a
    assert a["basis"] >= 0.98, a
