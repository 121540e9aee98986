"""Helpers of the AI action end-to-end tests: a client that takes applyEdit, code actions at a
place, UTF-16 edits applied to a text, and the stand-in answering by action."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from lsprotocol import types
from pytest_lsp import LanguageClient

from tests.action_markers import action_of
from tests.e2e.conftest import fix_code_action_union, start_client
from tests.standin import Reply, StandIn

__all__ = ["action_of", "fix_code_action_union"]


class ActionClient:
    """A started client plus what the server asked it to do."""

    def __init__(self, client: LanguageClient, root: Path) -> None:
        self.client = client
        self.root = root
        self.applied: list[types.ApplyWorkspaceEditParams] = []
        self.apply_answer = True

    def uri(self, name: str) -> str:
        return (self.root / name).as_uri()


async def start_action_client(standin: StandIn, root: Path, caps: types.ClientCapabilities, *,
                              env: dict[str, str] | None = None, init_options: dict[str, Any] | None = None
                              ) -> ActionClient:
    client, _ = await start_client(standin, root / ".cache", caps, root=root, env=env, init_options=init_options)
    return action_client(client, root)


def action_client(client: LanguageClient, root: Path) -> ActionClient:
    """``client`` made ready for the AI actions: code actions read right, applyEdit answered."""
    fix_code_action_union(client)
    session = ActionClient(client, root)

    @client.feature(types.WORKSPACE_APPLY_EDIT)
    def apply_edit(params: types.ApplyWorkspaceEditParams) -> types.ApplyWorkspaceEditResult:
        session.applied.append(params)
        return types.ApplyWorkspaceEditResult(applied=session.apply_answer,
                                              failure_reason=None if session.apply_answer else "refused by the test")

    return session


def rng(line: int, character: int, end_line: int | None = None, end_character: int | None = None) -> types.Range:
    return types.Range(start=types.Position(line=line, character=character),
                       end=types.Position(line=line if end_line is None else end_line,
                                          character=character if end_character is None else end_character))


async def actions_at(client: LanguageClient, uri: str, where: types.Range, only: list[str] | None = None
                     ) -> list[types.CodeAction]:
    found = await client.text_document_code_action_async(types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(uri=uri), range=where,
        context=types.CodeActionContext(diagnostics=[], only=only)))
    return [a for a in found or [] if isinstance(a, types.CodeAction)]


def titled(actions: list[types.CodeAction], prefix: str) -> types.CodeAction:
    matches = [a for a in actions if a.title.startswith(prefix)]
    assert matches, f"no action {prefix!r} among {[a.title for a in actions]}"
    return matches[0]


def edits_for(edit: types.WorkspaceEdit | None, uri: str) -> list[types.TextEdit]:
    assert edit is not None, "the action has no edit"
    if edit.document_changes:
        return [e for change in edit.document_changes if isinstance(change, types.TextDocumentEdit)
                and change.text_document.uri == uri for e in change.edits]
    return list((edit.changes or {}).get(uri, []))


def apply_edits(text: str, edits: list[types.TextEdit]) -> str:
    """Apply UTF-16 TextEdits (non-overlapping) to ``text`` (any line endings)."""
    starts = [0] + [m.end() for m in re.finditer(r"\r\n|\r|\n", text)]

    def offset(position: types.Position) -> int:
        if position.line >= len(starts):
            return len(text)
        head = starts[position.line]
        line_end = starts[position.line + 1] if position.line + 1 < len(starts) else len(text)
        line = text[head:line_end].rstrip("\r\n")
        units = line.encode("utf-16-le")[: position.character * 2].decode("utf-16-le", errors="ignore")
        return head + len(units)

    for edit in sorted(edits, key=lambda e: (e.range.start.line, e.range.start.character), reverse=True):
        start, end = offset(edit.range.start), offset(edit.range.end)
        text = text[:start] + edit.new_text + text[end:]
    return text


def reply(text: str, **kwargs: Any) -> Reply:
    return Reply(text=text, **kwargs)
