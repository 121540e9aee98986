"""The AI actions through the real server against real vLLM: each action's request is accepted.

A random model writes gibberish, so what is checked is what vLLM did with each request (accepted it
with status 200, parsed the prefill, the priority between completions and reviews, the temperature),
and that the server answered well-formed: an edit confined to the action's target, an explanation,
or a refusal that says why (gibberish rarely parses). Never what the model wrote.
"""

from __future__ import annotations

from typing import Any

import pytest
import pytest_asyncio
from lsprotocol import types

from tests.e2e.actions_client import ActionClient, action_client, actions_at, edits_for, rng, titled
from tests.e2e.conftest import capabilities, open_doc, stop_client
from tests.vllm.conftest import LogSlice, Vllm, chat_bodies, start_server

pytestmark = [pytest.mark.vllm, pytest.mark.asyncio(loop_scope="module")]

OPTIONS: dict[str, Any] = {
    "priority": {"enable": True, "completion": 0, "review": 10, "actions": 5},
    "review": {"triggers": ["manual"]},
    "actions": {
        "maxTokens": 96,
        "custom": [{"name": "shout", "title": "Shout", "prompt": "Upper-case the strings:\n{code}",
                    "scope": "selection"}],
    },
}

SOURCE = '''import math


def circle_area(radius: float) -> float:
    """Return the area of a circle of the given radius."""
    raise NotImplementedError


def unique(items):
    out = []
    for item in items:
        if item not in out:
            out.append(item)
    return out
'''


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def session(vllm: Vllm, tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("actions")
    (root / "tests").mkdir()
    (root / "geo.py").write_text(SOURCE)
    client, _ = await start_server(vllm, root, capabilities("visual-studio-code@v1.65.2", inline=True),
                                   init_options=OPTIONS)
    session = action_client(client, root)
    open_doc(client, session.uri("geo.py"), SOURCE, "python")
    yield session
    await stop_client(client)


def _accepted(piece: LogSlice) -> dict[str, Any]:
    assert piece.client_errors() == [], piece.client_errors()
    assert [s for _, _, s in piece.statuses("/v1/chat/completions")] == [200]
    (body,) = chat_bodies(piece)
    assert body["priority"] == 5  # between completions (0) and reviews (10)
    assert body["temperature"] == 0.15 and body["max_tokens"] == 96
    return body


def _confined(edit: types.WorkspaceEdit | None, uri: str, first: int, last: int) -> None:
    if edit is None:
        return  # refused: gibberish that does not parse
    for e in edits_for(edit, uri):
        assert first <= e.range.start.line and e.range.end.line <= last + 1, e


async def _resolve(session: ActionClient, vllm: Vllm, title: str, where: types.Range) -> tuple[Any, dict[str, Any]]:
    action = titled(await actions_at(session.client, session.uri("geo.py"), where), title)
    mark = vllm.log.mark()
    resolved = await session.client.code_action_resolve_async(action)
    piece = await vllm.log.wait_for(mark, lambda p: p.outputs() or p.aborted())
    return resolved, _accepted(piece)


async def _command(session: ActionClient, vllm: Vllm, args: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    mark = vllm.log.mark()
    answer = await session.client.workspace_execute_command_async(types.ExecuteCommandParams(
        command="mistral-lsp.runAction", arguments=[{"uri": session.uri("geo.py"), "display": "client", **args}]))
    piece = await vllm.log.wait_for(mark, lambda p: p.outputs() or p.aborted())
    return answer, _accepted(piece)


async def test_implement_is_accepted(session: ActionClient, vllm: Vllm) -> None:
    resolved, body = await _resolve(session, vllm, "Implement with AI: circle_area", rng(5, 4))
    assert body["continue_final_message"] is True and body["add_generation_prompt"] is False
    assert body["messages"][-1]["content"].startswith("```python\ndef circle_area(radius: float) -> float:\n")
    _confined(resolved.edit, session.uri("geo.py"), 5, 5)


async def test_optimise_is_accepted(session: ActionClient, vllm: Vllm) -> None:
    resolved, body = await _resolve(session, vllm, "Optimise with AI: unique", rng(10, 8))
    assert body["messages"][-1] == {"role": "assistant", "content": "Why:"}
    _confined(resolved.edit, session.uri("geo.py"), 8, 13)


async def test_document_is_accepted(session: ActionClient, vllm: Vllm) -> None:
    resolved, body = await _resolve(session, vllm, "Document with AI: unique", rng(10, 8))
    assert body["messages"][-1]["content"] == '```python\ndef unique(items):\n    """'
    _confined(resolved.edit, session.uri("geo.py"), 8, 8)


async def test_write_tests_is_accepted(session: ActionClient, vllm: Vllm) -> None:
    resolved, body = await _resolve(session, vllm, "Write tests with AI: unique", rng(10, 8))
    assert "to go in `tests/test_geo.py`" in body["messages"][1]["content"]
    if resolved.edit is not None:  # the only file touched is the new test file
        uris = {c.uri if isinstance(c, types.CreateFile) else c.text_document.uri
                for c in resolved.edit.document_changes}
        assert uris == {(session.root / "tests" / "test_geo.py").as_uri()}


async def test_explain_is_accepted(session: ActionClient, vllm: Vllm) -> None:
    answer, body = await _command(session, vllm, {"action": "explain", "range": {
        "start": {"line": 10, "character": 8}, "end": {"line": 10, "character": 8}}})
    assert body["messages"][-1]["role"] == "user" and "continue_final_message" not in body
    assert answer["ok"] is True and isinstance(answer["markdown"], str) and answer["title"] == "Explain with AI: unique" \
        or answer == {"ok": False, "message": "the model gave no explanation", "needsInstruction": False,
                      "cancelled": False}


async def test_edit_with_an_instruction_is_accepted(session: ActionClient, vllm: Vllm) -> None:
    answer, body = await _command(session, vllm, {"action": "edit", "instruction": "use a set", "range": {
        "start": {"line": 9, "character": 0}, "end": {"line": 13, "character": 0}}})
    assert "Instruction: use a set" in body["messages"][1]["content"]
    assert body["messages"][-1]["content"] == "```python\n"
    assert isinstance(answer["ok"], bool) and answer["message"]
    for params in session.applied:
        _confined(params.edit, session.uri("geo.py"), 9, 12)


async def test_a_user_action_is_accepted(session: ActionClient, vllm: Vllm) -> None:
    answer, body = await _command(session, vllm, {"action": "shout", "range": {
        "start": {"line": 4, "character": 0}, "end": {"line": 5, "character": 0}}})
    assert body["messages"][1]["content"].endswith('Upper-case the strings:\n    """Return the area of a circle of the '
                                                   'given radius."""')
    assert isinstance(answer["ok"], bool) and answer["message"]
