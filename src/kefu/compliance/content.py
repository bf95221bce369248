"""The compliance context's part of content/: the guard policy, content/policies/guard.yaml of
the configured content (``KEFU_CONTENT_DIR``). The guard engine (guard.py) is handed the policy
read here; the compiled default is cached per policy file and process."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from kefu.compliance.guard import Guard, Role, Screening, check_policy
from kefu.core.config import get_settings


def policy_path() -> Path:
    return get_settings().content_dir / "policies" / "guard.yaml"


def load_policy(path: Path | str | None = None) -> dict[str, Any]:
    """The guard policy in ``path`` (default: the configured content's), checked for rules."""
    where = Path(path) if path is not None else policy_path()
    return check_policy(yaml.safe_load(where.read_text(encoding="utf-8")), str(where))


def default_guard() -> Guard:
    """The guard compiled from the configured content's policy (built once per file)."""
    return _guard_at(policy_path())


@lru_cache(maxsize=4)
def _guard_at(path: Path) -> Guard:
    return Guard(load_policy(path))


def screen(text: str, role: Role = "agent") -> Screening:
    """Screens one message with the configured content's guard policy."""
    return default_guard().screen(text, role)
