"""The open documents: the server's own text mirror and syntax tree per URI.

The protocol layer feeds didOpen/didChange/didClose here (pygls's own document
store is bypassed: it rebuilds the whole string on every change). Engines read
documents synchronously and must not hold them across an ``await``: they take what
they need, remember ``version``, and re-check it after model I/O. Each document keeps
the edits since recent versions (``history``), so a range computed for an older
version (a finding, a fix) can be moved onto the current text, or known to be lost.

The server's store gives its documents a ``SyntaxBudget``: after each open or
change, a background task finishes the parse and the outline in short slices
between turns of the event loop (``syntax.document.settle``), so a file that takes
seconds to parse never holds the loop; until it is done, requests see plain-text
context. A parse known to be long runs in the store's parse threads instead
(``SyntaxDocument.start_worker``). (Without a budget, as in tests, documents parse
in one go.)
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from urllib.parse import unquote, urlparse

from lsp_server.core.tasks import BackgroundTasks
from lsp_server.core.text import ByteEdit, Encoding, looks_binary
from lsp_server.engines.edit_history import EditHistory
from lsp_server.syntax.budget import SyntaxBudget
from lsp_server.syntax.document import SyntaxDocument, settle
from lsp_server.syntax.languages import LanguageRegistry, LanguageSpec

log = logging.getLogger(__name__)


def uri_to_path(uri: str) -> str:
    """A file URI's path; other URIs (untitled:, vscode-notebook-cell:) as their path part."""
    parsed = urlparse(uri)
    return unquote(parsed.path) if parsed.path else uri


def file_path(uri: str) -> str | None:
    """A ``file:`` URI's local path; None for any other scheme."""
    parsed = urlparse(uri)
    return unquote(parsed.path) if parsed.scheme == "file" else None


@dataclass
class OpenDocument:
    """One open document: identity, version, and its syntax mirror."""

    uri: str
    path: str
    language_id: str
    version: int
    syntax: SyntaxDocument
    too_large: bool = False
    binary: bool = False
    edits: int = field(default=0)
    history: EditHistory = field(init=False)

    def __post_init__(self) -> None:
        self.history = EditHistory(self.version)

    @property
    def spec(self) -> LanguageSpec | None:
        return self.syntax.spec

    @property
    def syntax_mode(self) -> str:
        """How the server reads this document: "tree", "window" (a large file's tree covers the
        part around where the user works), or "plain text: <why>"."""
        if self.binary:
            return "plain text: binary"
        if self.too_large:
            return "plain text: over maxFileBytes"
        if self.syntax.spec is None:
            return f"plain text: no grammar for {self.language_id}"
        if self.syntax.too_deep:
            return "plain text: too many brackets open"
        return "window" if self.syntax.windowed else "tree"


class DocumentStore:
    """URI -> OpenDocument, kept in step with the client's incremental changes."""

    def __init__(self, registry: LanguageRegistry, *, max_parse_bytes: int,
                 budget: SyntaxBudget | None = None) -> None:
        self._registry = registry
        self._docs: dict[str, OpenDocument] = {}
        self._max_parse_bytes = max_parse_bytes
        self._budget = budget if budget is not None else SyntaxBudget.unbounded()
        # the threads of every document's long parses: two, so one pathological file does not
        # hold up the next (more would only take turns for the GIL); made on first use
        self._worker: ThreadPoolExecutor | None = None
        self._tasks = BackgroundTasks("settling a document's syntax", log=log)
        self._settling: dict[str, asyncio.Task[None]] = {}

    def __len__(self) -> int:
        return len(self._docs)

    def get(self, uri: str) -> OpenDocument | None:
        return self._docs.get(uri)

    def uris(self) -> list[str]:
        return list(self._docs)

    def all(self) -> list[OpenDocument]:
        return list(self._docs.values())

    def open(self, uri: str, language_id: str, version: int, text: str) -> OpenDocument:
        path = uri_to_path(uri)
        binary = looks_binary(text)
        too_large = len(text) > self._max_parse_bytes
        spec = None if (binary or too_large) else self._registry.for_document(language_id, path)
        if too_large:
            log.info("%s: %d characters, above maxFileBytes; parsed as plain text", path, len(text))
        doc = OpenDocument(
            uri=uri,
            path=path,
            language_id=language_id,
            version=version,
            syntax=SyntaxDocument(text, spec, self._registry, budget=self._budget, worker=self._parse_thread()),
            too_large=too_large,
            binary=binary,
        )
        doc.syntax.on_refocus = partial(self._settle_uri, uri)  # (by URI: no cycle through the document)
        self._stop_settling(uri)
        replaced = self._docs.get(uri)
        if replaced is not None:
            replaced.syntax.cancel_worker()
        self._docs[uri] = doc
        self._settle(doc)
        return doc

    def change(
        self,
        uri: str,
        version: int,
        changes: list[tuple[tuple[int, int] | None, tuple[int, int] | None, str]],
        encoding: Encoding,
    ) -> OpenDocument | None:
        """Apply (start, end, text) changes in order; None range = whole document."""
        doc = self._docs.get(uri)
        if doc is None:
            log.warning("didChange for a document that is not open: %s", uri)
            return None
        applied: list[ByteEdit] | None = []
        for start, end, text in changes:
            edit = doc.syntax.apply_change(start, end, text, encoding)
            if edit is None:
                applied = None  # a full replacement: older versions cannot be followed
            elif applied is not None:
                applied.append(edit)
        doc.version = version
        doc.history.record(version, applied)
        doc.edits += len(changes)
        self._settle(doc)
        return doc

    def close(self, uri: str) -> None:
        doc = self._docs.pop(uri, None)
        self._stop_settling(uri)
        if doc is not None:
            doc.syntax.cancel_worker()

    async def aclose(self) -> None:
        """Stop the background syntax work (a parse in a worker thread is cancelled, and the
        thread ends when it has stopped)."""
        self._settling.clear()
        await self._tasks.cancel_all()
        for doc in self._docs.values():
            doc.syntax.cancel_worker()
        if self._worker is not None:
            self._worker.shutdown(wait=False, cancel_futures=True)
            self._worker = None

    def _parse_thread(self) -> ThreadPoolExecutor | None:
        if self._budget.parse_s is None:
            return None  # unbudgeted documents parse in one go
        if self._worker is None:
            self._worker = ThreadPoolExecutor(max_workers=2, thread_name_prefix="mistral-lsp-parse")
        return self._worker

    def _settle_uri(self, uri: str) -> None:
        """Drive an open document's parse again (its tree's window moved)."""
        doc = self._docs.get(uri)
        if doc is not None:
            self._settle(doc)

    def _settle(self, doc: OpenDocument) -> None:
        """Finish ``doc``'s parse and outline in the background (one task per document)."""
        if doc.spec is None or doc.uri in self._settling:
            return
        task = self._tasks.spawn(self._settle_task(doc))
        if task is not None:
            self._settling[doc.uri] = task

    async def _settle_task(self, doc: OpenDocument) -> None:
        try:
            await settle(doc.syntax)
        finally:
            if self._settling.get(doc.uri) is asyncio.current_task():
                del self._settling[doc.uri]

    def _stop_settling(self, uri: str) -> None:
        task = self._settling.pop(uri, None)
        if task is not None:
            task.cancel()
