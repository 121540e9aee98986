"""ModelClient against the vLLM stand-in: the streamed completion path (its own HTTP on the
SDK's httpx client), its error mapping, cancellation and connection reuse; and the SDK path."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import pytest

from lsp_server.model.client import ChatOptions, ModelClient, ModelError, _deltas, _sse_data
from tests.standin import DEFAULT_MODEL, Reply, StandIn

MESSAGES = [{"role": "system", "content": "You complete code."}, {"role": "user", "content": "def add(a, b):"}]
OPTIONS = ChatOptions(max_tokens=32, temperature=0.0, timeout_s=5.0)


@pytest.fixture(scope="module")
def standin() -> Iterator[StandIn]:
    with StandIn(scheduling_priority=True) as server:
        yield server


@pytest.fixture(autouse=True)
def fresh(standin: StandIn) -> None:
    standin.reset()


@pytest.fixture(params=["own-transport", "httpx"])
async def client(standin: StandIn, request: pytest.FixtureRequest) -> AsyncIterator[ModelClient]:
    """Both transports of the completion stream: the light one (plain http://) and httpx."""
    model_client = ModelClient(standin.base_url, DEFAULT_MODEL, "secret-key", connect_timeout_s=1.0,
                               raw_stream=request.param == "own-transport")
    assert (model_client._raw is not None) == (request.param == "own-transport")  # noqa: SLF001
    yield model_client
    await model_client.aclose()


async def _collect(client: ModelClient, options: ChatOptions = OPTIONS, messages: list | None = None) -> str:
    async with client.stream_chat(messages or MESSAGES, options) as deltas:
        return "".join([delta async for delta in deltas])


# -- the streamed path -------------------------------------------------------------------


async def test_stream_yields_the_content_and_sends_the_request_vllm_expects(
    standin: StandIn, client: ModelClient
) -> None:
    text = "    return a + b\n\n\ndef sub(a, b):\n    return a - b"
    standin.script(Reply(text=text))
    options = ChatOptions(
        max_tokens=48, temperature=0.2, stop=("\n\n\n", "```"), prefill=True, priority=-5, seed=7, timeout_s=5.0
    )
    messages = [*MESSAGES, {"role": "assistant", "content": "def add(a, b):\n"}]
    assert await _collect(client, options, messages) == "    return a + b"  # vLLM applies the stop strings
    (request,) = standin.chat_requests()
    body = request.body
    assert body is not None
    assert body["model"] == DEFAULT_MODEL and body["messages"] == messages
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}
    assert body["max_tokens"] == 48 and body["temperature"] == 0.2 and body["stop"] == ["\n\n\n", "```"]
    assert body["continue_final_message"] is True and body["add_generation_prompt"] is False
    assert body["priority"] == -5 and body["seed"] == 7
    assert request.headers["Authorization"] == "Bearer secret-key"
    assert request.completed and not request.disconnected


async def test_optional_fields_are_left_out(standin: StandIn, client: ModelClient) -> None:
    standin.script(Reply(text="x"))
    assert await _collect(client) == "x"
    body = standin.chat_requests()[0].body
    assert body is not None
    for key in ("stop", "seed", "priority", "continue_final_message", "add_generation_prompt"):
        assert key not in body


async def test_non_ascii_and_multibyte_content_round_trips(standin: StandIn, client: ModelClient) -> None:
    text = 'print("héllo wörld ✓ 𝄞")  # 日本語'
    standin.script(Reply(text=text, chunks=[text[:9], text[9:10], text[10:23], text[23:]]))
    assert await _collect(client, messages=[{"role": "user", "content": "ünïcode ✓ \ud83d"}]) == text


async def test_consecutive_streams_reuse_one_connection(standin: StandIn, client: ModelClient) -> None:
    for index in range(5):
        standin.script(Reply(text=f"value_{index}"))
        assert await _collect(client) == f"value_{index}"
    if client._raw is not None:  # noqa: SLF001 - how many connections were made
        assert client._raw.connects == 1  # noqa: SLF001
    else:
        assert len(client._http._transport._pool.connections) == 1  # noqa: SLF001 - httpcore's pool
    assert all(r.completed and not r.disconnected for r in standin.chat_requests())


async def test_leaving_the_block_early_closes_the_stream(standin: StandIn, client: ModelClient) -> None:
    standin.script(Reply(text="one two three four five six seven eight nine ten", chunk_delay=0.05))
    async with client.stream_chat(MESSAGES, OPTIONS) as deltas:
        async for _ in deltas:
            break
    assert await standin.await_for(lambda rs: bool(rs) and rs[-1].disconnected, timeout=2.0)
    assert standin.in_flight == 0
    standin.script(Reply(text="after"))
    assert await _collect(client) == "after"  # the pool recovers with a new connection


async def test_cancelling_the_task_closes_the_stream(standin: StandIn, client: ModelClient) -> None:
    standin.script(Reply(text="slow answer that never ends", chunk_delay=0.2))
    started = asyncio.Event()

    async def consume() -> None:
        async with client.stream_chat(MESSAGES, OPTIONS) as deltas:
            async for _ in deltas:
                started.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(started.wait(), 2.0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await standin.await_for(lambda rs: bool(rs) and rs[-1].disconnected, timeout=2.0)


async def test_cancelling_before_the_first_token_closes_the_request(standin: StandIn, client: ModelClient) -> None:
    standin.script(Reply(text="late", first_token_delay=5.0))

    async def consume() -> str:
        return await _collect(client)

    task = asyncio.create_task(consume())
    assert await standin.await_for(lambda rs: len(rs) == 1, timeout=2.0)
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await standin.await_for(lambda rs: rs[-1].disconnected, timeout=2.0)


# -- errors --------------------------------------------------------------------------------


async def test_http_error_status_maps_to_http_with_the_server_message(standin: StandIn, client: ModelClient) -> None:
    standin.script(Reply(mode="error", status=400, error_message="This model's maximum context length is 10"))
    with pytest.raises(ModelError) as info:
        await _collect(client)
    assert info.value.kind == "http" and info.value.status == 400
    assert info.value.message == "the model server answered 400: This model's maximum context length is 10"


async def test_unknown_model_maps_to_model_missing(standin: StandIn) -> None:
    client = ModelClient(standin.base_url, "mistralai/Not-Served", None)
    try:
        with pytest.raises(ModelError) as info:
            await _collect(client)
    finally:
        await client.aclose()
    assert info.value.kind == "model-missing" and info.value.status == 404
    assert "Not-Served" in info.value.message


async def test_unreachable_server_maps_to_unreachable(standin: StandIn, client: ModelClient) -> None:
    standin.set_down(True)
    try:
        with pytest.raises(ModelError) as info:
            await _collect(client)
    finally:
        standin.set_down(False)
    assert info.value.kind == "unreachable"
    assert info.value.message.startswith("cannot connect to the model server (")
    standin.script(Reply(text="back"))
    assert await _collect(client) == "back"


async def test_a_silent_server_maps_to_timeout(standin: StandIn, client: ModelClient) -> None:
    standin.script(Reply(mode="hang"))
    with pytest.raises(ModelError) as info:
        await _collect(client, ChatOptions(max_tokens=8, temperature=0.0, timeout_s=0.3))
    assert info.value.kind == "timeout"
    assert await standin.await_for(lambda rs: rs[-1].disconnected, timeout=2.0)


async def test_a_dropped_connection_mid_stream_is_a_model_error(standin: StandIn, client: ModelClient) -> None:
    standin.script(Reply(mode="disconnect", text="return 42 and more text", disconnect_after=2))
    with pytest.raises(ModelError) as info:
        await _collect(client)
    assert info.value.kind == "unreachable"


async def test_garbage_in_the_stream_maps_to_protocol(standin: StandIn, client: ModelClient) -> None:
    standin.script(Reply(mode="garbage"))
    with pytest.raises(ModelError) as info:
        await _collect(client)
    assert info.value.kind == "protocol"
    assert "api_key" not in info.value.message and "secret-key" not in info.value.message


# -- the event-stream parser ---------------------------------------------------------------


class _Body:
    """A response whose body arrives in the given pieces."""

    def __init__(self, *pieces: bytes) -> None:
        self._pieces = pieces

    async def aiter_bytes(self) -> AsyncIterator[bytes]:
        for piece in self._pieces:
            yield piece


async def _events(*pieces: bytes) -> list[str]:
    return [data async for data in _sse_data(_Body(*pieces))]


async def test_sse_lines_may_end_in_crlf_and_split_anywhere() -> None:
    stream = b'data: {"a": 1}\r\n\r\n: a comment\n\nevent: x\ndata: two\ndata:  lines\n\ndata: [DONE]\n\n'
    expected = ['{"a": 1}', "two\n lines", "[DONE]"]
    assert await _events(stream) == expected
    assert await _events(*[stream[i : i + 1] for i in range(len(stream))]) == expected
    assert await _events(stream[:7], stream[7:19], stream[19:]) == expected


async def test_sse_event_without_a_final_blank_line_still_counts() -> None:
    assert await _events(b"data: one\n\ndata: last") == ["one", "last"]


def _chunk(content: str | None, usage: bool = False) -> bytes:
    import json

    if usage:
        payload = {"choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 1}}
    else:
        payload = {"choices": [{"index": 0, "delta": {"content": content}, "finish_reason": None}]}
    return b"data: " + json.dumps(payload).encode() + b"\n\n"


async def test_deltas_skip_role_and_usage_chunks_and_stop_at_done() -> None:
    body = _Body(
        b'data: {"choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]}\n\n',
        _chunk("return "),
        _chunk("a + b"),
        _chunk(None),
        _chunk(None, usage=True),
        b"data: [DONE]\n\n",
        _chunk("after done"),
    )
    assert [d async for d in _deltas(body)] == ["return ", "a + b"]


async def test_an_error_event_mid_stream_is_a_protocol_error() -> None:
    body = _Body(_chunk("x"), b'data: {"error": {"message": "engine dead", "code": 500}}\n\n')
    with pytest.raises(ModelError) as info:
        _ = [d async for d in _deltas(body)]
    assert info.value.kind == "protocol" and "engine dead" in info.value.message


# -- the SDK path (non-streamed chat, models) ---------------------------------------------


async def test_chat_and_models_still_use_the_sdk(standin: StandIn, client: ModelClient) -> None:
    standin.script(Reply(text='{"findings": []}'))
    assert await client.chat(MESSAGES, OPTIONS) == '{"findings": []}'
    (info,) = await client.models()
    assert info.id == DEFAULT_MODEL and info.max_model_len == standin.max_model_len
    standin.script(Reply(mode="error", status=500, error_message="boom"))
    with pytest.raises(ModelError) as error:
        await client.chat(MESSAGES, OPTIONS)
    assert error.value.kind == "http" and error.value.message == "the model server answered 500: boom"



def test_the_own_transport_is_only_for_plain_http_without_a_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    from lsp_server.model.http_stream import StreamPool

    for name in ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY", "no_proxy", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
    assert StreamPool.for_endpoint("http://127.0.0.1:8000/v1/chat/completions", {}, 1.0) is not None
    assert StreamPool.for_endpoint("https://gpu-box/v1/chat/completions", {}, 1.0) is None
    monkeypatch.setenv("HTTP_PROXY", "http://proxy:3128")
    assert StreamPool.for_endpoint("http://gpu-box:8000/v1/chat/completions", {}, 1.0) is None
    monkeypatch.setenv("NO_PROXY", "gpu-box")
    assert StreamPool.for_endpoint("http://gpu-box:8000/v1/chat/completions", {}, 1.0) is not None


async def test_a_pooled_connection_the_server_closed_is_replaced(standin: StandIn) -> None:
    client = ModelClient(standin.base_url, DEFAULT_MODEL, None, connect_timeout_s=1.0)
    try:
        standin.script(Reply(text="first"))
        assert await _collect(client) == "first"
        assert client._raw is not None and len(client._raw._idle) == 1  # noqa: SLF001
        standin.set_down(True)  # closes idle keep-alive connections (as a restarting server would)
        standin.set_down(False)
        standin.script(Reply(text="second"))
        assert await _collect(client) == "second"
        assert client._raw.connects == 2  # noqa: SLF001
    finally:
        await client.aclose()
