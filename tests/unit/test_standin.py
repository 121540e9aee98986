"""The vLLM stand-in, driven by the real openai SDK as mistral-lsp drives vLLM."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import openai
import pytest

from tests.standin import DEFAULT_MODEL, Reply, StandIn

REPO = Path(__file__).resolve().parents[2]
MESSAGES = [{"role": "user", "content": "complete this"}]
PREFILL = [{"role": "user", "content": "complete this"}, {"role": "assistant", "content": "def f("}]


@pytest.fixture
def standin() -> Iterator[StandIn]:
    with StandIn() as server:
        yield server


@pytest.fixture
async def client(standin: StandIn) -> AsyncIterator[openai.AsyncOpenAI]:
    oai = openai.AsyncOpenAI(base_url=standin.base_url, api_key="x", max_retries=0, timeout=5.0)
    yield oai
    await oai.close()


async def _stream(client: openai.AsyncOpenAI, **kwargs: object) -> list:
    kwargs.setdefault("messages", MESSAGES)
    stream = await client.chat.completions.create(model=DEFAULT_MODEL, stream=True, **kwargs)
    return [chunk async for chunk in stream]


def _content(chunks: list) -> str:
    return "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)


def _get(url: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.status, response.read()


# -- happy paths ---------------------------------------------------------------


async def test_stream_arrives_in_chunks(standin: StandIn, client: openai.AsyncOpenAI) -> None:
    text = "def add(a, b):\n    return a + b\n"
    standin.script(Reply(text=text))
    chunks = await _stream(client)
    assert chunks[0].choices[0].delta.role == "assistant"
    assert len([c for c in chunks if c.choices and c.choices[0].delta.content]) > 5
    assert _content(chunks) == text
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert chunks[0].id.startswith("chatcmpl-") and chunks[0].object == "chat.completion.chunk"


async def test_explicit_chunks_and_usage(standin: StandIn, client: openai.AsyncOpenAI) -> None:
    standin.script(Reply(chunks=["ab", "cd", "ef"]))
    chunks = await _stream(client, stream_options={"include_usage": True})
    assert [c.choices[0].delta.content for c in chunks if c.choices][1:4] == ["ab", "cd", "ef"]
    usage_chunk = chunks[-1]
    assert usage_chunk.choices == []
    assert usage_chunk.usage.completion_tokens >= 1 and usage_chunk.usage.prompt_tokens >= 1
    assert usage_chunk.usage.total_tokens == usage_chunk.usage.prompt_tokens + usage_chunk.usage.completion_tokens


async def test_no_usage_chunk_by_default(standin: StandIn, client: openai.AsyncOpenAI) -> None:
    standin.script(Reply(text="x = 1"))
    chunks = await _stream(client)
    assert all(c.choices for c in chunks) and all(c.usage is None for c in chunks)


async def test_stop_and_max_tokens(standin: StandIn, client: openai.AsyncOpenAI) -> None:
    standin.script(Reply(text="line one\n\nline two"), Reply(text="x" * 100))
    chunks = await _stream(client, stop=["\n\n", "zzz"])
    assert _content(chunks) == "line one"
    assert chunks[-1].choices[0].finish_reason == "stop"
    result = await client.chat.completions.create(model=DEFAULT_MODEL, messages=MESSAGES, max_tokens=5)
    assert result.choices[0].message.content == "x" * 20
    assert result.choices[0].finish_reason == "length"


async def test_non_stream(standin: StandIn, client: openai.AsyncOpenAI) -> None:
    standin.script(Reply(text="return 42"))
    result = await client.chat.completions.create(model=DEFAULT_MODEL, messages=PREFILL, extra_body={
        "continue_final_message": True, "add_generation_prompt": False})
    assert result.object == "chat.completion"
    assert result.choices[0].message.role == "assistant"
    assert result.choices[0].message.content == "return 42"
    assert result.choices[0].finish_reason == "stop"
    assert result.usage.completion_tokens == 3
    body = standin.chat_requests()[0].body
    assert body["continue_final_message"] is True and body["add_generation_prompt"] is False


async def test_tool_calls(standin: StandIn, client: openai.AsyncOpenAI) -> None:
    calls = [{"name": "report", "arguments": {"line": 3, "message": "unused import"}}]
    standin.script(Reply(tool_calls=calls), Reply(tool_calls=calls))
    result = await client.chat.completions.create(model=DEFAULT_MODEL, messages=MESSAGES)
    choice = result.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.tool_calls[0].function.name == "report"
    assert json.loads(choice.message.tool_calls[0].function.arguments) == calls[0]["arguments"]
    assert len(choice.message.tool_calls[0].id) == 9

    chunks = await _stream(client)
    name, args = "", ""
    for chunk in chunks:
        for call in (chunk.choices[0].delta.tool_calls or []) if chunk.choices else []:
            name += call.function.name or ""
            args += call.function.arguments or ""
    assert name == "report" and json.loads(args) == calls[0]["arguments"]
    assert chunks[-1].choices[0].finish_reason == "tool_calls"


async def test_responder_and_default(standin: StandIn, client: openai.AsyncOpenAI) -> None:
    standin.default = Reply(text="default")
    result = await client.chat.completions.create(model=DEFAULT_MODEL, messages=MESSAGES)
    assert result.choices[0].message.content == "default"
    standin.responder = lambda body: Reply(text=body["messages"][-1]["content"].upper())
    result = await client.chat.completions.create(model=DEFAULT_MODEL, messages=MESSAGES)
    assert result.choices[0].message.content == "COMPLETE THIS"
    standin.script(Reply(text="queued first"))
    result = await client.chat.completions.create(model=DEFAULT_MODEL, messages=MESSAGES)
    assert result.choices[0].message.content == "queued first"


async def test_completions_endpoint(standin: StandIn, client: openai.AsyncOpenAI) -> None:
    standin.script(Reply(text="pass\n"), Reply(text="abc"))
    result = await client.completions.create(model=DEFAULT_MODEL, prompt=[1, 2, 3], max_tokens=10)
    assert result.choices[0].text == "pass\n"
    stream = await client.completions.create(model=DEFAULT_MODEL, prompt="x", stream=True)
    assert "".join([c.choices[0].text async for c in stream]) == "abc"


# -- validation ----------------------------------------------------------------


async def test_error_mode(standin: StandIn, client: openai.AsyncOpenAI) -> None:
    standin.script(Reply(mode="error", error_message="engine dead"), Reply(mode="error", status=503))
    with pytest.raises(openai.InternalServerError, match="engine dead") as info:
        await client.chat.completions.create(model=DEFAULT_MODEL, messages=MESSAGES)
    assert info.value.body["type"] == "InternalServerError" and info.value.body["code"] == 500
    with pytest.raises(openai.APIStatusError) as info:
        await _stream(client)
    assert info.value.status_code == 503
    assert [r.status for r in standin.chat_requests()] == [500, 503]


async def test_unknown_model_is_404(client: openai.AsyncOpenAI) -> None:
    with pytest.raises(openai.NotFoundError, match="The model `codestral` does not exist."):
        await client.chat.completions.create(model="codestral", messages=MESSAGES)


async def test_continue_final_message_validation(standin: StandIn, client: openai.AsyncOpenAI) -> None:
    with pytest.raises(openai.BadRequestError, match="continue_final_message"):
        await client.chat.completions.create(model=DEFAULT_MODEL, messages=PREFILL, extra_body={
            "continue_final_message": True, "add_generation_prompt": True})
    with pytest.raises(openai.BadRequestError, match="assistant"):
        await client.chat.completions.create(model=DEFAULT_MODEL, messages=MESSAGES, extra_body={
            "continue_final_message": True, "add_generation_prompt": False})
    assert standin.pending_replies == 0 and [r.status for r in standin.chat_requests()] == [400, 400]


async def test_other_validation(client: openai.AsyncOpenAI) -> None:
    with pytest.raises(openai.BadRequestError, match="json_schema"):
        await client.chat.completions.create(model=DEFAULT_MODEL, messages=MESSAGES,
                                             response_format={"type": "json_schema"})  # type: ignore[arg-type]
    with pytest.raises(openai.BadRequestError, match="messages"):
        await client.chat.completions.create(model=DEFAULT_MODEL, messages=[])


async def test_priority_needs_priority_scheduling(standin: StandIn, client: openai.AsyncOpenAI) -> None:
    with pytest.raises(openai.BadRequestError, match="Priority scheduling is not enabled"):
        await client.chat.completions.create(model=DEFAULT_MODEL, messages=MESSAGES, extra_body={"priority": 1})
    result = await client.chat.completions.create(model=DEFAULT_MODEL, messages=MESSAGES, extra_body={"priority": 0})
    assert result.choices[0].finish_reason == "stop"
    with StandIn(scheduling_priority=True) as prio:
        async with openai.AsyncOpenAI(base_url=prio.base_url, api_key="x", max_retries=0) as other:
            await other.chat.completions.create(model=DEFAULT_MODEL, messages=MESSAGES, extra_body={"priority": -5})


async def test_context_length(client: openai.AsyncOpenAI) -> None:
    with pytest.raises(openai.BadRequestError, match="maximum context length is 32768"):
        await client.chat.completions.create(model=DEFAULT_MODEL, messages=MESSAGES, max_tokens=40000)


# -- failures ------------------------------------------------------------------


async def test_disconnect_mode_raises(standin: StandIn, client: openai.AsyncOpenAI) -> None:
    standin.script(Reply(text="a b c d e f g h", mode="disconnect", disconnect_after=2),
                   Reply(mode="disconnect"))
    received: list[str] = []
    with pytest.raises(openai.APIConnectionError):
        stream = await client.chat.completions.create(model=DEFAULT_MODEL, messages=MESSAGES, stream=True)
        async for chunk in stream:
            received.append(chunk.choices[0].delta.content or "")
    assert "".join(received) == "a b"
    with pytest.raises(openai.APIConnectionError):
        await client.chat.completions.create(model=DEFAULT_MODEL, messages=MESSAGES)
    records = standin.chat_requests()
    assert not any(r.completed or r.disconnected for r in records)


async def test_garbage_mode_raises(standin: StandIn, client: openai.AsyncOpenAI) -> None:
    standin.script(Reply(text="abc", mode="garbage"), Reply(text="abc", mode="garbage"))
    with pytest.raises(ValueError):  # the SDK's SSE decoder raises json.JSONDecodeError
        await _stream(client)
    with pytest.raises(ValueError):
        await client.chat.completions.create(model=DEFAULT_MODEL, messages=MESSAGES)


async def test_stream_close_is_seen_before_the_stream_would_end(standin: StandIn, client: openai.AsyncOpenAI) -> None:
    standin.script(Reply(text="word " * 100, chunk_delay=0.05))
    stream = await client.chat.completions.create(model=DEFAULT_MODEL, messages=MESSAGES, stream=True)
    seen = 0
    async for _ in stream:
        seen += 1
        if seen == 3:  # the role chunk and two content chunks
            break
    closed_at = time.monotonic()
    await stream.close()
    assert await standin.await_for(lambda rs: rs[-1].disconnected, timeout=1.0)
    record = standin.chat_requests()[-1]
    assert not record.completed and record.status == 200
    # seen while the stream still had ~4.8 s to go (100 chunks, 50 ms apart), not at its end
    assert record.disconnected_at is not None and closed_at <= record.disconnected_at < record.received_at + 4.0
    assert record.ended_at is not None


async def test_cancel_during_first_token_delay(standin: StandIn, client: openai.AsyncOpenAI) -> None:
    standin.script(Reply(text="late", first_token_delay=5.0))

    async def consume() -> str:
        return _content(await _stream(client))

    task = asyncio.create_task(consume())
    assert await standin.await_for(lambda rs: len(rs) == 1)
    await asyncio.sleep(0.05)
    cancelled_at = time.monotonic()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await standin.await_for(lambda rs: rs[-1].disconnected, timeout=1.0)
    record = standin.requests[-1]
    # seen during the first-token delay (5 s), not when the token was due
    assert record.disconnected_at is not None and cancelled_at <= record.disconnected_at < record.received_at + 4.0
    assert standin.in_flight == 0


async def test_hang_until_client_timeout(standin: StandIn, client: openai.AsyncOpenAI) -> None:
    standin.script(Reply(mode="hang"))
    with pytest.raises(openai.APITimeoutError):
        await client.with_options(timeout=0.2).chat.completions.create(model=DEFAULT_MODEL, messages=MESSAGES)
    assert await standin.await_for(lambda rs: rs[-1].disconnected, timeout=1.0)


async def test_set_down_refuses_then_recovers(standin: StandIn, client: openai.AsyncOpenAI) -> None:
    await client.chat.completions.create(model=DEFAULT_MODEL, messages=MESSAGES)  # a pooled keep-alive connection
    base_url = standin.base_url
    standin.set_down(True)
    with pytest.raises(openai.APIConnectionError):
        await client.chat.completions.create(model=DEFAULT_MODEL, messages=MESSAGES)
    assert len(standin.chat_requests()) == 1
    standin.set_down(False)
    assert standin.base_url == base_url
    standin.script(Reply(text="back"))
    result = await client.chat.completions.create(model=DEFAULT_MODEL, messages=MESSAGES)
    assert result.choices[0].message.content == "back"


# -- other endpoints and plumbing -------------------------------------------------


async def test_models_lists_max_model_len(standin: StandIn, client: openai.AsyncOpenAI) -> None:
    models = await client.models.list()
    assert [m.id for m in models.data] == [DEFAULT_MODEL]
    assert models.data[0].model_extra["max_model_len"] == 32768
    assert models.data[0].owned_by == "vllm"
    record = standin.requests[0]
    assert (record.method, record.path, record.body, record.completed) == ("GET", "/v1/models", None, True)


def test_health_version_metrics_and_unknown_paths(standin: StandIn) -> None:
    root = standin.base_url.removesuffix("/v1")
    assert _get(root + "/health") == (200, b"")
    assert json.loads(_get(root + "/version")[1])["version"]
    assert b"vllm:num_requests_running{" in _get(root + "/metrics")[1]
    with pytest.raises(urllib.error.HTTPError) as info:
        _get(root + "/nope")
    assert info.value.code == 404
    assert [r.path for r in standin.requests] == ["/health", "/version", "/metrics", "/nope"]


def test_metrics_count_in_flight_requests(standin: StandIn) -> None:
    standin.script(Reply(text="slow", first_token_delay=0.5))
    root = standin.base_url.removesuffix("/v1")

    def post() -> None:
        data = json.dumps({"model": DEFAULT_MODEL, "messages": MESSAGES}).encode()
        request = urllib.request.Request(standin.base_url + "/chat/completions", data=data,
                                         headers={"Content-Type": "application/json"})
        urllib.request.urlopen(request, timeout=5).read()

    worker = threading.Thread(target=post)
    worker.start()
    assert standin.wait_for(lambda rs: len(rs) == 1)
    time.sleep(0.05)
    assert b"vllm:num_requests_running" in _get(root + "/metrics")[1]
    assert 'model_name="' + DEFAULT_MODEL + '"} 1.0' in _get(root + "/metrics")[1].decode()
    worker.join()
    assert standin.chat_requests()[0].completed and standin.max_in_flight == 1


def test_reset_clears_everything(standin: StandIn) -> None:
    standin.script(Reply(text="a"))
    standin.responder = lambda body: Reply()
    standin.default = Reply(text="b")
    _get(standin.base_url.removesuffix("/v1") + "/health")
    standin.reset()
    assert standin.requests == [] and standin.pending_replies == 0
    assert standin.responder is None and standin.default == Reply()


def test_reply_rejects_unknown_mode() -> None:
    with pytest.raises(ValueError):
        Reply(mode="explode")


def test_standalone_module_prints_base_url() -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.standin", "--port", "0", "--text", "hello there", "--delay", "0.001"],
        cwd=REPO, env=env, stdout=subprocess.PIPE, text=True,
    )
    try:
        base_url = proc.stdout.readline().strip()
        assert base_url.startswith("http://127.0.0.1:") and base_url.endswith("/v1")
        client = openai.OpenAI(base_url=base_url, api_key="x", max_retries=0, timeout=5)
        result = client.chat.completions.create(model=DEFAULT_MODEL, messages=MESSAGES)
        assert result.choices[0].message.content == "hello there"
        client.close()
    finally:
        proc.terminate()
        assert proc.wait(timeout=5) == 0
