"""Photos from the browser: checked by their content (Pillow decodes them; the name and the browser's type are not
trusted), then re-encoded, so what we store and forward is a plain image with no EXIF (no GPS position, no camera
serial), no trailing payload and no script disguised as a picture."""
from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

ACCEPTED = {"JPEG", "PNG", "WEBP", "GIF", "MPO"}  # MPO: the JPEG variant many phones write
MAX_PIXELS = 40_000_000  # a decompression bomb is refused before it is decoded
MAX_SIDE = 2560  # larger photos are scaled down (plenty to see a pothole)
MAGIC = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF87a", b"GIF89a")


class BadImage(ValueError):
    def __init__(self, reason: str):
        self.reason = reason  # type | pixels
        super().__init__(reason)


@dataclass(frozen=True)
class CleanImage:
    data: bytes
    mime: str
    width: int
    height: int


def _looks_like_image(head: bytes) -> bool:
    return head.startswith(MAGIC) or (head[:4] == b"RIFF" and head[8:12] == b"WEBP")


def clean_image(raw: bytes) -> CleanImage:
    """Decode, check and re-encode (JPEG; PNG for images with transparency). Raises BadImage."""
    if not _looks_like_image(raw[:16]):
        raise BadImage("type")
    try:
        with Image.open(io.BytesIO(raw)) as probe:
            if probe.format not in ACCEPTED:
                raise BadImage("type")
            w, h = probe.size
            if w * h > MAX_PIXELS or w < 1 or h < 1:
                raise BadImage("pixels")
            probe.verify()  # structure check; the image must be opened again to decode it
        with Image.open(io.BytesIO(raw)) as img:
            img.load()  # decodes every byte: a truncated or corrupt file raises here
            img = ImageOps.exif_transpose(img)  # keep the orientation the phone meant, then drop EXIF
            img.thumbnail((MAX_SIDE, MAX_SIDE))
            alpha = img.mode in ("RGBA", "LA") or (img.mode == "P" and "transparency" in img.info)
            out = io.BytesIO()
            if alpha:
                img.convert("RGBA").save(out, "PNG", optimize=True)
                mime = "image/png"
            else:
                img.convert("RGB").save(out, "JPEG", quality=85, optimize=True)
                mime = "image/jpeg"
            return CleanImage(out.getvalue(), mime, img.width, img.height)
    except BadImage:
        raise
    except Image.DecompressionBombError:
        raise BadImage("pixels") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        raise BadImage("type") from None
