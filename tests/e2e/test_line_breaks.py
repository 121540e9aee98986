"""Line numbers agree with the editor's on every line break LSP knows, and only on those.

Python, JavaScript and Go files with lone CR, CRLF and LF line endings, whose lines hold
form feeds, ``\\x85``, ``\\u2028`` and friends (line breaks to ``str.splitlines``, not to
LSP) and CJK and an emoji before the interesting column (``tests/line_break_samples.py``).
Through the real server and the stand-in: the review prompt numbers the lines as the
editor does, the finding's diagnostic lands on the text the stand-in quoted, the quick
fix and "Fix with AI" edit exactly the target line (keeping the file's line endings), and
a completion's prefill is the cursor line up to the cursor, its range at the cursor.
Positions in UTF-16 (VS Code) and in UTF-8 (a client that offers it).
"""

from __future__ import annotations

import pytest
import pytest_asyncio
from lsprotocol import types

from tests.e2e.conftest import capabilities, eventually, open_doc, server_env, start_client, stop_client
from tests.line_break_samples import COMPLETION, EOLS, MARK, Sample, apply_edits, cases, numbered, responder
from tests.standin import StandIn

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]

async def _session(standin: StandIn, tmp_path_factory: pytest.TempPathFactory, encoding: str):
    root = tmp_path_factory.mktemp(f"breaks-{encoding}")
    caps = capabilities("visual-studio-code@v1.65.2", inline=True)
    caps.general = types.GeneralClientCapabilities(position_encodings=[encoding])
    env = server_env(standin, root / ".cache", MISTRAL_LSP_REVIEW_TRIGGERS="open")
    client, result = await start_client(standin, root / ".cache", caps, root=root, env=env)
    assert result.capabilities.position_encoding in ((None, "utf-16") if encoding == "utf-16" else (encoding,))
    return client, root


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def utf16(standin: StandIn, tmp_path_factory: pytest.TempPathFactory):
    client, root = await _session(standin, tmp_path_factory, "utf-16")
    yield client, root, "utf-16"
    await stop_client(client)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def utf8(standin: StandIn, tmp_path_factory: pytest.TempPathFactory):
    client, root = await _session(standin, tmp_path_factory, "utf-8")
    yield client, root, "utf-8"
    await stop_client(client)


def _edits(action: types.CodeAction, uri: str) -> list[tuple[tuple[int, int], tuple[int, int], str]]:
    assert action.edit is not None and action.edit.document_changes, action
    return [((e.range.start.line, e.range.start.character), (e.range.end.line, e.range.end.character), e.new_text)
            for change in action.edit.document_changes if change.text_document.uri == uri for e in change.edits]


async def _reviewed(session, standin: StandIn, sample: Sample, eol: str) -> tuple[str, types.Diagnostic]:
    client, root, _ = session
    standin.responder = responder
    uri = (root / f"{eol}-{sample.name}").as_uri()
    open_doc(client, uri, sample.text(EOLS[eol]), sample.language)
    assert await eventually(lambda: len(client.diagnostics.get(uri, [])) == 1, timeout=30), client.diagnostics.get(uri)
    return uri, client.diagnostics[uri][0]


async def _actions(client, uri: str, diagnostic: types.Diagnostic) -> list[types.CodeAction]:
    return await client.text_document_code_action_async(types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(uri=uri), range=diagnostic.range,
        context=types.CodeActionContext(diagnostics=[diagnostic])))


def _check_review(session, standin: StandIn, sample: Sample, uri: str, diagnostic: types.Diagnostic) -> None:
    _, _, encoding = session
    start = sample.col(encoding)
    assert diagnostic.range == types.Range(
        start=types.Position(line=sample.target, character=start),
        end=types.Position(line=sample.target, character=start + len(sample.quote)))
    # the prompt numbers each line as the editor does: line N of the prompt is the editor's line N
    prompts = [r.body["messages"][1]["content"] for r in standin.chat_requests()
               if "careful senior code reviewer" in r.body["messages"][0]["content"] and MARK in r.body["messages"][1]["content"]
               and sample.lines[sample.target] in r.body["messages"][1]["content"]]
    assert prompts, "the target's unit was never reviewed"
    shown = numbered(prompts[-1])
    assert sample.target + 1 in [n for n, _ in shown]
    assert all(text == sample.lines[n - 1] for n, text in shown), shown


@pytest.mark.parametrize(("sample", "eol"), cases(), ids=[f"{s.language}-{e}" for s, e in cases()])
async def test_review_quick_fix_and_fix_with_ai_in_utf16(utf16, standin: StandIn, sample: Sample, eol: str) -> None:
    await _review_and_fix(utf16, standin, sample, eol)


@pytest.mark.parametrize(("sample", "eol"), [c for c in cases() if c[1] == "cr"],
                         ids=[f"{s.language}-{e}" for s, e in cases() if e == "cr"])
async def test_review_quick_fix_and_fix_with_ai_in_utf8(utf8, standin: StandIn, sample: Sample, eol: str) -> None:
    await _review_and_fix(utf8, standin, sample, eol)


async def _review_and_fix(session, standin: StandIn, sample: Sample, eol: str) -> None:
    client, _, encoding = session
    sample = sample.tagged(f"{eol}-{encoding}")  # its own text, so its review is not a cache hit
    uri, diagnostic = await _reviewed(session, standin, sample, eol)
    _check_review(session, standin, sample, uri, diagnostic)
    text, expected = sample.text(EOLS[eol]), sample.fixed_text(EOLS[eol])

    actions = await _actions(client, uri, diagnostic)
    [quick] = [a for a in actions if a.kind == types.CodeActionKind.QuickFix and a.edit is not None]
    edits = _edits(quick, uri)
    assert {(start[0], end[0]) for start, end, _ in edits} <= {(sample.target, sample.target),
                                                              (sample.target, sample.target + 1)}
    assert apply_edits(text, edits, encoding) == expected

    [ai] = [a for a in actions if a.title.startswith("Fix with AI")]
    resolved = await client.code_action_resolve_async(ai)
    request = [r.body for r in standin.chat_requests() if "fixing code" in r.body["messages"][0]["content"]][-1]
    assert "stop" not in request  # the stream is closed at the code's closing fence instead
    fix_prompt = request["messages"][1]["content"]
    assert all(text_ == sample.lines[n - 1] for n, text_ in numbered(fix_prompt))
    assert apply_edits(text, _edits(resolved, uri), encoding) == expected


@pytest.mark.parametrize(("sample", "eol"), cases(), ids=[f"{s.language}-{e}" for s, e in cases()])
async def test_completion_context_is_the_cursor_line(utf16, standin: StandIn, sample: Sample, eol: str) -> None:
    client, root, encoding = utf16
    standin.responder = responder
    uri = (root / f"complete-{eol}-{sample.name}").as_uri()
    open_doc(client, uri, sample.text(EOLS[eol]), sample.language)
    line = sample.lines[sample.target]
    column = sample.col(encoding)
    result = await client.text_document_inline_completion_async(types.InlineCompletionParams(
        text_document=types.TextDocumentIdentifier(uri=uri),
        position=types.Position(line=sample.target, character=column),
        context=types.InlineCompletionContext(trigger_kind=types.InlineCompletionTriggerKind.Invoked)))
    items = result.items if isinstance(result, types.InlineCompletionList) else result
    assert [item.insert_text for item in items] == [COMPLETION]
    cursor = types.Position(line=sample.target, character=column)
    assert items[0].range == types.Range(start=cursor, end=cursor)
    body = next(r.body for r in reversed(standin.chat_requests())
                if "completion engine" in r.body["messages"][0]["content"] and r.body["messages"][-1]["role"] == "assistant"
                and uri.rsplit("/", 1)[-1] in r.body["messages"][1]["content"])
    prefix = line[: line.index(sample.quote)]
    # the prefill is the cursor line up to the cursor (not the whole window, as "\n"-only splitting
    # made it for a lone-CR file), and the model sees the file's lines broken at "\n"
    assert body["messages"][-1]["content"] == f"```{sample.language}\n{prefix}"
    code = body["messages"][1]["content"]
    assert "\n".join(sample.lines[: sample.target]) + "\n" + prefix + "<CURSOR>" in code
    assert "\r" not in code
