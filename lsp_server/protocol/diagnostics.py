"""Review findings as LSP diagnostics: pushed, or pulled with result ids; review progress.

A client that can pull diagnostics *and* be told to re-pull
(``workspace.diagnostics.refreshSupport``) gets them by ``textDocument/diagnostic``
plus a refresh when a review lands; every other client gets
``textDocument/publishDiagnostics`` with the document version. Never both: a client
that pulls without refresh support (Neovim 0.10/0.11) gets empty pull reports so it
does not show every finding twice. Findings always come from
``ReviewScheduler.current``, i.e. re-anchored onto the document's current text, plus the
vision engine's model-free image diagnostics, computed from the current text.

Progress is server-initiated work-done progress (``progress.py``); the token is created
without awaiting (a cancelled review must not leave a pending server->client request).
"""

from __future__ import annotations

import asyncio
import logging

from lsprotocol import types

from lsp_server.core.findings import Finding, Severity
from lsp_server.core.progress import ProgressSink
from lsp_server.core.text import TextBuffer
from lsp_server.engines.fixes import finding_data
from lsp_server.engines.review_scheduler import ReviewScheduler
from lsp_server.protocol.base import MistralServer
from lsp_server.protocol.convert import span_range
from lsp_server.protocol.progress import WorkDoneProgress

log = logging.getLogger(__name__)

SOURCE = "mistral-lsp"
IDENTIFIER = "mistral-lsp"
_REFRESH_EVERY_S = 0.2  # a burst of results (a workspace review) asks a pulling client to re-pull once
_SEVERITY = {
    Severity.ERROR: types.DiagnosticSeverity.Error,
    Severity.WARNING: types.DiagnosticSeverity.Warning,
    Severity.INFO: types.DiagnosticSeverity.Information,
    Severity.HINT: types.DiagnosticSeverity.Hint,
}


def pulls(ls: MistralServer) -> bool:
    """Whether this client gets diagnostics by pull (it can pull and be told to re-pull)."""
    caps = ls.client_capabilities
    text = caps.text_document if caps else None
    workspace = caps.workspace if caps else None
    refresh = workspace.diagnostics.refresh_support if workspace and workspace.diagnostics else False
    return bool(text and text.diagnostic is not None and refresh)


def to_diagnostic(buf: TextBuffer, finding: Finding, encoding: str, version: int | None = None) -> types.Diagnostic:
    """``finding`` on ``buf`` (the document at ``version``, which its data records: code
    actions follow its lines from there)."""
    return types.Diagnostic(
        range=span_range(buf, finding.span, encoding),
        message=finding.message,
        severity=_SEVERITY[finding.severity],
        code=finding.rule,
        source=SOURCE,
        data=finding_data(finding, version),
    )


def diagnostics_for(ls: MistralServer, uri: str) -> tuple[list[types.Diagnostic], int | None]:
    """The diagnostics a document shows now, and the document version they belong to."""
    services = ls.services
    if services is None:
        return [], None
    review = services.review
    findings = review.visible(uri)
    doc = services.documents.get(uri)
    state = review.current(uri)
    buf = doc.syntax.buffer if doc is not None else (state.buffer if state is not None else None)
    if buf is None:
        return [], None
    if doc is not None and not doc.binary:  # the model-free image diagnostics (missing alt, broken link)
        findings = findings + services.vision.lint_document(doc)
    version = doc.version if doc is not None else None
    return [to_diagnostic(buf, f, ls.encoding, version) for f in findings], version


class _Listener:
    """Tells the client about review results, the way this client wants them."""

    def __init__(self, ls: MistralServer) -> None:
        self.ls = ls
        self._refresh_pending = False

    def _refresh(self) -> None:
        """Ask a pulling client to re-pull, at most once per ``_REFRESH_EVERY_S``."""
        if self._refresh_pending:
            return
        self._refresh_pending = True

        def send() -> None:
            self._refresh_pending = False
            try:
                self.ls.workspace_diagnostic_refresh(None)
            except Exception:  # noqa: BLE001 - fail per feature
                log.exception("could not ask the client to refresh diagnostics")

        asyncio.get_running_loop().call_later(_REFRESH_EVERY_S, send)

    def publish(self, uri: str) -> None:
        ls = self.ls
        try:
            if pulls(ls):
                self._refresh()
                return
            items, version = diagnostics_for(ls, uri)
            ls.text_document_publish_diagnostics(
                types.PublishDiagnosticsParams(uri=uri, diagnostics=items, version=version)
            )
        except Exception:  # noqa: BLE001 - fail per feature
            log.exception("could not publish diagnostics for %s", uri)

    def progress(self, title: str, *, cancellable: bool = False) -> ProgressSink:
        return WorkDoneProgress(self.ls, title, cancellable=cancellable)


def attach(ls: MistralServer) -> ReviewScheduler | None:
    """The review scheduler, wired to this server's client (idempotent)."""
    if ls.services is None:
        return None
    review = ls.services.review
    if not (isinstance(review.listener, _Listener) and review.listener.ls is ls):
        review.listener = _Listener(ls)
    return review


def pull(ls: MistralServer, params: types.DocumentDiagnosticParams) -> types.DocumentDiagnosticReport:
    uri = params.text_document.uri
    review = attach(ls)
    if review is None or not pulls(ls):
        return types.FullDocumentDiagnosticReport(items=[], result_id="push")
    state = review.current(uri)
    doc = ls.services.documents.get(uri) if ls.services else None
    result_id = "{}:{}:{}:{}".format(
        doc.version if doc is not None else "-", state.generation if state is not None else 0,
        state.reviews if state is not None else 0, review.settings.review_min_severity,
    )
    if params.previous_result_id == result_id:
        return types.UnchangedDocumentDiagnosticReport(result_id=result_id)
    items, _ = diagnostics_for(ls, uri)
    return types.FullDocumentDiagnosticReport(items=items, result_id=result_id)
