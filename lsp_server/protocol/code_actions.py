"""Code actions for review findings: quick fixes listed cheaply, "Fix with AI" resolved lazily.

``textDocument/codeAction`` makes no model call: a finding that carries a fix (in
``Diagnostic.data``) becomes a quick fix with minimal edits, offered only while its
lines are unchanged and the result parses without new errors. Findings without a
fix, and a selected range, get a "Fix with AI" action whose edit is computed in
``codeAction/resolve`` (only for clients that resolve ``edit`` lazily). No action
edits outside the lines it names. Line numbers in a diagnostic's data and in an
action's data belong to the document version they record; they are followed through
the edits made since (``engines.fixes``), never matched by content alone, and each
edit is stamped with the version it was computed for, so a client that takes
versioned edits refuses it if the document moved on meanwhile.
"""

from __future__ import annotations

import logging
from typing import Any

from lsprotocol import types

from lsp_server.core.findings import Edit
from lsp_server.engines.documents import OpenDocument
from lsp_server.engines.fixes import OfferedFix, fix_adds_errors, fix_edits, lines_now
from lsp_server.engines.fixes_ai import MAX_FIX_LINES, AiFixRequest, fix_lines
from lsp_server.protocol.base import MistralServer
from lsp_server.protocol.convert import to_position
from lsp_server.protocol.diagnostics import SOURCE

log = logging.getLogger(__name__)

AI_FIX = "mistral-lsp.ai-fix"
_TITLE_WIDTH = 70


def _short(text: str) -> str:
    return text if len(text) <= _TITLE_WIDTH else text[: _TITLE_WIDTH - 1].rstrip() + "…"


def _workspace_edit(ls: MistralServer, doc: OpenDocument, edits: list[Edit]) -> types.WorkspaceEdit:
    buf = doc.syntax.buffer
    text_edits = [
        types.TextEdit(
            range=types.Range(
                start=to_position(buf, buf.line_start(e.span.start_line) + e.span.start_col, ls.encoding),
                end=to_position(buf, buf.line_start(e.span.end_line) + e.span.end_col, ls.encoding),
            ),
            new_text=e.new_text,
        )
        for e in edits
    ]
    caps = ls.client_capabilities.workspace if ls.client_capabilities else None
    if caps is not None and caps.workspace_edit is not None and caps.workspace_edit.document_changes:
        identifier = types.OptionalVersionedTextDocumentIdentifier(uri=doc.uri, version=doc.version)
        return types.WorkspaceEdit(document_changes=[types.TextDocumentEdit(text_document=identifier, edits=text_edits)])
    return types.WorkspaceEdit(changes={doc.uri: text_edits})


def _resolves_edits(ls: MistralServer) -> bool:
    caps = ls.client_capabilities.text_document if ls.client_capabilities else None
    action = caps.code_action if caps else None
    support = action.resolve_support if action else None
    return bool(support and "edit" in support.properties)


def quick_fix(ls: MistralServer, doc: OpenDocument, diagnostic: types.Diagnostic, offered: OfferedFix
              ) -> types.CodeAction | None:
    """The finding's own fix as minimal edits, if its lines are still there, unchanged, and it parses."""
    fix = offered.now(doc)
    if fix is None:
        return None
    buf = doc.syntax.buffer
    tree = doc.syntax.tree
    if tree is not None and fix_adds_errors(doc.syntax.parse_bytes, tree, buf, fix, language=doc.spec.name):
        log.debug("quick fix at line %d not offered: it does not parse", fix.start_line + 1)
        return None
    edits = fix_edits(buf, fix)
    if not edits:
        return None
    return types.CodeAction(
        title=f"Apply suggested fix: {_short(diagnostic.message)}",
        kind=types.CodeActionKind.QuickFix,
        diagnostics=[diagnostic],
        is_preferred=True,
        edit=_workspace_edit(ls, doc, edits),
    )


def ai_action(doc: OpenDocument, first: int, last: int, problem: str, title: str,
              kind: str, diagnostic: types.Diagnostic | None) -> types.CodeAction:
    data = AiFixRequest.for_lines(doc, first, last, problem).to_data(AI_FIX)
    return types.CodeAction(title=title, kind=kind, diagnostics=[diagnostic] if diagnostic else None, data=data)


def _selection_rows(selection: types.Range) -> tuple[int, int] | None:
    if selection.start == selection.end:
        return None
    last = selection.end.line
    if selection.end.character == 0 and last > selection.start.line:
        last -= 1
    return selection.start.line, last


def code_actions(ls: MistralServer, params: types.CodeActionParams) -> list[types.CodeAction]:
    services = ls.services
    doc = services.documents.get(params.text_document.uri) if services else None
    if services is None or doc is None or doc.binary or doc.spec is None:
        return []
    if services.review_engine.secrets.is_secret_path(doc.path):
        return []
    lazy = _resolves_edits(ls)
    actions: list[types.CodeAction] = []
    for diagnostic in params.context.diagnostics:
        if diagnostic.source != SOURCE:
            continue
        data = diagnostic.data if isinstance(diagnostic.data, dict) else {}
        offered = OfferedFix.read(data.get("fix"))
        if offered is not None:
            action = quick_fix(ls, doc, diagnostic, offered)
            if action is not None:
                actions.append(action)
        elif lazy:
            # the range is the document's as it was when the diagnostic was made
            rows = lines_now(doc, data.get("version", doc.version), diagnostic.range.start.line,
                             diagnostic.range.end.line)
            if rows is not None:
                first, last = fix_lines(doc, *rows)
                actions.append(ai_action(doc, first, last, diagnostic.message,
                                         f"Fix with AI: {_short(diagnostic.message)}", types.CodeActionKind.QuickFix,
                                         diagnostic))
    rows = _selection_rows(params.range)
    if lazy and rows is not None and rows[1] - rows[0] < MAX_FIX_LINES and rows[1] < doc.syntax.buffer.line_count:
        span = f"line {rows[0] + 1}" if rows[0] == rows[1] else f"lines {rows[0] + 1}-{rows[1] + 1}"
        actions.append(ai_action(doc, rows[0], rows[1], "", f"Fix with AI: {span}",
                                 types.CodeActionKind.RefactorRewrite, None))
    only = params.context.only
    if only:
        wanted = [_kind(kind) for kind in only]
        actions = [a for a in actions if any(_kind(a.kind) == k or _kind(a.kind).startswith(k + ".") for k in wanted)]
    return actions


def _kind(kind: object) -> str:
    """A code action kind as its wire string (lsprotocol kinds are str enums)."""
    return str(getattr(kind, "value", kind) or "")


async def resolve(ls: MistralServer, action: types.CodeAction) -> types.CodeAction:
    data = action.data if isinstance(action.data, dict) else {}
    services = ls.services
    if data.get("kind") != AI_FIX or services is None:
        return action
    request = AiFixRequest.read(data)
    if request is None:
        return action
    uri = request.uri
    doc = services.documents.get(uri)
    rows = request.rows_now(doc) if doc is not None else None  # followed through the edits since
    if doc is None or rows is None:
        _tell(ls, "the lines changed since the action was offered; nothing was done")
        return action
    plan = services.fixer.plan(doc, rows[0], rows[1], request.problem)
    if plan is None:
        return action
    outcome = await services.fixer.run(doc, plan)
    if services.documents.get(uri) is not doc:
        return action  # closed meanwhile
    if outcome.edits is None:
        _tell(ls, f"no AI fix: {outcome.reason}")
        return action
    action.edit = _workspace_edit(ls, doc, outcome.edits)
    return action


def _tell(ls: MistralServer, message: str) -> None:
    ls.window_show_message(types.ShowMessageParams(type=types.MessageType.Info, message=f"mistral-lsp: {message}"))


def register(server: MistralServer) -> None:
    options = types.CodeActionOptions(
        code_action_kinds=[types.CodeActionKind.QuickFix, types.CodeActionKind.RefactorRewrite],
        resolve_provider=True,
    )

    @server.feature(types.TEXT_DOCUMENT_CODE_ACTION, options)
    def code_action(ls: MistralServer, params: types.CodeActionParams) -> list[types.CodeAction] | None:
        try:
            return code_actions(ls, params)
        except Exception:  # noqa: BLE001 - fail per feature
            log.exception("code actions failed")
            return []

    @server.feature(types.CODE_ACTION_RESOLVE)
    async def code_action_resolve(ls: MistralServer, action: types.CodeAction) -> types.CodeAction:
        try:
            return await resolve(ls, action)
        except Exception:  # noqa: BLE001 - fail per feature; CancelledError passes
            log.exception("code action resolve failed")
            return action
