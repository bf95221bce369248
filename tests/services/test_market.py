"""The market context on a real database: the demo's generated prices agree with the recorded
trades, a dispute replays a record, and a correction needs a second person's decision."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from kefu.core.audit import AuditEntry
from kefu.core.errors import Forbidden, NotFound, ValidationFailed
from kefu.core.security import User
from kefu.customers import service as customers
from kefu.customers.models import Customer, Trade
from kefu.market import disputes, prices
from kefu.market.content import load_demo_market
from kefu.market.models import Bar, Tick
from tests.conftest import login

DEMO = Path(__file__).resolve().parents[2] / "content" / "demo"
LATE = "B2026111800107"  # the demo record the platform settled on a tick after expiry


@pytest.fixture
def market(database, seed, tmp_path: Path) -> dict[str, object]:
    """customer11's records of the demo given to alice, and the demo's price data for them."""
    source = yaml.safe_load((DEMO / "customers.yaml").read_text(encoding="utf-8"))
    c11 = next(c for c in source["customers"] if c["username"] == "customer11")
    symbols = {str(t["symbol"]) for t in c11["trades"]} | {
        str(p["symbol"]) for p in c11["positions"]
    }
    cfg = yaml.safe_load((DEMO / "market" / "instruments.yaml").read_text(encoding="utf-8"))
    cfg["instruments"] = [i for i in cfg["instruments"] if str(i["code"]) in symbols]
    (tmp_path / "market").mkdir()
    (tmp_path / "market" / "instruments.yaml").write_text(yaml.safe_dump(cfg), encoding="utf-8")
    (tmp_path / "customers.yaml").write_text(yaml.safe_dump({"customers": [c11]}), encoding="utf-8")
    with database.session() as s:
        alice = s.get(Customer, seed.alice)
        b = customers.add_account(
            s, customer=alice, number="B310000011", kind="binary_option", currency="USD"
        )
        acct = {"A310000011": alice.accounts[0].id, "B310000011": b.id}
        for t in c11["trades"]:
            s.add(
                Trade(
                    ref=t["id"],
                    account_id=acct[t["account"]],
                    at=datetime.fromisoformat(t["at"]),
                    kind=t["kind"],
                    symbol=str(t["symbol"]),
                    status=t.get("status", "filled"),
                    side=t.get("side"),
                    qty=t.get("qty"),
                    price=Decimal(t["price"]) if t.get("price") else None,
                    direction=t.get("direction"),
                    stake=Decimal(t["stake"]) if t.get("stake") else None,
                    payout_rate=Decimal(t["payout_rate"]) if t.get("payout_rate") else None,
                    entry_price=Decimal(t["entry_price"]) if t.get("entry_price") else None,
                    expiry_at=datetime.fromisoformat(t["expiry_at"])
                    if t.get("expiry_at")
                    else None,
                    settle_price=Decimal(t["settle_price"]) if t.get("settle_price") else None,
                    result=t.get("result"),
                )
            )
        s.flush()
        counts = load_demo_market(s, tmp_path)
        again = load_demo_market(s, tmp_path)
        s.commit()
    return {"c11": c11, "counts": counts, "again": again}


def test_demo_prices_agree_with_every_recorded_trade(database, seed, market) -> None:
    assert market["again"] == {"instruments": 0, "bars": 0, "ticks": 0}  # idempotent
    c11 = market["c11"]
    with database.session() as s:
        agent = s.get(User, seed.agent1)
        for t in (t for t in c11["trades"] if t["kind"] == "binary"):
            view = disputes.replay_trade(s, viewer=agent, ref=t["id"])
            row = s.scalar(select(Trade).where(Trade.ref == t["id"]))
            # the tick the platform recorded carries the recorded settle price
            tick = s.scalar(select(Tick.price).where(Tick.ts == row.settle_tick_at))
            assert tick == Decimal(t["settle_price"])
            if t["id"] == LATE:
                assert (view.replay.outcome, t["result"], view.matches) == ("win", "loss", False)
                assert view.replay.expiry_tick_ts <= row.expiry_at < row.settle_tick_at
            else:
                assert view.replay.outcome == t["result"] and view.matches, t["id"]
                assert view.replay.expiry_price == Decimal(t["settle_price"])
                assert view.replay.expiry_tick_ts == row.settle_tick_at
        for t in (t for t in c11["trades"] if t["kind"] == "stock" and t["status"] == "filled"):
            at, price = datetime.fromisoformat(t["at"]), Decimal(t["price"])
            for interval in ("1m", "1d"):
                bar = _bar(s, str(t["symbol"]), interval, at)
                assert bar.low <= price <= bar.high, (t["id"], interval)
        # the reply drafted for the late-settled record explains it and passes the guard
        view = disputes.replay_trade(s, viewer=agent, ref=LATE)
        zh = disputes.draft(view, "zh-CN")
        en = disputes.draft(view, "en")
    assert zh["guard"]["verdict"] == "allow" and en["guard"]["verdict"] == "allow"
    assert "90952.4" in zh["text"] and "高于开仓价 90941" in zh["text"] and "主管审核" in zh["text"]
    assert "2026-11-19 01:50:08" in zh["text"]  # expiry shown in Beijing time
    assert "925.00 USD" in en["text"] and "not a loss as recorded" in en["text"]


def _bar(s, code: str, interval: str, at: datetime) -> Bar:
    inst = prices.find_instrument(s, code)
    return s.scalar(
        select(Bar)
        .where(Bar.instrument_id == inst.id, Bar.interval == interval, Bar.ts <= at)
        .order_by(Bar.ts.desc())
        .limit(1)
    )


def test_dispute_opens_a_correction_only_on_a_mismatch(client, database, seed, market) -> None:
    # the API first: the chart's data, a refused bad time, the replay as a read
    h = login(client, "agent1")
    r = client.get(
        "/api/v1/market/bars",
        params={"symbol": "600519", "customer_id": seed.alice, "style": "talib"},
        headers=h,
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert len(body["ts"]) == len(body["close"]) > 60
    assert set(body["indicators"]) == {"MA", "BOLL", "VOL", "MACD", "KDJ", "RSI"}
    assert body["indicators"]["MACD"]["hist"][0] is None  # talib: undefined until bar 33
    assert [t["ref"] for t in body["trades"]] == ["T2026102000101"]  # alice's fill, marked
    bad = client.get(
        "/api/v1/market/bars",
        params={"symbol": "600519", "start": "1900-01-01T00:00:00"},
        headers=h,
    )
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "start"
    rep = client.get(f"/api/v1/market/trades/{LATE}/replay", headers=h).json()
    assert (rep["matches"], rep["replay"]["outcome"], rep["trade"]["recorded"]["result"]) == (
        False,
        "win",
        "loss",
    )
    assert rep["dispute"] is None  # reading a replay writes nothing
    refused = client.post(
        f"/api/v1/market/trades/{LATE}/disputes", json={}, headers=login(client, "compliance")
    )
    assert refused.status_code == 403  # compliance reads disputes, agents open them
    with database.session() as s:
        agent, sup = s.get(User, seed.agent1), s.get(User, seed.supervisor)
        admin = s.get(User, seed.admin)
        ok = disputes.open_dispute(s, actor=agent, ref="B2026092800103")
        assert (ok.status, ok.matches) == ("confirmed", True)
        assert disputes.dispute_of(s, viewer=agent, ref="B2026092800103").correction is None
        bad = disputes.open_dispute(s, actor=sup, ref=LATE)
        assert (bad.status, bad.outcome, bad.recorded_result) == ("correction", "win", "loss")
        assert disputes.open_dispute(s, actor=agent, ref=LATE).id == bad.id  # not twice
        corr = disputes.dispute_of(s, viewer=agent, ref=LATE).correction
        # stake 500 at 85 %: 925.00 due back, 0 was returned
        assert (corr.amount, corr.currency, corr.status) == (Decimal("925.0000"), "USD", "pending")
        with pytest.raises(Forbidden, match="four eyes"):
            disputes.decide_correction(s, actor=sup, correction_id=corr.id, decision="approve")
        with pytest.raises(Forbidden):  # an agent may not decide
            disputes.decide_correction(s, actor=agent, correction_id=corr.id, decision="approve")
        with pytest.raises(ValidationFailed, match="needs a note"):
            disputes.decide_correction(s, actor=admin, correction_id=corr.id, decision="reject")
        disputes.decide_correction(
            s, actor=admin, correction_id=corr.id, decision="approve", note="late settlement tick"
        )
        assert (corr.status, bad.status) == ("approved", "corrected")
        with pytest.raises(ValidationFailed, match="already approved"):
            disputes.decide_correction(
                s, actor=admin, correction_id=corr.id, decision="reject", note="x"
            )
        s.commit()
        # the pages render: the supervisors' list, the replay panel, the chart page
        html = {"Accept": "text/html"}
        page = client.get("/desk/market/corrections", headers=login(client, "admin") | html)
        assert page.status_code == 200 and LATE in page.text and "925.00 USD" in page.text
        panel = client.get(f"/desk/market/trades/{LATE}", headers=h | html)
        assert panel.status_code == 200 and "data-ticks=" in panel.text and "925.00" in panel.text
        chart = client.get("/desk/market/chart?symbol=BTC/USD", headers=h | html)
        assert chart.status_code == 200 and 'data-chart="bars"' in chart.text
        actions = [e.action for e in s.scalars(select(AuditEntry).order_by(AuditEntry.id))]
        assert actions.count("market.dispute_open") == 2
        assert "market.correction_request" in actions and "market.correction_decide" in actions
        with pytest.raises(Forbidden):  # market.read is for staff
            disputes.replay_trade(s, viewer=s.get(User, seed.bob_user), ref=LATE)
        with pytest.raises(NotFound):
            disputes.replay_trade(s, viewer=agent, ref="B-NOPE")
