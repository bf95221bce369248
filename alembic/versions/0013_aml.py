"""aml: party types, alerts, AML cases, notes, snoozes; the counterparty name of a transfer

Revision ID: 0013
Revises: 0010
Create Date: 2026-12-07 13:05:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

MONEY = sa.Numeric(precision=20, scale=4)

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("fund_transfers") as batch:
        batch.add_column(
            sa.Column("counterparty_name", sa.String(128), nullable=False, server_default="")
        )
    op.create_table(
        "aml_parties",
        sa.Column("customer_id", sa.Integer, nullable=False),
        sa.Column("party_type", sa.String(16), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name="fk_aml_parties_customer_id_customers",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("customer_id", name="pk_aml_parties"),
    )
    op.create_table(
        "aml_cases",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("customer_id", sa.Integer, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=True),
        sa.Column("assignee_id", sa.Integer, nullable=True),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("escalated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("report_due_on", sa.Date, nullable=True),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name="fk_aml_cases_customer_id_customers",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["assignee_id"],
            ["users.id"],
            name="fk_aml_cases_assignee_id_users",
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_aml_cases"),
    )
    op.create_index("ix_aml_cases_customer_status", "aml_cases", ["customer_id", "status"])
    op.create_table(
        "aml_alerts",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("customer_id", sa.Integer, nullable=False),
        sa.Column("case_id", sa.Integer, nullable=False),
        sa.Column("rule", sa.String(32), nullable=False),
        sa.Column("direction", sa.String(16), nullable=True),
        sa.Column("txn_refs", sa.JSON, nullable=False),
        sa.Column("amount", MONEY, nullable=False),
        sa.Column("txn_count", sa.Integer, nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("window_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("explanation_zh", sa.Text, nullable=False),
        sa.Column("explanation_en", sa.Text, nullable=False),
        sa.Column("raised_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("raised_by", sa.String(16), nullable=False),
        sa.Column("report_due_on", sa.Date, nullable=True),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name="fk_aml_alerts_customer_id_customers",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["aml_cases.id"],
            name="fk_aml_alerts_case_id_aml_cases",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_aml_alerts"),
        sa.UniqueConstraint("key", name="uq_aml_alerts_key"),
    )
    op.create_index("ix_aml_alerts_case", "aml_alerts", ["case_id"])
    op.create_index("ix_aml_alerts_customer_rule", "aml_alerts", ["customer_id", "rule"])
    op.create_table(
        "aml_notes",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("case_id", sa.Integer, nullable=False),
        sa.Column("author_id", sa.Integer, nullable=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["aml_cases.id"],
            name="fk_aml_notes_case_id_aml_cases",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["author_id"], ["users.id"], name="fk_aml_notes_author_id_users", ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_aml_notes"),
    )
    op.create_index("ix_aml_notes_case_id", "aml_notes", ["case_id"])
    op.create_table(
        "aml_snoozes",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("customer_id", sa.Integer, nullable=False),
        sa.Column("rule", sa.String(32), nullable=False),
        sa.Column("until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.String(500), nullable=False),
        sa.Column("created_by", sa.Integer, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name="fk_aml_snoozes_customer_id_customers",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.id"],
            name="fk_aml_snoozes_created_by_users",
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_aml_snoozes"),
    )
    op.create_index("ix_aml_snoozes_customer_rule", "aml_snoozes", ["customer_id", "rule"])


def downgrade() -> None:
    for table in ("aml_snoozes", "aml_notes", "aml_alerts", "aml_cases", "aml_parties"):
        op.drop_table(table)
    with op.batch_alter_table("fund_transfers") as batch:
        batch.drop_column("counterparty_name")
