"""The sockets' group-commit writer: writes queued together commit in one transaction — as one
unit, or, when one of them is refused, again each in its own savepoint, so a refused message
does not undo the others — and a caller hears back only after the commit (an ack still means
committed)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from kefu.compliance.audit import GuardAudit
from kefu.core.audit import AuditEntry
from kefu.core.errors import KefuError
from kefu.desk import service
from kefu.desk.audit import DeskAudit
from kefu.desk.models import Message
from kefu.web.socket_writer import Writer, writer_for
from tests.conftest import login


def _audited(database, action: str, case_id: int) -> int:
    with database.session() as s:
        return int(
            s.scalar(
                select(func.count())
                .select_from(AuditEntry)
                .where(AuditEntry.action == action, AuditEntry.entity_id == str(case_id))
            )
            or 0
        )


def _count(database, case_id: int) -> int:
    with database.session() as s:
        return int(
            s.scalar(select(func.count()).select_from(Message).where(Message.case_id == case_id))
            or 0
        )


def test_a_batch_commits_together_and_one_refusal_spares_the_rest(client, seed, database):
    alice = login(client, "alice")
    cid = client.post("/api/v1/chats", headers=alice, json={"body": "你好"}).json()["case_id"]
    before = _count(database, cid)
    writer = Writer(database)
    seen_committed: list[int] = []

    def post(body: str, key: str):
        def fn(s, user):
            msg, _ = service.post_message(
                s, actor=user, case_id=cid, body=body, idempotency_key=key
            )
            return msg.id

        return fn

    async def run():
        jobs = [
            writer.write(post(f"第{i}条：请问出金多久到账", f"k{i}"), seed.agent1)
            for i in range(20)
        ]
        jobs.insert(7, writer.write(post("这只股票稳赚不赔，保证收益", "bad"), seed.agent1))
        results = []
        for job in asyncio.as_completed(jobs):
            try:
                results.append(await job)
                seen_committed.append(_count(database, cid))  # visible when the ack comes
            except KefuError as exc:
                results.append(exc)
        return results

    results = asyncio.run(run())
    refused = [r for r in results if isinstance(r, KefuError)]
    assert len(refused) == 1 and refused[0].status == 422
    assert _count(database, cid) == before + 20
    assert min(seen_committed) > before  # every answer came after its commit
    assert writer.batches < writer.writes  # they were grouped, not one transaction each
    assert writer.writes == 21
    assert writer.redone >= 1  # the batch with the refusal was run again, a savepoint each
    # each delivered message has its audit entry; the block is on record exactly once, although
    # its batch ran twice
    assert _audited(database, DeskAudit.message_agent, cid) == 20
    assert _audited(database, GuardAudit.block, cid) == 1


def test_the_app_keeps_one_writer_for_all_sockets(client):
    app = client.app
    assert writer_for(app) is writer_for(app)
    assert writer_for(SimpleNamespace(state=SimpleNamespace(db=None))) is not writer_for(app)


def test_an_unexpected_error_in_a_write_reaches_its_caller(database, seed):
    writer = Writer(database)

    def broken(s, user):
        s.execute(select(func.count()).select_from(Message))
        raise RuntimeError("boom")

    async def run():
        with pytest.raises(RuntimeError, match="boom"):
            await writer.write(broken, seed.agent1)

    asyncio.run(run())


def _post(case_id: int, body: str, key: str):
    def fn(s, user):
        msg, created = service.post_message(
            s, actor=user, case_id=case_id, body=body, idempotency_key=key
        )
        return msg.id, created

    return fn


def test_one_key_twice_in_one_batch_is_one_message(client, seed, database):
    """A client that resends before its ack (a reconnect) can land both copies in one batch:
    the batch reads its keys up front, and the second copy still finds the first."""
    alice = login(client, "alice")
    cid = client.post("/api/v1/chats", headers=alice, json={"body": "你好"}).json()["case_id"]
    before = _count(database, cid)
    writer = Writer(database)

    async def run():
        return await asyncio.gather(
            *(
                writer.write(_post(cid, "出金什么时候到账？", "k"), seed.alice_user, (cid, "k"))
                for _ in range(3)
            ),
            writer.write(_post(cid, "还有一个问题", "other"), seed.alice_user, (cid, "other")),
        )

    results = asyncio.run(run())
    assert writer.batches < writer.writes  # they did share a batch
    first, *again = results[:3]
    assert first[1] is True and all(r == (first[0], False) for r in again)
    assert results[3][1] is True
    assert _count(database, cid) == before + 2


def test_a_batch_read_up_front_still_keeps_customers_to_their_own_cases(client, seed, database):
    alice = login(client, "alice")
    cid = client.post("/api/v1/chats", headers=alice, json={"body": "你好"}).json()["case_id"]
    before = _count(database, cid)
    writer = Writer(database)

    async def run():
        jobs = [
            writer.write(_post(cid, "我的提现到了吗", "a1"), seed.alice_user, (cid, "a1")),
            writer.write(_post(cid, "I am not Alice", "b1"), seed.bob_user, (cid, "b1")),
            writer.write(_post(cid, "谢谢", "a2"), seed.alice_user, (cid, "a2")),
        ]
        return await asyncio.gather(*jobs, return_exceptions=True)

    ok1, refused, ok2 = asyncio.run(run())
    assert isinstance(refused, KefuError) and refused.status == 404
    assert ok1[1] is True and ok2[1] is True
    assert _count(database, cid) == before + 2


def test_a_batch_without_refusals_is_one_unit_with_every_audit_entry(client, seed, database):
    alice = login(client, "alice")
    cid = client.post("/api/v1/chats", headers=alice, json={"body": "你好"}).json()["case_id"]
    before = _audited(database, DeskAudit.message_customer, cid)
    writer = Writer(database)

    async def run():
        return await asyncio.gather(
            *(
                writer.write(_post(cid, f"第{i}个问题", f"q{i}"), seed.alice_user, (cid, f"q{i}"))
                for i in range(12)
            )
        )

    results = asyncio.run(run())
    assert all(created for _, created in results)
    assert writer.batches < writer.writes and writer.redone == 0
    assert _audited(database, DeskAudit.message_customer, cid) == before + 12
    with database.session() as s:
        seqs = list(
            s.scalars(select(Message.seq).where(Message.case_id == cid).order_by(Message.id))
        )
    assert seqs == list(range(1, len(seqs) + 1))  # gap-free, in id order


def test_a_write_that_fails_after_writing_leaves_nothing_and_spares_the_rest(
    client, seed, database
):
    """A write that has already stored its message when it fails: the unit is rolled back and
    redone one savepoint per write, so its message is gone and the others are kept."""
    alice = login(client, "alice")
    cid = client.post("/api/v1/chats", headers=alice, json={"body": "你好"}).json()["case_id"]
    before = _count(database, cid)
    writer = Writer(database)

    def half_done(s, user):
        service.post_message(s, actor=user, case_id=cid, body="写了一半", idempotency_key="h")
        raise RuntimeError("fails after writing")

    async def run():
        jobs = [writer.write(_post(cid, f"好的{i}", f"g{i}"), seed.alice_user) for i in range(5)]
        jobs.insert(2, writer.write(half_done, seed.alice_user))
        return await asyncio.gather(*jobs, return_exceptions=True)

    results = asyncio.run(run())
    assert isinstance(results[2], RuntimeError)
    assert all(r[1] is True for i, r in enumerate(results) if i != 2)
    assert _count(database, cid) == before + 5
    with database.session() as s:
        bodies = set(s.scalars(select(Message.body).where(Message.case_id == cid)))
    assert "写了一半" not in bodies


def test_a_lone_refused_write_is_on_record_once(client, seed, database):
    alice = login(client, "alice")
    cid = client.post("/api/v1/chats", headers=alice, json={"body": "你好"}).json()["case_id"]
    writer = Writer(database)

    async def run():
        with pytest.raises(KefuError):
            await writer.write(_post(cid, "这只股票稳赚不赔，保证收益", "solo"), seed.agent1)

    asyncio.run(run())
    assert _audited(database, GuardAudit.block, cid) == 1


def test_a_connection_the_database_dropped_is_replaced_without_failing_a_write(
    client, seed, database
):
    """The writer keeps its connection from batch to batch; when the database drops it (a
    restart, a killed backend) the next batch runs on a new one and its writes still commit."""
    alice = login(client, "alice")
    cid = client.post("/api/v1/chats", headers=alice, json={"body": "你好"}).json()["case_id"]
    before = _count(database, cid)
    writer = Writer(database)

    def drop(conn) -> None:
        if database.dialect == "postgresql":
            pid = conn.exec_driver_sql("select pg_backend_pid()").scalar()
            conn.rollback()
            with database.engine.connect() as other:
                other.exec_driver_sql(f"select pg_terminate_backend({int(pid)})")
        else:
            conn.connection.dbapi_connection.close()

    async def run():
        await writer.write(_post(cid, "消息一", "one"), seed.alice_user, (cid, "one"))
        kept = writer.conn
        assert kept is not None
        await asyncio.get_running_loop().run_in_executor(writer.thread, drop, kept)
        second = await writer.write(_post(cid, "消息二", "two"), seed.alice_user, (cid, "two"))
        return kept, second

    kept, second = asyncio.run(run())
    assert second[1] is True
    assert writer.conn is not kept
    assert _count(database, cid) == before + 2
