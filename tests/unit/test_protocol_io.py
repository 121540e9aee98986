"""The server's stdio transport: stdin read on the event loop when it is a pipe or socket,
pygls's threaded reader otherwise; both serve a whole session and end at end of input."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

from lsp_server.protocol.base import MistralServer, _loop_readable

REPO = Path(__file__).resolve().parents[2]


def _message(payload: dict) -> bytes:
    body = json.dumps(payload).encode()
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


SESSION_MESSAGES = [
    {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"capabilities": {}, "processId": None}},
    {"jsonrpc": "2.0", "method": "initialized", "params": {}},
    {"jsonrpc": "2.0", "id": 2, "method": "shutdown"},
    {"jsonrpc": "2.0", "method": "exit"},
]
SESSION = b"".join(_message(m) for m in SESSION_MESSAGES)


def _responses(stdout: bytes) -> dict[int, dict]:
    out: dict[int, dict] = {}
    while stdout:
        header, _, rest = stdout.partition(b"\r\n\r\n")
        length = int(next(line for line in header.split(b"\r\n") if line.startswith(b"Content-Length")).split(b":")[1])
        message = json.loads(rest[:length])
        stdout = rest[length:]
        if "id" in message and "method" not in message:
            out[message["id"]] = message
    return out


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MISTRAL_LSP_")}
    env.update(
        MISTRAL_LSP_ENDPOINT="http://127.0.0.1:9/v1",  # nothing listens: the session needs no model
        MISTRAL_LSP_CACHE_DIR=str(tmp_path / "cache"),
        MISTRAL_LSP_LOG_LEVEL="warning",
        PYTHONPATH=str(REPO),
    )
    return env


def _serve(tmp_path: Path, *, data: bytes | None = None, stdin=None) -> subprocess.CompletedProcess:
    """Run the server on ``data`` through a pipe, or on the open file ``stdin``."""
    return subprocess.run(
        [sys.executable, "-m", "lsp_server", "serve"],
        **({"input": data} if stdin is None else {"stdin": stdin}),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path, env=_env(tmp_path), timeout=60,
    )


def _read_message(stream) -> dict:
    length = 0
    while (line := stream.readline()) not in (b"\r\n", b""):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    return json.loads(stream.read(length))


def _read_response(stream, msg_id: int) -> dict:
    while True:
        message = _read_message(stream)
        if message.get("id") == msg_id and "method" not in message:
            return message


def test_a_session_over_a_pipe(tmp_path: Path) -> None:
    """Read on the event loop; the client waits for each answer, as editors do."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "lsp_server", "serve"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path, env=_env(tmp_path),
    )
    assert proc.stdin is not None and proc.stdout is not None
    try:
        initialize, initialized, shutdown, exit_ = (SESSION_MESSAGES[i] for i in range(4))
        proc.stdin.write(_message(initialize))
        proc.stdin.flush()
        assert _read_response(proc.stdout, 1)["result"]["serverInfo"]["name"] == "mistral-lsp"
        proc.stdin.write(_message(initialized) + _message(shutdown))
        proc.stdin.flush()
        assert _read_response(proc.stdout, 2)["result"] is None
        proc.stdin.write(_message(exit_))
        proc.stdin.flush()
        assert proc.wait(30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        stderr = proc.stderr.read() if proc.stderr else b""
        for stream in (proc.stdin, proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()
    assert b"Traceback" not in stderr, stderr.decode()


def test_a_session_from_a_file(tmp_path: Path) -> None:
    """A regular file cannot be polled: pygls's threaded reader serves it."""
    path = tmp_path / "session.bin"
    path.write_bytes(SESSION)
    with path.open("rb") as stdin:
        done = _serve(tmp_path, stdin=stdin)
    assert done.returncode == 0, done.stderr.decode()
    assert _responses(done.stdout)[1]["result"]["serverInfo"]["name"] == "mistral-lsp"
    assert b"Traceback" not in done.stderr


def test_input_ending_mid_message_ends_the_server_quietly(tmp_path: Path) -> None:
    first = _message({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"capabilities": {}}})
    torn = b"Content-Length: 200\r\n\r\n{\"jsonrpc\": \"2.0\""
    done = _serve(tmp_path, data=first + torn)
    assert done.returncode == 0, done.stderr.decode()
    assert 1 in _responses(done.stdout)
    assert b"Traceback" not in done.stderr


def test_which_stdin_the_event_loop_reads(tmp_path: Path) -> None:
    regular = tmp_path / "f"
    regular.write_bytes(b"")
    in_read, in_write = os.pipe()
    out_read, out_write = os.pipe()
    left, right = socket.socketpair()
    files = [
        pipe_in := os.fdopen(in_read, "rb"), os.fdopen(in_write, "wb"),
        os.fdopen(out_read, "rb"), pipe_out := os.fdopen(out_write, "wb"),
        file_in := regular.open("rb"),
        sock_in := left.makefile("rb"), sock_out := right.makefile("wb"), same_out := left.makefile("wb"),
    ]
    try:
        assert _loop_readable(pipe_in, pipe_out)
        assert _loop_readable(sock_in, sock_out)
        assert not _loop_readable(file_in, pipe_out)  # a regular file cannot be polled
        assert not _loop_readable(sock_in, same_out)  # stdout on the same socket must stay blocking
        assert not _loop_readable(object(), pipe_out)  # type: ignore[arg-type] - no descriptor
    finally:
        for f in files:
            f.close()
        left.close()
        right.close()


async def test_a_request_handler_starts_before_the_next_message_is_handled() -> None:
    """Messages that arrive together: each request's handler gets to run (and take its
    snapshot of the document) before the next message, e.g. a didChange, is handled."""
    events: list[tuple[str, int]] = []
    server = MistralServer("t", "0")

    def handle_event(event) -> None:
        message = json.loads(event.body)
        events.append(("handled", message["id"]))

        async def handler() -> None:
            events.append(("started", message["id"]))
            await asyncio.sleep(0.01)

        asyncio.ensure_future(handler())

    server.protocol.handle_event = handle_event  # type: ignore[method-assign]
    chunks = [b"".join(_message({"jsonrpc": "2.0", "id": i, "method": "m"}) for i in (1, 2, 3)), b""]

    async def read() -> bytes:
        return chunks.pop(0)

    await server._serve(read)
    assert events[:6] == [("handled", 1), ("started", 1), ("handled", 2), ("started", 2), ("handled", 3), ("started", 3)]
