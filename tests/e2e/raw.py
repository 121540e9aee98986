"""The real server driven with raw bytes over stdio, for the protocol robustness tests.

pytest-lsp's client only sends well-formed messages; these tests need to send any
bytes and to see every byte that comes back. ``RawServer`` starts
``python -m lsp_server serve`` on pipes, reads its stdout frame by frame on a thread
(strictly: a malformed frame from the server fails the test) and collects stderr.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
STATUS = "mistral-lsp.status"


def frame(payload: Any, *, length: int | None = None, headers: bytes = b"") -> bytes:
    """A Content-Length frame of ``payload`` (JSON, or bytes as they are)."""
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    size = len(body) if length is None else length
    return b"Content-Length: %d\r\n" % size + headers + b"\r\n" + body


class ServerError(AssertionError):
    """The server broke the framing of its own output."""


class RawServer:
    """One server process; ``messages`` is everything it sent, in order."""

    def __init__(self, env: dict[str, str], cwd: Path, *args: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "lsp_server", "serve", *args],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=cwd, env=env,
        )
        self.messages: list[dict[str, Any]] = []
        self.stderr = bytearray()
        self.broken: str | None = None
        self.eof = False
        self._cond = threading.Condition()
        self._ids = itertools.count(1)
        threading.Thread(target=self._read_stdout, daemon=True).start()
        threading.Thread(target=self._read_stderr, daemon=True).start()

    # -- reading -----------------------------------------------------------------------
    def _read_stdout(self) -> None:
        stream = self.proc.stdout
        assert stream is not None
        try:
            while True:
                length = None
                while (line := stream.readline()) not in (b"\r\n", b""):
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                if not line:
                    return
                if length is None:
                    raise ServerError("a frame from the server without Content-Length")
                body = stream.read(length)
                message = json.loads(body)
                with self._cond:
                    self.messages.append(message)
                    self._cond.notify_all()
        except Exception as exc:  # noqa: BLE001 - reported by the waiting test
            self.broken = f"{type(exc).__name__}: {exc}"
        finally:
            with self._cond:
                self.eof = True
                self._cond.notify_all()

    def _read_stderr(self) -> None:
        stream = self.proc.stderr
        assert stream is not None
        for line in iter(stream.readline, b""):
            self.stderr += line

    def wait_for(self, predicate: Callable[[dict[str, Any]], bool], timeout: float = 30.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for message in self.messages:
                    if predicate(message):
                        return message
                if self.broken:
                    raise ServerError(self.broken)
                left = deadline - time.monotonic()
                if left <= 0 or self.eof:
                    raise AssertionError(f"no such message from the server; it sent {self.messages[-5:]}; "
                                         f"stderr ends {bytes(self.stderr[-2000:])!r}")
                self._cond.wait(min(left, 0.2))

    def responses(self, msg_id: Any) -> list[dict[str, Any]]:
        with self._cond:
            return [m for m in self.messages if "method" not in m and "id" in m and m["id"] == msg_id
                    and type(m["id"]) is type(msg_id)]

    def response(self, msg_id: Any, timeout: float = 30.0) -> dict[str, Any]:
        return self.wait_for(lambda m: "method" not in m and "id" in m and m["id"] == msg_id
                             and type(m["id"]) is type(msg_id), timeout)

    def popups(self) -> list[dict[str, Any]]:
        with self._cond:
            return [m for m in self.messages if m.get("method") in ("window/showMessage", "window/showMessageRequest")]

    def log(self) -> str:
        return self.stderr.decode("utf-8", errors="replace")

    def wait_log(self, *needles: str, timeout: float = 30.0) -> str:
        """The log once it holds every needle (stderr is read by its own thread, so a line
        written before an answer on stdout may be read after it)."""
        deadline = time.monotonic() + timeout
        while True:
            log = self.log()
            if all(needle in log for needle in needles):
                return log
            if time.monotonic() > deadline:
                missing = [needle for needle in needles if needle not in log]
                raise AssertionError(f"the log never said {missing}; it ends {log[-2000:]!r}")
            time.sleep(0.05)

    # -- writing -----------------------------------------------------------------------
    def send(self, data: bytes) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def next_id(self) -> str:
        return f"t{next(self._ids)}"

    def request(self, method: str, params: Any = None, *, msg_id: Any = None) -> Any:
        msg_id = self.next_id() if msg_id is None else msg_id
        message: dict[str, Any] = {"jsonrpc": "2.0", "id": msg_id, "method": method}
        if params is not None:
            message["params"] = params
        self.send(frame(message))
        return msg_id

    def call(self, method: str, params: Any = None, timeout: float = 30.0) -> dict[str, Any]:
        return self.response(self.request(method, params), timeout)

    def notify(self, method: str, params: Any = None) -> None:
        message: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            message["params"] = params
        self.send(frame(message))

    def ping(self, timeout: float = 30.0) -> None:
        """The server still answers: a status command gets its result."""
        answer = self.call("workspace/executeCommand", {"command": STATUS, "arguments": []}, timeout)
        assert "result" in answer and answer["result"]["state"], answer

    def initialize(self, root: Path, capabilities: dict[str, Any] | None = None) -> dict[str, Any]:
        answer = self.call("initialize", {"processId": None, "rootUri": root.as_uri(),
                                          "capabilities": capabilities or {}})
        assert "result" in answer, answer
        self.notify("initialized", {})
        return answer

    def open(self, uri: str, text: str, language: str = "python") -> None:
        self.notify("textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": language,
                                                              "version": 1, "text": text}})

    def finish(self, timeout: float = 30.0) -> int:
        """shutdown + exit; returns the exit code."""
        if self.proc.poll() is None:
            try:
                self.call("shutdown", timeout=timeout)
                self.notify("exit")
            except (AssertionError, OSError):
                pass
        return self.wait(timeout)

    def wait(self, timeout: float = 30.0) -> int:
        try:
            return self.proc.wait(timeout)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            try:
                if stream is not None:
                    stream.close()
            except OSError:
                pass


def raw_env(base_url: str, cache_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MISTRAL_LSP_")}
    env.update(MISTRAL_LSP_ENDPOINT=base_url, MISTRAL_LSP_CACHE_DIR=str(cache_dir),
               MISTRAL_LSP_LOG_LEVEL="info", MISTRAL_LSP_REVIEW_TRIGGERS="manual",
               MISTRAL_LSP_CONNECT_TIMEOUT="10", PYTHONPATH=str(ROOT))
    env.update(extra)
    return env
