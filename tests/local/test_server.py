"""The language server with ``backend = "transformers"``: no model server, the model in its own process.

The same scenarios as the stand-in's and the real-vLLM tier's end-to-end tests where the answer
does not depend on scripted text: inline completions answered and well-formed in several
languages, a review (with the reviewer's tools) whose only errors are about the random model's answers, a completion cancelled
mid-generation ($/cancelRequest) with the device free right after, and a settings change that
does not reload the model. The server runs Mistral-Small-3.2's architecture
(``Mistral3ForConditionalGeneration``), tiny and random.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import pytest_asyncio
from lsprotocol import types
from pytest_lsp import LanguageClient

from tests.e2e.conftest import capabilities, inline_params, open_doc, server_env, start_client, stop_client
from tests.vllm.conftest import answer_errors
from tests.vllm.samples import PYTHON, REVIEW_CASES, after
from tests.vllm.test_completion import complete_every_case

pytestmark = pytest.mark.asyncio(loop_scope="module")

LOAD_WAIT = 240.0  # seconds: torch's import and the load, on a shared machine
OPTIONS: dict[str, Any] = {
    # short answers: the tiny model is quick, but the machine is shared
    "completion": {"maxTokensLine": 16, "maxTokensBlock": 32, "timeoutSeconds": 60},
    "review": {"maxTokens": 64, "timeoutSeconds": 120, "maxToolCalls": 2},
}


def local_env(model: Path, cache: Path, **extra: str) -> dict[str, str]:
    """The server's environment: the transformers backend on ``model``, no endpoint anywhere."""
    unused = SimpleNamespace(base_url="http://127.0.0.1:9/v1")  # nothing listens there
    return server_env(unused, cache, MISTRAL_LSP_BACKEND="transformers", MISTRAL_LSP_MODEL=str(model),
                      **extra)  # type: ignore[arg-type]


async def status(client: LanguageClient) -> dict[str, Any]:
    result = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="mistral-lsp.status", arguments=[]))
    return dict(result or {})


async def wait_ready(client: LanguageClient) -> dict[str, Any]:
    deadline = time.monotonic() + LOAD_WAIT
    current: dict[str, Any] = {}
    while time.monotonic() < deadline:
        current = await status(client)
        if current.get("state") in ("ready", "unavailable") and current.get("tokenizer") == "exact":
            break
        await asyncio.sleep(0.25)
    assert current.get("state") == "ready", f"the local model never became ready: {current}"
    return current


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def local(models: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Any]:
    root = tmp_path_factory.mktemp("local-server")
    env = local_env(models["mistral3"], root / ".cache")
    client, _ = await start_client(None, root / ".cache", capabilities("visual-studio-code@v1.65.2", inline=True),
                                   init_options=OPTIONS, root=root, env=env)  # type: ignore[arg-type]
    ready = await wait_ready(client)
    yield client, root, ready
    await stop_client(client)


async def test_the_server_reports_the_local_model(local: Any, models: dict[str, Path]) -> None:
    _, _, ready = local
    backend = ready["backend"]
    assert backend["backend"] == "transformers" and backend["model"] == str(models["mistral3"])
    assert backend["device"] == "cpu" and backend["dtype"] == "float32" and backend["tokenizer"] == "v11"
    assert backend["loadSeconds"] > 0
    assert ready["maxModelLen"] == 8192  # from the model's config: the completion budget uses it
    assert ready["servedModels"] == [str(models["mistral3"])]


async def test_inline_completions_answered_and_well_formed(local: Any) -> None:
    client, root, _ = local
    before = await status(client)
    asked = await complete_every_case(client, root)
    now = await status(client)
    assert now["errors"] == before["errors"], now
    assert now["modelCalls"] - before["modelCalls"] == asked, now
    # One generation per completion. The device thread counts a generation when it ends, which can
    # be just after the client got its answer (the cleaner closes the stream at the end of a block).
    deadline = time.monotonic() + 60
    while now["backend"]["generations"] - before["backend"]["generations"] < asked and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
        now = await status(client)
    assert now["backend"]["generations"] - before["backend"]["generations"] == asked, now["backend"]


async def test_a_review_runs_on_the_local_model(local: Any) -> None:
    client, root, _ = local
    before = (await status(client))["review"]
    answer_failures = 0
    for name, language, text in REVIEW_CASES[:3]:
        uri = (root / name).as_uri()
        open_doc(client, uri, text, language)
        result = await client.workspace_execute_command_async(
            types.ExecuteCommandParams(command="mistral-lsp.reviewFile", arguments=[uri]))
        assert result["reviewed"] is True, (name, result)
        # A random model's answer may be cut off by the short maxTokens: that unit's error is about
        # the answer; an error from the backend (load, generation, transport) fails the test.
        assert result["units"] >= 1 and answer_errors(result["errors"]), (name, result)
        answer_failures += len(result["errors"])
    review = (await status(client))["review"]
    assert review["errors"] - before["errors"] == answer_failures, review  # nothing failed besides those
    assert review["modelCalls"] - before["modelCalls"] >= 3, review


async def test_a_cancelled_completion_frees_the_device_at_once(local: Any) -> None:
    client, root, _ = local
    # a long multi-line allowance, without restarting (and without reloading the model)
    generations = (await status(client))["backend"]["generations"]
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings={"mistralLsp": {
        **OPTIONS, "completion": {**OPTIONS["completion"], "maxTokensBlock": 2048}}}))
    await asyncio.sleep(0.5)
    uri = (root / "cancel.py").as_uri()
    open_doc(client, uri, PYTHON, "python")
    line, character = after(PYTHON, "tag: str) -> list[Item]:\n        ")  # an empty body line: multi-line
    for attempt in range(3):
        msg_id = f"cancel-{attempt}"
        request = asyncio.ensure_future(client.protocol.send_request_async(
            types.TEXT_DOCUMENT_INLINE_COMPLETION, inline_params(uri, line, character), msg_id=msg_id))
        deadline = time.monotonic() + 60
        while not (await status(client))["backend"]["busy"]:
            assert time.monotonic() < deadline, "the completion never reached the device"
            await asyncio.sleep(0.02)
        client.cancel_request(types.CancelParams(id=msg_id))
        try:
            await asyncio.wait_for(request, 30)
        except Exception as exc:  # noqa: BLE001 - the cancelled error is what we want
            assert "cancel" in str(exc).lower() or "-32800" in str(exc), exc
        else:  # the cleaner ended the answer before the cancel arrived: again
            await client.workspace_execute_command_async(
                types.ExecuteCommandParams(command="mistral-lsp.clearCache", arguments=[]))
            continue
        deadline = time.monotonic() + 30
        while (now := await status(client))["backend"]["busy"] or now["backend"]["lastFinish"] != "cancelled":
            assert time.monotonic() < deadline, f"the generation went on after the cancel: {now['backend']}"
            await asyncio.sleep(0.02)
        backend = now["backend"]
        assert 0 < backend["lastTokens"] < 2048, backend
        assert backend["loadSeconds"] == (await status(client))["backend"]["loadSeconds"]  # not reloaded
        assert backend["generations"] > generations
        return
    pytest.fail("the completion finished before it could be cancelled, three times")


async def test_an_image_hover_runs_on_the_local_vision_model(local: Any) -> None:
    """The vision engine asks the backend the services hold: the image reaches Mistral3's vision
    encoder in process, and the prompt it encodes to is the length the hover says it counted."""
    from tests.imagegen import bar_chart
    from tests.tiny_models import IMAGE

    client, root, _ = local
    # the tiny model's image encoder (16-pixel patches, at most 64 pixels), and a short answer
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings={"mistralLsp": {
        **OPTIONS, "vision": {"patchSize": IMAGE["image_patch_size"], "maxImageSize": IMAGE["max_image_size"],
                              "spatialMergeSize": IMAGE["spatial_merge_size"], "maxTokens": 24}}}))
    await asyncio.sleep(0.5)
    (root / "docs").mkdir(exist_ok=True)
    (root / "docs" / "chart.png").write_bytes(bar_chart([10, 20, 30, 40]))
    uri = (root / "CHART.md").as_uri()
    open_doc(client, uri, "# Sales\n\n![Sales by quarter](docs/chart.png)\n", "markdown")
    before = (await status(client))["backend"]
    hover = await client.text_document_hover_async(types.HoverParams(
        text_document=types.TextDocumentIdentifier(uri=uri), position=types.Position(line=2, character=4)))
    assert hover is not None and isinstance(hover.contents, types.MarkupContent)
    text = hover.contents.value
    backend = (await status(client))["backend"]
    assert backend["generations"] == before["generations"] + 1, (text, backend)
    assert "sent as 64×40" in text, text  # downscaled to the encoder's largest side before sending
    counted = re.search(r"\(([\d,]+) in the request\)", text)
    assert counted is not None, text  # described (the random model's words), not refused
    assert backend["lastPromptTokens"] == int(counted.group(1).replace(",", "")), (text, backend)
