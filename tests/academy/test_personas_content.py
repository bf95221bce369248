"""The role-play personas in content/academy/personas/ follow the academy content contract: both
languages everywhere, a dialogue graph that is closed and reachable, rules that only use the
signals the engine provides, a guard block that can never be rewarded, and numbers that agree with
the rules registry and the KB.

For every persona two scripted runs (a competent agent and a poor one) are walked by a tiny
reference walker written here (no kefu code): concepts are matched as lower-cased substrings of
the reply, every other signal is given explicitly with each reply. These runs document the intent
of each persona for the engine's author: the good run must end `resolved`, the bad one must not.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
PERSONA_DIR = REPO / "content" / "academy" / "personas"
RULES_FILE = REPO / "content" / "policies" / "rules.yaml"
KB_DIR = REPO / "content" / "kb"

LANGS = ("zh", "en")
# the signals the engine derives from every reply (the content contract), besides concept:<name>
SIGNALS = {"greeting", "name", "empathy", "apology", "question", "jargon", "closing", "escalate"}
GUARD_VERDICTS = {"block", "warn"}
GUARD_CATEGORIES = {
    "promise",
    "inducement",
    "advice",
    "credential",
    "offplatform",
    "pii",
    "disclosure",
    "third_party",
}
END_OUTCOMES = {"resolved", "escalated"}

Persona = dict[str, Any]
Reply = tuple[str, frozenset[str]]


def _load() -> dict[str, Persona]:
    personas: dict[str, Persona] = {}
    for path in sorted(PERSONA_DIR.glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        assert isinstance(data, dict), f"{path.name}: not a mapping"
        assert data.get("slug") == path.stem, f"{path.name}: slug must equal the file name"
        personas[path.stem] = data
    return personas


PERSONAS = _load()
SLUGS = sorted(PERSONAS)


def _bilingual(value: Any, where: str) -> None:
    assert isinstance(value, dict), f"{where}: expected {{zh: …, en: …}}"
    for lang in LANGS:
        text = value.get(lang)
        assert isinstance(text, str) and text.strip(), f"{where}: missing {lang}"
    assert set(value) == set(LANGS), f"{where}: only zh and en are allowed, got {sorted(value)}"


def _is_end(state: dict[str, Any]) -> bool:
    return "end" in state


def _condition_atoms(cond: Any) -> Iterable[Any]:
    """Every leaf of a condition: signal names (str) and guard forms (single-key dicts)."""
    if isinstance(cond, str):
        yield cond
    elif isinstance(cond, dict):
        assert len(cond) == 1, f"a condition has exactly one key, got {sorted(cond)}"
        ((key, value),) = cond.items()
        if key in ("all", "any"):
            assert isinstance(value, list) and value, f"{key}: needs a non-empty list"
            for item in value:
                yield from _condition_atoms(item)
        elif key == "not":
            yield from _condition_atoms(value)
        elif key in ("guard", "guard_category"):
            yield cond
        else:
            raise AssertionError(f"unknown condition form {key!r}")
    else:
        raise AssertionError(f"bad condition {cond!r}")


def _holds(cond: Any, signals: frozenset[str]) -> bool:
    if isinstance(cond, str):
        return cond in signals
    ((key, value),) = cond.items()
    if key == "all":
        return all(_holds(c, signals) for c in value)
    if key == "any":
        return any(_holds(c, signals) for c in value)
    if key == "not":
        return not _holds(value, signals)
    return f"{key}:{value}" in signals  # guard:block, guard_category:promise


def _signals(persona: Persona, text: str, given: Iterable[str], lang: str) -> frozenset[str]:
    lowered = text.lower()
    found = {
        f"concept:{name}"
        for name, phrases in persona["concepts"].items()
        if any(phrase.lower() in lowered for phrase in phrases[lang])
    }
    return frozenset(found | set(given))


def _fire(persona: Persona, state: str, signals: frozenset[str]) -> dict[str, Any]:
    for rule in persona["states"][state]["on"]:
        if rule.get("else") is True or _holds(rule["if"], signals):
            return dict(rule)
    raise AssertionError(f"{persona['slug']}/{state}: no rule fired (the last must be else)")


def walk(persona: Persona, replies: list[Reply], lang: str = "zh") -> tuple[str, list[str]]:
    """The reference walker: returns the outcome (resolved / escalated / abandoned / open) and
    the states visited."""
    state = persona["start"]
    mood = persona["mood"]["start"]
    path = [state]
    for turn, (text, given) in enumerate(replies):
        if turn >= persona["max_turns"]:
            return "abandoned", path
        rule = _fire(persona, state, _signals(persona, text, given, lang))
        mood = max(0, mood + int(rule.get("mood", 0)))
        state = rule["goto"]
        path.append(state)
        if mood >= persona["mood"]["escalate_at"]:
            return "escalated", path
        if _is_end(persona["states"][state]):
            return persona["states"][state]["end"], path
    return ("abandoned" if len(replies) >= persona["max_turns"] else "open"), path


# --- the structure every persona must have -------------------------------------------------


def test_at_least_eight_personas_ship() -> None:
    assert len(PERSONAS) >= 8, SLUGS


@pytest.mark.parametrize("slug", SLUGS)
def test_persona_texts_exist_in_both_languages(slug: str) -> None:
    p = PERSONAS[slug]
    for key in ("title", "brief", "hidden_goal"):
        _bilingual(p.get(key), f"{slug}.{key}")
    assert isinstance(p.get("skills"), list) and p["skills"], f"{slug}: skills"
    assert isinstance(p.get("version"), int) and p["version"] >= 1, f"{slug}: version"
    for name, state in p["states"].items():
        # YAML 1.1 reads an unquoted `on:` key as the boolean True: the files write "on":
        assert True not in state, f'{slug}.{name}: write the key as "on" (quoted)'
        _bilingual(state.get("say"), f"{slug}.{name}.say")
        if _is_end(state):
            assert "model_answer" not in state and "on" not in state, f"{slug}.{name}: end state"
            continue
        _bilingual(state.get("model_answer"), f"{slug}.{name}.model_answer")
        for i, rule in enumerate(state["on"]):
            _bilingual(rule.get("why"), f"{slug}.{name}.on[{i}].why")
            if "say" in rule:
                _bilingual(rule["say"], f"{slug}.{name}.on[{i}].say")


@pytest.mark.parametrize("slug", SLUGS)
def test_mood_and_turns_are_sane(slug: str) -> None:
    p = PERSONAS[slug]
    start, escalate_at = p["mood"]["start"], p["mood"]["escalate_at"]
    assert 0 <= start < escalate_at <= 5, (start, escalate_at)
    assert isinstance(p["max_turns"], int) and p["max_turns"] >= 4


@pytest.mark.parametrize("slug", SLUGS)
def test_graph_is_closed_and_reachable(slug: str) -> None:
    p = PERSONAS[slug]
    states = p["states"]
    assert p["start"] in states and not _is_end(states[p["start"]])
    ends = {name: s["end"] for name, s in states.items() if _is_end(s)}
    assert set(ends.values()) <= END_OUTCOMES, ends
    assert "resolved" in ends.values() and "escalated" in ends.values(), ends
    non_end = [n for n, s in states.items() if not _is_end(s)]
    assert 4 <= len(non_end) <= 8, f"{slug}: {len(non_end)} non-end states"
    edges: dict[str, set[str]] = {}
    for name in non_end:
        rules = states[name]["on"]
        assert rules and rules[-1].get("else") is True, f"{slug}.{name}: last rule is not else"
        assert all("else" not in r for r in rules[:-1]), f"{name}: else before the end"
        for rule in rules:
            assert rule["goto"] in states, f"{slug}.{name}: goto {rule['goto']!r} is no state"
            assert isinstance(rule.get("mood", 0), int), f"{slug}.{name}: mood must be an int"
        edges[name] = {r["goto"] for r in rules}
    seen, todo = {p["start"]}, [p["start"]]
    while todo:
        for nxt in edges.get(todo.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    assert seen == set(states), f"{slug}: unreachable {sorted(set(states) - seen)}"


@pytest.mark.parametrize("slug", SLUGS)
def test_conditions_use_only_contract_signals(slug: str) -> None:
    p = PERSONAS[slug]
    for name, state in p["states"].items():
        for rule in state.get("on", []):
            if "else" in rule:
                continue
            for atom in _condition_atoms(rule["if"]):
                if isinstance(atom, dict):
                    ((key, value),) = atom.items()
                    allowed = GUARD_VERDICTS if key == "guard" else GUARD_CATEGORIES
                    assert value in allowed, f"{slug}.{name}: {atom}"
                elif atom.startswith("concept:"):
                    assert atom[8:] in p["concepts"], f"{slug}.{name}: undefined {atom}"
                else:
                    assert atom in SIGNALS, f"{slug}.{name}: unknown signal {atom!r}"


@pytest.mark.parametrize("slug", SLUGS)
def test_concepts_have_phrases_in_both_languages(slug: str) -> None:
    for name, phrases in PERSONAS[slug]["concepts"].items():
        for lang in LANGS:
            items = phrases.get(lang)
            assert isinstance(items, list) and items, f"{slug}.{name}: no {lang} phrases"
            assert all(isinstance(x, str) and x.strip() == x and x for x in items), (
                f"{slug}.{name}.{lang}: {items}"
            )
            # "50,000" unquoted in a flow list splits into "50" and "000 …"
            assert not any(re.match(r"0\d\d\b", x) for x in items), f"{slug}.{name}.{lang}"


@pytest.mark.parametrize("slug", SLUGS)
def test_a_guard_block_is_never_rewarded(slug: str) -> None:
    """The first rule of every non-end state catches a guard block and leads to an end state or
    raises the mood: a blocked reply can never move the customer towards a resolution."""
    p = PERSONAS[slug]
    for name, state in p["states"].items():
        if _is_end(state):
            continue
        rules = state["on"]
        blocking = [r for r in rules if r.get("if") == {"guard": "block"}]
        assert blocking, f"{slug}.{name}: no rule on {{guard: block}}"
        assert rules[0] is blocking[0], f"{slug}.{name}: the guard rule must come first"
        rule = blocking[0]
        target = p["states"][rule["goto"]]
        assert target.get("end") == "escalated" or int(rule.get("mood", 0)) > 0, f"{slug}.{name}"
        # and it fires whatever else the reply contains
        everything = frozenset(SIGNALS | {f"concept:{c}" for c in p["concepts"]} | {"guard:block"})
        assert _fire(p, name, everything) == rule


# --- numbers agree with the rules registry and the KB ---------------------------------------


def _rule_values(rule_id: str) -> dict[str, Any]:
    rules = yaml.safe_load(RULES_FILE.read_text(encoding="utf-8"))["rules"]
    entry = rules[rule_id]["entries"][-1]  # the value in force today (entries are in date order)
    return dict(entry.get("values") or {"value": entry["value"]})


def _kb(slug: str) -> str:
    return (KB_DIR / f"{slug}.md").read_text(encoding="utf-8")


def _all_text(persona: Persona, lang: str) -> str:
    parts = [persona["brief"][lang], persona["hidden_goal"][lang]]
    for state in persona["states"].values():
        parts.append(state["say"][lang])
        if "model_answer" in state:
            parts.append(state["model_answer"][lang])
        for rule in state.get("on", []):
            parts.append(rule["why"][lang])
            if "say" in rule:
                parts.append(rule["say"][lang])
    return "\n".join(parts)


def _pct(value: Any) -> str:
    return f"{round(float(value) * 100)}%"


CN_DIGITS = {1: "一", 2: "两", 3: "三", 5: "五", 15: "十五"}


def _facts() -> list[tuple[str, str, str, list[str]]]:
    """(persona, language, where the number comes from, strings the persona must contain)."""
    review_days = _rule_values("demo_binary_review")["value"]
    hours = str(_rule_values("demo_transfer_hours")["value"])  # "09:00-16:00"
    opens, closes = (h.lstrip("0") for h in hours.split("-"))
    margin = _rule_values("demo_margin_lines")
    cash = int(_rule_values("aml_large_value")["cash"])
    commission = _rule_values("demo_commission")
    complaint_kb = _kb("service.complaint")
    assert "1个工作日内确认受理" in complaint_kb and "15个工作日内给出书面答复" in complaint_kb
    assert "12386" in complaint_kb
    return [
        ("binary-should-have-won", "zh", "demo_binary_review", [f"{review_days}个工作日"]),
        ("deposit-missing", "zh", "demo_transfer_hours", [opens, closes]),
        ("deposit-missing", "en", "demo_transfer_hours", [opens, closes]),
        (
            "margin-call-panic",
            "zh",
            "demo_margin_lines",
            [
                _pct(margin["call_line"]),
                _pct(margin["warning_line"]),
                f"{CN_DIGITS[int(margin['call_deadline'])]}个交易日",
            ],
        ),
        ("margin-call-panic", "en", "demo_transfer_hours", [opens, closes]),
        ("suspicious-funds", "zh", "aml_large_value.cash", [f"{cash // 10000}万"]),
        ("suspicious-funds", "en", "aml_large_value.cash", [f"{cash:,}"]),
        (
            "complaint-escalation",
            "zh",
            "kb service.complaint",
            ["1个工作日", "15个工作日", "12386"],
        ),
        (
            "private-wechat-deal",
            "en",
            "demo_commission",
            [f"{float(commission['rate']) * 100:g}%", f"{int(commission['minimum'])} yuan"],
        ),
    ]


@pytest.mark.parametrize(("slug", "lang", "source", "needles"), _facts())
def test_numbers_agree_with_rules_and_kb(
    slug: str, lang: str, source: str, needles: list[str]
) -> None:
    text = _all_text(PERSONAS[slug], lang)
    for needle in needles:
        assert needle in text, f"{slug} [{lang}]: expected {needle!r} from {source}"


def test_binary_persona_follows_the_settlement_and_dispute_articles() -> None:
    settlement, expiry, dispute = (
        _kb("binary.settlement"),
        _kb("binary.expiry"),
        _kb("binary.dispute"),
    )
    assert "平局" in settlement and "退还本金" in settlement
    assert "到期价" in expiry and "时间戳" in expiry
    assert "逐笔报价" in dispute and "重新结算" in dispute
    text = _all_text(PERSONAS["binary-should-have-won"], "zh")
    for needle in ("平局", "退还本金", "时间戳", "逐笔报价", "重新结算", "不提供二元期权交易"):
        assert needle in text, needle


# --- scripted runs: what a competent agent and a poor one would say (zh) ---------------------
# Each reply is (text, the non-concept signals the engine is expected to derive from it). Concepts
# are found by the walker itself in the text.


def _r(text: str, *signals: str) -> Reply:
    return (text, frozenset(signals))


RUNS: dict[str, dict[str, list[Reply]]] = {
    "binary-should-have-won": {
        "good": [
            _r(
                "您好，我是客服小林，结果和您预想的不一样，您着急我完全理解。麻烦发一下合约编号，"
                "我马上调出服务器记录的价格帮您核对。",
                "greeting",
                "name",
                "empathy",
                "question",
            ),
            _r(
                "查到了：您的入场价是1.08520，到期时刻14:05:00前最后一笔记录的报价时间戳是14:04:59，"
                "价格也是1.08520，等于入场价，按规则算平局，退还本金，所以您收到的是一千元本金。",
            ),
            _r(
                "我理解您看到的截图。手机图表有网络延迟，而且是按秒汇总显示的，和逐笔报价会有差别。"
                "您对报价有疑问，我现在就给您提交正式复核，调出那段时间全部带时间戳的报价重放核对。",
                "empathy",
                "escalate",
            ),
            _r(
                "复核出结果前我没法答应补赔付，这个要跟您讲实话。如果复核确认报价或结算有误，"
                "会按正确结果重新结算，差额补到您账户；您对结果不认可，还可以投诉或打12386找监管部门。",
                "escalate",
            ),
            _r(
                "复核已经提交了，一般2个工作日内答复，结果会通过App消息通知您。还有别的需要帮忙的吗？",
                "closing",
            ),
        ],
        "bad": [
            _r("您好，请问有什么可以帮您？", "greeting", "question"),
            _r("结算是按系统规则来的，到期价说了算，请您理解。"),
            _r("可能是我们系统出错了，我给您反馈一下。", "apology"),
        ],
    },
    "elderly-cannot-order": {
        "good": [
            _r(
                "阿姨您好，我是客服小周。您别着急，咱们慢慢来。您现在点到哪一步了？屏幕上写的什么字？",
                "greeting",
                "name",
                "empathy",
                "question",
            ),
            _r("您弄得都对，就是数量要填100股、200股这样整百的，50股买不了，您改成100股就行。"),
            _r(
                "阿姨，密码您自己记着，不用告诉我，也别告诉别人。我不能替您下单，但我就在电话里陪着您，"
                "我说一步您点一步。",
            ),
            _r(
                "第一步，还在买入这个页面，代码不用动；第二步，数量那一格改成100股；"
                "然后价格那一格您自己定；最后点买入，密码您自己输。",
            ),
            _r("买不买、填多少钱，我不能给您建议，您自己拿主意。股票有涨有跌，也可能亏钱。"),
            _r(
                "“已报”就是单子送到交易所了，还没买上，变成“已成”就是买到了。"
                "还有不明白的随时打电话问我们。",
                "closing",
            ),
        ],
        "bad": [
            _r("您好，请问您的委托是限价委托还是市价委托？", "greeting", "question", "jargon"),
            _r("委托数量不符合规定是因为一手是一百股，请按整手申报。", "jargon"),
            _r("那您把密码告诉我，我帮您下单吧。", "guard:block", "guard_category:credential"),
        ],
    },
    "wants-guarantees": {
        "good": [
            _r(
                "您好，我是客服小陈。亏了钱心里肯定不好受，我理解。但任何产品都不能保证收益，"
                "投资都有风险，可能亏损本金。",
                "greeting",
                "name",
                "empathy",
            ),
            _r(
                "我们没有内部消息，也不能给您推荐个股；我们不会加您微信，只通过官方App和在线客服联系您。"
            ),
            _r(
                "承诺一个月翻倍、让您去别的平台充值的“老师”，是很常见的诈骗，请一定警惕。"
                "想了解公司可以看上市公司的公告和年报，交易所官网都能免费查。",
                "empathy",
            ),
            _r(
                "加不加钱我不能给您建议，得您自己决定，加钱也可能亏得更多。"
                "您可以先在App里做个风险测评，看看自己能承受多大风险。",
            ),
            _r(
                "在App“我的 → 风险测评”里答一份问卷就行，会评出您的风险承受能力。还有其他问题吗？",
                "closing",
                "question",
            ),
        ],
        "bad": [
            _r(
                "您好，我们有几款理财产品收益比较稳，您可以考虑一下。",
                "greeting",
                "guard:block",
                "guard_category:promise",
            ),
            _r(
                "内部消息不方便说，我个人觉得银行股比较稳，可以关注。",
                "guard:block",
                "guard_category:advice",
            ),
        ],
    },
    "deposit-missing": {
        "good": [
            _r(
                "您好，我是客服小吴，钱扣了没看到确实着急，我马上帮您查。请问大概几点转的？"
                "哪家银行？金额多少？转账查询里显示什么状态？",
                "greeting",
                "name",
                "empathy",
                "question",
            ),
            _r(
                "原因找到了：银证转账的服务时间是交易日9:00到16:00，您四点半转的已经过了时间，"
                "所以失败了。银行扣的款会自动冲正，原路退回您的银行卡，一般当日或下一交易日到账。",
            ),
            _r(
                "理解您着急，我现在就给您登记核查，和存管银行对账。麻烦上传一张银行扣款短信的截图，"
                "能看到时间和金额就行。",
                "empathy",
            ),
            _r(
                "这两样都不需要：截图上把卡号中间几位遮住，留后四位就够了；"
                "验证码请不要发给任何人，包括我们。",
            ),
            _r(
                "钱在存管银行，不会丢，核实后原路退回。核查结果会通过工单回复您，也会短信通知您。"
                "还有其他需要帮忙的吗？",
                "closing",
                "question",
            ),
        ],
        "bad": [
            _r("您好，入金一般是实时到账的，请您耐心等待。", "greeting"),
            _r("那您再转一次试试吧。"),
            _r("您这个情况可能是您自己操作错了。"),
            _r("麻烦报一下卡号，我帮您查。", "question"),
        ],
    },
    "fake-agent-wechat": {
        "good": [
            _r(
                "您好，我是客服小郑。这个人不是我们的工作人员，是冒充客服的诈骗，我们从不会加您微信，"
                "也不会索要验证码。请马上在App里修改登录密码和交易密码，再点一键冻结。",
                "greeting",
                "name",
            ),
            _r(
                "改得很及时！交易密码也一起改掉。请不要再回复他，千万别下载任何共享屏幕的软件；"
                "聊天记录截图保存，不要删，报警时用得上。",
            ),
            _r(
                "我理解您很害怕，我们一起看：App“账户安全”里的登录设备、当日委托和资金流水，"
                "有没有不是您做的？钱只能转到您本人名下的银行卡。",
                "empathy",
            ),
            _r(
                "请带上聊天记录拨打110或者反诈专线96110报警。我这边也会把冒充我们客服的情况登记下来，"
                "反馈给安全团队。还有其他需要帮忙的吗？",
                "closing",
                "question",
            ),
        ],
        "bad": [
            _r("您好，我帮您问问是不是我们的同事，请稍等。", "greeting"),
        ],
    },
    "suspicious-funds": {
        "good": [
            _r(
                "您好，我是客服小孙。资金只能在您本人的证券账户和您本人名下的存管银行卡之间划转，"
                "不能转给他人，所有客户都一样。",
                "greeting",
                "name",
            ),
            _r(
                "没有特殊通道，所有客户都一样，资金只能转回您本人名下的银行卡，限额可以在银行App里调整。"
            ),
            _r("这方面我不能就个别客户或交易作说明，我们对每一位客户都依法履行同样的义务。"),
            _r(
                "您可以在App里把资金转回您本人名下的存管银行卡。跟所有客户一样，我们可能会请您更新资料、"
                "说明资金来源，这是例行要求。还有其他需要吗？",
                "closing",
                "question",
            ),
        ],
        "bad": [
            _r(
                "您好，资金只能转到您本人名下的银行卡，不能转给他人。",
                "greeting",
            ),
            _r("您这样每次4万9，其实系统还是会识别成可疑交易的，我们会上报的。"),
        ],
    },
    "margin-call-panic": {
        "good": [
            _r(
                "您好，我是客服小何，收到这种短信肯定着急，我理解。这个比例说白了就是您账户里的资产"
                "除以您借的钱和利息，股价跌了比例就往下掉。",
                "greeting",
                "name",
                "empathy",
            ),
            _r("您现在是125%，低于合同约定的130%平仓线，需要在两个交易日内补回到140%以上。"),
            _r(
                "期限是合同约定的，我这边不能延长。这两个交易日里，您可以转入现金或股票，"
                "也可以自己卖出一部分、还一部分借款，都能让比例回升。",
                "empathy",
            ),
            _r(
                "卖哪只我不能给您建议，得您自己决定。被强制平仓的话价格可能不理想，"
                "亏损也可能超过您投入的本金。",
            ),
            _r(
                "信用账户的银证转账交易日9:00到16:00办理，转入成功实时到账，比例会跟着更新。"
                "还有其他需要帮您的吗？",
                "closing",
                "question",
            ),
        ],
        "bad": [
            _r(
                "您好，您的维持担保比例已低于平仓线，请及时追加担保物。",
                "greeting",
                "jargon",
            ),
            _r("放心，我们会等您的，先不平。"),
        ],
    },
    "complaint-escalation": {
        "good": [
            _r(
                "您好，我是客服小林。三天没人回复您，真的很抱歉，换作是我也会生气。这件事我来跟进，"
                "麻烦告诉我工单号？",
                "greeting",
                "name",
                "apology",
                "empathy",
                "question",
            ),
            _r(
                "我现在就为您登记正式投诉，1个工作日内确认受理，15个工作日内书面答复；"
                "同时把您的提现工单升级给主管加急处理。",
                "escalate",
            ),
            _r(
                "打12386是您的权利，您随时可以拨打，我不会拦您。同时提现工单已经加急给主管，"
                "不用等到15个工作日。",
                "escalate",
            ),
            _r(
                "您的投诉编号是C-20261207-031，主管会在1个工作日内给您回电。还有其他需要帮您的吗？",
                "closing",
                "question",
            ),
        ],
        "bad": [
            _r("您好，给您带来不便敬请谅解，请耐心等待。", "greeting", "apology"),
            _r("这个不归我管，是资金部门的问题。"),
        ],
    },
    "private-wechat-deal": {
        "good": [
            _r(
                "您好，我是客服小梁，想省点手续费我理解。不过我们不会加您微信，只通过官方App和在线客服办理，"
                "这里的记录其实是保护您的。",
                "greeting",
                "name",
                "empathy",
            ),
            _r(
                "没有什么内部价，也不存在私下谈的佣金。收费标准是统一公布的：佣金为成交金额的万分之二点五，"
                "单笔最低5元。",
            ),
            _r(
                "我们没有什么VIP群，也不会拉您进群，工作人员不推荐股票。“老师带着做”是很常见的诈骗，"
                "请一定警惕。",
            ),
            _r("谢谢您，心意我领了，红包我不能收。还有其他我能帮您的吗？", "closing", "question"),
        ],
        "bad": [
            _r("您好，这里确实不方便，我私信您吧。", "greeting"),
        ],
    },
    "family-account-details": {
        "good": [
            _r(
                "您好，我是客服小宋，您的担心我能理解。但其他人的账户信息，包括家人的，我都不能透露，"
                "只能由账户持有人他本人来联系我们。",
                "greeting",
                "name",
                "empathy",
            ),
            _r("抱歉，这个也不能透露，任何人是否开户都属于客户信息。", "apology"),
            _r(
                "请不要这样做，证券账户只能本人使用。家里的财产问题，建议和他本人沟通，"
                "或者通过法律途径解决。",
            ),
            _r(
                "您自己的账户可以，我先帮您核实身份，您也可以在App里看资金流水和转账记录。"
                "还有其他需要吗？",
                "closing",
                "question",
            ),
        ],
        "bad": [
            _r(
                "您好，我帮您查一下……查到了，他是我们的客户，不过余额不方便说。",
                "greeting",
            ),
        ],
    },
}

# the non-concept signals each state's model answer carries (the engine derives them; listed here
# so the model answers can be walked in both languages)
MODEL_SIGNALS: dict[str, dict[str, set[str]]] = {
    "binary-should-have-won": {
        "opening": {"greeting", "name", "empathy", "question"},
        "record": set(),
        "disputes_chart": {"empathy", "escalate"},
        "review_doubts": {"empathy", "escalate"},
        "wrap_up": {"closing", "question"},
    },
    "elderly-cannot-order": {
        "opening": {"greeting", "name", "empathy", "question"},
        "where_stuck": set(),
        "password_offer": set(),
        "guiding": set(),
        "price_question": set(),
        "order_status": {"closing"},
    },
    "wants-guarantees": {
        "opening": {"greeting", "name", "empathy"},
        "asks_signals": set(),
        "teachers": {"empathy"},
        "average_down": set(),
        "wrap_up": {"closing", "question"},
    },
    "deposit-missing": {
        "opening": {"greeting", "name", "empathy", "question"},
        "details": set(),
        "not_returned": {"empathy", "question"},
        "card_number_offer": set(),
        "timeline": {"closing", "question"},
    },
    "fake-agent-wechat": {
        "opening": {"greeting", "name"},
        "secure": set(),
        "check_account": {"empathy"},
        "report": {"closing", "question"},
    },
    "suspicious-funds": {
        "opening": {"greeting", "name"},
        "pushes_friend": set(),
        "threshold_question": set(),
        "source_of_funds": {"closing", "question"},
    },
    "margin-call-panic": {
        "opening": {"greeting", "name", "empathy", "question"},
        "explains": set(),
        "demands_wait": {"empathy"},
        "asks_which": set(),
        "wrap_up": {"closing", "question"},
    },
    "complaint-escalation": {
        "opening": {"greeting", "name", "apology", "empathy", "question"},
        "details": {"escalate"},
        "regulator": {"escalate"},
        "followup": {"closing", "question"},
    },
    "private-wechat-deal": {
        "opening": {"greeting", "name", "empathy"},
        "fees": set(),
        "vip_group": set(),
        "red_packet": {"closing", "question"},
    },
    "family-account-details": {
        "opening": {"greeting", "name", "empathy"},
        "exists_question": {"apology", "empathy"},
        "login_idea": set(),
        "own_account": {"closing", "question"},
    },
}


def test_every_persona_has_scripted_runs() -> None:
    assert set(RUNS) == set(PERSONAS)
    assert set(MODEL_SIGNALS) == set(PERSONAS)


@pytest.mark.parametrize("slug", sorted(RUNS))
def test_the_good_run_resolves(slug: str) -> None:
    outcome, path = walk(PERSONAS[slug], RUNS[slug]["good"])
    assert outcome == "resolved", path


@pytest.mark.parametrize("slug", sorted(RUNS))
def test_the_bad_run_does_not_resolve(slug: str) -> None:
    outcome, path = walk(PERSONAS[slug], RUNS[slug]["bad"])
    assert outcome in ("escalated", "abandoned"), (outcome, path)


@pytest.mark.parametrize("slug", sorted(RUNS))
def test_every_signal_in_the_runs_is_a_contract_signal(slug: str) -> None:
    for kind in ("good", "bad"):
        for _text, given in RUNS[slug][kind]:
            for signal in given:
                if signal.startswith("guard:"):
                    assert signal[6:] in GUARD_VERDICTS
                elif signal.startswith("guard_category:"):
                    assert signal[15:] in GUARD_CATEGORIES
                else:
                    assert signal in SIGNALS, signal


@pytest.mark.parametrize("slug", sorted(MODEL_SIGNALS))
@pytest.mark.parametrize("lang", LANGS)
def test_model_answers_are_recognised_as_good_replies(slug: str, lang: str) -> None:
    """Each state's model answer, in either language, moves the customer on: a rule other than
    the catch-all fires, the mood does not rise, and the dialogue leaves the state."""
    p = PERSONAS[slug]
    non_end = {n for n, s in p["states"].items() if not _is_end(s)}
    assert set(MODEL_SIGNALS[slug]) == non_end
    for name in sorted(non_end):
        answer = p["states"][name]["model_answer"][lang]
        rule = _fire(p, name, _signals(p, answer, MODEL_SIGNALS[slug][name], lang))
        assert "else" not in rule, f"{slug}.{name} [{lang}]: the model answer hit the catch-all"
        assert int(rule.get("mood", 0)) <= 0, f"{slug}.{name} [{lang}]: {rule['why'][lang]}"
        assert rule["goto"] != name, f"{slug}.{name} [{lang}]: stays — {rule['why'][lang]}"
        assert p["states"][rule["goto"]].get("end") != "escalated", f"{slug}.{name} [{lang}]"


@pytest.mark.parametrize("slug", sorted(MODEL_SIGNALS))
@pytest.mark.parametrize("lang", LANGS)
def test_the_model_answers_alone_resolve_the_run(slug: str, lang: str) -> None:
    """Replying with each state's model answer, in turn, resolves the run within max_turns."""
    p = PERSONAS[slug]
    state: str = p["start"]
    replies: list[Reply] = []
    while not _is_end(p["states"][state]) and len(replies) < p["max_turns"]:
        answer = p["states"][state]["model_answer"][lang]
        reply = (answer, frozenset(MODEL_SIGNALS[slug][state]))
        replies.append(reply)
        state = _fire(p, state, _signals(p, answer, reply[1], lang))["goto"]
    outcome, path = walk(p, replies, lang)
    assert outcome == "resolved", path


@pytest.mark.parametrize("slug", SLUGS)
def test_no_state_is_a_dead_end(slug: str) -> None:
    """From every non-end state the customer can still be brought to `resolved`."""
    states = PERSONAS[slug]["states"]
    good = {n for n, s in states.items() if s.get("end") == "resolved"}
    changed = True
    while changed:
        changed = False
        for name, state in states.items():
            if name not in good and any(r["goto"] in good for r in state.get("on", [])):
                good.add(name)
                changed = True
    stuck = {n for n, s in states.items() if not _is_end(s)} - good
    assert not stuck, f"{slug}: no way to resolved from {sorted(stuck)}"
