"""The desk's tenancy rule, in one place: a customer reaches only their own cases."""

from __future__ import annotations

from sqlalchemy.orm import Session

from kefu.core.errors import NotFound
from kefu.core.security import Role, User, require
from kefu.customers.service import customer_id_for_user
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
