"""The review tool-call loop: budget, fallbacks, and what goes back to the model."""

from __future__ import annotations

import json
from typing import Any

import pytest

from lsp_server.engines.review_tools import ToolBudget, ToolsUnsupported, review_with_tools
from lsp_server.model.client import ChatOptions, ChatTurn, ModelError, ToolCall
from lsp_server.model.tokens import estimate_tokens

MESSAGES = [{"role": "system", "content": "sys"}, {"role": "user", "content": "review this"}]
SCHEMAS = ({"type": "function", "function": {"name": "lookup_symbol", "parameters": {}}},)
FINDINGS = json.dumps({"findings": []})


class FakeClient:
    """Answers chat_turn from a script; records what it was asked."""

    def __init__(self, *turns: ChatTurn | Exception) -> None:
        self.turns = list(turns)
        self.asked: list[dict[str, Any]] = []

    async def chat_turn(self, messages: Any, options: ChatOptions, **extra: Any) -> ChatTurn:
        self.asked.append({"messages": [dict(m) for m in messages], **extra})
        turn = self.turns.pop(0)
        if isinstance(turn, Exception):
            raise turn
        return turn


class CountingTools:
    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []

    async def call(self, name: str, arguments: Any) -> dict[str, Any]:
        self.calls.append((name, arguments))
        return {"name": "f", "results": [{"signature": "def f(x): ..."}]}


def _call(n: int) -> ToolCall:
    return ToolCall(f"call{n:05d}", "lookup_symbol", json.dumps({"name": f"f{n}"}))


async def _run(client: FakeClient, tools: CountingTools, calls: int = 3, tokens: int = 10_000):
    return await review_with_tools(client, MESSAGES, ChatOptions(max_tokens=100, temperature=0.0), tools,  # type: ignore[arg-type]
                                   SCHEMAS, ToolBudget(calls, tokens), response_format={"type": "json_schema"},
                                   count_tokens=estimate_tokens)


async def test_a_looping_model_is_stopped_by_the_call_budget() -> None:
    looping = [ChatTurn("", (_call(n),)) for n in range(10)]
    client = FakeClient(*looping[:3], ChatTurn(FINDINGS))
    tools = CountingTools()
    loop = await _run(client, tools, calls=3)
    assert len(tools.calls) == 3 and loop.calls == 3
    assert loop.text == FINDINGS
    last = client.asked[-1]
    assert "tools" not in last and last["response_format"] == {"type": "json_schema"}  # the final, strict request
    assert len(client.asked) == 4
    assert [m["role"] for m in last["messages"]].count("tool") == 3


async def test_calls_beyond_the_budget_in_one_turn_get_an_error_answer() -> None:
    client = FakeClient(ChatTurn("", tuple(_call(n) for n in range(4))), ChatTurn(FINDINGS))
    tools = CountingTools()
    loop = await _run(client, tools, calls=2)
    assert len(tools.calls) == 2 and loop.refused == 2
    answers = [json.loads(m["content"]) for m in client.asked[-1]["messages"] if m["role"] == "tool"]
    assert len(answers) == 4 and "budget" in answers[3]["error"] and "results" in answers[0]


async def test_the_token_budget_also_ends_the_loop() -> None:
    client = FakeClient(ChatTurn("", (_call(1),)), ChatTurn(FINDINGS))
    loop = await _run(client, CountingTools(), calls=10, tokens=5)
    assert loop.calls == 1 and "tools" not in client.asked[-1]


async def test_a_json_answer_while_tools_are_offered_is_used_as_is() -> None:
    client = FakeClient(ChatTurn("Here:\n" + FINDINGS))
    loop = await _run(client, CountingTools())
    assert loop.text.endswith(FINDINGS) and len(client.asked) == 1
    assert client.asked[0]["tool_choice"] == "auto"
    assert "lookup_symbol(name)" in client.asked[0]["messages"][-1]["content"]


async def test_prose_gets_one_strict_request() -> None:
    client = FakeClient(ChatTurn("Looks fine to me."), ChatTurn(FINDINGS))
    loop = await _run(client, CountingTools())
    assert loop.text == FINDINGS and client.asked[1]["response_format"] == {"type": "json_schema"}


@pytest.mark.parametrize("raw", ['[TOOL_CALLS]lookup_symbol[ARGS]{"name": "f"}',
                                 '[{"name": "lookup_symbol", "arguments": {"name": "f"}}]'])
async def test_tool_calls_left_as_text_mean_the_server_has_no_parser(raw: str) -> None:
    with pytest.raises(ToolsUnsupported):
        await _run(FakeClient(ChatTurn(raw)), CountingTools())


async def test_a_400_about_tools_means_unsupported_other_errors_pass_through() -> None:
    refused = ModelError("http", 'the model server answered 400: "auto" tool choice requires '
                         "--enable-auto-tool-choice and --tool-call-parser to be set", 400)
    with pytest.raises(ToolsUnsupported):
        await _run(FakeClient(refused), CountingTools())
    with pytest.raises(ModelError):
        await _run(FakeClient(ModelError("timeout", "slow")), CountingTools())
