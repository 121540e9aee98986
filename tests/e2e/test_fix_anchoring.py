"""Fixes stay on the lines they were made for when identical lines shift (VS Code, versioned edits).

A document with two identical lines; a third identical line is inserted above the target
before or while a fix is resolved. The fix must land on the line it was made for (now one
row lower), stamped with the current version, never on the line now at the old row.
"""

from __future__ import annotations

import asyncio
import json

import pytest
import pytest_asyncio
from lsprotocol import types

from tests.e2e.conftest import capabilities, eventually, insert, open_doc, server_env, start_client, stop_client
from tests.standin import Reply, StandIn

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]

LINE = "        count = count + 1"
SOURCE = f"def total(items):\n    count = 0\n    for item in items:\n{LINE}\n{LINE}\n    return count\n"
TARGET = 4  # the second of the two identical lines (0-based)
FIXED = "        count += 2"


def responder(body: dict) -> Reply:
    system, user = body["messages"][0]["content"], body["messages"][1]["content"]
    if "fixing code" in system:
        delay = 1.5 if "SLOW" in user else 0.0
        return Reply(text=f"{FIXED}\n```\n", first_token_delay=delay)
    if "`total`" in user:  # the second `count = count + 1` (line 5) counts twice: fix it
        finding = {"line": 5, "quote": "count = count + 1", "severity": "warning", "rule": "double-count",
                   "message": "Counted twice.", "fix": {"start_line": 5, "end_line": 5, "replacement": FIXED}}
        return Reply(text=json.dumps({"findings": [finding]}))
    return Reply(text='{"findings": []}')


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def session(standin: StandIn, tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("anchoring")
    env = server_env(standin, root / ".cache", MISTRAL_LSP_REVIEW_TRIGGERS="open")
    client, _ = await start_client(standin, root / ".cache", capabilities("visual-studio-code@v1.65.2", inline=True),
                                   root=root, env=env)
    yield client, root
    await stop_client(client)


def _versioned_edits(action: types.CodeAction, uri: str) -> tuple[int | None, list[types.TextEdit]]:
    assert action.edit is not None and action.edit.document_changes, action
    [change] = [c for c in action.edit.document_changes if c.text_document.uri == uri]
    return change.text_document.version, list(change.edits)


def _apply(text: str, edits: list[types.TextEdit]) -> str:
    lines = text.split("\n")

    def offset(position: types.Position) -> int:
        return sum(len(line) + 1 for line in lines[: position.line]) + position.character

    for edit in sorted(edits, key=lambda e: (e.range.start.line, e.range.start.character), reverse=True):
        text = text[: offset(edit.range.start)] + edit.new_text + text[offset(edit.range.end):]
    return text


def _selection(row: int) -> types.Range:
    return types.Range(start=types.Position(line=row, character=0), end=types.Position(line=row, character=len(LINE)))


async def _actions(client, uri: str, selection: types.Range, diagnostics: list) -> list[types.CodeAction]:
    return await client.text_document_code_action_async(types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(uri=uri), range=selection,
        context=types.CodeActionContext(diagnostics=diagnostics)))


def _expected_after_insert() -> str:
    lines = SOURCE.split("\n")
    moved = lines[:3] + [LINE] + lines[3:]  # the inserted identical line sits above both
    moved[TARGET + 1] = FIXED
    return "\n".join(moved)


async def test_quick_fix_from_diagnostic_data_follows_its_line(session, standin: StandIn) -> None:
    client, root = session
    uri = (root / "quick.py").as_uri()
    standin.responder = responder
    open_doc(client, uri, SOURCE, "python")
    assert await eventually(lambda: len(client.diagnostics.get(uri, [])) == 1, timeout=20)
    [diagnostic] = client.diagnostics[uri]
    assert diagnostic.range.start.line == TARGET and diagnostic.data["fix"]["start"] == TARGET
    insert(client, uri, 2, 3, 0, LINE + "\n")  # a third identical line, above the target
    # the client still shows (and sends back) the diagnostic made for version 1
    [fix] = [a for a in await _actions(client, uri, diagnostic.range, [diagnostic]) if a.edit is not None]
    version, edits = _versioned_edits(fix, uri)
    assert version == 2 and {(e.range.start.line, e.range.end.line) for e in edits} <= {(TARGET + 1, TARGET + 1),
                                                                                          (TARGET + 1, TARGET + 2)}
    text = SOURCE.split("\n")
    assert _apply("\n".join(text[:3] + [LINE] + text[3:]), edits) == _expected_after_insert()
    # and the finding shown from now on sits on its own line too, not on the one at its old row
    assert await eventually(lambda: [d.range.start.line for d in client.diagnostics.get(uri, [])] == [TARGET + 1])
    assert client.diagnostics[uri][0].data["fix"]["start"] == TARGET + 1


async def test_fix_with_ai_after_identical_line_inserted_above(session, standin: StandIn) -> None:
    client, root = session
    uri = (root / "before.py").as_uri()
    standin.responder = responder
    open_doc(client, uri, SOURCE, "python")
    offered = await _actions(client, uri, _selection(TARGET), [])
    [rewrite] = [a for a in offered if a.kind == types.CodeActionKind.RefactorRewrite]
    insert(client, uri, 2, 3, 0, LINE + "\n")  # before the resolve
    resolved = await client.code_action_resolve_async(rewrite)
    version, edits = _versioned_edits(resolved, uri)
    assert version == 2 and edits and all(e.range.start.line == TARGET + 1 for e in edits)
    fix_request = [r for r in standin.chat_requests() if "fixing code" in r.body["messages"][0]["content"]][-1]
    assert f"{TARGET + 2} | {LINE}" in fix_request.body["messages"][1]["content"]  # asked about the moved row


async def test_fix_with_ai_while_an_identical_line_is_inserted_during_resolve(session, standin: StandIn) -> None:
    client, root = session
    uri = (root / "during.py").as_uri()
    standin.responder = responder
    open_doc(client, uri, "# SLOW\n" + SOURCE, "python")
    target = TARGET + 1
    [rewrite] = [a for a in await _actions(client, uri, _selection(target), [])
                 if a.kind == types.CodeActionKind.RefactorRewrite]
    resolving = asyncio.ensure_future(client.code_action_resolve_async(rewrite))
    assert await standin.await_for(lambda reqs: any(
        r.body and "fixing code" in r.body["messages"][0]["content"] and "SLOW" in r.body["messages"][1]["content"]
        and not r.ended_at for r in reqs), timeout=20)
    insert(client, uri, 2, 4, 0, LINE + "\n")  # while the model writes the fix
    resolved = await asyncio.wait_for(resolving, 30)
    version, edits = _versioned_edits(resolved, uri)
    assert version == 2 and edits and all(e.range.start.line == target + 1 for e in edits)


async def test_a_fix_whose_line_was_deleted_is_refused(session, standin: StandIn) -> None:
    client, root = session
    uri = (root / "deleted.py").as_uri()
    standin.responder = responder
    open_doc(client, uri, SOURCE, "python")
    first = TARGET - 1  # the first of the two identical lines
    [rewrite] = [a for a in await _actions(client, uri, _selection(first), [])
                 if a.kind == types.CodeActionKind.RefactorRewrite]
    # that line is deleted: the identical line below moves up into its row, reading the same
    at = types.Range(start=types.Position(line=first, character=0), end=types.Position(line=first + 1, character=0))
    client.text_document_did_change(types.DidChangeTextDocumentParams(
        text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=2),
        content_changes=[types.TextDocumentContentChangePartial(range=at, text="")]))
    shown = len(client.messages)
    asked = len(standin.chat_requests())
    resolved = await client.code_action_resolve_async(rewrite)
    assert resolved.edit is None and len(standin.chat_requests()) == asked  # no model call for a lost line
    assert await eventually(lambda: len(client.messages) > shown)
    assert "changed" in client.messages[-1].message
