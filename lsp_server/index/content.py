"""File content -> index entries, for both the build and the updates.

``read_files`` reads and hashes on the index's I/O thread (both release the GIL for
large buffers). ``ContentIndexer`` turns content into a ``FileEntry`` and a store row,
re-using known symbols when the digest matches and parsing (in ``Pacer`` slices) only
when it does not. ``EventClock`` orders updates: whoever touched a file last wins.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from lsp_server.core.foreground import Foreground
from lsp_server.core.text import looks_binary
from lsp_server.index.extract import SymbolExtractor
from lsp_server.index.pacing import Pacer, drive
from lsp_server.index.project_files import Candidate
from lsp_server.index.store import StoredFile
from lsp_server.index.symbols import FileSymbols, dumps, loads
from lsp_server.index.tables import FileEntry, SymbolTable
from lsp_server.syntax.languages import EXTENSIONS, SPECS, LanguageSpec

T = TypeVar("T")

RACY_NS = 2_000_000_000  # content read within 2 s of its mtime: size + mtime alone is not trusted
_BATCH_FILES = 32
_BATCH_BYTES = 4_000_000


@dataclass(frozen=True, slots=True)
class FileRead:
    """One file as read from disk (``data`` None: unreadable)."""

    path: str
    data: bytes | None
    digest: str
    size: int
    mtime_ns: int
    checked_ns: int


def digest(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def read_files(root: Path, paths: list[str]) -> list[FileRead]:
    """Read and hash files (runs on the I/O thread)."""
    found = []
    for rel in paths:
        try:
            with open(root / rel, "rb") as handle:
                stat = os.fstat(handle.fileno())
                checked = time.time_ns()
                data = handle.read()
        except OSError:
            found.append(FileRead(rel, None, "", 0, 0, 0))
            continue
        found.append(FileRead(rel, data, digest(data), len(data), stat.st_mtime_ns, checked))
    return found


def trusted(size: int, mtime_ns: int, checked_ns: int, candidate: Candidate) -> bool:
    """Size and mtime match, and the content was read well after that mtime (a file
    rewritten within one mtime tick of its last read must be hashed again)."""
    return size == candidate.size and mtime_ns == candidate.mtime_ns and checked_ns - mtime_ns > RACY_NS


def read_batches(candidates: list[Candidate]) -> list[list[Candidate]]:
    """Groups of files to read in one I/O-thread call (bounded in count and bytes)."""
    batches: list[list[Candidate]] = []
    current: list[Candidate] = []
    size = 0
    for candidate in candidates:
        if current and (len(current) >= _BATCH_FILES or size + candidate.size > _BATCH_BYTES):
            batches.append(current)
            current, size = [], 0
        current.append(candidate)
        size += candidate.size
    if current:
        batches.append(current)
    return batches


class EventClock:
    """Sequence numbers of updates per file: a result computed before a newer update
    of the same file is dropped."""

    def __init__(self) -> None:
        self.now = 0
        self._last: dict[str, int] = {}

    def mark(self, rel: str) -> int:
        self.now += 1
        self._last[rel] = self.now
        return self.now

    def touched_since(self, rel: str, seq: int) -> bool:
        return self._last.get(rel, -1) > seq

    def is_latest(self, rel: str, seq: int) -> bool:
        return self._last.get(rel) == seq


class ContentIndexer:
    """Content -> (entry, store row): digest reuse first, paced parsing otherwise."""

    def __init__(self, extractor: SymbolExtractor, table: SymbolTable, *, step_budget_s: float,
                 foreground: Foreground | None = None) -> None:
        self.extractor = extractor
        self.step_budget_s = step_budget_s
        self.foreground = foreground
        self.longest_update_ms = 0.0
        self._table = table
        self._io = ThreadPoolExecutor(1, thread_name_prefix="mistral-lsp-index")

    def pacer(self) -> Pacer:
        """A pacer for one job (slices of ``step_budget_s``, yielding to completions)."""
        return Pacer(self.step_budget_s, foreground=self.foreground)

    async def in_io(self, function: Callable[..., T], *args: Any) -> T:
        """Run blocking work (disk, SQLite, grammar loading) on the index's I/O thread."""
        return await asyncio.get_running_loop().run_in_executor(self._io, function, *args)

    def close(self) -> None:
        self._io.shutdown(wait=False, cancel_futures=True)

    async def warm(self, rel: str, pacer: Pacer | None) -> None:
        """Load a language's grammar and queries on the I/O thread before its first file."""
        spec = _spec_of(rel)
        if spec is None or self.extractor.is_warm(spec):
            return
        if pacer is not None:
            pacer.end_slice()
        await self.in_io(self.extractor.warm, spec)
        if pacer is not None:
            pacer.restart()

    async def from_read(self, read: FileRead, row: StoredFile | None,
                        pacer: Pacer) -> tuple[FileEntry | None, StoredFile | None, bool]:
        """The entry and store row for freshly read content, and whether it was parsed;
        (None, None, False) for an unreadable or binary file (``project_files``' rule) or
        one without a grammar. Known content is taken as is: the grammar is only loaded
        when something is parsed."""
        spec = _spec_of(read.path)
        if spec is None or read.data is None or looks_binary(read.data):
            return None, None, False
        current = self._table.disk_entry(read.path)
        payload: str | None = None
        found: FileSymbols | None = None
        if current is not None and current.digest == read.digest:
            found = current.found
        elif row is not None and row.digest == read.digest and row.language == spec.name:
            try:
                found, payload = loads(row.payload, read.path, spec.name), row.payload
            except ValueError:
                found = None
        parsed = found is None
        if found is None:
            found = await self._parse(read.path, read.data, pacer)
            if found is None:
                return None, None, False
            await pacer.maybe_pause()
        entry = FileEntry(read.path, read.size, read.mtime_ns, read.digest, read.checked_ns, found)
        stored = StoredFile(read.path, read.size, read.mtime_ns, read.digest, spec.name,
                            payload if payload is not None else dumps(found), read.checked_ns)
        return entry, stored, parsed

    async def from_text(self, rel: str, text: str) -> FileEntry | None:
        """An editor-text entry (never stored); None if the file has no grammar."""
        if _spec_of(rel) is None:
            return None
        data = text.encode("utf-8", errors="replace")
        known = self._table.entry(rel)
        content = digest(data)
        if known is not None and known.digest == content:
            found: FileSymbols | None = known.found
        else:
            pacer = self.pacer()
            found = await self._parse(rel, data, pacer)
            self.note(pacer)
        return None if found is None else FileEntry(rel, len(data), 0, content, 0, found)

    async def _parse(self, rel: str, data: bytes, pacer: Pacer) -> FileSymbols | None:
        """Extract in slices (None: no grammar for the file)."""
        await self.warm(rel, pacer)
        spec = self.extractor.language_of(rel)
        if spec is None:
            return None
        if looks_binary(data):
            return FileSymbols(spec.name)
        return await drive(self.extractor.steps(data, spec, rel, pacer), pacer)

    def note(self, pacer: Pacer) -> None:
        """Record an update's longest slice."""
        pacer.end_slice()
        self.longest_update_ms = max(self.longest_update_ms, pacer.longest_s * 1000)


def _spec_of(rel: str) -> LanguageSpec | None:
    """The language a file's extension names (without loading its grammar)."""
    name = EXTENSIONS.get(os.path.splitext(rel)[1].lower())
    return SPECS[name] if name is not None else None
