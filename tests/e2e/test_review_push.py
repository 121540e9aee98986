"""AI review end to end, as VS Code sees it: pushed diagnostics (UTF-16), quick fixes,
"Fix with AI", caching across reopen, cancellation on change, commands and progress."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pytest
import pytest_asyncio
from lsprotocol import types

from lsp_server.syntax.document import SyntaxDocument
from lsp_server.syntax.languages import LanguageRegistry
from tests.e2e.conftest import capabilities, eventually, insert, open_doc, server_env, start_client, stop_client
from tests.standin import Reply, StandIn

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]

SOURCE = '''import os


def load(path):
    """Read 日本 text."""
    f = open(path)
    data = f.read()
    return data


def first(items):
    label = "😀😀"; return items[len(items)]
'''
FIXED_LOAD = "    with open(path) as f:\n        data = f.read()\n    return data"


def _finding(line: int, quote: str, rule: str, message: str, severity: str = "warning", fix=None) -> dict:
    return {"line": line, "quote": quote, "severity": severity, "rule": rule, "message": message, "fix": fix}


def responder(body: dict) -> Reply:
    """Scripted findings per unit; line numbers deliberately off by two."""
    system = body["messages"][0]["content"]
    user = body["messages"][1]["content"]
    if "fixing code" in system:  # a "Fix with AI" request (prefilled with an opening fence)
        return Reply(text='    label = "😀😀"; return items[len(items) - 1]\n```\nThis fixes it.')
    if "`slow`" in user:
        return Reply(text='{"findings": []}', first_token_delay=30)
    findings = []
    if "`load`" in user:
        findings = [
            _finding(4, "open(path)", "unclosed-file", "The file is never closed.",
                     fix={"start_line": 6, "end_line": 8, "replacement": FIXED_LOAD}),
            _finding(5, "os.remove(path)", "hallucinated", "This quote is not in the file."),
        ]
    elif "`first`" in user:
        findings = [_finding(10, "items[len(items)]", "off-by-one", "Index past the end.", "error")]
    return Reply(text=json.dumps({"findings": findings}))


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def session(standin: StandIn, tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("review")
    env = server_env(standin, root / ".cache", MISTRAL_LSP_REVIEW_TRIGGERS="open,save")
    client, _ = await start_client(
        standin, root / ".cache", capabilities("visual-studio-code@v1.65.2", inline=True), root=root, env=env
    )
    yield client, root
    await stop_client(client)


def _apply(text: str, edits: list[types.TextEdit]) -> str:
    """Apply UTF-16 TextEdits (non-overlapping) to ``text``."""
    lines = text.split("\n")

    def offset(position: types.Position) -> int:
        head = sum(len(line) + 1 for line in lines[: position.line])
        units = lines[position.line].encode("utf-16-le")[: position.character * 2].decode("utf-16-le")
        return head + len(units)

    for edit in sorted(edits, key=lambda e: (e.range.start.line, e.range.start.character), reverse=True):
        start, end = offset(edit.range.start), offset(edit.range.end)
        text = text[:start] + edit.new_text + text[end:]
    return text


def _edits(action: types.CodeAction, uri: str) -> list[types.TextEdit]:
    edit = action.edit
    assert edit is not None
    if edit.document_changes:
        return [e for change in edit.document_changes if change.text_document.uri == uri for e in change.edits]
    return list(edit.changes[uri])


async def _opened(client, standin: StandIn, root: Path, name: str, text: str, count: int):
    uri = (root / name).as_uri()
    standin.responder = responder
    open_doc(client, uri, text, "python")
    assert await eventually(lambda: len(client.diagnostics.get(uri, [])) >= count, timeout=10)
    return uri


async def test_findings_sit_on_the_quoted_text(session, standin: StandIn) -> None:
    client, root = session
    uri = await _opened(client, standin, root, "app.py", SOURCE, 2)
    diagnostics = sorted(client.diagnostics[uri], key=lambda d: d.range.start.line)
    assert len(diagnostics) == 2  # the hallucinated quote produced nothing
    unclosed, index = diagnostics
    # reported on line 4, anchored on "open(path)" on line 6 (0-based 5)
    assert unclosed.range == types.Range(start=types.Position(line=5, character=8),
                                         end=types.Position(line=5, character=18))
    assert unclosed.code == "unclosed-file" and unclosed.source == "mistral-lsp"
    assert unclosed.severity == types.DiagnosticSeverity.Warning
    # UTF-16 columns after two emoji (two code units each)
    line = SOURCE.split("\n")[11]
    start = len(line[: line.index("items[")].encode("utf-16-le")) // 2
    assert index.range.start == types.Position(line=11, character=start)
    assert index.range.end == types.Position(line=11, character=start + len("items[len(items)]"))
    assert index.severity == types.DiagnosticSeverity.Error and index.code == "off-by-one"
    bodies = [r.body for r in standin.chat_requests()]
    assert len(bodies) == 2  # one request per unit: load and first ("import os" is not reviewed)
    for body in bodies:
        # opened at start-up: the review waited for the workspace index, so it offers the index's tools
        # (free-text answer; the strict schema is asked only when the answer is not findings JSON)
        assert [tool["function"]["name"] for tool in body["tools"]] == ["lookup_symbol", "read_lines"]
        assert "guided_json" not in body and "guided_json" not in json.dumps(body.get("extra_body", {}))
    load_prompt = next(b["messages"][1]["content"] for b in bodies if "`load`" in b["messages"][1]["content"])
    assert "\n6 |     f = open(path)\n" in load_prompt and "import os" in load_prompt


async def test_quick_fix_replaces_the_lines_and_parses(session, standin: StandIn) -> None:
    client, root = session
    uri = (root / "app.py").as_uri()
    diagnostic = next(d for d in client.diagnostics[uri] if d.code == "unclosed-file")
    before = len(standin.chat_requests())
    actions = await client.text_document_code_action_async(types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(uri=uri), range=diagnostic.range,
        context=types.CodeActionContext(diagnostics=[diagnostic]),
    ))
    assert len(standin.chat_requests()) == before  # listed without a model call
    fix = next(a for a in actions if a.kind == types.CodeActionKind.QuickFix and a.edit is not None)
    fixed = _apply(SOURCE, _edits(fix, uri))
    lines = SOURCE.split("\n")
    assert fixed == "\n".join(lines[:5] + FIXED_LOAD.split("\n") + lines[8:])
    doc = SyntaxDocument(fixed, LanguageRegistry().for_document("python", "x.py"), LanguageRegistry())
    assert not doc.tree.root_node.has_error
    # only the lines that differ are edited
    assert all(5 <= e.range.start.line and e.range.end.line <= 8 for e in _edits(fix, uri))


async def test_fix_with_ai_is_resolved_lazily(session, standin: StandIn) -> None:
    client, root = session
    uri = (root / "app.py").as_uri()
    diagnostic = next(d for d in client.diagnostics[uri] if d.code == "off-by-one")
    standin.responder = responder
    before = len(standin.chat_requests())
    actions = await client.text_document_code_action_async(types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(uri=uri), range=diagnostic.range,
        context=types.CodeActionContext(diagnostics=[diagnostic]),
    ))
    ai = next(a for a in actions if a.title.startswith("Fix with AI"))
    assert ai.edit is None and len(standin.chat_requests()) == before
    resolved = await client.code_action_resolve_async(ai)
    request = standin.chat_requests()[-1].body
    assert request["continue_final_message"] is True and request["messages"][-1]["content"] == "```python\n"
    edits = _edits(resolved, uri)
    assert edits and all(e.range.start.line == 11 and e.range.end.line in (11, 12) for e in edits)
    assert _apply(SOURCE, edits).split("\n")[11] == '    label = "😀😀"; return items[len(items) - 1]'
    # a selection without diagnostics offers "Fix with AI" for exactly the selected lines
    selection = types.Range(start=types.Position(line=3, character=0), end=types.Position(line=5, character=4))
    offered = await client.text_document_code_action_async(types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(uri=uri), range=selection,
        context=types.CodeActionContext(diagnostics=[]),
    ))
    [rewrite] = [a for a in offered if a.title.startswith("Fix with AI")]  # the AI actions are listed too
    assert rewrite.title == "Fix with AI: lines 4-6" and rewrite.kind == types.CodeActionKind.RefactorRewrite
    assert rewrite.edit is None and rewrite.data["first"] == 3 and rewrite.data["last"] == 5
    only_fixes = await client.text_document_code_action_async(types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(uri=uri), range=selection,
        context=types.CodeActionContext(diagnostics=[], only=[types.CodeActionKind.QuickFix]),
    ))
    assert not only_fixes


async def test_reopening_an_unchanged_file_makes_no_request(session, standin: StandIn) -> None:
    client, root = session
    uri = (root / "app.py").as_uri()
    before = len(standin.chat_requests())
    client.text_document_did_close(types.DidCloseTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri)))
    assert await eventually(lambda: uri in client.diagnostics and len(client.diagnostics[uri]) == 0)
    open_doc(client, uri, SOURCE, "python", version=7)
    assert await eventually(lambda: len(client.diagnostics.get(uri, [])) == 2)
    assert len(standin.chat_requests()) == before


async def test_a_review_without_findings_publishes_an_empty_list(session, standin: StandIn) -> None:
    client, root = session
    uri = (root / "clean.py").as_uri()
    standin.responder = responder
    open_doc(client, uri, "def clean(n):\n    return n + 1\n", "python")
    assert await eventually(lambda: uri in client.diagnostics, timeout=10)  # the file was reviewed
    assert list(client.diagnostics[uri]) == []
    assert any("`clean`" in json.dumps(r.body) for r in standin.chat_requests())


async def test_a_change_cancels_the_review_in_flight(session, standin: StandIn) -> None:
    client, root = session
    uri = (root / "slow.py").as_uri()
    standin.responder = responder
    open_doc(client, uri, "def slow(n):\n    return n\n", "python")
    assert await standin.await_for(lambda reqs: any("`slow`" in json.dumps(r.body) for r in reqs), timeout=10)
    insert(client, uri, 2, 0, 0, "# edited\n")
    assert await standin.await_for(
        lambda reqs: any(r.disconnected for r in reqs if "`slow`" in json.dumps(r.body)), timeout=5
    )
    # the stand-in sees the connection close while the review task is still unwinding: poll
    deadline = time.monotonic() + 5
    while True:
        status = await client.workspace_execute_command_async(types.ExecuteCommandParams(command="mistral-lsp.status"))
        review = status["review"]
        if (review["cancelledReviews"] >= 1 and review["running"] == 0) or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.02)
    assert review["cancelledReviews"] >= 1 and review["running"] == 0, review


async def test_save_reviews_only_what_changed(session, standin: StandIn) -> None:
    client, root = session
    uri = (root / "app.py").as_uri()
    standin.responder = responder
    before = len(standin.chat_requests())
    lines = SOURCE.split("\n")
    insert(client, uri, 8, 11, 0, "    # a comment in first\n")  # inside `first`
    client.text_document_did_save(types.DidSaveTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri)))
    assert await standin.await_for(lambda reqs: len([r for r in reqs if r.path.endswith("chat/completions")])
                                   > before, timeout=10)
    assert await eventually(lambda: any(d.range.start.line == 12 for d in client.diagnostics.get(uri, [])))
    new = standin.chat_requests()[before:]
    assert len(new) == 1 and "`first`" in new[0].body["messages"][1]["content"]
    assert lines[11] in new[0].body["messages"][1]["content"]


async def test_secret_files_are_never_reviewed(session, standin: StandIn) -> None:
    client, root = session
    uri = (root / "id_rsa_helper.py").as_uri()
    standin.responder = responder
    open_doc(client, uri, "def load(path):\n    return open(path)\n", "python")
    result = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="mistral-lsp.reviewFile", arguments=[uri]))
    assert result["reviewed"] is False and "secret" in result["reason"]
    assert not any("id_rsa" in json.dumps(r.body) for r in standin.chat_requests())


async def test_workspace_review_with_progress(session, standin: StandIn) -> None:
    client, root = session
    work = root / "ws"
    (work / "pkg").mkdir(parents=True)
    (work / "node_modules").mkdir()
    (work / "pkg" / "first.py").write_text("def first(items):\n    return items[len(items)]\n")
    (work / "main.go").write_text("package main\n\nfunc main() {}\n")
    (work / "node_modules" / "dep.js").write_text("function x() {}\n")
    (work / "ignored.py").write_text("def ignored():\n    pass\n")
    (work / ".gitignore").write_text("ignored.py\n")
    (work / "server.key").write_text("-----BEGIN PRIVATE KEY-----\n")
    standin.responder = responder
    answer = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="mistral-lsp.reviewWorkspace", arguments=[work.as_uri()]))
    assert answer["started"] is True and answer["files"] == 2
    uri = (work / "pkg" / "first.py").as_uri()
    assert await eventually(lambda: len(client.diagnostics.get(uri, [])) == 1, timeout=10)
    assert client.diagnostics[uri][0].range.start == types.Position(line=1, character=11)
    assert await eventually(lambda: any(
        isinstance(r, types.WorkDoneProgressEnd) for reports in client.progress_reports.values() for r in reports))
    prompts = json.dumps([r.body for r in standin.chat_requests()])
    assert "ignored" not in prompts and "dep.js" not in prompts and "PRIVATE KEY" not in prompts


async def test_status_and_clear_cache(session) -> None:
    client, _ = session
    status = await client.workspace_execute_command_async(types.ExecuteCommandParams(command="mistral-lsp.status"))
    review = status["review"]
    assert review["diagnostics"] == "push" and review["triggers"] == ["open", "save"]
    assert review["modelCalls"] >= 3 and review["cachedUnits"] >= 2 and review["droppedFindings"] >= 1
    assert review["cacheEntries"] >= 3
    cleared = await client.workspace_execute_command_async(types.ExecuteCommandParams(command="mistral-lsp.clearCache"))
    assert cleared["reviewEntries"] >= 3
