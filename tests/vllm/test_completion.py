"""Completions through the real server against real vLLM: accepted, rendered, prefilled, cancelled."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from lsprotocol import types

from lsp_server.core.text import split_lines
from tests.e2e.conftest import (
    capabilities,
    inline,
    inline_params,
    open_doc,
    stop_client,
)
from tests.vllm.conftest import LogSlice, Vllm, chat_bodies, server_status, start_server
from tests.vllm.samples import CASES, PYTHON, after

pytestmark = [pytest.mark.vllm, pytest.mark.asyncio(loop_scope="module")]

# Mistral tekken control tokens (ids 0-19 are the same in every tekken file).
BOS, EOS, INST, END_INST, SYSTEM, END_SYSTEM = 1, 2, 3, 4, 17, 18


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def vscode(vllm: Vllm, tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("vscode")
    client, _ = await start_server(vllm, root, capabilities("visual-studio-code@v1.65.2", inline=True))
    yield client, root
    await stop_client(client)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def neovim(vllm: Vllm, tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("nvim")
    client, result = await start_server(vllm, root, capabilities("neovim@v0.11", inline=False))
    assert result.capabilities.position_encoding == types.PositionEncodingKind.Utf8
    yield client, root
    await stop_client(client)


def assert_all_accepted(piece: LogSlice, expected_chats: int) -> None:
    """vLLM answered every chat request 200, logged no error, and took them all into the engine."""
    assert piece.client_errors() == [], "vLLM refused or failed requests:\n" + "\n".join(piece.client_errors())
    chats = piece.statuses("/v1/chat/completions")
    assert len(chats) == expected_chats, chats
    assert all(status == 200 for _, _, status in chats), chats
    assert len(piece.received()) == expected_chats


def assert_well_formed(text: str, line_suffix: str) -> None:
    """A cleaned completion: code only, no chat/prompt artifacts (its words are the model's gibberish)."""
    assert isinstance(text, str)
    assert "```" not in text and "<CURSOR>" not in text
    assert "[INST]" not in text and "[/INST]" not in text and "</s>" not in text
    assert not text.endswith(("\n", "\r")), repr(text)
    if any(c.isalnum() for c in line_suffix):
        assert "\n" not in text, "completions before code on the same line are single-line"


async def complete_every_case(client: Any, root: Path) -> int:
    """Open every sample of ``CASES`` and ask an inline completion at each of its positions; each
    answer is at most one item, inserted at the cursor and well-formed there. The number asked."""
    asked = 0
    for name, language, text, positions in CASES:
        uri = (root / name).as_uri()
        open_doc(client, uri, text, language)
        lines = split_lines(text)
        for line, character in positions:
            result = await client.text_document_inline_completion_async(inline_params(uri, line, character))
            asked += 1
            assert isinstance(result, types.InlineCompletionList) and len(result.items) <= 1
            for item in result.items:
                assert isinstance(item.insert_text, str)
                at = types.Position(line=line, character=character)
                assert item.range == types.Range(start=at, end=at)
                assert_well_formed(item.insert_text, lines[line][character:])
    return asked


async def test_inline_completions_accepted_by_vllm(vscode, vllm: Vllm) -> None:
    client, root = vscode
    mark = vllm.log.mark()
    before = await server_status(client)
    asked = await complete_every_case(client, root)
    after_status = await server_status(client)
    model_calls = after_status["modelCalls"] - before["modelCalls"]
    assert after_status["errors"] == before["errors"], after_status
    assert model_calls == asked, after_status  # each position asked the model once
    piece = await vllm.log.wait_for(mark, lambda p: len(p.statuses("/v1/chat/completions")) >= model_calls)
    assert_all_accepted(piece, model_calls)
    bodies = chat_bodies(piece)
    assert len(bodies) == model_calls
    for body in bodies:
        assert body["model"] == "mistralai/Mistral-Small-3.2-24B-Instruct-2506"
        assert body["stream"] is True and body["stream_options"] == {"include_usage": True}
        assert body["messages"][0]["role"] == "system" and body["messages"][1]["role"] == "user"
        assert "priority" not in body  # priority.enable is off by default


async def test_prefill_is_continued_by_vllm(vscode, vllm: Vllm) -> None:
    """The assistant prefill is accepted and rendered as the start of the model's own turn."""
    client, root = vscode
    uri = (root / "prefill.py").as_uri()
    open_doc(client, uri, PYTHON, "python")
    mark = vllm.log.mark()
    line, character = after(PYTHON, "return self.price")
    await inline(client, uri, line, character)
    piece = await vllm.log.wait_for(mark, lambda p: p.prompt_ids() and p.statuses("/v1/chat/completions"))
    assert_all_accepted(piece, 1)
    (body,) = chat_bodies(piece)
    assert body["continue_final_message"] is True and body["add_generation_prompt"] is False
    prefill = body["messages"][-1]
    assert prefill["role"] == "assistant"
    assert prefill["content"].endswith("        return self.price"), prefill
    ids = piece.prompt_ids()[body["_id"]]
    # <s>[SYSTEM_PROMPT]...[/SYSTEM_PROMPT][INST]...[/INST]<prefill>, and no </s> closing the turn:
    assert ids[:2] == [BOS, SYSTEM] and END_SYSTEM in ids and ids.count(INST) == 1
    prefill_ids = await asyncio.to_thread(vllm.tokenize, prefill["content"])
    assert ids[-len(prefill_ids) - 1] == END_INST
    assert ids[-len(prefill_ids):] == prefill_ids
    assert EOS not in ids


async def test_completion_items_accepted_by_vllm(neovim, vllm: Vllm) -> None:
    client, root = neovim
    mark = vllm.log.mark()
    asked = 0
    for name, language, text, positions in CASES[:2]:
        uri = (root / name).as_uri()
        open_doc(client, uri, text, language)
        lines = text.split("\n")
        for line, character in positions:
            result = await client.text_document_completion_async(
                types.CompletionParams(
                    text_document=types.TextDocumentIdentifier(uri=uri),
                    position=types.Position(line=line, character=character),
                    context=types.CompletionContext(trigger_kind=types.CompletionTriggerKind.Invoked),
                )
            )
            asked += 1
            assert isinstance(result, types.CompletionList)
            assert len(result.items) <= 1
            for item in result.items:
                edit = item.text_edit
                assert isinstance(edit, types.TextEdit)
                assert edit.range.end == types.Position(line=line, character=character)
                assert edit.range.start.line == line
                typed_word = lines[line][edit.range.start.character : character]
                assert edit.new_text.startswith(typed_word)
                assert_well_formed(edit.new_text[len(typed_word):], lines[line][character:])
    piece = await vllm.log.wait_for(mark, lambda p: len(p.statuses("/v1/chat/completions")) >= asked)
    assert_all_accepted(piece, asked)


async def test_cancelled_completion_is_aborted_in_vllm(vllm: Vllm, tmp_path: Path) -> None:
    """$/cancelRequest while vLLM generates: the language server drops the stream, vLLM aborts it.

    The tiny model writes about 200 tokens a second, so this server allows 2,048-token multi-line
    completions (about ten seconds of generation) to leave time to cancel one mid-stream.
    """
    options: dict[str, Any] = {"completion": {"maxTokensBlock": 2048, "timeoutSeconds": 60}}
    client, _ = await start_server(
        vllm, tmp_path, capabilities("visual-studio-code@v1.65.2", inline=True), init_options=options
    )
    try:
        uri = (tmp_path / "cancel.py").as_uri()
        open_doc(client, uri, PYTHON, "python")
        line, character = after(PYTHON, "tag: str) -> list[Item]:\n        ")  # an empty body line: multi-line
        for attempt in range(3):
            mark = vllm.log.mark()
            msg_id = f"cancel-{attempt}"
            request = asyncio.ensure_future(
                client.protocol.send_request_async(
                    types.TEXT_DOCUMENT_INLINE_COMPLETION, inline_params(uri, line, character), msg_id=msg_id
                )
            )
            piece = await vllm.log.wait_for(mark, lambda p: p.received(), timeout=15)
            assert piece.received(), "vLLM never received the completion request"
            (request_id,) = piece.received()
            client.cancel_request(types.CancelParams(id=msg_id))
            try:
                await asyncio.wait_for(request, 10)
            except Exception as exc:  # noqa: BLE001 - the cancelled error is what we want
                assert "cancel" in str(exc).lower() or "-32800" in str(exc), exc
            else:
                # The stream ended by itself (the cleaner stopped it) before the cancel arrived: again.
                await client.workspace_execute_command_async(
                    types.ExecuteCommandParams(command="mistral-lsp.clearCache", arguments=[])
                )
                continue
            piece = await vllm.log.wait_for(mark, lambda p, rid=request_id: p.was_aborted(rid), timeout=5)
            assert piece.was_aborted(request_id), "vLLM did not log the abort:\n" + piece.text[-3000:]
            assert piece.client_errors() == []
            metrics = await vllm.settled_metrics()
            assert metrics["vllm:num_requests_running"] == 0
            return
        pytest.fail("the completion finished before it could be cancelled, three times")
    finally:
        await stop_client(client)


async def test_priority_sent_and_accepted(vllm: Vllm, tmp_path: Path) -> None:
    """With priority.enable, completions carry vLLM's `priority` (server runs --scheduling-policy priority)."""
    options: dict[str, Any] = {"priority": {"enable": True, "completion": 1}}
    client, _ = await start_server(
        vllm, tmp_path, capabilities("visual-studio-code@v1.65.2", inline=True), init_options=options
    )
    try:
        uri = (tmp_path / "prio.go").as_uri()
        _, language, text, positions = CASES[1]
        open_doc(client, uri, text, language)
        mark = vllm.log.mark()
        for line, character in positions:
            await inline(client, uri, line, character)
        piece = await vllm.log.wait_for(mark, lambda p: len(p.statuses("/v1/chat/completions")) >= len(positions))
        assert_all_accepted(piece, len(positions))
        assert [b.get("priority") for b in chat_bodies(piece)] == [1] * len(positions)
    finally:
        await stop_client(client)
