"""LSP's Content-Length framing, read and written robustly: the one place bytes become messages.

``FrameParser`` is sans-I/O: ``feed`` it bytes as they arrive and it returns what
they held: whole ``Message`` bodies (exactly ``Content-Length`` bytes), ``BadFrame``
for a header block that cannot frame a body (no, a non-numeric, a negative or an
absurd ``Content-Length``), and ``Skipped`` for bytes that belong to no frame.
Memory stays bounded whatever arrives: a header line may be at most
``HEADER_LINE_LIMIT`` bytes, a header block ``HEADER_BLOCK_LIMIT``, a body
``BODY_LIMIT``; anything else is skipped while the parser looks for the next
``Content-Length`` header (resynchronisation), so one bad frame never costs the
messages after it.

Lenient where it is safe: header names in any case, ``\\n`` for ``\\r\\n``, blank
lines between messages, any extra header (``Content-Type`` included, whatever its
charset: the body is read as UTF-8, as the spec says). A ``Content-Length`` that
overstates the body is noticed when the next header arrives inside it: the body
read so far must be one complete JSON value followed by a ``Content-Length``
header line, which no well-formed body can contain (JSON strings cannot hold a
raw line break).

``salvage_fields`` reads the top-level fields of a body that was cut short or
framed badly, so the request inside it can still be answered by its id.
``SafeWriter`` writes to the client; the first failed write means the client is
gone: it is logged once, reported once, and every later write is dropped.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

log = logging.getLogger(__name__)

HEADER_LINE_LIMIT = 8 * 1024
HEADER_BLOCK_LIMIT = 64 * 1024
BODY_LIMIT = 512 * 1024 * 1024
SALVAGE_WINDOW = 4 * 1024  # bytes after a bad header block searched for the request's id
PREVIEW_BYTES = 48

_NEEDLE = b"content-length"
_HEADER = re.compile(rb"([!#$%&'*+.^_`|~0-9A-Za-z-]+)[ \t]*:[ \t]*(.*?)[ \t]*")
_LENGTH = re.compile(rb"\d{1,12}")
_NEXT_HEADER = re.compile(rb"(?i)content-length[ \t]*:[ \t]*\d{1,12}[ \t]*\r?\n")
_JSON = json.JSONDecoder()


@dataclass(frozen=True, slots=True)
class Message:
    """One framed body, exactly as many bytes as its Content-Length (or fewer, see ``note``)."""

    body: bytes
    note: str = ""  # set when the frame was repaired (an overstated Content-Length)


@dataclass(frozen=True, slots=True)
class BadFrame:
    """A complete header block that cannot frame a body; ``salvaged`` holds what follows it."""

    reason: str
    salvaged: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Skipped:
    """Bytes dropped while looking for the next header block."""

    size: int
    reason: str
    preview: bytes


Event = Message | BadFrame | Skipped


class FrameParser:
    """Turns a byte stream into frames, resynchronising after anything malformed."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self._pos = 0
        self._length = -1  # the body length being read, or -1 while reading headers
        self._scanned = 0  # how far the current body was searched for a next header
        self._skipping = False
        self._candidate = False  # reading a header block that resynchronisation found
        self._bad = ""  # the reason of a bad header block not reported yet
        self._skipped = 0
        self._skip_reason = ""
        self._preview = b""

    def feed(self, data: bytes) -> list[Event]:
        """Add bytes; returns the events they completed, in order."""
        self._buf += data
        events: list[Event] = []
        while (event := self._step()) is not None:
            if event is not _AGAIN:
                events.append(event)
        if self._pos > 65536 and self._pos * 2 > len(self._buf):
            del self._buf[: self._pos]
            self._scanned = max(0, self._scanned - self._pos)
            self._pos = 0
        return events

    def close(self) -> list[Event]:
        """The input ended: report whatever was left unread."""
        events: list[Event] = []
        if self._bad and (bad := self._report_bad(final=True)) is not None:
            events.append(bad)
        rest = len(self._buf) - self._pos
        if self._skipping or self._candidate:
            self._skip(rest)
            events.append(self._skipped_event())
        elif rest and bytes(self._buf[self._pos :]).strip():
            reason = "the input ended in the middle of a message"
            events.append(Skipped(rest, reason, bytes(self._buf[self._pos : self._pos + PREVIEW_BYTES])))
        self._buf, self._pos, self._length = bytearray(), 0, -1
        return events

    # -- the state machine -------------------------------------------------------------
    def _step(self) -> Event | None:
        if self._bad:
            return self._report_bad()
        if self._skipping:
            return self._resync()
        if self._length >= 0:
            return self._body()
        return self._headers()

    def _headers(self) -> Event | None:
        buf, start = self._buf, self._pos
        at = start
        headers: dict[bytes, bytes] = {}
        conflict = ""
        while True:
            newline = buf.find(b"\n", at, at + HEADER_LINE_LIMIT + 1)
            if newline == -1:
                if len(buf) - at > HEADER_LINE_LIMIT:
                    return self._garbage(start, f"a header line longer than {HEADER_LINE_LIMIT} bytes")
                return None
            line = bytes(buf[at:newline]).rstrip(b"\r")
            at = newline + 1
            if not line:
                if not headers:  # blank lines between messages
                    start = self._pos = at
                    continue
                break
            match = _HEADER.fullmatch(line)
            if match is None:
                return self._garbage(start, "bytes that are not a header line")
            name = match.group(1).lower()
            if name in headers and headers[name] != match.group(2):
                conflict = f"two different {match.group(1).decode()} headers"
            headers[name] = match.group(2)
            if at - start > HEADER_BLOCK_LIMIT:
                return self._garbage(start, f"a header block longer than {HEADER_BLOCK_LIMIT} bytes")
        value = headers.get(_NEEDLE)
        if conflict:
            return self._bad_block(start, at, conflict)
        if value is None:
            return self._bad_block(start, at, "a header block without Content-Length")
        if _LENGTH.fullmatch(value) is None:
            return self._bad_block(start, at, f"Content-Length {_shown(value)} is not a byte count")
        length = int(value)
        if length > BODY_LIMIT:
            return self._bad_block(start, at, f"Content-Length {length} is over the limit of {BODY_LIMIT} bytes")
        self._pos, self._length, self._scanned = at, length, at
        if self._candidate:  # the resynchronisation found a good header: report what it skipped
            skipped = self._skipped_event()
            return skipped if skipped.size else _AGAIN
        return _AGAIN

    def _body(self) -> Event | None:
        buf, start, length = self._buf, self._pos, self._length
        repaired = self._overstated(start, min(len(buf), start + length))
        if repaired is not None:
            return repaired
        if len(buf) - start >= length:
            self._pos, self._length = start + length, -1
            return Message(bytes(buf[start : start + length]))
        return None

    def _overstated(self, start: int, end: int) -> Message | None:
        """A next header inside the body, after one complete JSON value: the length lied."""
        buf = self._buf
        at = max(start + 1, self._scanned - 64)
        self._scanned = end
        while True:
            hits = [i for i in (buf.find(b"ontent-", at, end), buf.find(b"ONTENT-", at, end)) if i != -1]
            if not hits:
                return None
            hit = min(hits) - 1  # where "Content-" starts
            if _NEXT_HEADER.match(buf, hit) is not None:
                head = bytes(buf[start:hit])
                if _is_one_json_value(head):
                    note = f"Content-Length {self._length} overstated the body ({len(head)} bytes)"
                    self._pos, self._length = hit, -1
                    return Message(head.rstrip(), note)
            at = hit + 2

    def _bad_block(self, start: int, end: int, reason: str) -> Event:
        """A complete header block that frames nothing: skip to the next header block.

        At a message boundary it is reported (with what follows it, to answer the request
        by its id) and skipping starts after it; found while resynchronising, it was
        only text that mentions Content-Length: skipping goes on from just after it.
        """
        if self._candidate:
            return self._garbage(start, reason)
        self._pos, self._bad = end, reason
        return _AGAIN

    def _report_bad(self, *, final: bool = False) -> Event | None:
        """The BadFrame, once what follows it shows the request's id (or never will)."""
        window = bytes(self._buf[self._pos : self._pos + SALVAGE_WINDOW])
        fields, closed = salvage(window)
        ready = (closed or final or len(window) >= SALVAGE_WINDOW or ("id" in fields and "method" in fields)
                 or _NEEDLE in window.lower())
        if not ready:
            return None
        event = BadFrame(self._bad, fields)
        self._bad, self._skipping = "", True
        self._skipped, self._skip_reason, self._preview = 0, "the body of a bad frame", b""
        return event

    def _garbage(self, start: int, reason: str) -> Event:
        """Bytes at ``start`` that are no header block: skip until the next Content-Length."""
        self._pos, self._length = start, -1
        if not self._candidate:
            self._skipped, self._skip_reason, self._preview = 0, reason, b""
        self._candidate = False
        self._skipping = True
        self._skip(1)  # at least one byte, or the same bad line is found again
        return _AGAIN

    def _skip(self, count: int) -> None:
        if len(self._preview) < PREVIEW_BYTES:
            self._preview += bytes(self._buf[self._pos : self._pos + PREVIEW_BYTES - len(self._preview)])
        self._pos += count
        self._skipped += count

    def _resync(self) -> Event | None:
        window = bytes(self._buf[self._pos : self._pos + 65536]).lower()
        found = window.find(_NEEDLE)
        if found == -1:
            drop = len(window) - (len(_NEEDLE) - 1)
            if drop <= 0:
                return None
            self._skip(drop)
            return _AGAIN if len(self._buf) - self._pos >= len(_NEEDLE) else None
        self._skip(found)
        self._skipping = False
        self._candidate = True  # confirmed (and the skipped bytes reported) by a good header block
        return _AGAIN

    def _skipped_event(self) -> Skipped:
        event = Skipped(self._skipped, self._skip_reason or "the body of a bad frame", self._preview)
        self._skipping = self._candidate = False
        self._skipped, self._skip_reason, self._preview = 0, "", b""
        return event


class _Again:
    """Progress was made; step again."""


_AGAIN: Any = _Again()


def _shown(value: bytes) -> str:
    text = value[:40].decode("utf-8", errors="replace")
    return repr(text + ("..." if len(value) > 40 else ""))


def _is_one_json_value(data: bytes) -> bool:
    try:
        json.loads(data)
    except (ValueError, RecursionError):
        return False
    return True


def salvage_fields(data: bytes) -> dict[str, Any]:
    """The top-level fields of a JSON object that may be cut short, up to the first that is.

    ``{"jsonrpc": "2.0", "id": 7, "method": "x", "params": {"te`` gives
    ``{"jsonrpc": "2.0", "id": 7, "method": "x"}``. Anything that is not the start of
    a JSON object gives ``{}``.
    """
    return salvage(data)[0]


def salvage(data: bytes) -> tuple[dict[str, Any], bool]:
    """``salvage_fields``, and whether nothing more can be learned (the object closed,
    or the bytes are no JSON object)."""
    text = data.decode("utf-8", errors="replace")
    fields: dict[str, Any] = {}
    at = _skip_space(text, 0)
    if at == len(text):
        return fields, False
    if not text.startswith("{", at):
        return fields, True
    at += 1
    try:
        while True:
            at = _skip_space(text, at)
            if text.startswith("}", at):
                return fields, True
            key, at = _JSON.raw_decode(text, at)
            at = _skip_space(text, at)
            if not (isinstance(key, str) and text.startswith(":", at)):
                return fields, at < len(text)
            value, at = _JSON.raw_decode(text, _skip_space(text, at + 1))
            fields[key] = value
            at = _skip_space(text, at)
            if not text.startswith(",", at):
                return fields, at < len(text)
            at += 1
    except (ValueError, RecursionError):
        return fields, False


def _skip_space(text: str, at: int) -> int:
    while at < len(text) and text[at] in " \t\r\n":
        at += 1
    return at


class _Stream(Protocol):
    def write(self, data: bytes) -> Any: ...


class SafeWriter:
    """pygls's writer interface over stdout or a socket; survives the client going away.

    The first failed write (a closed pipe, a reset socket, a closed file) is logged
    once and ``on_gone`` is called once; every later write is dropped silently, so a
    client that has gone cannot start a storm of errors and retried reports.
    """

    def __init__(self, stream: _Stream, on_gone: Callable[[], None] | None = None) -> None:
        self._stream = stream
        self._on_gone = on_gone
        self.gone = False
        self.dropped = 0  # writes dropped after the client went away

    def write(self, data: bytes) -> None:
        if self.gone:
            self.dropped += 1
            return
        closing = getattr(self._stream, "is_closing", None)
        try:
            if closing is not None and closing():
                raise ConnectionResetError("the connection is closing")
            self._stream.write(data)
            flush = getattr(self._stream, "flush", None)
            if flush is not None:
                flush()
        except (OSError, ValueError) as exc:  # ValueError: I/O operation on a closed file
            self._went(f"{type(exc).__name__}: {exc}")

    def _went(self, why: str) -> None:
        self.gone = True
        self.dropped += 1
        log.warning("the client is gone (%s); messages to it are dropped from now on", why)
        if self._on_gone is not None:
            self._on_gone()

    def close(self) -> None:
        """Stop writing (after ``exit``); later writes are dropped without a word."""
        if self.gone:
            return
        self.gone = True
        try:
            close = getattr(self._stream, "close", None)
            if close is not None:
                close()
        except (OSError, ValueError):
            pass
