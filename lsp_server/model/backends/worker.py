"""One worker thread per device: the model loaded once, lazily, and one job at a time by priority.

The event loop never touches the model. ``DeviceWorker`` owns a thread that loads the
runtime on first need (``start()``, or the first job) and then runs jobs one at a time,
the most urgent first (lower priority number first, then first come). A job is a
function of the runtime and a ``JobControl``: it stops as soon as ``control.cancelled``
is set (its caller left, within one decoding step), and it may give the device up
when ``control.should_yield()`` says a more urgent job is waiting, by returning
``YIELD``: it is queued again, in its place, and resumes later. Jobs cancelled while
queued never run. Pure Python: the runtime (torch) is whatever ``load`` returns.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import CancelledError, Future
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

log = logging.getLogger(__name__)

R = TypeVar("R")
YIELD = object()  # returned by a job that gave the device up to a more urgent one


class JobControl:
    """What a running job checks between decoding steps."""

    def __init__(self, worker: DeviceWorker[Any], priority: int) -> None:
        self.cancelled = threading.Event()
        self._worker = worker
        self._priority = priority

    def should_yield(self) -> bool:
        """True when a strictly more urgent job is waiting for the device."""
        return self._worker.most_urgent_waiting() < self._priority


@dataclass(order=True)
class _Entry:
    priority: int
    seq: int
    fn: Callable[[Any, JobControl], Any] = field(compare=False)
    future: Future[Any] = field(compare=False)
    control: JobControl = field(compare=False)


class JobHandle:
    """A submitted job: its future, and ``cancel()`` (queued: never runs; running: stops)."""

    def __init__(self, entry: _Entry) -> None:
        self._entry = entry
        self.future = entry.future

    def cancel(self) -> None:
        self._entry.control.cancelled.set()


class WorkerClosed(RuntimeError):
    """The backend was closed; nothing more runs."""


class DeviceWorker(Generic[R]):
    """A priority queue of jobs in front of one lazily loaded runtime, on one thread."""

    def __init__(self, load: Callable[[], R], *, name: str = "model-device",
                 unload: Callable[[R], None] | None = None) -> None:
        self._load = load
        self._unload = unload
        self._name = name
        self._cond = threading.Condition()
        self._queue: list[_Entry] = []
        self._seq = itertools.count()
        self._thread: threading.Thread | None = None
        self._closed = False
        self._load_error: BaseException | None = None
        self.loaded: Future[R] = Future()
        self.load_seconds: float | None = None
        self.running_priority: int | None = None  # the job on the device now, if any
        self._running: _Entry | None = None

    # -- the caller's side (any thread) ---------------------------------------------------------

    def start(self) -> Future[R]:
        """Start loading now (idempotent); the future resolves to the runtime or its load error."""
        with self._cond:
            if self._closed:
                raise WorkerClosed("the model backend is closed")
            if self._thread is None:
                self._thread = threading.Thread(target=self._main, name=self._name, daemon=True)
                self._thread.start()
        return self.loaded

    def submit(self, priority: int, fn: Callable[[R, JobControl], Any]) -> JobHandle:
        """Queue ``fn(runtime, control)``; lower ``priority`` runs sooner."""
        entry = _Entry(priority, next(self._seq), fn, Future(), JobControl(self, priority))
        with self._cond:
            if self._load_error is not None:  # the model did not load: it will not, say why at once
                _settle(entry.future, exc=self._load_error)
                return JobHandle(entry)
            if self._closed:
                raise WorkerClosed("the model backend is closed")
            heapq.heappush(self._queue, entry)
            self._cond.notify_all()
        self.start()
        return JobHandle(entry)

    @property
    def busy(self) -> bool:
        """A job is on the device."""
        return self.running_priority is not None

    @property
    def waiting(self) -> int:
        with self._cond:
            return sum(1 for e in self._queue if not e.control.cancelled.is_set())

    def most_urgent_waiting(self) -> float:
        with self._cond:
            live = [e.priority for e in self._queue if not e.control.cancelled.is_set()]
        return min(live) if live else float("inf")

    def close(self, timeout_s: float = 30.0) -> None:
        """Cancel everything, stop the thread (waiting up to ``timeout_s``), free the runtime."""
        with self._cond:
            self._closed = True
            pending, self._queue = self._queue, []
            self._cond.notify_all()
            thread = self._thread
            running = self._running
        if running is not None:
            running.control.cancelled.set()
        for entry in pending:
            entry.control.cancelled.set()
            _settle(entry.future, exc=WorkerClosed("the model backend was closed"))
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout_s)

    # -- the worker thread ----------------------------------------------------------------------

    def _main(self) -> None:
        started = time.perf_counter()
        try:
            runtime = self._load()
        except BaseException as exc:  # noqa: BLE001 - every job learns why
            log.warning("the model could not be loaded: %s", exc)
            _settle(self.loaded, exc=exc)
            self._fail_all(exc)
            return
        self.load_seconds = time.perf_counter() - started
        _settle(self.loaded, result=runtime)
        try:
            while (entry := self._next()) is not None:
                self._run(runtime, entry)
        finally:
            if self._unload is not None:
                try:
                    self._unload(runtime)
                except Exception:  # noqa: BLE001 - closing must not raise
                    log.debug("unloading the model failed", exc_info=True)

    def _next(self) -> _Entry | None:
        with self._cond:
            while True:
                while self._queue and self._queue[0].control.cancelled.is_set():
                    dropped = heapq.heappop(self._queue)
                    _settle(dropped.future, cancelled=True)
                if self._queue:
                    entry = heapq.heappop(self._queue)
                    if not entry.future.running() and not entry.future.set_running_or_notify_cancel():
                        continue  # its future was cancelled while it waited
                    self.running_priority, self._running = entry.priority, entry
                    return entry
                if self._closed:
                    return None
                self._cond.wait()

    def _run(self, runtime: R, entry: _Entry) -> None:
        try:
            result = entry.fn(runtime, entry.control)
        except BaseException as exc:  # noqa: BLE001 - the caller gets it
            _settle(entry.future, exc=exc)
            return
        finally:
            self.running_priority, self._running = None, None
        if result is YIELD and not entry.control.cancelled.is_set():
            with self._cond:
                if not self._closed:
                    heapq.heappush(self._queue, entry)  # same priority and seq: back in its place
                    return
            _settle(entry.future, exc=WorkerClosed("the model backend was closed"))
        elif entry.control.cancelled.is_set() and result is YIELD:
            _settle(entry.future, cancelled=True)
        else:
            _settle(entry.future, result=result)

    def _fail_all(self, exc: BaseException) -> None:
        with self._cond:
            self._load_error = exc  # a model that did not load stays not loaded: say so to everyone
            pending, self._queue = self._queue, []
        for entry in pending:
            _settle(entry.future, exc=exc)


def _settle(future: Future[Any], *, result: Any = None, exc: BaseException | None = None,
            cancelled: bool = False) -> None:
    """Resolve a future once (a later attempt is ignored)."""
    if future.done():
        return
    try:
        if cancelled:
            if not future.running():
                future.cancel()
            else:
                future.set_exception(CancelledError())
        elif exc is not None:
            future.set_exception(exc)
        else:
            future.set_result(result)
    except Exception:  # noqa: BLE001 - resolved meanwhile (InvalidStateError)
        pass
