"""Code actions: quick fixes listed cheaply, "Fix with AI" and the AI actions resolved lazily.

Thin handlers: each converts the request (``convert``), makes one call to the fixes
engine (``engines.fix_actions.FixActions``: ``offer`` for ``textDocument/codeAction``,
``resolve`` for ``codeAction/resolve``) and converts its answer back. The engine
decides what is offered: a finding's own fix (from ``Diagnostic.data``, whose format
``engines.fixes`` owns) as minimal edits while its lines are unchanged and the result
parses, "Fix with AI" for findings without a fix and for a selection (only for
clients that resolve ``edit`` lazily), no model call while listing. This module picks
the action kinds, filters by ``context.only``, and stamps each edit with the version
it was computed for, so a client that takes versioned edits refuses it if the
document moved on meanwhile. The AI actions (Implement, Optimise, Explain, Document,
Write tests, Edit, the user's own) are listed and resolved by ``ai_actions``, in the
same shape.
"""

from __future__ import annotations

import logging

from lsprotocol import types

from lsp_server.core.findings import Edit
from lsp_server.engines.documents import OpenDocument
from lsp_server.engines.fix_actions import FindingRef, FixOffer
from lsp_server.protocol import ai_actions, image_actions
from lsp_server.protocol.base import MistralServer
from lsp_server.protocol.convert import selected_rows, takes_document_changes, text_edits, workspace_edit
from lsp_server.protocol.diagnostics import SOURCE

log = logging.getLogger(__name__)


def _workspace_edit(ls: MistralServer, doc: OpenDocument, edits: list[Edit]) -> types.WorkspaceEdit:
    return workspace_edit([(doc.uri, doc.version, text_edits(doc.syntax.buffer, edits, ls.encoding))],
                          versioned=takes_document_changes(ls.client_capabilities))


def _resolves_edits(ls: MistralServer) -> bool:
    caps = ls.client_capabilities.text_document if ls.client_capabilities else None
    action = caps.code_action if caps else None
    support = action.resolve_support if action else None
    return bool(support and "edit" in support.properties)


def code_actions(ls: MistralServer, params: types.CodeActionParams) -> list[types.CodeAction]:
    services = ls.services
    doc = services.documents.get(params.text_document.uri) if services is not None else None
    if services is None or doc is None:
        return []
    lazy = _resolves_edits(ls)
    actions: list[types.CodeAction] = []
    if not doc.binary and not services.review_engine.secrets.is_secret_path(doc.path):
        actions = image_actions.list_actions(ls, doc, params, lazy)  # "Write alt text with AI"
    ours = [d for d in params.context.diagnostics if d.source == SOURCE]
    # a diagnostic's range is the document's as it was at the version its data records
    findings = [FindingRef(d.range.start.line, d.range.end.line, d.message, d.data) for d in ours]
    selection = selected_rows(doc.syntax.buffer, params.range, ls.encoding)
    offers = services.fixes.offer(doc, findings, selection, lazy=lazy)
    return _only(actions + [_action(ls, doc, offer, ours) for offer in offers], params)


def _only(actions: list[types.CodeAction], params: types.CodeActionParams) -> list[types.CodeAction]:
    """The actions of the kinds the client asked for (all when it did not say)."""
    only = params.context.only
    if only:
        wanted = [_kind(kind) for kind in only]
        actions = [a for a in actions if any(_kind(a.kind) == k or _kind(a.kind).startswith(k + ".") for k in wanted)]
    return actions


def _action(ls: MistralServer, doc: OpenDocument, offer: FixOffer, diagnostics: list[types.Diagnostic]
            ) -> types.CodeAction:
    """An engine's offer as a code action: a quick fix with its edit, or one resolved later."""
    fixes = [diagnostics[offer.finding]] if offer.finding is not None else None
    if offer.edits is not None:
        return types.CodeAction(title=offer.title, kind=types.CodeActionKind.QuickFix, diagnostics=fixes,
                                is_preferred=True, edit=_workspace_edit(ls, doc, offer.edits))
    kind = types.CodeActionKind.QuickFix if fixes else types.CodeActionKind.RefactorRewrite
    return types.CodeAction(title=offer.title, kind=kind, diagnostics=fixes, data=offer.data)


def ai_code_actions(ls: MistralServer, params: types.CodeActionParams) -> list[types.CodeAction]:
    """The AI actions (Implement, Optimise, Explain, ...) that apply at the range."""
    services = ls.services
    doc = services.documents.get(params.text_document.uri) if services else None
    if doc is None:
        return []
    return _only(ai_actions.offer(ls, doc, params.range, _resolves_edits(ls)), params)


def _kind(kind: object) -> str:
    """A code action kind as its wire string (lsprotocol kinds are str enums)."""
    return str(getattr(kind, "value", kind) or "")


async def resolve(ls: MistralServer, action: types.CodeAction) -> types.CodeAction:
    data = action.data if isinstance(action.data, dict) else {}
    if data.get("kind") == image_actions.ALT_TEXT:
        return await image_actions.resolve(ls, action)
    if data.get("kind") == ai_actions.ACTION:
        return await ai_actions.resolve(ls, action)
    services = ls.services
    resolved = await services.fixes.resolve(action.data) if services is not None else None
    if resolved is None:
        return action
    if resolved.message:
        _tell(ls, resolved.message)
    if resolved.doc is not None and resolved.edits is not None:
        action.edit = _workspace_edit(ls, resolved.doc, resolved.edits)
    return action


def _tell(ls: MistralServer, message: str) -> None:
    ls.window_show_message(types.ShowMessageParams(type=types.MessageType.Info, message=f"mistral-lsp: {message}"))


def code_action(ls: MistralServer, params: types.CodeActionParams) -> list[types.CodeAction] | None:
    try:
        found = code_actions(ls, params)
    except Exception:  # noqa: BLE001 - fail per feature
        log.exception("code actions failed")
        found = []
    try:
        return found + ai_code_actions(ls, params)
    except Exception:  # noqa: BLE001 - fail per feature
        log.exception("AI actions failed")
        return found


async def code_action_resolve(ls: MistralServer, action: types.CodeAction) -> types.CodeAction:
    try:
        return await resolve(ls, action)
    except Exception:  # noqa: BLE001 - fail per feature; CancelledError passes
        log.exception("code action resolve failed")
        return action
