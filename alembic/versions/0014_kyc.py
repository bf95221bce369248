"""customers: KYC records and their history, customer tasks, suitability assessments and
product requests, the professional-investor flag; compliance: verdicts on guard decisions

Revision ID: 0014
Revises: 0010
Create Date: 2026-12-07 13:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("customers") as batch:
        batch.add_column(
            sa.Column("professional", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    op.create_table(
        "kyc_records",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "customer_id",
            sa.Integer(),
            sa.ForeignKey("customers.id", ondelete="CASCADE"),
            nullable=False,
            unique=True,
        ),
        sa.Column("doc_type", sa.String(24), nullable=False),
        sa.Column("doc_number_enc", sa.String(512), nullable=False),
        sa.Column("doc_number_masked", sa.String(32), nullable=False),
        sa.Column("doc_number_index", sa.String(64), nullable=False),
        sa.Column("doc_expires_on", sa.Date(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("funds_source", sa.String(16), nullable=False),
        sa.Column("funds_note", sa.String(500), nullable=False),
        sa.Column(
            "reviewer_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="SET NULL")
        ),
        sa.Column("reviewed_at", TS, nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_index("ix_kyc_records_doc_number_index", "kyc_records", ["doc_number_index"])
    op.create_table(
        "kyc_events",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "record_id",
            sa.Integer(),
            sa.ForeignKey("kyc_records.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("at", TS, nullable=False),
        sa.Column("actor_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="SET NULL")),
        sa.Column("from_status", sa.String(16), nullable=True),
        sa.Column("to_status", sa.String(16), nullable=False),
        sa.Column("note", sa.String(500), nullable=False),
    )
    op.create_index("ix_kyc_events_record_id", "kyc_events", ["record_id"])
    op.create_table(
        "customer_tasks",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "customer_id",
            sa.Integer(),
            sa.ForeignKey("customers.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("closed_at", TS, nullable=True),
        sa.Column(
            "closed_by_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="SET NULL")
        ),
        sa.Column("note", sa.String(500), nullable=False),
        sa.UniqueConstraint("customer_id", "kind", "due_on", name="uq_customer_task"),
    )
    op.create_index("ix_customer_tasks_customer_id", "customer_tasks", ["customer_id"])
    op.create_table(
        "suitability_assessments",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "customer_id",
            sa.Integer(),
            sa.ForeignKey("customers.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("version", sa.String(16), nullable=False),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(8), nullable=False),
        sa.Column("lowest_because", sa.JSON(), nullable=False),
        sa.Column("taken_at", TS, nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=False),
        sa.Column(
            "taken_by_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="SET NULL")
        ),
    )
    op.create_index(
        "ix_suitability_assessments_customer",
        "suitability_assessments",
        ["customer_id", "taken_at"],
    )
    op.create_table(
        "suitability_requests",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "customer_id",
            sa.Integer(),
            sa.ForeignKey("customers.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "assessment_id",
            sa.Integer(),
            sa.ForeignKey("suitability_assessments.id", ondelete="SET NULL"),
        ),
        sa.Column("product_code", sa.String(32), nullable=False),
        sa.Column("product_risk", sa.String(2), nullable=False),
        sa.Column("category", sa.String(8), nullable=False),
        sa.Column("professional", sa.Boolean(), nullable=False),
        sa.Column("outcome", sa.String(12), nullable=False),
        sa.Column("warning_version", sa.String(16), nullable=True),
        sa.Column("requested_at", TS, nullable=False),
        sa.Column("confirmed_at", TS, nullable=True),
    )
    op.create_index(
        "ix_suitability_requests_customer",
        "suitability_requests",
        ["customer_id", "requested_at"],
    )
    op.create_index("ix_suitability_requests_outcome", "suitability_requests", ["outcome"])
    op.create_table(
        "guard_verdicts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "audit_id",
            sa.Integer(),
            sa.ForeignKey("audit_log.id", ondelete="RESTRICT"),
            nullable=False,
            unique=True,
        ),
        sa.Column("verdict", sa.String(16), nullable=False),
        sa.Column("note", sa.String(500), nullable=False),
        sa.Column("actor_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="SET NULL")),
        sa.Column("at", TS, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("guard_verdicts")
    op.drop_index("ix_suitability_requests_outcome", table_name="suitability_requests")
    op.drop_index("ix_suitability_requests_customer", table_name="suitability_requests")
    op.drop_table("suitability_requests")
    op.drop_index("ix_suitability_assessments_customer", table_name="suitability_assessments")
    op.drop_table("suitability_assessments")
    op.drop_index("ix_customer_tasks_customer_id", table_name="customer_tasks")
    op.drop_table("customer_tasks")
    op.drop_index("ix_kyc_events_record_id", table_name="kyc_events")
    op.drop_table("kyc_events")
    op.drop_index("ix_kyc_records_doc_number_index", table_name="kyc_records")
    op.drop_table("kyc_records")
    with op.batch_alter_table("customers") as batch:
        batch.drop_column("professional")
