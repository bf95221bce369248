"""Full-text search over cases and messages: FTS5 on SQLite, tsvector/GIN on PostgreSQL.

The indexed column is ``search_text``: Chinese as character bigrams and Latin words, written by
the application (kefu.core.textsearch.index_text), so both engines tokenise it on spaces.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TABLES = ("cases", "messages")


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    for table in TABLES:
        if dialect == "sqlite":
            op.execute(
                f"CREATE VIRTUAL TABLE {table}_fts USING fts5(search_text, "
                f"content='{table}', content_rowid='id', tokenize='unicode61 remove_diacritics 0')"
            )
            op.execute(
                f"CREATE TRIGGER {table}_fts_ai AFTER INSERT ON {table} BEGIN "
                f"INSERT INTO {table}_fts(rowid, search_text) VALUES (new.id, new.search_text); END"
            )
            op.execute(
                f"CREATE TRIGGER {table}_fts_ad AFTER DELETE ON {table} BEGIN "
                f"INSERT INTO {table}_fts({table}_fts, rowid, search_text) "
                f"VALUES ('delete', old.id, old.search_text); END"
            )
            op.execute(
                f"CREATE TRIGGER {table}_fts_au AFTER UPDATE OF search_text ON {table} BEGIN "
                f"INSERT INTO {table}_fts({table}_fts, rowid, search_text) "
                f"VALUES ('delete', old.id, old.search_text); "
                f"INSERT INTO {table}_fts(rowid, search_text) VALUES (new.id, new.search_text); END"
            )
        else:
            op.execute(
                f"CREATE INDEX ix_{table}_search ON {table} "
                f"USING gin (to_tsvector('simple', search_text))"
            )


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for table in TABLES:
        if dialect == "sqlite":
            for suffix in ("ai", "ad", "au"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_fts_{suffix}")
            op.execute(f"DROP TABLE IF EXISTS {table}_fts")
        else:
            op.execute(f"DROP INDEX IF EXISTS ix_{table}_search")
