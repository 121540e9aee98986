"""The workspace symbol index end to end: cross-file completion context, kept fresh."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from lsprotocol import types

from tests.e2e.conftest import capabilities, inline, open_doc, start_client, stop_client
from tests.standin import Reply, StandIn

REVIEWED = '''from pkg.geometry import area_of_circle


def ring(outer, inner):
    return area_of_circle(outer) - area_of_circle(inner, True)
'''

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]

GEOMETRY = '''"""Shapes."""

import math


def area_of_circle(radius: float, *, precise: bool = False) -> float:
    """Area of a circle of the given radius."""
    return math.pi * radius * radius


def unrelated_helper(x):
    return x
'''

APP = '''from pkg.geometry import area_of_circle


def report(r):
    total = area_of_circle('''


async def _status(client: Any) -> dict[str, Any]:
    return await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="mistral-lsp.status", arguments=[]))


async def _wait_index(client: Any, timeout: float = 20.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        status = await _status(client)
        if status["index"]["ready"] or time.monotonic() > deadline:
            return status["index"]
        await asyncio.sleep(0.1)


async def _prompt_eventually_has(client: Any, standin: StandIn, root: Path, stem: str, text: str, needle: str,
                                 timeout: float = 10.0) -> bool:
    """Complete at the end of ``text`` in a new document (so no cached answer applies) until the
    prompt the stand-in receives contains ``needle`` (the index caught up), or time runs out."""
    last = text.split("\n")[-1]
    deadline = time.monotonic() + timeout
    attempt = 0
    while time.monotonic() < deadline:
        attempt += 1
        uri = (root / f"{stem}{attempt}.py").as_uri()
        open_doc(client, uri, text, "python")
        standin.script(Reply(text="x)"))
        await inline(client, uri, text.count("\n"), len(last))
        requests = standin.chat_requests()
        if requests and needle in requests[-1].body["messages"][1]["content"]:
            return True
        await asyncio.sleep(0.3)
    return False


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def workspace(standin: StandIn, tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("indexed")
    (root / "pkg").mkdir()
    (root / "pkg" / "__init__.py").write_text("")
    (root / "pkg" / "geometry.py").write_text(GEOMETRY)
    (root / ".env").write_text("def leaked_secret_function():\n    pass\n")
    outside = tmp_path_factory.mktemp("outside") / "private.py"
    outside.write_text("OUTSIDE_SECRET = 42\n")
    (root / "link.py").symlink_to(outside)
    client, _ = await start_client(standin, root / ".cache", capabilities("neovim", inline=True), root=root)
    yield client, root
    await stop_client(client)


async def test_completion_carries_signature_from_imported_file(workspace, standin: StandIn) -> None:
    client, root = workspace
    index = await _wait_index(client)
    assert index["ready"] and index["files"] >= 2 and index["fileEvents"] == "watcher"
    uri = (root / "app.py").as_uri()
    open_doc(client, uri, APP, "python")
    standin.script(Reply(text="r)"))
    items = await inline(client, uri, 4, len("    total = area_of_circle("))
    assert items == ["r)"]
    prompt = standin.chat_requests()[-1].body["messages"][1]["content"]
    assert "Definitions from other files of the project used near the cursor" in prompt
    assert "def area_of_circle(radius: float, *, precise: bool = False) -> float:" in prompt
    assert "# pkg/geometry.py" in prompt and "Area of a circle of the given radius." in prompt
    assert "unrelated_helper" not in prompt  # only names used near the cursor
    assert "leaked_secret_function" not in prompt


async def test_new_file_on_disk_is_picked_up_by_the_watcher(workspace, standin: StandIn) -> None:
    client, root = workspace
    await _wait_index(client)
    (root / "pkg" / "units.py").write_text("def to_meters(feet: float) -> float:\n    return feet * 0.3048\n")
    text = "from pkg.units import to_meters\n\n\ndef run(x):\n    return to_meters("
    found = await _prompt_eventually_has(client, standin, root, "convert", text,
                                         "def to_meters(feet: float) -> float:")
    assert found, "the watcher never indexed pkg/units.py"


async def test_edits_in_an_open_file_reach_other_files_context(workspace, standin: StandIn) -> None:
    client, root = workspace
    await _wait_index(client)
    lib = (root / "pkg" / "shapes.py").as_uri()
    open_doc(client, lib, "def square(side):\n    return side * side\n", "python")
    client.text_document_did_change(types.DidChangeTextDocumentParams(
        text_document=types.VersionedTextDocumentIdentifier(uri=lib, version=2),
        content_changes=[types.TextDocumentContentChangePartial(
            range=types.Range(start=types.Position(line=0, character=0), end=types.Position(line=0, character=17)),
            text="def square(side: int, scale: int = 1):")]))
    text = "from pkg.shapes import square\n\n\ndef draw(n):\n    return square("
    found = await _prompt_eventually_has(client, standin, root, "draw", text, "def square(side: int, scale: int = 1):")
    assert found, "the edited (unsaved) signature never reached the index"
    assert not (root / "pkg" / "shapes.py").exists()  # it only ever existed in the editor


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def vscode(standin: StandIn, tmp_path_factory: pytest.TempPathFactory):
    """A client that offers dynamic registration of file watching (as VS Code does)."""
    import sys

    from pytest_lsp import ClientServerConfig

    from tests.e2e.conftest import server_env

    root = tmp_path_factory.mktemp("watched")
    (root / "lib.py").write_text("def helper_one(a):\n    return a\n")
    config = ClientServerConfig(server_command=[sys.executable, "-m", "lsp_server", "serve"],
                                server_env=server_env(standin, root / ".cache"))
    client = await config.start()
    registered: list[types.RegistrationParams] = []

    @client.feature(types.CLIENT_REGISTER_CAPABILITY)
    def on_register(params: types.RegistrationParams) -> None:
        registered.append(params)

    caps = capabilities("visual-studio-code", inline=True)
    assert caps.workspace.did_change_watched_files.dynamic_registration
    await client.initialize_session(types.InitializeParams(
        capabilities=caps, root_uri=root.as_uri(),
        workspace_folders=[types.WorkspaceFolder(uri=root.as_uri(), name="ws")]))
    yield client, root, registered
    await stop_client(client)


async def test_client_file_events_feed_the_index_when_it_can_watch(vscode, standin: StandIn) -> None:
    client, root, registered = vscode
    index = await _wait_index(client)
    assert index["fileEvents"] == "client"
    watchers = registered[0].registrations[0]
    assert watchers.method == types.WORKSPACE_DID_CHANGE_WATCHED_FILES
    globs = [w["globPattern"] for w in watchers.register_options["watchers"]]
    assert any(".py" in g or "py," in g for g in globs), globs
    # a file written to disk is NOT picked up by a watcher of our own: the client is the source
    (root / "later.py").write_text("def helper_two(b):\n    return b\n")
    await asyncio.sleep(1.5)
    assert (await _status(client))["index"]["symbols"] == index["symbols"]
    client.workspace_did_change_watched_files(types.DidChangeWatchedFilesParams(changes=[
        types.FileEvent(uri=(root / "later.py").as_uri(), type=types.FileChangeType.Created)]))
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and (await _status(client))["index"]["symbols"] == index["symbols"]:
        await asyncio.sleep(0.05)
    assert (await _status(client))["index"]["symbols"] == index["symbols"] + 1


async def _review(client: Any, uri: str) -> dict[str, Any]:
    return await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="mistral-lsp.reviewFile", arguments=[uri]))


def _tool_messages(request: Any) -> list[dict[str, Any]]:
    return [m for m in request.body["messages"] if m["role"] == "tool"]


async def test_review_looks_up_a_symbol_through_a_tool_call(workspace, standin: StandIn) -> None:
    import json

    client, root = workspace
    await _wait_index(client)
    uri = (root / "ring.py").as_uri()
    open_doc(client, uri, REVIEWED, "python")
    finding = {"findings": [{"line": 5, "quote": "area_of_circle(inner, True)", "severity": "error",
                             "rule": "keyword-only-argument", "message": "precise is keyword-only.", "fix": None}]}
    standin.script(
        Reply(tool_calls=[{"name": "lookup_symbol", "arguments": {"name": "area_of_circle"}}]),
        Reply(tool_calls=[
            {"name": "read_lines", "arguments": {"path": "../outside/private.py", "start": 1, "end": 1}},
            {"name": "read_lines", "arguments": {"path": "/etc/passwd", "start": 1, "end": 2}},
            {"name": "read_lines", "arguments": {"path": ".env", "start": 1, "end": 1}},
            {"name": "read_lines", "arguments": {"path": "link.py", "start": 1, "end": 1}},
            {"name": "read_lines", "arguments": {"path": "pkg/geometry.py", "start": 6, "end": 8}},
        ]),
        Reply(text=json.dumps(finding)),
    )
    result = await _review(client, uri)
    assert result["reviewed"] and result["findings"] == 1, result
    first, second, third = standin.chat_requests()[-3:]
    assert [t["function"]["name"] for t in first.body["tools"]] == ["lookup_symbol", "read_lines"]
    assert "response_format" not in first.body  # tools and structured output do not mix
    assert "lookup_symbol(name)" in first.body["messages"][-1]["content"]
    # the signature was already in the prompt as context from the index
    assert "def area_of_circle(radius: float, *, precise: bool = False) -> float:" in first.body["messages"][1]["content"]
    looked_up = _tool_messages(second)
    assert len(looked_up) == 1 and "pkg/geometry.py" in looked_up[0]["content"]
    assert "precise: bool = False" in looked_up[0]["content"]
    assert second.body["messages"][-2]["tool_calls"][0]["function"]["name"] == "lookup_symbol"
    answers = [json.loads(m["content"]) for m in _tool_messages(third)[1:]]
    assert [("error" in a) for a in answers] == [True, True, True, True, False]
    assert "OUTSIDE_SECRET" not in json.dumps(third.body) and "leaked_secret_function" not in json.dumps(third.body)
    assert "return math.pi * radius * radius" in answers[4]["text"]


async def test_the_call_budget_ends_a_looping_model(workspace, standin: StandIn) -> None:
    import json

    client, root = workspace
    await _wait_index(client)
    uri = (root / "loop.py").as_uri()
    open_doc(client, uri, REVIEWED.replace("ring", "ring_loop"), "python")
    looping = Reply(tool_calls=[{"name": "lookup_symbol", "arguments": {"name": "area_of_circle"}}])

    def answer(body: dict) -> Reply:  # calls a tool whenever it may, answers only when it must
        return looping if body.get("tools") else Reply(text=json.dumps({"findings": []}))

    standin.responder = answer
    before = len(standin.chat_requests())
    result = await _review(client, uri)
    assert result["reviewed"] and not result["errors"], result
    sent = standin.chat_requests()[before:]
    assert [bool(r.body.get("tools")) for r in sent] == [True] * 6 + [False]  # review.maxToolCalls = 6
    assert len(_tool_messages(sent[-1])) == 6
    assert sent[-1].body["response_format"]["type"] == "json_schema"


async def test_review_without_tool_support_falls_back_to_a_plain_review(workspace, standin: StandIn) -> None:
    import json

    client, root = workspace
    await _wait_index(client)
    uri = (root / "ring2.py").as_uri()
    open_doc(client, uri, REVIEWED.replace("ring", "ring_two"), "python")
    standin.script(
        Reply(mode="error", status=400,
              error_message='"auto" tool choice requires --enable-auto-tool-choice and --tool-call-parser to be set'),
        Reply(text=json.dumps({"findings": []})),
    )
    result = await _review(client, uri)
    assert result["reviewed"] and not result["errors"], result
    refused, plain = standin.chat_requests()[-2:]
    assert "tools" in refused.body and "tools" not in plain.body
    assert plain.body["response_format"]["type"] == "json_schema"


async def test_added_and_removed_workspace_folders_are_followed(workspace, tmp_path_factory) -> None:
    client, root = workspace
    await _wait_index(client)
    extra = tmp_path_factory.mktemp("second-folder")
    (extra / "tools.py").write_text("def second_folder_helper(x):\n    return x\n")
    folder = types.WorkspaceFolder(uri=extra.as_uri(), name="second")
    client.workspace_did_change_workspace_folders(types.DidChangeWorkspaceFoldersParams(
        event=types.WorkspaceFoldersChangeEvent(added=[folder], removed=[])))
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        index = (await _status(client))["index"]
        if str(extra.resolve()) in index["roots"] and index["ready"]:
            break
        await asyncio.sleep(0.05)
    assert str(extra.resolve()) in index["roots"] and index["ready"], index
    symbols = index["symbols"]
    client.workspace_did_change_workspace_folders(types.DidChangeWorkspaceFoldersParams(
        event=types.WorkspaceFoldersChangeEvent(added=[], removed=[folder])))
    deadline = time.monotonic() + 5
    while str(extra.resolve()) in (index := (await _status(client))["index"])["roots"] and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert str(extra.resolve()) not in index["roots"] and index["symbols"] == symbols - 1, index
