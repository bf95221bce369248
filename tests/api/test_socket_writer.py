"""The sockets' group-commit writer: writes queued together commit in one transaction, each in
its own savepoint — a refused message does not undo the others — and a caller hears back only
after the commit (an ack still means committed)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from kefu.core.errors import KefuError
from kefu.desk import service
from kefu.desk.models import Message
from kefu.web.hub import Writer, writer_for
from tests.conftest import login


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
