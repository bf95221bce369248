"""The desk's tenancy rule, in one place: a customer reaches only their own cases."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from kefu.core.errors import KefuError, NotFound
from kefu.core.security import Role, User, require
from kefu.customers.service import customer_id_for_user, remember_customers_of
from kefu.desk.models import Case


def visible_case(db: Session, *, viewer: User, case_id: int) -> Case:
    """The case if ``viewer`` may see it; another customer's id answers 404, like a missing one."""
    case = db.get(Case, case_id)
    if case is None:
        raise NotFound(f"case {case_id} does not exist")
    if viewer.role == Role.customer:
        me = customer_id_for_user(db, viewer)
        if me is None or case.customer_id != me:
            raise NotFound(f"case {case_id} does not exist")
    else:
        require(viewer, "case.read_all")
    return case


def visible_cases(db: Session, wanted: Sequence[tuple[User, int]]) -> list[Case | KefuError]:
    """:func:`visible_case` for many (viewer, case id) pairs in two queries (the cases, the
    customer records of the customers among the viewers): per pair the case, or the error
    :func:`visible_case` would raise for it."""
    ids = {case_id for _, case_id in wanted}
    cases = {c.id: c for c in db.scalars(select(Case).where(Case.id.in_(ids)))} if ids else {}
    remember_customers_of(db, [v for v, _ in wanted if v.role == Role.customer])
    out: list[Case | KefuError] = []
    for viewer, case_id in wanted:
        if case_id not in cases:
            out.append(NotFound(f"case {case_id} does not exist"))
            continue
        try:
            out.append(visible_case(db, viewer=viewer, case_id=case_id))  # no query now
        except KefuError as exc:
            out.append(exc)
    return out
