"""The pygls server and protocol classes, with pygls's document store bypassed.

pygls applies every ``didChange`` to its own ``TextDocument`` before our handler
runs, rebuilding the whole string each time (O(file) per keystroke). Our
``DocumentStore`` is the single source of truth, so this protocol skips pygls's copy
and hands the notifications straight to our handlers.

Over stdio, pygls reads stdin with one thread-pool call per header line and per
body (three thread hand-offs per message, each waiting for the GIL behind whatever
the event loop is doing). When stdin is a pipe or a socket, as editors start
language servers, the server reads it on the event loop instead, like pygls's own
TCP mode; anything else (a terminal, a file) keeps pygls's reader.
"""

from __future__ import annotations

import asyncio
import logging
import os
import stat
import sys
import threading
from collections.abc import Generator
from typing import Any, BinaryIO

from lsprotocol import types
from pygls import IS_WASM
from pygls.io_ import StdoutWriter, run_async
from pygls.lsp.server import LanguageServer
from pygls.protocol.language_server import LanguageServerProtocol, lsp_method

from lsp_server.services import Services

log = logging.getLogger(__name__)

_READ_LIMIT = 1 << 20  # StreamReader buffer limit; a message body may be larger


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

    def start_io(self, stdin: BinaryIO | None = None, stdout: BinaryIO | None = None) -> None:
        """Serve over stdio; stdin is read on the event loop when it is a pipe or socket."""
        stdin = stdin or sys.stdin.buffer
        stdout = stdout or sys.stdout.buffer
        if IS_WASM or not _loop_readable(stdin, stdout):
            super().start_io(stdin, stdout)
            return
        self._stop_event = threading.Event()
        self.protocol.set_writer(StdoutWriter(stdout))
        try:
            asyncio.run(self._serve_pipe(stdin))
        except BrokenPipeError:
            log.error("the connection to the client is lost; shutting down")
        except (KeyboardInterrupt, SystemExit):
            pass
        finally:
            self.shutdown()

    async def _serve_pipe(self, stdin: BinaryIO) -> None:
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader(limit=_READ_LIMIT)
        transport, _ = await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), stdin)
        try:
            assert self._stop_event is not None
            await run_async(
                stop_event=self._stop_event,
                reader=_PipeReader(reader),
                protocol=self.protocol,
                logger=logging.getLogger("pygls.server"),
                error_handler=self.report_server_error,
            )
        finally:
            transport.close()

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


class _PipeReader:
    """pygls's reader interface over an asyncio StreamReader: b"" at end of input.

    After each message body the next read first yields to the event loop once. A
    StreamReader returns buffered data without suspending, so otherwise messages that
    arrived together would all be handled before the request handlers among them
    start; with the yield, a request's handler runs up to its first real ``await``
    (where completion takes its snapshot of the document) before the next message
    (say, a didChange) is applied, as with pygls's threaded reader.
    """

    def __init__(self, reader: asyncio.StreamReader) -> None:
        self._reader = reader
        self._handled = False  # a body was read (and handled) since the last yield

    async def readline(self) -> bytes:
        if self._handled:
            self._handled = False
            await asyncio.sleep(0)
        return await self._reader.readline()

    async def readexactly(self, n: int) -> bytes:
        try:
            body = await self._reader.readexactly(n)
        except asyncio.IncompleteReadError:
            return b""  # the client went away mid-message: the end, as with pygls's reader
        self._handled = True
        return body


def _loop_readable(stdin: BinaryIO, stdout: BinaryIO) -> bool:
    """Whether stdin can be read by the event loop: a pipe or socket of its own.

    The loop makes the descriptor non-blocking, so a terminal (shared with the shell)
    or a descriptor that is also stdout (a blocking writer) keeps pygls's reader.
    """
    try:
        info = os.fstat(stdin.fileno())
        out = os.fstat(stdout.fileno())
    except (AttributeError, OSError, ValueError):
        return False
    if not (stat.S_ISFIFO(info.st_mode) or stat.S_ISSOCK(info.st_mode)):
        return False
    return (info.st_dev, info.st_ino) != (out.st_dev, out.st_ino)
