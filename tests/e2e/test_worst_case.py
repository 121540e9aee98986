"""Pathological documents do not freeze the server (issue 12, item 9).

A document of 100,000 unclosed brackets used to make one completion hold the event
loop for 16-30 s: a status request sent meanwhile waited for all of it. Here the
model is slow on purpose, so the completion is still in flight when the status
request is sent; the status answer must come back before the completion's (an
ordering, not a speed: the generous timeouts only stop a frozen server from hanging
the suite), and the completion is answered too.

Every class of the issue has cases in several grammars: unclosed brackets, braces
and blocks; one huge line; deep nesting (literals, calls, operator chains, blocks);
many definitions (a 5 MB file, and one whose lines end in a lone CR); unterminated
comments and ERROR-only files. The timings are ``scripts/bench_worst_case.py``'s.
"""

from __future__ import annotations

import asyncio

import pytest
import pytest_asyncio
from lsprotocol import types

from lsp_server.core.text import split_lines
from tests.e2e.conftest import capabilities, inline_params, insert, open_doc, start_client, stop_client, utf16_len
from tests.standin import Reply, StandIn
from tests.worst_inputs import (
    balanced_calls,
    big_file,
    error_soup,
    long_line,
    nested_blocks,
    nested_literal,
    operator_chain,
    unclosed,
    unclosed_blocks,
    unclosed_comment,
)

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]

CASES = {
    # unclosed brackets, braces and blocks
    "unclosed_parens.py": ("python", lambda: unclosed("python", 100_000)),
    "unclosed_braces.go": ("go", lambda: unclosed("go", 100_000, "{")),
    "unclosed_brackets.c": ("c", lambda: unclosed("c", 100_000, "[")),
    "unclosed_blocks.java": ("java", lambda: unclosed_blocks("java", 20_000)),
    # one huge line
    "long_line.js": ("javascript", lambda: long_line("javascript", 1_000_000)),
    "long_line.py": ("python", lambda: long_line("python", 1_000_000)),
    "long_line.go": ("go", lambda: long_line("go", 1_000_000)),
    # deep nesting
    "nested_literal.ts": ("typescript", lambda: nested_literal("typescript", 20_000)),
    "balanced_calls.rs": ("rust", lambda: balanced_calls("rust", 20_000)),
    "operator_chain.cpp": ("cpp", lambda: operator_chain("cpp", 100_000)),
    "nested_blocks.c": ("c", lambda: nested_blocks("c", 1_000)),
    # many definitions
    "many_definitions.go": ("go", lambda: big_file("go", 5_000_000)),
    "many_definitions_cr.py": ("python", lambda: big_file("python", 2_000_000).replace("\n", "\r")),
    # unterminated comments, nothing but errors
    "unclosed_comment.cpp": ("cpp", lambda: unclosed_comment("cpp", 20_000)),
    "error_soup.rs": ("rust", lambda: error_soup("rust", 20_000)),
}


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def session(standin: StandIn, tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("worst")
    client, _ = await start_client(standin, root / ".cache", capabilities("visual-studio-code@v1.65.2", inline=True),
                                   root=root)
    yield client, root
    await stop_client(client)


async def _status(client) -> dict:
    return await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="mistral-lsp.status", arguments=[]))


@pytest.mark.parametrize("name", sorted(CASES))
async def test_status_is_answered_while_a_pathological_completion_is_in_flight(session, standin: StandIn,
                                                                              name: str) -> None:
    client, root = session
    language, make = CASES[name]
    text = make()
    standin.default = Reply(text="value", first_token_delay=3.0)
    uri = (root / name).as_uri()
    open_doc(client, uri, text, language)
    lines = split_lines(text)  # the rows the server counts (a lone CR is a line break)
    row = len(lines) - 1 if lines[-1] else len(lines) - 2
    column = utf16_len(lines[row])
    for index in range(10):  # a burst of keystrokes at the end of the file
        insert(client, uri, 2 + index, row, column + index, "(")
    column += 10
    completion = asyncio.ensure_future(
        client.text_document_inline_completion_async(inline_params(uri, row, column, invoked=True)))
    status = await asyncio.wait_for(_status(client), timeout=10)
    assert status["openDocuments"] >= 1
    assert not completion.done(), "the status answer should not have waited for the completion"
    result = await asyncio.wait_for(completion, timeout=60)
    assert isinstance(result, types.InlineCompletionList)
    status = await asyncio.wait_for(_status(client), timeout=10)
    assert status["requests"] >= 1
    client.text_document_did_close(types.DidCloseTextDocumentParams(types.TextDocumentIdentifier(uri=uri)))


async def test_a_completion_in_the_middle_of_a_large_file_sees_its_imports(session, standin: StandIn) -> None:
    """A 1.5 MB file's tree covers a window around the cursor plus the file's head: once the
    window has moved to the cursor, the prompt lists the imports at the top of the file (they
    come from the tree's head: the code shown around the cursor is 1.5 MB away from them)."""
    client, root = session
    text = "import numpy as np\nfrom collections import OrderedDict\n\n\n" + big_file("python", 1_500_000)
    uri = (root / "large_window.py").as_uri()
    open_doc(client, uri, text, "python")
    assert (await _status(client))["syntax"].get(uri) == "window"
    lines = split_lines(text)
    rows = [i for i in range(len(lines) // 2, len(lines)) if lines[i] == "    return c"]
    standin.default = Reply(text="c")
    seen: list[str] = []
    for row in rows[:40]:  # the first answers may come before the window's parse is done (a new
        # place each time: the same one would be answered from the completion cache)
        result = await asyncio.wait_for(
            client.text_document_inline_completion_async(inline_params(uri, row, len("    return "))), timeout=30)
        assert isinstance(result, types.InlineCompletionList)
        seen = [r.body["messages"][1]["content"] for r in standin.chat_requests()]
        if any("import numpy as np" in content for content in seen):
            break
        await asyncio.sleep(0.25)
    assert any("import numpy as np" in content and "from collections import OrderedDict" in content
               for content in seen), "the head's imports never reached the prompt"
    client.text_document_did_close(types.DidCloseTextDocumentParams(types.TextDocumentIdentifier(uri=uri)))


async def test_status_says_which_documents_are_plain_text_and_why(session) -> None:
    client, root = session
    deep = (root / "deep_open.go").as_uri()
    open_doc(client, deep, "package p\n\nvar x = " + "f(" * 20_000 + "\n", "go")
    notes = (root / "notes.txt").as_uri()
    open_doc(client, notes, "just some words\n", "plaintext")
    small = (root / "small.py").as_uri()
    open_doc(client, small, "def f(x):\n    return x\n", "python")
    syntax: dict = {}
    for _attempt in range(100):  # the brackets are counted when the first parse would start
        syntax = (await _status(client))["syntax"]
        if deep in syntax:
            break
        await asyncio.sleep(0.05)
    assert syntax.get(deep) == "plain text: too many brackets open"
    assert syntax.get(notes) == "plain text: no grammar for plaintext"
    assert small not in syntax  # a whole tree: not listed
    for uri in (deep, notes, small):
        client.text_document_did_close(types.DidCloseTextDocumentParams(types.TextDocumentIdentifier(uri=uri)))
