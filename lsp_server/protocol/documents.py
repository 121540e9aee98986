"""didOpen / didChange / didSave / didClose -> the DocumentStore and the review triggers.

A change cancels the document's in-flight review at once (before anything else can
run); opening and saving start one when the triggers say so.
"""

from __future__ import annotations

import logging

from lsprotocol import types

from lsp_server.protocol.base import MistralServer
from lsp_server.protocol.convert import content_changes, encoding_of
from lsp_server.protocol import workspace
from lsp_server.protocol.diagnostics import attach

log = logging.getLogger(__name__)


def did_open(ls: MistralServer, params: types.DidOpenTextDocumentParams) -> None:
    if ls.services is None:
        return
    item = params.text_document
    doc = ls.services.documents.open(item.uri, item.language_id, item.version, item.text)
    if doc.binary:
        log.info("%s looks binary: no completions for it", doc.path)
    elif doc.spec is None:
        log.info("%s (%s): no grammar, plain-text context", doc.path, item.language_id)
    workspace.opened(ls, doc)
    _review_event(ls, "opened", item.uri)


def did_change(ls: MistralServer, params: types.DidChangeTextDocumentParams) -> None:
    if ls.services is None:
        return
    doc = params.text_document
    try:
        opened = ls.services.documents.change(
            doc.uri, doc.version, content_changes(params.content_changes), encoding_of(ls.encoding)
        )
    except Exception:  # noqa: BLE001 - a bad change must not take the server down
        log.exception("could not apply a change to %s; dropping the document", doc.uri)
        ls.services.documents.close(doc.uri)
        ls.tell_once(
            f"desync:{doc.uri}",
            "lost track of a document's text; close and reopen it to get completions again",
        )
        _review_event(ls, "closed", doc.uri)
        return
    if opened is not None:
        workspace.changed(ls, opened)
    _review_event(ls, "changed", doc.uri)


def did_save(ls: MistralServer, params: types.DidSaveTextDocumentParams) -> None:
    _review_event(ls, "saved", params.text_document.uri)


def did_close(ls: MistralServer, params: types.DidCloseTextDocumentParams) -> None:
    if ls.services is None:
        return
    closing = ls.services.documents.get(params.text_document.uri)
    ls.services.documents.close(params.text_document.uri)
    ls.services.completion.forget(params.text_document.uri)
    if closing is not None:
        workspace.closed(ls, closing.path)
    _review_event(ls, "closed", params.text_document.uri)


def _review_event(ls: MistralServer, event: str, uri: str) -> None:
    """Tell the review scheduler; a review problem never breaks document sync. A document with
    image references gets its (model-free) image diagnostics right away."""
    try:
        review = attach(ls)
        if review is not None:
            getattr(review, event)(uri)
            doc = ls.services.documents.get(uri) if ls.services is not None else None
            if event == "closed" and ls.services is not None:
                ls.services.vision.forget(uri)
            elif doc is not None and ls.services is not None and ls.services.vision.wants_publish(doc, event):
                ls.services.vision.when_settled(doc, lambda: review.publish_soon(uri))
    except Exception:  # noqa: BLE001 - fail per feature
        log.exception("review %s event failed for %s", event, uri)
