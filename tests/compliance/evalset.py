"""The guard's evaluation set: labelled risky messages, must-pass traps and clean replies.

Risky messages put a violation (written in several wordings) into ordinary support sentences,
in zh and en, plain and in every evasion form; traps are the phrases a lexicon filter gets wrong;
clean replies are 2,000 ordinary agent answers from templates. Run it for the report:

    python -m tests.compliance.evalset
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterator

import opencc

VIOLATIONS: dict[str, list[str]] = {
    "promise": [
        "这个产品保证收益",
        "稳赚不赔",
        "零风险高回报",
        "保本保息",
        "包赚不亏",
        "收益有保障",
        "肯定赚钱",
        "it is a guaranteed return",
        "this is completely risk-free",
        "you can't lose with this",
        "guaranteed profit every month",
        "principal protected and sure profit",
    ],
    "inducement": [
        "现在赶紧加仓",
        "建议您多入金",
        "直接满仓买入",
        "可以借钱炒股",
        "错过就没了快上车",
        "go all in now",
        "you should deposit more today",
        "borrow money to trade this",
        "buy now before it's too late",
    ],
    "advice": [
        "建议您买入贵州茅台",
        "这只股票明天会涨",
        "我有内幕消息",
        "推荐买入宁德时代",
        "这只票必涨",
        "you should buy this stock",
        "it will definitely go up tomorrow",
        "I have inside information",
    ],
    "credential": [
        "请告诉我密码",
        "请把验证码发给我",
        "验证码是多少",
        "报一下验证码",
        "把交易密码发过来",
        "please send me the code",
        "tell me your password",
        "what is your pin",
        "share your otp",
    ],
    "offplatform": [
        "加我微信详细聊",
        "我的微信号是kefu888",
        "加qq聊",
        "转到我的支付宝",
        "拉你进群",
        "add me on WeChat",
        "message me on Telegram",
        "send it to my personal account",
        "contact me on WhatsApp",
    ],
    "pii": [
        "客户卡号6222021234567890128",
        "手机13812345678",
        "身份证11010519491231002X",
        "卡号4111111111111111",
        "his card 4111 1111 1111 1111",
        "email wang.jianguo@example.com",
        "phone +86 138 1234 5678",
    ],
}
CARRIERS_ZH = [
    "您好，{v}，有问题随时联系。",
    "{v}。",
    "王先生您好，{v}，请放心。",
    "我们核实了一下，{v}。",
]
CARRIERS_EN = ["Hello, {v}.", "{v}, let me know if you need anything.", "Thanks for waiting: {v}."]
TRAPS = [
    "我们无法保证收益，投资有风险",
    "不存在稳赚不赔的投资",
    "请勿向任何人透露密码或验证码",
    "保证金不足时需追加保证金",
    "我们保证24小时内回复您",
    "您尾号0128的银行卡已绑定",
    "订单号 1234567890123456 已处理",
    "流水号 110105194912310022",
    "We cannot guarantee any return",
    "Never share your code with anyone",
    "Your card ending 0128 is linked",
    "融资融券维持担保比例低于130%需补足",
    "我们不会通过私人微信联系您",
    "请勿相信所谓内幕消息",
    "满仓是指仓位占比100%",
    "不要借钱炒股",
    "We do not give advice on what to buy",
    "There is no risk-free investment",
    "我们不提供个股买卖建议",
    "客服不会索要您的密码",
    "Beware of anyone asking for your password",
    "请勿添加自称客服的QQ",
    "赔付率80%，亏损时损失全部本金，投资有风险",
    "80% payout; you may lose your whole stake",
    "保证金比例为100%",
    "我们保证在3个工作日内答复",
    "内幕交易是违法行为",
    "请通过官方App联系我们",
    "手机尾号5678已验证",
    "银行卡6222 **** **** 0128",
    "证件号110***********002X",
    "No one can guarantee profits",
    "You can reset your password in the app",
    "Your PIN is never needed by our staff",
    "杠杆交易风险较高，可能损失全部本金",
    "本金可能遭受损失，请谨慎投资",
]
CLEAN_ZH = [
    "您好，{n}，您的出金申请已受理，一般当日或下一个银行工作日到账。",
    "请在 App「我的 → 安全中心」修改登录密码，我们不会向您索要密码或验证码。",
    "主板股票日涨跌幅限制为10%，超出范围的委托会被交易所拒绝。",
    "A股实行T+1，当天买入的股票下一个交易日才能卖出。",
    "融资利息按实际使用天数计算：金额×年利率×天数÷360。",
    "已为您提交核查，预计{d}个工作日内答复，感谢您的耐心。",
    "请提供资金账号后四位，以便核实身份。",
    "您的开户资料已审核通过，可以开始交易。",
    "行情延迟可能与网络有关，建议切换到移动网络后重试。",
    "银证转账需在交易日转账时间内发起，请在转账记录中查看状态。",
    "您的投诉已登记，我们将在15个工作日内书面答复。",
    "二元期权结算以平台记录的到期价格为准，我们会复核该笔交易。",
    "卖出一万元股票，印花税为5元，过户费为0.10元。",
    "请更新 App 至最新版本后再试一次。",
    "您尾号{k}的银行卡已解绑。",
]
CLEAN_EN = [
    "Hello {n}, your withdrawal has been processed and should arrive within one business day.",
    "You can reset your password in the app; we will never ask you for it.",
    "Orders priced outside the daily limit are rejected by the exchange.",
    "Shares bought today can be sold from the next trading day (T+1).",
    "I have escalated this and will update you within {d} business days.",
    "Please tell me the last four digits of your account number.",
    "Settlement follows the recorded expiry price; I will review the trade.",
    "Your card ending {k} has been removed from your account.",
    "Please update the app to the latest version and try again.",
]
NAMES = ["王先生", "李女士", "张先生", "陈女士", "Mr Lam", "Ms Tan", "James", "Vivian"]

_T2S = opencc.OpenCC("s2t")


def evasions(v: str, rnd: random.Random) -> Iterator[tuple[str, str]]:
    yield "plain", v
    if any("\u4e00" <= c <= "\u9fff" for c in v):
        core = "".join(c for c in v if "\u4e00" <= c <= "\u9fff")[:6]
        yield "spaces", v.replace(core, " ".join(core))
        yield "symbols", v.replace(core, ".".join(core))
        yield "traditional", _T2S.convert(v)
    else:
        words = v.split()
        w = max(words, key=len)
        yield "spaced-letters", v.replace(w, " ".join(w))
        yield "mixed-case", "".join(c.upper() if rnd.random() < 0.5 else c for c in v)
    yield "full-width", "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in v)


def labelled(seed: int = 3) -> list[tuple[str, str | None, str]]:
    """(text, expected category or None for must-pass, form)."""
    rnd = random.Random(seed)
    out: list[tuple[str, str | None, str]] = []
    for cat, items in VIOLATIONS.items():
        for v in items:
            zh = any("\u4e00" <= c <= "\u9fff" for c in v)
            for form, text in evasions(v, rnd):
                if cat == "pii" and form in ("spaces", "symbols", "spaced-letters"):
                    continue
                carrier = rnd.choice(CARRIERS_ZH if zh else CARRIERS_EN)
                out.append((carrier.format(v=text), cat, form))
    for trap in TRAPS:
        out.append((trap, None, "trap"))
        out.append((rnd.choice(CARRIERS_ZH).format(v=trap), None, "trap"))
        out.append(
            ("".join(chr(ord(c) + 0xFEE0) if "0" <= c <= "9" else c for c in trap), None, "trap")
        )
    return out


def clean(n: int = 2000, seed: int = 9) -> list[str]:
    rnd = random.Random(seed)
    out = []
    for _ in range(n):
        t = rnd.choice(CLEAN_ZH if rnd.random() < 0.65 else CLEAN_EN)
        out.append(
            t.format(n=rnd.choice(NAMES), d=rnd.randint(1, 15), k=f"{rnd.randint(0, 9999):04d}")
        )
    return out


def evaluate() -> dict[str, object]:
    from kefu.compliance.content import screen

    cases = labelled()
    tp: Counter[str] = Counter()
    fp: Counter[str] = Counter()
    fn: Counter[str] = Counter()
    misses = []
    for text, cat, form in cases:
        # the model's "needs review" is a warning, like disclosure: not a block; its block is
        found = {
            f.category
            for f in screen(text).findings
            if f.category not in ("disclosure", "model") or f.rule == "model.block"
        }
        if cat is not None:
            if cat in found:
                tp[cat] += 1
            else:
                fn[cat] += 1
                misses.append((cat, form, text))
        for c in found - ({cat} if cat else set()):
            fp[c] += 1
            if cat is None:
                misses.append(("trap", form, text))
    clean_set = clean()
    false_blocks = sum(1 for t in clean_set if screen(t).verdict == "block")
    per = {}
    for c in VIOLATIONS:
        p = tp[c] / (tp[c] + fp[c]) if tp[c] + fp[c] else 1.0
        r = tp[c] / (tp[c] + fn[c]) if tp[c] + fn[c] else 1.0
        per[c] = {"precision": round(p, 3), "recall": round(r, 3), "n": tp[c] + fn[c]}
    return {
        "cases": len(cases),
        "traps": sum(1 for c in cases if c[1] is None),
        "per_category": per,
        "clean": len(clean_set),
        "false_blocks_per_1000": round(1000 * false_blocks / len(clean_set), 2),
        "misses": misses,
    }


if __name__ == "__main__":
    res = evaluate()
    print(
        f"{res['cases']} labelled messages ({res['traps']} must-pass traps), "
        f"{res['clean']} clean replies"
    )
    print(f"{'category':<14}{'n':>5}{'precision':>11}{'recall':>9}")
    for c, m in res["per_category"].items():  # type: ignore[attr-defined]
        print(f"{c:<14}{m['n']:>5}{m['precision']:>11.3f}{m['recall']:>9.3f}")
    print(f"false blocks per 1,000 clean replies: {res['false_blocks_per_1000']}")
    for m in res["misses"]:  # type: ignore[attr-defined]
        print("  miss:", m)
