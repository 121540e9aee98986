"""Review limits and in-flight state across a settings change, against a slow stand-in."""

from __future__ import annotations

import asyncio

import pytest
from lsprotocol import types

from tests.e2e.conftest import capabilities, eventually, inline_params, open_doc, server_env, start_client, stop_client
from tests.standin import Reply, StandIn

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]


def _chats(requests: list) -> list:
    return [r for r in requests if r.path == "/v1/chat/completions"]


async def test_review_concurrency_holds_while_settings_change_mid_review(standin: StandIn, tmp_path) -> None:
    work = tmp_path / "ws"
    work.mkdir()
    for i in range(12):
        (work / f"m{i}.py").write_text(f"def f{i}(x):\n    return x + {i}\n")
    env = server_env(standin, tmp_path / ".cache", MISTRAL_LSP_REVIEW_CONCURRENCY="2")
    client, _ = await start_client(standin, tmp_path / ".cache", capabilities("neovim@v0.11", inline=False),
                                   root=work, env=env)
    try:
        standin.reset()
        standin.default = Reply(text='{"findings": []}', first_token_delay=0.5)
        answer = await client.workspace_execute_command_async(
            types.ExecuteCommandParams(command="mistral-lsp.reviewWorkspace", arguments=[work.as_uri()]))
        assert answer["files"] == 12
        assert await standin.await_for(lambda reqs: len(_chats(reqs)) >= 2, timeout=10)
        # the user changes a review setting while the workspace review runs, then once more
        client.set_configuration({"mistralLsp": {"review": {"temperature": 0.3}}})
        client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings=None))
        assert await standin.await_for(lambda reqs: any(r.body["temperature"] == 0.3 for r in _chats(reqs)),
                                       timeout=15)
        client.workspace_did_change_configuration(types.DidChangeConfigurationParams(
            settings={"mistralLsp": {"review": {"temperature": 0.2}}}))
        assert await standin.await_for(lambda reqs: len(_chats(reqs)) == 12 and all(r.ended_at for r in _chats(reqs)),
                                       timeout=30)
        assert standin.max_in_flight == 2, f"{standin.max_in_flight} review requests at once, 2 allowed"
    finally:
        await stop_client(client)


async def test_a_completion_in_flight_when_settings_change_is_still_superseded(standin: StandIn, tmp_path) -> None:
    env = server_env(standin, tmp_path / ".cache")
    client, _ = await start_client(standin, tmp_path / ".cache", capabilities("visual-studio-code@v1.65.2", inline=True),
                                   root=tmp_path, env=env,
                                   init_options={"mistralLsp": {"completion": {"timeoutSeconds": 120}}})
    try:
        uri = (tmp_path / "a.py").as_uri()
        open_doc(client, uri, "def f(x):\n    \n", "python")
        standin.reset()
        standin.script(Reply(text="return 1", first_token_delay=30), Reply(text="return x"))
        slow = asyncio.ensure_future(client.text_document_inline_completion_async(inline_params(uri, 1, 4)))
        assert await standin.await_for(lambda reqs: len(reqs) == 1, timeout=10)
        # the settings travel in the notification: applied before the next request is handled
        client.workspace_did_change_configuration(types.DidChangeConfigurationParams(
            settings={"mistralLsp": {"completion": {"temperature": 0.4}}}))
        fresh = await client.text_document_inline_completion_async(inline_params(uri, 1, 4))
        assert standin.chat_requests()[-1].body["temperature"] == 0.4  # the new engine asked
        assert [item.insert_text for item in fresh.items] == ["return x"]
        old = await asyncio.wait_for(slow, 30)  # superseded, long before its 120 s timeout
        assert old is None or list(old.items) == []
        assert await eventually(lambda: standin.chat_requests()[0].disconnected, timeout=5)
    finally:
        await stop_client(client)
