"""The one OpenAI-compatible client for the vLLM server, shared by the whole process.

Streaming chat with no retries and short timeouts for completions; leaving the
``stream_chat`` context (normally, by ``break`` or by task cancellation) closes the
HTTP response, and vLLM aborts the generation when its client disconnects.
Every failure surfaces as one exception type, ``ModelError``, with a kind and a
message fit for a person; the API key never appears in either.

``stream_chat`` is the completion hot path and talks HTTP itself, through the same
httpx client (and connection pool) the openai SDK uses for everything else: it posts
the JSON body and reads the server-sent events as plain JSON. The SDK's per-request
machinery (options and client copies, request transforms, auth hooks, a pydantic
object per stream chunk) cost 1-1.5 ms per completion, more than the HTTP exchange
itself. Errors map to the same ModelError kinds and messages as the SDK path's.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Literal

import anyio
import openai

try:
    import httpx2 as httpx  # the HTTP library of openai >= 3
except ImportError:  # pragma: no cover - openai < 3 is built on httpx
    import httpx  # type: ignore[no-redef]

from lsp_server.model.http_stream import HttpError, StreamPool

log = logging.getLogger(__name__)

ErrorKind = Literal["unreachable", "timeout", "http", "protocol", "model-missing"]

# After ``data: [DONE]`` the rest of the body (the chunked-encoding terminator) is read
# so the connection can be reused, but never for longer than this.
_DRAIN_TIMEOUT_S = 0.1
_DETAIL_CHARS = 300


class ModelError(Exception):
    """The model server could not give an answer."""

    def __init__(self, kind: ErrorKind, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.status = status

    @property
    def message(self) -> str:
        return str(self)


@dataclass(frozen=True)
class ModelInfo:
    """One model the server serves, with its context length when it says."""

    id: str
    max_model_len: int | None


@dataclass(frozen=True)
class ChatOptions:
    """Sampling and vLLM extras for one chat request."""

    max_tokens: int
    temperature: float
    stop: Sequence[str] = ()
    prefill: bool = False  # continue the final assistant message instead of starting a new one
    priority: int | None = None  # vLLM priority scheduling; None = don't send the field
    timeout_s: float = 8.0
    seed: int | None = None


def _error_from(exc: BaseException) -> ModelError:
    """Map an openai SDK exception (``models``, ``chat``)."""
    if isinstance(exc, openai.APITimeoutError):
        return ModelError("timeout", "the model server did not answer in time")
    if isinstance(exc, openai.APIConnectionError):
        cause = exc.__cause__ or exc
        return _unreachable(cause)
    if isinstance(exc, openai.APIStatusError):
        return _status_error(exc.status_code, _body_detail(exc.body) or exc.message or "no detail")
    return ModelError("protocol", f"unexpected answer from the model server ({type(exc).__name__}: {exc})")


def _transport_error(exc: BaseException) -> ModelError:
    """Map an exception raised by the streaming path's own HTTP exchange."""
    if isinstance(exc, (httpx.TimeoutException, TimeoutError)):
        return ModelError("timeout", "the model server did not answer in time")
    if isinstance(exc, HttpError):
        return _unreachable(exc)
    if isinstance(exc, (httpx.RequestError, OSError, anyio.EndOfStream)):  # OSError: ssl.SSLError too
        return _unreachable(exc)
    return ModelError("protocol", f"unexpected answer from the model server ({type(exc).__name__}: {exc})")


def _unreachable(cause: BaseException) -> ModelError:
    return ModelError("unreachable", f"cannot connect to the model server ({type(cause).__name__})")


def _status_error(status: int, detail: str) -> ModelError:
    kind: ErrorKind = "model-missing" if status == 404 else "http"
    return ModelError(kind, f"the model server answered {status}: {detail[:_DETAIL_CHARS]}", status)


def _body_detail(body: object) -> str | None:
    """The message of an OpenAI/vLLM error body (nested ``{"error": {...}}`` or flat)."""
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and inner.get("message"):
            return str(inner["message"])[:_DETAIL_CHARS]
        if isinstance(inner, str):
            return inner[:_DETAIL_CHARS]
    return None


def _response_detail(status: int, raw: bytes) -> str:
    """An error response's message, as the SDK words it when the body has none."""
    try:
        body = json.loads(raw)
    except ValueError:
        body = None
    return _body_detail(body) or f"Error code: {status}"


@dataclass(frozen=True)
class ToolCall:
    """A function call the model asked for (``arguments``: JSON text, as sent)."""

    id: str
    name: str
    arguments: str


@dataclass(frozen=True)
class ChatTurn:
    """One assistant turn: its text, and the tool calls it makes (if any)."""

    content: str
    tool_calls: tuple[ToolCall, ...] = ()


class ModelClient:
    """AsyncOpenAI against the configured endpoint, one connection pool per process."""

    def __init__(
        self,
        endpoint: str,
        model: str,
        api_key: str | None,
        *,
        connect_timeout_s: float = 1.5,
        raw_stream: bool = True,
    ) -> None:
        self.endpoint = endpoint
        self.model = model
        self._connect_timeout_s = connect_timeout_s
        timeout = openai.Timeout(30.0, connect=connect_timeout_s)
        # The SDK's default httpx client (its limits, redirects, proxy and TLS settings),
        # made here so that stream_chat can use it directly; the SDK closes it.
        self._http = openai.DefaultAsyncHttpxClient(timeout=timeout)
        self._client = openai.AsyncOpenAI(
            base_url=endpoint,
            api_key=api_key or "EMPTY",
            max_retries=0,
            timeout=timeout,
            http_client=self._http,
        )
        self._chat_url = httpx.URL(str(self._client.base_url).rstrip("/") + "/chat/completions")
        self._stream_headers = {
            "Authorization": f"Bearer {api_key or 'EMPTY'}",
            "Content-Type": "application/json",
            "Accept": "text/event-stream",
        }
        # plain http:// without a proxy: the completion stream uses its own light transport
        self._raw = (StreamPool.for_endpoint(str(self._chat_url), self._stream_headers, connect_timeout_s)
                     if raw_stream else None)

    async def aclose(self) -> None:
        if self._raw is not None:
            await self._raw.aclose()
        await self._client.close()

    async def models(self, timeout_s: float = 5.0) -> list[ModelInfo]:
        """``GET /v1/models``: what the server serves and each model's max_model_len."""
        try:
            page = await self._client.with_options(
                timeout=openai.Timeout(timeout_s, connect=self._connect_timeout_s)
            ).models.list()
        except Exception as exc:  # noqa: BLE001 - every failure becomes a ModelError
            raise _error_from(exc) from None
        out: list[ModelInfo] = []
        for item in page.data:
            extra = getattr(item, "model_extra", None) or {}
            length = extra.get("max_model_len")
            out.append(ModelInfo(item.id, int(length) if isinstance(length, int) else None))
        return out

    def _request(self, messages: Sequence[dict[str, Any]], options: ChatOptions) -> dict[str, Any]:
        """The SDK keyword arguments of a (non-streamed) chat request."""
        extra: dict[str, Any] = {}
        if options.prefill:
            extra["continue_final_message"] = True
            extra["add_generation_prompt"] = False
        if options.priority is not None:
            extra["priority"] = options.priority
        # The messages travel in extra_body (merged into the JSON body as is) rather than
        # in `messages`: the SDK's per-request type-driven transform of the message list
        # costs about 0.3 ms, and our messages are plain dicts.
        extra["messages"] = list(messages)
        request: dict[str, Any] = {
            "model": self.model,
            "messages": [],
            "max_tokens": options.max_tokens,
            "temperature": options.temperature,
            "extra_body": extra,
        }
        if options.stop:
            request["stop"] = list(options.stop)
        if options.seed is not None:
            request["seed"] = options.seed
        return request

    def _stream_body(self, messages: Sequence[dict[str, Any]], options: ChatOptions) -> bytes:
        """The JSON body of a streamed chat request (what the SDK would send for it)."""
        body: dict[str, Any] = {
            "model": self.model,
            "messages": list(messages),
            "max_tokens": options.max_tokens,
            "temperature": options.temperature,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        if options.stop:
            body["stop"] = list(options.stop)
        if options.seed is not None:
            body["seed"] = options.seed
        if options.prefill:
            body["continue_final_message"] = True
            body["add_generation_prompt"] = False
        if options.priority is not None:
            body["priority"] = options.priority
        return json.dumps(body, separators=(",", ":")).encode("utf-8")

    @asynccontextmanager
    async def stream_chat(
        self, messages: Sequence[dict[str, Any]], options: ChatOptions
    ) -> AsyncIterator[AsyncIterator[str]]:
        """Stream the assistant's content deltas; leaving the block closes the stream."""
        response: Any
        try:
            if self._raw is not None:
                response = await self._raw.post(self._stream_body(messages, options), options.timeout_s)
            else:
                request = self._http.build_request(
                    "POST",
                    self._chat_url,
                    content=self._stream_body(messages, options),
                    headers=self._stream_headers,
                    timeout=httpx.Timeout(options.timeout_s, connect=self._connect_timeout_s),
                )
                response = await self._http.send(request, stream=True)
        except Exception as exc:  # noqa: BLE001 - every failure becomes a ModelError
            raise _transport_error(exc) from None
        try:
            if response.status_code >= 400:
                try:
                    raw = await response.aread()
                except Exception as exc:  # noqa: BLE001
                    raise _transport_error(exc) from None
                raise _status_error(response.status_code, _response_detail(response.status_code, raw))
            deltas = _deltas(response)
            try:
                yield deltas
            finally:
                await deltas.aclose()
        finally:
            # Closing a response that was not read to its end closes the connection:
            # that is how vLLM learns to abort the generation.
            await response.aclose()

    async def chat(self, messages: Sequence[dict[str, Any]], options: ChatOptions, **extra: Any) -> str:
        """A non-streamed chat answer's content (for review/fix requests)."""
        return (await self.chat_turn(messages, options, **extra)).content

    async def chat_turn(self, messages: Sequence[dict[str, Any]], options: ChatOptions, **extra: Any) -> ChatTurn:
        """One non-streamed assistant turn: its content and the tool calls it makes
        (``extra`` may offer ``tools``; vLLM parses Mistral's tool-call format)."""
        client = self._client.with_options(
            timeout=openai.Timeout(options.timeout_s, connect=self._connect_timeout_s)
        )
        request = self._request(messages, options)
        if extra:
            request.update(extra)
        try:
            answer = await client.chat.completions.create(**request)
        except Exception as exc:  # noqa: BLE001
            raise _error_from(exc) from None
        if not answer.choices:
            raise ModelError("protocol", "the model server returned no choices")
        message = answer.choices[0].message
        calls = tuple(
            ToolCall(call.id, call.function.name, call.function.arguments or "{}")
            for call in message.tool_calls or ()
            if getattr(call, "function", None) is not None
        )
        return ChatTurn(message.content or "", calls)


async def _deltas(response: Any) -> AsyncIterator[str]:
    """The content deltas of a chat completion event stream."""
    events = _sse_data(response)
    try:
        async for data in events:
            if data.startswith("[DONE]"):
                break
            for content in _chunk_contents(data):
                yield content
        else:
            return
        await _drain(events)
    except ModelError:
        raise
    except Exception as exc:  # noqa: BLE001 - a broken stream is a ModelError
        raise _transport_error(exc) from None
    finally:
        await events.aclose()


def _chunk_contents(data: str) -> list[str]:
    """The content pieces of one ``chat.completion.chunk`` (none for role/usage chunks)."""
    chunk = json.loads(data)
    if not isinstance(chunk, dict):
        raise ModelError("protocol", "unexpected answer from the model server (a stream chunk is not an object)")
    if chunk.get("error"):
        detail = _body_detail(chunk) or "an error occurred during streaming"
        raise ModelError("protocol", f"the model server failed mid-stream: {detail}")
    choices = chunk.get("choices") or ()
    if not choices:
        usage = chunk.get("usage")
        if isinstance(usage, dict) and log.isEnabledFor(logging.DEBUG):
            log.debug("usage: prompt=%s completion=%s", usage.get("prompt_tokens"), usage.get("completion_tokens"))
        return []
    out = []
    for choice in choices:
        delta = choice.get("delta") if isinstance(choice, dict) else None
        content = delta.get("content") if isinstance(delta, dict) else None
        if content:
            out.append(content)
    return out


async def _sse_data(response: Any) -> AsyncIterator[str]:
    """The ``data`` of each server-sent event, its lines joined with newlines.

    Lines end with LF or CRLF; fields other than ``data`` (``event``, ``id``,
    ``retry``) and comments carry nothing a chat completion needs.
    """
    pending = b""
    data: list[bytes] = []
    async for piece in response.aiter_bytes():
        if b"\n" not in piece:
            pending += piece
            continue
        lines = (pending + piece).split(b"\n")
        pending = lines.pop()
        for line in lines:
            if line.endswith(b"\r"):
                line = line[:-1]
            if not line:
                if data:
                    yield b"\n".join(data).decode("utf-8")
                    data = []
            elif line.startswith(b"data:"):
                value = line[5:]
                data.append(value[1:] if value.startswith(b" ") else value)
    if pending.startswith(b"data:"):
        value = pending[5:].rstrip(b"\r")
        data.append(value[1:] if value.startswith(b" ") else value)
    if data:
        yield b"\n".join(data).decode("utf-8")


async def _drain(events: AsyncIterator[str]) -> None:
    """Read what follows ``[DONE]`` (the end of the chunked body) so the connection goes
    back to the pool, for at most a moment; the answer is complete either way."""
    try:
        async with asyncio.timeout(_DRAIN_TIMEOUT_S):
            async for _ in events:
                pass
    except Exception:  # noqa: BLE001 - cleanup must not turn a complete answer into an error
        pass
