"""The secret corpus end to end: nothing of it reaches the model or the cache.

A workspace holds one file per language and file format (``tests/secret_corpus.py``).
The real server is driven through completions (at the end of each file and with the
cursor inside secrets), reviews (with the reviewer reading every file and looking up
symbols through tool calls), "Fix with AI" on lines holding secrets, and the symbol
index's cross-file context. Every request the vLLM stand-in receives is searched for
every secret of the corpus, and so is every file under the cache dir (the SQLite
databases with their WAL and shared-memory files), byte for byte, while the server
runs and after it has exited.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from lsprotocol import types

from tests.e2e.conftest import capabilities, eventually, inline, open_doc, server_env, start_client, stop_client
from tests.secret_corpus import ALL, PARSED, PYTHON, SECRETS, CorpusFile
from tests.standin import Reply, StandIn

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]

MASK = "<redacted>"
DRIVER = '''from app.settings import make_client


def driver():
    return make_client()
'''
LOOKUPS = ("make_client", "Settings.check", "connect", "login", "Service")


def _leaks(text: str) -> list[str]:
    return [secret for secret in SECRETS if secret in text]


def _cache_bytes(cache_dir: Path) -> bytes:
    return b"".join(path.read_bytes() for path in sorted(cache_dir.rglob("*")) if path.is_file())


def _tool_calls() -> list[dict[str, Any]]:
    reads = [{"name": "read_lines", "arguments": {"path": corpus.name, "start": 1, "end": 200}} for corpus in ALL]
    finds = [{"name": "lookup_symbol", "arguments": {"name": name}} for name in LOOKUPS]
    return reads + finds


def responder(body: dict) -> Reply:
    system = body["messages"][0]["content"]
    user = body["messages"][1]["content"] if len(body["messages"]) > 1 else ""
    if body.get("stream"):
        return Reply(text="x")
    if "fixing code" in system:
        return Reply(text="    pass\n```")
    if body.get("tools") and "`driver`" in user and not any(m["role"] == "tool" for m in body["messages"]):
        return Reply(tool_calls=_tool_calls())
    findings = []
    if 'password = "<redacted>"' in user:  # the model quotes what it saw: the masked line
        findings.append({"line": 11, "quote": 'password = "<redacted>"', "severity": "error",
                         "rule": "hard-coded-password", "message": "A password is hard-coded.", "fix": None})
    return Reply(text=json.dumps({"findings": findings}))


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def workspace(standin: StandIn, tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("secrets")
    for corpus in ALL:
        path = root / corpus.name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(corpus.text)
    (root / "driver.py").write_text(DRIVER)
    cache_dir = root / ".cache"
    env = server_env(standin, cache_dir, MISTRAL_LSP_REVIEW_TRIGGERS="manual")
    client, _ = await start_client(
        standin, cache_dir, capabilities("visual-studio-code@v1.65.2", inline=True), root=root, env=env,
        init_options={"review": {"maxToolCalls": 50, "maxToolTokens": 100_000}},
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        status = await client.workspace_execute_command_async(
            types.ExecuteCommandParams(command="mistral-lsp.status", arguments=[]))
        if status["index"]["ready"]:
            break
        await asyncio.sleep(0.1)
    state = {"running": True}
    yield client, root, cache_dir, state
    if state["running"]:
        await stop_client(client)


def _cursor_in(corpus: CorpusFile, secret: str) -> tuple[int, int]:
    at = corpus.text.index(secret) + len(secret) // 2
    line = corpus.text.count("\n", 0, at)
    column = at - (corpus.text.rfind("\n", 0, at) + 1)
    prefix = corpus.text.split("\n")[line][:column]
    return line, len(prefix.encode("utf-16-le")) // 2


def _halves(corpus: CorpusFile, secret: str) -> list[str]:
    """Both halves of ``secret``, where each is long enough and found nowhere else in the file."""
    middle = len(secret) // 2
    halves = [secret[:middle], secret[middle:]]
    return [h for h in halves if len(h) >= 6 and corpus.text.count(h) == corpus.text.count(secret)]


async def test_completions_send_no_secret(workspace, standin: StandIn) -> None:
    client, root, _, _ = workspace
    standin.responder = responder
    completed: set[str] = set()
    for corpus in ALL:
        uri = (root / corpus.name).as_uri()
        open_doc(client, uri, corpus.text, corpus.language)
        last = corpus.text.rstrip("\n").split("\n")
        cursors = [(len(last) - 1, len(last[-1].encode("utf-16-le")) // 2)]
        picked = [corpus.secrets[0], corpus.secrets[len(corpus.secrets) // 2], corpus.secrets[-1]]
        cursors += [_cursor_in(corpus, secret) for secret in dict.fromkeys(picked)]
        for line, character in cursors:
            before = len(standin.chat_requests())
            await inline(client, uri, line, character)
            for request in standin.chat_requests()[before:]:
                sent = json.dumps(request.body, ensure_ascii=False)
                assert _leaks(sent) == [], (corpus.name, line)
                for secret in picked:
                    assert [h for h in _halves(corpus, secret) if h in sent] == [], (corpus.name, secret)
                completed.add(corpus.name)
    # every parsed file reached the model (the check above was not vacuous), and the plain-text ones too
    assert {c.name for c in PARSED} <= completed
    assert len(completed) == len(ALL), sorted({c.name for c in ALL} - completed)


def _open_parsed(client, root) -> None:
    """Open every parsed corpus file (again, if an earlier test did): each test runs alone too."""
    for corpus in PARSED:
        open_doc(client, (root / corpus.name).as_uri(), corpus.text, corpus.language)


async def test_reviews_and_tool_results_send_no_secret(workspace, standin: StandIn) -> None:
    client, root, _, _ = workspace
    standin.responder = responder
    _open_parsed(client, root)
    for corpus in PARSED:
        result = await client.workspace_execute_command_async(types.ExecuteCommandParams(
            command="mistral-lsp.reviewFile", arguments=[(root / corpus.name).as_uri()]))
        assert result["reviewed"], (corpus.name, result)
    driver = (root / "driver.py").as_uri()
    open_doc(client, driver, DRIVER, "python")
    result = await client.workspace_execute_command_async(types.ExecuteCommandParams(
        command="mistral-lsp.reviewFile", arguments=[driver]))
    assert result["reviewed"], result
    requests = standin.chat_requests()
    assert len(requests) > len(PARSED)
    for request in requests:
        assert _leaks(json.dumps(request.body, ensure_ascii=False)) == []
    answers = [json.loads(m["content"]) for r in requests for m in r.body["messages"] if m["role"] == "tool"]
    read = {a["path"]: a["text"] for a in answers if "text" in a}
    assert set(read) == {corpus.name for corpus in ALL}  # every file was read, none refused
    assert all(MASK in text for text in read.values())
    found = [a for a in answers if "results" in a and a["results"]]
    assert any('passphrase: str = "<redacted>"' in s["signature"] for a in found for s in a["results"])


async def test_a_finding_on_a_masked_line_lands_on_the_real_text(workspace, standin: StandIn) -> None:
    client, root, _, _ = workspace
    standin.responder = responder
    uri = (root / PYTHON.name).as_uri()
    open_doc(client, uri, PYTHON.text, PYTHON.language)
    await client.workspace_execute_command_async(types.ExecuteCommandParams(
        command="mistral-lsp.reviewFile", arguments=[uri]))

    def found() -> list[types.Diagnostic]:
        return [d for d in client.diagnostics.get(uri, []) if d.code == "hard-coded-password"]

    assert await eventually(lambda: len(found()) == 1, timeout=10)
    diagnostics = found()
    line = PYTHON.text.split("\n").index('password = "two words py03"')
    assert diagnostics[0].range == types.Range(
        start=types.Position(line=line, character=0),
        end=types.Position(line=line, character=len('password = "two words py03"')))


async def test_fix_requests_send_no_secret(workspace, standin: StandIn) -> None:
    client, root, _, _ = workspace
    standin.responder = responder
    _open_parsed(client, root)
    for corpus in PARSED:
        uri = (root / corpus.name).as_uri()
        row = corpus.text.count("\n", 0, corpus.text.index(corpus.secrets[0]))
        selection = types.Range(start=types.Position(line=row, character=0),
                                end=types.Position(line=row + 1, character=0))
        actions = await client.text_document_code_action_async(types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=uri), range=selection,
            context=types.CodeActionContext(diagnostics=[])))
        ai = next(a for a in actions if a.title.startswith("Fix with AI"))
        before = len(standin.chat_requests())
        await client.code_action_resolve_async(ai)
        sent = standin.chat_requests()[before:]
        assert len(sent) == 1, corpus.name
        body = json.dumps(sent[0].body, ensure_ascii=False)
        assert "fixing code" in body and MASK in body and _leaks(body) == [], corpus.name


async def test_no_cache_file_holds_a_secret(workspace, standin: StandIn) -> None:
    client, root, cache_dir, state = workspace
    standin.responder = responder  # (the tests above have filled the cache; on its own, this review does)
    await client.workspace_execute_command_async(types.ExecuteCommandParams(
        command="mistral-lsp.reviewFile", arguments=[(root / PYTHON.name).as_uri()]))
    files = sorted(p.name for p in cache_dir.rglob("*") if p.is_file())
    assert "reviews.sqlite3" in files and "index.sqlite3" in files, files
    data = _cache_bytes(cache_dir)
    assert b"make_client" in data and MASK.encode() in data  # the index and the reviews were stored
    assert [s for s in SECRETS if s.encode("utf-8") in data] == []
    state["running"] = False
    await stop_client(client)  # the files as the server leaves them (WAL checkpointed or not)
    data = _cache_bytes(cache_dir)
    assert [s for s in SECRETS if s.encode("utf-8") in data] == []
