"""Chinese and English search over cases and messages on SQLite FTS5 and PostgreSQL GIN."""

from __future__ import annotations

from kefu.core.security import User
from kefu.desk import service as desk


def _cases(database, seed):
    with database.session() as s:
        alice, bob = s.get(User, seed.alice_user), s.get(User, seed.bob_user)
        zh = desk.create_case(
            s,
            actor=alice,
            subject="资金问题",
            category="funds",
            body="我前天申请的提现到现在还没到账",
            auto_assign=False,
        ).id
        en = desk.create_case(
            s,
            actor=bob,
            subject="Funds",
            category="funds",
            language="en",
            body="My withdrawal has not arrived",
            auto_assign=False,
        ).id
        other = desk.create_case(
            s,
            actor=alice,
            subject="登录问题",
            category="account",
            body="手机换号了收不到验证码",
            auto_assign=False,
        ).id
    return zh, en, other


def test_chinese_words_find_the_case(database, seed):
    zh, _en, other = _cases(database, seed)
    with database.session() as s:
        agent = s.get(User, seed.agent1)
        ids = [c.id for c in desk.list_cases(s, viewer=agent, q="提现 到账")]
        assert ids == [zh]
        assert [c.id for c in desk.list_cases(s, viewer=agent, q="验证码")] == [other]
        assert [c.id for c in desk.list_cases(s, viewer=agent, q="登录")] == [other]


def test_english_is_case_insensitive(database, seed):
    _zh, en, _other = _cases(database, seed)
    with database.session() as s:
        agent = s.get(User, seed.agent1)
        assert [c.id for c in desk.list_cases(s, viewer=agent, q="WITHDRAWAL")] == [en]


def test_hostile_query_syntax_is_harmless(database, seed):
    _cases(database, seed)
    with database.session() as s:
        agent = s.get(User, seed.agent1)
        for q in ['"', "*", "NEAR(", "OR", "-", ":", "a AND", '提现"OR"1', "'; DROP TABLE x"]:
            desk.list_cases(s, viewer=agent, q=q)  # must not raise


def test_customer_search_stays_within_their_cases(database, seed):
    _zh, _en, _other = _cases(database, seed)
    with database.session() as s:
        bob = s.get(User, seed.bob_user)
        assert desk.list_cases(s, viewer=bob, q="提现") == []
