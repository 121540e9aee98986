"""Test images, generated (never downloaded): charts, screenshots-like pictures, odd formats.

Also the v11 tekken tokenizer with Mistral-Small-3.2's image settings, built from mistral-common's
bundled file the way ``scripts/vllm/make_tiny_model.py`` builds the vLLM tier's, so unit tests
can compare our counts with mistral-common's own encoding.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

from PIL import Image, ImageDraw


def png(width: int, height: int, color: str = "white", mode: str = "RGB") -> bytes:
    image = Image.new(mode, (width, height), color)
    ImageDraw.Draw(image).rectangle([0, 0, max(0, width // 3), max(0, height // 3)], fill="red")
    return encode(image, "PNG")


def encode(image: Image.Image, fmt: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def bar_chart(values: list[int], width: int = 320, height: int = 200) -> bytes:
    """A small bar chart (one bar per value) as PNG."""
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    draw.line([(20, 10), (20, height - 20), (width - 10, height - 20)], fill="black", width=2)
    step = (width - 40) // max(1, len(values))
    top = max(values) or 1
    for index, value in enumerate(values):
        x = 30 + index * step
        draw.rectangle([x, height - 20 - int(value / top * (height - 40)), x + step // 2, height - 21], fill="blue")
    return encode(image, "PNG")


def animated_gif(width: int, height: int, frames: int = 3) -> bytes:
    images = [Image.new("RGB", (width, height), color) for color in ("red", "green", "blue")[:frames]]
    buffer = io.BytesIO()
    images[0].save(buffer, "GIF", save_all=True, append_images=images[1:], duration=100, loop=0)
    return buffer.getvalue()


def rotated_jpeg(width: int, height: int) -> bytes:
    """A JPEG stored as width x height with an EXIF orientation of 6 (shown rotated 90 degrees)."""
    image = Image.new("RGB", (width, height), "white")
    exif = Image.Exif()
    exif[0x0112] = 6
    return encode(image, "JPEG", exif=exif)


SVG_CHART = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="120" height="80">'
    '<rect width="120" height="80" fill="white"/><rect x="10" y="30" width="20" height="40" fill="blue"/>'
    '<rect x="50" y="10" width="20" height="60" fill="blue"/></svg>'
)


def tekken_v11_with_images(folder: Path, image: dict[str, int] | None = None) -> Path:
    """mistral-common's bundled tekken file set to v11, its special tokens listed, with an image section
    (default: Mistral-Small-3.2's 14 / 1540 / 2). Returns the written ``tekken.json``."""
    import mistral_common
    from mistral_common.tokens.tokenizers.base import SpecialTokens
    from mistral_common.tokens.tokenizers.tekken import Tekkenizer

    data = json.loads((Path(mistral_common.__file__).parent / "data" / "tekken_240911.json").read_text("utf-8"))
    data["config"]["version"] = "v11"
    data["image"] = image or {"image_patch_size": 14, "max_image_size": 1540, "spatial_merge_size": 2}
    named = {info["rank"]: str(getattr(info["token_str"], "value", info["token_str"]))
             for info in Tekkenizer.DEPRECATED_SPECIAL_TOKENS}
    named[32] = SpecialTokens.args.value
    named[33] = SpecialTokens.call_id.value
    data["special_tokens"] = [
        {"rank": i, "token_str": named.get(i, Tekkenizer.SPECIAL_TOKEN_TEMPLATE.format(id=i)), "is_control": True}
        for i in range(data["config"]["default_num_special_tokens"])
    ]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "tekken.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path
