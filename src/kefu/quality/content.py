"""The quality context's part of content/ (``KEFU_CONTENT_DIR``): the scorer's policy
``policies/quality.yaml`` (signals, glossary, checked facts — handed the knowledge base's rules
registry), the scorecards ``policies/scorecards/*.yaml`` and the complaint codes
``policies/complaint_codes.yaml``. Parsed once per file version and process."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from kefu.core.config import get_settings
from kefu.knowledge import service as knowledge
from kefu.quality.complaints import Codes, parse_codes
from kefu.quality.scorer import (
    QualityError,
    QualityPolicy,
    Scorecard,
    parse_policy,
    parse_scorecard,
)


def _policies() -> Path:
    return get_settings().content_dir / "policies"


def _read(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise QualityError(f"{path.name}: cannot read ({exc.strerror})") from exc
    except yaml.YAMLError as exc:
        raise QualityError(f"{path.name}: not valid YAML ({exc})") from exc


def _stamp(path: Path) -> int:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return 0


def policy() -> QualityPolicy:
    """The scorer's policy with the rules registry of the configured content."""
    path = _policies() / "quality.yaml"
    return _policy_at(path, _stamp(path), id(knowledge.rules()))


@lru_cache(maxsize=4)
def _policy_at(path: Path, stamp: int, registry_id: int) -> QualityPolicy:
    del stamp, registry_id  # cache keys: a changed file or registry parses again
    return parse_policy(_read(path), knowledge.rules(), path.name)


def scorecards() -> dict[str, Scorecard]:
    """Every scorecard of the configured content, by name."""
    folder = _policies() / "scorecards"
    files = sorted(folder.glob("*.yaml"))
    return dict(_cards_at(tuple((f, _stamp(f)) for f in files)))


@lru_cache(maxsize=4)
def _cards_at(files: tuple[tuple[Path, int], ...]) -> tuple[tuple[str, Scorecard], ...]:
    out: dict[str, Scorecard] = {}
    for path, _ in files:
        card = parse_scorecard(_read(path), f"scorecards/{path.name}")
        if card.name in out:
            raise QualityError(f"scorecards/{path.name}: scorecard {card.name!r} defined twice")
        out[card.name] = card
    if not out:
        raise QualityError("policies/scorecards: no scorecard")
    return tuple(out.items())


def complaint_codes() -> Codes:
    """The complaint product and problem codes (modelled on FINRA Rule 4530's)."""
    path = _policies() / "complaint_codes.yaml"
    return _codes_at(path, _stamp(path))


@lru_cache(maxsize=4)
def _codes_at(path: Path, stamp: int) -> Codes:
    del stamp
    return parse_codes(_read(path))
