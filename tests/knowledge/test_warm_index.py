"""The knowledge index is built while the app starts, so the first search finds it warm."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from kefu.core.db import Database
from kefu.knowledge import index
from kefu.knowledge import service as knowledge
from tests.conftest import login


def test_the_first_search_after_start_up_builds_no_index(
    database: Database, seed: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kefu.web.app import create_app

    # forget what earlier tests of this process built, as a freshly started worker has nothing
    monkeypatch.setattr(index, "_cache", {})
    monkeypatch.setattr(index, "_by_digest", {})
    before = knowledge.index_builds()
    with TestClient(create_app(database)) as client:
        started = knowledge.index_builds()
        assert started == before + 1, "the app built its index while starting"
        h = login(client, "agent1")
        r = client.get("/api/v1/kb/search", params={"q": "提现多久到账"}, headers=h)
        assert r.status_code == 200 and r.json(), r.text
        assert knowledge.index_builds() == started, "the first search rebuilt the index"
