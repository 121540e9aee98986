"""The cache folder deleted while the server runs: noticed, logged once, recreated, nothing lost."""

from __future__ import annotations

import shutil
import sqlite3
import sys
from pathlib import Path

import pytest
from lsprotocol import types
from pytest_lsp import ClientServerConfig

from tests.e2e.conftest import capabilities, open_doc, server_env
from tests.standin import Reply, StandIn

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]


async def _review(client, uri: str) -> dict:
    return await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="mistral-lsp.reviewFile", arguments=[uri]))


@pytest.mark.parametrize("how", ["deleted", "replaced by a file"])
async def test_cache_folder_lost_while_running(standin: StandIn, tmp_path: Path, how: str) -> None:
    work, cache, log = tmp_path / "ws", tmp_path / "cache", tmp_path / "server.log"
    work.mkdir()
    config = ClientServerConfig(
        server_command=[sys.executable, "-m", "lsp_server", "serve", "--log-file", str(log)],
        server_env=server_env(standin, cache),
    )
    client = await config.start()
    await client.initialize_session(types.InitializeParams(
        capabilities=capabilities("neovim@v0.11", inline=False), root_uri=work.as_uri(),
        workspace_folders=[types.WorkspaceFolder(uri=work.as_uri(), name="ws")]))
    try:
        standin.default = Reply(text='{"findings": []}')
        first, second = (work / "a.py").as_uri(), (work / "b.py").as_uri()
        open_doc(client, first, "def a(x):\n    return x\n", "python")
        open_doc(client, second, "def b(y):\n    return y\n", "python")
        assert (await _review(client, first))["reviewed"]
        assert (cache / "reviews.sqlite3").exists()
        shutil.rmtree(cache)
        if how != "deleted":
            cache.write_text("a file where the cache folder was\n")
        assert (await _review(client, second))["reviewed"]
        if how == "deleted":
            assert (cache / "reviews.sqlite3").exists(), "the review cache was not recreated"
            with sqlite3.connect(cache / "reviews.sqlite3") as db:
                assert db.execute("SELECT COUNT(*) FROM findings").fetchone()[0] == 1  # b's unit, on disk
        else:
            assert cache.read_text() == "a file where the cache folder was\n"  # left alone; cached in memory
        asked = len(standin.chat_requests())
        again = await _review(client, second)
        assert again["cachedUnits"] == again["units"] == 1  # answered from the new cache
        assert len(standin.chat_requests()) == asked
    finally:
        await client.shutdown_session()
    text = log.read_text()
    if how == "deleted":
        assert text.count("review cache") == 1 and "was deleted while in use" in text
    else:  # what happened, and that it goes on in memory: once, not per write
        assert 1 <= text.count("review cache") <= 2 and "memory" in text
    assert "Traceback" not in text
