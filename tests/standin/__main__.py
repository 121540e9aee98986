"""Run the vLLM stand-in standalone, e.g. for benchmark scripts.

    python -m tests.standin --port 0 --text $'def f():\n    return 1' --delay 0.05

The first stdout line is the base URL (``http://127.0.0.1:<port>/v1``); the
server then answers every generation request with the given text until it is
killed (SIGTERM or SIGINT).
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from tests.standin.server import DEFAULT_MODEL, Reply, StandIn


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tests.standin", description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: pick a free one)")
    parser.add_argument("--text", default="", help="the assistant text of every answer")
    parser.add_argument("--delay", type=float, default=0.0, help="seconds between stream chunks")
    parser.add_argument("--first-token-delay", type=float, default=0.0, help="seconds before the first chunk")
    parser.add_argument("--model", default=DEFAULT_MODEL)
    parser.add_argument("--max-model-len", type=int, default=32768)
    parser.add_argument("--scheduling-priority", action="store_true", help="accept non-zero `priority`")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    reply = Reply(text=args.text, chunk_delay=args.delay, first_token_delay=args.first_token_delay)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    standin = StandIn(
        model=args.model,
        max_model_len=args.max_model_len,
        scheduling_priority=args.scheduling_priority,
        default=reply,
        port=args.port,
    ).start()
    print(standin.base_url, flush=True)
    try:
        while not stop.wait(0.5):
            pass
    finally:
        standin.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
