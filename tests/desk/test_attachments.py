"""Attachments end to end: a customer's phone photo reaches the agent inline without its GPS
position, stored once under its sha256; files follow the messages' access rules; a disguised or
oversized file is refused by name and posts nothing."""

from __future__ import annotations

import hashlib
import io

import pytest
from PIL import Image

from kefu.core.config import get_settings
from kefu.core.security import User
from kefu.desk import service as desk
from tests.conftest import login
from tests.desk.test_files import photo_with_gps


@pytest.fixture(autouse=True)
def files_dir(tmp_path, monkeypatch):
    folder = tmp_path / "files"
    monkeypatch.setenv("KEFU_ATTACHMENTS_DIR", str(folder))
    monkeypatch.setenv("KEFU_ATTACHMENT_MAX_BYTES", "20000")
    get_settings.cache_clear()
    yield folder
    get_settings.cache_clear()


def _case(database, seed) -> int:
    with database.session() as s:
        return desk.create_case(
            s, actor=s.get(User, seed.agent1), customer_id=seed.alice, channel="web",
            subject="转账截图", category="funds", auto_assign=False,
        ).id  # fmt: skip


def test_a_customer_photo_reaches_the_agent_inline_without_its_gps(
    client, database, seed, files_dir
):
    cid = _case(database, seed)
    alice, agent = login(client, "alice"), login(client, "agent1")
    r = client.post(
        f"/api/v1/cases/{cid}/attachments",
        headers=alice,
        files={"file": ("IMG_0001.JPG", photo_with_gps(), "application/octet-stream")},
        data={"body": "这是转账截图"},
    )
    assert r.status_code == 201, r.text
    (att,) = r.json()["message"]["attachments"]
    assert (att["name"], att["mime"], att["image"]) == ("IMG_0001.jpg", "image/jpeg", True)

    msgs = client.get(f"/api/v1/cases/{cid}/messages", headers=agent).json()
    assert [m["attachments"][0]["id"] for m in msgs if m["attachments"]] == [att["id"]]
    got = client.get(att["url"], headers=agent)
    assert got.status_code == 200
    assert got.headers["content-type"] == "image/jpeg"
    assert got.headers["x-content-type-options"] == "nosniff"
    assert got.headers["content-disposition"].startswith("inline")
    assert "sandbox" in got.headers["content-security-policy"]
    assert b"PhoneCam" not in got.content and not Image.open(io.BytesIO(got.content)).getexif()
    sha = hashlib.sha256(got.content).hexdigest()
    assert (files_dir / sha[:2] / sha[2:4] / sha).read_bytes() == got.content

    assert client.get(att["url"], headers=login(client, "bob")).status_code == 404
    client.cookies.clear()
    client.cookies.set("kefu_session", alice["Authorization"].split()[1])
    page = client.get(f"/cases/{cid}").text
    client.cookies.clear()
    assert f'src="{att["url"]}"' in page and 'data-testid="attach"' in page


def test_files_follow_the_messages_rules_and_bad_files_post_nothing(client, database, seed):
    cid = _case(database, seed)
    alice, agent = login(client, "alice"), login(client, "agent1")
    pdf = b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\ntrailer\n%%EOF\n"
    r = client.post(
        f"/api/v1/cases/{cid}/attachments",
        headers=agent,
        files={"file": ("核查记录.pdf", pdf, "application/pdf")},
        data={"internal": "true"},
    )
    assert r.status_code == 201, r.text
    url = r.json()["message"]["attachments"][0]["url"]
    served = client.get(url, headers=agent)
    assert served.headers["content-disposition"].startswith("attachment")
    assert served.content == pdf
    assert client.get(url, headers=alice).status_code == 404  # a note's file is internal

    count = len(client.get(f"/api/v1/cases/{cid}/messages", headers=agent).json())
    exe = b"MZ\x90\x00" + b"\x00" * 500
    r = client.post(
        f"/api/v1/cases/{cid}/attachments",
        headers=alice,
        files={"file": ("receipt.png", exe, "image/png")},
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "file", r.text
    r = client.post(
        f"/api/v1/cases/{cid}/attachments",
        headers=alice,
        files={"file": ("big.txt", b"a" * 20_001, "text/plain")},
    )
    assert r.status_code == 422 and "limit is 20000" in r.json()["detail"], r.text
    r = client.post(
        f"/api/v1/cases/{cid}/attachments",
        headers=alice,
        files={"file": ("huge.txt", b"a" * 200_000, "text/plain")},
    )
    assert r.status_code == 413, r.text
    r = client.post(f"/api/v1/cases/{cid}/attachments", headers=alice, data={"body": "x"})
    assert r.status_code == 422 and "choose a file" in r.json()["detail"], r.text
    assert len(client.get(f"/api/v1/cases/{cid}/messages", headers=agent).json()) == count
