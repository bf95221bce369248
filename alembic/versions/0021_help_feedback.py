"""knowledge: "was this helpful?" answers under help-centre articles (one per article and
visitor)

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07 16:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "kb_help_feedback",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("visitor", sa.String(length=72), nullable=False),
        sa.Column("helpful", sa.Boolean(), nullable=False),
        sa.Column("lang", sa.String(length=2), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["kb_articles.id"],
            name=op.f("fk_kb_help_feedback_article_id_kb_articles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kb_help_feedback")),
        sa.UniqueConstraint("article_id", "visitor", name="uq_kb_help_feedback"),
    )
    op.create_index(
        op.f("ix_kb_help_feedback_visitor"), "kb_help_feedback", ["visitor"], unique=False
    )
    op.create_index(
        op.f("ix_kb_help_feedback_updated_at"), "kb_help_feedback", ["updated_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_kb_help_feedback_updated_at"), table_name="kb_help_feedback")
    op.drop_index(op.f("ix_kb_help_feedback_visitor"), table_name="kb_help_feedback")
    op.drop_table("kb_help_feedback")
