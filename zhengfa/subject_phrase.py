"""What a figure counts: the subject phrase, from the clause before the figure or the noun phrase
after it, lists that distribute over several subjects, and the subjects of ranks."""
from __future__ import annotations

import re
from functools import lru_cache

from zhengfa import data_files, regions, subjects
from zhengfa.figures import Figure, find_figures
from zhengfa.kinds import change_at, strip_change
from zhengfa.model import Metric

_OBJECT_HEADS = ("案件", "纠纷", "事件", "事项", "人员", "嫌疑人", "罪犯", "被告人")  # nouns a bare verb can borrow (审执结 → 审执结案件)
_NOUN_CORE = ("n", "vn", "nz", "nt", "ns", "nr", "ng", "j", "i", "l", "eng", "s", "k", "h")
_MODIFIER = ("a", "an", "b", "v", "vd", "f")


@lru_cache(maxsize=1)
def _event_nouns() -> list[str]:
    return data_files.read_lines("event_nouns.txt")


_YEAR_WORD = r"(?:(?:19|20)\d{2}\s*年(?:底|末)?|去年|上年|前年|今年)"
_FROM_YEAR = re.compile(r"(由|从)\s*" + _YEAR_WORD + r"?的?\s*$")
_PURPOSE = re.compile(r"^(?:用于|推动|支持|推进|实施|开展|建设|打造|保障)(.{2,20}?)(?=[,，;；。、]|$)")
_TO_YEAR = re.compile(r"^[,，]?\s*(?:增至|增加到|增加至|增长到|增长至|升至|上升到|上升至|提高到|提高至|提升到|提升至|"
                      r"降至|降到|下降到|下降至|减少到|减少至|减至)\s*" + _YEAR_WORD + r"?的?\s*$")
_MEMBERS = re.compile(r"^(?:抓获|查获|打掉|打击)?(?:团伙|组织|集团|犯罪)?成员$")
_SUSPECTS = re.compile(r"^(?:抓获|查获)?((?:犯罪)?嫌疑人)$")
_GROUP_HEAD = re.compile(r"(团伙|集团|组织|犯罪网络)$")
_STRIKE_VERB = re.compile(r"^(?:共|累计)?(?:打掉|摧毁|打击|破获|侦破|查处|铲除|捣毁|打垮)")


@lru_cache(maxsize=1)
def _anaphora() -> tuple[str, ...]:
    return tuple(data_files.read_lines("subject_anaphora.txt"))


def subject_of(text: str, clause: str, sentence: str, head: Figure, window_start: int,
               prev_rows: list[Metric], adjacent: bool, consumed: int, place_labels: list[str],
               sentence_rows: list[Metric] = ()) -> str:
    """What a figure counts, with the qualifiers the sentence gives it: the phrase before it (or
    the noun phrase after it), resolved against the figures before it in the sentence when it only
    points at them (这一数字, 由…增至…, 涉及…人, 抓获成员 after 打掉…团伙)."""
    recent = list(sentence_rows) or list(prev_rows)
    if recent and _TO_YEAR.match(text):
        return recent[-1].subject  # 由2021年的210件增至2023年的265件: the same measure, later
    text = _FROM_YEAR.sub("", text)
    subj = _subject(text, clause, sentence, head, window_start, prev_rows, adjacent, consumed, place_labels,
                    sentence_rows)
    if recent and subj in _anaphora():
        return recent[-1].subject  # 去年这一数字为95.1分
    if recent and subj.startswith("涉及") and recent[-1].subject and not recent[-1].subject.startswith("涉及"):
        return recent[-1].subject + (subj if subj != "涉及" else "涉及人数")  # 纠正冤错案件12件、涉及19人
    members, suspects = _MEMBERS.match(subj), _SUSPECTS.match(subj)
    if (members or suspects) and recent and _GROUP_HEAD.search(recent[-1].subject):
        # the gangs counted just before: 打掉盗窃犯罪团伙6个，抓获成员41人 → 盗窃犯罪团伙成员;
        # 打掉7个养老诈骗团伙，抓获嫌疑人126人 → 养老诈骗嫌疑人
        group = _STRIKE_VERB.sub("", recent[-1].subject)
        if members:
            return group + "成员"
        qualifier = _GROUP_HEAD.sub("", group)
        head_noun = suspects.group(1)
        if head_noun.startswith("犯罪"):
            qualifier = re.sub(r"犯罪$", "", qualifier)
        first = subjects.words(qualifier)[:1]
        if len(qualifier) >= 2 and not (first and first[0][1] == "v"):  # 新增查办…: a verb, not a crime type
            return qualifier + head_noun
    if recent and subj in regions.gazetteer().by_name:
        return recent[-1].subject  # 其中樊城区4个: a part of the count before, in its own area
    purpose = _PURPOSE.match(sentence[head.end:])
    if purpose and subj and subjects.trailing_verb(subj) == subj:
        return purpose.group(1) + subj  # 投入15亿元推动“雪亮工程”升级迭代 → “雪亮工程”升级迭代投入
    if len(subj) <= 1:
        rest = _continuation(sentence, head, "")
        rest = subjects.trim(rest)
        if len(rest) >= 2:
            return rest  # 分3批次集中销毁毒品: what the batches did
    return subj


def _subject(text: str, clause: str, sentence: str, head: Figure, window_start: int,
             prev_rows: list[Metric], adjacent: bool, consumed: int, place_labels: list[str],
             sentence_rows: list[Metric] = ()) -> str:
    if adjacent and prev_rows:
        # 打掉恶势力组织3个31人 / 审查起诉案件1536件2108人: a second unit on the same subject
        base = prev_rows[0].subject
        first_unit = prev_rows[0].unit
        if first_unit in ("个", "支", "伙") and head.unit in ("人", "名"):
            return base + "成员"
        if head.unit in ("人", "名"):
            return re.sub(r"(案件|案)$", "", base) + "人数"
        return base
    t = text
    if consumed and place_labels:
        t = subjects.trim(clause, places=False)[consumed:]
        t = re.sub(r"^[两二三四五六七八九十]+[省市区县地]", "", t)
        if change_at(t):
            t = strip_change(t)
    subj = subjects.trim(t)
    after = _noun_after(sentence, head)
    if after:
        listing = re.search(r"(等|和|及|与|、)\s*$", t)
        verb = subjects.trailing_verb(subj) if subj else ""
        if not subj:
            # 3项矛调经验入选全省…: the noun after the figure, with what it did
            return after + _continuation(sentence, head, after)
        if listing:
            # 审限内结案率等11个指标实现同比优化: the examples name the kind, the noun names the thing
            return after + _continuation(sentence, head, after)
        if verb:
            head_part = subj[: len(subj) - len(verb)]
            if len(head_part) <= 6 or head_part.startswith(("在", "于", "对", "向", "为", "从")):
                # 去年在主城区新建8个标准街面警务站 → 新建标准街面警务站
                return verb + after
            # 出台政法机关护航高质量发展“20条措施” → …发展措施: the verb is not the governing one
            return subj + after
    if re.fullmatch(r"[\u4e00-\u9fff]{1,3}[级类型]", subj) and prev_rows:
        # 建成示范村58个，其中省级6个、市级21个 → 省级示范村, 市级示范村
        noun = _drop_leading_verbs(prev_rows[-1].subject)
        return subj + re.sub(r"^[\u4e00-\u9fff]{1,3}[级类型]", "", noun) if re.match(r"^[\u4e00-\u9fff]{1,3}[级类型]", noun) and len(noun) > 4 else subj + noun
    if subj and prev_rows and re.match(r"^\s*、", text) and len(subj) <= 4:
        if subjects.trailing_verb(subj) and head.unit in ("人", "名"):
            return subj + "人数"  # 批准逮捕2.1万人、提起公诉5.7万人
        if not subjects.trailing_verb(subj):
            # 打掉电诈团伙20个、窝点20个: the list item shares the verb and modifiers
            # (the previous subject's head, as long as this item, gives way to it)
            prev = prev_rows[-1].subject
            stem = prev[: len(prev) - len(subj)] if len(prev) > len(subj) else ""
            return stem + subj if stem and not stem.endswith(subj) else subj
    if subj.startswith("占") and prev_rows:
        return prev_rows[-1].subject + subj  # 诉求8600余件，占全市总数的37.5%
    if re.search(r"[率比]$", subj) and len(subj) <= 3 and prev_rows:
        # 审结民商事案件1.64万件，调撤率达57.3% → 民商事案件调撤率
        noun = _drop_leading_verbs(prev_rows[-1].subject)
        if noun and not noun.endswith(subj) and not subj.startswith(noun):
            return noun + subj
    if not subj and prev_rows and head.unit != prev_rows[0].unit and head.unit in ("人", "名"):
        return re.sub(r"(案件|案)$", "", prev_rows[0].subject) + "人数"
    if (subjects.is_generic(subj) or len(subj) <= 2) and window_start > 0:
        prior = sentence[:window_start]
        prior_clause = re.split(r"[,，;；:：]|——", prior.rstrip(",，;；:： "))[-1]
        if prev_rows and prior_clause and find_figures(prior_clause):
            # 审执结3.98万件 after 受理各类案件4.12万件: borrow the head noun of the last subject
            if subj and subjects.trailing_verb(subj) == subj:
                same_unit = [r for r in reversed(sentence_rows) if r.unit == head.unit and r.kind != "rank"] or prev_rows
                last = subjects.words(same_unit[0].subject)
                noun = last[-1][0] if last and last[-1][0].endswith(_OBJECT_HEADS) else ""
                return subj + noun  # 审执结 + 案件; 破案 after 立案 stays 破案
            if subj and not subjects.is_generic(subj):
                return subj  # 结案13.9万件
            return prev_rows[-1].subject + subj  # 金额271万元
        if not subj and head.unit_class in ("percent", "points", "tenth", "none", "count", "money"):
            # 死亡人数为历史最低，较2019年下降27.5%: what the clause before is about
            topic = re.split(r"(为|是|达到|达|降至|降到|保持|实现|创)", prior_clause)[0]
            topic = subjects.trim(topic)
            if len(topic) >= 2 and not find_figures(prior_clause):
                return topic
        obj = _clause_object(prior_clause)
        if not obj and prev_rows:
            obj = prev_rows[-1].subject
        subj = (obj + subj) if obj else subj
    elif 0 < len(subj) <= 4 and window_start > 0:
        # 为居民购买社会治安综合保险,全年理赔案件283件: the clause before names what was claimed on
        prior = sentence[:window_start].rstrip(",，;；:： ")
        prior_clause = re.split(r"[,，;；:：]|——", prior)[-1]
        if prior_clause and not find_figures(prior_clause):
            obj = _clause_object(prior_clause).strip("“”\"'‘’()")
            if (obj and 2 <= len(obj) <= 12 and not obj.endswith(subj)
                    and not obj.endswith(tuple(_event_nouns()))):
                subj = obj + subj
    return subj


def _drop_leading_verbs(subject: str) -> str:
    ws = subjects.words(subject)
    i = 0
    while i < len(ws) and ws[i][1].startswith("v") and ws[i][1] != "vn":
        i += 1
    return "".join(w for w, _ in ws[i:])


def _clause_object(clause: str) -> str:
    """What a figure-free clause is about: the object after its last verb, or the clause itself."""
    t = subjects.trim(clause)
    if not t:
        return ""
    ws = subjects.words(t)
    if ws and ws[0][1].startswith(("n", "a", "b", "j", "vn")) and len(t) <= 16:
        return t  # 群众安全感调查测评: the clause is itself a noun phrase
    obj = subjects.last_verb_object(t)
    obj = subjects.trim(obj) if obj else ""
    if obj and len(obj) >= 2:
        return obj
    return t if len(t) <= 16 else ""


def _noun_after(sentence: str, head: Figure) -> str:
    """The noun phrase right after a figure (新建8个标准街面警务站 → 标准街面警务站)."""
    tail = sentence[head.end:]
    if not tail:
        return ""
    if tail.startswith(("“", "\"")):
        m = re.match(r"“[^”]{1,20}”|\"[^\"]{1,20}\"", tail)
        return m.group() if m else ""
    if not re.match(r"[\u4e00-\u9fff]", tail):
        return ""
    tail = re.split(r"[,，;；:：。、!！?？]|和|及|与|以及|的|等|被", tail)[0]
    tail = re.split(r"\d", tail)[0]
    ws = subjects.words(tail)
    out: list[str] = []
    has_noun = False
    for i, (w, flag) in enumerate(ws):
        nxt = ws[i + 1][1] if i + 1 < len(ws) else ""
        if w in "()":
            out.append(w)
        elif flag.startswith(_NOUN_CORE) and flag not in ("nr",) or (out and out[-1] == "("):
            out.append(w)
            has_noun = True
        elif flag in _MODIFIER and not has_noun and _modifies_noun(ws, i):
            out.append(w)  # 养老诈骗团伙: a run of modifiers before the noun
        elif flag in _MODIFIER and nxt.startswith(_NOUN_CORE) and (not has_noun or flag != "v"):
            out.append(w)  # 涉案企业, 在职党员, 困难当事人
        elif flag.startswith("v") and i == len(ws) - 1 and len(w) == 1 and has_noun:
            out.append(w)  # 警务站
        else:
            break
    phrase = "".join(out)
    if phrase.count("(") != phrase.count(")"):
        phrase = phrase.split("(")[0]
    return phrase if len(phrase) >= 2 else ""


def _modifies_noun(ws: list[tuple[str, str]], i: int) -> bool:
    """Whether tokens i, i+1 (modifiers, at most two) lead straight to a noun."""
    j = i + 1
    while j < len(ws) and j <= i + 2 and (ws[j][1] in _MODIFIER or ws[j][1] == "vn"):
        j += 1
    return j < len(ws) and j > i + 1 and ws[j][1].startswith(_NOUN_CORE) and ws[j][1] != "nr"


def _continuation(sentence: str, head: Figure, after: str) -> str:
    """The verb phrase following a figure's noun, up to the clause end (…入选全省“枫桥式工作法”)."""
    rest = sentence[head.end + len(after):]
    rest = re.split(r"[,，;；:：。!！?？、]|和|及|与|以及", rest)[0]
    rest = re.split(r"\d", rest)[0]
    rest = re.sub(r"^(全部|均|都|已|先后|共|还)", "", rest)
    return rest[:24]


def split_subjects(subj: str) -> list[str]:
    tiers = re.match(r"^([\u4e00-\u9fff])、([\u4e00-\u9fff])(?:、([\u4e00-\u9fff]))?[两二三四]级(.+)$", subj)
    if tiers:
        # 县、乡两级综治中心达标率 → 县级…, 乡级…
        return [f"{t}级{tiers.group(4)}" for t in tiers.groups()[:3] if t]
    parts = [p for p in re.split(r"、|和|及|与", subj) if p]
    if len(parts) <= 1 or any(re.match(r"^(第|[0-9一二三四五六七八九十]+[批级类项])", p) for p in parts) or any(len(p) < 2 for p in parts):
        return [subj]
    # share the head noun: 盗窃、诈骗案件立案数 → 盗窃案件立案数; 覆盖率、联网率 → 视频监控联网率
    last = parts[-1]
    first_word, rest = subjects.head_split(last)
    out = []
    for p in parts[:-1]:
        if len(p) <= 3 and rest and len(last) >= 4:
            out.append(p + rest)
        else:
            out.append(p)
    out.append(last)
    if len(parts[0]) >= 6:
        prefix = subjects.drop_last_word(parts[0])
        out = [out[0]] + [(prefix + p if len(p) <= 4 and prefix else p) for p in out[1:]]
    return out


def rank_subjects(subj: str, before: str, prev_clause_rows: list[Metric], prev_rows: list[Metric], head: Figure) -> list[str]:
    scope = f"({head.rank_scope})" if head.rank_scope else ""
    base = subj
    base = re.sub(r"(全[国省市区县州]|本[省市区县])[\u4e00-\u9fff]{0,6}$", "", base) if head.rank_scope else base
    base = re.sub(r"(均|分别)?(排名|位列|位居|排|列|居|名列)$", "", base)
    base = subjects.trim(re.sub(r"(均|分别)$", "", base))  # 考核连续三年位居 → 考核
    if base in ("", "降幅", "增幅", "成绩", "得分", "排名") or subjects.is_generic(base):
        source = prev_clause_rows or prev_rows
        if "均" in before and len(source) > 1:
            return [r.subject + scope for r in source]
        if source:
            r = source[-1]
            implied = r.kind == "change" and r.unit != "个百分点" and not re.search(r"[率感度比]$", r.subject)
            extra = base if base in ("降幅", "增幅") else (("降幅" if r.value < 0 else "增幅") if implied else "")
            return [r.subject + extra + scope]
    if "均" in before:
        parts = split_subjects(base)
        if len(parts) > 1:
            return [p + scope for p in parts]
    return [base + scope]
