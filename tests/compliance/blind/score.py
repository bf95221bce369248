"""Scores the guard on the blind evaluation sets (see README.md in this folder).

    python -m tests.compliance.blind.score 1 2          # the tuning sets
    python -m tests.compliance.blind.score 3 --final    # the hold-out set: once, at the end

Figures per set: block recall, false blocks on agent messages that must pass, warn recall, each
category's recall (the message was stopped) and precision (a finding of that category was right),
customers never blocked, customer reports, and personal data left unmasked."""

from __future__ import annotations

import argparse
import hashlib
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
CATEGORIES = (
    "promise",
    "advice",
    "inducement",
    "credential",
    "offplatform",
    "third_party",
    "pii",
    "disclosure",
)


def frozen_hashes() -> dict[str, str]:
    out = {}
    for line in (HERE / "SHA256SUMS").read_text().splitlines():
        digest, name = line.split()
        out[name] = digest
    return out


def load(n: int) -> list[dict[str, Any]]:
    path = HERE / f"set{n}.jsonl"
    data = path.read_bytes()
    if hashlib.sha256(data).hexdigest() != frozen_hashes()[path.name]:
        raise SystemExit(f"{path.name} differs from its frozen hash in SHA256SUMS")
    return [json.loads(line) for line in data.decode("utf-8").splitlines() if line.strip()]


@dataclass
class Score:
    n: int = 0
    counts: Counter[str] = field(default_factory=Counter)

    def ratio(self, hit: str, total: str) -> float | None:
        return self.counts[hit] / self.counts[total] if self.counts[total] else None


def score(items: list[dict[str, Any]], screen: Any) -> dict[str, Any]:
    """``screen(text, role)`` returns an object with verdict, findings (each with category),
    redacted and report, like kefu.compliance.guard.Screening."""
    c: Counter[str] = Counter()
    for it in items:
        got = screen(it["text"], it["speaker"])
        found = {f.category for f in got.findings}
        if it["speaker"] == "customer":
            c["customer"] += 1
            c["customer_blocked"] += got.verdict == "block"
            c["report_expected"] += bool(it["report"])
            c["report_hit"] += bool(it["report"]) and bool(got.report)
            c["report_raised"] += bool(got.report)
            c["report_right"] += bool(it["report"]) and bool(got.report)
            for value in it["pii"]:
                c["pii_items"] += 1
                c["pii_left"] += value in got.redacted
            continue
        expected = it["expected"]
        c[f"agent_{expected}"] += 1
        if expected == "block":
            c["block_hit"] += got.verdict == "block"
        elif expected == "warn":
            c["warn_hit"] += got.verdict in ("warn", "block")
            c["warn_exact"] += got.verdict == "warn"
        else:
            c["false_block"] += got.verdict == "block"
            c["false_warn"] += got.verdict == "warn"
        for cat in it["categories"]:
            c[f"cat_{cat}"] += 1
            c[f"cat_{cat}_stopped"] += got.verdict != "allow"
        for cat in found:
            c[f"found_{cat}"] += 1
            c[f"found_{cat}_right"] += cat in it["categories"]

    def r(a: str, b: str) -> float | None:
        return round(c[a] / c[b], 3) if c[b] else None

    return {
        "messages": len(items),
        "block_recall": r("block_hit", "agent_block"),
        "false_block_rate": r("false_block", "agent_allow"),
        "warn_recall": r("warn_hit", "agent_warn"),
        "warn_exact": r("warn_exact", "agent_warn"),
        "customers_blocked": c["customer_blocked"],
        "report_recall": r("report_hit", "report_expected"),
        "report_precision": r("report_right", "report_raised"),
        "pii_left_unmasked": f"{c['pii_left']} of {c['pii_items']}",
        "categories": {
            cat: {
                "messages": c[f"cat_{cat}"],
                "recall": r(f"cat_{cat}_stopped", f"cat_{cat}"),
                "precision": r(f"found_{cat}_right", f"found_{cat}"),
            }
            for cat in CATEGORIES
        },
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("sets", nargs="+", type=int, choices=(1, 2, 3))
    ap.add_argument("--final", action="store_true", help="allow the hold-out set 3")
    args = ap.parse_args()
    if 3 in args.sets and not args.final:
        raise SystemExit("set 3 is the hold-out set: score it once, at the end, with --final")
    from kefu.compliance.content import default_guard

    guard = default_guard()
    for n in args.sets:
        print(json.dumps({"set": n, **score(load(n), guard.screen)}, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
