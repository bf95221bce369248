"""market: instruments, bars and ticks, binary-option disputes and corrections; the settlement
tick (time, feed) and the tie rule on trades

Revision ID: 0015
Revises: 0010
Create Date: 2026-12-07 13:01:11.843120
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "market_instruments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("name_zh", sa.String(length=64), nullable=False),
        sa.Column("name_en", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("price_places", sa.Integer(), nullable=False),
        sa.Column("feed", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_market_instruments")),
        sa.UniqueConstraint("code", name=op.f("uq_market_instruments_code")),
    )
    op.create_table(
        "market_bars",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("instrument_id", sa.Integer(), nullable=False),
        sa.Column("interval", sa.String(length=4), nullable=False),
        sa.Column("ts", sa.DateTime(timezone=True), nullable=False),
        sa.Column("open", sa.Numeric(precision=24, scale=8), nullable=False),
        sa.Column("high", sa.Numeric(precision=24, scale=8), nullable=False),
        sa.Column("low", sa.Numeric(precision=24, scale=8), nullable=False),
        sa.Column("close", sa.Numeric(precision=24, scale=8), nullable=False),
        sa.Column("volume", sa.Numeric(precision=24, scale=4), nullable=False),
        sa.ForeignKeyConstraint(
            ["instrument_id"],
            ["market_instruments.id"],
            name=op.f("fk_market_bars_instrument_id_market_instruments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_market_bars")),
        sa.UniqueConstraint(
            "instrument_id", "interval", "ts", name=op.f("uq_market_bars_instrument_id")
        ),
    )
    op.create_table(
        "market_ticks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("instrument_id", sa.Integer(), nullable=False),
        sa.Column("feed", sa.String(length=32), nullable=False),
        sa.Column("ts", sa.DateTime(timezone=True), nullable=False),
        sa.Column("price", sa.Numeric(precision=24, scale=8), nullable=False),
        sa.ForeignKeyConstraint(
            ["instrument_id"],
            ["market_instruments.id"],
            name=op.f("fk_market_ticks_instrument_id_market_instruments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_market_ticks")),
        sa.UniqueConstraint(
            "instrument_id", "feed", "ts", name=op.f("uq_market_ticks_instrument_id")
        ),
    )
    op.create_table(
        "market_disputes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("trade_id", sa.Integer(), nullable=False),
        sa.Column("trade_ref", sa.String(length=32), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("opened_by", sa.Integer(), nullable=True),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("feed", sa.String(length=32), nullable=False),
        sa.Column("tie_rule", sa.String(length=8), nullable=False),
        sa.Column("recorded_result", sa.String(length=8), nullable=False),
        sa.Column("recorded_returned", sa.Numeric(precision=20, scale=4), nullable=False),
        sa.Column("outcome", sa.String(length=8), nullable=False),
        sa.Column("expiry_price", sa.Numeric(precision=24, scale=8), nullable=False),
        sa.Column("expiry_tick_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("returned", sa.Numeric(precision=20, scale=4), nullable=False),
        sa.Column("profit", sa.Numeric(precision=20, scale=4), nullable=False),
        sa.Column("matches", sa.Boolean(), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name=op.f("fk_market_disputes_case_id_cases"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["opened_by"],
            ["users.id"],
            name=op.f("fk_market_disputes_opened_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["trade_id"],
            ["trades.id"],
            name=op.f("fk_market_disputes_trade_id_trades"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_market_disputes")),
    )
    with op.batch_alter_table("market_disputes", schema=None) as batch_op:
        batch_op.create_index("ix_market_disputes_trade", ["trade_id"], unique=False)

    op.create_table(
        "market_corrections",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dispute_id", sa.Integer(), nullable=False),
        sa.Column("trade_ref", sa.String(length=32), nullable=False),
        sa.Column("account_number", sa.String(length=24), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("amount", sa.Numeric(precision=20, scale=4), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("requested_by", sa.Integer(), nullable=True),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.Integer(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("note", sa.String(length=500), nullable=False),
        sa.ForeignKeyConstraint(
            ["decided_by"],
            ["users.id"],
            name=op.f("fk_market_corrections_decided_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["dispute_id"],
            ["market_disputes.id"],
            name=op.f("fk_market_corrections_dispute_id_market_disputes"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["requested_by"],
            ["users.id"],
            name=op.f("fk_market_corrections_requested_by_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_market_corrections")),
        sa.UniqueConstraint("dispute_id", name=op.f("uq_market_corrections_dispute_id")),
    )
    with op.batch_alter_table("trades", schema=None) as batch_op:
        batch_op.add_column(sa.Column("settle_tick_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("settle_feed", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("tie_rule", sa.String(length=8), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("trades", schema=None) as batch_op:
        batch_op.drop_column("tie_rule")
        batch_op.drop_column("settle_feed")
        batch_op.drop_column("settle_tick_at")

    op.drop_table("market_corrections")
    with op.batch_alter_table("market_disputes", schema=None) as batch_op:
        batch_op.drop_index("ix_market_disputes_trade")

    op.drop_table("market_disputes")
    op.drop_table("market_ticks")
    op.drop_table("market_bars")
    op.drop_table("market_instruments")
