"""The customers context's part of content/: the suitability questionnaire
(content/policies/suitability.yaml), the product catalogue (products.yaml) and the numbers the
suitability and KYC rules read from the rules registry (score bands, assessment validity,
attempts a day, the notice before an identity document expires). Honours KEFU_CONTENT_DIR;
each file is parsed once per process and modification time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from kefu.core.config import REPO_ROOT, get_settings
from kefu.customers.suitability_rules import (
    Bands,
    Catalogue,
    Questionnaire,
    check_bands,
    parse_catalogue,
    parse_questionnaire,
)
from kefu.knowledge import content as knowledge_content


def _policy(name: str) -> Path:
    """``content/policies/<name>`` of the configured content, else the one shipped with Kefu
    (a team's copy of content/ made before the file existed)."""
    path = get_settings().content_dir / "policies" / name
    return path if path.exists() else REPO_ROOT / "content" / "policies" / name


def _read(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


@lru_cache(maxsize=4)
def _questionnaire_at(path: Path, stamp: int) -> Questionnaire:
    return parse_questionnaire(_read(path), str(path))


@lru_cache(maxsize=4)
def _catalogue_at(path: Path, stamp: int) -> Catalogue:
    return parse_catalogue(_read(path), str(path))


def questionnaire() -> Questionnaire:
    path = _policy("suitability.yaml")
    return _questionnaire_at(path, path.stat().st_mtime_ns)


def catalogue() -> Catalogue:
    path = _policy("products.yaml")
    return _catalogue_at(path, path.stat().st_mtime_ns)


@dataclass(frozen=True)
class Numbers:
    """The registry's numbers the suitability and KYC rules use on a day."""

    bands: Bands
    validity_months: int
    attempts_per_day: int
    reminder_days: int
    expiry_notice_days: int


def numbers(as_of: date | None = None) -> Numbers:
    reg = knowledge_content.rules()

    def num(rule: str, field: str | None = None) -> int:
        return int(reg.decimal(rule, as_of, field))

    bands = Bands(
        *(
            num("demo_suitability_score_bands", f)
            for f in ("c1_min", "c2_min", "c3_min", "c4_min", "c5_min", "max")
        )
    )
    return Numbers(
        bands=bands,
        validity_months=int(str(reg.value("demo_risk_assessment_validity", as_of))),
        attempts_per_day=num("demo_risk_assessment_attempts"),
        reminder_days=int(str(reg.value("demo_risk_assessment_reminder", as_of))),
        expiry_notice_days=int(str(reg.value("demo_kyc_expiry_notice", as_of))),
    )


def checked(as_of: date | None = None) -> tuple[Questionnaire, Numbers]:
    """The questionnaire and the registry's numbers, checked against each other."""
    q, n = questionnaire(), numbers(as_of)
    check_bands(q, n.bands)
    return q, n
