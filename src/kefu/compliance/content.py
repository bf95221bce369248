"""The compliance context's part of content/: the guard policy, content/policies/guard.yaml of
the configured content (``KEFU_CONTENT_DIR``), the training corpus of the guard's model
(content/policies/guard-corpus/*.jsonl) and the trained model shipped with the package
(kefu/compliance/guard_model.json, rebuilt by ``kefu guard train``). The guard engine (guard.py)
is handed the policy and the model read here; the compiled default is cached per policy file and
process."""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from kefu.compliance.guard import Guard, Role, Screening, check_policy
from kefu.compliance.model import LABELS, GuardModel, ModelDataError
from kefu.core.config import get_settings

MODEL_PATH = Path(__file__).with_name("guard_model.json")


def policy_path() -> Path:
    return get_settings().content_dir / "policies" / "guard.yaml"


def load_policy(path: Path | str | None = None) -> dict[str, Any]:
    """The guard policy in ``path`` (default: the configured content's), checked for rules."""
    where = Path(path) if path is not None else policy_path()
    return check_policy(yaml.safe_load(where.read_text(encoding="utf-8")), str(where))


def corpus_dir() -> Path:
    return get_settings().content_dir / "policies" / "guard-corpus"


def read_corpus(folder: Path | str | None = None) -> list[tuple[str, str, list[str]]]:
    """The labelled agent messages of every ``*.jsonl`` in ``folder`` (default: the configured
    content's guard-corpus), in file and line order, as (text, label, categories); a bad line
    raises ModelDataError naming the file, the line and the field."""
    where = Path(folder) if folder is not None else corpus_dir()
    files = sorted(where.glob("*.jsonl"))
    if not files:
        raise ModelDataError(f"{where}: no *.jsonl corpus files")
    rows: list[tuple[str, str, list[str]]] = []
    for path in files:
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ModelDataError(f"{path.name} line {n}: malformed JSON ({exc.msg})") from exc
            if not isinstance(obj, dict) or not isinstance(obj.get("text"), str):
                raise ModelDataError(f"{path.name} line {n}: 'text' must be a string")
            if not obj["text"].strip():
                raise ModelDataError(f"{path.name} line {n}: 'text' is empty")
            if obj.get("label") not in LABELS:
                raise ModelDataError(
                    f"{path.name} line {n}: 'label' must be one of {', '.join(LABELS)}"
                )
            cats = obj.get("categories", [])
            if not isinstance(cats, list) or not all(isinstance(c, str) for c in cats):
                raise ModelDataError(f"{path.name} line {n}: 'categories' must be a list of names")
            rows.append((obj["text"], obj["label"], cats))
    return rows


def corpus_digest(rows: list[tuple[str, str, list[str]]]) -> str:
    """SHA-256 of a corpus as read (labels, categories, texts, in order): the shipped model
    records it, so a model left behind by a changed corpus is noticed."""
    digest = hashlib.sha256()
    for text, label, cats in rows:
        digest.update(f"{label}\t{','.join(cats)}\t{text}\n".encode())
    return digest.hexdigest()


def load_model(path: Path | str | None = None) -> GuardModel:
    """The trained model in ``path`` (default: the one shipped with the package)."""
    where = Path(path) if path is not None else MODEL_PATH
    try:
        data = json.loads(where.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ModelDataError(f"{where}: cannot read the guard model ({exc})") from exc
    return GuardModel(data)


def default_guard() -> Guard:
    """The guard compiled from the configured content's policy, with the shipped model (built
    once per policy file)."""
    return _guard_at(policy_path())


@lru_cache(maxsize=4)
def _guard_at(path: Path) -> Guard:
    return Guard(load_policy(path), model=load_model())


def screen(text: str, role: Role = "agent") -> Screening:
    """Screens one message with the configured content's guard policy."""
    return default_guard().screen(text, role)
