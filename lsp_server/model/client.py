"""The one OpenAI-compatible client for the vLLM server, shared by the whole process.

Streaming chat with no retries and short timeouts for completions; leaving the
``stream_chat`` context (normally, by ``break`` or by task cancellation) closes the
HTTP response, and vLLM aborts the generation when its client disconnects.
Every failure surfaces as one exception type, ``ModelError``, with a kind and a
message fit for a person; the API key never appears in either.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Literal

import openai

log = logging.getLogger(__name__)

ErrorKind = Literal["unreachable", "timeout", "http", "protocol", "model-missing"]


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
    if isinstance(exc, openai.APITimeoutError):
        return ModelError("timeout", "the model server did not answer in time")
    if isinstance(exc, openai.APIConnectionError):
        cause = exc.__cause__ or exc
        return ModelError("unreachable", f"cannot connect to the model server ({type(cause).__name__})")
    if isinstance(exc, openai.APIStatusError):
        detail = _status_detail(exc)
        kind: ErrorKind = "model-missing" if exc.status_code == 404 else "http"
        return ModelError(kind, f"the model server answered {exc.status_code}: {detail}", exc.status_code)
    return ModelError("protocol", f"unexpected answer from the model server ({type(exc).__name__}: {exc})")


def _status_detail(exc: openai.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and inner.get("message"):
            return str(inner["message"])[:300]
        if isinstance(inner, str):
            return inner[:300]
    return (exc.message or "no detail")[:300]


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
    ) -> None:
        self.endpoint = endpoint
        self.model = model
        self._connect_timeout_s = connect_timeout_s
        self._client = openai.AsyncOpenAI(
            base_url=endpoint,
            api_key=api_key or "EMPTY",
            max_retries=0,
            timeout=openai.Timeout(30.0, connect=connect_timeout_s),
        )

    async def aclose(self) -> None:
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
        extra: dict[str, Any] = {}
        if options.prefill:
            extra["continue_final_message"] = True
            extra["add_generation_prompt"] = False
        if options.priority is not None:
            extra["priority"] = options.priority
        # The messages travel in extra_body (merged into the JSON body as is) rather than
        # in `messages`: the SDK's per-request type-driven transform of the message list
        # costs about 0.3 ms on the completion hot path, and our messages are plain dicts.
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

    @asynccontextmanager
    async def stream_chat(
        self, messages: Sequence[dict[str, Any]], options: ChatOptions
    ) -> AsyncIterator[AsyncIterator[str]]:
        """Stream the assistant's content deltas; leaving the block closes the stream."""
        client = self._client.with_options(
            timeout=openai.Timeout(options.timeout_s, connect=self._connect_timeout_s)
        )
        try:
            stream = await client.chat.completions.create(
                stream=True, stream_options={"include_usage": True}, **self._request(messages, options)
            )
        except Exception as exc:  # noqa: BLE001
            raise _error_from(exc) from None
        try:
            yield _deltas(stream)
        finally:
            await stream.close()

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


async def _deltas(stream: Any) -> AsyncIterator[str]:
    try:
        async for chunk in stream:
            if getattr(chunk, "usage", None) is not None and not chunk.choices:
                log.debug(
                    "usage: prompt=%s completion=%s", chunk.usage.prompt_tokens, chunk.usage.completion_tokens
                )
                continue
            for choice in chunk.choices:
                content = choice.delta.content if choice.delta is not None else None
                if content:
                    yield content
    except ModelError:
        raise
    except Exception as exc:  # noqa: BLE001 - a broken stream is a ModelError
        raise _error_from(exc) from None
