"""The vision engine asks whatever backend the services hold, and reads each one's refusals.

A fake ``Backend`` answers, or fails as vLLM (HTTP) or the in-process Transformers backend
fail: the engine's error names what the user can do for *that* backend, a refused image request
is not an outage of the model, a server error is, and a model that reads no images is not asked
again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from lsp_server.cache import FindingsCache
from lsp_server.config import Settings
from lsp_server.core.secrets import SecretFilter
from lsp_server.engines.image_store import ImageStore
from lsp_server.engines.vision import IMAGE_FLAG, VisionEngine, VisionError, image_refusal
from lsp_server.model.backends.mistral_chat import bad_request
from lsp_server.model.client import ChatOptions, ModelError
from lsp_server.model.health import ModelHealth
from lsp_server.model.tokens import TokenCounter
from lsp_server.syntax.images import ImageRef, ImageScanner
from tests.imagegen import bar_chart

# What the in-process backend says for an image sent to a model without a vision encoder
# (model/backends/runtime.py), and what vLLM says with --limit-mm-per-prompt '{"image":0}'.
LOCAL_TEXT_ONLY = bad_request("the model (MistralForCausalLM) has no vision encoder: images need "
                              "Mistral-Small-3.2 in the Hugging Face layout")
VLLM_NO_IMAGES = ModelError("http", "At most 0 image(s) may be provided in one prompt.", 400)


class FakeBackend:
    """A ``Backend`` whose chat answers with ``answer`` or raises it; it records the requests."""

    def __init__(self, answer: str | ModelError) -> None:
        self.model = "m"
        self.answer = answer
        self.asked: list[Sequence[dict[str, Any]]] = []

    async def chat(self, messages: Sequence[dict[str, Any]], options: ChatOptions, **extra: Any) -> str:
        self.asked.append(messages)
        if isinstance(self.answer, ModelError):
            raise self.answer
        return self.answer

    async def aclose(self) -> None:
        return None


def engine_for(root: Path, fake: FakeBackend, **settings: Any) -> tuple[VisionEngine, ModelHealth]:
    config = Settings(**settings)
    secrets = SecretFilter(config.secret_globs)
    health = ModelHealth()
    images = ImageStore(config, secrets, lambda: [root])
    engine = VisionEngine(config, fake, health, FindingsCache(None), TokenCounter(), images,  # type: ignore[arg-type]
                          ImageScanner(), secrets)
    return engine, health


def chart_ref(root: Path) -> tuple[str, ImageRef]:
    (root / "chart.png").write_bytes(bar_chart([10, 20, 30, 40]))
    doc = root / "README.md"
    data = b"# Sales\n\n![](chart.png)\n"
    doc.write_bytes(data)
    return str(doc), ImageScanner().scan(data, "markdown").refs[0]


def test_refusals_are_read_in_each_backends_words() -> None:
    assert image_refusal(VLLM_NO_IMAGES.message) == (0, f"the model server does not accept images; start vLLM "
                                                        f"with {IMAGE_FLAG}")
    limit, reason = image_refusal(LOCAL_TEXT_ONLY.message, "transformers") or (1, "")
    assert limit is None and "local model reads no images" in reason and "Hugging Face layout" in reason
    assert "vLLM" not in reason
    assert image_refusal("the prompt has 9000 tokens; the model's context is 8192", "transformers") is None


@pytest.mark.parametrize(("backend", "error", "words"), [
    ("transformers", LOCAL_TEXT_ONLY, "local model reads no images"),
    ("vllm", VLLM_NO_IMAGES, IMAGE_FLAG),
])
def test_a_model_without_images_is_asked_once_and_is_no_outage(tmp_path: Path, backend: str, error: ModelError,
                                                                words: str) -> None:
    fake = FakeBackend(error)
    engine, health = engine_for(tmp_path, fake, backend=backend)
    path, ref = chart_ref(tmp_path)
    for _ in range(2):
        with pytest.raises(VisionError) as raised:
            asyncio.run(engine.describe(path, ref))
        assert words in str(raised.value)
    assert len(fake.asked) == 1  # the second hover knew: no request
    assert engine.image_limit() == 0 and health.state != "unavailable"  # the model is fine, it reads no images


def test_an_outage_is_recorded_and_a_slow_answer_is_not(tmp_path: Path) -> None:
    path, ref = chart_ref(tmp_path)
    slow, health = engine_for(tmp_path, FakeBackend(ModelError("timeout", "no answer within 60 s")))
    with pytest.raises(VisionError, match="no answer within"):
        asyncio.run(slow.describe(path, ref))
    assert health.state != "unavailable"
    down, health = engine_for(tmp_path, FakeBackend(ModelError("http", "Internal Server Error", 500)))
    with pytest.raises(VisionError, match="Internal Server Error"):
        asyncio.run(down.describe(path, ref))
    assert health.state == "unavailable"


def test_the_image_part_reaches_the_backend(tmp_path: Path) -> None:
    fake = FakeBackend("A bar chart rising from 10 to 40.")
    engine, health = engine_for(tmp_path, fake, backend="transformers")
    path, ref = chart_ref(tmp_path)
    described = asyncio.run(engine.describe(path, ref))
    assert described.text == "A bar chart rising from 10 to 40." and health.state == "ready"
    parts = fake.asked[0][-1]["content"]
    images = [part for part in parts if part["type"] == "image_url"]
    assert len(images) == 1 and images[0]["image_url"]["url"].startswith("data:image/png;base64,")
