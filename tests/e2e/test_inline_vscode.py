"""Inline completions end to end, as VS Code asks for them (UTF-16 positions)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
import pytest_asyncio
from lsprotocol import types
from pytest_lsp import LanguageClient

from tests.e2e.conftest import (
    capabilities,
    eventually,
    inline,
    inline_params,
    insert,
    open_doc,
    start_client,
    stop_client,
    utf16_len,
)
from tests.standin import Reply, StandIn

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def session(standin: StandIn, tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("ws")
    client, result = await start_client(
        standin, root / ".cache", capabilities("visual-studio-code@v1.65.2", inline=True), root=root
    )
    yield client, result, root
    await stop_client(client)


@pytest.fixture
def client(session) -> LanguageClient:
    return session[0]


def _doc(root: Path, name: str) -> str:
    return (root / name).as_uri()


async def test_capabilities(session) -> None:
    _, result, _ = session
    caps = result.capabilities
    assert caps.inline_completion_provider is not None
    assert caps.completion_provider is not None
    assert caps.position_encoding in (None, types.PositionEncodingKind.Utf16)
    sync = caps.text_document_sync
    assert sync.change == types.TextDocumentSyncKind.Incremental
    assert result.server_info.name == "mistral-lsp"


async def test_fenced_prose_answer_becomes_just_code(session, standin: StandIn) -> None:
    client, _, root = session
    uri = _doc(root, "add.py")
    open_doc(client, uri, "def add(a, b):\n    \n\nprint(add(1, 2))\n", "python")
    standin.script(Reply(text="return a + b\n```\nThis function returns the sum of a and b."))
    texts = await inline(client, uri, 1, 4)
    assert texts == ["return a + b"]
    body = standin.chat_requests()[-1].body
    assert body["model"] == "mistralai/Mistral-Small-3.2-24B-Instruct-2506"
    assert body["stream"] is True
    assert body["temperature"] == pytest.approx(0.15)
    assert body["continue_final_message"] is True and body["add_generation_prompt"] is False
    assert body["messages"][-1]["role"] == "assistant"
    assert body["messages"][-1]["content"].endswith("def add(a, b):\n    ")
    assert "stop" not in body  # the cleaner stops the stream; a "```" stop would lose fenced answers
    assert "priority" not in body  # off by default: needs --scheduling-policy priority


async def test_echo_and_duplicate_bracket_on_non_ascii_line(session, standin: StandIn) -> None:
    client, _, root = session
    uri = _doc(root, "greet.py")
    line = 'message = "héllo 😀 日本" + greet('
    text = f"def greet(name):\n    return name\n\n{line})\n"
    open_doc(client, uri, text, "python")
    # The model echoes the line, then completes it, closing the bracket that is already there.
    standin.script(Reply(text=f'{line}"wörld 🌍")'))
    character = utf16_len(line)
    result = await client.text_document_inline_completion_async(inline_params(uri, 3, character))
    assert len(result.items) == 1
    item = result.items[0]
    assert item.insert_text == '"wörld 🌍"'
    assert item.range.start == types.Position(line=3, character=character)


async def test_multiline_stops_at_block_end(session, standin: StandIn) -> None:
    client, _, root = session
    uri = _doc(root, "loop.py")
    open_doc(client, uri, "def total(xs):\n    s = 0\n    \n", "python")
    standin.script(
        Reply(text="for x in xs:\n        s += x\n    return s\n\ndef other():\n    pass\n\ndef more():\n    pass\n")
    )
    texts = await inline(client, uri, 2, 4)
    assert texts == ["for x in xs:\n        s += x\n    return s"]


async def test_runaway_repetition_is_cut(session, standin: StandIn) -> None:
    client, _, root = session
    uri = _doc(root, "rep.js")
    open_doc(client, uri, "function f(items) {\n  \n}\n", "javascript")
    standin.script(Reply(text="console.log(items);\n" * 30, chunk_delay=0.001))
    texts = await inline(client, uri, 1, 2)
    assert texts == ["console.log(items);"]
    # the stream was closed early instead of being read to the end
    assert await eventually(lambda: standin.chat_requests()[-1].ended_at is not None)
    assert not standin.chat_requests()[-1].completed


async def test_secrets_are_masked_and_secret_files_never_sent(session, standin: StandIn) -> None:
    client, _, root = session
    key = "sk-proj-" + "a1B2c3D4e5F6g7H8i9J0" * 2
    uri = _doc(root, "settings.py")
    open_doc(client, uri, f'OPENAI_API_KEY = "{key}"\nTOKEN = "ghp_{"x" * 36}"\n\n', "python")
    standin.script(Reply(text="DEBUG = False"))
    assert await inline(client, uri, 2, 0) == ["DEBUG = False"]
    sent = str(standin.chat_requests()[-1].body)
    assert key not in sent and "ghp_" + "x" * 36 not in sent
    assert "<redacted>" in sent

    before = len(standin.chat_requests())
    env_uri = _doc(root, ".env")
    open_doc(client, env_uri, "DATABASE_PASSWORD=hunter2hunter2\n", "dotenv")
    assert await inline(client, env_uri, 1, 0) == []
    assert len(standin.chat_requests()) == before


async def test_cancel_closes_the_model_stream_fast(session, standin: StandIn) -> None:
    client, _, root = session
    uri = _doc(root, "slow.py")
    open_doc(client, uri, "def slow():\n    \n", "python")
    standin.script(Reply(text="return 1", first_token_delay=10.0))
    request = asyncio.ensure_future(
        client.protocol.send_request_async(
            types.TEXT_DOCUMENT_INLINE_COMPLETION, inline_params(uri, 1, 4), msg_id="cancel-me"
        )
    )
    assert await standin.await_for(lambda reqs: any(r.path.endswith("/chat/completions") for r in reqs))
    cancelled_at = time.monotonic()
    client.cancel_request(types.CancelParams(id="cancel-me"))
    with pytest.raises(Exception) as info:
        await asyncio.wait_for(request, 5)
    assert "cancel" in str(info.value).lower() or "-32800" in str(info.value)
    assert await standin.await_for(lambda _: standin.chat_requests()[-1].disconnected, timeout=5.0), \
        [(r.path, r.disconnected, r.completed) for r in standin.requests]
    record = standin.chat_requests()[-1]
    # The stream was closed by the cancel, not by the model: before its first token was due (10 s
    # after the request), and no answer was written. How fast is the benchmark's business
    # (scripts/bench_completion.py), not a wall-clock assertion on a shared machine.
    assert record.disconnected_at is not None and cancelled_at <= record.disconnected_at
    assert record.disconnected_at < record.received_at + 10.0 and not record.completed


async def test_burst_of_keystrokes(session, standin: StandIn) -> None:
    client, _, root = session
    uri = _doc(root, "burst.py")
    open_doc(client, uri, "def f():\n    \n", "python")
    standin.default = Reply(text="eta", first_token_delay=0.05)
    typed = "results = alphas + b"
    assert len(typed) == 20
    pending = []
    for i, ch in enumerate(typed):
        insert(client, uri, 2 + i, 1, 4 + i, ch)
        pending.append(
            asyncio.ensure_future(client.text_document_inline_completion_async(inline_params(uri, 1, 5 + i, invoked=False)))
        )
        await asyncio.sleep(0.03)
    answers = await asyncio.wait_for(asyncio.gather(*pending), 10)
    assert len(answers) == 20
    assert all(isinstance(a, types.InlineCompletionList) for a in answers)
    assert len(standin.chat_requests()) <= 3
    assert answers[-1].items and answers[-1].items[0].insert_text == "eta"


async def test_typed_ahead_reuses_the_suggestion(session, standin: StandIn) -> None:
    client, _, root = session
    uri = _doc(root, "ahead.py")
    open_doc(client, uri, "def g(a):\n    \n", "python")
    standin.script(Reply(text="return a * 2"))
    assert await inline(client, uri, 1, 4) == ["return a * 2"]
    calls = len(standin.chat_requests())
    insert(client, uri, 2, 1, 4, "ret")
    assert await inline(client, uri, 1, 7) == ["urn a * 2"]
    assert len(standin.chat_requests()) == calls


async def test_unknown_language_gets_plain_text_completion(session, standin: StandIn) -> None:
    client, _, root = session
    uri = _doc(root, "notes.txt")
    open_doc(client, uri, "Shopping list:\n- apples\n- ", "plaintext")
    standin.script(Reply(text="pears"))
    assert await inline(client, uri, 2, 2) == ["pears"]


async def test_status_command(session) -> None:
    client, _, _ = session
    status = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="mistral-lsp.status", arguments=[])
    )
    assert status["state"] == "ready"
    assert status["maxModelLen"] == 32768
    assert status["requests"] >= 1
