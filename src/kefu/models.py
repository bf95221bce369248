"""Imports every context's tables so that metadata (Alembic, tests) sees the whole schema."""

from kefu.core import audit as _audit
from kefu.core import security as _security
from kefu.core.db import Base
from kefu.customers import models as _customers
from kefu.desk import mail_models as _mail
from kefu.desk import models as _desk
from kefu.knowledge import models as _knowledge

__all__ = ["Base"]
_ = (_audit, _security, _customers, _desk, _knowledge, _mail)
