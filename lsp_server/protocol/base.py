"""The pygls server and protocol classes, with pygls's document store bypassed.

pygls applies every ``didChange`` to its own ``TextDocument`` before our handler
runs, rebuilding the whole string each time (O(file) per keystroke). Our
``DocumentStore`` is the single source of truth, so this protocol skips pygls's copy
and hands the notifications straight to our handlers.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.protocol.language_server import LanguageServerProtocol, lsp_method

from lsp_server.services import Services


class MistralProtocol(LanguageServerProtocol):
    """LanguageServerProtocol whose document notifications only reach our handlers."""

    def _user(self, method: str, params: Any) -> Generator[Any, Any, None]:
        if (handler := self.fm.features.get(method)) is not None:
            yield handler, (params,), None

    @lsp_method(types.TEXT_DOCUMENT_DID_OPEN)
    def lsp_text_document__did_open(self, params: types.DidOpenTextDocumentParams) -> Any:
        yield from self._user(types.TEXT_DOCUMENT_DID_OPEN, params)

    @lsp_method(types.TEXT_DOCUMENT_DID_CHANGE)
    def lsp_text_document__did_change(self, params: types.DidChangeTextDocumentParams) -> Any:
        yield from self._user(types.TEXT_DOCUMENT_DID_CHANGE, params)

    @lsp_method(types.TEXT_DOCUMENT_DID_CLOSE)
    def lsp_text_document__did_close(self, params: types.DidCloseTextDocumentParams) -> Any:
        yield from self._user(types.TEXT_DOCUMENT_DID_CLOSE, params)


class MistralServer(LanguageServer):
    """The language server; ``services`` exists once ``initialize`` has run."""

    def __init__(self, name: str, version: str) -> None:
        super().__init__(name, version, protocol_cls=MistralProtocol, max_workers=4)
        self.services: Services | None = None
        self.told: set[str] = set()  # messages already shown to the user (once each)
        self.pending_problems: list[str] = []  # settings problems to show after initialize

    @property
    def encoding(self) -> str:
        """The negotiated position encoding: 'utf-8', 'utf-16' or 'utf-32'."""
        value = self.workspace.position_encoding or "utf-16"
        return str(getattr(value, "value", value))

    def tell_once(self, key: str, message: str, kind: types.MessageType = types.MessageType.Warning) -> None:
        """Show ``message`` to the user the first time ``key`` comes up."""
        if key in self.told:
            return
        self.told.add(key)
        self.window_show_message(types.ShowMessageParams(type=kind, message=f"mistral-lsp: {message}"))
