"""PII is encrypted at rest, masked in views, revealed only with permission and an audit entry."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text

from kefu.core.audit import AuditEntry
from kefu.core.errors import Forbidden, NotFound
from kefu.core.security import User
from kefu.customers import service as customers
from tests.conftest import login


def test_pii_is_not_stored_in_clear(database, seed):
    with database.engine.connect() as conn:
        row = conn.execute(
            text("SELECT phone_enc, id_number_enc, phone_masked FROM customers WHERE id = :i"),
            {"i": seed.alice},
        ).one()
        cards = conn.execute(text("SELECT card_enc FROM bank_cards")).scalars().all()
    assert "13812345678" not in row[0] and "11010519491231002X" not in row[1]
    assert row[2] == "138****5678"
    assert all("6222021234567890128" not in c for c in cards)


def test_360_view_is_masked(client, seed):
    h = login(client, "agent1")
    view = client.get(f"/api/v1/customers/{seed.alice}", headers=h).json()
    assert view["phone"] == "138****5678"
    assert view["bank_cards"][0]["card"].startswith("6222 ")
    assert view["bank_cards"][0]["card"].endswith(" 0128")
    assert "1234567890" not in str(view)
    assert view["accounts"][0]["cash"] == "52340.1800"
    assert view["risk_level"] == "C3" and view["kyc_status"] == "verified"


def test_reveal_is_audited(client, seed, database):
    h = login(client, "agent1")
    r = client.post(
        f"/api/v1/customers/{seed.alice}/reveal",
        headers=h,
        json={"field": "card", "reason": "客户来电核对绑定卡"},
    )
    assert r.status_code == 200 and r.json()["value"] == "6222021234567890128"
    with database.session() as s:
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "pii.reveal")).one()
        assert entry.actor_id == seed.agent1
        assert entry.data["field"] == "card" and entry.data["reason"] == "客户来电核对绑定卡"


def test_reveal_needs_permission_and_a_reason(database, seed):
    with database.session() as s:
        trainee_id = s.scalar(select(User.id).where(User.username == "agent2"))
        trainee = s.get(User, trainee_id)
        trainee.is_trainee = True
        with pytest.raises(Forbidden):
            customers.reveal(s, actor=trainee, customer_id=seed.alice, field="phone", reason="x")
        alice = s.get(User, seed.alice_user)
        with pytest.raises(Forbidden):
            customers.reveal(s, actor=alice, customer_id=seed.alice, field="phone", reason="x")
    with database.session() as s:
        n = s.scalar(select(AuditEntry.id).where(AuditEntry.action == "pii.reveal"))
        assert n is None  # nothing was revealed, nothing recorded


def test_reveal_without_reason_is_422(client, seed):
    h = login(client, "agent1")
    r = client.post(
        f"/api/v1/customers/{seed.alice}/reveal", headers=h, json={"field": "phone", "reason": " "}
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "reason"


def test_lookup_by_phone_uses_the_blind_index(database, seed):
    with database.session() as s:
        agent = s.get(User, seed.agent1)
        found = customers.search_customers(s, viewer=agent, q="138 1234 5678")
        assert [c.code for c in found] == ["C01"]
        with pytest.raises(NotFound):
            customers.get_customer(s, viewer=s.get(User, seed.bob_user), customer_id=seed.alice)
