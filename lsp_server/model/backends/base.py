"""The narrow interface every model backend offers the engines, and what choosing one needs.

``Backend`` is what completions, reviews, fixes and tools call: stream a chat answer
(stop sequences, assistant prefill; leaving the block cancels the generation), one
non-streamed chat turn (with tools, or with a JSON-schema ``response_format``), the
model list (name and context length), and closing. ``ModelClient`` (``model/client.py``,
vLLM over HTTP) and ``TransformersBackend`` (``backends/transformers.py``, in process)
both satisfy it; engines never learn which one they talk to. Token counts come from
``model/tokens.py`` (mistral-common) for either backend, so budgets are the same.
Messages are OpenAI-style dicts, so content parts (images, later) pass through as they are.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

from lsp_server.model.client import ChatOptions, ChatTurn, ModelInfo


class Backend(Protocol):
    """A model the engines can ask; every failure is a ``ModelError``."""

    model: str

    def stream_chat(
        self, messages: Sequence[dict[str, Any]], options: ChatOptions
    ) -> AbstractAsyncContextManager[AsyncIterator[str]]:
        """The assistant's content deltas; leaving the block stops the generation."""
        ...

    async def chat(self, messages: Sequence[dict[str, Any]], options: ChatOptions, **extra: Any) -> str:
        """A whole answer's content (``extra``: ``response_format``, ``tools``, ``tool_choice``)."""
        ...

    async def chat_turn(self, messages: Sequence[dict[str, Any]], options: ChatOptions, **extra: Any) -> ChatTurn:
        """One assistant turn: its content and the tool calls it makes."""
        ...

    async def models(self, timeout_s: float = 5.0) -> list[ModelInfo]:
        """The model(s) served, with their context length (loading a local model first)."""
        ...

    async def aclose(self) -> None:
        ...


class BackendSettings(Protocol):
    """The settings a backend is built from (``config.Settings`` has them all)."""

    backend: str
    endpoint: str
    model: str
    api_key: str | None
    connect_timeout_s: float
    device: str
    dtype: str
