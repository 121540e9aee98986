"""The model side of images: preparation, downscaling, formats, bad files, and exact token counts."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from lsp_server.model.images import ImageError, ImageSettings, fit_size, image_tokens, prepare_image
from lsp_server.model.tokens import TokenCounter
from lsp_server.model.vision_prompts import (
    ImageContext,
    alt_messages,
    clean_alt_text,
    describe_messages,
    figure_messages,
    prompt_tokens,
)
from tests.imagegen import SVG_CHART, animated_gif, encode, png, rotated_jpeg, tekken_v11_with_images

SETTINGS = ImageSettings()


def decoded(uri: str) -> Image.Image:
    header, payload = uri.split(",", 1)
    assert header.endswith(";base64")
    image = Image.open(io.BytesIO(base64.b64decode(payload)))
    image.load()
    return image


@pytest.fixture(scope="module")
def mistral_tokenizer(tmp_path_factory: pytest.TempPathFactory):
    """mistral-common's tokenizer for a v11 tekken with Mistral-Small-3.2's image settings.

    mistral-common resizes the pixels with OpenCV, which the project does not install; the
    pixel transform is replaced by zeros of the right shape (the tokens do not depend on it)."""
    import mistral_common.tokens.tokenizers.image as image_module
    from mistral_common.tokens.tokenizers.mistral import MistralTokenizer

    path = tekken_v11_with_images(tmp_path_factory.mktemp("tekken"))
    original = image_module.transform_image
    image_module.transform_image = lambda image, size: np.zeros((3, size[1], size[0]), dtype=np.float32)
    try:
        yield MistralTokenizer.from_file(str(path))
    finally:
        image_module.transform_image = original


@pytest.fixture(scope="module")
def counter() -> TokenCounter:
    tokens = TokenCounter()
    tokens.load()
    assert tokens.exact
    return tokens


SIZES = [(300, 200), (29, 27), (28, 28), (1, 1), (1540, 1540), (1541, 1541), (4000, 1000), (1000, 4000),
         (5000, 3), (3, 5000), (1920, 1080), (800, 600)]


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_image_tokens_equal_mistral_commons_encoding_of_a_chat_request(mistral_tokenizer, counter: TokenCounter,
                                                                       width: int, height: int) -> None:
    from mistral_common.protocol.instruct.request import ChatCompletionRequest

    image = prepare_image(png(width, height), SETTINGS)
    context = ImageContext("docs/Résumé.md", "img/chart 📈.png", alt="old", heading="Résultats 中文",
                           paragraph="Sales rose\nfrom 10 to 40.")
    for messages in (describe_messages(image), alt_messages(image, context, 125),
                     figure_messages("docs/a.md", "Intro", [(3, "The chart shows growth."), (4, "")],
                                     [("a.png", image), ("b.png", image)])):
        encoded = mistral_tokenizer.encode_chat_completion(ChatCompletionRequest(messages=messages))
        ours = prompt_tokens(messages, counter.count, lambda url: image.tokens)
        assert ours == len(encoded.tokens), (width, height)
        img_ids = {10, 12, 13}
        assert sum(t in img_ids for t in encoded.tokens) == image.tokens * sum(
            part.get("type") == "image_url" for m in messages if isinstance(m["content"], list) for part in m["content"])


def test_downscaling_keeps_the_aspect_and_sends_what_it_counts() -> None:
    image = prepare_image(png(4000, 1000), SETTINGS)
    assert image.original_size == (4000, 1000) and image.size == (1540, 385) and image.downscaled
    sent = decoded(image.data_uri)
    assert sent.size == (1540, 385) and sent.format == "PNG"
    assert image.tokens == image_tokens(4000, 1000, SETTINGS) == 14 * (55 + 1)
    assert fit_size(5000, 3, 1540) == (1540, 1)


def test_small_images_are_sent_as_they_are() -> None:
    data = png(64, 48)
    image = prepare_image(data, SETTINGS)
    assert image.mime == "image/png" and base64.b64decode(image.data_uri.split(",", 1)[1]) == data
    jpeg = encode(Image.new("RGB", (64, 48), "white"), "JPEG")
    assert prepare_image(jpeg, SETTINGS).mime == "image/jpeg"
    webp = encode(Image.new("RGB", (64, 48), "white"), "WEBP")
    assert prepare_image(webp, SETTINGS).data_uri.startswith("data:image/webp;base64,")


def test_large_jpeg_stays_jpeg_and_animated_gif_sends_its_first_frame() -> None:
    big = prepare_image(encode(Image.new("RGB", (3080, 1000), "white"), "JPEG"), SETTINGS)
    assert big.mime == "image/jpeg" and decoded(big.data_uri).size == (1540, 500)
    gif = prepare_image(animated_gif(40, 30), SETTINGS)
    assert gif.format == "GIF" and gif.mime == "image/png"
    first = decoded(gif.data_uri)
    assert first.size == (40, 30) and first.convert("RGB").getpixel((5, 5)) == (255, 0, 0)


def test_exif_orientation_is_applied() -> None:
    image = prepare_image(rotated_jpeg(60, 20), SETTINGS)
    assert image.original_size == (20, 60) and decoded(image.data_uri).size == (20, 60)


def test_svg_is_rasterised_when_self_contained() -> None:
    image = prepare_image(SVG_CHART.encode(), SETTINGS)
    assert image.format == "SVG" and image.size == (120, 80) and decoded(image.data_uri).size == (120, 80)
    external = SVG_CHART.replace("</svg>", '<image href="/etc/secret.png" width="5" height="5"/></svg>')
    with pytest.raises(ImageError, match="references other files"):
        prepare_image(external.encode(), SETTINGS)
    with pytest.raises(ImageError, match="references other files"):
        prepare_image(SVG_CHART.replace('fill="blue"', 'fill="url(file:///x.svg#p)"').encode(), SETTINGS)


@pytest.mark.parametrize(("data", "reason"), [
    (b"not an image at all", "not a readable image"),
    (png(50, 50)[:60], "could not be decoded|not a readable image"),
    (b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "not a readable image|could not be decoded"),
    (encode(Image.new("RGB", (10, 10)), "BMP"), "BMP images are not sent"),
    (b"", "not a readable image"),
])
def test_bad_files_are_errors_with_a_reason(data: bytes, reason: str) -> None:
    with pytest.raises(ImageError, match=reason):
        prepare_image(data, SETTINGS)


def test_too_many_pixels_is_refused_before_decoding() -> None:
    with pytest.raises(ImageError, match="too large"):
        prepare_image(png(200, 200), SETTINGS, max_pixels=10_000)


def test_other_image_settings_change_the_count() -> None:
    pixtral = ImageSettings(patch_size=16, max_image_size=1024, spatial_merge=1)
    assert image_tokens(1024, 512, pixtral) == 32 * 65
    assert prepare_image(png(2048, 100), pixtral).size == (1024, 50)


@pytest.mark.parametrize(("raw", "expected"), [
    ('"A bar chart of sales."', "A bar chart of sales."),
    ("Alt text: Image of a login screen", "A login screen"),
    ("```\nA diagram\nof parts\n```", "A diagram of parts"),
    ("**Bold** chart `x`", "Bold chart x"),
    ("Picture showing two boxes", "Two boxes"),
])
def test_clean_alt_text(raw: str, expected: str) -> None:
    assert clean_alt_text(raw, 125) == expected


def test_clean_alt_text_cuts_at_a_word_or_sentence() -> None:
    long = "A line chart of weekly sales. " + "It rises steadily from ten to forty units " * 5
    cut = clean_alt_text(long, 125)
    assert len(cut) <= 125 and cut == "A line chart of weekly sales."
    words = clean_alt_text("word " * 60, 40)
    assert len(words) <= 40 and not words.endswith(" ") and words.split() == ["word"] * len(words.split())


def test_test_images_are_generated_not_shipped(tmp_path: Path) -> None:
    path = tmp_path / "chart.png"
    path.write_bytes(png(10, 10))
    assert Image.open(path).size == (10, 10)
