"""The upload engine: what a file is comes from its bytes, only allowed kinds pass, and images
keep their pixels but lose their metadata (the GPS position a phone writes into a photo)."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from kefu.desk.files import FilePolicy, FileRefused, clean, display_name, sniff

POLICY = FilePolicy(max_bytes=200_000, max_pixels=1_000_000)


def photo_with_gps(fmt: str = "JPEG") -> bytes:
    """A phone photo: EXIF with the camera model, an orientation and a GPS position."""
    im = Image.new("RGB", (40, 20), (200, 30, 30))
    exif = Image.Exif()
    exif[0x0110] = "PhoneCam 12"  # Model
    exif[0x0112] = 6  # Orientation: rotate 90° clockwise to show upright
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2] = "N", (31.0, 14.0, 2.5)  # GPSLatitudeRef, GPSLatitude (Shanghai)
    buf = io.BytesIO()
    im.save(buf, fmt, exif=exif)
    return buf.getvalue()


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_images_lose_exif_and_gps_and_are_turned_upright(fmt):
    raw = photo_with_gps(fmt)
    assert b"PhoneCam" in raw
    out = clean(raw, POLICY)
    assert out.mime == f"image/{fmt.lower()}"
    assert b"PhoneCam" not in out.data and b"Exif" not in out.data
    with Image.open(io.BytesIO(out.data)) as im:
        assert not im.getexif()
        assert im.size == (20, 40)  # the orientation was applied, then dropped
    assert (out.width, out.height) == (20, 40)


def test_the_type_comes_from_the_content_not_the_name():
    html = b"<html><script>alert(1)</script></html>"
    # text is text whatever its name: it is stored and served as text/plain, never as a page
    assert sniff(html) == "text/plain"
    exe = b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 200
    with pytest.raises(FileRefused, match="only these kinds"):
        clean(exe, POLICY)
    with pytest.raises(FileRefused, match="only these kinds"):
        clean(b"\x1f\x8b\x08\x00" + b"\x00" * 50, POLICY)  # a gzip called receipt.png
    assert clean(b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\n%%EOF", POLICY).mime == "application/pdf"


def test_text_is_kept_as_utf8_and_binary_is_refused():
    assert clean("转账凭证 123".encode("gb18030"), POLICY).data == "转账凭证 123".encode()
    with pytest.raises(FileRefused):
        clean(b"ok\x01\x02", POLICY)


def test_size_and_pixel_limits_name_the_limit():
    with pytest.raises(FileRefused, match="limit is 200000"):
        clean(b"a" * 200_001, POLICY)
    big = io.BytesIO()
    Image.new("L", (1200, 1000)).save(big, "PNG")
    with pytest.raises(FileRefused, match="1200×1000 pixels"):
        clean(big.getvalue(), POLICY)
    with pytest.raises(FileRefused, match="empty"):
        clean(b"", POLICY)


def test_a_broken_image_is_refused_not_a_crash():
    with pytest.raises(FileRefused, match="cannot be read"):
        clean(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, POLICY)


def test_display_names_drop_folders_and_take_the_real_extension():
    assert display_name("C:\\Users\\王\\回单.exe", "png") == "回单.png"
    assert display_name("../../etc/passwd", "txt") == "passwd.txt"
    assert display_name("\u202egnp.exe", "pdf") == "gnp.pdf"
    assert display_name("", "jpg") == "file.jpg"
