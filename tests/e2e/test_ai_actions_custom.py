"""The user's own AI actions from .mistral-lsp.toml (and the editor's settings), end to end: bad
definitions are reported by file, entry and field while the server goes on; good ones appear where
they apply and give exactly the expected text. Also: cancelling an action mid-generation (the
request, the command, or its progress bar) closes the model stream."""

from __future__ import annotations

import asyncio

import pytest
import pytest_asyncio
from lsprotocol import types

from tests.e2e.actions_client import (
    ActionClient, action_of, actions_at, apply_edits, edits_for, reply, rng, start_action_client, titled,
)
from tests.e2e.conftest import capabilities, eventually, open_doc
from tests.standin import Reply, StandIn

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]

PROJECT = '''
[[actions.custom]]
name = "add-logging"
title = "Add logging"
prompt = """Add debug logging with the standard logging module to `{name}` ({lines} of {path}):
```{language}
{code}
```
Answer with the complete new code of the function in one code block."""
scope = "function"
languages = ["python"]

[[actions.custom]]
name = "comment-fr"
title = "Comment in French"
prompt = "Write a one-line comment in French that explains this {language} code:\\n{selection}"
scope = "selection"
output = "insert-before"

[[actions.custom]]
name = "summary"
title = "Summarise this file"
prompt = "Summarise {file} in three bullet points:\\n```{language}\\n{code}\\n```"
scope = "file"
output = "explain"

[[actions.custom]]
name = "ask"
title = "Ask about this code"
prompt = "{instruction}\\n```{language}\\n{code}\\n```"
scope = ["selection", "function"]
output = "explain"
temperature = 0.6

[[actions.custom]]
name = "broken"
prompt = "Use {nothing} here"

[[actions.custom]]
title = "Nameless"
prompt = "{code}"
'''

APP = '''import json


def load(path):
    with open(path) as f:
        return json.load(f)


def save(path, data):
    with open(path, "w") as f:
        json.dump(data, f)
'''


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def session(standin: StandIn, tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("actions-custom")
    (root / ".mistral-lsp.toml").write_text(PROJECT)
    editor = {"actions": {"custom": [{"name": "summary", "title": "Summarise (editor)", "output": "explain",
                                      "scope": "file", "prompt": "Summarise {path} briefly:\n{code}"}]}}
    session = await start_action_client(standin, root, capabilities("visual-studio-code@v1.65.2", inline=True),
                                        init_options=editor)
    yield session
    await session.client.shutdown_session()


def _open(session: ActionClient, name: str, text: str, language: str) -> str:
    (session.root / name).write_text(text)
    uri = session.uri(name)
    open_doc(session.client, uri, text, language)
    return uri


async def test_bad_definitions_are_reported_and_the_server_goes_on(session: ActionClient) -> None:
    assert await eventually(lambda: any("actions.custom" in m.message for m in session.client.messages), timeout=10)
    said = next(m.message for m in session.client.messages if "actions.custom" in m.message)
    assert (".mistral-lsp.toml: actions.custom[4] ('broken'): field 'prompt': unknown field {nothing}") in said
    assert ".mistral-lsp.toml: actions.custom[5]: field 'name': required" in said
    status = await session.client.workspace_execute_command_async(types.ExecuteCommandParams(
        command="mistral-lsp.status", arguments=[]))
    available = status["actions"]["available"]
    assert {"add-logging", "comment-fr", "summary", "ask"} <= set(available)
    assert "broken" not in available


async def test_a_user_action_rewrites_the_function(session: ActionClient, standin: StandIn) -> None:
    uri = _open(session, "app.py", APP, "python")
    offered = [a.title for a in await actions_at(session.client, uri, rng(4, 8))]
    assert "Add logging: load" in offered
    assert "Summarise (editor): this file" in offered  # the editor's definition replaces the project's
    assert not any(t.startswith("Comment in French") for t in offered)  # no selection
    go = _open(session, "main.go", "package main\n\nfunc main() {\n\tprintln(1)\n}\n", "go")
    assert not any(a.title.startswith("Add logging") for a in await actions_at(session.client, go, rng(3, 2)))
    standin.script(reply("import logging\n\ndef load(path):\n    logging.debug(\"loading %s\", path)\n"
                         "    with open(path) as f:\n        return json.load(f)\n```"))
    action = titled(await actions_at(session.client, uri, rng(4, 8)), "Add logging: load")
    resolved = await session.client.code_action_resolve_async(action)
    body = standin.chat_requests()[-1].body
    user = body["messages"][1]["content"]
    assert "Add debug logging with the standard logging module to `load` (lines 4-6 of app.py):\n```python\n" \
           "def load(path):\n" in user
    assert body["messages"][-1]["content"] == "```python\n" and body["temperature"] == 0.15
    # the model's import line would land outside the function: it is part of the function's text here
    new = apply_edits(APP, edits_for(resolved.edit, uri))
    assert new == APP.replace("def load(path):\n", "import logging\n\ndef load(path):\n"
                              "    logging.debug(\"loading %s\", path)\n")


async def test_insert_before_a_selection(session: ActionClient, standin: StandIn) -> None:
    uri = session.uri("app.py")
    action = titled(await actions_at(session.client, uri, rng(9, 4, 10, 26)), "Comment in French")
    standin.script(reply("# Écrit les données en JSON dans le fichier 😀\n```"))
    resolved = await session.client.code_action_resolve_async(action)
    user = standin.chat_requests()[-1].body["messages"][1]["content"]
    assert user.endswith('explains this python code:\nwith open(path, "w") as f:\n        json.dump(data, f)')
    assert apply_edits(APP, edits_for(resolved.edit, uri)) == APP.replace(
        '    with open(path, "w") as f:\n',
        '    # Écrit les données en JSON dans le fichier 😀\n    with open(path, "w") as f:\n')


async def test_explain_the_whole_file_and_ask_with_an_instruction(session: ActionClient, standin: StandIn) -> None:
    uri = session.uri("app.py")
    summary = titled(await actions_at(session.client, uri, rng(0, 0)), "Summarise (editor)")
    standin.script(reply("- loads JSON\n- saves JSON\n- nothing else"))
    answer = await session.client.workspace_execute_command_async(types.ExecuteCommandParams(
        command="mistral-lsp.runAction", arguments=[dict(summary.command.arguments[0], display="client")]))
    assert answer["markdown"] == "- loads JSON\n- saves JSON\n- nothing else"
    assert standin.chat_requests()[-1].body["messages"][1]["content"].endswith(
        "Summarise app.py briefly:\n" + APP.rstrip("\n"))
    ask = titled(await actions_at(session.client, uri, rng(9, 4)), "Ask about this code")
    assert ask.command is not None and ask.data is None
    standin.script(reply("It overwrites the file."))
    answer = await session.client.workspace_execute_command_async(types.ExecuteCommandParams(
        command="mistral-lsp.runAction",
        arguments=[dict(ask.command.arguments[0], display="client", instruction="What if the file exists?")]))
    assert answer["markdown"] == "It overwrites the file."
    body = standin.chat_requests()[-1].body
    assert body["temperature"] == 0.6 and "What if the file exists?\n```python\ndef save(path, data):" in \
        body["messages"][1]["content"]


async def test_list_actions_names_what_applies(session: ActionClient) -> None:
    uri = session.uri("app.py")
    listed = await session.client.workspace_execute_command_async(types.ExecuteCommandParams(
        command="mistral-lsp.listActions", arguments=[{"uri": uri, "range": {"start": {"line": 4, "character": 8},
                                                                             "end": {"line": 4, "character": 8}}}]))
    names = {item["action"]: item for item in listed}
    assert names["ask"]["asksInstruction"] is True and names["ask"]["builtin"] is False
    assert names["optimise"]["title"] == "Optimise with AI: load" and names["optimise"]["builtin"] is True
    assert "implement" not in names and "edit" not in names


# -- cancellation --------------------------------------------------------------------------------


def _streaming(standin: StandIn, name: str):
    def predicate(records) -> bool:
        return any(r.path == "/v1/chat/completions" and r.body and action_of(r.body) == name and r.ended_at is None
                   for r in records)

    return predicate


def _closed(standin: StandIn, name: str) -> bool:
    found = [r for r in standin.chat_requests() if r.body and action_of(r.body) == name]
    return bool(found) and found[-1].disconnected


async def test_cancelling_the_resolve_closes_the_model_stream(session: ActionClient, standin: StandIn) -> None:
    uri = session.uri("app.py")
    action = titled(await actions_at(session.client, uri, rng(4, 8)), "Optimise with AI")
    standin.script(Reply(text=" faster\n```python\n" + "    pass\n" * 400 + "```", chunk_delay=0.05))
    request = asyncio.ensure_future(session.client.protocol.send_request_async(types.CODE_ACTION_RESOLVE, action))
    assert await standin.await_for(_streaming(standin, "optimise"), timeout=10)
    pending = [k for k, f in session.client.protocol._request_futures.items() if not f.done()]
    assert pending, "the resolve is in flight"
    for key in pending:
        session.client.protocol.notify(types.CANCEL_REQUEST, types.CancelParams(id=key))
    with pytest.raises(Exception, match="cancel"):
        await asyncio.wait_for(request, 10)
    assert await standin.await_for(lambda _: _closed(standin, "optimise"), timeout=10), "the stream was not closed"


async def test_cancelling_the_command_closes_the_model_stream(session: ActionClient, standin: StandIn) -> None:
    uri = session.uri("app.py")
    explain = titled(await actions_at(session.client, uri, rng(4, 8)), "Explain with AI")
    standin.script(Reply(text="word " * 2000, chunk_delay=0.05))
    params = types.ExecuteCommandParams(command="mistral-lsp.runAction",
                                        arguments=[dict(explain.command.arguments[0], display="client")])
    request = asyncio.ensure_future(session.client.protocol.send_request_async(types.WORKSPACE_EXECUTE_COMMAND, params))
    assert await standin.await_for(_streaming(standin, "explain"), timeout=10)
    pending = [k for k, f in session.client.protocol._request_futures.items() if not f.done()]
    for key in pending:
        session.client.protocol.notify(types.CANCEL_REQUEST, types.CancelParams(id=key))
    with pytest.raises(Exception, match="cancel"):
        await asyncio.wait_for(request, 10)
    assert await standin.await_for(lambda _: _closed(standin, "explain"), timeout=10), "the stream was not closed"


async def test_cancelling_the_progress_bar_stops_the_action(session: ActionClient, standin: StandIn) -> None:
    uri = session.uri("app.py")
    explain = titled(await actions_at(session.client, uri, rng(4, 8)), "Explain with AI")
    standin.script(Reply(text="word " * 2000, chunk_delay=0.05))
    known = set(session.client.progress_reports)
    request = asyncio.ensure_future(session.client.workspace_execute_command_async(types.ExecuteCommandParams(
        command="mistral-lsp.runAction", arguments=[dict(explain.command.arguments[0], display="client")])))
    assert await eventually(lambda: any(str(t).startswith("mistral-lsp/action/") for t in
                                        set(session.client.progress_reports) - known), timeout=10)
    token = next(t for t in set(session.client.progress_reports) - known if str(t).startswith("mistral-lsp/action/"))
    assert await eventually(lambda: bool(session.client.progress_reports[token]), timeout=10)  # created, then begun
    begin = session.client.progress_reports[token][0]
    assert begin.kind == "begin" and begin.cancellable is True and begin.title == "mistral-lsp: Explain with AI"
    session.client.protocol.notify(types.WINDOW_WORK_DONE_PROGRESS_CANCEL, types.WorkDoneProgressCancelParams(token=token))
    answer = await asyncio.wait_for(request, 10)
    assert answer == {"ok": False, "message": "cancelled", "needsInstruction": False, "cancelled": True}
    assert await standin.await_for(lambda _: _closed(standin, "explain"), timeout=10), "the stream was not closed"
    assert await eventually(lambda: session.client.progress_reports[token][-1].kind == "end")


async def test_apply_false_returns_the_edit_instead(session: ActionClient, standin: StandIn) -> None:
    uri = _open(session, "app_utf8.py", APP, "python")
    standin.script(reply("    with open(path, encoding=\"utf-8\") as f:\n        return json.load(f)\n```"))
    applied = len(session.applied)
    answer = await session.client.workspace_execute_command_async(types.ExecuteCommandParams(
        command="mistral-lsp.runAction", arguments=[{"action": "edit", "uri": uri, "apply": False,
                                                     "instruction": "read it as UTF-8",
                                                     "range": {"start": {"line": 4, "character": 0},
                                                               "end": {"line": 6, "character": 0}}}]))
    assert answer["ok"] is True and len(session.applied) == applied  # nothing sent to the editor
    [change] = answer["edit"]["documentChanges"]
    assert change["textDocument"] == {"uri": uri, "version": 1}
    assert change["edits"] == [{"range": {"start": {"line": 4, "character": 0}, "end": {"line": 5, "character": 0}},
                                "newText": "    with open(path, encoding=\"utf-8\") as f:\n"}]
