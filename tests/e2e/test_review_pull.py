"""AI review end to end for a client that pulls diagnostics (Neovim 0.11 capabilities plus
refresh support, UTF-8 positions): result ids, refresh, findings following their text."""

from __future__ import annotations

import json

import pytest
import pytest_asyncio
from lsprotocol import types

from tests.e2e.conftest import capabilities, eventually, insert, open_doc, server_env, start_client, stop_client
from tests.standin import Reply, StandIn

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]

SOURCE = """package main

func average(xs []float64) float64 {
\ttotal := 0.0 // 合計
\tfor i := 0; i <= len(xs); i++ { total += xs[i] }
\treturn total / float64(len(xs))
}
"""


def responder(body: dict) -> Reply:
    user = body["messages"][1]["content"]
    if "`average`" not in user:
        return Reply(text='{"findings": []}')
    finding = {"line": 3, "quote": "i <= len(xs)", "severity": "error", "rule": "off-by-one",
               "message": "Reads one element past the end.", "fix": None}
    # no structured output here: a fenced answer with prose around it still works
    return Reply(text="Sure!\n```json\n" + json.dumps({"findings": [finding]}) + "\n```\nDone.")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def session(standin: StandIn, tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("pull")
    caps = capabilities("neovim@v0.11", inline=False)
    caps.workspace.diagnostics = types.DiagnosticWorkspaceClientCapabilities(refresh_support=True)
    env = server_env(standin, root / ".cache", MISTRAL_LSP_REVIEW_TRIGGERS="open")
    client, result = await start_client(standin, root / ".cache", caps, root=root, env=env)
    yield client, result, root
    await stop_client(client)


def _pull(client, uri: str, previous: str | None = None):
    return client.text_document_diagnostic_async(types.DocumentDiagnosticParams(
        text_document=types.TextDocumentIdentifier(uri=uri), previous_result_id=previous))


async def test_pull_reports_follow_the_text(session, standin: StandIn) -> None:
    client, result, root = session
    assert result.capabilities.diagnostic_provider is not None
    uri = (root / "avg.go").as_uri()
    standin.responder = responder
    open_doc(client, uri, SOURCE, "go")
    assert await eventually(lambda: client.diagnostic_refresh_count >= 1, timeout=10)
    report = await _pull(client, uri)
    assert report.kind == "full" and report.result_id
    [diagnostic] = report.items
    line = SOURCE.split("\n")[4]
    start = len(line[: line.index("i <= len")].encode("utf-8"))
    assert diagnostic.range == types.Range(start=types.Position(line=4, character=start),
                                           end=types.Position(line=4, character=start + len("i <= len(xs)")))
    assert diagnostic.code == "off-by-one" and diagnostic.severity == types.DiagnosticSeverity.Error
    assert uri not in client.diagnostics  # pulled, never pushed as well

    unchanged = await _pull(client, uri, report.result_id)
    assert unchanged.kind == "unchanged"
    assert unchanged.result_id == report.result_id

    # two lines inserted above: the finding moves with its text, no new review is needed
    requests = len(standin.chat_requests())
    insert(client, uri, 2, 1, 0, "// one\n// two\n")
    moved = await _pull(client, uri, report.result_id)
    assert moved.kind == "full" and moved.result_id != report.result_id
    assert [d.range.start for d in moved.items] == [types.Position(line=6, character=start)]
    assert len(standin.chat_requests()) == requests  # triggers: open only

    # text inserted before the quote on its line: the range moves with the quote
    insert(client, uri, 3, 6, start, "/* was: */ ")
    shifted = await _pull(client, uri, moved.result_id)
    start += len("/* was: */ ")
    assert [d.range.start for d in shifted.items] == [types.Position(line=6, character=start)]

    # the quoted text itself is edited: the stale finding is not shown anywhere
    at = types.Range(start=types.Position(line=6, character=start + 2), end=types.Position(line=6, character=start + 4))
    client.text_document_did_change(types.DidChangeTextDocumentParams(
        text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=4),
        content_changes=[types.TextDocumentContentChangePartial(range=at, text="<")]))
    gone = await _pull(client, uri, shifted.result_id)
    assert gone.kind == "full" and list(gone.items) == []


async def test_each_completed_review_gives_a_new_result_id(session, standin: StandIn) -> None:
    client, _, root = session
    uri = (root / "clean.go").as_uri()
    standin.responder = responder
    refreshes = client.diagnostic_refresh_count
    open_doc(client, uri, "package main\n\nfunc ok() int {\n\treturn 1\n}\n", "go")
    assert await eventually(lambda: client.diagnostic_refresh_count > refreshes, timeout=10)
    first = await _pull(client, uri)
    assert first.kind == "full" and list(first.items) == []
    refreshes = client.diagnostic_refresh_count
    done = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="mistral-lsp.reviewFile", arguments=[uri]))
    assert done["reviewed"] is True
    assert await eventually(lambda: client.diagnostic_refresh_count > refreshes, timeout=10)
    again = await _pull(client, uri, first.result_id)  # same (no) findings, but reviewed once more
    assert again.kind == "full" and again.result_id != first.result_id and list(again.items) == []


async def test_a_client_that_cannot_refresh_gets_pushed_diagnostics(standin: StandIn, tmp_path) -> None:
    caps = capabilities("neovim@v0.11", inline=False)  # pulls, but no refresh support
    env = server_env(standin, tmp_path / ".cache", MISTRAL_LSP_REVIEW_TRIGGERS="open")
    client, result = await start_client(standin, tmp_path / ".cache", caps, root=tmp_path, env=env)
    try:
        uri = (tmp_path / "avg.go").as_uri()
        standin.responder = responder
        open_doc(client, uri, SOURCE, "go")
        assert await eventually(lambda: len(client.diagnostics.get(uri, [])) == 1, timeout=10)
        assert client.diagnostics[uri][0].code == "off-by-one"
        report = await _pull(client, uri)
        assert report.kind == "full" and list(report.items) == []  # not shown twice
    finally:
        await stop_client(client)
