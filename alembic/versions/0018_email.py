"""e-mail channel: the mail record (threading ids, delivery states), a blind index on the
customer's e-mail address and the customer's e-mail notification choice

Revision ID: 0018
Revises: 0015
Create Date: 2026-12-07 13:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("customers") as batch_op:
        batch_op.add_column(
            sa.Column("email_index", sa.String(length=64), nullable=False, server_default="")
        )
        batch_op.add_column(
            sa.Column("email_notify", sa.Boolean(), nullable=False, server_default=sa.true())
        )
        batch_op.create_index(batch_op.f("ix_customers_email_index"), ["email_index"])
    _index_existing_addresses()
    op.create_table(
        "mail_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.String(length=255), nullable=False),
        sa.Column("direction", sa.String(length=3), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("desk_message_id", sa.Integer(), nullable=True),
        sa.Column("sender_index", sa.String(length=64), nullable=False),
        sa.Column("detail", sa.String(length=500), nullable=False),
        sa.Column("in_reply_to", sa.String(length=255), nullable=False),
        sa.Column("references", sa.Text(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name=op.f("fk_mail_messages_case_id_cases"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["desk_message_id"],
            ["messages.id"],
            name=op.f("fk_mail_messages_desk_message_id_messages"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mail_messages")),
        sa.UniqueConstraint("message_id", name=op.f("uq_mail_messages_message_id")),
    )
    op.create_index("ix_mail_messages_outbox", "mail_messages", ["status", "next_attempt_at"])
    op.create_index("ix_mail_messages_case", "mail_messages", ["case_id", "id"])


def _index_existing_addresses() -> None:
    """Customers stored before this revision get the blind index of their (decrypted) address."""
    bind = op.get_bind()
    rows = bind.execute(
        sa.text("SELECT id, email_enc FROM customers WHERE email_enc <> ''")
    ).fetchall()
    if not rows:
        return
    from kefu.core.security import get_crypto
    from kefu.customers.service import email_lookup_key

    crypto = get_crypto()
    for cid, enc in rows:
        bind.execute(
            sa.text("UPDATE customers SET email_index = :k WHERE id = :id"),
            {"k": email_lookup_key(crypto.decrypt(enc)), "id": cid},
        )


def downgrade() -> None:
    op.drop_index("ix_mail_messages_case", table_name="mail_messages")
    op.drop_index("ix_mail_messages_outbox", table_name="mail_messages")
    op.drop_table("mail_messages")
    with op.batch_alter_table("customers") as batch_op:
        batch_op.drop_index(batch_op.f("ix_customers_email_index"))
        batch_op.drop_column("email_notify")
        batch_op.drop_column("email_index")
