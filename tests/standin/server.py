"""A vLLM stand-in: an OpenAI-compatible HTTP server for tests and benchmarks.

It speaks the wire format of vLLM's OpenAI server (0.10 - 0.33) closely enough
for the real ``openai`` SDK: ``/v1/models``, ``/v1/chat/completions`` (SSE
streaming and plain JSON, tool calls, stop strings, ``max_tokens``, usage),
``/v1/completions``, ``/health``, ``/version``, ``/metrics`` and ``/tokenize``.
It validates requests the way vLLM does for the fields mistral-lsp sends
(model name, assistant prefill, ``priority``, ``response_format``, image parts
and the per-prompt image limit: ``images.py``).

Replies are scripted with :class:`Reply` (text, chunking, delays, failure
modes). Every request is recorded as a :class:`RecordedRequest`, including
whether and when the client went away mid-answer: tests use that to check
that cancelling an LSP request closes its model stream promptly, because real
vLLM aborts generation when the client disconnects.

The server runs on 127.0.0.1 in a background thread with its own event loop,
so it works from synchronous code and from any test event loop.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import math
import random
import re
import string
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, NoReturn

from aiohttp import web

from tests.standin.images import ImageRejected, RecordedImage, check_images

DEFAULT_MODEL = "mistralai/Mistral-Small-3.2-24B-Instruct-2506"
STANDIN_VERSION = "0.11.0-standin"
CHARS_PER_TOKEN = 4
HOST = "127.0.0.1"

# How often a waiting handler checks whether its client is still there. The
# main signal is aiohttp's handler cancellation on connection loss; this poll
# is the backstop.
_POLL_INTERVAL = 0.002
# Default stream chunking: roughly one token per piece (a word fragment of up
# to 4 characters, or 1-2 punctuation characters, with leading whitespace).
_TOKENISH = re.compile(r"\s*\w{1,4}|\s*[^\w\s]{1,2}|\s+")
_SSE_DONE = b"data: [DONE]\n\n"
_GENERATION_PATHS = ("/v1/chat/completions", "/v1/completions")

MODES = ("ok", "error", "disconnect", "garbage", "hang")


@dataclass
class Reply:
    """What the stand-in answers to one generation request."""

    text: str = ""  # the assistant content
    chunks: list[str] | None = None  # explicit stream chunks; default: token-ish pieces of `text`
    first_token_delay: float = 0.0  # seconds before the first chunk (or the whole non-stream answer)
    chunk_delay: float = 0.0  # seconds between chunks (a non-stream answer waits for all of them)
    mode: str = "ok"  # "ok" | "error" | "disconnect" | "garbage" | "hang"
    status: int = 500  # mode="error": the HTTP status
    error_message: str = "stand-in error"  # mode="error": the message in vLLM's error JSON
    disconnect_after: int = 2  # mode="disconnect": content chunks sent (after the role chunk) before the drop
    tool_calls: list[dict] | None = None  # [{"name": str, "arguments": dict | str, "id"?: str}]
    finish_reason: str | None = None  # override the computed finish_reason

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"unknown Reply mode {self.mode!r}; expected one of {MODES}")


@dataclass
class RecordedRequest:
    """One HTTP request as the stand-in saw it."""

    path: str
    method: str
    headers: dict[str, str]
    body: dict | None  # the JSON body, None if absent or not a JSON object
    received_at: float  # time.monotonic()
    ended_at: float | None = None  # when handling finished (or the disconnect was seen)
    disconnected: bool = False  # the connection went away before the whole answer was written
    disconnected_at: float | None = None  # time.monotonic() when the server noticed
    completed: bool = False  # the whole response (whatever its status) was written
    status: int = 0  # the HTTP status answered (0: none, e.g. mode="disconnect" without stream)
    images: list[RecordedImage] = field(default_factory=list)  # the chat request's images, decoded


class ClientGone(ConnectionResetError):
    """The client closed the connection while we were answering."""


@dataclass
class _Exchange:
    """Per-request state shared by the route wrapper and the handlers."""

    request: web.Request
    record: RecordedRequest
    response: web.StreamResponse | None = None
    server_dropped: bool = False  # mode="disconnect": we dropped it, the client did not leave
    sent_all: bool = False  # the last bytes of the answer were written
    in_flight: bool = False  # counted in StandIn.in_flight


@dataclass
class _Generation:
    """A reply shaped by the request: the chunks to send and how it ends."""

    chunks: list[str]
    tool_calls: list[dict[str, str]]
    finish_reason: str
    stop_reason: str | None
    prompt_tokens: int

    @property
    def text(self) -> str:
        return "".join(self.chunks)

    @property
    def completion_tokens(self) -> int:
        args = sum(len(call["arguments"]) + len(call["name"]) for call in self.tool_calls)
        return estimate_tokens(self.text) + math.ceil(args / CHARS_PER_TOKEN)

    def usage(self) -> dict[str, Any]:
        return {
            "prompt_tokens": self.prompt_tokens,
            "total_tokens": self.prompt_tokens + self.completion_tokens,
            "completion_tokens": self.completion_tokens,
            "prompt_tokens_details": None,
        }


class _RequestError(Exception):
    """A request vLLM would reject; carries the HTTP status and message."""

    def __init__(self, message: str, status: int = 400, param: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.param = param


# ---------------------------------------------------------------------------
# Pure helpers: wire format, token estimates, reply shaping, validation
# ---------------------------------------------------------------------------


def estimate_tokens(text: str) -> int:
    """A rough token count: about 4 characters per token."""
    return math.ceil(len(text) / CHARS_PER_TOKEN)


def split_text(text: str) -> list[str]:
    """Split ``text`` into token-ish stream pieces that concatenate to it."""
    return _TOKENISH.findall(text)


def error_type(status: int) -> str:
    """vLLM's error ``type`` for an HTTP status: BadRequestError, NotFoundError..."""
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        return "InternalServerError"
    name = "".join(word.capitalize() for word in re.split(r"[\s-]+", phrase))
    return name if name.endswith("Error") else f"{name}Error"


def error_body(message: str, status: int, param: str | None = None) -> dict[str, Any]:
    """vLLM's error JSON.

    This is the nested OpenAI shape vLLM uses since 0.10.1 (PR #22099):
    ``{"error": {"message", "type", "param", "code"}}``. Up to 0.10.0 vLLM sent
    the flat ``{"object": "error", "message", "type", "param", "code"}``.
    """
    return {"error": {"message": message, "type": error_type(status), "param": param, "code": status}}


def _message_chars(message: Any) -> int:
    if not isinstance(message, dict):
        return len(str(message))
    content = message.get("content")
    if isinstance(content, str):
        return len(content)
    if isinstance(content, list):
        return sum(len(part.get("text", "")) for part in content if isinstance(part, dict))
    return 0


def prompt_tokens(body: dict[str, Any]) -> int:
    """Estimate the prompt size of a chat or completions request."""
    if "messages" in body:
        messages = body.get("messages") or []
        chars = sum(_message_chars(m) for m in messages) if isinstance(messages, list) else 0
        tools = body.get("tools")
        if tools:
            chars += len(json.dumps(tools))
        per_message = 4 * (len(messages) if isinstance(messages, list) else 0)  # role and control tokens
        return math.ceil(chars / CHARS_PER_TOKEN) + per_message
    prompt = body.get("prompt")
    if isinstance(prompt, str):
        return estimate_tokens(prompt)
    if isinstance(prompt, list):
        if all(isinstance(p, int) for p in prompt):
            return len(prompt)
        return sum(len(p) if not isinstance(p, str) else estimate_tokens(p) for p in prompt)
    return 0


def _stop_strings(body: dict[str, Any]) -> list[str]:
    stop = body.get("stop")
    if isinstance(stop, str):
        return [stop] if stop else []
    if isinstance(stop, list):
        return [s for s in stop if isinstance(s, str) and s]
    return []


def _first_stop(text: str, stops: list[str]) -> tuple[int, str] | None:
    hits = [(text.find(s), s) for s in stops if s in text]
    return min(hits) if hits else None


def _truncate_chunks(chunks: list[str], limit: int) -> list[str]:
    """Keep the first ``limit`` characters of the concatenated chunks."""
    kept: list[str] = []
    remaining = limit
    for chunk in chunks:
        if remaining <= 0:
            break
        kept.append(chunk[:remaining])
        remaining -= len(chunk)
    return [c for c in kept if c]


def _max_tokens(body: dict[str, Any]) -> int | None:
    value = body.get("max_completion_tokens")
    if value is None:
        value = body.get("max_tokens")
    return value if isinstance(value, int) else None


def _tool_call_id() -> str:
    """Mistral-style tool call id: 9 alphanumeric characters."""
    return "".join(random.choices(string.ascii_letters + string.digits, k=9))


def _normalize_tool_calls(tool_calls: list[dict] | None) -> list[dict[str, str]]:
    normalized = []
    for call in tool_calls or []:
        args = call.get("arguments", {})
        normalized.append(
            {
                "id": call.get("id") or _tool_call_id(),
                "name": call["name"],
                "arguments": args if isinstance(args, str) else json.dumps(args),
            }
        )
    return normalized


def shape_reply(reply: Reply, body: dict[str, Any]) -> _Generation:
    """Apply ``stop`` and ``max_tokens`` to a reply, as generation would."""
    chunks = list(reply.chunks) if reply.chunks is not None else split_text(reply.text)
    text = "".join(chunks)
    finish_reason, stop_reason = "stop", None
    if (hit := _first_stop(text, _stop_strings(body))) is not None:
        position, stop_reason = hit
        chunks = _truncate_chunks(chunks, position)
        text = text[:position]
    max_tokens = _max_tokens(body)
    if max_tokens is not None and len(text) > max_tokens * CHARS_PER_TOKEN:
        chunks = _truncate_chunks(chunks, max_tokens * CHARS_PER_TOKEN)
        finish_reason, stop_reason = "length", None
    tool_calls = _normalize_tool_calls(reply.tool_calls)
    if tool_calls:
        finish_reason = "tool_calls"
    return _Generation(
        chunks=chunks,
        tool_calls=tool_calls,
        finish_reason=reply.finish_reason or finish_reason,
        stop_reason=stop_reason,
        prompt_tokens=prompt_tokens(body),
    )


def _validate_common(body: dict[str, Any], served_model: str, scheduling_priority: bool) -> None:
    """Checks shared by both generation endpoints, in vLLM's order."""
    if body.get("stream_options") and not body.get("stream"):
        raise _RequestError(
            "Stream options can only be defined when `stream=True`.", param="stream_options"
        )
    model = body.get("model")
    if model is not None and model != served_model:
        raise _RequestError(f"The model `{model}` does not exist.", status=404)
    priority = body.get("priority", 0)
    if priority and not scheduling_priority:
        raise _RequestError(f"Got priority {priority} but Priority scheduling is not enabled.")


def _validate_response_format(body: dict[str, Any]) -> None:
    response_format = body.get("response_format")
    if isinstance(response_format, dict) and response_format.get("type") == "json_schema":
        if response_format.get("json_schema") is None:
            raise _RequestError(
                "When response_format type is 'json_schema', the 'json_schema' field must be provided.",
                param="response_format",
            )


def _validate_tools(body: dict[str, Any]) -> None:
    if body.get("tools") == []:
        raise _RequestError(
            "`tools` must not be an empty array. Either provide at least one tool or omit the field entirely.",
            param="tools",
        )
    choice = body.get("tool_choice")
    if choice not in (None, "none") and not body.get("tools"):
        raise _RequestError("When using `tool_choice`, `tools` must be set.", param="tool_choice")


def _validate_messages(body: dict[str, Any]) -> None:
    messages = body.get("messages")
    if messages is None:
        raise _RequestError(
            "[{'type': 'missing', 'loc': ('body', 'messages'), 'msg': 'Field required'}]",
            param="messages",
        )
    if not isinstance(messages, list) or not messages:
        raise _RequestError("`messages` must be a non-empty list of messages.", param="messages")
    if body.get("continue_final_message") and body.get("add_generation_prompt"):
        raise _RequestError("Cannot set both `continue_final_message` and `add_generation_prompt` to True.")
    last = messages[-1]
    if body.get("continue_final_message") and not (isinstance(last, dict) and last.get("role") == "assistant"):
        # The message mistral-common raises in tokenizer_mode=mistral.
        raise _RequestError("continue_final_message=True requires final message to be an assistant.")


def _validate_context(body: dict[str, Any], max_model_len: int) -> None:
    requested = prompt_tokens(body)
    max_tokens = _max_tokens(body) or 0
    if requested + max_tokens > max_model_len:
        raise _RequestError(
            f"This model's maximum context length is {max_model_len} tokens. However, you requested "
            f"{requested + max_tokens} tokens ({requested} in the messages, {max_tokens} in the "
            "completion). Please reduce the length of the messages or completion."
        )


def validate_chat(body: Any, served_model: str, max_model_len: int, scheduling_priority: bool) -> None:
    """Raise :class:`_RequestError` where vLLM would reject a chat request."""
    if not isinstance(body, dict):
        raise _RequestError("Expecting a JSON object as the request body.")
    _validate_messages(body)
    _validate_response_format(body)
    _validate_tools(body)
    _validate_common(body, served_model, scheduling_priority)
    _validate_context(body, max_model_len)


def validate_completion(body: Any, served_model: str, max_model_len: int, scheduling_priority: bool) -> None:
    """Raise :class:`_RequestError` where vLLM would reject a completions request."""
    if not isinstance(body, dict):
        raise _RequestError("Expecting a JSON object as the request body.")
    if body.get("prompt") is None:
        raise _RequestError(
            "[{'type': 'missing', 'loc': ('body', 'prompt'), 'msg': 'Field required'}]", param="prompt"
        )
    if body.get("suffix"):
        # vLLM 0.33 with a Mistral (non-FIM) renderer.
        raise _RequestError("suffix is only supported for models with FIM completion rendering", param="suffix")
    _validate_response_format(body)
    _validate_common(body, served_model, scheduling_priority)
    _validate_context(body, max_model_len)


def _dumps(payload: Any) -> str:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False)


def _sse(payload: Any) -> bytes:
    return f"data: {_dumps(payload)}\n\n".encode()


# ---------------------------------------------------------------------------
# Chunk builders (one request's ids and timestamps)
# ---------------------------------------------------------------------------


@dataclass
class _Envelope:
    """Builds the JSON objects of one chat or completions answer."""

    model: str
    chat: bool
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    created: int = field(default_factory=lambda: int(time.time()))

    def _base(self, obj: str) -> dict[str, Any]:
        prefix = "chatcmpl-" if self.chat else "cmpl-"
        return {"id": prefix + self.id, "object": obj, "created": self.created, "model": self.model}

    def chunk(self, delta_or_text: Any, finish_reason: str | None = None, stop_reason: Any = "unset") -> dict:
        if self.chat:
            obj = self._base("chat.completion.chunk")
            choice = {"index": 0, "delta": delta_or_text, "logprobs": None, "finish_reason": finish_reason}
        else:
            obj = self._base("text_completion")
            choice = {"index": 0, "text": delta_or_text, "logprobs": None, "finish_reason": finish_reason}
        if stop_reason != "unset":
            choice["stop_reason"] = stop_reason
        obj["choices"] = [choice]
        return obj

    def usage_chunk(self, gen: _Generation) -> dict:
        obj = self._base("chat.completion.chunk" if self.chat else "text_completion")
        obj["choices"] = []
        obj["usage"] = gen.usage()
        return obj

    def full(self, gen: _Generation) -> dict:
        if self.chat:
            obj = self._base("chat.completion")
            obj["choices"] = [self._chat_choice(gen)]
        else:
            obj = self._base("text_completion")
            obj["choices"] = [
                {
                    "index": 0,
                    "text": gen.text,
                    "logprobs": None,
                    "finish_reason": gen.finish_reason,
                    "stop_reason": gen.stop_reason,
                    "prompt_logprobs": None,
                }
            ]
        obj.update(service_tier=None, system_fingerprint=None, usage=gen.usage(), prompt_logprobs=None,
                   kv_transfer_params=None)
        return obj

    @staticmethod
    def _chat_choice(gen: _Generation) -> dict:
        tool_calls = [
            {"id": c["id"], "type": "function", "function": {"name": c["name"], "arguments": c["arguments"]}}
            for c in gen.tool_calls
        ]
        message = {
            "role": "assistant",
            "content": gen.text if (gen.text or not tool_calls) else None,
            "refusal": None,
            "annotations": None,
            "audio": None,
            "function_call": None,
            "tool_calls": tool_calls,
            "reasoning_content": None,
        }
        return {
            "index": 0,
            "message": message,
            "logprobs": None,
            "finish_reason": gen.finish_reason,
            "stop_reason": gen.stop_reason,
        }

    def stream_body(self, gen: _Generation) -> list[dict]:
        """The content and tool-call chunks, without the role and final chunks."""
        pieces: list[dict] = []
        for text in gen.chunks:
            pieces.append(self.chunk({"content": text} if self.chat else text))
        for index, call in enumerate(gen.tool_calls):
            head = {"index": index, "id": call["id"], "type": "function",
                    "function": {"name": call["name"], "arguments": ""}}
            pieces.append(self.chunk({"tool_calls": [head]}))
            for arg_piece in split_text(call["arguments"]):
                pieces.append(self.chunk({"tool_calls": [{"index": index, "function": {"arguments": arg_piece}}]}))
        return pieces

    def final_chunk(self, gen: _Generation) -> dict:
        if self.chat:
            delta: Any = {} if gen.tool_calls else {"content": ""}
        else:
            delta = ""
        return self.chunk(delta, finish_reason=gen.finish_reason, stop_reason=gen.stop_reason)


# ---------------------------------------------------------------------------
# The server
# ---------------------------------------------------------------------------


def _client_gone(request: web.Request) -> bool:
    transport = request.transport
    return transport is None or transport.is_closing()


async def _pause(request: web.Request, seconds: float) -> None:
    """Sleep, but raise :class:`ClientGone` as soon as the client disconnects."""
    deadline = time.monotonic() + max(0.0, seconds)
    while True:
        if _client_gone(request):
            raise ClientGone("client disconnected")
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return
        await asyncio.sleep(min(_POLL_INTERVAL, remaining))


async def _wait_until_gone(request: web.Request) -> NoReturn:
    while not _client_gone(request):
        await asyncio.sleep(_POLL_INTERVAL)
    raise ClientGone("client disconnected")


Handler = Callable[[web.Request, _Exchange], Any]


class StandIn:
    """An OpenAI-compatible stand-in for a vLLM server, run in a background thread."""

    def __init__(
        self,
        *,
        model: str = DEFAULT_MODEL,
        max_model_len: int = 32768,
        scheduling_priority: bool = False,
        default: Reply | None = None,
        port: int = 0,
        image_limit: int = 10,
        image_settings: tuple[int, int, int] = (14, 1540, 2),
    ) -> None:
        self.model = model
        self.image_limit = image_limit  # vLLM's --limit-mm-per-prompt image count (0: a text-only server)
        self.image_settings = image_settings  # (patch size, largest side, spatial merge) of the served model
        self.max_model_len = max_model_len
        self.scheduling_priority = scheduling_priority
        self.default: Reply = default if default is not None else Reply()
        self.responder: Callable[[dict], Reply] | None = None
        self.base_url: str = ""
        self.port: int = port
        self._lock = threading.Lock()
        self._queue: deque[Reply] = deque()
        self._records: list[RecordedRequest] = []
        self._in_flight = 0
        self._max_in_flight = 0
        self._prompt_tokens_total = 0
        self._generation_tokens_total = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._site: web.TCPSite | None = None
        self._busy: set[Any] = set()  # aiohttp protocols with a request in progress
        self._down = False

    # -- lifecycle -----------------------------------------------------------

    def start(self) -> StandIn:
        """Start serving on 127.0.0.1 (a free port unless one was given)."""
        if self._thread is not None:
            return self
        loop = asyncio.new_event_loop()
        self._loop = loop
        self._thread = threading.Thread(target=self._run_loop, name="vllm-standin", daemon=True)
        self._thread.start()
        self._call(self._astart())
        self.base_url = f"http://{HOST}:{self.port}/v1"
        return self

    def stop(self) -> None:
        """Stop serving; open connections are dropped."""
        if self._thread is None or self._loop is None:
            return
        try:
            self._call(self._astop())
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> StandIn:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def set_down(self, down: bool, *, drop_active: bool = False) -> None:
        """Make the model server unreachable (connections refused) or bring it back.

        Going down closes the listening socket and idle keep-alive connections;
        requests in progress finish (or are dropped with ``drop_active=True``)
        and their connections close afterwards. Coming back listens again on the
        same port.
        """
        self._call(self._aset_down(down, drop_active))

    # -- scripting -----------------------------------------------------------

    def script(self, *replies: Reply) -> None:
        """Queue replies; each generation request takes the next one."""
        with self._lock:
            self._queue.extend(replies)

    def reset(self) -> None:
        """Forget the queue, the records, the responder and the default reply."""
        with self._lock:
            self._queue.clear()
            self._records.clear()
            self._max_in_flight = self._in_flight
        self.responder = None
        self.default = Reply()

    def _next_reply(self, body: dict) -> Reply:
        with self._lock:
            if self._queue:
                return self._queue.popleft()
        if self.responder is not None:
            return self.responder(body)
        return self.default

    # -- observation ---------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        """A snapshot of every request so far (any path)."""
        with self._lock:
            return [dataclasses.replace(r, headers=dict(r.headers)) for r in self._records]

    def chat_requests(self) -> list[RecordedRequest]:
        """Only the ``POST /v1/chat/completions`` requests."""
        return [r for r in self.requests if r.method == "POST" and r.path == "/v1/chat/completions"]

    def generation_requests(self) -> list[RecordedRequest]:
        """``POST`` requests to either generation endpoint."""
        return [r for r in self.requests if r.method == "POST" and r.path in _GENERATION_PATHS]

    @property
    def in_flight(self) -> int:
        """Generation requests being answered right now."""
        with self._lock:
            return self._in_flight

    @property
    def max_in_flight(self) -> int:
        """The most generation requests answered at once (since start or reset)."""
        with self._lock:
            return self._max_in_flight

    @property
    def pending_replies(self) -> int:
        """Scripted replies not yet used."""
        with self._lock:
            return len(self._queue)

    def wait_for(self, predicate: Callable[[list[RecordedRequest]], bool], timeout: float = 5.0) -> bool:
        """Poll ``predicate(requests)`` until it is true; False on timeout."""
        deadline = time.monotonic() + timeout
        while True:
            if predicate(self.requests):
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(_POLL_INTERVAL)

    async def await_for(
        self, predicate: Callable[[list[RecordedRequest]], bool], timeout: float = 5.0
    ) -> bool:
        """Like :meth:`wait_for`, but yields to the caller's event loop."""
        deadline = time.monotonic() + timeout
        while True:
            if predicate(self.requests):
                return True
            if time.monotonic() >= deadline:
                return False
            await asyncio.sleep(_POLL_INTERVAL)

    # -- event loop thread ---------------------------------------------------

    def _run_loop(self) -> None:
        assert self._loop is not None
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_forever()
        finally:
            pending = [t for t in asyncio.all_tasks(self._loop) if not t.done()]
            for task in pending:
                task.cancel()
            if pending:
                self._loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            self._loop.run_until_complete(self._loop.shutdown_asyncgens())
            self._loop.close()

    def _call(self, coro: Any, timeout: float = 10.0) -> Any:
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    async def _astart(self) -> None:
        app = web.Application()
        routes = [
            ("GET", "/v1/models", self._models),
            ("GET", "/health", self._health),
            ("GET", "/version", self._version),
            ("GET", "/metrics", self._metrics),
            ("POST", "/tokenize", self._tokenize),
            ("POST", "/v1/chat/completions", self._chat),
            ("POST", "/v1/completions", self._completions),
            ("*", "/{tail:.*}", self._not_found),
        ]
        for method, path, handler in routes:
            app.router.add_route(method, path, self._wrap(handler))
        self._runner = web.AppRunner(app, handler_cancellation=True, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        await self._listen()

    async def _listen(self) -> None:
        assert self._runner is not None
        self._site = web.TCPSite(self._runner, HOST, self.port, reuse_address=True)
        await self._site.start()
        self.port = self._site.port

    async def _astop(self) -> None:
        if self._runner is None:
            return
        self._close_connections(drop_active=True)
        await self._runner.cleanup()
        self._runner = None
        self._site = None

    async def _aset_down(self, down: bool, drop_active: bool) -> None:
        if down == self._down:
            return
        self._down = down
        if down:
            if self._site is not None:
                await self._site.stop()
                self._site = None
            self._close_connections(drop_active)
        else:
            await self._listen()

    def _close_connections(self, drop_active: bool) -> None:
        assert self._runner is not None and self._runner.server is not None
        for conn in self._runner.server.connections:
            if conn in self._busy and not drop_active:
                conn.close()  # closes once the current answer is done
            else:
                conn.force_close()

    # -- request plumbing ----------------------------------------------------

    def _wrap(self, handler: Handler) -> Callable[[web.Request], Any]:
        async def route(request: web.Request) -> web.StreamResponse:
            exchange = await self._begin(request)
            self._busy.add(request.protocol)
            try:
                response = await handler(request, exchange)
            except asyncio.CancelledError:
                self._mark_gone(exchange)
                raise
            except ConnectionError:
                self._mark_gone(exchange)
                return exchange.response or web.Response(status=499)
            finally:
                self._busy.discard(request.protocol)
                self._finish(exchange)
            with self._lock:
                exchange.record.status = response.status
            return response

        return route

    async def _begin(self, request: web.Request) -> _Exchange:
        raw = await request.read()
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        record = RecordedRequest(
            path=request.path,
            method=request.method,
            headers=dict(request.headers),
            body=body if isinstance(body, dict) else None,
            received_at=time.monotonic(),
        )
        with self._lock:
            self._records.append(record)
        return _Exchange(request=request, record=record)

    def _mark_gone(self, exchange: _Exchange) -> None:
        """The connection went away before the whole answer was written."""
        self._leave_flight(exchange)
        if exchange.server_dropped or exchange.sent_all:
            return
        with self._lock:
            record = exchange.record
            now = time.monotonic()
            record.completed = False
            record.ended_at = record.ended_at or now
            if not record.disconnected:
                record.disconnected = True
                record.disconnected_at = now

    def _finish(self, exchange: _Exchange) -> None:
        self._leave_flight(exchange)
        with self._lock:
            if exchange.record.ended_at is None:
                exchange.record.ended_at = time.monotonic()

    def _commit(self, exchange: _Exchange, status: int) -> None:
        """Mark the answer complete just before its last bytes leave.

        A client that holds the whole answer must never see ``completed=False``
        or a non-zero ``in_flight``; if the last write fails, :meth:`_mark_gone`
        takes the mark back.
        """
        self._leave_flight(exchange)
        with self._lock:
            exchange.record.completed = True
            exchange.record.status = status
            exchange.record.ended_at = time.monotonic()

    def _set_status(self, exchange: _Exchange, status: int) -> None:
        with self._lock:
            exchange.record.status = status

    async def _send(self, exchange: _Exchange, response: web.Response) -> web.StreamResponse:
        """Send a whole (non-streamed) answer now, so a vanished client is noticed here."""
        exchange.response = response
        self._commit(exchange, response.status)
        await response.prepare(exchange.request)
        await response.write_eof()
        exchange.sent_all = True
        return response

    async def _send_json(self, exchange: _Exchange, payload: Any, status: int = 200) -> web.StreamResponse:
        response = web.Response(text=_dumps(payload), status=status, content_type="application/json")
        return await self._send(exchange, response)

    async def _send_error(self, exchange: _Exchange, message: str, status: int,
                          param: str | None = None) -> web.StreamResponse:
        return await self._send_json(exchange, error_body(message, status, param), status)

    # -- simple routes -------------------------------------------------------

    async def _models(self, request: web.Request, exchange: _Exchange) -> web.StreamResponse:
        now = int(time.time())
        card = {
            "id": self.model,
            "object": "model",
            "created": now,
            "owned_by": "vllm",
            "root": self.model,
            "parent": None,
            "max_model_len": self.max_model_len,
            "permission": [
                {
                    "id": f"modelperm-{uuid.uuid4().hex}",
                    "object": "model_permission",
                    "created": now,
                    "allow_create_engine": False,
                    "allow_sampling": True,
                    "allow_logprobs": True,
                    "allow_search_indices": False,
                    "allow_view": True,
                    "allow_fine_tuning": False,
                    "organization": "*",
                    "group": None,
                    "is_blocking": False,
                }
            ],
        }
        return await self._send_json(exchange, {"object": "list", "data": [card]})

    async def _health(self, request: web.Request, exchange: _Exchange) -> web.StreamResponse:
        return await self._send(exchange, web.Response(status=200))

    async def _version(self, request: web.Request, exchange: _Exchange) -> web.StreamResponse:
        return await self._send_json(exchange, {"version": STANDIN_VERSION})

    async def _metrics(self, request: web.Request, exchange: _Exchange) -> web.StreamResponse:
        return await self._send(exchange, web.Response(text=self.metrics_text(), content_type="text/plain"))

    def metrics_text(self) -> str:
        """A small Prometheus exposition in vLLM's metric names."""
        labels = f'{{engine="0",model_name="{self.model}"}}'
        with self._lock:
            running, prompt, generated = self._in_flight, self._prompt_tokens_total, self._generation_tokens_total
        lines = [
            "# HELP vllm:num_requests_running Number of requests in model execution batches.",
            "# TYPE vllm:num_requests_running gauge",
            f"vllm:num_requests_running{labels} {float(running)}",
            "# HELP vllm:num_requests_waiting Number of requests waiting to be processed.",
            "# TYPE vllm:num_requests_waiting gauge",
            f"vllm:num_requests_waiting{labels} 0.0",
            "# HELP vllm:prompt_tokens_total Number of prefill tokens processed.",
            "# TYPE vllm:prompt_tokens_total counter",
            f"vllm:prompt_tokens_total{labels} {float(prompt)}",
            "# HELP vllm:generation_tokens_total Number of generation tokens processed.",
            "# TYPE vllm:generation_tokens_total counter",
            f"vllm:generation_tokens_total{labels} {float(generated)}",
        ]
        return "\n".join(lines) + "\n"

    async def _tokenize(self, request: web.Request, exchange: _Exchange) -> web.StreamResponse:
        body = exchange.record.body or {}
        count = prompt_tokens(body)
        return await self._send_json(
            exchange, {"count": count, "max_model_len": self.max_model_len, "tokens": list(range(count)),
                       "token_strs": None}
        )

    async def _not_found(self, request: web.Request, exchange: _Exchange) -> web.StreamResponse:
        return await self._send_json(exchange, {"detail": "Not Found"}, status=404)

    # -- generation ----------------------------------------------------------

    async def _chat(self, request: web.Request, exchange: _Exchange) -> web.StreamResponse:
        return await self._generate(exchange, chat=True)

    async def _completions(self, request: web.Request, exchange: _Exchange) -> web.StreamResponse:
        return await self._generate(exchange, chat=False)

    async def _generate(self, exchange: _Exchange, chat: bool) -> web.StreamResponse:
        body = exchange.record.body
        validate = validate_chat if chat else validate_completion
        try:
            validate(body, self.model, self.max_model_len, self.scheduling_priority)
        except _RequestError as err:
            return await self._send_error(exchange, err.message, err.status, err.param)
        assert body is not None
        if chat:
            try:
                exchange.record.images = check_images(body, self.image_limit, self.image_settings)
            except ImageRejected as err:
                return await self._send_error(exchange, str(err), 400, "image")
        try:
            reply = self._next_reply(body)
            gen = shape_reply(reply, body)
            gen.prompt_tokens += sum(image.tokens for image in exchange.record.images)
        except Exception as err:  # a broken responder is a test bug: say so loudly
            return await self._send_error(exchange, f"stand-in responder failed: {err!r}", 500)
        envelope = _Envelope(model=body.get("model") or self.model, chat=chat)
        self._enter_flight(exchange, gen)
        if body.get("stream"):
            return await self._answer_stream(exchange, reply, gen, envelope, body)
        return await self._answer_whole(exchange, reply, gen, envelope)

    def _enter_flight(self, exchange: _Exchange, gen: _Generation) -> None:
        with self._lock:
            exchange.in_flight = True
            self._in_flight += 1
            self._max_in_flight = max(self._max_in_flight, self._in_flight)
            self._prompt_tokens_total += gen.prompt_tokens

    def _leave_flight(self, exchange: _Exchange) -> None:
        with self._lock:
            if exchange.in_flight:
                exchange.in_flight = False
                self._in_flight -= 1

    def _count_generated(self, gen: _Generation) -> None:
        with self._lock:
            self._generation_tokens_total += gen.completion_tokens

    async def _drop_connection(self, exchange: _Exchange) -> NoReturn:
        """Abort the TCP connection from our side (mode="disconnect")."""
        exchange.server_dropped = True
        transport = exchange.request.transport
        if transport is not None:
            transport.abort()
        await _wait_until_gone(exchange.request)

    async def _answer_whole(self, exchange: _Exchange, reply: Reply, gen: _Generation,
                            envelope: _Envelope) -> web.StreamResponse:
        request = exchange.request
        if reply.mode == "hang":
            await _wait_until_gone(request)
        await _pause(request, reply.first_token_delay)
        if reply.mode == "error":
            return await self._send_error(exchange, reply.error_message, reply.status)
        if reply.mode == "disconnect":
            return await self._drop_connection(exchange)
        if reply.mode == "garbage":
            return await self._send_garbage_json(exchange)
        await _pause(request, reply.chunk_delay * max(0, len(gen.chunks) - 1))
        self._count_generated(gen)
        return await self._send_json(exchange, envelope.full(gen))

    async def _send_garbage_json(self, exchange: _Exchange) -> web.StreamResponse:
        body = b'{"id": "chatcmpl-garbage", "choices": [\xff\xfe<html>'
        return await self._send(exchange, web.Response(body=body, status=200, content_type="application/json"))

    async def _answer_stream(self, exchange: _Exchange, reply: Reply, gen: _Generation,
                             envelope: _Envelope, body: dict) -> web.StreamResponse:
        request = exchange.request
        if reply.mode == "error":
            await _pause(request, reply.first_token_delay)
            return await self._send_error(exchange, reply.error_message, reply.status)
        response = web.StreamResponse(status=200, headers={"Content-Type": "text/event-stream; charset=utf-8"})
        exchange.response = response
        self._set_status(exchange, 200)
        await response.prepare(request)  # vLLM sends headers before the first token
        if reply.mode == "hang":
            await _wait_until_gone(request)
        await _pause(request, reply.first_token_delay)
        role = {"role": "assistant", "content": ""} if envelope.chat else ""
        await response.write(_sse(envelope.chunk(role)))
        if reply.mode == "garbage":
            return await self._stream_garbage(exchange, response)
        pieces = envelope.stream_body(gen)
        for index, piece in enumerate(pieces):
            if reply.mode == "disconnect" and index >= reply.disconnect_after:
                return await self._drop_connection(exchange)
            if index:
                await _pause(request, reply.chunk_delay)
            await response.write(_sse(piece))
        if reply.mode == "disconnect":
            return await self._drop_connection(exchange)
        tail = _sse(envelope.final_chunk(gen))
        if (body.get("stream_options") or {}).get("include_usage"):
            tail += _sse(envelope.usage_chunk(gen))
        self._count_generated(gen)
        return await self._end_stream(exchange, response, tail + _SSE_DONE)

    async def _end_stream(self, exchange: _Exchange, response: web.StreamResponse, tail: bytes) -> web.StreamResponse:
        self._commit(exchange, response.status)
        await response.write(tail)
        await response.write_eof()
        exchange.sent_all = True
        return response

    async def _stream_garbage(self, exchange: _Exchange, response: web.StreamResponse) -> web.StreamResponse:
        await response.write(b"data: {this is not json\n\n")
        noise = bytes(random.randrange(256) for _ in range(64))
        return await self._end_stream(exchange, response, b"data: \xff\xfe\x00\x81garbage\n\n" + noise + b"\n\n")
