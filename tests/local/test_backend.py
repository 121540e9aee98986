"""The Transformers backend in process: loading, streaming, schemas, tool calls, cancellation, priority.

One backend per model, shared by the module (loading is the slow part). Greedy decoding is
deterministic, so a test can generate once and then ask for the same text again with a stop
sequence taken from it.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import pytest_asyncio

from lsp_server.index.tools import TOOL_SCHEMAS
from lsp_server.model.backends.transformers import TransformersBackend
from lsp_server.model.client import ChatOptions, ModelError
from lsp_server.model.findings import FINDINGS_SCHEMA, response_format

pytestmark = pytest.mark.asyncio(loop_scope="module")

WAIT = 60.0  # seconds; generous, the machine is shared
COMPLETION = [
    {"role": "system", "content": "You complete code."},
    {"role": "user", "content": "Complete the function.\n\ndef mean(values):\n    <CURSOR>"},
    {"role": "assistant", "content": "```python\ndef mean(values):\n    "},
]
NO_ARGS_TOOL = {"type": "function", "function": {
    "name": "ping", "description": "Check the connection.", "strict": True,
    "parameters": {"type": "object", "properties": {}, "additionalProperties": False}}}
# Every value bounded: whatever the weights, a schema-valid answer ends within a few tokens.
VERDICT_SCHEMA = {"type": "object", "properties": {
    "verdict": {"type": "string", "enum": ["ok", "bug", "style"]}, "sure": {"type": "boolean"}},
    "required": ["verdict", "sure"], "additionalProperties": False}


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def text_backend(models: dict[str, Path]) -> AsyncIterator[TransformersBackend]:
    backend = TransformersBackend(str(models["text"]))
    await backend.models()
    yield backend
    await backend.aclose()


async def stream(backend: TransformersBackend, options: ChatOptions, messages: list[dict[str, Any]] = COMPLETION) -> str:
    async with backend.stream_chat(messages, options) as deltas:
        return "".join([d async for d in deltas])


async def until(predicate: Any, timeout: float = WAIT) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.01)
    return True


async def test_loads_once_on_the_cpu_in_float32(text_backend: TransformersBackend) -> None:
    (info,) = await text_backend.models()
    assert info.max_model_len == 8192
    described = text_backend.describe()
    assert described["device"] == "cpu" and described["dtype"] == "float32" and described["tokenizer"] == "v11"
    assert text_backend.load_seconds is not None and text_backend.load_seconds > 0
    await text_backend.models()
    assert text_backend.describe()["loadSeconds"] == described["loadSeconds"]  # loaded once


async def test_streams_the_continuation_of_the_prefill_and_honours_stop(text_backend: TransformersBackend) -> None:
    greedy = ChatOptions(max_tokens=24, temperature=0.0, prefill=True)
    whole = await stream(text_backend, greedy)
    assert whole and text_backend.stats.last_finish in ("length", "stop")
    assert "[INST]" not in whole and "</s>" not in whole and "<s>" not in whole
    assert await stream(text_backend, greedy) == whole  # greedy: deterministic
    cut_at = len(whole) // 2
    stop = whole[cut_at:cut_at + 3]
    cut = await stream(text_backend, ChatOptions(max_tokens=24, temperature=0.0, prefill=True, stop=(stop,)))
    assert cut == whole[: whole.index(stop)] and text_backend.stats.last_finish == "stop"


async def test_sampling_with_a_seed_is_repeatable(text_backend: TransformersBackend) -> None:
    options = ChatOptions(max_tokens=12, temperature=0.9, prefill=True, seed=7)
    assert await stream(text_backend, options) == await stream(text_backend, options)


async def test_a_bounded_schema_gives_valid_json_even_from_random_weights(text_backend: TransformersBackend) -> None:
    fmt = {"type": "json_schema", "json_schema": {"name": "verdict", "schema": VERDICT_SCHEMA, "strict": True}}
    for code in ("x = 1", "def f(a):\n    return a / 0", "for i in range(10): print(i)", "fn main() {}"):
        for temperature in (0.0, 1.0):
            options = ChatOptions(max_tokens=48, temperature=temperature, seed=1)
            text = await text_backend.chat([{"role": "user", "content": f"Judge:\n{code}"}], options,
                                           response_format=fmt)
            assert text_backend.stats.last_finish == "stop", text
            jsonschema.validate(json.loads(text), VERDICT_SCHEMA)


async def test_review_answers_follow_the_findings_schema_token_by_token(text_backend: TransformersBackend) -> None:
    """Under the findings schema every token obeys the grammar; the answers that close validate.

    Random weights never close a free string (``quote``, ``message``), so an answer that opens a
    finding runs to ``max_tokens``; one that answers ``[]`` closes. Both kinds are checked.
    """
    import llguidance

    chat = (await text_backend.load()).chat
    finishes = []
    for code in ("x = 1", "def f(a):\n    return a / 0", "class A:\n    pass", "let x = 1;\nconsole.log(x);"):
        messages = [{"role": "system", "content": "You review code."},
                    {"role": "user", "content": f"Review this code and answer with the findings JSON:\n{code}"}]
        grammar = chat.encode(messages, response_format=response_format()).grammar
        for temperature in (0.0, 1.0):
            options = ChatOptions(max_tokens=48, temperature=temperature, seed=2)
            text = await text_backend.chat(messages, options, response_format=response_format())
            # An independent matcher over the same grammar accepts the answer: it was constrained
            # (a random model's free text fails at its first token).
            matcher = llguidance.LLMatcher(chat.llg_tokenizer(), grammar)
            tokens = list(chat.raw.encode(text, bos=False, eos=False))
            assert all(matcher.consume_token(t) for t in tokens), (text, matcher.get_error())
            assert text.lstrip().startswith("{")
            finishes.append(text_backend.stats.last_finish)
            if text_backend.stats.last_finish == "stop":
                jsonschema.validate(json.loads(text), FINDINGS_SCHEMA)
            else:
                assert text_backend.stats.last_finish == "length"
    assert "stop" in finishes, f"no review answer closed its JSON: {finishes}"


async def test_a_tool_call_round_trip(text_backend: TransformersBackend) -> None:
    tools = [NO_ARGS_TOOL, *TOOL_SCHEMAS]
    ask = [{"role": "user", "content": "Is the server up? Use the ping tool."}]
    turn = await text_backend.chat_turn(ask, ChatOptions(max_tokens=32, temperature=0.0), tools=tools,
                                        tool_choice={"type": "function", "function": {"name": "ping"}},
                                        parallel_tool_calls=False)
    assert len(turn.tool_calls) == 1, turn
    call = turn.tool_calls[0]
    assert call.name == "ping" and json.loads(call.arguments) == {} and len(call.id) == 9
    convo = [*ask,
             {"role": "assistant", "content": turn.content or None, "tool_calls": [
                 {"id": call.id, "type": "function", "function": {"name": call.name, "arguments": call.arguments}}]},
             {"role": "tool", "tool_call_id": call.id, "name": call.name, "content": json.dumps({"up": True})}]
    answer = await text_backend.chat_turn(convo, ChatOptions(max_tokens=16, temperature=0.0), tools=tools,
                                          tool_choice="none")
    assert answer.tool_calls == () and text_backend.stats.last_finish in ("stop", "length")
    offered = await text_backend.chat_turn(ask, ChatOptions(max_tokens=16, temperature=0.0), tools=tools,
                                           tool_choice="auto")
    for extra in offered.tool_calls:  # a random model rarely calls, but any call it makes parses
        assert extra.name and isinstance(json.loads(extra.arguments), dict)


async def test_leaving_a_stream_stops_the_generation_within_a_step(text_backend: TransformersBackend) -> None:
    limit = 4000
    options = ChatOptions(max_tokens=limit, temperature=1.0, prefill=True, seed=3, timeout_s=WAIT)
    seen = 0
    async with text_backend.stream_chat(COMPLETION, options) as deltas:
        async for _ in deltas:
            seen += 1
            if seen == 3:
                break
    assert await until(lambda: not text_backend.busy and text_backend.stats.last_finish == "cancelled")
    assert 3 <= text_backend.stats.last_tokens < limit
    started = time.monotonic()
    assert await stream(text_backend, ChatOptions(max_tokens=2, temperature=0.0, prefill=True)) is not None
    assert text_backend.stats.last_tokens <= 2 and time.monotonic() - started < WAIT


async def test_cancelling_the_awaiting_task_stops_a_chat(text_backend: TransformersBackend) -> None:
    limit = 4000
    task = asyncio.create_task(text_backend.chat([{"role": "user", "content": "Write a long story."}],
                                                 ChatOptions(max_tokens=limit, temperature=1.0, seed=5,
                                                             timeout_s=WAIT)))
    assert await until(lambda: text_backend.busy)
    await asyncio.sleep(0.2)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await until(lambda: not text_backend.busy and text_backend.stats.last_finish == "cancelled")
    assert 0 < text_backend.stats.last_tokens < limit


async def test_a_waiting_completion_takes_the_device_from_a_review(text_backend: TransformersBackend) -> None:
    preempted = text_backend.stats.preemptions
    review = asyncio.create_task(text_backend.chat([{"role": "user", "content": "Review everything at length."}],
                                                   ChatOptions(max_tokens=160, temperature=1.0, seed=11,
                                                               timeout_s=WAIT * 4)))
    assert await until(lambda: text_backend.busy)
    await asyncio.sleep(0.2)
    completion = await stream(text_backend, ChatOptions(max_tokens=4, temperature=0.0, prefill=True))
    assert completion is not None and not review.done(), "the completion waited for the whole review"
    text = await asyncio.wait_for(review, WAIT * 4)
    assert isinstance(text, str)
    assert text_backend.stats.preemptions > preempted


async def test_a_prompt_over_the_context_is_refused_like_vllm(text_backend: TransformersBackend) -> None:
    long = [{"role": "user", "content": "word " * 9000}]
    with pytest.raises(ModelError) as info:
        await text_backend.chat(long, ChatOptions(max_tokens=4, temperature=0.0))
    assert info.value.status == 400 and "context" in info.value.message


async def test_the_mistral_layout_gives_the_same_answers(text_backend: TransformersBackend,
                                                        models: dict[str, Path]) -> None:
    native = TransformersBackend(str(models["native"]))
    try:
        await native.models()  # a stream waits for a load at most its timeout
        options = ChatOptions(max_tokens=16, temperature=0.0, prefill=True)
        assert await stream(native, options) == await stream(text_backend, options)
    finally:
        await native.aclose()


async def test_mistral_small_3_2s_architecture_loads_and_answers(models: dict[str, Path]) -> None:
    backend = TransformersBackend(str(models["mistral3"]), device="cpu", dtype="float32")
    try:
        (info,) = await backend.models()
        assert info.max_model_len == 8192
        assert type(backend.runtime.model).__name__ == "Mistral3ForConditionalGeneration"
        assert await stream(backend, ChatOptions(max_tokens=8, temperature=0.0, prefill=True))
        text = await backend.chat([{"role": "user", "content": "Review: x = 1"}],
                                  ChatOptions(max_tokens=32, temperature=0.0), response_format=response_format())
        assert text.lstrip().startswith("{")
    finally:
        await backend.aclose()


def image_part(width: int, height: int, seed: int) -> dict[str, Any]:
    """An OpenAI-style image content part: a generated PNG as a data URL."""
    import base64
    import io

    import numpy as np
    from PIL import Image

    pixels = (np.random.default_rng(seed).random((height, width, 3)) * 255).astype("uint8")
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return {"type": "image_url", "image_url": {"url": "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()}}


async def test_images_in_the_messages_reach_the_vision_encoder(models: dict[str, Path]) -> None:
    backend = TransformersBackend(str(models["mistral3"]))
    try:
        runtime = await backend.load()
        seen: list[tuple[tuple[int, ...], list[list[int]]]] = []

        def spy(module: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
            pixel_values = kwargs.get("pixel_values", args[0] if args else None)
            sizes = kwargs.get("image_sizes", args[1] if len(args) > 1 else None)
            seen.append((tuple(pixel_values.shape), [list(map(int, s)) for s in sizes]))

        tower = runtime.model.model.vision_tower  # Mistral3Model's Pixtral encoder
        hook = tower.register_forward_pre_hook(spy, with_kwargs=True)
        messages = [{"role": "user", "content": [{"type": "text", "text": "What differs?"}, image_part(90, 40, 1),
                                                 image_part(30, 60, 2)]}]
        text = await backend.chat(messages, ChatOptions(max_tokens=6, temperature=0.0))
        assert isinstance(text, str) and backend.stats.last_tokens >= 1
        assert seen, "the vision encoder never ran"
        shape, sizes = seen[0]
        assert shape[:2] == (2, 3) and len(sizes) == 2 and sizes[0] != sizes[1]  # two images, padded to one size
        assert all(h % 16 == 0 and w % 16 == 0 and h <= 64 and w <= 64 for h, w in sizes)
        hook.remove()
    finally:
        await backend.aclose()


async def test_an_image_for_a_text_model_is_a_400(text_backend: TransformersBackend) -> None:
    messages = [{"role": "user", "content": [{"type": "text", "text": "Describe"}, image_part(32, 32, 3)]}]
    with pytest.raises(ModelError) as info:
        await text_backend.chat(messages, ChatOptions(max_tokens=4, temperature=0.0))
    assert info.value.status == 400


async def test_a_model_that_does_not_fit_is_refused_with_the_numbers(models: dict[str, Path],
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    import lsp_server.model.backends.weights as weights

    monkeypatch.setattr(weights, "free_bytes", lambda placement: 1024 * 1024)
    backend = TransformersBackend(str(models["text"]))
    try:
        with pytest.raises(ModelError) as info:
            await backend.models()
        assert info.value.kind == "model-missing"
        assert "does not fit" in info.value.message and "GB" in info.value.message
        with pytest.raises(ModelError, match="does not fit"):  # every later request says the same at once
            await backend.chat([{"role": "user", "content": "x"}], ChatOptions(max_tokens=2, temperature=0.0))
    finally:
        await backend.aclose()


async def test_a_stream_does_not_wait_long_for_a_load(models: dict[str, Path]) -> None:
    backend = TransformersBackend(str(models["text"]))
    try:
        with pytest.raises(ModelError, match="still loading"):
            await stream(backend, ChatOptions(max_tokens=2, temperature=0.0, prefill=True, timeout_s=0.01))
        await backend.models()  # the load went on meanwhile
        assert await stream(backend, ChatOptions(max_tokens=2, temperature=0.0, prefill=True)) is not None
    finally:
        await backend.aclose()


async def test_a_missing_folder_is_named(tmp_path: Path) -> None:
    backend = TransformersBackend(str(tmp_path / "no-such-model"))
    try:
        with pytest.raises(ModelError, match="does not exist"):
            await backend.models()
    finally:
        await backend.aclose()
