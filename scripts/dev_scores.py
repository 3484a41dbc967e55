"""Score the text stages on every development set, without Dagster: one line per set.

    .venv/bin/python scripts/dev_scores.py                 # the table
    .venv/bin/python scripts/dev_scores.py --errors context --show 20
    .venv/bin/python scripts/dev_scores.py --unmapped context     # figures without an indicator code

Each set is a folder (with its sources.jsonl when it has one) and its gold files, in the
shared folder beside this checkout.
"""
from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SHARED = ROOT.parent / "shared"
SETS = {
    "sample": (ROOT / "data" / "sample_corpus", ["seeds.jsonl"]),
    "synthetic": (SHARED / "corpus_synthetic", ["synthetic.jsonl"]),
    "context": (SHARED / "corpus_context", ["context_local.jsonl", "context_national.jsonl"]),
}


def scorer():
    spec = importlib.util.spec_from_file_location("score_metrics", SHARED / "eval" / "score_metrics.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def predict(folder: Path) -> list[dict]:
    from zhengfa.decode import decode
    from zhengfa.pipeline import process_text
    from zhengfa.sources import read_sources

    meta, _ = read_sources(folder)
    pred = []
    for p in sorted(folder.glob("*.txt")):
        d = decode(p.read_bytes())
        if not d.ok:
            continue
        for m in process_text(p.name, d.text, meta.get(p.name))["metrics"]:
            pred.append({**m, "source_file": p.name})
    return pred


def score_set(name: str):
    folder, golds = SETS[name]
    mod = scorer()
    gold = [g for f in golds for g in mod.load_gold(str(SHARED / "gold" / f))]
    return mod.score(gold, _predictions(name))


def mapped_share(name: str) -> float:
    """Share of a set's extracted figures that get an indicator code, as the warehouse maps them
    (subject, kind, and the actor the sentence names before the figure)."""
    from zhengfa.indicators import indicator

    pred = _predictions(name)
    mapped = sum(indicator(m["subject"], m["kind"], m["sentence"], m["quote"]) is not None for m in pred)
    return mapped / len(pred) if pred else 0.0


_CACHE: dict[str, list[dict]] = {}


def _predictions(name: str) -> list[dict]:
    if name not in _CACHE:
        _CACHE[name] = predict(SETS[name][0])
    return _CACHE[name]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--errors", choices=sorted(SETS), help="print the errors of this set")
    ap.add_argument("--show", type=int, default=15)
    ap.add_argument("--attr", help="only errors of this attribute (region, period, subject, ...)")
    ap.add_argument("--unmapped", choices=sorted(SETS), help="list the subjects of this set that get no indicator code")
    args = ap.parse_args()
    mod = scorer()
    if args.unmapped:
        from collections import Counter

        from zhengfa.indicators import indicator

        left = Counter((m["subject"], m["kind"]) for m in _predictions(args.unmapped)
                       if indicator(m["subject"], m["kind"], m["sentence"], m["quote"]) is None)
        for (subject, kind), n in left.most_common():
            print(f"{n:4} {kind:7} {subject}")
        return 0
    print(f"{'set':10} {'F1':>6} {'P':>6} {'R':>6} {'subject':>8} {'region':>7} {'period':>7} {'approx':>7} {'basis':>6} "
          f"{'mapped':>7}")
    for name in SETS if not args.errors else [args.errors]:
        res, errors = score_set(name)
        a = res["attributes"]
        print(f"{name:10} {res['f1']:6.3f} {res['precision']:6.3f} {res['recall']:6.3f} {a['subject']:8.3f} "
              f"{a['region']:7.3f} {a['period']:7.3f} {a['approx']:7.3f} {a['basis']:6.3f} {mapped_share(name):7.3f}")
        if args.errors:
            n = args.show
            if not args.attr:
                for g in errors["fn"][:n]:
                    print("  missed   " + mod.short(g))
                for p in errors["fp"][:n]:
                    print("  spurious " + mod.short(p))
            for attr, pairs in errors["attr"].items():
                if args.attr and attr != args.attr:
                    continue
                for g, p in pairs[:n]:
                    print(f"  {attr}: gold {mod.short(g)}\n  {' ' * len(attr)}  pred {mod.short(p)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
