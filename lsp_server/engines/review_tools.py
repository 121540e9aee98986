"""A review request that may look things up: the tool-call loop of one review unit.

The model is offered the read-only tools of the workspace index (``lookup_symbol``,
``read_lines``) in vLLM's OpenAI-compatible format (vLLM turns Mistral's tool-call
tokens into ``tool_calls`` with ``--tool-call-parser mistral``). Each call is
answered from the index and fed back as a ``tool`` message, until the model answers
with text, or the per-review budget of calls or result tokens is used up. Tools and
structured output do not mix, so while tools are offered the answer is free text;
if it is not a findings JSON, one last request without tools and with the strict
schema asks for it. A server that cannot do tool calls (a 400 about tools, or raw
tool-call text in the answer) is reported through ``ToolsUnsupported`` so the engine
falls back to plain reviews for good.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from lsp_server.model.backends.base import Backend
from lsp_server.model.client import ChatOptions, ChatTurn, ModelError
from lsp_server.model.findings import parse_findings
from lsp_server.model.review_prompts import TOOLS_NOTE

log = logging.getLogger(__name__)
MAX_RESULT_CHARS = 6_000  # one tool result, at most (JSON text)
_RAW_CALL = re.compile(r"\[TOOL_CALLS\]|^\s*\[?\s*\{\s*\"name\"\s*:\s*\"(lookup_symbol|read_lines)\"|"
                       r"^\s*(lookup_symbol|read_lines)\s*(\[ARGS\]|\()")


class ToolExecutor(Protocol):
    """Answers one tool call (``IndexTools`` does, over the workspace index)."""

    async def call(self, name: str, arguments: str | dict[str, Any]) -> dict[str, Any]: ...


class ToolsUnsupported(Exception):
    """The model server does not do tool calls (no ``--enable-auto-tool-choice`` parser)."""


@dataclass(frozen=True)
class ToolBudget:
    calls: int
    tokens: int


@dataclass
class ToolLoop:
    """What one review's loop did (for stats and tests)."""

    text: str = ""
    calls: int = 0
    requests: int = 0
    refused: int = 0  # calls answered with a budget error


async def review_with_tools(
    client: Backend,
    messages: Sequence[dict[str, Any]],
    options: ChatOptions,
    tools: ToolExecutor,
    schemas: Sequence[dict[str, Any]],
    budget: ToolBudget,
    *,
    response_format: dict[str, Any] | None,
    count_tokens: Callable[[str], int],
) -> ToolLoop:
    """Run the loop; raises ``ToolsUnsupported`` or ``ModelError``."""
    convo = [dict(m) for m in messages]
    convo[-1] = {**convo[-1], "content": convo[-1]["content"] + "\n\n" + TOOLS_NOTE.format(calls=budget.calls)}
    loop = ToolLoop()
    spent = 0
    while loop.calls < budget.calls and spent < budget.tokens:
        turn = await _turn(client, convo, options, schemas, loop)
        if not turn.tool_calls:
            if _RAW_CALL.search(turn.content):
                raise ToolsUnsupported("the model server returned tool calls as text (no tool-call parser)")
            if parse_findings(turn.content).found_json:
                loop.text = turn.content
                return loop
            break  # prose instead of JSON: ask once more, strictly
        convo.append({"role": "assistant", "content": turn.content or None, "tool_calls": [
            {"id": call.id, "type": "function", "function": {"name": call.name, "arguments": call.arguments}}
            for call in turn.tool_calls
        ]})
        for call in turn.tool_calls:
            if loop.calls >= budget.calls or spent >= budget.tokens:
                result: dict[str, Any] = {"error": "the tool budget of this review is used up: answer now"}
                loop.refused += 1
            else:
                loop.calls += 1
                result = await tools.call(call.name, call.arguments)
                log.debug("review tool %s(%s) -> %s", call.name, call.arguments[:200], "error" if "error" in result
                          else "ok")
            text = json.dumps(result, ensure_ascii=False)[:MAX_RESULT_CHARS]
            spent += count_tokens(text)
            convo.append({"role": "tool", "tool_call_id": call.id, "name": call.name, "content": text})
    loop.requests += 1
    extra: dict[str, Any] = {"response_format": response_format} if response_format is not None else {}
    loop.text = (await client.chat_turn(convo, options, **extra)).content
    return loop


async def _turn(client: Backend, convo: list[dict[str, Any]], options: ChatOptions,
                schemas: Sequence[dict[str, Any]], loop: ToolLoop) -> ChatTurn:
    loop.requests += 1
    try:
        return await client.chat_turn(convo, options, tools=list(schemas), tool_choice="auto")
    except ModelError as exc:
        if exc.status == 400 and "tool" in exc.message.lower():
            raise ToolsUnsupported(exc.message) from None
        raise
