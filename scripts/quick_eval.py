"""Run the text stages straight over a folder and score against a gold file (no Dagster, no warehouse)."""
import json
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from zhengfa.decode import decode  # noqa: E402
from zhengfa.pipeline import process_text  # noqa: E402

folder, gold = Path(sys.argv[1]), sys.argv[2]
out = Path("/tmp/zf_pred.jsonl")
with out.open("w", encoding="utf-8") as f:
    for p in sorted(folder.glob("*.txt")):
        d = decode(p.read_bytes())
        if not d.ok:
            continue
        res = process_text(p.name, d.text)
        for m in res["metrics"]:
            m["source_file"] = p.name
            f.write(json.dumps(m, ensure_ascii=False) + "\n")
subprocess.run([sys.executable, str(Path(__file__).resolve().parent.parent.parent / "shared/eval/score_metrics.py"),
                "--gold", gold, "--pred", str(out), *sys.argv[3:]])
