"""The symbol index over the life of a session: a folder removed while it is being indexed."""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

import pytest
from lsprotocol import types
from pytest_lsp import ClientServerConfig

from tests.e2e.conftest import capabilities, eventually, open_doc, server_env
from tests.standin import Reply, StandIn

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]


def _progress(client, kind: type) -> list:
    return [r for reports in client.progress_reports.values() for r in reports if isinstance(r, kind)]


async def test_a_folder_removed_while_it_is_indexed_is_cancelled_cleanly(standin: StandIn, tmp_path: Path) -> None:
    work = tmp_path / "big"
    work.mkdir()
    for i in range(3000):  # a few seconds of indexing
        (work / f"m{i}.py").write_text(f"def f{i}(x):\n    return x + {i}\n\n\nclass C{i}:\n    def m(self):\n        pass\n")
    log = tmp_path / "server.log"
    config = ClientServerConfig(
        server_command=[sys.executable, "-m", "lsp_server", "serve", "--log-file", str(log)],
        server_env=server_env(standin, tmp_path / ".cache"),
    )
    client = await config.start()
    folder = types.WorkspaceFolder(uri=work.as_uri(), name="big")
    await client.initialize_session(types.InitializeParams(
        capabilities=capabilities("neovim@v0.11", inline=False), root_uri=work.as_uri(), workspace_folders=[folder]))
    try:
        assert await eventually(lambda: any(b.title == "mistral-lsp: Indexing big"
                                            for b in _progress(client, types.WorkDoneProgressBegin)), timeout=60)
        client.workspace_did_change_workspace_folders(types.DidChangeWorkspaceFoldersParams(
            event=types.WorkspaceFoldersChangeEvent(added=[], removed=[folder])))
        assert await eventually(lambda: _progress(client, types.WorkDoneProgressEnd), timeout=60)
        [end] = _progress(client, types.WorkDoneProgressEnd)
        assert end.message == "cancelled"  # stopped mid-build, not finished before the removal
        status = await client.workspace_execute_command_async(types.ExecuteCommandParams(command="mistral-lsp.status"))
        assert status["index"]["roots"] == []
    finally:
        await client.shutdown_session()
    text = log.read_text()
    assert "cannot schedule new futures" not in text and "symbol index failed" not in text
    assert "Traceback" not in text


async def test_a_file_opened_at_start_up_is_reviewed_with_the_index(standin: StandIn, tmp_path: Path) -> None:
    """Opened while the workspace is still being indexed: the review waits for the index (or, if
    that takes too long, is made again once it is ready); its tools and context reach the model."""
    work = tmp_path / "ws"
    work.mkdir()
    for i in range(1500):  # indexing takes a moment
        (work / f"m{i}.py").write_text(f"def f{i}(x):\n    return x + {i}\n")
    (work / "helper.py").write_text("def scale(value: float, factor: float) -> float:\n    return value * factor\n")
    user = "from helper import scale\n\n\ndef area(r):\n    return scale(r, r)\n"
    standin.reset()
    standin.default = Reply(text='{"findings": []}')
    config = ClientServerConfig(server_command=[sys.executable, "-m", "lsp_server", "serve"],
                                server_env=server_env(standin, tmp_path / ".cache", MISTRAL_LSP_REVIEW_TRIGGERS="open"))
    client = await config.start()
    await client.initialize_session(types.InitializeParams(
        capabilities=capabilities("neovim@v0.11", inline=False), root_uri=work.as_uri(),
        workspace_folders=[types.WorkspaceFolder(uri=work.as_uri(), name="ws")]))
    try:
        uri = (work / "user.py").as_uri()
        open_doc(client, uri, user, "python")  # at once, as an editor restoring its session does
        assert await eventually(lambda: uri in client.diagnostics, timeout=60)  # reviewed (with or without it)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:  # the index is ready and no review is left to run
            status = await client.workspace_execute_command_async(
                types.ExecuteCommandParams(command="mistral-lsp.status"))
            if status["index"]["ready"] and status["review"]["running"] == 0:
                break
            await asyncio.sleep(0.1)
        assert status["index"]["ready"] and status["review"]["running"] == 0, status
        reviews = [r for r in standin.chat_requests() if "`area`" in r.body["messages"][1]["content"]]
        assert reviews and "tools" in reviews[-1].body, "the review that stands went out without the index's tools"
        assert "def scale(value: float, factor: float)" in reviews[-1].body["messages"][1]["content"]
        if "tools" not in reviews[0].body:  # the index took longer than a review waits: redone, once
            assert len(reviews) == 2 and status["review"]["reviews"] == 2, status
        else:
            assert len(reviews) == 1  # it waited for the index
    finally:
        await client.shutdown_session()
