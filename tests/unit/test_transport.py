"""The framing layer on its own: bounded headers, byte-exact bodies, resynchronisation,
overstated lengths, salvaging a request's id, and a writer that outlives its client."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lsp_server.protocol.transport import (
    HEADER_LINE_LIMIT,
    BadFrame,
    FrameParser,
    Message,
    SafeWriter,
    Skipped,
    salvage_fields,
)


def _frame(payload: object, *, length: int | None = None, header: bytes = b"Content-Length", eol: bytes = b"\r\n",
           extra: bytes = b"") -> bytes:
    body = json.dumps(payload, ensure_ascii=False).encode()
    size = len(body) if length is None else length
    return header + b": %d" % size + eol + extra + eol + body


def _run(data: bytes, chunk: int = 4096) -> list:
    parser = FrameParser()
    events = []
    for at in range(0, len(data), chunk):
        events += parser.feed(data[at : at + chunk])
    return events + parser.close()


def _bodies(events: list) -> list[dict]:
    out = []
    for event in events:
        if isinstance(event, Message):
            try:
                out.append(json.loads(event.body))
            except ValueError:
                out.append(event.body)
    return out


REQUEST = {"jsonrpc": "2.0", "id": 1, "method": "textDocument/hover", "params": {"x": "é 🙂 中"}}
NEXT = {"jsonrpc": "2.0", "id": "next", "method": "workspace/executeCommand"}


def test_frames_are_byte_exact_with_non_ascii_bodies() -> None:
    assert _bodies(_run(_frame(REQUEST) + _frame(NEXT))) == [REQUEST, NEXT]


@pytest.mark.parametrize("header", [b"Content-Length", b"content-length", b"CONTENT-LENGTH"])
@pytest.mark.parametrize("eol", [b"\r\n", b"\n"])
def test_lenient_headers(header: bytes, eol: bytes) -> None:
    extra = b"Content-Type: application/vscode-jsonrpc; charset=utf-8" + eol
    data = b"\r\n" + _frame(REQUEST, header=header, eol=eol, extra=extra) + _frame(NEXT)
    events = _run(data)
    assert _bodies(events) == [REQUEST, NEXT]
    assert not [e for e in events if not isinstance(e, Message)]


def test_an_endless_header_line_is_skipped_in_bounded_memory() -> None:
    parser = FrameParser()
    events = []
    for _ in range(40):  # 2.6 MB of X, no newline
        events += parser.feed(b"X" * 65536)
        assert len(parser._buf) - parser._pos <= HEADER_LINE_LIMIT + 65536
    events += parser.feed(_frame(NEXT))
    skipped = [e for e in events if isinstance(e, Skipped)]
    assert len(skipped) == 1 and skipped[0].size == 40 * 65536
    assert "header line longer" in skipped[0].reason
    assert _bodies(events) == [NEXT]


@pytest.mark.parametrize("header, reason", [
    (b"Content-Length: abc\r\n\r\n", "not a byte count"),
    (b"Content-Length: -5\r\n\r\n", "not a byte count"),
    (b"Content-Length: 99999999999\r\n\r\n", "over the limit"),
    (b"Content-Type: application/json\r\n\r\n", "without Content-Length"),
    (b"Content-Length: 5\r\nContent-Length: 6\r\n\r\n", "two different"),
])
def test_a_bad_header_block_is_reported_with_the_request_id_and_the_stream_resynchronises(header, reason) -> None:
    body = json.dumps(REQUEST).encode()
    events = _run(header + body + _frame(NEXT))
    bad = [e for e in events if isinstance(e, BadFrame)]
    assert len(bad) == 1 and reason in bad[0].reason
    assert bad[0].salvaged["id"] == 1 and bad[0].salvaged["method"] == "textDocument/hover"
    assert [e.size for e in events if isinstance(e, Skipped)] == [len(body)]
    assert _bodies(events) == [NEXT]


def test_a_too_small_length_cuts_the_body_and_the_rest_is_skipped() -> None:
    whole = _frame(REQUEST)
    body = json.dumps(REQUEST, ensure_ascii=False).encode()
    events = _run(_frame(REQUEST, length=len(body) - 10) + _frame(NEXT))
    messages = [e for e in events if isinstance(e, Message)]
    assert messages[0].body == body[:-10] and whole.endswith(body)
    assert [e.size for e in events if isinstance(e, Skipped)] == [10]
    assert json.loads(messages[1].body) == NEXT


def test_a_length_counted_in_characters_on_a_big_document() -> None:
    """A client counting characters: the body runs on past its Content-Length, and the
    message after it still arrives; the request's id can be read from the cut body."""
    message = {"jsonrpc": "2.0", "id": 7, "method": "textDocument/didOpen",
               "params": {"text": "ü" * 1_000_000 + "Content-Length: 12\\r\\n"}}
    text = json.dumps(message, ensure_ascii=False)
    events = _run(_frame(message, length=len(text)) + _frame(NEXT), chunk=65536)
    cut = events[0]
    assert isinstance(cut, Message) and salvage_fields(cut.body) == {"jsonrpc": "2.0", "id": 7,
                                                                     "method": "textDocument/didOpen"}
    assert isinstance(events[1], Skipped) and events[1].size == len(text.encode()) - len(text)
    assert _bodies(events[2:]) == [NEXT]


def test_an_overstated_length_is_repaired_when_the_next_header_arrives() -> None:
    events = _run(_frame(REQUEST, length=500) + _frame(NEXT))
    assert _bodies(events) == [REQUEST, NEXT]
    assert "overstated" in events[0].note


def test_a_body_that_mentions_content_length_is_not_split() -> None:
    message = {"jsonrpc": "2.0", "method": "x", "params": {"text": "}Content-Length: 5\r\n\r\n{}"}}
    assert _bodies(_run(_frame(message) + _frame(NEXT), chunk=7)) == [message, NEXT]


def test_text_that_mentions_content_length_inside_skipped_bytes_is_skipped_too() -> None:
    garbage = b'Content-Length: abc\r\n\r\n{"id": "Content-Length: 12", "text": "content-length:\\r\\n"}'
    events = _run(garbage + _frame(NEXT))
    assert len([e for e in events if isinstance(e, BadFrame)]) == 1
    assert _bodies(events) == [NEXT]


def test_end_of_input_reports_what_was_left() -> None:
    events = _run(_frame(REQUEST)[:-5])
    assert isinstance(events[-1], Skipped) and "ended" in events[-1].reason


def test_salvage_fields() -> None:
    assert salvage_fields(b'{"jsonrpc": "2.0", "id": 7, "method": "x", "params": {"te') == {
        "jsonrpc": "2.0", "id": 7, "method": "x"}
    assert salvage_fields(b' {"id": "a"}') == {"id": "a"}
    assert salvage_fields(b"[1, 2]") == {}
    assert salvage_fields(b"\xff\xfe") == {}
    assert salvage_fields(b'{"id": 1 "method": "x"}') == {"id": 1}


_piece = st.one_of(
    st.lists(st.integers(0, 255).filter(lambda b: not 0x30 <= b <= 0x39), max_size=40).map(bytes),  # no digits
    st.sampled_from([b"\r\n", b"\n", b"Content-Length: ", b"content-length:7\r\n\r\n", b"Content-Length: abc\r\n\r\n",
                     b"{", b"}", b'"', b"\\", b"\r"]),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(noise=st.lists(_piece, max_size=12), chunk=st.integers(1, 64))
def test_any_noise_before_a_clean_boundary_costs_nothing_after_it(noise: list[bytes], chunk: int) -> None:
    """Whatever noise comes first (declaring no body longer than the padding after it),
    the frame after it is delivered or reported by its id (when the noise ran into its
    header block), the next one is delivered, and the events do not depend on how the
    bytes were split."""
    data = b"".join(noise) + b" " * 64 + b"\r\n" + _frame(REQUEST) + _frame(NEXT)
    events = _run(data, chunk=chunk)
    assert _bodies(events)[-1] == NEXT
    reported = [e.salvaged.get("id") for e in events if isinstance(e, BadFrame)]
    assert _bodies(events)[-2:-1] == [REQUEST] or reported[-1:] == [1]
    assert [type(e) for e in events] == [type(e) for e in _run(data, chunk=len(data))]


class _Closed:
    def __init__(self, error: Exception) -> None:
        self.error = error
        self.writes = 0

    def write(self, data: bytes) -> None:
        self.writes += 1
        raise self.error


@pytest.mark.parametrize("error", [BrokenPipeError(32, "Broken pipe"), ValueError("I/O operation on closed file"),
                                   ConnectionResetError(104, "reset")])
def test_writes_after_the_client_has_gone_are_dropped_after_one_log_line(error, caplog) -> None:
    gone: list[bool] = []
    stream = _Closed(error)
    writer = SafeWriter(stream, on_gone=lambda: gone.append(True))
    for _ in range(1000):
        writer.write(b"x")
    assert stream.writes == 1 and gone == [True] and writer.dropped == 1000
    assert len([r for r in caplog.records if "client is gone" in r.getMessage()]) == 1
