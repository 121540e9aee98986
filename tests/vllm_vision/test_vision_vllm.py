"""Images against real vLLM: our token counts equal vLLM's, and the server's image requests are accepted."""

from __future__ import annotations

import base64
import io
import json
import os
import subprocess
import sys
import urllib.error
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types
from PIL import Image

from lsp_server.model.images import ImageSettings, image_tokens, prepare_image
from lsp_server.model.tokens import TokenCounter
from lsp_server.model.vision_prompts import ImageContext, alt_messages, describe_messages, figure_messages, prompt_tokens
from tests.e2e.conftest import capabilities, open_doc, stop_client
from tests.imagegen import SVG_CHART, animated_gif, bar_chart, encode, png, rotated_jpeg
from tests.vllm.conftest import MODEL, Vllm, chat_bodies, start_server

ROOT = Path(__file__).resolve().parents[2]
IMAGES = {
    "chart 320x200": bar_chart([10, 20, 30, 40]),
    "wide 4000x1000 (downscaled)": png(4000, 1000),
    "tall 600x3100 (downscaled)": png(600, 3100),
    "tiny 29x27": png(29, 27),
    "animated gif": animated_gif(64, 48),
    "jpeg 3080x1000 (downscaled)": encode(Image.new("RGB", (3080, 1000), "white"), "JPEG"),
    "rotated jpeg": rotated_jpeg(90, 30),
    "svg": SVG_CHART.encode(),
}


@pytest.fixture(scope="module")
def counter() -> TokenCounter:
    tokens = TokenCounter()
    tokens.load()
    assert tokens.exact
    return tokens


def url_tokens(url: str) -> int:
    """An image part's tokens, from the image the data URI holds."""
    with Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))) as image:
        return image_tokens(*image.size, ImageSettings())


def ask(vllm: Vllm, messages: list[dict[str, Any]]) -> dict[str, Any]:
    return vllm.post("/v1/chat/completions", {"model": MODEL, "messages": messages, "max_tokens": 1,
                                               "temperature": 0}, timeout=120)


@pytest.mark.parametrize("name", list(IMAGES))
def test_prompt_token_count_equals_vllms_usage(vision_vllm: Vllm, counter: TokenCounter, name: str) -> None:
    image = prepare_image(IMAGES[name], ImageSettings())
    context = ImageContext("docs/Résumé.md", "img/chart 📈.png", heading="Résultats 中文",
                           paragraph="Sales rose\nfrom 10 to 40.")
    for messages in (describe_messages(image), alt_messages(image, context, 125)):
        ours = prompt_tokens(messages, counter.count, lambda url: image.tokens)
        usage = ask(vision_vllm, messages)["usage"]
        assert usage["prompt_tokens"] == ours, (name, image.size, image.tokens)


def test_figure_request_with_the_servers_image_limit(vision_vllm: Vllm, counter: TokenCounter,
                                                     image_limit: int) -> None:
    first, second = (prepare_image(IMAGES[n], ImageSettings()) for n in ("chart 320x200", "wide 4000x1000 (downscaled)"))
    messages = figure_messages("docs/a.md", "Results", [(3, "The chart shows growth 😀."), (4, "")],
                               [("a.png", first), ("b.png", second)][:image_limit])
    ours = prompt_tokens(messages, counter.count, url_tokens)
    assert ask(vision_vllm, messages)["usage"]["prompt_tokens"] == ours
    too_many = figure_messages("docs/a.md", "Results", [(3, "x")], [("a.png", first)] * (image_limit + 1))
    with pytest.raises(urllib.error.HTTPError) as refused:
        ask(vision_vllm, too_many)
    assert refused.value.code == 400
    assert f"At most {image_limit} image(s) may be provided in one prompt" in refused.value.read().decode()


def test_check_reports_images_and_the_servers_limit(vision_vllm: Vllm, tmp_path: Path, image_limit: int) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MISTRAL_LSP_")}
    env.update({"MISTRAL_LSP_ENDPOINT": vision_vllm.base_url, "PYTHONPATH": str(ROOT)})
    done = subprocess.run([sys.executable, "-m", "lsp_server", "check", "--json", "--root", str(tmp_path)],
                          env=env, capture_output=True, text=True, timeout=120, check=False)
    report = json.loads(done.stdout)
    assert done.returncode == 0 and report["usable"] is True, done.stdout + done.stderr
    assert report["images"] is True and report["imageLimit"] == image_limit, report


async def test_hover_alt_text_and_figure_review_are_accepted(vision_vllm: Vllm, counter: TokenCounter,
                                                            tmp_path: Path) -> None:
    root = tmp_path / "ws"
    (root / "docs").mkdir(parents=True)
    (root / "docs" / "chart.png").write_bytes(bar_chart([10, 20, 30, 40]))
    (root / "docs" / "wide.png").write_bytes(png(4000, 1000))
    text = ("# Sales 😀\n\n![](docs/chart.png)\n\nThe chart shows sales falling every quarter.\n\n"
            "![Wide](docs/wide.png)\n")
    (root / "README.md").write_text(text, encoding="utf-8")
    mark = vision_vllm.log.mark()
    client, _ = await start_server(vision_vllm, root, capabilities("neovim@v0.11", inline=False),
                                   init_options={"review": {"temperature": 0.7, "maxTokens": 256},
                                                 "vision": {"maxTokens": 32}})
    try:
        uri = (root / "README.md").as_uri()
        open_doc(client, uri, text, "markdown")
        hover = await client.text_document_hover_async(types.HoverParams(
            text_document=types.TextDocumentIdentifier(uri=uri), position=types.Position(line=2, character=5)))
        assert hover is not None and "PNG, 320×200 px" in hover.contents.value, hover
        wide = await client.text_document_hover_async(types.HoverParams(
            text_document=types.TextDocumentIdentifier(uri=uri), position=types.Position(line=6, character=5)))
        assert wide is not None and "sent as 1540×385" in wide.contents.value, wide
        actions = await client.text_document_code_action_async(types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            range=types.Range(start=types.Position(line=2, character=0), end=types.Position(line=2, character=3)),
            context=types.CodeActionContext(diagnostics=[])))
        alt = [a for a in actions or [] if isinstance(a, types.CodeAction) and a.title == "Write alt text with AI"]
        assert len(alt) == 1
        resolved = await client.code_action_resolve_async(alt[0])
        if resolved.edit is not None:  # a random model may write nothing usable: then no edit, and a message
            edits = [e for ch in resolved.edit.document_changes or [] for e in ch.edits] or \
                resolved.edit.changes[uri]
            assert all(e.range.start == e.range.end == types.Position(line=2, character=2) for e in edits)
        await client.workspace_execute_command_async(types.ExecuteCommandParams(
            command="mistral-lsp.reviewFile", arguments=[uri]))
        piece = await vision_vllm.log.wait_for(mark, lambda p: len(p.statuses("/v1/chat/completions")) >= 4, 60)
    finally:
        await stop_client(client)
    assert [s for _, _, s in piece.statuses("/v1/chat/completions")] == [200, 200, 200, 200]
    assert piece.client_errors() == []
    bodies = [b for b in chat_bodies(piece) if any(isinstance(m["content"], list) for m in b["messages"])]
    assert len(bodies) == 4  # two hovers, one alt text, one figure section
    ids = piece.prompt_ids()
    for body in bodies:
        ours = prompt_tokens(body["messages"], counter.count, url_tokens)
        assert len(ids[body["_id"]]) == ours, body["_id"]
    review = [b for b in bodies if "response_format" in b]
    assert len(review) == 1 and review[0]["response_format"]["type"] == "json_schema"
