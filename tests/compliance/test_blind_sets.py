"""The blind evaluation sets are frozen: their bytes match the hashes taken before the first
scoring, and every item is well-formed (so a scorer never silently skips one)."""

from __future__ import annotations

import hashlib
import json

import pytest

from tests.compliance.blind.score import CATEGORIES, HERE, frozen_hashes

KEYS = {"id", "speaker", "lang", "text", "expected", "categories", "pii", "report", "trap", "note"}


@pytest.mark.parametrize("name", sorted(frozen_hashes()))
def test_a_frozen_file_is_unchanged(name):
    assert hashlib.sha256((HERE / name).read_bytes()).hexdigest() == frozen_hashes()[name]


@pytest.mark.parametrize("n", [1, 2, 3])
def test_every_item_is_well_formed(n):
    rows = [json.loads(x) for x in (HERE / f"set{n}.jsonl").read_text("utf-8").splitlines()]
    assert len(rows) >= 250
    assert len({r["id"] for r in rows}) == len(rows)
    for r in rows:
        assert set(r) == KEYS, r["id"]
        assert r["speaker"] in ("agent", "customer"), r["id"]
        assert r["expected"] in ("block", "warn", "allow"), r["id"]
        assert set(r["categories"]) <= set(CATEGORIES), r["id"]
        assert all(p in r["text"] for p in r["pii"]), r["id"]
        if r["speaker"] == "customer":
            assert r["expected"] == "allow", r["id"]
        elif r["expected"] != "allow":
            assert r["categories"], r["id"]


# Floors on the tuning sets (figures in docs/guard.md): a change to the guard that loses a caught
# violation, blocks a message that must pass, blocks a customer or leaves a number unmasked fails
# here. Set 3 is the hold-out set: it is never scored by the test suite.
FLOORS = {
    1: {"block_recall": 1.0, "false_block_rate": 0.0, "warn_recall": 1.0, "report": 0.952},
    2: {"block_recall": 1.0, "false_block_rate": 0.0, "warn_recall": 1.0, "report": 1.0},
}


@pytest.mark.parametrize("n", [1, 2])
def test_tuning_set_scores_hold_their_floors(n):
    from kefu.compliance.content import default_guard
    from tests.compliance.blind.score import load, score

    got = score(load(n), default_guard().screen)
    floor = FLOORS[n]
    assert got["block_recall"] >= floor["block_recall"], got
    assert got["false_block_rate"] <= floor["false_block_rate"], got
    assert got["warn_recall"] >= floor["warn_recall"], got
    assert got["report_recall"] >= floor["report"], got
    assert got["customers_blocked"] == 0, got
    assert got["pii_left_unmasked"].startswith("0 of "), got
