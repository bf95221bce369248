"""Settings read from the environment (prefix ``KEFU_``), with safe embedded defaults."""

from __future__ import annotations

import secrets
from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

#: The repository (editable install) holds ``content/``; a deployment may point elsewhere.
REPO_ROOT = Path(__file__).resolve().parents[3]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="KEFU_", env_file=".env", extra="ignore")

    database_url: str = "sqlite:///kefu.db"
    secret_key: str = Field(default="")
    timezone: str = "Asia/Shanghai"
    content_dir: Path = REPO_ROOT / "content"
    default_language: str = "zh-CN"
    max_message_chars: int = 10_000
    #: the most socket writes one transaction takes (group commit); 1 = a transaction per write
    socket_batch: int = Field(default=200, ge=1, le=1000)
    max_body_bytes: int = 256 * 1024
    #: a back-office feed batch (up to 10,000 records) may be larger
    feed_max_body_bytes: int = 16 * 1024 * 1024
    session_hours: int = 12
    login_attempts_per_15min: int = 10
    broker_url: str = "memory://"
    cookie_secure: bool = False
    #: origins (scheme://host:port, comma-separated) whose pages may open the chat socket besides
    #: the app's own; a browser page from anywhere else is refused
    allowed_origins: str = ""
    #: sites (scheme://host:port, comma-separated) that may show the customer chat widget in a
    #: frame; unset = any site. Staff consoles can never be framed.
    widget_origins: str = ""
    #: where `kefu audit checkpoint` appends signed checkpoints of the audit chain; unset = beside
    #: the SQLite file (kefu.db.checkpoints), or kefu-audit-checkpoints.jsonl in the working folder
    audit_checkpoints: Path | None = None
    #: how often each web worker chains the audit entries committed since its last pass
    audit_seal_seconds: float = Field(default=1.0, gt=0, le=60)
    #: a model from `kefu intent train` routing new cases; unset = trained from the shipped content
    intent_model: Path | None = None
    #: e-mail in: host:port the embedded SMTP server listens on (`kefu serve`, `kefu mail serve`)
    smtp_listen: str = ""
    #: e-mail out: smtp://host:port, smtps://… or smtp+starttls://…, user:password@ optional
    smtp_url: str = ""
    #: the desk's address: From of every mail it sends, e.g. "客服中心 <support@example.com>"
    mail_from: str = ""
    #: the largest message the SMTP server accepts
    mail_max_bytes: int = Field(default=10 * 1024 * 1024, ge=64 * 1024)
    #: how often the sender looks for mail due (a reply also wakes it at once)
    mail_poll_seconds: float = Field(default=30.0, gt=0, le=3600)
    #: the portal's public address, for links in notification e-mails (unset = no link)
    public_url: str = ""
    #: where attachment files are kept (content-addressed by sha256); unset = beside the SQLite
    #: file (kefu.db.attachments/), or kefu-attachments/ in the working folder
    attachments_dir: Path | None = None
    #: the largest attachment accepted, in bytes (an upload request may be this plus its form)
    attachment_max_bytes: int = Field(default=10 * 1024 * 1024, ge=1024, le=100 * 1024 * 1024)

    def checkpoint_path(self) -> Path:
        if self.audit_checkpoints is not None:
            return self.audit_checkpoints
        if self.database_url.startswith("sqlite:///") and ":memory:" not in self.database_url:
            db_path = Path(self.database_url.removeprefix("sqlite:///"))
            return db_path.with_name(db_path.name + ".checkpoints")
        return Path("kefu-audit-checkpoints.jsonl")

    def attachments_path(self, database_url: str | None = None) -> Path:
        """KEFU_ATTACHMENTS_DIR, else a folder beside the SQLite file in use."""
        if self.attachments_dir is not None:
            return self.attachments_dir
        url = database_url or self.database_url
        if url.startswith("sqlite:///") and ":memory:" not in url:
            db_path = Path(url.removeprefix("sqlite:///"))
            return db_path.with_name(db_path.name + ".attachments")
        return Path("kefu-attachments")

    def effective_secret(self) -> str:
        """The configured secret, or a per-database development secret kept beside SQLite."""
        if self.secret_key:
            return self.secret_key
        if self.database_url.startswith("sqlite:///"):
            db_path = Path(self.database_url.removeprefix("sqlite:///"))
            key_file = db_path.with_name(db_path.name + ".secret")
            if key_file.exists():
                return key_file.read_text().strip()
            key = secrets.token_urlsafe(48)
            key_file.parent.mkdir(parents=True, exist_ok=True)
            key_file.write_text(key)
            key_file.chmod(0o600)
            return key
        raise RuntimeError(
            "KEFU_SECRET_KEY must be set when the database is not the embedded SQLite"
        )


@lru_cache
def get_settings() -> Settings:
    return Settings()
