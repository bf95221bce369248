"""What an uploaded file is and what of it is kept (an engine: bytes and a policy in, bytes out).

The type is sniffed from the content (``filetype``'s magic numbers), never taken from the file
name or the type the browser declared: a script renamed ``receipt.png`` is refused. Only the
allow-listed kinds pass. Images are decoded and re-encoded with Pillow, which keeps the pixels
(turned upright by their EXIF orientation) and drops every metadata block: EXIF with the phone's
GPS position, XMP, comments, embedded thumbnails. Text must be UTF-8 (or GB 18030, as Chinese
Windows writes it) and is kept as UTF-8."""

from __future__ import annotations

import io
import unicodedata
from dataclasses import dataclass

import filetype
from PIL import Image, ImageOps, UnidentifiedImageError

#: sniffed MIME type -> the extension the file is stored and offered under
KINDS: dict[str, str] = {
    "image/png": "png",
    "image/jpeg": "jpg",
    "image/gif": "gif",
    "image/webp": "webp",
    "application/pdf": "pdf",
    "text/plain": "txt",
}
IMAGES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
_PIL_FORMAT = {"image/png": "PNG", "image/jpeg": "JPEG", "image/gif": "GIF", "image/webp": "WEBP"}


@dataclass(frozen=True)
class FilePolicy:
    max_bytes: int = 10 * 1024 * 1024
    #: a decoded image larger than this is refused (a small file can unpack to gigabytes)
    max_pixels: int = 40_000_000
    allowed: frozenset[str] = frozenset(KINDS)


@dataclass(frozen=True)
class CleanFile:
    data: bytes
    mime: str
    ext: str
    width: int | None = None
    height: int | None = None


class FileRefused(ValueError):
    """The file is not one Kefu keeps; the message says why in words a customer understands."""


def sniff(data: bytes) -> str | None:
    """The MIME type the content is, or None when it is none Kefu knows."""
    kind = filetype.guess(data)
    if kind is not None:
        return str(kind.mime)
    return "text/plain" if _text(data) is not None else None


def _text(data: bytes) -> str | None:
    """The text of a plain-text file (UTF-8 with or without BOM, else GB 18030), None when the
    bytes are not text (binary, or control characters other than tab, line breaks and form
    feed)."""
    if not data or b"\x00" in data:
        return None
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if any(unicodedata.category(c) == "Cc" and c not in "\t\n\r\f" for c in text):
            return None
        return text
    return None


def clean(data: bytes, policy: FilePolicy) -> CleanFile:
    """The file as Kefu stores it, or :class:`FileRefused` naming why not."""
    if not data:
        raise FileRefused("the file is empty")
    if len(data) > policy.max_bytes:
        raise FileRefused(
            f"the file is {len(data)} bytes; the limit is {policy.max_bytes} "
            f"({policy.max_bytes / 1024 / 1024:.0f} MB)"
        )
    mime = sniff(data)
    if mime is None or mime not in policy.allowed:
        allowed = ", ".join(sorted(KINDS[m] for m in policy.allowed))
        found = f" (it is {mime})" if mime else ""
        raise FileRefused(f"only these kinds of file are accepted: {allowed}{found}")
    if mime in IMAGES:
        return _image(data, mime, policy)
    if mime == "text/plain":
        text = _text(data)
        assert text is not None
        return CleanFile(text.encode("utf-8"), mime, "txt")
    return CleanFile(data, mime, KINDS[mime])


def _image(data: bytes, mime: str, policy: FilePolicy) -> CleanFile:
    try:
        with Image.open(io.BytesIO(data)) as im:
            if im.width * im.height > policy.max_pixels:
                raise FileRefused(
                    f"the image is {im.width}×{im.height} pixels; the limit is "
                    f"{policy.max_pixels:,} pixels"
                )
            animated = getattr(im, "n_frames", 1) > 1
            out = io.BytesIO()
            if animated:
                # frame timing and looping are kept; everything else in the header is dropped
                keep = {k: im.info[k] for k in ("duration", "loop") if k in im.info}
                im.info = {}
                im.save(out, format=_PIL_FORMAT[mime], save_all=True, **keep)
                size = im.size
            else:
                im.load()
                upright = ImageOps.exif_transpose(im) or im
                pixels = upright.copy()  # a fresh image: no info, no EXIF, no XMP
                pixels.info = {}
                if mime == "image/jpeg" and pixels.mode not in ("RGB", "L", "CMYK"):
                    pixels = pixels.convert("RGB")
                options: dict[str, object] = {}
                if mime in ("image/jpeg", "image/webp"):
                    options["quality"] = 90
                pixels.save(out, format=_PIL_FORMAT[mime], **options)
                size = pixels.size
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as exc:
        raise FileRefused(f"the image cannot be read ({exc.__class__.__name__})") from exc
    return CleanFile(out.getvalue(), mime, KINDS[mime], width=size[0], height=size[1])


def display_name(name: str, ext: str) -> str:
    """The name a file is shown and offered under: the sender's name without any folder part
    or control characters, at most 120 characters, ending in the extension of what it is."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(c for c in base if unicodedata.category(c)[0] != "C").strip(" .")
    stem = base.rsplit(".", 1)[0] if "." in base else base
    stem = stem[:110] or "file"
    return f"{stem}.{ext}"
