"""Images end to end: the real server, a real LSP client, the stand-in checking every image part.

The issue's flow: a Markdown file with ``![](docs/chart.png)`` gets the missing-alt diagnostic;
the quick fix inserts the model's alt text exactly; the hover shows the description (and a
second hover makes no request); a sentence that contradicts what the stand-in reports for the
chart gets a ``figure-text-mismatch`` finding on that sentence.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from lsprotocol import types
from pytest_lsp import LanguageClient

from tests.e2e.conftest import (
    capabilities,
    eventually,
    open_doc,
    server_env,
    start_client,
    stop_client,
    utf16_len,
)
from tests.imagegen import bar_chart, png
from tests.standin import Reply, StandIn

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]

DESCRIPTION = "A bar chart with four bars rising from 10 to 40 (x: quarter, y: sales)."
ALT = "Bar chart: quarterly sales rising from 10 to 40"
SENTENCE = "The chart shows sales falling every quarter."
README = (
    "# Sales 😀 報告\n"
    "\n"
    "![](docs/chart.png)\n"
    "\n"
    f"Intro 中文. {SENTENCE}\n"
    "\n"
    "![Broken](docs/missing.png)\n"
    "![Remote](https://example.com/x.png)\n"
)


def responder(body: dict[str, Any]) -> Reply:
    """Describe, alt text or figure check, by what the request asks."""
    user = body["messages"][-1]["content"]
    text = "\n".join(p.get("text", "") for p in user if isinstance(p, dict)) if isinstance(user, list) else str(user)
    if "Describe this image" in text:
        return Reply(text=DESCRIPTION)
    if "Write the alt text" in text:
        return Reply(text=f'"{ALT}"')
    if "Report the sentences" in text:
        findings = []
        for match in re.finditer(r"^\s*(\d+) \| (.*)$", text, re.M):
            if "falling" in match.group(2):
                findings.append({"line": int(match.group(1)), "quote": SENTENCE, "severity": "warning",
                                 "rule": "figure-text-mismatch",
                                 "message": "docs/chart.png shows sales rising every quarter, not falling.",
                                 "fix": None})
        return Reply(text=json.dumps({"findings": findings}))
    return Reply(text='{"findings": []}')


@pytest.fixture(scope="module")
def vision_standin() -> Any:
    with StandIn() as server:
        yield server


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("vision-ws")
    (root / "docs").mkdir()
    (root / "docs" / "chart.png").write_bytes(bar_chart([10, 20, 30, 40]))
    (root / "docs" / "wide.png").write_bytes(png(3080, 700))
    (root / "docs" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    (root / "README.md").write_text(README, encoding="utf-8")
    return root


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def vscode(vision_standin: StandIn, workspace: Path, tmp_path_factory: pytest.TempPathFactory
                 ) -> AsyncIterator[LanguageClient]:
    vision_standin.responder = responder
    cache = tmp_path_factory.mktemp("cache")
    client, _ = await start_client(vision_standin, cache, capabilities("visual-studio-code@v1.65.2", inline=False),
                                   root=workspace, env=server_env(vision_standin, cache, MISTRAL_LSP_INDEX="0"))
    open_doc(client, readme_uri(workspace), README, "markdown")  # every test reads it, in any order
    yield client
    await stop_client(client)


def readme_uri(workspace: Path) -> str:
    return (workspace / "README.md").as_uri()


async def diagnostics_of(client: LanguageClient, uri: str, code: str, timeout: float = 10.0) -> list[types.Diagnostic]:
    await eventually(lambda: any(d.code == code for d in client.diagnostics.get(uri, [])), timeout)
    return [d for d in client.diagnostics.get(uri, []) if d.code == code]


def chats(standin: StandIn) -> list:
    return standin.chat_requests()


async def test_missing_alt_and_broken_link_diagnostics_without_the_model(vscode: LanguageClient, workspace: Path,
                                                                       vision_standin: StandIn) -> None:
    uri = readme_uri(workspace)
    missing = await diagnostics_of(vscode, uri, "missing-alt-text")
    assert len(missing) == 1
    assert missing[0].range == types.Range(start=types.Position(line=2, character=0),
                                           end=types.Position(line=2, character=len("![](docs/chart.png)")))
    broken = await diagnostics_of(vscode, uri, "broken-image-link")
    start = len("![Broken](")
    assert [d.range for d in broken] == [types.Range(start=types.Position(line=6, character=start),
                                                     end=types.Position(line=6, character=start + len("docs/missing.png")))]
    assert not chats(vision_standin)  # no model request for any of it


async def test_diagnostics_follow_every_change_instantly(vscode: LanguageClient, workspace: Path) -> None:
    uri = (workspace / "notes.md").as_uri()
    text = "Text 😀 ![](docs/chart.png)\n"
    open_doc(vscode, uri, text, "markdown")
    first = await diagnostics_of(vscode, uri, "missing-alt-text")
    assert first[0].range.start == types.Position(line=0, character=utf16_len("Text 😀 "))
    vscode.text_document_did_change(types.DidChangeTextDocumentParams(
        text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=2),
        content_changes=[types.TextDocumentContentChangePartial(
            range=types.Range(start=types.Position(line=0, character=utf16_len("Text 😀 ![")),
                              end=types.Position(line=0, character=utf16_len("Text 😀 ["))), text="A chart")]))
    assert await eventually(lambda: not any(d.code == "missing-alt-text" for d in vscode.diagnostics.get(uri, [])),
                            10.0)


async def test_a_large_documents_diagnostics_follow_once_typing_pauses(vscode: LanguageClient,
                                                                        workspace: Path) -> None:
    uri = (workspace / "large.md").as_uri()
    text = "# Large\n\n" + ("Some prose that goes on and on. " * 8 + "\n\n") * 200 + "![](docs/chart.png)\n"
    assert len(text.encode()) > 32_000
    open_doc(vscode, uri, text, "markdown")
    found = await diagnostics_of(vscode, uri, "missing-alt-text")
    assert found[0].range.start.line == text.count("\n") - 1
    last = text.count("\n") - 1
    for version, char in enumerate("A chart", start=2):  # typed into the alt text, key by key
        vscode.text_document_did_change(types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
            content_changes=[types.TextDocumentContentChangePartial(
                range=types.Range(start=types.Position(line=last, character=2 + version - 2),
                                  end=types.Position(line=last, character=2 + version - 2)), text=char)]))
    assert await eventually(lambda: not any(d.code == "missing-alt-text" for d in vscode.diagnostics.get(uri, [])),
                            10.0)


async def test_alt_text_quick_fix_inserts_the_models_text_exactly(vscode: LanguageClient, workspace: Path,
                                                                 vision_standin: StandIn) -> None:
    uri = readme_uri(workspace)
    missing = await diagnostics_of(vscode, uri, "missing-alt-text")
    before = len(chats(vision_standin))
    actions = await vscode.text_document_code_action_async(types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(uri=uri), range=missing[0].range,
        context=types.CodeActionContext(diagnostics=missing)))
    alt = [a for a in actions or [] if isinstance(a, types.CodeAction) and a.title == "Write alt text with AI"]
    assert len(alt) == 1 and alt[0].kind == types.CodeActionKind.QuickFix and alt[0].edit is None
    assert len(chats(vision_standin)) == before  # listing is cheap: no model call
    resolved = await vscode.code_action_resolve_async(alt[0])
    assert resolved.edit is not None
    edits = [e for change in resolved.edit.document_changes or [] for e in change.edits] \
        if resolved.edit.document_changes else resolved.edit.changes[uri]
    assert [(e.range, e.new_text) for e in edits] == [
        (types.Range(start=types.Position(line=2, character=2), end=types.Position(line=2, character=2)), ALT)]
    request = chats(vision_standin)[-1]
    assert len(request.images) == 1
    image = request.images[0]
    assert (image.mime, image.width, image.height) == ("image/png", 320, 200)
    text = "\n".join(p.get("text", "") for p in request.body["messages"][-1]["content"] if p["type"] == "text")
    assert "Sales 😀 報告" in text and "sales falling" in text  # the nearby heading and paragraph


async def test_hover_describes_the_image_and_caches_it(vscode: LanguageClient, workspace: Path,
                                                      vision_standin: StandIn) -> None:
    uri = readme_uri(workspace)
    before = len(chats(vision_standin))
    params = types.HoverParams(text_document=types.TextDocumentIdentifier(uri=uri),
                               position=types.Position(line=2, character=6))
    hover = await vscode.text_document_hover_async(params)
    assert hover is not None and isinstance(hover.contents, types.MarkupContent)
    text = hover.contents.value
    assert DESCRIPTION in text and "PNG, 320×200 px" in text
    request = chats(vision_standin)[-1]
    assert len(chats(vision_standin)) == before + 1 and request.images[0].width == 320
    assert f"{request.images[0].tokens:,} image tokens" in text  # what mistral-common counts for the image sent
    assert hover.range == types.Range(start=types.Position(line=2, character=0),
                                      end=types.Position(line=2, character=len("![](docs/chart.png)")))
    again = await vscode.text_document_hover_async(params)
    assert again is not None and DESCRIPTION in again.contents.value and "cached description" in again.contents.value
    assert len(chats(vision_standin)) == before + 1  # the second hover made no request


async def test_hover_on_refused_images_says_why(vscode: LanguageClient, workspace: Path,
                                                vision_standin: StandIn) -> None:
    uri = readme_uri(workspace)
    before = len(chats(vision_standin))
    remote = await vscode.text_document_hover_async(types.HoverParams(
        text_document=types.TextDocumentIdentifier(uri=uri), position=types.Position(line=7, character=3)))
    assert remote is not None and "never fetched" in remote.contents.value
    missing = await vscode.text_document_hover_async(types.HoverParams(
        text_document=types.TextDocumentIdentifier(uri=uri), position=types.Position(line=6, character=3)))
    assert missing is not None and "does not exist" in missing.contents.value
    none = await vscode.text_document_hover_async(types.HoverParams(
        text_document=types.TextDocumentIdentifier(uri=uri), position=types.Position(line=4, character=3)))
    assert none is None
    assert len(chats(vision_standin)) == before


async def test_a_corrupt_image_is_a_hover_message_never_a_crash(vscode: LanguageClient, workspace: Path,
                                                                 vision_standin: StandIn) -> None:
    uri = (workspace / "broken.md").as_uri()
    open_doc(vscode, uri, "# Broken\n\n![A broken file](docs/broken.png)\n", "markdown")
    before = len(chats(vision_standin))
    hover = await vscode.text_document_hover_async(types.HoverParams(
        text_document=types.TextDocumentIdentifier(uri=uri), position=types.Position(line=2, character=4)))
    assert hover is not None and "Not shown to the model" in hover.contents.value
    assert "could not be decoded" in hover.contents.value or "not a readable image" in hover.contents.value
    assert len(chats(vision_standin)) == before
    status = await vscode.workspace_execute_command_async(types.ExecuteCommandParams(command="mistral-lsp.status"))
    assert status  # the server is alive and answering


async def test_large_images_are_downscaled_to_what_the_model_reads(vscode: LanguageClient, workspace: Path,
                                                                  vision_standin: StandIn) -> None:
    uri = (workspace / "wide.md").as_uri()
    open_doc(vscode, uri, "# Wide\n\n![A wide strip](docs/wide.png)\n", "markdown")
    hover = await vscode.text_document_hover_async(types.HoverParams(
        text_document=types.TextDocumentIdentifier(uri=uri), position=types.Position(line=2, character=4)))
    assert hover is not None and "3080×700 px, sent as 1540×350" in hover.contents.value
    image = chats(vision_standin)[-1].images[0]
    assert (image.width, image.height) == (1540, 350)


async def test_figure_text_mismatch_is_found_on_the_sentence(vscode: LanguageClient, workspace: Path,
                                                            vision_standin: StandIn) -> None:
    uri = readme_uri(workspace)
    await vscode.workspace_execute_command_async(types.ExecuteCommandParams(
        command="mistral-lsp.reviewFile", arguments=[uri]))
    found = await diagnostics_of(vscode, uri, "figure-text-mismatch")
    start = utf16_len("Intro 中文. ")
    assert [d.range for d in found] == [types.Range(start=types.Position(line=4, character=start),
                                                    end=types.Position(line=4, character=start + len(SENTENCE)))]
    assert "rising" in found[0].message
    review = [r for r in chats(vision_standin) if "Report the sentences" in json.dumps(r.body)]
    assert review and len(review[-1].images) == 1 and review[-1].images[0].width == 320
    assert review[-1].body.get("response_format", {}).get("type") == "json_schema"
    assert "tools" not in review[-1].body


async def test_prose_gets_completions_only_when_asked(vscode: LanguageClient, workspace: Path,
                                                      vision_standin: StandIn) -> None:
    """Markdown is served for its images: no ghost text while typing prose, a completion on request."""
    uri = (workspace / "prose.md").as_uri()
    open_doc(vscode, uri, "# Notes\n\nThe release adds\n", "markdown")
    position = types.Position(line=2, character=len("The release adds"))
    before = len(chats(vision_standin))
    typed = await vscode.text_document_completion_async(types.CompletionParams(
        text_document=types.TextDocumentIdentifier(uri=uri), position=position,
        context=types.CompletionContext(trigger_kind=types.CompletionTriggerKind.TriggerCharacter,
                                        trigger_character=".")))
    assert typed is not None and not typed.items
    assert len(chats(vision_standin)) == before  # not even asked
    asked = await vscode.text_document_completion_async(types.CompletionParams(
        text_document=types.TextDocumentIdentifier(uri=uri), position=position,
        context=types.CompletionContext(trigger_kind=types.CompletionTriggerKind.Invoked)))
    assert asked is not None and len(chats(vision_standin)) == before + 1
    assert "The release adds" in json.dumps(chats(vision_standin)[-1].body)
