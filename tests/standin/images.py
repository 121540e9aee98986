"""The stand-in's image checks: what vLLM does with ``image_url`` content parts, and a record of them.

Every image part of a chat request must be a base64 ``data:`` URI of a PNG, JPEG, WebP or GIF
that decodes (Pillow) to a real image; a remote URL is refused (vLLM would fetch it, and
mistral-lsp must never ask it to). More images than the server's limit are refused with vLLM's
own message (``At most N image(s) may be provided in one prompt.``). Each accepted image is
recorded with its decoded size and its token count, computed by mistral-common's own
``ImageEncoder`` arithmetic (an implementation independent of mistral-lsp's), so tests compare
what the server claims with what the model would really receive.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import re
from dataclasses import dataclass
from typing import Any

_DATA_URI = re.compile(r"^data:(image/(?:png|jpeg|webp|gif));base64,(.*)$", re.S)
_FORMATS = {"image/png": "PNG", "image/jpeg": "JPEG", "image/webp": "WEBP", "image/gif": "GIF"}


class ImageRejected(Exception):
    """A request vLLM would refuse because of its images."""


@dataclass(frozen=True)
class RecordedImage:
    """One image part as the stand-in decoded it."""

    mime: str
    width: int
    height: int
    sha256: str  # of the decoded bytes
    tokens: int  # mistral-common's count for the configured image settings
    message: int  # index of the message holding it
    position: int  # index of the part inside the message's content


def image_parts(body: dict[str, Any]) -> list[tuple[int, int, dict[str, Any]]]:
    """(message index, part index, part) of every ``image_url`` part."""
    out = []
    for m_index, message in enumerate(body.get("messages") or []):
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, list):
            for p_index, part in enumerate(content):
                if isinstance(part, dict) and part.get("type") == "image_url":
                    out.append((m_index, p_index, part))
    return out


def mistral_common_tokens(width: int, height: int, settings: tuple[int, int, int]) -> int:
    """The image's token count as mistral-common's ImageEncoder computes it."""
    from mistral_common.tokens.tokenizers.image import ImageConfig, ImageEncoder, SpecialImageIDs
    from PIL import Image

    patch, largest, merge = settings
    encoder = ImageEncoder(ImageConfig(patch, largest, merge), SpecialImageIDs(img=10, img_break=12, img_end=13))
    columns, rows = encoder._image_to_num_tokens(Image.new("RGB", (width, height)))
    return rows * (columns + 1)


def check_images(body: dict[str, Any], limit: int, settings: tuple[int, int, int]) -> list[RecordedImage]:
    """Decode and validate the request's images; raises ``ImageRejected`` as vLLM would."""
    from PIL import Image, UnidentifiedImageError

    parts = image_parts(body)
    if len(parts) > limit:
        raise ImageRejected(f"At most {limit} image(s) may be provided in one prompt.")
    out: list[RecordedImage] = []
    for m_index, p_index, part in parts:
        url = (part.get("image_url") or {}).get("url") if isinstance(part.get("image_url"), dict) else None
        if not isinstance(url, str):
            raise ImageRejected("image_url.url must be a string")
        if url.startswith(("http://", "https://", "file:")):
            raise ImageRejected(f"stand-in: a remote/file image URL was sent ({url[:60]}); mistral-lsp must "
                                "send images inline")
        match = _DATA_URI.match(url)
        if match is None:
            raise ImageRejected(f"Invalid image data URL {url[:64]}: expected data:image/<type>;base64,...")
        try:
            data = base64.b64decode(match.group(2), validate=True)
        except (binascii.Error, ValueError):
            raise ImageRejected(f"Invalid image data URL {url[:64]}: payload is not valid base64.") from None
        try:
            with Image.open(io.BytesIO(data)) as image:
                image.load()
                fmt, size = image.format, image.size
        except (UnidentifiedImageError, OSError, ValueError):
            raise ImageRejected(f"Invalid image data URL {url[:64]}: payload is not a decodable image.") from None
        if fmt != _FORMATS[match.group(1)]:
            raise ImageRejected(f"the data URI says {match.group(1)} but holds a {fmt} image")
        out.append(RecordedImage(match.group(1), size[0], size[1], hashlib.sha256(data).hexdigest(),
                                 mistral_common_tokens(size[0], size[1], settings), m_index, p_index))
    return out
