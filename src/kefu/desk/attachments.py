"""Attachments on messages: receipts, screenshots, statements from customers and agents.

An upload is checked and cleaned by the :mod:`kefu.desk.files` engine (type sniffed from the
content, an allow-list, a size limit, image metadata stripped), written to disk under its sha256
(content-addressed: the same file twice is stored once; the folder is ``KEFU_ATTACHMENTS_DIR``)
and posted as a message of its own — its caption, or its name, screened by the guard like any
message — in one action. Files are read back under the rules of the messages they belong to:
a customer reaches only their own cases' files and never those on internal notes."""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from kefu.core import audit
from kefu.core.actions import action
from kefu.core.config import get_settings
from kefu.core.errors import NotFound
from kefu.core.security import Role, User, require
from kefu.desk.access import visible_case
from kefu.desk.audit import DeskAudit
from kefu.desk.conversation import attachment_payload
from kefu.desk.files import FilePolicy, FileRefused, clean, display_name
from kefu.desk.messages import post_message
from kefu.desk.models import Attachment, Message
from kefu.desk.validation import field_error

__all__ = [
    "add_attachment",
    "attachment_file",
    "attachment_payload",
    "attachments_of",
    "file_policy",
    "storage_dir",
]


def file_policy() -> FilePolicy:
    return FilePolicy(max_bytes=get_settings().attachment_max_bytes)


def storage_dir(db: Session) -> Path:
    """KEFU_ATTACHMENTS_DIR, else beside the SQLite database this session uses."""
    url = db.get_bind().engine.url.render_as_string(hide_password=True)
    return get_settings().attachments_path(url)


def _path(root: Path, sha: str) -> Path:
    return root / sha[:2] / sha[2:4] / sha


def _store(root: Path, data: bytes) -> str:
    """Writes ``data`` under its sha256 (atomically: a reader never sees half a file) and
    returns the digest. A file already there is the same bytes and is left alone."""
    sha = hashlib.sha256(data).hexdigest()
    path = _path(root, sha)
    if path.exists():
        return sha
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.chmod(tmp, 0o640)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return sha


def attachments_of(db: Session, message_ids: Sequence[int]) -> dict[int, list[Attachment]]:
    """message id -> its attachments, for a page of messages in one query."""
    out: dict[int, list[Attachment]] = {}
    if not message_ids:
        return out
    rows = db.scalars(
        select(Attachment)
        .where(Attachment.message_id.in_(list(message_ids)))
        .order_by(Attachment.id)
    )
    for a in rows:
        assert a.message_id is not None
        out.setdefault(a.message_id, []).append(a)
    return out


@action
def add_attachment(
    db: Session,
    *,
    actor: User,
    case_id: int,
    filename: str,
    data: bytes,
    body: str = "",
    internal: bool = False,
    confirm_warning: bool = False,
) -> Message:
    """Posts ``data`` as a file on a new message of ``actor`` (its caption ``body``, else the
    file's name). Refused files name the reason; nothing is posted then."""
    case = visible_case(db, viewer=actor, case_id=case_id)
    require(actor, "message.note" if internal else "message.reply")
    try:
        f = clean(data, file_policy())
    except FileRefused as exc:
        raise field_error("file", str(exc)) from exc
    name = display_name(filename, f.ext)
    # the bytes go to disk before the row is committed: a rolled-back upload leaves a file no
    # row points to (harmless, content-addressed), never a row without its file
    sha = _store(storage_dir(db), f.data)
    att = Attachment(
        case_id=case.id,
        sha256=sha,
        mime=f.mime,
        size=len(f.data),
        filename=name,
        width=f.width,
        height=f.height,
        uploaded_by_id=actor.id,
    )
    msg, _ = post_message(
        db,
        actor=actor,
        case_id=case.id,
        body=body.strip() or name,
        internal=internal,
        confirm_warning=confirm_warning,
        attachments=[att],
    )
    audit.record(
        db,
        actor_id=actor.id,
        action=DeskAudit.attachment_add,
        entity="case",
        entity_id=case.id,
        data={
            "message_id": msg.id,
            "attachment_id": att.id,
            "sha256": sha,
            "mime": f.mime,
            "size": len(f.data),
            "received_bytes": len(data),
        },
    )
    return msg


def attachment_file(db: Session, *, viewer: User, attachment_id: int) -> tuple[Attachment, Path]:
    """The attachment and its file, if ``viewer`` may read the message it is on."""
    a = db.get(Attachment, attachment_id)
    missing = NotFound(f"attachment {attachment_id} does not exist")
    if a is None or a.message_id is None:
        raise missing
    try:
        visible_case(db, viewer=viewer, case_id=a.case_id)
    except NotFound:
        raise missing from None
    msg = db.get(Message, a.message_id)
    if msg is None or (msg.kind == "note" and viewer.role == Role.customer):
        raise missing
    path = _path(storage_dir(db), a.sha256)
    if not path.is_file():
        raise NotFound(f"the file of attachment {attachment_id} is missing from storage")
    return a, path
