"""AI actions end to end in Python, as VS Code sees them (UTF-16, versioned edits, file creation):
the list is instant and model-free, ``codeAction/resolve`` calls the model, and each action's
edit gives exactly the expected text. Refusals (syntax errors, a changed signature, a stale
target) edit nothing and say why."""

from __future__ import annotations

import asyncio
import json

import pytest
import pytest_asyncio
from lsprotocol import types

from tests.e2e.actions_client import (
    ActionClient, action_of, actions_at, apply_edits, edits_for, reply, rng, start_action_client, titled,
)
from tests.e2e.conftest import capabilities, eventually, insert, open_doc
from tests.standin import Reply, StandIn

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]

GEO = '''import math


def area(radius: float) -> float:
    """Return the area of a circle of the given radius."""
    raise NotImplementedError


class Shapes:
    def total(self, radii: list[float]) -> float:
        # TODO: sum the areas of all the circles
        pass

    def count_big(self, radii: list[float], limit: float) -> int: ...


def unique(items):
    out = []
    for item in items:
        if item not in out:
            out.append(item)
    return out


def f():
    pass
'''


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def session(standin: StandIn, tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("actions-py")
    (root / "tests").mkdir()
    (root / "tests" / "test_other.py").write_text("def test_nothing():\n    assert True\n")
    session = await start_action_client(standin, root, capabilities("visual-studio-code@v1.65.2", inline=True))
    yield session
    await session.client.shutdown_session()


async def _open(session: ActionClient, name: str, text: str, language: str = "python") -> str:
    uri = session.uri(name)
    (session.root / name).write_text(text)
    open_doc(session.client, uri, text, language)
    return uri


async def _resolve(session: ActionClient, action: types.CodeAction) -> types.CodeAction:
    assert action.edit is None and action.data is not None, "an edit action is resolved lazily"
    return await session.client.code_action_resolve_async(action)


async def test_the_list_is_model_free_and_offered_only_where_it_applies(session: ActionClient, standin: StandIn) -> None:
    uri = await _open(session, "geo.py", GEO)
    before = len(standin.chat_requests())
    stub = await actions_at(session.client, uri, rng(5, 4))
    titles = [a.title for a in stub]
    at_the_end = [a.title for a in await actions_at(session.client, uri, rng(5, 29))]  # after the last character
    assert "Implement with AI: area" in at_the_end
    assert "Implement with AI: area" in titles
    assert not any(t.startswith(("Optimise", "Explain")) for t in titles)  # nothing to optimise in a stub
    assert "Document with AI: area" in titles and "Write tests with AI: area" in titles
    body = await actions_at(session.client, uri, rng(19, 8))
    body_titles = [a.title for a in body]
    assert "Optimise with AI: unique" in body_titles and "Explain with AI: unique" in body_titles
    assert not any(t.startswith("Implement") for t in body_titles)  # it has a body
    assert not any(t.startswith("Implement") for t in [a.title for a in await actions_at(session.client, uri, rng(25, 5))])
    assert not any(t.startswith("Edit with AI") for t in body_titles)  # no selection
    selected = await actions_at(session.client, uri, rng(18, 0, 21, 0))
    edit = titled(selected, "Edit with AI")
    assert edit.title == "Edit with AI…: lines 19-21" and edit.command is not None and edit.data is None
    assert edit.command.command == "mistral-lsp.runAction"
    assert titled(selected, "Optimise with AI").title == "Optimise with AI: lines 19-21"  # the selection wins
    assert titled(selected, "Explain with AI").command is not None  # explanations run as a command
    assert len(standin.chat_requests()) == before
    only = await actions_at(session.client, uri, rng(5, 4), only=["refactor.rewrite"])
    assert {a.kind for a in only} <= {"refactor.rewrite.ai.implement", "refactor.rewrite.ai.document",
                                      "refactor.rewrite"}
    assert not await actions_at(session.client, uri, rng(5, 4), only=["quickfix"])


async def test_implement_replaces_the_stub_lines_only(session: ActionClient, standin: StandIn) -> None:
    uri = session.uri("geo.py")
    action = titled(await actions_at(session.client, uri, rng(5, 10)), "Implement with AI")
    standin.script(reply("    return math.pi * radius ** 2\n```\nThis computes the area."))
    resolved = await _resolve(session, action)
    body = standin.chat_requests()[-1].body
    assert body["continue_final_message"] is True and body["temperature"] == 0.15 and body["stream"] is True
    assert body["messages"][-1]["content"] == (
        '```python\ndef area(radius: float) -> float:\n    """Return the area of a circle of the given radius."""\n')
    assert "Imports of this file:\n```python\nimport math\n```" in body["messages"][1]["content"]
    assert "priority" not in body
    edits = edits_for(resolved.edit, uri)
    assert all(e.range.start.line == 5 and e.range.end.line <= 6 for e in edits)
    assert apply_edits(GEO, edits) == GEO.replace("    raise NotImplementedError\n",
                                                  "    return math.pi * radius ** 2\n")


async def test_implement_in_a_method_takes_the_files_indentation(session: ActionClient, standin: StandIn) -> None:
    uri = session.uri("geo.py")
    action = titled(await actions_at(session.client, uri, rng(11, 8)), "Implement with AI: total")
    # the model indents by two spaces and starts one level too deep; the file uses four
    standin.script(reply("          total = 0.0\n          for r in radii:\n            total += area(r)\n"
                         "          return total\n\n    def count_big(self):\n```"))
    resolved = await _resolve(session, action)
    assert resolved.edit is not None
    new = apply_edits(GEO, edits_for(resolved.edit, uri))
    assert new == GEO.replace(
        "        # TODO: sum the areas of all the circles\n        pass\n",
        "        total = 0.0\n        for r in radii:\n            total += area(r)\n        return total\n")


async def test_implement_a_one_line_stub(session: ActionClient, standin: StandIn) -> None:
    uri = session.uri("geo.py")
    action = titled(await actions_at(session.client, uri, rng(13, 10)), "Implement with AI: count_big")
    standin.script(reply("        return sum(1 for r in radii if r > limit)\n```"))
    resolved = await _resolve(session, action)
    new = apply_edits(GEO, edits_for(resolved.edit, uri))
    assert new == GEO.replace(
        "    def count_big(self, radii: list[float], limit: float) -> int: ...\n",
        "    def count_big(self, radii: list[float], limit: float) -> int:\n"
        "        return sum(1 for r in radii if r > limit)\n")
    assert standin.chat_requests()[-1].body["messages"][-1]["content"].endswith(
        "    def count_big(self, radii: list[float], limit: float) -> int:\n")


async def test_an_implementation_that_does_not_parse_is_refused(session: ActionClient, standin: StandIn) -> None:
    uri = session.uri("geo.py")
    action = titled(await actions_at(session.client, uri, rng(5, 4)), "Implement with AI")
    standin.script(reply("    return math.pi * (radius ** 2\n```"))
    messages = len(session.client.messages)
    resolved = await _resolve(session, action)
    assert resolved.edit is None
    assert await eventually(lambda: len(session.client.messages) > messages)
    assert session.client.messages[-1].message == (
        "mistral-lsp: Implement with AI: area: the model's code would add syntax errors; nothing was applied")


async def test_optimise_keeps_the_signature_and_says_why(session: ActionClient, standin: StandIn) -> None:
    uri = session.uri("geo.py")
    action = titled(await actions_at(session.client, uri, rng(19, 8)), "Optimise with AI: unique")
    standin.script(reply(" `item not in out` scans the list each time (quadratic); a set makes it linear.\n\n"
                         "```python\ndef unique(items):\n    seen = set()\n    out = []\n    for item in items:\n"
                         "        if item not in seen:\n            seen.add(item)\n            out.append(item)\n"
                         "    return out\n```\n"))
    resolved = await _resolve(session, action)
    body = standin.chat_requests()[-1].body
    assert body["messages"][-1] == {"role": "assistant", "content": "Why:"}
    new = apply_edits(GEO, edits_for(resolved.edit, uri))
    assert new == GEO.replace(
        "    out = []\n    for item in items:\n        if item not in out:\n            out.append(item)\n",
        "    seen = set()\n    out = []\n    for item in items:\n        if item not in seen:\n"
        "            seen.add(item)\n            out.append(item)\n")
    assert resolved.command is not None and resolved.command.command == "mistral-lsp.showNote"
    note = resolved.command.arguments[0]
    assert note == ("Optimise with AI: `item not in out` scans the list each time (quadratic); "
                    "a set makes it linear.")
    shown = await session.client.workspace_execute_command_async(types.ExecuteCommandParams(
        command="mistral-lsp.showNote", arguments=[note]))
    assert shown == {"shown": True}
    assert await eventually(lambda: session.client.messages[-1].message == f"mistral-lsp: {note}")


async def test_optimise_that_changes_the_signature_is_refused(session: ActionClient, standin: StandIn) -> None:
    uri = session.uri("geo.py")
    action = titled(await actions_at(session.client, uri, rng(19, 8)), "Optimise with AI: unique")
    standin.script(reply(" dict.fromkeys keeps order.\n```python\ndef unique(items, key=None):\n"
                         "    return list(dict.fromkeys(items))\n```"))
    resolved = await _resolve(session, action)
    assert resolved.edit is None
    assert await eventually(lambda: session.client.messages[-1].message.endswith(
        "the model changed the function's signature; nothing was applied"))


async def test_explain_returns_markdown_through_the_command(session: ActionClient, standin: StandIn) -> None:
    uri = session.uri("geo.py")
    action = titled(await actions_at(session.client, uri, rng(19, 8)), "Explain with AI: unique")
    assert action.command is not None
    args = dict(action.command.arguments[0], display="client")
    standin.script(reply("```markdown\n`unique` returns the items **without duplicates**, in first-seen order.\n```"))
    answer = await session.client.workspace_execute_command_async(types.ExecuteCommandParams(
        command=action.command.command, arguments=[args]))
    assert answer == {"ok": True, "message": "Explain with AI: unique", "title": "Explain with AI: unique",
                      "markdown": "`unique` returns the items **without duplicates**, in first-seen order."}
    body = standin.chat_requests()[-1].body
    assert "continue_final_message" not in body and body["messages"][-1]["role"] == "user"
    assert "You are mistral-lsp" in body["messages"][0]["content"] and "Markdown" in body["messages"][0]["content"]


async def test_document_adds_a_docstring(session: ActionClient, standin: StandIn) -> None:
    uri = session.uri("geo.py")
    action = titled(await actions_at(session.client, uri, rng(19, 8)), "Document with AI: unique")
    standin.script(reply("Return the items without duplicates, keeping their first order.\n\n"
                         "        Args:\n            items: any iterable of hashable or comparable values.\n"
                         '        """\n    out = []\n```'))
    resolved = await _resolve(session, action)
    prefill = standin.chat_requests()[-1].body["messages"][-1]["content"]
    assert prefill == '```python\ndef unique(items):\n    """'
    user = standin.chat_requests()[-1].body["messages"][1]["content"]
    assert "Documentation as this file already writes it:\n```python\n" in user  # area's docstring as the sample
    new = apply_edits(GEO, edits_for(resolved.edit, uri))
    assert new == GEO.replace(
        "def unique(items):\n",
        'def unique(items):\n    """Return the items without duplicates, keeping their first order.\n\n'
        "    Args:\n        items: any iterable of hashable or comparable values.\n    \"\"\"\n")


async def test_document_refreshes_an_existing_docstring(session: ActionClient, standin: StandIn) -> None:
    uri = session.uri("geo.py")
    action = titled(await actions_at(session.client, uri, rng(3, 6)), "Document with AI: area")
    standin.script(reply('Return the area of a circle.\n\n    Raises nothing; a negative radius gives a positive area.'
                         '"""\n'))
    resolved = await _resolve(session, action)
    new = apply_edits(GEO, edits_for(resolved.edit, uri))
    assert new == GEO.replace(
        '    """Return the area of a circle of the given radius."""\n',
        '    """Return the area of a circle.\n\n    Raises nothing; a negative radius gives a positive area."""\n')


async def test_write_tests_creates_the_file_under_tests(session: ActionClient, standin: StandIn) -> None:
    uri = session.uri("geo.py")
    action = titled(await actions_at(session.client, uri, rng(19, 8)), "Write tests with AI: unique")
    standin.script(reply("import pytest\n\nfrom geo import unique\n\n\ndef test_unique_keeps_order():\n"
                         "    assert unique([3, 1, 3, 2, 1]) == [3, 1, 2]\n```"))
    resolved = await _resolve(session, action)
    user = standin.chat_requests()[-1].body["messages"][1]["content"]
    assert "with pytest (plain test functions and assert), to go in `tests/test_geo.py`" in user
    assert "Import what the tests use from `geo`" in user
    changes = resolved.edit.document_changes
    test_uri = (session.root / "tests" / "test_geo.py").as_uri()
    create = changes[0]
    assert isinstance(create, types.CreateFile) and create.uri == test_uri
    assert create.options.overwrite is False and create.options.ignore_if_exists is True
    [edit] = edits_for(resolved.edit, test_uri)
    assert edit.range == rng(0, 0) and edit.new_text == (
        "import pytest\n\nfrom geo import unique\n\n\ndef test_unique_keeps_order():\n"
        "    assert unique([3, 1, 3, 2, 1]) == [3, 1, 2]\n")
    assert not edits_for(resolved.edit, uri)  # the source file is not touched


async def test_write_tests_appends_to_an_existing_file(session: ActionClient, standin: StandIn) -> None:
    existing = "from geo import area\n\n\ndef test_area():\n    assert area(1) > 3\n"
    (session.root / "tests" / "test_geo.py").write_text(existing)
    uri = session.uri("geo.py")
    action = titled(await actions_at(session.client, uri, rng(19, 8)), "Write tests with AI: unique")
    standin.script(reply("def test_unique_empty():\n    assert unique([]) == []\n```"))
    resolved = await _resolve(session, action)
    user = standin.chat_requests()[-1].body["messages"][1]["content"]
    assert "The test file already exists" in user and "def test_area():" in user
    test_uri = (session.root / "tests" / "test_geo.py").as_uri()
    assert not any(isinstance(c, types.CreateFile) for c in resolved.edit.document_changes)
    edits = edits_for(resolved.edit, test_uri)
    assert apply_edits(existing, edits) == existing + "\n\ndef test_unique_empty():\n    assert unique([]) == []\n"
    assert all(e.range.start == types.Position(line=5, character=0) for e in edits)  # at the end: never overwrites


async def test_edit_with_instruction_applies_through_apply_edit(session: ActionClient, standin: StandIn) -> None:
    uri = session.uri("geo.py")
    action = titled(await actions_at(session.client, uri, rng(18, 0, 21, 0)), "Edit with AI")
    args = dict(action.command.arguments[0])
    missing = await session.client.workspace_execute_command_async(types.ExecuteCommandParams(
        command="mistral-lsp.runAction", arguments=[args]))
    assert missing["ok"] is False and missing["needsInstruction"] is True
    standin.script(reply("    for item in items:\n        if item not in out:  # keep the first\n"
                         "            out.append(item)\n```"))
    applied = len(session.applied)
    answer = await session.client.workspace_execute_command_async(types.ExecuteCommandParams(
        command="mistral-lsp.runAction", arguments=[dict(args, instruction="comment the membership test")]))
    assert answer["ok"] is True, answer
    assert "Instruction: comment the membership test" in standin.chat_requests()[-1].body["messages"][1]["content"]
    assert len(session.applied) == applied + 1
    params = session.applied[-1]
    assert params.label == "Edit with AI: lines 19-21"
    [change] = params.edit.document_changes
    assert change.text_document.version == 1  # stamped: the client refuses it if the file moved on
    assert apply_edits(GEO, change.edits) == GEO.replace("        if item not in out:\n",
                                                        "        if item not in out:  # keep the first\n")


async def test_an_action_on_changed_code_is_refused(session: ActionClient, standin: StandIn) -> None:
    text = "def double(values):\n    return [v * 2 for v in values]\n"
    uri = await _open(session, "changed.py", text)
    action = titled(await actions_at(session.client, uri, rng(1, 4)), "Optimise with AI")
    insert(session.client, uri, 2, 1, 4, "x = 1\n    ")
    requests = len(standin.chat_requests())
    resolved = await _resolve(session, action)
    assert resolved.edit is None and len(standin.chat_requests()) == requests
    assert await eventually(lambda: "the code changed since the action was offered" in session.client.messages[-1].message)


async def test_a_change_while_the_model_writes_is_refused(session: ActionClient, standin: StandIn) -> None:
    text = "def triple(values):\n    return [v * 3 for v in values]\n"
    uri = await _open(session, "moving.py", text)
    action = titled(await actions_at(session.client, uri, rng(1, 4)), "Optimise with AI")
    standin.script(Reply(text=" faster.\n```python\ndef triple(values):\n    return [3 * v for v in values]\n```",
                         first_token_delay=1.0))
    task = asyncio.ensure_future(session.client.code_action_resolve_async(action))
    assert await standin.await_for(lambda rs: any(r.path == "/v1/chat/completions" and r.body and
                                                  action_of(r.body) == "optimise" and r.ended_at is None for r in rs),
                                   timeout=10)
    insert(session.client, uri, 2, 1, 11, "list(")
    resolved = await task
    assert resolved.edit is None
    assert await eventually(lambda: "changed while the model was writing" in session.client.messages[-1].message)


async def test_secret_files_get_no_actions(session: ActionClient, standin: StandIn) -> None:
    uri = await _open(session, "credentials.json", '{"a": 1}\n', "json")
    assert not await actions_at(session.client, uri, rng(0, 0, 0, 5))
    env_uri = session.uri(".env")
    open_doc(session.client, env_uri, "KEY=1\ndef f(): pass\n", "python")
    assert not await actions_at(session.client, env_uri, rng(0, 0, 1, 5))


async def test_secrets_in_the_code_are_masked(session: ActionClient, standin: StandIn) -> None:
    text = 'API_KEY = "sk-abcdefghijklmnopqrstuvwxyz123456"\n\n\ndef call(url):\n    """Call url with API_KEY."""\n    ...\n'
    uri = await _open(session, "client.py", text)
    action = titled(await actions_at(session.client, uri, rng(5, 4)), "Implement with AI")
    standin.script(reply("    return fetch(url, API_KEY)\n```"))
    resolved = await _resolve(session, action)
    sent = json.dumps(standin.chat_requests()[-1].body)
    assert "sk-abcdefghijklmnopqrstuvwxyz123456" not in sent and "<redacted>" in sent
    assert apply_edits(text, edits_for(resolved.edit, uri)).endswith("    return fetch(url, API_KEY)\n")


async def test_status_counts_the_actions(session: ActionClient) -> None:
    status = await session.client.workspace_execute_command_async(types.ExecuteCommandParams(
        command="mistral-lsp.status", arguments=[]))
    actions = status["actions"]
    assert actions["runs"] >= 10 and actions["refused"] >= 3 and actions["modelCalls"] >= 9
    assert set(actions["available"]) >= {"implement", "optimise", "explain", "document", "tests", "edit"}


async def test_an_answer_that_rewrites_the_lines_around_the_selection_stays_inside_it(
        session: ActionClient, standin: StandIn) -> None:
    text = "def scale(values, k):\n    out = []\n    for v in values:\n        out.append(v * k)\n    return out\n"
    uri = await _open(session, "scale.py", text)
    action = titled(await actions_at(session.client, uri, rng(2, 0, 4, 0)), "Optimise with AI: lines 3-4")
    # the model restates the lines above and below the two selected ones, and changes one of them
    standin.script(reply(" A comprehension avoids the append calls.\n```python\ndef scale(values, k):\n"
                         "    out = []\n    out.extend(v * k for v in values)\n    return out\n```"))
    resolved = await _resolve(session, action)
    edits = edits_for(resolved.edit, uri)
    assert all(2 <= e.range.start.line and e.range.end.line <= 4 for e in edits), edits
    assert apply_edits(text, edits) == ("def scale(values, k):\n    out = []\n    out.extend(v * k for v in values)\n"
                                        "    return out\n")


async def test_lines_added_above_move_the_action_with_them(session: ActionClient, standin: StandIn) -> None:
    text = "def half(x):\n    pass\n"
    uri = await _open(session, "moved.py", text)
    action = titled(await actions_at(session.client, uri, rng(1, 4)), "Implement with AI: half")
    insert(session.client, uri, 2, 0, 0, "import math\n")  # before the resolve: the offer follows
    standin.script(Reply(text="    return x / 2\n```", first_token_delay=1.0))
    task = asyncio.ensure_future(session.client.code_action_resolve_async(action))
    assert await standin.await_for(lambda rs: any(r.body and action_of(r.body) == "implement" and r.ended_at is None
                                                  for r in rs), timeout=10)
    insert(session.client, uri, 3, 0, 0, "# halves\n")  # while the model writes: the edit follows
    resolved = await task
    [change] = resolved.edit.document_changes
    assert change.text_document.version == 3
    now = "# halves\nimport math\ndef half(x):\n    pass\n"
    assert apply_edits(now, change.edits) == "# halves\nimport math\ndef half(x):\n    return x / 2\n"


async def test_crlf_and_wide_characters_keep_their_line_breaks(session: ActionClient, standin: StandIn) -> None:
    text = 'def greet(name):\r\n    """Say 😀 héllo to 日本 name."""\r\n    ...\r\n\r\nx = "😀"; y = 1\r\n'
    uri = await _open(session, "crlf.py", text)
    action = titled(await actions_at(session.client, uri, rng(2, 4)), "Implement with AI: greet")
    standin.script(reply('    return f"😀 héllo {name}"\n```'))
    resolved = await _resolve(session, action)
    assert apply_edits(text, edits_for(resolved.edit, uri)) == text.replace(
        "    ...\r\n", '    return f"😀 héllo {name}"\r\n')
    edit = titled(await actions_at(session.client, uri, rng(4, 0, 4, 18)), "Edit with AI")
    standin.script(reply('x = "😀"\ny = 2\n```'))
    answer = await session.client.workspace_execute_command_async(types.ExecuteCommandParams(
        command="mistral-lsp.runAction", arguments=[dict(edit.command.arguments[0], instruction="one per line")]))
    assert answer["ok"] is True, answer
    [change] = session.applied[-1].edit.document_changes
    assert apply_edits(text, change.edits) == text.replace('x = "😀"; y = 1\r\n', 'x = "😀"\r\ny = 2\r\n')
