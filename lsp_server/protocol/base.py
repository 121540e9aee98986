"""The pygls server and protocol classes, and the transport loop that feeds them.

pygls applies every ``didChange`` to its own ``TextDocument`` before our handler
runs, rebuilding the whole string each time (O(file) per keystroke). Our
``DocumentStore`` is the single source of truth, so ``MistralProtocol`` skips
pygls's copy and hands the notifications straight to our handlers. Its intake
(``rpc.RpcProtocol``) answers every request exactly once.

The server reads its input itself, over stdio and TCP alike: chunks of bytes go
through ``transport.FrameParser`` (bounded headers, byte-exact bodies,
resynchronisation after a bad frame) into the protocol, one message at a time,
yielding to the event loop after each so a request's handler starts (and takes
its snapshot of the document) before the next message, say a didChange, is
handled. A stdin that is a pipe or a socket, as editors start language servers,
is read on the event loop; anything else (a terminal, a file) by a reader thread.
Writes go through ``transport.SafeWriter``: a client that has gone ends the server.

The loop ends at ``exit``, at the end of the input, or when the client is gone;
then the tasks still running are cancelled (bounded), the services closed if
``shutdown`` did not, and ``exit_code`` tells the command line how to exit.
"""

from __future__ import annotations

import asyncio
import logging
import os
import stat
import sys
from collections.abc import Awaitable, Callable, Generator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, BinaryIO

from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.protocol.language_server import lsp_method

from lsp_server.protocol.rpc import RpcProtocol, strict_converter
from lsp_server.protocol.transport import FrameParser, Message, SafeWriter
from lsp_server.services import Services

log = logging.getLogger(__name__)

READ_CHUNK = 64 * 1024
CLOSE_GRACE_S = 1.0  # how long the end of the server waits for tasks and services to close


class MistralProtocol(RpcProtocol):
    """The checked JSON-RPC intake, with document notifications only reaching our handlers."""

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

    protocol: MistralProtocol

    def __init__(self, name: str, version: str) -> None:
        super().__init__(name, version, protocol_cls=MistralProtocol, converter_factory=strict_converter,
                         max_workers=4)
        self.services: Services | None = None
        self.told: set[str] = set()  # messages already shown to the user (once each)
        self.pending_problems: list[str] = []  # settings problems to show after initialize
        self.log_level_override: str | None = None  # an explicit --log-level wins over settings
        self._services_closed = False
        self._loop_task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.protocol.on_exit = lambda _code: self._stop()

    @property
    def exit_code(self) -> int:
        """0 after shutdown + exit or at the end of the input; 1 for exit without shutdown."""
        return self.protocol.exit_code or 0

    def apply_log_level(self, level: str) -> None:
        """Set the package's log level from settings, unless the command line chose one."""
        logging.getLogger("lsp_server").setLevel((self.log_level_override or level).upper())

    async def close_services(self) -> None:
        """Close the services once (at shutdown, or at the end when shutdown never came)."""
        if self.services is None or self._services_closed:
            return
        self._services_closed = True
        await self.services.aclose()

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

    def report_server_error(self, error: Exception, source: Any) -> None:
        """Log pygls's out-of-band errors; never a pop-up (the log says all, the UI little)."""
        log.error("server error (%s): %s", getattr(source, "__name__", source), error)

    # -- serving -------------------------------------------------------------------------
    def start_io(self, stdin: BinaryIO | None = None, stdout: BinaryIO | None = None) -> None:
        """Serve over stdio until exit or the end of the input."""
        stdin = stdin or sys.stdin.buffer
        stdout = stdout or sys.stdout.buffer
        self.protocol.set_writer(SafeWriter(stdout, on_gone=self._stop))
        self._run(self._serve_stdin(stdin, stdout))

    def start_tcp(self, host: str, port: int) -> None:
        """Serve one client over TCP (for debugging), then end."""
        self._run(self._serve_tcp(host, port))

    def _run(self, main: Awaitable[None]) -> None:
        loop = asyncio.new_event_loop()
        try:
            loop.run_until_complete(main)
        except KeyboardInterrupt:
            pass
        finally:
            if self._thread_pool is not None:
                self._thread_pool.shutdown(wait=False, cancel_futures=True)
            loop.close()  # the default executor is not waited for either

    async def _serve_stdin(self, stdin: BinaryIO, stdout: BinaryIO) -> None:
        loop = asyncio.get_running_loop()
        if _loop_readable(stdin, stdout):
            reader = asyncio.StreamReader(limit=READ_CHUNK)
            transport, _ = await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), stdin)
            try:
                await self._serve(lambda: reader.read(READ_CHUNK))
            finally:
                transport.close()
            return
        read = getattr(stdin, "read1", stdin.read)
        pool = ThreadPoolExecutor(1, thread_name_prefix="stdin")  # not waited for: a terminal may never answer
        try:
            await self._serve(lambda: loop.run_in_executor(pool, read, READ_CHUNK))
        finally:
            pool.shutdown(wait=False, cancel_futures=True)

    async def _serve_tcp(self, host: str, port: int) -> None:
        done = asyncio.Event()

        async def connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self.protocol.set_writer(SafeWriter(writer, on_gone=self._stop))
            try:
                await self._serve(lambda: reader.read(READ_CHUNK))
            finally:
                writer.close()
                done.set()

        server = await asyncio.start_server(connection, host, port)
        log.info("serving on %s", ", ".join(str(s.getsockname()) for s in server.sockets))
        async with server:
            await done.wait()

    async def _serve(self, read: Callable[[], Awaitable[bytes]]) -> None:
        """Read, frame and handle messages until exit, the end of the input, or a lost client."""
        self._loop_task, self._loop = asyncio.current_task(), asyncio.get_running_loop()
        parser = FrameParser()
        try:
            while self.protocol.exit_code is None:
                chunk = await read()
                for event in parser.feed(chunk) if chunk else parser.close():
                    self.protocol.handle_event(event)
                    if self.protocol.exit_code is not None:
                        break
                    if isinstance(event, Message):
                        await asyncio.sleep(0)  # let a request's handler reach its first await
                if not chunk:
                    log.info("the client closed the input; shutting down")
                    break
        except asyncio.CancelledError:
            if self.protocol.exit_code is None and not self._client_gone():
                raise
            if (task := asyncio.current_task()) is not None:
                task.uncancel()
        except OSError as exc:
            log.warning("reading from the client failed (%s); shutting down", exc)
        finally:
            self._loop_task = None
            await self._finish()

    def _client_gone(self) -> bool:
        writer = self.protocol.writer
        return isinstance(writer, SafeWriter) and writer.gone

    def _stop(self) -> None:
        """At exit, or when the client is gone (from any thread): end the read loop at once."""
        task, loop = self._loop_task, self._loop
        if task is None or loop is None or loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            if task is not asyncio.current_task():
                task.cancel()
        else:
            loop.call_soon_threadsafe(task.cancel)

    async def _finish(self) -> None:
        """Close quietly: no more writes, tasks cancelled, services closed, all bounded."""
        writer = self.protocol.writer
        if isinstance(writer, SafeWriter):
            writer.close()
        current = asyncio.current_task()
        tasks = [t for t in asyncio.all_tasks() if t is not current]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=CLOSE_GRACE_S)
        try:
            await asyncio.wait_for(self.close_services(), CLOSE_GRACE_S)
        except Exception as exc:  # noqa: BLE001 - the process ends anyway
            log.info("closing the services at the end: %s", exc or type(exc).__name__)


def _loop_readable(stdin: BinaryIO, stdout: BinaryIO) -> bool:
    """Whether stdin can be read by the event loop: a pipe or socket of its own.

    The loop makes the descriptor non-blocking, so a terminal (shared with the shell)
    or a descriptor that is also stdout (a blocking writer) is read by a thread.
    """
    try:
        info = os.fstat(stdin.fileno())
        out = os.fstat(stdout.fileno())
    except (AttributeError, OSError, ValueError):
        return False
    if not (stat.S_ISFIFO(info.st_mode) or stat.S_ISSOCK(info.st_mode)):
        return False
    return (info.st_dev, info.st_ino) != (out.st_dev, out.st_ino)
