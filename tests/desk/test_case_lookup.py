"""An agent finds a case by what identifies it, not only by its words: the case number (41 or
#41), the external reference, the customer's name, account, or phone matched exactly through the
blind index (a part of a phone number finds nothing). A customer finds only their own."""

from __future__ import annotations

from kefu.core.security import User
from kefu.desk import service as desk
from tests.conftest import login


def _cases(database, seed) -> tuple[int, int]:
    with database.session() as s:
        agent = s.get(User, seed.agent1)
        a = desk.create_case(
            s, actor=agent, customer_id=seed.alice, channel="phone", subject="咨询手续费",
            category="trading", external_ref="CRM-88231", auto_assign=False,
        )  # fmt: skip
        b = desk.create_case(
            s, actor=agent, customer_id=seed.bob, channel="web", subject="Withdrawal delay",
            category="funds", auto_assign=False,
        )  # fmt: skip
        return a.id, b.id


def _ids(client, headers, q: str) -> set[int]:
    r = client.get("/api/v1/cases", headers=headers, params={"q": q})
    assert r.status_code == 200, r.text
    return {c["id"] for c in r.json()["items"]}


def test_an_agent_finds_a_case_by_number_reference_and_customer(client, database, seed):
    alice_case, bob_case = _cases(database, seed)
    agent = login(client, "agent1")
    assert alice_case in _ids(client, agent, str(alice_case))
    assert alice_case in _ids(client, agent, f"#{alice_case}")
    assert _ids(client, agent, "CRM-88231") == {alice_case}
    assert alice_case in _ids(client, agent, "王建国")
    assert bob_case in _ids(client, agent, "Bob Lee")
    assert alice_case in _ids(client, agent, "A310000001")
    # the phone is stored encrypted: found whole (any layout), never by a fragment
    assert alice_case in _ids(client, agent, "138 1234 5678")
    assert _ids(client, agent, "1381234") == set()


def test_a_customer_finds_only_their_own_case_by_number(client, database, seed):
    alice_case, bob_case = _cases(database, seed)
    alice = login(client, "alice")
    assert _ids(client, alice, f"#{alice_case}") == {alice_case}
    assert _ids(client, alice, f"#{bob_case}") == set()
    assert _ids(client, alice, "Bob Lee") == set()
