"""Classic completion items end to end, as Neovim 0.11 asks (UTF-8 positions, no inline)."""

from __future__ import annotations

import pytest
import pytest_asyncio
from lsprotocol import types

from tests.e2e.conftest import capabilities, open_doc, start_client, stop_client
from tests.standin import Reply, StandIn

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def session(standin: StandIn, tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("nvim")
    client, result = await start_client(
        standin, root / ".cache", capabilities("neovim@v0.11", inline=False), root=root
    )
    yield client, result, root
    await stop_client(client)


def _params(uri: str, line: int, character: int) -> types.CompletionParams:
    return types.CompletionParams(
        text_document=types.TextDocumentIdentifier(uri=uri),
        position=types.Position(line=line, character=character),
        context=types.CompletionContext(trigger_kind=types.CompletionTriggerKind.Invoked),
    )


async def test_utf8_negotiated(session) -> None:
    _, result, _ = session
    assert result.capabilities.position_encoding == types.PositionEncodingKind.Utf8


async def test_item_edit_survives_word_filtering(session, standin: StandIn) -> None:
    client, _, root = session
    uri = (root / "word.go").as_uri()
    prefix = '\tmsg := "日本😀"; fmt.Pri'
    text = f'package main\n\nimport "fmt"\n\nfunc main() {{\n{prefix}\n}}\n'
    open_doc(client, uri, text, "go")
    standin.script(Reply(text="ntln(msg)"))
    character = len(prefix.encode("utf-8"))
    result = await client.text_document_completion_async(_params(uri, 5, character))
    assert isinstance(result, types.CompletionList)
    assert len(result.items) == 1
    item = result.items[0]
    edit = item.text_edit
    assert edit.new_text == "Println(msg)"
    # the edit replaces the word being typed ("Pri"), so the client's filter keeps it
    assert edit.range.start == types.Position(line=5, character=character - 3)
    assert edit.range.end == types.Position(line=5, character=character)
    assert item.filter_text.startswith("Pri")
    assert item.label.startswith("Println")


ECHOED_WORDS = [
    # (file, line before the cursor, the model's answer, the item's text)
    ("area.py", "    return math.pi * rad", "radius ** 2", "radius ** 2"),
    ("line.py", "    return math.pi * rad", "math.pi * radius ** 2", "radius ** 2"),
    ("el.js", "  const el = $ro", "$root.find('a');", "$root.find('a');"),
    ("vars.ts", "  const y = my_va", "my_var_2 + 1;", "my_var_2 + 1;"),
    ("größe.py", "    fläche = grö", "größe * 2", "größe * 2"),
    ("count.go", "\treturn 日本cou", "日本count + 1", "日本count + 1"),
    ("fresh.py", "    return rad", "ius * 2", "radius * 2"),  # no echo: the word stays, once
]


@pytest.mark.parametrize(("name", "line", "reply", "expected"), ECHOED_WORDS, ids=[w[0] for w in ECHOED_WORDS])
async def test_item_replaces_the_typed_word_without_doubling_it(
    session, standin: StandIn, name: str, line: str, reply: str, expected: str
) -> None:
    client, _, root = session
    uri = (root / name).as_uri()
    language = {"py": "python", "js": "javascript", "ts": "typescript", "go": "go"}[name.rsplit(".", 1)[1]]
    head = "package main\n\nfunc f(日本count int) int {\n" if language == "go" else "import math\n\n\ndef f(radius):\n"
    head = "function f() {\n" if language in ("javascript", "typescript") else head
    open_doc(client, uri, f"{head}{line}\n", language)
    standin.script(Reply(text=reply))
    row = head.count("\n")
    character = len(line.encode("utf-8"))  # Neovim negotiated UTF-8 positions
    result = await client.text_document_completion_async(_params(uri, row, character))
    [item] = result.items
    assert item.text_edit.new_text == expected
    typed = line[len(line.rstrip("abcdefghijklmnopqrstuvwxyz_$0123456789öß日本")) :]
    start = character - len(typed.encode("utf-8"))
    assert item.text_edit.range.start == types.Position(line=row, character=start)
    assert item.text_edit.range.end == types.Position(line=row, character=character)
    assert item.filter_text.startswith(typed)  # what the client filters by still matches the typed word


async def test_multiline_item(session, standin: StandIn) -> None:
    client, _, root = session
    uri = (root / "lib.rs").as_uri()
    open_doc(client, uri, "fn double(x: i32) -> i32 {\n    \n}\n", "rust")
    standin.script(Reply(text="x * 2\n}\n\nfn main() {}\n"))
    result = await client.text_document_completion_async(_params(uri, 1, 4))
    assert [i.text_edit.new_text for i in result.items] == ["x * 2"]


async def test_empty_answer_is_an_empty_list(session, standin: StandIn) -> None:
    client, _, root = session
    uri = (root / "empty.c").as_uri()
    open_doc(client, uri, "int main(void) {\n    \n}\n", "c")
    standin.script(Reply(text="```\n```"))
    result = await client.text_document_completion_async(_params(uri, 1, 4))
    assert isinstance(result, types.CompletionList) and len(result.items) == 0


async def test_completion_for_unopened_document_is_empty(session) -> None:
    client, _, root = session
    result = await client.text_document_completion_async(_params((root / "nope.py").as_uri(), 0, 0))
    assert len(result.items) == 0


async def test_positions_outside_the_document_are_clamped(session, standin: StandIn) -> None:
    client, _, root = session
    uri = (root / "short.py").as_uri()
    open_doc(client, uri, "x = 1\n", "python")
    standin.default = Reply(text="y = 2")
    result = await client.text_document_completion_async(_params(uri, 99, 99))
    assert isinstance(result, types.CompletionList)  # answered, not an error


async def test_binary_looking_document_gets_nothing(session, standin: StandIn) -> None:
    client, _, root = session
    uri = (root / "blob.py").as_uri()
    open_doc(client, uri, "abc\x00\x01\x02def\n", "python")
    before = len(standin.chat_requests())
    result = await client.text_document_completion_async(_params(uri, 0, 3))
    assert len(result.items) == 0 and len(standin.chat_requests()) == before


async def test_configuration_change_is_pulled_and_applied(session, standin: StandIn) -> None:
    client, _, root = session
    client.set_configuration({"mistralLsp": {"completion": {"temperature": 0.5}}})
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings=None))
    uri = (root / "conf.py").as_uri()
    open_doc(client, uri, "def f():\n    \n", "python")
    standin.default = Reply(text="return 1")
    deadline = 50
    temperature = None
    while deadline and temperature != 0.5:
        await client.text_document_completion_async(_params(uri, 1, 4))
        temperature = standin.chat_requests()[-1].body["temperature"] if standin.chat_requests() else None
        deadline -= 1
    assert temperature == 0.5
