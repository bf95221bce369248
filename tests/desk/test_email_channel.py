"""The e-mail channel end to end against real SMTP servers on 127.0.0.1: the desk's embedded
server receives the customer's mail, and a local aiosmtpd sink receives what the desk sends."""

from __future__ import annotations

import smtplib
import socket
import threading
import time
from collections.abc import Callable, Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from kefu.core.config import get_settings
from kefu.core.db import Database
from kefu.core.security import User
from kefu.customers import service as customers
from kefu.desk import email_channel
from kefu.desk import service as desk
from kefu.desk.mail_models import MailMessage
from kefu.desk.models import Case, Message
from tests.conftest import Seed, login

ALICE = "wang.jianguo@example.com"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Sink:
    """A local SMTP server that keeps what it receives."""

    def __init__(self) -> None:
        self.received: list[tuple[str, list[str], bytes]] = []
        self.arrived = threading.Event()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.received.append(
            (envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content)
        )
        self.arrived.set()
        return "250 OK"

    def wait(self, count: int, timeout: float = 15) -> None:
        deadline = time.monotonic() + timeout
        while len(self.received) < count:
            self.arrived.clear()
            if len(self.received) >= count:
                break
            assert self.arrived.wait(max(0.0, deadline - time.monotonic())), "no mail arrived"


@pytest.fixture
def sink(monkeypatch: pytest.MonkeyPatch) -> Iterator[Sink]:
    handler = Sink()
    port = _free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    monkeypatch.setenv("KEFU_SMTP_URL", f"smtp://127.0.0.1:{port}")
    monkeypatch.setenv("KEFU_MAIL_FROM", "客服中心 <support@kefu.example>")
    monkeypatch.setenv("KEFU_MAIL_POLL_SECONDS", "60")
    get_settings.cache_clear()
    try:
        yield handler
    finally:
        controller.stop()
        monkeypatch.undo()
        get_settings.cache_clear()


@pytest.fixture
def inbound(database: Database, sink: Sink) -> Iterator[int]:
    """The desk's own SMTP server (what `kefu serve` starts with KEFU_SMTP_LISTEN)."""
    port = _free_port()
    controller = email_channel.start_smtp_server(database, f"127.0.0.1:{port}")
    try:
        yield port
    finally:
        controller.stop()


def mail(
    subject: str,
    body: str,
    *,
    sender: str = f"王建国 <{ALICE}>",
    msgid: str,
    in_reply_to: str = "",
    headers: dict[str, str] | None = None,
) -> EmailMessage:
    m = EmailMessage()
    m["From"] = sender
    m["To"] = "support@kefu.example"
    m["Subject"] = subject
    m["Message-ID"] = f"<{msgid}>"
    if in_reply_to:
        m["In-Reply-To"] = f"<{in_reply_to}>"
        m["References"] = f"<{in_reply_to}>"
    for k, v in (headers or {}).items():
        m[k] = v
    m.set_content(body)
    return m


def send(port: int, message: EmailMessage, envelope_from: str = ALICE) -> None:
    with smtplib.SMTP("127.0.0.1", port, timeout=120) as s:
        s.send_message(message, from_addr=envelope_from, to_addrs=["support@kefu.example"])


def until(check: Callable[[], bool], timeout: float = 15) -> None:
    """Waits for a state another thread writes (the sender records after the sink answered)."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "state not reached"
        time.sleep(0.05)


def cases_of(database: Database, customer_id: int) -> list[Case]:
    with database.session() as s:
        return list(s.scalars(select(Case).where(Case.customer_id == customer_id)))


def test_round_trip_over_smtp(
    database: Database, seed: Seed, sink: Sink, inbound: int, client: Any
) -> None:
    # 1. the customer writes; the card number in it is masked for staff, sealed at rest
    send(
        inbound,
        mail(
            "入金未到账",
            "您好，我昨天从尾号0128的卡 6222021234567890128 转入5万元，还没到账。\n",
            msgid="c1@mail.example.com",
        ),
    )
    [case] = cases_of(database, seed.alice)
    assert case.channel == "email" and case.language == "zh" and case.subject == "入金未到账"
    with database.session() as s:
        [first] = s.scalars(select(Message).where(Message.case_id == case.id))
        assert first.kind == "customer" and first.author_id == seed.alice_user
        assert "6222021234567890128" not in first.body and first.sealed

    # 2. the agent answers in the desk; the reply is mailed after the request commits
    headers = login(client, "agent1")
    r = client.post(
        f"/api/v1/cases/{case.id}/messages",
        json={"body": "王先生您好，款项已于今天上午到账，请查收。"},
        headers=headers,
    )
    assert r.status_code == 201, r.text
    sink.wait(1)
    mail_from, rcpt, raw = sink.received[0]
    assert mail_from == "support@kefu.example" and rcpt == [ALICE]
    sent = message_from_bytes(raw, policy=policy.default)
    assert sent["In-Reply-To"] == "<c1@mail.example.com>"
    assert "<c1@mail.example.com>" in sent["References"]
    assert str(sent["Subject"]) == f"回复：入金未到账 [工单 #{case.id}]"
    body = sent.get_body(("plain",))
    assert body is not None and "款项已于今天上午到账" in body.get_content()
    our_id = sent["Message-ID"].strip("<>")

    def delivered() -> bool:
        with database.session() as s:
            row = s.scalar(select(MailMessage).where(MailMessage.message_id == our_id))
            return row is not None and row.status == "sent"

    until(delivered)
    record = client.get(f"/desk/cases/{case.id}/mail", headers=headers)
    assert record.status_code == 200
    assert record.text.count('data-mail-status="created"') == 1
    assert record.text.count('data-mail-status="sent"') == 1 and "已发送" in record.text

    # 3. the customer answers from their mail client: no case number, threaded by header
    send(
        inbound,
        mail(
            "Re: 回复",
            "收到了，谢谢！\n\n在 2026年12月7日 13:00，客服中心 写道：\n> 款项已于今天上午到账",
            msgid="c2@mail.example.com",
            in_reply_to=our_id,
        ),
    )
    assert [c.id for c in cases_of(database, seed.alice)] == [case.id]
    with database.session() as s:
        msgs = list(
            s.scalars(select(Message).where(Message.case_id == case.id).order_by(Message.id))
        )
    assert [m.kind for m in msgs] == ["customer", "agent", "customer"]
    assert msgs[-1].body == "收到了，谢谢！"  # quoted history trimmed

    # a redelivery of the same message files nothing twice
    send(
        inbound,
        mail("Re: 回复", "收到了，谢谢！", msgid="c2@mail.example.com", in_reply_to=our_id),
    )
    with database.session() as s:
        assert len(list(s.scalars(select(Message).where(Message.case_id == case.id)))) == 3


def test_guard_blocked_reply_is_never_mailed(
    database: Database, seed: Seed, sink: Sink, inbound: int, client: Any
) -> None:
    send(inbound, mail("开户咨询", "请问怎么开户？", msgid="q1@mail.example.com"))
    [case] = cases_of(database, seed.alice)
    r = client.post(
        f"/api/v1/cases/{case.id}/messages",
        json={"body": "放心买，保证年化收益20%，稳赚不赔"},
        headers=login(client, "agent1"),
    )
    assert r.status_code == 422 and r.json()["type"].endswith("blocked-by-guard")
    assert email_channel.deliver_due(database) == []
    with database.session() as s:
        assert s.scalars(select(MailMessage).where(MailMessage.direction == "out")).all() == []
    assert sink.received == []


def _agent_reply(database: Database, seed: Seed, case_id: int, body: str) -> None:
    with database.session() as s:
        desk.post_message(s, actor=s.get(User, seed.agent1), case_id=case_id, body=body)


def test_bounce_and_auto_reply_do_not_reopen_a_resolved_case(
    database: Database, seed: Seed, sink: Sink, inbound: int
) -> None:
    send(inbound, mail("Password reset", "I cannot log in.", msgid="p1@mail.example.com"))
    [case] = cases_of(database, seed.alice)
    assert case.language == "en"
    _agent_reply(database, seed, case.id, "Please use the reset link on the login page.")
    assert [s for _i, s in email_channel.deliver_due(database)] == ["sent"]
    ours = message_from_bytes(sink.received[0][2], policy=policy.default)["Message-ID"]
    ours = ours.strip("<>")
    with database.session() as s:
        desk.set_case_status(s, actor=s.get(User, seed.agent1), case_id=case.id, status="resolved")

    # an out-of-office answer to our mail
    send(
        inbound,
        mail(
            "Automatic reply: Re: Password reset",
            "I am on holiday until 14 December. Call me on 13812345678.",
            msgid="oof1@mail.example.com",
            in_reply_to=ours,
            headers={"Auto-Submitted": "auto-replied"},
        ),
    )
    # a delivery report for it, from the receiving MTA (null envelope sender)
    report = (
        "From: MAILER-DAEMON@mx.example.com\r\nTo: support@kefu.example\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\nMessage-ID: <dsn1@mx.example.com>\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n\r\n'
        "--B\r\nContent-Type: text/plain\r\n\r\nNot delivered.\r\n"
        "--B\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx\r\n\r\n"
        "Final-Recipient: rfc822; x@example.com\r\nAction: failed\r\nStatus: 5.2.2\r\n"
        "Diagnostic-Code: smtp; 552 <xiao.ming@example.com> mailbox full\r\n\r\n"
        "--B\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"Message-ID: <{ours}>\r\n\r\n--B--\r\n"
    )
    with smtplib.SMTP("127.0.0.1", inbound, timeout=15) as smtp:
        smtp.sendmail("<>", ["support@kefu.example"], report.encode())
    # a bounce about nobody's mail is dropped, not filed
    stray = report.replace(ours, "someone.else@elsewhere").replace("dsn1@", "dsn2@")
    with smtplib.SMTP("127.0.0.1", inbound, timeout=15) as smtp:
        smtp.sendmail("<>", ["support@kefu.example"], stray.encode())

    with database.session() as s:
        c = s.get(Case, case.id)
        assert c is not None and c.status_category == "resolved"
        notes = list(
            s.scalars(select(Message).where(Message.case_id == case.id, Message.kind == "note"))
        )
        assert len(notes) == 2
        assert "13812345678" not in notes[0].body and "holiday" in notes[0].body
        assert "5.2.2" in notes[1].body and "x***@example.com" in notes[1].body
        assert "xiao.ming" not in notes[1].body
        out = s.scalar(select(MailMessage).where(MailMessage.message_id == ours))
        assert out is not None and out.status == "bounced" and "mailbox full" in out.detail
        dropped = s.scalar(
            select(MailMessage).where(MailMessage.message_id == "dsn2@mx.example.com")
        )
        assert dropped is not None and dropped.status == "dropped" and dropped.case_id is None
    assert len(cases_of(database, seed.alice)) == 1

    # the customer writing in person does reopen it
    send(
        inbound,
        mail(
            "Re: Password reset", "Still locked out.", msgid="p2@mail.example.com", in_reply_to=ours
        ),
    )
    with database.session() as s:
        c = s.get(Case, case.id)
        assert c is not None and c.status_category == "open"


def test_unknown_sender_is_refused_and_nothing_of_it_is_kept(
    database: Database, seed: Seed, sink: Sink, inbound: int
) -> None:
    with pytest.raises(smtplib.SMTPDataError) as refused:
        send(
            inbound,
            mail("Hello", "My ID is 11010519491231002X", sender="x@stranger.example", msgid="s1@x"),
            envelope_from="x@stranger.example",
        )
    assert refused.value.smtp_code == 550
    with database.session() as s:
        assert s.scalars(select(Case)).all() == []
        row = s.scalar(select(MailMessage).where(MailMessage.message_id == "s1@x"))
        assert row is not None and row.status == "rejected"
        assert row.sender_index == customers.email_lookup_key("x@stranger.example")
        assert "stranger" not in f"{row.detail}{row.references}{row.in_reply_to}"


def test_case_number_in_subject_threads_only_for_the_cases_customer(
    database: Database, seed: Seed, sink: Sink, inbound: int
) -> None:
    send(inbound, mail("开户", "怎么开户？", msgid="n1@mail.example.com"))
    [case] = cases_of(database, seed.alice)
    send(inbound, mail(f"补充 [工单 #{case.id}]", "我在上海。", msgid="n2@mail.example.com"))
    assert len(cases_of(database, seed.alice)) == 1
    with database.session() as s:
        bob = s.get(User, seed.bob_user)
        assert bob is not None
        customer = customers.customer_for_user(s, bob)
        assert customer is not None
        # give bob an address, then have him name alice's case
        customer.email_enc = (
            __import__("kefu.core.security", fromlist=["x"]).get_crypto().encrypt("bob@example.com")
        )
        customer.email_index = customers.email_lookup_key("bob@example.com")
    send(
        inbound,
        mail(f"Re: [工单 #{case.id}]", "let me in", sender="bob@example.com", msgid="b1@x"),
        envelope_from="bob@example.com",
    )
    assert len(cases_of(database, seed.alice)) == 1
    [bobs] = cases_of(database, seed.bob)
    assert bobs.id != case.id


def test_delivery_failures_are_retried_then_shown_to_the_agent(
    database: Database, seed: Seed, sink: Sink, inbound: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    send(inbound, mail("转账", "钱没到", msgid="f1@mail.example.com"))
    [case] = cases_of(database, seed.alice)
    _agent_reply(database, seed, case.id, "我们正在核查。")
    monkeypatch.setenv("KEFU_SMTP_URL", f"smtp://127.0.0.1:{_free_port()}")  # nobody listens
    get_settings.cache_clear()
    from datetime import timedelta

    from kefu.core.db import utcnow

    now = utcnow()
    for attempt in range(1, 6):
        [(_id, status)] = email_channel.deliver_due(database, now=now)
        with database.session() as s:
            row = s.scalars(select(MailMessage).where(MailMessage.direction == "out")).one()
            assert row.attempts == attempt and "Connection" in row.detail
            due = row.next_attempt_at
        if attempt < 5:
            assert status == "queued" and due is not None
            assert email_channel.deliver_due(database, now=now) == []  # not due yet
            now = due + timedelta(seconds=1)
        else:
            assert status == "failed" and due is None
    with database.session() as s:
        [note] = s.scalars(
            select(Message).where(Message.case_id == case.id, Message.kind == "note")
        )
        assert "邮件投递失败" in note.body and "5" in note.body


def test_web_ticket_reply_notifies_unless_the_customer_opted_out(
    database: Database, seed: Seed, sink: Sink, client: Any
) -> None:
    with database.session() as s:
        alice = s.get(User, seed.alice_user)
        case = desk.create_case(s, actor=alice, channel="web", subject="佣金", body="请问佣金")
        case_id = case.id
    agent = login(client, "agent1")
    reply = {"body": "A股佣金按成交金额的万分之二点五收取。"}
    assert client.post(f"/api/v1/cases/{case_id}/messages", json=reply, headers=agent).is_success
    sink.wait(1)
    sent = message_from_bytes(sink.received[0][2], policy=policy.default)
    assert sent["Auto-Submitted"] == "auto-generated"
    text = sent.get_body(("plain",))
    assert text is not None and "万分之二点五" in text.get_content()
    assert f"#{case_id}" in text.get_content() and "邮件通知" in text.get_content()

    # the customer turns the notifications off on the portal
    r = client.post("/api/v1/auth/login", json={"username": "alice", "password": "kefu-demo"})
    csrf = r.json()["csrf_token"]
    page = client.get("/")
    assert 'data-testid="email-notify-off"' in page.text and "w***@example.com" in page.text
    r = client.post("/portal/email-notify", data={"on": "false", "csrf": csrf})
    assert r.status_code == 303 or r.is_success
    assert 'data-testid="email-notify-on"' in client.get("/").text
    client.cookies.clear()

    reply = {"body": "如有疑问请随时联系。"}
    assert client.post(f"/api/v1/cases/{case_id}/messages", json=reply, headers=agent).is_success
    assert email_channel.deliver_due(database) == []
    with database.session() as s:
        assert len(s.scalars(select(MailMessage)).all()) == 1
    assert len(sink.received) == 1


def test_reply_on_an_email_case_without_mail_configured_tells_the_agent(
    database: Database, seed: Seed
) -> None:
    receipt = email_channel.receive_raw(
        database, mail("开户", "怎么开户？", msgid="u1@mail.example.com").as_bytes(), ALICE
    )
    assert receipt.outcome == "created" and receipt.reply.startswith("250")
    assert receipt.case_id is not None
    _agent_reply(database, seed, receipt.case_id, "请下载App在线开户。")
    with database.session() as s:
        out = s.scalars(select(MailMessage).where(MailMessage.direction == "out")).one()
        assert out.status == "failed" and "not configured" in out.detail
        note = s.scalars(
            select(Message).where(Message.case_id == receipt.case_id, Message.kind == "note")
        ).one()
        assert note.body == "此回复未通过邮件发出：邮件发送未配置（KEFU_SMTP_URL、KEFU_MAIL_FROM）"
