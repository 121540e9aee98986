""""Write alt text with AI": listed cheaply on image references, resolved lazily with the model.

``textDocument/codeAction`` offers the action on every image reference in the requested range
whose image the model may see, as a quick fix when the ``missing-alt-text`` diagnostic is in the
context (a rewrite otherwise), for clients that resolve ``edit`` lazily. ``codeAction/resolve``
re-finds the reference (it must still read the same), asks the vision engine, and returns the
minimal edits that set the alt text (``syntax/image_alt.py``), converted through the one seam;
an answer for a document that changed meanwhile is dropped.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from lsprotocol import types

from lsp_server.core.findings import Edit, Span
from lsp_server.engines.documents import OpenDocument
from lsp_server.engines.vision import MISSING_ALT, VisionError, display_path
from lsp_server.protocol.base import MistralServer
from lsp_server.protocol.convert import range_bytes
from lsp_server.syntax.image_alt import alt_edits
from lsp_server.syntax.images import ImageRef

log = logging.getLogger(__name__)

ALT_TEXT = "mistral-lsp.alt-text"
TITLE = "Write alt text with AI"


def _digest(doc: OpenDocument, ref: ImageRef) -> str:
    return hashlib.sha1(doc.syntax.buffer.data[ref.span[0]:ref.span[1]]).hexdigest()[:16]


def list_actions(ls: MistralServer, doc: OpenDocument, params: types.CodeActionParams, lazy: bool
                 ) -> list[types.CodeAction]:
    """The alt-text actions for the image references in the requested range (no model call)."""
    services = ls.services
    if services is None or not lazy or not services.vision.enabled:
        return []
    vision = services.vision
    scan = vision.for_document(doc)
    if scan is None or not scan.refs:
        return []
    buf = doc.syntax.buffer
    start, end = range_bytes(buf, params.range, ls.encoding)
    missing = [d for d in params.context.diagnostics if d.code == MISSING_ALT]
    actions: list[types.CodeAction] = []
    for ref in vision.ref_at(scan, start, end):
        if not vision.images.locate(ref.target, doc.path).readable:
            continue
        ref_start = buf.row_of_byte(ref.span[0])
        fixes = [d for d in missing if d.range.start.line == ref_start]
        data = {"kind": ALT_TEXT, "uri": doc.uri, "start": ref.span[0], "end": ref.span[1], "hash": _digest(doc, ref)}
        actions.append(types.CodeAction(
            title=TITLE, kind=types.CodeActionKind.QuickFix if fixes else types.CodeActionKind.RefactorRewrite,
            diagnostics=fixes or None, is_preferred=True if fixes else None, data=data,
        ))
    return actions


def _find(ls: MistralServer, doc: OpenDocument, data: dict[str, Any]) -> ImageRef | None:
    assert ls.services is not None
    scan = ls.services.vision.for_document(doc)
    for ref in scan.refs if scan is not None else ():
        if ref.span == (data.get("start"), data.get("end")) and _digest(doc, ref) == data.get("hash"):
            return ref
    return None


async def resolve(ls: MistralServer, action: types.CodeAction) -> types.CodeAction:
    """Compute the alt text and its edit (the model runs here, never in the listing)."""
    from lsp_server.protocol.code_actions import _tell, _workspace_edit  # they import this module

    services = ls.services
    data = action.data if isinstance(action.data, dict) else {}
    doc = services.documents.get(str(data.get("uri", ""))) if services is not None else None
    if services is None or doc is None:
        return action
    ref = _find(ls, doc, data)
    if ref is None:
        _tell(ls, "the image reference changed since the action was offered; nothing was done")
        return action
    version = doc.version
    buf = doc.syntax.buffer
    vision = services.vision
    scan = vision.for_document(doc)
    assert scan is not None
    context = vision.context(doc.path, buf, scan, ref, display_path(doc.path, services.roots))
    try:
        text = await vision.alt_text(doc.path, ref, context)
    except VisionError as exc:
        _tell(ls, f"no alt text: {exc}")
        return action
    if services.documents.get(doc.uri) is not doc or doc.version != version:
        _tell(ls, "the document changed while the alt text was written; nothing was done")
        return action
    edits = []
    for start, end, new_text in alt_edits(ref, text, buf.data, buf.eol()):
        (line, col), (end_line, end_col) = buf.point_of_byte(start), buf.point_of_byte(end)
        edits.append(Edit(Span(line, col, end_line, end_col), new_text))
    action.edit = _workspace_edit(ls, doc, edits)
    log.info("alt text for %s: %d characters", ref.target, len(text))
    return action
