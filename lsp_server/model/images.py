"""Images for the model: load, check, downscale, encode as a data URI, and count their tokens.

Pure model-side code (Pillow, no LSP, no paths policy): the caller hands in the bytes of a file
it is allowed to read. ``prepare_image`` checks the bytes (format, size, corruption), takes the
first frame of an animation, applies the EXIF orientation, scales the image down so its longest
side fits the model's ``max_image_size`` (the encoder would discard anything larger), and
encodes it as a ``data:`` URI for an OpenAI-style ``image_url`` content part. The image's token
cost is exact: the same arithmetic as mistral-common's ``ImageEncoder`` (``ceil(side / (patch *
merge))`` tokens per row and column, one ``[IMG_BREAK]`` per row, the last one ``[IMG_END]``).
SVG is rasterised with resvg (``resvg-py``) when it references no external file.

Every problem is an ``ImageError`` with a reason fit for a log line and a hover; nothing here
raises anything else for bad input.
"""

from __future__ import annotations

import base64
import hashlib
import io
import re
from dataclasses import dataclass

# Mistral-Small-3.1/3.2's image settings (tekken.json "image" / the model's preprocessor):
# 14-pixel patches, longest side 1540 pixels, 2x2 patches merged into one token.
DEFAULT_PATCH_SIZE = 14
DEFAULT_MAX_IMAGE_SIZE = 1540
DEFAULT_SPATIAL_MERGE = 2
FORMATS = ("PNG", "JPEG", "WEBP", "GIF")  # read as they are; SVG is rasterised
_MIME = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp", "GIF": "image/gif"}
_SVG_START = re.compile(rb"^\s*(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*)*(?:<!DOCTYPE[^>]*>\s*)?<svg[\s>]", re.S | re.I)
# href/src values in an SVG that are not in-document fragments or data: URIs name other files.
_SVG_REFERENCE = re.compile(rb"""(?:href|src)\s*=\s*["']\s*(?!#|data:)([^"']+)["']""", re.I)
_SVG_CSS_URL = re.compile(rb"""url\(\s*["']?\s*(?!#|data:)[^)"']+""", re.I)


class ImageError(Exception):
    """An image that cannot be sent, and why."""


@dataclass(frozen=True)
class ImageSettings:
    """How the served model turns an image into tokens (its tokenizer's ``image`` section)."""

    patch_size: int = DEFAULT_PATCH_SIZE
    max_image_size: int = DEFAULT_MAX_IMAGE_SIZE
    spatial_merge: int = DEFAULT_SPATIAL_MERGE


@dataclass(frozen=True)
class PreparedImage:
    """An image ready to send: the data URI and what it costs."""

    sha256: str  # of the file's bytes as read (the cache key's part)
    format: str  # the file's format (PNG, JPEG, WEBP, GIF, SVG)
    original_size: tuple[int, int]  # width, height as stored (SVG: as rasterised)
    size: tuple[int, int]  # width, height as sent
    mime: str
    data_uri: str
    tokens: int  # the image's exact token cost for the model's image settings
    file_bytes: int

    @property
    def downscaled(self) -> bool:
        return self.size != self.original_size

    def part(self) -> dict[str, object]:
        """The OpenAI-style content part (``{"type": "image_url", "image_url": {"url": ...}}``)."""
        return {"type": "image_url", "image_url": {"url": self.data_uri}}


def token_grid(width: int, height: int, settings: ImageSettings) -> tuple[int, int]:
    """(columns, rows) of image tokens, after the encoder's own downscaling to the largest side."""
    if width < 1 or height < 1:
        raise ImageError(f"the image has no pixels ({width}x{height})")
    w, h = fit_size(width, height, settings.max_image_size)
    step = settings.patch_size * settings.spatial_merge
    return (w - 1) // step + 1, (h - 1) // step + 1


def image_tokens(width: int, height: int, settings: ImageSettings) -> int:
    """The tokens an image of this size costs: ``rows * (columns + 1)`` ([IMG]s, breaks, end)."""
    columns, rows = token_grid(width, height, settings)
    return rows * (columns + 1)


def fit_size(width: int, height: int, max_side: int) -> tuple[int, int]:
    """The size with the longest side at most ``max_side`` (aspect kept, mistral-common's rounding)."""
    ratio = max(width / max_side, height / max_side)
    if ratio <= 1:
        return width, height
    return max(round(width / ratio), 1), max(round(height / ratio), 1)


def sniff_svg(data: bytes) -> bool:
    return bool(_SVG_START.match(data[:4096]))


def _rasterise_svg(data: bytes) -> bytes:
    """An SVG as PNG bytes, with resvg; refuses SVGs that reference other files."""
    if _SVG_REFERENCE.search(data) or _SVG_CSS_URL.search(data):
        raise ImageError("the SVG references other files (href/src/url()); only self-contained SVGs are sent")
    try:
        import resvg_py
    except ImportError:
        raise ImageError("SVG images need resvg-py, which is not installed") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ImageError("the SVG is not UTF-8 text") from None
    try:
        return bytes(resvg_py.svg_to_bytes(svg_string=text, background="#ffffff"))
    except Exception as exc:  # noqa: BLE001 - resvg raises a plain exception for bad SVG
        raise ImageError(f"the SVG could not be rasterised ({str(exc)[:120]})") from None


def prepare_image(data: bytes, settings: ImageSettings, *, max_pixels: int = 50_000_000) -> PreparedImage:
    """Check and encode an image's bytes for the model; raises ``ImageError`` with the reason."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    digest = hashlib.sha256(data).hexdigest()
    kind = None
    source = data
    if sniff_svg(data):
        kind = "SVG"
        source = _rasterise_svg(data)
    try:
        with Image.open(io.BytesIO(source)) as image:
            fmt = kind or (image.format or "").upper()
            if fmt not in FORMATS and fmt != "SVG":
                raise ImageError(f"{image.format or 'this'} images are not sent (PNG, JPEG, WebP, GIF and SVG are)")
            width, height = image.size
            if width * height > max_pixels:
                raise ImageError(f"the image is too large ({width}x{height} pixels; the limit is {max_pixels:,})")
            frames = getattr(image, "n_frames", 1)
            if frames > 1:
                image.seek(0)  # the first frame of an animation
            image.load()
            transposed = ImageOps.exif_transpose(image) if _rotated(image) else image
            original = transposed.size
            target = fit_size(*original, settings.max_image_size)
            keep_bytes = fmt in ("PNG", "JPEG", "WEBP") and frames == 1 and target == original and transposed is image
            if keep_bytes:
                out, mime = data, _MIME[fmt]
            else:
                out, mime = _encode(transposed, target, fmt)
    except ImageError:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError):
        raise ImageError("the file is not a readable image (corrupt, or an unknown format)") from None
    except (OSError, ValueError, SyntaxError, EOFError) as exc:  # truncated or broken files
        raise ImageError(f"the image could not be decoded ({type(exc).__name__}: {str(exc)[:120]})") from None
    encoded = base64.b64encode(out).decode("ascii")
    return PreparedImage(sha256=digest, format=fmt, original_size=original, size=target, mime=mime,
                         data_uri=f"data:{mime};base64,{encoded}", tokens=image_tokens(*target, settings),
                         file_bytes=len(data))


def _rotated(image: object) -> bool:
    try:
        return int(image.getexif().get(0x0112, 1)) not in (0, 1)  # type: ignore[attr-defined]
    except Exception:  # noqa: BLE001 - broken EXIF: take the pixels as stored
        return False


def _encode(image: object, size: tuple[int, int], fmt: str) -> tuple[bytes, str]:
    """Resize (Lanczos) and encode: JPEG stays JPEG (quality 90), everything else becomes PNG."""
    from PIL import Image

    assert isinstance(image, Image.Image)
    picture = image
    if picture.mode not in ("RGB", "RGBA", "L", "LA"):
        picture = picture.convert("RGBA" if "A" in picture.getbands() or "transparency" in picture.info else "RGB")
    if picture.size != size:
        picture = picture.resize(size, Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    if fmt == "JPEG" and picture.mode in ("RGB", "L"):
        picture.save(buffer, "JPEG", quality=90)
        return buffer.getvalue(), "image/jpeg"
    picture.save(buffer, "PNG", optimize=False)
    return buffer.getvalue(), "image/png"
