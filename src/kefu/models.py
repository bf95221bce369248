"""Imports every context's tables so that metadata (Alembic, tests) sees the whole schema."""

from kefu.academy import models as _academy
from kefu.aml import models as _aml
from kefu.compliance import models as _compliance
from kefu.core import audit as _audit
from kefu.core import security as _security
from kefu.core.db import Base
from kefu.customers import models as _customers
from kefu.desk import mail_models as _mail
from kefu.desk import models as _desk
from kefu.desk import teams_models as _teams
from kefu.desk import views_models as _desk_views
from kefu.knowledge import models as _knowledge
from kefu.market import models as _market
from kefu.quality import models as _quality

__all__ = ["Base"]
_ = (
    _audit,
    _security,
    _customers,
    _desk,
    _knowledge,
    _quality,
    _academy,
    _aml,
    _compliance,
    _market,
    _mail,
    _teams,
    _desk_views,
)
