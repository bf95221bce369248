"""desk: teams with members, escalations of cases to a team under an internal target (OLA),
and the escalation's internal thread

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07 16:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "desk_teams",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name_zh", sa.String(length=64), nullable=False),
        sa.Column("name_en", sa.String(length=64), nullable=False),
        sa.Column("ola_minutes", sa.Integer(), nullable=False),
        sa.Column("calendar", sa.String(length=32), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_desk_teams")),
        sa.UniqueConstraint("code", name=op.f("uq_desk_teams_code")),
    )
    op.create_table(
        "desk_team_members",
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["team_id"],
            ["desk_teams.id"],
            name=op.f("fk_desk_team_members_team_id_desk_teams"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_desk_team_members_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("team_id", "user_id", name=op.f("pk_desk_team_members")),
    )
    op.create_index(op.f("ix_desk_team_members_user_id"), "desk_team_members", ["user_id"])
    op.create_table(
        "desk_escalations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("opened_by_id", sa.Integer(), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("note_sealed", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ola_due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("answered_by_id", sa.Integer(), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name=op.f("fk_desk_escalations_case_id_cases"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["team_id"],
            ["desk_teams.id"],
            name=op.f("fk_desk_escalations_team_id_desk_teams"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["opened_by_id"],
            ["users.id"],
            name=op.f("fk_desk_escalations_opened_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["answered_by_id"],
            ["users.id"],
            name=op.f("fk_desk_escalations_answered_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_desk_escalations")),
    )
    op.create_index(
        "ix_desk_escalations_queue", "desk_escalations", ["team_id", "status", "ola_due_at"]
    )
    op.create_index("ix_desk_escalations_case", "desk_escalations", ["case_id", "id"])
    op.create_table(
        "desk_escalation_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("escalation_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("side", sa.String(length=8), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("sealed", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["escalation_id"],
            ["desk_escalations.id"],
            name=op.f("fk_desk_escalation_messages_escalation_id_desk_escalations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["users.id"],
            name=op.f("fk_desk_escalation_messages_author_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_desk_escalation_messages")),
    )
    op.create_index(
        "ix_desk_escalation_messages_esc", "desk_escalation_messages", ["escalation_id", "id"]
    )


def downgrade() -> None:
    op.drop_index("ix_desk_escalation_messages_esc", table_name="desk_escalation_messages")
    op.drop_table("desk_escalation_messages")
    op.drop_index("ix_desk_escalations_case", table_name="desk_escalations")
    op.drop_index("ix_desk_escalations_queue", table_name="desk_escalations")
    op.drop_table("desk_escalations")
    op.drop_index(op.f("ix_desk_team_members_user_id"), table_name="desk_team_members")
    op.drop_table("desk_team_members")
    op.drop_table("desk_teams")
