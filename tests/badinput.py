"""Bad and tricky input files for the decoder and the ingest pipeline.

``make_bad_corpus(folder)`` writes one file per case into ``folder`` and returns
``{file name: expected outcome}``. Outcomes are

* ``"accepted"``                 -- decodes to article text;
* ``"rejected:<reason prefix>"`` -- ``zhengfa.decode.decode`` rejects it with a reason
  starting with that prefix ("empty", "binary", "too large", "encoding", "html",
  "no Chinese text");
* ``"skipped:symlink"``          -- a symlink; ingestion must not follow it but must
  record that it skipped it.

Besides the cases asked for, three extra files cover the remaining reason prefixes:
English-only text ("no Chinese text"), an HTML shell page with only scripts ("html")
and Latin-1 French text ("encoding").

The oversize case is 3 MB of otherwise valid text: it is only rejected when the
caller passes ``max_bytes=MAX_BYTES`` (2_000_000), as the tests do.

The symlink case points at a file *outside* ``folder``: it is written to a sibling
directory ``<folder>.outside/`` (so use a dedicated sub-folder of a temporary
directory as ``folder``). The target is a valid article, so an ingester that wrongly
follows the link would visibly pick it up.

All article text is invented (places, people and figures are fictional). Everything
is deterministic: the random bytes come from a seeded ``random.Random``.

``EXPECTED_TEXT`` maps the accepted file names to sentences the decoded text must
contain; ``FORBIDDEN_TEXT`` maps file names to text that must *not* survive
decoding (the HTML page furniture).
"""
from __future__ import annotations

import io
import pathlib
import random
import zipfile

MAX_BYTES = 2_000_000

# --- invented article texts -------------------------------------------------------

ARTICLE_UTF8 = """临澜市公安局2023年工作情况报告
来源：临澜日报 2024年1月15日
2023年，全市公安机关坚持以人民为中心，扎实推进平安临澜建设，全市社会治安形势持续平稳向好。
全年共立刑事案件4321起，同比下降12.5%；破获刑事案件2876起，抓获犯罪嫌疑人1534名。
打掉犯罪团伙37个，其中涉黑涉恶团伙5个，查扣涉案资产1.2亿元。
电信网络诈骗案件发案数同比下降21.3%，为群众挽回经济损失3600余万元。
全市道路交通事故死亡人数同比下降8.1%，未发生一次死亡3人以上的较大道路交通事故。
下一步，全市公安机关将持续深化“枫桥经验”，不断提升人民群众的安全感和满意度。
"""
SENT_UTF8 = "打掉犯罪团伙37个，其中涉黑涉恶团伙5个，查扣涉案资产1.2亿元。"

ARTICLE_BOM = """云溪县检察院2022年度工作报告摘要
2022年，云溪县人民检察院共受理审查逮捕案件612件，批准逮捕498人。
受理审查起诉案件903件，提起公诉1127人，办理公益诉讼案件46件。
开展“护航民企”专项行动，帮助企业追回欠款2300万元。
"""
SENT_BOM = "受理审查起诉案件903件，提起公诉1127人，办理公益诉讼案件46件。"

ARTICLE_GB = """江岚市人民法院工作报告（2023年）
全年受理各类案件58210件，审结55986件，结案率96.2%。
审结刑事案件3105件，判处罪犯3870人，其中判处五年以上有期徒刑的412人。
执行到位金额18.7亿元，同比增长9.4%，发布失信被执行人名单2461人次。
全市法院诉前调解成功案件12033件，平均用时17天。
"""
SENT_GB = "执行到位金额18.7亿元，同比增长9.4%，发布失信被执行人名单2461人次。"

ARTICLE_BIG5 = """北嵐市警察局二零二三年治安工作報告
全年受理刑事案件二千一百四十五件，偵破一千七百零三件，破案率百分之七十九點四。
查獲毒品案件二百一十八件，逮捕嫌疑人三百零六名，繳獲各類毒品十二點六公斤。
交通事故死亡人數較去年減少百分之六點二，酒駕取締件數達四千零九十件。
本局將持續強化社區警政，提升民眾安全感。
"""
SENT_BIG5 = "查獲毒品案件二百一十八件，逮捕嫌疑人三百零六名，繳獲各類毒品十二點六公斤。"

ARTICLE_UTF16 = """石楠区司法局2023年工作总结
全年组织开展法治宣传活动286场，受众达12万人次。
人民调解组织共调解矛盾纠纷3412件，调解成功率98.6%。
办理法律援助案件1096件，为困难群众挽回损失820万元。
社区矫正对象再犯罪率控制在0.2%以下。
"""
SENT_UTF16 = "人民调解组织共调解矛盾纠纷3412件，调解成功率98.6%。"

HTML_SENTENCE = "2023年，溪口市公安机关持续开展扫黑除恶常态化斗争，打掉犯罪团伙12个，抓获犯罪嫌疑人164名，破获各类刑事案件389起。"
HTML_NAV = "首页 | 警务公开 | 办事指南 | 互动交流 | 视频专区"
HTML_FOOTER = "版权所有：溪口市公安局网站管理中心 备案号：溪ICP备00000000号"
HTML_PAGE = f"""<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<title>溪口市公安局2023年工作报告</title>
</head>
<body>
<nav class="main-nav"><ul>
<li><a href="/">首页</a> | </li><li><a href="/gk">警务公开</a> | </li><li><a href="/bs">办事指南</a> | </li>
<li><a href="/hd">互动交流</a> | </li><li><a href="/sp">视频专区</a></li>
</ul><p>{HTML_NAV}</p></nav>
<div class="container">
<article>
<h1>溪口市公安局2023年工作报告</h1>
<p>{HTML_SENTENCE}</p>
<p>全年共查处治安案件2715起，行政拘留违法人员903名，全市刑事警情同比下降14.2%。</p>
<p>深入开展反电信网络诈骗宣传，累计劝阻潜在受害群众5620人次，止付冻结涉案资金3100万元。</p>
<p>全市公安机关共办理各类政务服务事项21.4万件，群众满意率达到99.1%。</p>
<p>新的一年，全市公安机关将坚持稳中求进，持续推进更高水平的平安溪口建设，为经济社会发展营造安全稳定的环境。</p>
</article>
</div>
<footer><p>{HTML_FOOTER}</p><p>联系电话：0000-0000000 地址：溪口市滨河路1号</p></footer>
</body>
</html>
"""

ARTICLE_TRUNC = """东篱县公安局2023年上半年工作通报
上半年，全县公安机关共接报警情8214起，同比下降6.7%。
破获刑事案件591起，抓获犯罪嫌疑人377名，其中网上追逃人员23名。
查处交通违法行为41250起，暂扣机动车驾驶证862本。
下半年将继续深化夏季治安打击整治行动，确保全县社会大局持续稳定和谐。
"""
SENT_TRUNC = "破获刑事案件591起，抓获犯罪嫌疑人377名，其中网上追逃人员23名。"

ARTICLE_NAMES = """枫塘镇派出所2023年工作简报
全年调处矛盾纠纷214起，走访辖区群众3600余户。
侦破盗窃案件48起，抓获违法犯罪人员61名，收缴管制刀具17把。
"""
SENT_NAMES = "侦破盗窃案件48起，抓获违法犯罪人员61名，收缴管制刀具17把。"

ARTICLE_BIG = """南沙港区公安分局工作动态
全年开展治安巡逻9812次，查处各类治安案件1234起，同比下降7.3%。
"""

# Cases covering the remaining reason prefixes.
ENGLISH_ONLY = """Annual report of the Lanford city police department (2023)
Criminal cases filed: 4,321, down 12.5% year on year; cases solved: 2,876.
Traffic deaths fell by 8.1%. No Chinese text appears anywhere in this file.
"""
HTML_SHELL = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>页面加载中</title><script>var t = 1;</script></head>
<body><div id="app"></div><div class="loading"><img src="spinner.gif"></div>
<script src="/static/app.js"></script></body></html>
"""
LATIN1_TEXT = ("Rapport annuel de la préfecture de Valbrune : délits constatés en baisse de 7 %, "
               "élucidés à 61 %, sécurité routière améliorée, contrôles renforcés.\n")

ARTICLE_OUTSIDE = """这是符号链接指向的目录外文件。
柳川市公安局全年抓获犯罪嫌疑人999名。
"""

# --- file names ----------------------------------------------------------------

GOOD = "good_utf8.txt"
BOM = "utf8_bom.txt"
GB = "gb18030.txt"
BIG5 = "big5_traditional.txt"
UTF16 = "utf16le_bom.txt"
HTML = "saved_page.txt"
EMPTY = "empty.txt"
WHITESPACE = "whitespace_only.txt"
PNG = "image.png.txt"
ZIP = "archive.zip.txt"
PDF = "document.pdf.txt"
TRUNCATED = "truncated_utf8.txt"
NAME_SPACES = "name with spaces.txt"
NAME_QUOTES = "quote\"double\" and 'single'.txt"
NAME_CHINESE = "临澜市公安局工作报告.txt"
NAME_DASH = "-leading-dash.txt"
NAME_SQL = "x'); DROP TABLE metrics; --.txt"
TOO_LARGE = "too_large.txt"
ENGLISH = "english_only.txt"
HTML_NO_ARTICLE = "script_shell_page.txt"
LATIN1 = "latin1_western.txt"
SYMLINK = "symlink_outside.txt"

EXPECTED_TEXT: dict[str, str] = {
    GOOD: SENT_UTF8,
    BOM: SENT_BOM,
    GB: SENT_GB,
    BIG5: SENT_BIG5,
    UTF16: SENT_UTF16,
    HTML: HTML_SENTENCE,
    TRUNCATED: SENT_TRUNC,
    NAME_SPACES: SENT_NAMES,
    NAME_QUOTES: SENT_NAMES,
    NAME_CHINESE: SENT_NAMES,
    NAME_DASH: SENT_NAMES,
    NAME_SQL: SENT_NAMES,
}
FORBIDDEN_TEXT: dict[str, list[str]] = {
    HTML: ["警务公开", "办事指南", "视频专区", "版权所有", "备案号", "<p>", "<html"],
}


def _truncated_utf8(text: str) -> bytes:
    """UTF-8 bytes of ``text`` cut after the first byte of a 3-byte character near the end."""
    data = text.encode("utf-8")
    # Find the lead byte of the last multi-byte character and keep one of its bytes.
    cut = len(data) - 1
    while cut > 0 and not (data[cut] & 0xE0 == 0xE0):
        cut -= 1
    truncated = data[: cut + 2]  # lead byte + one continuation byte: incomplete sequence
    assert truncated[-2] & 0xF0 == 0xE0 and truncated[-1] & 0xC0 == 0x80
    return truncated


def make_bad_corpus(folder: pathlib.Path) -> dict[str, str]:
    """Write the bad/tricky cases into ``folder``; return {file name: expected outcome}."""
    folder = pathlib.Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(20240115)
    expected: dict[str, str] = {}

    def put(name: str, data: bytes, outcome: str) -> None:
        (folder / name).write_bytes(data)
        expected[name] = outcome

    put(GOOD, ARTICLE_UTF8.encode("utf-8"), "accepted")
    put(BOM, b"\xef\xbb\xbf" + ARTICLE_BOM.encode("utf-8"), "accepted")
    put(GB, ARTICLE_GB.encode("gb18030"), "accepted")
    put(BIG5, ARTICLE_BIG5.encode("big5"), "accepted")
    put(UTF16, b"\xff\xfe" + ARTICLE_UTF16.encode("utf-16-le"), "accepted")
    put(HTML, HTML_PAGE.encode("utf-8"), "accepted")

    put(EMPTY, b"", "rejected:empty")
    put(WHITESPACE, " \t\n\r\n   \n\t\t  \n".encode() + "\u3000\u3000\n".encode("utf-8"), "rejected:empty")

    put(PNG, b"\x89PNG\r\n\x1a\n" + bytes(rng.getrandbits(8) for _ in range(4096)), "rejected:binary")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        info = zipfile.ZipInfo("report.txt", date_time=(2024, 1, 15, 0, 0, 0))  # fixed: deterministic
        zf.writestr(info, ARTICLE_UTF8.encode("utf-8"))
    put(ZIP, buf.getvalue(), "rejected:binary")
    pdf = (b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
           b"2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\nstream\n"
           + bytes(rng.getrandbits(8) for _ in range(2048)) + b"\nendstream\n%%EOF\n")
    put(PDF, pdf, "rejected:binary")

    put(ENGLISH, ENGLISH_ONLY.encode("utf-8"), "rejected:no Chinese text")
    put(HTML_NO_ARTICLE, HTML_SHELL.encode("utf-8"), "rejected:html")
    put(LATIN1, LATIN1_TEXT.encode("latin-1"), "rejected:encoding")

    put(TRUNCATED, _truncated_utf8(ARTICLE_TRUNC), "accepted")

    for name in (NAME_SPACES, NAME_QUOTES, NAME_CHINESE, NAME_DASH, NAME_SQL):
        put(name, ARTICLE_NAMES.encode("utf-8"), "accepted")

    # ~3 MB of valid text: rejected only under max_bytes=MAX_BYTES (2_000_000).
    block = ARTICLE_BIG.encode("utf-8")
    put(TOO_LARGE, block * (3_000_000 // len(block) + 1), "rejected:too large")

    outside = folder.parent / (folder.name + ".outside")
    outside.mkdir(exist_ok=True)
    target = outside / "outside_article.txt"
    target.write_bytes(ARTICLE_OUTSIDE.encode("utf-8"))
    link = folder / SYMLINK
    if link.is_symlink() or link.exists():
        link.unlink()
    link.symlink_to(target.resolve())
    expected[SYMLINK] = "skipped:symlink"
    return expected
