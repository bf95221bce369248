"""Intent routing of new cases: how often the shipped routing model puts a question in the
queue of the article that answers it (the articles' queues from content/policies/routing.yaml
are the truth), beside the baseline of a model trained on the demo cases alone; and how the
intent threshold treats questions no article covers.

    python bench/routing.py
"""

from __future__ import annotations

import time
from pathlib import Path

import yaml

from kefu.desk import triage
from kefu.knowledge.content import eval_dir, load_articles, synonyms
from kefu.knowledge.evaluation import load_questions
from kefu.knowledge.intent import IntentModel, demo_training_set
from kefu.knowledge.search import INTENT_MIN_COVERAGE, KnowledgeIndex

TESTS = Path(__file__).resolve().parents[1] / "tests" / "knowledge"
HOLDOUT_DIR = TESTS / "holdout"
OFF_TOPIC = TESTS / "off_topic.yaml"


def main() -> None:
    articles = {a.slug: a for a in load_articles()}
    t = time.perf_counter()
    shipped = IntentModel.train(*triage.routing_training_set())
    shipped_s = time.perf_counter() - t
    t = time.perf_counter()
    demo = IntentModel.train(*demo_training_set())
    demo_s = time.perf_counter() - t
    print(f"routing model: demo cases + article questions, trained in {shipped_s:.2f} s")
    print(f"baseline: demo cases only, trained in {demo_s:.2f} s")
    for name, folder in (("development", eval_dir()), ("held-out", HOLDOUT_DIR)):
        questions = load_questions(sorted(Path(folder).glob("*.yaml")))
        questions = [q for q in questions if q.slug in articles]
        truth = [triage.case_category_of(articles[q.slug]) for q in questions]
        acc = {}
        for label, model in (("shipped", shipped), ("baseline", demo)):
            hits = sum(
                model.predict(q.q)[0] == want for q, want in zip(questions, truth, strict=True)
            )
            acc[label] = hits / len(questions)
        print(
            f"{name} ({len(questions)} questions): queue accuracy {acc['shipped']:.3f} vs "
            f"baseline {acc['baseline']:.3f} ({acc['shipped'] / acc['baseline']:.2f}×)"
        )
    intent = KnowledgeIndex.build(list(articles.values()), synonyms()).intent
    dev = load_questions(sorted(eval_dir().glob("*.yaml")))
    kept = [intent(q.q) for q in dev]
    print(
        f"intent threshold {INTENT_MIN_COVERAGE}: development questions keeping an intent "
        f"{sum(bool(k) for k in kept) / len(dev):.3f}, the right one "
        f"{sum(k == q.slug for k, q in zip(kept, dev, strict=True)) / len(dev):.3f}"
    )
    off = [str(q) for q in yaml.safe_load(OFF_TOPIC.read_text(encoding="utf-8"))]
    lost = sum(not intent(q) for q in off)
    print(
        f"off-topic questions ({len(off)}): {lost} get no intent, {len(off) - lost} keep a wrong one"
    )


if __name__ == "__main__":
    main()
