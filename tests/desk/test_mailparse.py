"""The e-mail engine on hand-made messages: charsets, headers, HTML, quoted history, bounces and
auto-replies, threading ids, and the mail the desk composes."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText

from kefu.desk import mailparse as mp


def _b(text: str, charset: str) -> str:
    return f"=?{charset}?B?{base64.b64encode(text.encode(charset)).decode()}?="


def test_gbk_body_and_rfc2047_headers_labelled_gb2312() -> None:
    # 镕 is GBK, not GB2312: mail labelled GB2312 routinely carries such characters
    body = "您好，我是朱镕基路营业部的客户，入金5万元还没到账。"
    raw = (
        "From: " + _b("王建国", "gbk") + " <Wang.Jianguo@Example.com>\r\n"
        "To: support@kefu.example\r\n"
        "Subject: " + _b("入金未到账", "gbk") + "\r\n"
        "Message-ID: <20261207.1@mail.example.com>\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: text/plain; charset="gb2312"\r\n'
        "Content-Transfer-Encoding: base64\r\n\r\n"
    ).encode() + base64.encodebytes(body.encode("gbk"))
    mail = mp.parse(raw)
    assert mail.subject == "入金未到账"
    assert mail.from_name == "王建国"
    assert mail.from_addr == "wang.jianguo@example.com"
    assert mail.text == body
    assert mail.message_id == "20261207.1@mail.example.com"
    assert mail.kind == "mail"
    assert mail.language == "zh"


def test_raw_8bit_utf8_subject_and_mixed_encoded_words() -> None:
    raw = (
        "From: bob@example.com\r\n"
        "Subject: Re: " + _b("关于工单", "utf-8") + " [Case #41]\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\nOK\r\n"
    ).encode()
    assert mp.parse(raw).subject == "Re: 关于工单 [Case #41]"
    unencoded = "From: a@example.com\r\nSubject: 你好 测试\r\n\r\nhi\r\n".encode()
    assert mp.parse(unencoded).subject == "你好 测试"


def test_html_only_mail_becomes_safe_structured_text() -> None:
    html = (
        "<html><head><style>p{color:red}</style><script>alert(1)</script></head><body>"
        "<p>Hello,<br>my <b>deposit</b>\n   is missing.</p>"
        "<ul><li>amount: 50,000</li><li>bank: ICBC</li></ul>"
        '<div class="gmail_quote">On Mon, 7 Dec 2026, Kefu wrote:<blockquote>Which bank?'
        "</blockquote></div></body></html>"
    )
    msg = MIMEText(html, "html", "utf-8")
    msg["From"] = "bob@example.com"
    msg["Subject"] = "Deposit"
    mail = mp.parse(msg.as_bytes())
    assert mail.from_html
    assert mail.text == "Hello,\nmy deposit is missing.\n\n- amount: 50,000\n- bank: ICBC"
    assert "alert" not in mail.full_text and "color" not in mail.full_text
    assert "> Which bank?" in mail.full_text  # the quote is marked, then trimmed


def test_plain_part_preferred_over_html() -> None:
    msg = MIMEMultipart("alternative")
    msg["From"] = "bob@example.com"
    msg.attach(MIMEText("plain words", "plain", "utf-8"))
    msg.attach(MIMEText("<p>html words</p>", "html", "utf-8"))
    mail = mp.parse(msg.as_bytes())
    assert mail.text == "plain words" and not mail.from_html


def test_quoted_history_trimmed_in_every_client_style() -> None:
    cases = {
        "Thanks, received.\n\nOn Mon, 7 Dec 2026 at 13:00, Kefu <s@k.cn> wrote:\n> old": (
            "Thanks, received."
        ),
        # Gmail wraps the attribution onto two lines
        "Yes\nOn Mon, 7 Dec 2026 at 13:00, Kefu Support <support@kefu.example>\nwrote:\n> q": (
            "Yes"
        ),
        "好的，谢谢\n\n在 2026年12月7日 13:00，客服 <s@k.cn> 写道：\n> 流水号": "好的，谢谢",
        "收到\n\n王建国 <w@x.cn> 于2026年12月7日周一 13:00写道：\n> 旧": "收到",
        "See below\n\n-----Original Message-----\nFrom: Kefu\nSent: Monday\nold": "See below",
        "已处理\n\n------------------ 原始邮件 ------------------\n发件人: 客服\n旧": "已处理",
        "好的\n\n发件人: 客服 <s@k.cn>\n发送时间: 2026年12月7日\n收件人: 我\n主题: x\n\n旧": (
            "好的"
        ),
        "Fine\n________________________________\nFrom: Kefu\nSent: Monday\nold": "Fine",
        "Answer inline:\n> your question\nmy answer\n\n-- \nWang Jianguo\n138": (
            "Answer inline:\nmy answer"
        ),
    }
    for text, expected in cases.items():
        assert mp.trim_quoted(text) == expected, text


def test_a_message_that_is_only_quotes_is_kept() -> None:
    assert mp.trim_quoted("> only a quote") == "> only a quote"


def test_from_line_in_a_sentence_is_not_a_header_block() -> None:
    text = "From: my bank account I sent money\nit did not arrive"
    assert mp.trim_quoted(text) == text


def _auto(headers: str, subject: str = "Re: 入金 [工单 #5]") -> mp.ParsedMail:
    raw = f"From: wang@example.com\r\nSubject: {subject}\r\n{headers}\r\nbody\r\n"
    return mp.parse(raw.encode())


def test_auto_replies_are_told_apart() -> None:
    assert _auto("Auto-Submitted: auto-replied\r\n").kind == "auto_reply"
    assert _auto("Auto-Submitted: no\r\n").kind == "mail"
    assert _auto("X-Autoreply: yes\r\n").kind == "auto_reply"
    assert _auto("Precedence: bulk\r\n").kind == "auto_reply"
    assert _auto("Precedence: auto_reply\r\n").kind == "auto_reply"
    assert _auto("List-Id: <news.example.com>\r\n").kind == "auto_reply"
    assert _auto("", subject=_b("自动回复：我正在休假", "gbk")).kind == "auto_reply"
    assert _auto("", subject="Automatic reply: Out of Office").kind == "auto_reply"
    assert _auto("", subject="Re: 我要投诉自动交易").kind == "mail"
    null = mp.parse(b"From: wang@example.com\r\nSubject: hi\r\n\r\nx\r\n", envelope_from="")
    assert null.kind == "auto_reply"


def test_dsn_bounce_names_the_undelivered_message() -> None:
    raw = (
        b"From: Mail Delivery System <MAILER-DAEMON@mx.example.com>\r\n"
        b"To: support@kefu.example\r\n"
        b"Subject: Undelivered Mail Returned to Sender\r\n"
        b"MIME-Version: 1.0\r\n"
        b'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n\r\n'
        b"--B\r\nContent-Type: text/plain\r\n\r\nThe mail could not be delivered.\r\n"
        b"--B\r\nContent-Type: message/delivery-status\r\n\r\n"
        b"Reporting-MTA: dns; mx.example.com\r\n\r\n"
        b"Final-Recipient: rfc822; wang@example.com\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        b"Diagnostic-Code: smtp; 550 5.1.1 user unknown\r\n\r\n"
        b"--B\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        b"From: support@kefu.example\r\nMessage-ID: <kefu.5.abc@kefu.example>\r\n"
        b"Subject: x\r\n\r\n--B--\r\n"
    )
    mail = mp.parse(raw, envelope_from="")
    assert mail.kind == "bounce"
    assert mail.bounced_ids == ("kefu.5.abc@kefu.example",)
    assert mail.bounce_status == "5.1.1 smtp; 550 5.1.1 user unknown"
    assert mail.thread_ids[0] == "kefu.5.abc@kefu.example"


def test_plain_bounce_from_mailer_daemon_quotes_original_headers() -> None:
    raw = (
        b"From: MAILER-DAEMON@qq.com\r\nSubject: =?utf-8?B?6YCA5L+h?=\r\n\r\n"
        b"Sorry, your mail was not delivered.\r\n\r\n"
        b"Message-ID: <kefu.9.ff@kefu.example>\r\n"
    )
    mail = mp.parse(raw)
    assert mail.kind == "bounce" and mail.bounced_ids == ("kefu.9.ff@kefu.example",)


def test_case_number_and_reply_subject() -> None:
    assert mp.case_number("Re: 入金未到账 [工单 #41]") == 41
    assert mp.case_number("回复：工单#41 的进展") == 41
    assert mp.case_number("Re: Deposit [Case #7]") == 7
    assert mp.case_number("[#12] question") == 12
    assert mp.case_number("I paid 41 yuan") is None
    assert (
        mp.reply_subject("回复：Re: 入金未到账 [工单 #41]", 41, "zh")
        == "回复：入金未到账 [工单 #41]"
    )
    assert mp.reply_subject("Deposit", 7, "en") == "Re: Deposit [Case #7]"
    assert mp.case_number(mp.reply_subject("anything", 99, "zh")) == 99
    assert mp.clean_subject("Re: 回复：  [工单 #41] 入金未到账") == "入金未到账"
    assert mp.clean_subject("Fwd: [Case #3]") == ""


def test_threading_ids_are_read_from_every_header() -> None:
    raw = (
        b"From: wang@example.com\r\nMessage-ID: <c2@example.com>\r\n"
        b"In-Reply-To: <kefu.1.aa@kefu.example>\r\n"
        b"References: <c1@example.com>\r\n <kefu.1.aa@kefu.example>\r\n\r\nok\r\n"
    )
    mail = mp.parse(raw)
    assert mail.in_reply_to == ("kefu.1.aa@kefu.example",)
    assert mail.references == ("c1@example.com", "kefu.1.aa@kefu.example")
    assert mail.thread_ids == ("kefu.1.aa@kefu.example", "c1@example.com")


def test_compose_threads_and_escapes() -> None:
    out = mp.Outgoing(
        message_id="kefu.5.abc@kefu.example",
        from_addr="support@kefu.example",
        from_name="客服中心",
        to_addr="wang@example.com",
        to_name="王建国",
        subject="回复：入金未到账 [工单 #5]",
        text="您好，<script>x</script> 已到账。\n\n第二段",
        date=datetime(2026, 12, 7, 5, 0, tzinfo=UTC),
        in_reply_to="c1@example.com",
        references=("c1@example.com",),
    )
    raw = mp.compose(out).as_bytes()
    back = message_from_bytes(raw, policy=policy.default)
    assert back["Message-ID"] == "<kefu.5.abc@kefu.example>"
    assert back["In-Reply-To"] == "<c1@example.com>"
    assert back["References"] == "<c1@example.com>"
    assert str(back["Subject"]) == "回复：入金未到账 [工单 #5]"
    assert back.get("Auto-Submitted") is None
    plain = back.get_body(("plain",))
    html = back.get_body(("html",))
    assert plain is not None and html is not None
    assert "<script>x</script>" in plain.get_content()
    assert "&lt;script&gt;" in html.get_content() and "<script>" not in html.get_content()
    # the desk reads its own mail back the same way
    assert mp.parse(raw).text.startswith("您好，<script>x</script> 已到账。")
