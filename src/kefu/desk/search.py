"""The queue and case search. Search runs on a segmented column (Chinese words and character
bigrams) through FTS5 on SQLite and a GIN-indexed tsvector on PostgreSQL: the dialect-specific
queries of the desk live here and nowhere else."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Select, func, select, text
from sqlalchemy.orm import Session, selectinload

from kefu.core.security import Role, User, can, require
from kefu.core.textsearch import fts5_query, tsquery_terms
from kefu.customers.service import customer_for_user, search_customers
from kefu.desk.models import (
    CATEGORIES,
    CHANNELS,
    PRIORITIES,
    STATUS_CATEGORIES,
    Case,
    CaseTag,
    Message,
)
from kefu.desk.statuses import status_by_key
from kefu.desk.validation import check_choice, field_error, normalise_tags


def search_case_ids(db: Session, q: str, *, limit: int = 200) -> list[int]:
    """Cases whose subject/transcript or any message matches every term of ``q`` (zh or en)."""
    dialect = db.get_bind().dialect.name
    if dialect == "sqlite":
        match = fts5_query(q)
        if match is None:
            return []
        rows = db.execute(
            text(
                "SELECT id FROM (SELECT rowid AS id FROM cases_fts WHERE cases_fts MATCH :m "
                "UNION SELECT m.case_id FROM messages_fts f JOIN messages m ON m.id = f.rowid "
                "WHERE messages_fts MATCH :m) ORDER BY id DESC LIMIT :n"
            ),
            {"m": match, "n": limit},
        )
        return [r[0] for r in rows]
    terms = tsquery_terms(q)
    if not terms:
        return []
    tsq = " & ".join(terms)
    # Newest first: a common term is answered from the most recent rows (the GIN index over
    # (id, words) takes the id range as one of its keys); a term too rare to fill the window
    # is looked up in the whole index without an id range, which for a rare term is cheap
    # (an id range that starts at 0 or covers millions of rows is what costs: the index walks
    # every id key in it). The bounds are integers we computed, inlined so the planner can
    # use them. "ORDER BY id + 0" keeps the planner off a backward walk of the primary key
    # that computes to_tsvector for every row it passes (hundreds of ms for a frequent term).
    db.execute(text("SET LOCAL work_mem = '32MB'"))
    max_m = int(db.scalar(select(func.max(Message.id))) or 0)
    max_c = int(db.scalar(select(func.max(Case.id))) or 0)
    found: list[int] = []
    for window in (200_000, None):
        lo_m = max(0, max_m - window) if window else 0
        lo_c = max(0, max_c - window // 5) if window else 0
        params = {"q": tsq, "n": limit}
        case_hits = [
            r[0]
            for r in db.execute(
                text(
                    "SELECT id FROM cases WHERE "
                    + (f"id > {lo_c:d} AND " if lo_c else "")
                    + "to_tsvector('simple', search_text) @@ to_tsquery('simple', :q) "
                    "ORDER BY id + 0 DESC LIMIT :n"
                ),
                params,
            )
        ]
        msg_hits = [
            r[0]
            for r in db.execute(
                text(
                    "SELECT case_id FROM messages WHERE "
                    + (f"id > {lo_m:d} AND " if lo_m else "")
                    + "to_tsvector('simple', search_text) @@ to_tsquery('simple', :q) "
                    "ORDER BY id + 0 DESC LIMIT :n"
                ),
                params,
            )
        ]
        found = sorted(set(case_hits) | set(msg_hits), reverse=True)[:limit]
        # a window that filled either list holds the newest `limit` hits of that table
        saturated = len(case_hits) >= limit or len(msg_hits) >= limit
        if saturated or window is None or (lo_m == 0 and lo_c == 0):
            break
    return found


CASE_NUMBER = re.compile(r"#?([0-9]{1,12})")


def lookup_case_ids(db: Session, q: str, *, viewer: User, limit: int = 200) -> list[int]:
    """Cases a desk user finds by what identifies them rather than by their words: the case
    number (``41`` or ``#41``), the external reference, or the customer — name, customer code,
    account number, or phone / ID number matched exactly through the customer's blind index."""
    q = q.strip()
    found: set[int] = set()
    number = CASE_NUMBER.fullmatch(q)
    if number:
        found.update(db.scalars(select(Case.id).where(Case.id == int(number.group(1)))))
    found.update(db.scalars(select(Case.id).where(Case.external_ref == q[:64])))
    if can(viewer, "customer.read"):
        who = [c.id for c in search_customers(db, viewer=viewer, q=q, limit=20)]
        if who:
            found.update(
                db.scalars(
                    select(Case.id)
                    .where(Case.customer_id.in_(who))
                    .order_by(Case.id.desc())
                    .limit(limit)
                )
            )
    return sorted(found, reverse=True)[:limit]


#: the queue's orders: SLA (the earliest running deadline first), newest, oldest, last activity
SORTS = ("due", "newest", "oldest", "updated")


def list_cases(
    db: Session,
    *,
    viewer: User,
    limit: int = 50,
    offset: int = 0,
    sort: str = "due",
    **filters: Any,
) -> list[Case]:
    """The queue: open work first by the earliest running SLA deadline, then newest (or in the
    order ``sort`` names); ``filters`` are those of :func:`case_query`."""
    check_choice("sort", sort, SORTS)
    stmt = case_query(db, viewer=viewer, **filters)
    if stmt is None:
        return []
    if sort == "newest":
        stmt = stmt.order_by(Case.id.desc())
    elif sort == "oldest":
        stmt = stmt.order_by(Case.id.asc())
    elif sort == "updated":
        stmt = stmt.order_by(Case.updated_at.desc(), Case.id.desc())
    else:
        # matches ix_cases_queue (status_category, next_due_at, id): the first page of one status
        # is an index walk
        stmt = stmt.order_by(Case.next_due_at.asc().nulls_last(), Case.id)
    stmt = stmt.options(selectinload(Case.tag_rows))
    n, skip = min(max(limit, 1), 200), max(offset, 0)
    if sort != "due":
        return list(db.scalars(stmt.limit(n).offset(skip)))
    created_from, created_to = filters.get("created_from"), filters.get("created_to")
    short_range = (
        created_from is not None and created_to is not None and created_to - created_from <= SHORT
    )
    if short_range:
        # a short date range: its few cases (ix_cases_created_at) are sorted, rather than the
        # queue walked in due order until enough of them turn up; the same order, spelled so
        # that no index offers it
        stmt = stmt.order_by(None).order_by(
            Case.next_due_at.is_(None), Case.next_due_at.asc().nulls_last(), Case.id
        )
    status_category = filters.get("status_category") or ""
    cats = list(dict.fromkeys(c for c in status_category.split(",") if c))
    q = filters.get("q")
    few = short_range or bool(q and q.strip()) or filters.get("customer_id") is not None
    if len(cats) > 1 or (not cats and not few and viewer.role != Role.customer):
        # several statuses, or all of them: one index walk per status, merged here — one query
        # over all of them would sort every matching row (most of the table)
        rows = [
            c
            for cat in cats or STATUS_CATEGORIES
            for c in db.scalars(stmt.where(Case.status_category == cat).limit(n + skip))
        ]
        rows.sort(key=_queue_order)
        return rows[skip : skip + n]
    return list(db.scalars(stmt.limit(n).offset(skip)))


_LAST = datetime.max.replace(tzinfo=UTC)
#: a date range up to this long is read through the creation-date index (see list_cases)
SHORT = timedelta(days=31)


def _queue_order(case: Case) -> tuple[bool, datetime, int]:
    """The queue's order in Python: next_due_at ascending with no deadline last, then id."""
    return (case.next_due_at is None, case.next_due_at or _LAST, case.id)


def count_cases(db: Session, *, viewer: User, **filters: Any) -> int:
    """How many cases the queue with these filters holds (a saved view's live count)."""
    stmt = case_query(db, viewer=viewer, **filters)
    if stmt is None:
        return 0
    return int(db.scalar(select(func.count()).select_from(stmt.subquery())) or 0)


def case_query(
    db: Session,
    *,
    viewer: User,
    status_category: str | None = None,
    status: str | None = None,
    assignee: str | None = None,
    category: str | None = None,
    priority: str | None = None,
    channel: str | None = None,
    customer_id: int | None = None,
    tag: str | None = None,
    q: str | None = None,
    created_from: datetime | None = None,
    created_to: datetime | None = None,
) -> Select[Any] | None:
    """The cases ``viewer`` may see that match every given filter (None: certainly none);
    ``created_from`` is inclusive, ``created_to`` exclusive."""
    stmt = select(Case)
    if viewer.role == Role.customer:
        me = customer_for_user(db, viewer)
        if me is None:
            return None
        stmt = stmt.where(Case.customer_id == me.id)
    else:
        require(viewer, "case.read_all")
        if customer_id is not None:
            stmt = stmt.where(Case.customer_id == customer_id)
    if status_category:
        cats = [c for c in status_category.split(",") if c]
        for c in cats:
            check_choice("status_category", c, ("open", "pending", "resolved", "closed"))
        stmt = stmt.where(Case.status_category.in_(cats))
    if status:
        stmt = stmt.where(Case.status_id == status_by_key(db, status).id)
    if category:
        check_choice("category", category, CATEGORIES)
        stmt = stmt.where(Case.category == category)
    if priority:
        check_choice("priority", priority, PRIORITIES)
        stmt = stmt.where(Case.priority == priority)
    if channel:
        check_choice("channel", channel, CHANNELS)
        stmt = stmt.where(Case.channel == channel)
    if tag:
        (one,) = normalise_tags([tag], field="tag") or [""]
        stmt = stmt.where(Case.id.in_(select(CaseTag.case_id).where(CaseTag.tag == one)))
    if created_from is not None:
        stmt = stmt.where(Case.created_at >= created_from)
    if created_to is not None:
        stmt = stmt.where(Case.created_at < created_to)
    if assignee == "me":
        stmt = stmt.where(Case.assignee_id == viewer.id)
    elif assignee == "none":
        stmt = stmt.where(Case.assignee_id.is_(None))
    elif assignee:
        # a user id is a 32-bit column: a longer number would fail in the database, not here
        if not re.fullmatch(r"[0-9]{1,10}", assignee) or int(assignee) > 2**31 - 1:
            raise field_error("assignee", "me, none or a user id")
        stmt = stmt.where(Case.assignee_id == int(assignee))
    if q and q.strip():
        ids = search_case_ids(db, q, limit=500)
        # a customer's list is already limited to their own cases (the where clause above)
        ids = sorted(set(ids) | set(lookup_case_ids(db, q, viewer=viewer)), reverse=True)
        if not ids:
            return None
        stmt = stmt.where(Case.id.in_(ids))
    if created_from is not None:
        stmt = stmt.where(Case.created_at >= created_from)
    if created_to is not None:
        stmt = stmt.where(Case.created_at < created_to)
    return stmt
