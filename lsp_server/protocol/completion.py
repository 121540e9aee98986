"""textDocument/inlineCompletion (ghost text) and textDocument/completion (one AI item).

Thin handlers: unpack, convert the position, call the CompletionEngine, convert back
(``convert``: the result's place, or its ``word_edit``, as a client range).
Every request gets exactly one answer: a list (possibly empty), or the cancelled
error when the client cancelled it.
"""

from __future__ import annotations

import logging

from lsprotocol import types

from lsp_server.core.text import split_lines
from lsp_server.engines.completion import CompletionResult
from lsp_server.engines.documents import OpenDocument
from lsp_server.protocol.base import MistralServer
from lsp_server.protocol.convert import byte_range, text_edit, to_byte

log = logging.getLogger(__name__)

TRIGGER_CHARACTERS = [".", "(", ",", "=", ":"]
_LABEL_WIDTH = 60


async def _complete(
    ls: MistralServer, uri: str, position: types.Position, invoked: bool
) -> tuple[CompletionResult, OpenDocument] | None:
    services = ls.services
    if services is None:
        return None
    doc = services.documents.get(uri)
    if doc is None:
        log.debug("completion for a document that is not open: %s", uri)
        return None
    buf = doc.syntax.buffer
    cursor = to_byte(buf, position, ls.encoding)
    try:
        result = await services.completion.complete(doc, cursor, invoked=invoked)
    except Exception:  # noqa: BLE001 - fail per feature, never the server
        log.exception("completion failed")
        return None
    return result, doc


async def inline_completion(
    ls: MistralServer, params: types.InlineCompletionParams
) -> types.InlineCompletionList:
    invoked = params.context.trigger_kind == types.InlineCompletionTriggerKind.Invoked
    answer = await _complete(ls, params.text_document.uri, params.position, invoked)
    if answer is None or not answer[0].text:
        return types.InlineCompletionList(items=[])
    result, doc = answer
    at = byte_range(doc.syntax.buffer, result.cursor_byte, result.cursor_byte, ls.encoding)
    return types.InlineCompletionList(
        items=[types.InlineCompletionItem(insert_text=result.text, range=at)]
    )


async def completion(ls: MistralServer, params: types.CompletionParams) -> types.CompletionList:
    invoked = params.context is None or params.context.trigger_kind == types.CompletionTriggerKind.Invoked
    answer = await _complete(ls, params.text_document.uri, params.position, invoked)
    if answer is None or not answer[0].text:
        return types.CompletionList(is_incomplete=True, items=[])
    result, doc = answer
    edit = text_edit(doc.syntax.buffer, result.word_edit(doc.syntax.buffer), ls.encoding)
    new_text = edit.new_text
    first_line = next((line.strip() for line in split_lines(new_text) if line.strip()), "")
    label = first_line if len(first_line) <= _LABEL_WIDTH else first_line[: _LABEL_WIDTH - 1] + "…"
    item = types.CompletionItem(
        label=label,
        kind=types.CompletionItemKind.Text,
        detail="mistral-lsp",
        documentation=types.MarkupContent(
            kind=types.MarkupKind.Markdown,
            value=f"```{doc.spec.name if doc.spec else ''}\n{new_text}\n```",
        ),
        filter_text=new_text,
        sort_text="0000",
        preselect=True,
        insert_text_format=types.InsertTextFormat.PlainText,
        text_edit=edit,
    )
    return types.CompletionList(is_incomplete=True, items=[item])
