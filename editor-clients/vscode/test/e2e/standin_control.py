"""The vLLM stand-in (tests/standin) plus a small control API for the VS Code tests.

    PYTHONPATH=<repo> python standin_control.py

Prints one JSON line: {"base_url": "http://127.0.0.1:P/v1", "control_url": "http://127.0.0.1:Q"}.
The extension-host tests (which cannot import Python) use the control API:

    GET  /requests        every request the stand-in saw: path, method, authorization, model, has_response_format
    POST /completion      {"text": "..."}: the assistant text of every completion answer from now on
    POST /action          {"name": "implement", "text": "..."}: the answer of that AI action ("other": the
                          user's own actions) from now on
    POST /reset           forget the recorded requests (and the scripted actions)

Review requests (those with ``response_format``) get the scripted findings of REVIEW_FINDINGS; requests
with images get IMAGE_DESCRIPTION (hover), IMAGE_ALT (alt text) or no findings (figure checks).
Runs until SIGTERM/SIGINT.
"""

from __future__ import annotations

import json
import signal
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.action_markers import action_of
from tests.standin import Reply, StandIn

# The review fixture (review.py in the test workspace): line 3 has an off-by-one; the
# model "misreports" the line (4 instead of 3) to check that diagnostics anchor on the quote.
REVIEW_FINDINGS = {
    "findings": [
        {
            "line": 4,
            "quote": "range(len(items) - 1)",
            "severity": "warning",
            "rule": "off-by-one",
            "message": "The loop skips the last item.",
            "fix": {"start_line": 3, "end_line": 3, "replacement": "    for i in range(len(items)):"},
        }
    ]
}

# The image fixture (README.md with docs/chart.png): the hover's description and the alt text.
IMAGE_DESCRIPTION = (
    "A bar chart of four quarters: the y axis is sales (0-40), the x axis quarters Q1-Q4; the bars "
    "rise steadily from 10 in Q1 to 40 in Q4."
)
IMAGE_ALT = "Quarterly sales rising from 10 to 40"


class Harness:
    def __init__(self) -> None:
        self.completion_text = "return a + b"
        self.action_texts: dict[str, str] = {}
        self.standin = StandIn(default=Reply(text=self.completion_text))
        self.standin.responder = self.respond
        self.standin.start()

    def respond(self, body: dict[str, Any]) -> Reply:
        content = (body.get("messages") or [{}])[-1].get("content")
        if isinstance(content, list):  # a request with images (docs/vision.md)
            text = " ".join(part.get("text", "") for part in content if isinstance(part, dict))
            if "Describe this image" in text:
                return Reply(text=IMAGE_DESCRIPTION)
            if "Write the alt text" in text:
                return Reply(text=IMAGE_ALT)
            return Reply(text='{"findings": []}')  # a figure check: nothing contradicts
        if body.get("response_format"):
            return Reply(text=json.dumps(REVIEW_FINDINGS))
        action = action_of(body)
        if action:
            return Reply(text=self.action_texts.get(action, ""))
        return Reply(text=self.completion_text)

    def requests(self) -> list[dict[str, Any]]:
        out = []
        for record in self.standin.requests:
            headers = {k.lower(): v for k, v in record.headers.items()}
            body = record.body or {}
            out.append(
                {
                    "path": record.path,
                    "method": record.method,
                    "authorization": headers.get("authorization"),
                    "model": body.get("model"),
                    "has_response_format": bool(body.get("response_format")),
                    "action": action_of(body) if body else "",
                    "messages": body.get("messages") if action_of(body) else None,
                }
            )
        return out

    def reset(self) -> None:
        self.action_texts.clear()
        self.standin.reset()  # also clears the responder and the default
        self.standin.responder = self.respond


def control_server(harness: Harness) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # quiet
            pass

        def _answer(self, payload: Any, status: int = 200) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:  # noqa: N802
            if self.path == "/requests":
                self._answer(harness.requests())
            else:
                self._answer({"error": "not found"}, 404)

        def do_POST(self) -> None:  # noqa: N802
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
            if self.path == "/completion":
                harness.completion_text = str(body.get("text", ""))
                self._answer({"ok": True})
            elif self.path == "/action":
                harness.action_texts[str(body.get("name", ""))] = str(body.get("text", ""))
                self._answer({"ok": True})
            elif self.path == "/reset":
                harness.reset()
                self._answer({"ok": True})
            else:
                self._answer({"error": "not found"}, 404)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def main() -> int:
    harness = Harness()
    control = control_server(harness)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    host, port = control.server_address[:2]
    print(json.dumps({"base_url": harness.standin.base_url, "control_url": f"http://{host}:{port}"}), flush=True)
    try:
        while not stop.wait(0.5):
            pass
    finally:
        control.shutdown()
        harness.standin.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
