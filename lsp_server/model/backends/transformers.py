"""The in-process backend: Mistral-Small-3.2 run by Transformers in this process, no server.

Same interface as the vLLM client (``backends/base.py``): streamed chat with stop
sequences and prefill, one chat turn with tools or a JSON schema, the model list, and
closing. Every request becomes a ``Generation`` queued on the device worker (one
generation at a time, the most urgent first: completions, then fixes and other
prefilled answers, then reviews; a running review gives the device up to a waiting
completion and resumes after it). The model is loaded once, lazily, on the worker
thread, so the event loop never waits for torch. Leaving a stream, or cancelling the
task awaiting an answer, stops the generation within one decoding step. Every failure
is a ``ModelError``: a model that cannot be found, loaded or fitted is ``model-missing``
with the reason; the missing optional extra is named with the command that installs it.
"""

from __future__ import annotations

import asyncio
import importlib.util
import logging
from collections.abc import AsyncIterator, Sequence
from concurrent.futures import CancelledError as FutureCancelled
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from lsp_server.model.backends.worker import DeviceWorker, JobHandle, WorkerClosed
from lsp_server.model.client import ChatOptions, ChatTurn, ModelError, ModelInfo

log = logging.getLogger(__name__)

EXTRA = "pip install 'mistral-lsp[local]'"
# import name -> what it is for (all in the `local` extra)
_NEEDED = {"torch": "torch", "transformers": "transformers", "llguidance": "llguidance", "jinja2": "jinja2",
           "safetensors": "safetensors"}
# Queue order when the request does not carry a priority (lower first).
PRIORITY_COMPLETION = 0
PRIORITY_PREFILLED = 5  # fixes, actions: a person waits, but not keystroke by keystroke
PRIORITY_REVIEW = 10
_END = object()


def missing_extra() -> str | None:
    """Why the transformers backend cannot run here (None: its packages are installed)."""
    missing = [name for name, module in _NEEDED.items() if importlib.util.find_spec(module) is None]
    if not missing:
        return None
    return (f"the transformers backend needs packages that are not installed ({', '.join(missing)}): "
            f"{EXTRA}")


@dataclass
class BackendStats:
    """What the device did (for the status command, ``check`` and tests)."""

    generations: int = 0
    tokens: int = 0
    device_seconds: float = 0.0
    cancelled: int = 0
    preemptions: int = 0
    last_tokens: int = 0
    last_prompt_tokens: int = 0  # what the last generation's prompt encoded to (images included)
    last_finish: str = ""

    @property
    def tokens_per_second(self) -> float | None:
        return self.tokens / self.device_seconds if self.device_seconds > 0 else None


class TransformersBackend:
    """A local model behind the ``Backend`` interface."""

    def __init__(self, model: str, *, device: str = "auto", dtype: str = "auto") -> None:
        self.model = model
        self.device = device
        self.dtype = dtype
        self.stats = BackendStats()
        self._problem = missing_extra()
        self._worker: DeviceWorker[Any] = DeviceWorker(self._load, unload=self._unload, name="model-device")
        self.runtime: Any = None  # set once loaded, whichever request started the load
        self._worker.loaded.add_done_callback(self._on_loaded)

    def _on_loaded(self, future: Any) -> None:
        if not future.cancelled() and future.exception() is None:
            self.runtime = future.result()

    # -- loading --------------------------------------------------------------------------------

    def _load(self) -> Any:
        from lsp_server.model.backends.runtime import load_runtime

        return load_runtime(self.model, self.device, self.dtype)

    @staticmethod
    def _unload(runtime: Any) -> None:
        from lsp_server.model.backends.runtime import unload_runtime

        unload_runtime(runtime)

    def _check(self) -> None:
        if self._problem is not None:
            raise ModelError("model-missing", self._problem)

    async def load(self) -> Any:
        """Load the model (once; on the device thread) and return the runtime."""
        self._check()
        try:
            self.runtime = await asyncio.wrap_future(self._worker.start())
        except WorkerClosed as exc:
            raise ModelError("model-missing", str(exc)) from None
        except ModelError:
            raise
        except Exception as exc:  # noqa: BLE001 - LoadError and whatever torch raised while loading
            raise _load_error(exc) from None
        return self.runtime

    async def _wait_for_load(self, timeout_s: float) -> None:
        """Wait for the load at most ``timeout_s`` (it goes on regardless); its error, if it failed."""
        try:
            loading = asyncio.wrap_future(self._worker.start())
        except WorkerClosed as exc:
            raise ModelError("model-missing", str(exc)) from None
        loading.add_done_callback(lambda f: f.cancelled() or f.exception())  # retrieved, even if nobody waits
        try:
            await asyncio.wait_for(asyncio.shield(loading), timeout_s)
        except TimeoutError:
            raise ModelError("timeout", "the local model is still loading") from None
        except Exception:  # noqa: BLE001 - load() maps it to the ModelError every request gets
            await self.load()

    @property
    def load_seconds(self) -> float | None:
        return self._worker.load_seconds

    @property
    def busy(self) -> bool:
        """A generation is on the device now."""
        return self._worker.busy

    @property
    def waiting(self) -> int:
        return self._worker.waiting

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {"backend": "transformers", "model": self.model}
        if self.runtime is not None:
            out.update(self.runtime.describe())
            out["loadSeconds"] = self.load_seconds
        rate = self.stats.tokens_per_second
        stats = self.stats
        out.update(generations=stats.generations, tokensPerSecond=round(rate, 1) if rate else None,
                   busy=self.busy, waiting=self.waiting, cancelled=stats.cancelled, preemptions=stats.preemptions,
                   lastTokens=stats.last_tokens, lastPromptTokens=stats.last_prompt_tokens,
                   lastFinish=stats.last_finish)
        return out

    # -- the Backend interface ------------------------------------------------------------------

    async def models(self, timeout_s: float = 5.0) -> list[ModelInfo]:
        """The local model and its context length; loads it first (this can take minutes)."""
        runtime = await self.load()
        return [ModelInfo(self.model, runtime.max_model_len)]

    @asynccontextmanager
    async def stream_chat(
        self, messages: Sequence[dict[str, Any]], options: ChatOptions
    ) -> AsyncIterator[AsyncIterator[str]]:
        """Stream the answer's text; leaving the block stops the generation at the next token.

        While the model is still loading, a stream waits for it at most ``timeout_s``
        (completions do not queue up behind a load of minutes)."""
        self._check()
        if self.runtime is None:
            await self._wait_for_load(options.timeout_s)
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[Any] = asyncio.Queue()

        def emit(delta: str) -> None:
            _post(loop, queue, delta)

        handle = self._submit(messages, options, {}, stream=True, emit=emit)
        handle.future.add_done_callback(lambda _: _post(loop, queue, _END))
        deltas = self._deltas(queue, handle)
        try:
            yield deltas
        finally:
            handle.cancel()
            await deltas.aclose()

    async def _deltas(self, queue: asyncio.Queue[Any], handle: JobHandle) -> AsyncIterator[str]:
        while (item := await queue.get()) is not _END:
            yield item
        while not queue.empty():  # deltas posted just before the end marker
            item = queue.get_nowait()
            if item is not _END:
                yield item
        self._finished(handle)

    async def chat(self, messages: Sequence[dict[str, Any]], options: ChatOptions, **extra: Any) -> str:
        return (await self.chat_turn(messages, options, **extra)).content

    async def chat_turn(self, messages: Sequence[dict[str, Any]], options: ChatOptions, **extra: Any) -> ChatTurn:
        """One answer; with ``tools`` its ``[TOOL_CALLS]`` are parsed by mistral-common."""
        self._check()
        handle = self._submit(messages, options, extra, stream=False, emit=None)
        try:
            await asyncio.wrap_future(handle.future)
        except asyncio.CancelledError:
            handle.cancel()
            raise
        except Exception:  # noqa: BLE001 - mapped by _finished
            pass
        result = self._finished(handle)
        if extra.get("tools") and self.runtime is not None and self.runtime.chat.tool_calls_id in result.tokens:
            content, calls = self.runtime.chat.split_turn(result.tokens)
            return ChatTurn(content, calls)
        return ChatTurn(result.text)

    async def aclose(self) -> None:
        await asyncio.to_thread(self._worker.close)
        self.runtime = None

    # -- plumbing -------------------------------------------------------------------------------

    def _submit(self, messages: Sequence[dict[str, Any]], options: ChatOptions, extra: dict[str, Any], *,
                stream: bool, emit: Any) -> JobHandle:
        from lsp_server.model.backends.runtime import Generation  # imports torch: only once chosen and needed

        request = [dict(m) for m in messages]
        tools = extra.get("tools")

        def encode(chat: Any) -> Any:
            return chat.encode(request, prefill=options.prefill, tools=tools, tool_choice=extra.get("tool_choice"),
                               response_format=extra.get("response_format"),
                               parallel_tool_calls=extra.get("parallel_tool_calls"))

        job = Generation(encode, options.max_tokens, options.temperature, tuple(options.stop), options.seed,
                         options.timeout_s, stream, emit)
        try:
            handle = self._worker.submit(_priority(options, stream), lambda runtime, control: runtime.run(job, control))
        except WorkerClosed as exc:
            raise ModelError("model-missing", str(exc)) from None
        handle.future.add_done_callback(self._record)
        return handle

    def _record(self, future: Any) -> None:
        """Count a finished generation (on the device thread), whether or not anyone still waits for it."""
        if future.cancelled() or future.exception() is not None:
            return
        result = future.result()
        stats = self.stats
        stats.generations += 1
        stats.tokens += len(result.tokens)
        stats.device_seconds += result.device_seconds
        stats.preemptions += result.preemptions
        stats.last_tokens, stats.last_finish = len(result.tokens), result.finish_reason
        stats.last_prompt_tokens = result.prompt_tokens
        if result.finish_reason == "cancelled":
            stats.cancelled += 1

    def _finished(self, handle: JobHandle) -> Any:
        """The generation's result, or the ModelError it ended with."""
        future = handle.future
        try:
            result = future.result(timeout=0)
        except FutureCancelled:  # cancelled while queued: it never ran
            self.stats.cancelled += 1
            raise asyncio.CancelledError() from None
        except ModelError:
            raise
        except WorkerClosed as exc:
            raise ModelError("model-missing", str(exc)) from None
        except Exception as exc:  # noqa: BLE001
            if _is_load_error(exc):
                raise _load_error(exc) from None
            log.warning("generation failed", exc_info=exc)
            raise ModelError("protocol", f"the local model failed: {type(exc).__name__}: {str(exc)[:300]}") from None
        return result


def _priority(options: ChatOptions, stream: bool) -> int:
    if options.priority is not None:
        return options.priority
    if stream:
        return PRIORITY_COMPLETION
    return PRIORITY_PREFILLED if options.prefill else PRIORITY_REVIEW


def _post(loop: asyncio.AbstractEventLoop, queue: asyncio.Queue[Any], item: Any) -> None:
    try:
        loop.call_soon_threadsafe(queue.put_nowait, item)
    except RuntimeError:  # the loop is closed: nobody is listening
        pass


def _is_load_error(exc: BaseException) -> bool:
    return type(exc).__name__ in ("LoadError", "PlacementError")


def _load_error(exc: BaseException) -> ModelError:
    if _is_load_error(exc):
        return ModelError("model-missing", f"the local model could not be loaded: {exc}")
    return ModelError("model-missing", f"the local model could not be loaded ({type(exc).__name__}: "
                                       f"{str(exc)[:300]})")
