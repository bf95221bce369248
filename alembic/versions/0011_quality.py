"""quality: evaluations of finished cases (with a supervisor's override), calibrations and
their reviewers' ratings

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 13:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "quality_evaluations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("current", sa.Boolean(), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=True),
        sa.Column("scorecard", sa.String(length=32), nullable=False),
        sa.Column("score", sa.Numeric(5, 1), nullable=False),
        sa.Column("raw_score", sa.Numeric(5, 1), nullable=False),
        sa.Column("passed", sa.Boolean(), nullable=False),
        sa.Column("auto_fail", sa.Boolean(), nullable=False),
        sa.Column("sections", sa.JSON(), nullable=False),
        sa.Column("findings", sa.JSON(), nullable=False),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.Column("scored_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("category", sa.String(length=16), nullable=False),
        sa.Column("priority", sa.String(length=8), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("first_response_seconds", sa.Integer(), nullable=True),
        sa.Column("first_response_business_minutes", sa.Integer(), nullable=True),
        sa.Column("resolution_seconds", sa.Integer(), nullable=True),
        sa.Column("resolution_business_minutes", sa.Integer(), nullable=True),
        sa.Column("agent_replies", sa.Integer(), nullable=False),
        sa.Column("first_response_met", sa.Boolean(), nullable=True),
        sa.Column("resolution_met", sa.Boolean(), nullable=True),
        sa.Column("reopened", sa.Boolean(), nullable=False),
        sa.Column("complaint", sa.Boolean(), nullable=False),
        sa.Column("product_code", sa.String(length=8), nullable=False),
        sa.Column("problem_code", sa.String(length=8), nullable=False),
        sa.Column("compliance", sa.Boolean(), nullable=False),
        sa.Column("override_score", sa.Numeric(5, 1), nullable=True),
        sa.Column("override_passed", sa.Boolean(), nullable=True),
        sa.Column("override_reason", sa.Text(), nullable=False),
        sa.Column("overridden_by_id", sa.Integer(), nullable=True),
        sa.Column("overridden_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["agent_id"], ["users.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["overridden_by_id"], ["users.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_quality_evaluations_case", "quality_evaluations", ["case_id", "current"])
    op.create_index("ix_quality_evaluations_agent", "quality_evaluations", ["agent_id", "scored_at"])
    op.create_index(
        "ix_quality_evaluations_scored", "quality_evaluations", ["current", "scored_at"]
    )
    op.create_index(
        "ix_quality_evaluations_finished", "quality_evaluations", ["current", "finished_at"]
    )
    op.create_table(
        "quality_calibrations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("evaluation_id", sa.Integer(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["evaluation_id"], ["quality_evaluations.id"], ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_quality_calibrations_case_id", "quality_calibrations", ["case_id"])
    op.create_table(
        "quality_calibration_ratings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("calibration_id", sa.Integer(), nullable=False),
        sa.Column("reviewer_id", sa.Integer(), nullable=False),
        sa.Column("ratings", sa.JSON(), nullable=False),
        sa.Column("score", sa.Numeric(5, 1), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["calibration_id"], ["quality_calibrations.id"], ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["reviewer_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("calibration_id", "reviewer_id", name="uq_quality_rating"),
    )


def downgrade() -> None:
    op.drop_table("quality_calibration_ratings")
    op.drop_index("ix_quality_calibrations_case_id", table_name="quality_calibrations")
    op.drop_table("quality_calibrations")
    op.drop_index("ix_quality_evaluations_finished", table_name="quality_evaluations")
    op.drop_index("ix_quality_evaluations_scored", table_name="quality_evaluations")
    op.drop_index("ix_quality_evaluations_agent", table_name="quality_evaluations")
    op.drop_index("ix_quality_evaluations_case", table_name="quality_evaluations")
    op.drop_table("quality_evaluations")
