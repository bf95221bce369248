"""desk: personal data in messages and call transcripts is encrypted at rest — the clear columns
keep the text with personal data masked, the words as written are sealed (Fernet,
KEFU_SECRET_KEY) in messages.sealed and cases.transcript_sealed

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 10:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

BATCH = 1000


def upgrade() -> None:
    op.add_column("messages", sa.Column("sealed", sa.Text(), nullable=True))
    op.add_column("cases", sa.Column("transcript_sealed", sa.Text(), nullable=True))
    # rows written before: where the masked text differs, the body held personal data in clear
    conn = op.get_bind()
    crypto = _Lazy()
    messages = sa.table(
        "messages",
        sa.column("id", sa.Integer),
        sa.column("body", sa.Text),
        sa.column("redacted", sa.Text),
        sa.column("sealed", sa.Text),
    )
    last = 0
    while True:
        rows = conn.execute(
            sa.select(messages.c.id, messages.c.body, messages.c.redacted)
            .where(
                messages.c.id > last,
                messages.c.redacted != "",
                messages.c.body != messages.c.redacted,
            )
            .order_by(messages.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            break
        for mid, body, redacted in rows:
            conn.execute(
                sa.update(messages)
                .where(messages.c.id == mid)
                .values(body=redacted, sealed=crypto.encrypt(body))
            )
        last = rows[-1][0]
    _seal_transcripts(conn, crypto)


class _Lazy:
    """The key is read only when a row needs sealing (a fresh database needs none)."""

    def encrypt(self, value: str) -> str:
        from kefu.core.security import get_crypto

        return get_crypto().encrypt(value)


def _seal_transcripts(conn: sa.Connection, crypto: _Lazy) -> None:
    from kefu.compliance.service import screen_text
    from kefu.core.textsearch import index_text

    cases = sa.table(
        "cases",
        sa.column("id", sa.Integer),
        sa.column("subject", sa.String),
        sa.column("transcript", sa.Text),
        sa.column("transcript_sealed", sa.Text),
        sa.column("search_text", sa.Text),
    )
    rows = conn.execute(
        sa.select(cases.c.id, cases.c.subject, cases.c.transcript).where(cases.c.transcript != "")
    ).all()
    for cid, subject, heard in rows:
        masked = str(screen_text(heard, "customer")["redacted"])
        if masked != heard:
            conn.execute(
                sa.update(cases)
                .where(cases.c.id == cid)
                .values(
                    transcript=masked,
                    transcript_sealed=crypto.encrypt(heard),
                    search_text=index_text(subject, masked),
                )
            )


def downgrade() -> None:
    from kefu.core.security import get_crypto

    crypto = get_crypto()
    conn = op.get_bind()
    messages = sa.table(
        "messages", sa.column("id", sa.Integer), sa.column("body"), sa.column("sealed")
    )
    for mid, sealed in conn.execute(
        sa.select(messages.c.id, messages.c.sealed).where(messages.c.sealed.is_not(None))
    ).all():
        conn.execute(
            sa.update(messages).where(messages.c.id == mid).values(body=crypto.decrypt(sealed))
        )
    cases = sa.table(
        "cases",
        sa.column("id", sa.Integer),
        sa.column("transcript"),
        sa.column("transcript_sealed"),
    )
    for cid, sealed in conn.execute(
        sa.select(cases.c.id, cases.c.transcript_sealed).where(
            cases.c.transcript_sealed.is_not(None)
        )
    ).all():
        conn.execute(
            sa.update(cases).where(cases.c.id == cid).values(transcript=crypto.decrypt(sealed))
        )
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("sealed")
    with op.batch_alter_table("cases") as batch:
        batch.drop_column("transcript_sealed")
