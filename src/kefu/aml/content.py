"""Loads the monitoring policy (content/policies/aml.yaml) and hands it to the engine.

A value written ``"{{rule:ID.field}}"`` is read from the rules registry (the knowledge base's
public face) on the day asked, so the large-value thresholds are written once, in
content/policies/rules.yaml, and the policy can never disagree with them.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy.orm import Session

from kefu.aml.monitor import Policy, PolicyError
from kefu.core.config import get_settings
from kefu.knowledge import service as knowledge

__all__ = ["load_demo", "load_policy", "policy_path", "read_policy_data"]

_REF = re.compile(r"^\{\{rule:([a-z0-9_]+(?:\.[a-z0-9_]+)?)\}\}$")


def policy_path(folder: Path | None = None) -> Path:
    return (folder or get_settings().content_dir) / "policies" / "aml.yaml"


class _ExactLoader(yaml.SafeLoader):
    """Decimals read exactly (0.8 stays Decimal("0.8"))."""


def _exact_float(loader: yaml.SafeLoader, node: yaml.Node) -> Decimal:
    return Decimal(str(loader.construct_scalar(node)).replace("_", ""))  # type: ignore[arg-type]


_ExactLoader.add_constructor("tag:yaml.org,2002:float", _exact_float)


def read_policy_data(path: Path, *, as_of: date | None = None) -> dict[str, Any]:
    """The parsed policy with every registry reference replaced by its value on ``as_of``."""
    try:
        data: Any = yaml.load(path.read_text(encoding="utf-8"), Loader=_ExactLoader)  # noqa: S506
    except OSError as exc:
        raise PolicyError(f"{path.name}: cannot read ({exc.strerror})") from exc
    except yaml.YAMLError as exc:
        raise PolicyError(f"{path.name}: not valid YAML ({exc})") from exc
    if not isinstance(data, dict):
        raise PolicyError(f"{path.name}: expected a mapping")
    registry = knowledge.rules()

    def resolve(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: resolve(v) for k, v in value.items()}
        if isinstance(value, list):
            return [resolve(v) for v in value]
        if isinstance(value, str):
            m = _REF.match(value.strip())
            if m:
                try:
                    d = registry.decimal(m.group(1), as_of)
                except Exception as exc:
                    raise PolicyError(f"{path.name}: {value}: {exc}") from exc
                return int(d) if d == d.to_integral_value() else str(d)
        return value

    resolved: dict[str, Any] = resolve(data)
    return resolved


def load_policy(path: Path | None = None, *, as_of: date | None = None) -> Policy:
    """The policy of the configured content (or ``path``), thresholds as of ``as_of``."""
    p = path or policy_path()
    return Policy.from_mapping(read_policy_data(p, as_of=as_of), p.name)


def load_demo(db: Session, path: Path) -> dict[str, int]:
    """The AML demo (content/demo/aml.yaml) through the back-office feed: stored, then checked
    by the streaming monitor, so its alerts and cases are made as production makes them.
    Idempotent (the feed is). Returns what the feed did."""
    from kefu.aml.feeds import CustomerRecord, TradeRecord, TransferRecord, ingest

    if not path.exists():
        return {"alerts": 0}
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    trades = [dict(t) for t in data.get("trades", [])]
    for s in data.get("series", []):
        start = datetime.fromisoformat(str(s["start"]))
        for i in range(int(s["count"])):
            trades.append(
                {
                    "trade_id": f"{s['prefix']}{i:04d}",
                    "customer_id": s["customer_id"],
                    "ts": (start + timedelta(minutes=int(s["every_minutes"]) * i)).isoformat(),
                    "side": ("buy", "sell")[i % 2],
                    "symbol": str(s["symbol"]),
                    "qty": s["qty"],
                    "price": str(s["price"]),
                }
            )
    raised = 0
    for kind, model, rows in (
        ("customers", CustomerRecord, data.get("customers", [])),
        ("trades", TradeRecord, trades),
        ("transfers", TransferRecord, data.get("transfers", [])),
    ):
        records = [model.model_validate(_plain(r)) for r in rows]
        if records:
            raised += ingest(db, actor=None, kind=kind, records=records).alerts_raised
    return {"alerts": raised}


def _plain(row: dict[str, Any]) -> dict[str, Any]:
    """YAML's dates and numbers as the feed's JSON would carry them."""
    return {
        k: (v.isoformat() if isinstance(v, date) else str(v) if k != "qty" else v)
        for k, v in row.items()
    }
