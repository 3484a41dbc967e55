"""Synthetic benchmark corpus: many plausible work-report articles made from the five samples.

Each generated document takes one of data/sample_corpus/*.txt as a template and
  * swaps its places (厦门/同安/思明/湖里/随州/淄博 … and a few streets) for a real prefecture,
    three of its districts and some of their streets (REGIONS below; checked against the
    jionlp division gazetteer the project uses),
  * shifts every year 2018–2029 by one offset per document, so the template's report year
    lands in 2019..2024 and 去年/今年 stay consistent,
  * multiplies Arabic figures followed by a measure word or %/‰ (件, 人, 万元, 亿元, 个 …)
    by a random factor in 0.5..1.5, keeping their decimals (years, dates, ordinals untouched),
  * shuffles the prose paragraphs of the body; the first three non-empty lines and the short
    lines (headings, captions, bylines, footers) keep their positions.

Everything is derived from a per-document random.Random(f"...:{seed}:{i}"), so the corpus is
the same for a seed on any machine, and document i is `variant_text(i, seed)`.

    python bench/make_corpus.py --out DIR --n 10000 --seed 1

Importable: make_corpus(out, n, seed) -> list[Path], variant_text(i, seed) -> str,
doc_name(i, seed) -> str, mutate_file(path, seed) -> (old, new).
"""
from __future__ import annotations

import argparse
import hashlib
import random
import re
import sys
import time
from collections import Counter
from functools import lru_cache
from pathlib import Path

SAMPLE_DIR = Path(__file__).resolve().parent.parent / "data" / "sample_corpus"

# (province, province short name, prefecture, a landmark, [(district, [three 街道])] × 3)
REGIONS: list[tuple[str, str, str, str, list[tuple[str, list[str]]]]] = [
    ("四川省", "四川", "成都市", "浣花溪", [
        ("武侯区", ["浆洗街街道", "双楠街道", "簇桥街道"]),
        ("锦江区", ["春熙路街道", "水井坊街道", "书院街街道"]),
        ("青羊区", ["少城街道", "草堂街道", "府南街道"])]),
    ("湖南省", "湖南", "长沙市", "橘子洲", [
        ("雨花区", ["侯家塘街道", "东塘街道", "砂子塘街道"]),
        ("岳麓区", ["咸嘉湖街道", "学士街道", "银盆岭街道"]),
        ("开福区", ["伍家岭街道", "四方坪街道", "望麓园街道"])]),
    ("浙江省", "浙江", "宁波市", "三江口", [
        ("鄞州区", ["东柳街道", "下应街道", "中河街道"]),
        ("海曙区", ["西门街道", "南门街道", "段塘街道"]),
        ("江北区", ["孔浦街道", "庄桥街道", "甬江街道"])]),
    ("山东省", "山东", "青岛市", "栈桥", [
        ("黄岛区", ["薛家岛街道", "辛安街道", "隐珠街道"]),
        ("市南区", ["湛山街道", "八大峡街道", "八大湖街道"]),
        ("崂山区", ["金家岭街道", "中韩街道", "沙子口街道"])]),
    ("浙江省", "浙江", "绍兴市", "鉴湖", [
        ("柯桥区", ["华舍街道", "柯岩街道", "安昌街道"]),
        ("越城区", ["府山街道", "塔山街道", "灵芝街道"]),
        ("上虞区", ["曹娥街道", "崧厦街道", "梁湖街道"])]),
    ("江苏省", "江苏", "南京市", "玄武湖", [
        ("鼓楼区", ["华侨路街道", "中央门街道", "幕府山街道"]),
        ("玄武区", ["新街口街道", "梅园新村街道", "锁金村街道"]),
        ("江宁区", ["秣陵街道", "汤山街道", "湖熟街道"])]),
    ("浙江省", "浙江", "杭州市", "西溪湿地", [
        ("西湖区", ["北山街道", "灵隐街道", "翠苑街道"]),
        ("拱墅区", ["武林街道", "朝晖街道", "和睦街道"]),
        ("余杭区", ["良渚街道", "仓前街道", "闲林街道"])]),
    ("湖北省", "湖北", "武汉市", "东湖", [
        ("江岸区", ["后湖街道", "塔子湖街道", "丹水池街道"]),
        ("洪山区", ["卓刀泉街道", "关山街道", "梨园街道"]),
        ("武昌区", ["水果湖街道", "珞珈山街道", "积玉桥街道"])]),
    ("河南省", "河南", "郑州市", "如意湖", [
        ("金水区", ["花园路街道", "文化路街道", "丰产路街道"]),
        ("二七区", ["五里堡街道", "嵩山路街道", "京广路街道"]),
        ("中原区", ["林山寨街道", "秦岭路街道", "绿东村街道"])]),
    ("陕西省", "陕西", "西安市", "大雁塔", [
        ("雁塔区", ["小寨路街道", "电子城街道", "丈八沟街道"]),
        ("碑林区", ["南院门街道", "文艺路街道", "太乙路街道"]),
        ("未央区", ["大明宫街道", "张家堡街道", "谭家街道"])]),
    ("山东省", "山东", "济南市", "大明湖", [
        ("历下区", ["泉城路街道", "大明湖街道", "文东街道"]),
        ("槐荫区", ["五里沟街道", "匡山街道", "段店北路街道"]),
        ("天桥区", ["无影山街道", "北园街道", "官扎营街道"])]),
    ("云南省", "云南", "昆明市", "滇池", [
        ("五华区", ["华山街道", "护国街道", "莲华街道"]),
        ("盘龙区", ["拓东街道", "青云街道", "东华街道"]),
        ("官渡区", ["关上街道", "吴井街道", "金马街道"])]),
    ("江苏省", "江苏", "苏州市", "金鸡湖", [
        ("姑苏区", ["沧浪街道", "吴门桥街道", "金阊街道"]),
        ("吴中区", ["长桥街道", "香山街道", "横泾街道"]),
        ("相城区", ["元和街道", "澄阳街道", "漕湖街道"])]),
    ("江苏省", "江苏", "无锡市", "蠡湖", [
        ("梁溪区", ["崇安寺街道", "南禅寺街道", "广益街道"]),
        ("滨湖区", ["蠡园街道", "河埒街道", "荣巷街道"]),
        ("锡山区", ["东亭街道", "安镇街道", "东北塘街道"])]),
    ("浙江省", "浙江", "温州市", "江心屿", [
        ("鹿城区", ["五马街道", "松台街道", "广化街道"]),
        ("瓯海区", ["梧田街道", "南白象街道", "娄桥街道"]),
        ("龙湾区", ["永中街道", "蒲州街道", "状元街道"])]),
    ("广东省", "广东", "广州市", "珠江", [
        ("天河区", ["五山街道", "林和街道", "员村街道"]),
        ("越秀区", ["六榕街道", "流花街道", "农林街道"]),
        ("海珠区", ["琶洲街道", "海幢街道", "昌岗街道"])]),
    ("广东省", "广东", "深圳市", "深圳湾", [
        ("福田区", ["华富街道", "园岭街道", "香蜜湖街道"]),
        ("南山区", ["粤海街道", "蛇口街道", "西丽街道"]),
        ("罗湖区", ["笋岗街道", "翠竹街道", "黄贝街道"])]),
]

# Place names in the templates → slot in the chosen region. d1..d3 are its districts
# (full name; "s" = short name), t<d><k> the k-th street of district d (short name).
TEMPLATE_PLACES: dict[str, str] = {
    "山东省": "{prov}", "山东": "{prov_s}",
    "厦门市": "{city}", "厦门": "{city_s}",
    "随州市": "{city}", "随州": "{city_s}",
    "淄博市": "{city}", "淄博": "{city_s}",
    "同安区": "{d1}", "同安": "{d1s}",
    "思明区": "{d1}", "思明": "{d1s}",
    "湖里区": "{d2}", "湖里": "{d2s}",
    "随县": "{d1}", "广水": "{d2s}", "曾都区": "{d3}",
    "西柯": "{t11}", "莲前": "{t11}", "开元": "{t12}",
    "殿前": "{t21}", "江头": "{t22}", "金山": "{t23}",
    "筼筜湖": "{landmark}",
    "厦政法宣": "{city_s}政法宣", "留厦": "留{city_s}", "“淄”": "“{city_c}”",
}
_PLACE_RE = re.compile("|".join(re.escape(k) for k in sorted(TEMPLATE_PLACES, key=len, reverse=True)))

# Measure words after a figure (counts, money, percent). Time and ordinal words (年 月 日 天
# 周 小时 期 届 批 版 级 …) are deliberately absent: those numbers are never touched.
_UNITS = ["个百分点", "百分点", "%", "‰", "人次", "件次", "户次", "平方米", "公里", "公斤", "千克",
          "元", "人", "名", "位", "起", "宗", "件", "次", "处", "家", "项", "所", "条", "张", "户",
          "支", "份", "吨", "克", "场", "辆", "部", "台", "只", "套", "间", "座", "栋", "艘", "枚",
          "头", "亩", "个(?!月)"]
_FIGURE = (r"(?<![\d.])(?<!\d,)(?<!第)"
           r"(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)"
           r"(?P<mid>[余多]?(?:万亿|千万|百万|亿|万|千)?[余多]?)"
           r"(?P<unit>" + "|".join(_UNITS) + ")")
_YEAR = r"(?<![\d.])(?<!\d,)(?P<year>20(?:1[89]|2\d))(?![\d])(?!\.\d)"
_FIGURE_RE = re.compile(_FIGURE)
_FIGURE_OR_YEAR_RE = re.compile(f"{_FIGURE}|{_YEAR}")
_YEAR_RE = re.compile(_YEAR)

YEAR_RANGE = (2019, 2024)  # where a template's report year may land


def _short(name: str, suffixes: tuple[str, ...]) -> str:
    for s in suffixes:
        if name.endswith(s) and len(name) - len(s) >= 2:
            return name[: -len(s)]
    return name


def _slots(region) -> dict[str, str]:
    prov, prov_s, city, landmark, districts = region
    out = {"prov": prov, "prov_s": prov_s, "city": city, "city_s": _short(city, ("市",)),
           "city_c": city[0], "landmark": landmark}
    for d, (name, towns) in enumerate(districts, 1):
        out[f"d{d}"] = name
        out[f"d{d}s"] = _short(name, ("区", "县", "市"))
        for k, town in enumerate(towns, 1):
            out[f"t{d}{k}"] = _short(town, ("街道",))
    return out


@lru_cache(maxsize=1)
def templates() -> list[tuple[str, int]]:
    """(text, report year) per sample; the report year is the template's most frequent year."""
    out = []
    for path in sorted(SAMPLE_DIR.glob("*.txt")):
        text = path.read_text(encoding="utf-8")
        years = Counter(int(m.group("year")) for m in _YEAR_RE.finditer(text))
        out.append((text, years.most_common(1)[0][0] if years else 2023))
    if not out:
        raise FileNotFoundError(f"no sample articles in {SAMPLE_DIR}")
    return out


def _format_like(value: float, num: str) -> str:
    """Format value with the decimals (and thousands commas) of the original token."""
    decimals = len(num.split(".", 1)[1]) if "." in num else 0
    if decimals:
        s = f"{value:,.{decimals}f}" if "," in num else f"{value:.{decimals}f}"
    else:
        v = int(value + 0.5)
        s = f"{v:,d}" if "," in num else str(v)
    return s


def _scaled(num: str, unit: str, factor: float, rng: random.Random) -> str:
    old = float(num.replace(",", ""))
    if old == 0:
        return num
    new = old * factor
    if unit in ("%", "‰") and old <= (100 if unit == "%" else 1000):
        cap = 100 if unit == "%" else 1000
        if new >= cap:  # a rate stays a rate: 99.451% may rise, but not past the cap
            new = cap if old == cap else old + (cap - old) * rng.random()
    s = _format_like(new, num)
    if float(s.replace(",", "")) == 0:  # never turn a count into zero
        decimals = len(num.split(".", 1)[1]) if "." in num else 0
        s = _format_like(10 ** -decimals, num)
    return s


def _perturb(text: str, rng: random.Random, year_delta: int) -> str:
    def repl(m: re.Match) -> str:
        if m.group("year"):
            return str(int(m.group("year")) + year_delta)
        num = _scaled(m.group("num"), m.group("unit"), rng.uniform(0.5, 1.5), rng)
        return num + m.group("mid") + m.group("unit")

    return _FIGURE_OR_YEAR_RE.sub(repl, text)


def _is_prose(line: str) -> bool:
    s = line.strip()
    return len(s) >= 40 and "。" in s


def _shuffle_paragraphs(text: str, rng: random.Random) -> str:
    lines = text.split("\n")
    nonempty = [k for k, line in enumerate(lines) if line.strip()]
    head_end = nonempty[2] + 1 if len(nonempty) >= 3 else len(lines)
    slots = [k for k in range(head_end, len(lines)) if _is_prose(lines[k])]
    paras = [lines[k] for k in slots]
    rng.shuffle(paras)
    for k, para in zip(slots, paras):
        lines[k] = para
    return "\n".join(lines)


def _swap_places(text: str, region) -> str:
    slots = _slots(region)
    return _PLACE_RE.sub(lambda m: TEMPLATE_PLACES[m.group(0)].format(**slots), text)


def variant_text(i: int, seed: int, attempt: int = 0) -> str:
    """Document i of the corpus for `seed` (variant_text(n, seed) is a new one past a corpus of n)."""
    rng = random.Random(f"zhengfa-bench:{seed}:{i}:{attempt}")
    tpls = templates()
    text, report_year = tpls[rng.randrange(len(tpls))]
    region = REGIONS[rng.randrange(len(REGIONS))]
    delta = rng.randint(YEAR_RANGE[0] - report_year, YEAR_RANGE[1] - report_year)
    text = _swap_places(text, region)
    text = _perturb(text, rng, delta)
    return _shuffle_paragraphs(text, rng)


def doc_name(i: int, seed: int) -> str:
    return f"syn{seed}_{i:06d}.txt"


def make_corpus(out: Path, n: int, seed: int) -> list[Path]:
    """Write n documents into `out` (created if needed); returns their paths in index order.
    Documents are pairwise different in content (a clash, never seen so far, is regenerated)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    seen: set[bytes] = set()
    paths = []
    for i in range(n):
        for attempt in range(100):
            data = variant_text(i, seed, attempt).encode("utf-8")
            digest = hashlib.sha256(data).digest()
            if digest not in seen:
                break
        else:
            raise RuntimeError(f"could not make document {i} distinct")
        seen.add(digest)
        path = out / doc_name(i, seed)
        path.write_bytes(data)
        paths.append(path)
    return paths


def mutate_file(path: Path, seed: int) -> tuple[str, str]:
    """Change one figure (a number before a measure word or %) in place; returns (old, new)."""
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    figures = list(_FIGURE_RE.finditer(text))
    if not figures:
        raise ValueError(f"{path}: no figure to change")
    rng = random.Random(f"zhengfa-bench-mutate:{seed}:{path.name}")
    m = figures[rng.randrange(len(figures))]
    num, unit = m.group("num"), m.group("unit")
    new = num
    for _ in range(20):
        new = _scaled(num, unit, rng.uniform(0.5, 1.5), rng)
        if new != num:
            break
    if new == num:  # e.g. 100% or a tiny count: move by one step of the last digit
        decimals = len(num.split(".", 1)[1]) if "." in num else 0
        old = float(num.replace(",", ""))
        at_cap = unit in ("%", "‰") and old >= (100 if unit == "%" else 1000)
        new = _format_like(old + (-1 if at_cap else 1) * 10 ** -decimals, num)
    old_token = m.group(0)
    new_token = new + m.group("mid") + unit
    path.write_text(text[: m.start()] + new_token + text[m.end():], encoding="utf-8")
    return old_token, new_token


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--out", type=Path, required=True, help="output directory")
    ap.add_argument("--n", type=int, default=10000, help="number of documents")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    if args.out.exists():
        stale = [p for p in args.out.glob("*.txt") if not p.name.startswith(f"syn{args.seed}_")]
        if stale:
            print(f"warning: {args.out} already holds {len(stale)} other .txt files", file=sys.stderr)
    t0 = time.perf_counter()
    paths = make_corpus(args.out, args.n, args.seed)
    size = sum(p.stat().st_size for p in paths)
    print(f"wrote {len(paths)} documents ({size / 1e6:.1f} MB) to {args.out} "
          f"in {time.perf_counter() - t0:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
