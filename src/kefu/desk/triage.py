"""The desk's triage: which queue (case category) a new message belongs in, and what the
customer asks about (the knowledge article that answers it, through knowledge's public face).

The routing model is trained once per process from the configured content (the demo cases and
every article's titles and questions, labelled by content/policies/routing.yaml), unless
KEFU_INTENT_MODEL names a team's own model."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy.orm import Session

from kefu.core.config import get_settings
from kefu.desk.models import CATEGORIES
from kefu.knowledge import service as knowledge
from kefu.knowledge.articles import Article
from kefu.knowledge.intent import IntentDataError, IntentModel, demo_training_set

log = logging.getLogger(__name__)

RoutingPolicy = dict[str, dict[str, str]]

__all__ = [
    "Routing",
    "RoutingPolicy",
    "case_category_of",
    "route",
    "routing_model",
    "routing_policy",
    "routing_training_set",
]


@dataclass(frozen=True)
class Routing:
    category: str
    confidence: float
    intent: str  # the slug of the article that answers the message, "" when none does

    def to_dict(self) -> dict[str, Any]:
        return {"category": self.category, "confidence": self.confidence, "intent": self.intent}


def routing_policy() -> RoutingPolicy:
    """content/policies/routing.yaml of the configured content (KEFU_CONTENT_DIR): the queue of
    each help-centre section ("kb_category") and of single articles ("article")."""
    return _read_routing_policy(get_settings().content_dir / "policies" / "routing.yaml")


@lru_cache(maxsize=4)
def _read_routing_policy(path: Path) -> RoutingPolicy:
    """Read once per file and process (like the synonyms)."""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) if path.exists() else {}
    return {
        "kb_category": dict((data or {}).get("kb_category") or {}),
        "article": dict((data or {}).get("article") or {}),
    }


def case_category_of(article: Article, policy: RoutingPolicy | None = None) -> str:
    """The desk category whose queue handles questions this article answers."""
    policy = policy or routing_policy()
    return policy["article"].get(article.slug) or policy["kb_category"].get(
        article.category, "account"
    )


def routing_training_set() -> tuple[list[str], list[str]]:
    """The demo cases plus every shipped article's titles and alternative questions, labelled
    with the case category that handles the article (content/policies/routing.yaml)."""
    folder = get_settings().content_dir
    cases = folder / "demo" / "cases.yaml"
    # a team's content without demo cases still trains on the shipped ones, as before
    texts, labels = demo_training_set(cases) if cases.exists() else demo_training_set()
    policy = routing_policy()
    for a in knowledge.load_articles(folder / "kb"):
        label = case_category_of(a, policy)
        for text in (a.title_zh, a.title_en, *a.questions_zh, *a.questions_en):
            texts.append(text)
            labels.append(label)
    return texts, labels


_model_lock = threading.Lock()
_model: list[IntentModel] = []


def routing_model() -> IntentModel:
    """KEFU_INTENT_MODEL if set, else a model trained once per process from the shipped
    content (about a second)."""
    with _model_lock:
        if not _model:
            path = get_settings().intent_model
            model = None
            if path:
                try:
                    model = IntentModel.load(path)
                except (IntentDataError, OSError) as exc:
                    # a case must still be filed: route with the shipped model, say why loudly
                    log.error(
                        "KEFU_INTENT_MODEL %s is not usable (%s); routing with the "
                        "model trained from the shipped content",
                        path,
                        exc,
                    )
            _model.append(model or IntentModel.train(*routing_training_set()))
        return _model[0]


def route(db: Session, text: str, *, categories: Sequence[str] = CATEGORIES) -> Routing:
    """Category and intent of a customer's message. The category is the routing model's when
    it is one of ``categories`` (the desk's); otherwise (a team model with its own labels) the
    one that handles the best-matching article."""
    text = text.strip()
    if not text:
        return Routing(categories[0], 0.0, "")
    intent = knowledge.index_for(db).intent(text)  # "" for a topic no article covers
    label, confidence = routing_model().predict(text)
    if label not in categories:
        article = knowledge.find_article(db, intent) if intent else None
        label = case_category_of(article) if article is not None else categories[0]
        confidence = 0.0
        if label not in categories:
            label = categories[0]
    return Routing(label, confidence, intent)
