"""The device worker: one job at a time by priority, lazy load once, cancellation, giving the device up."""

from __future__ import annotations

import threading
import time
from concurrent.futures import CancelledError
from typing import Any

import pytest

from lsp_server.model.backends.worker import YIELD, DeviceWorker, JobControl, WorkerClosed

WAIT = 10.0  # generous: the machine is shared


class Gate:
    """A runtime whose jobs can be held on the device until released."""

    def __init__(self) -> None:
        self.loads = 0
        self.order: list[str] = []
        self.release = threading.Event()
        self.running = threading.Event()

    def load(self) -> Gate:
        self.loads += 1
        return self


def job(name: str, *, hold: bool = False) -> Any:
    def run(runtime: Gate, control: JobControl) -> str:
        runtime.order.append(name)
        if hold:
            runtime.running.set()
            while not runtime.release.is_set() and not control.cancelled.is_set():
                time.sleep(0.001)
            if control.cancelled.is_set():
                return "cancelled"
        return name

    return run


def test_the_most_urgent_waiting_job_runs_next_and_the_model_loads_once() -> None:
    gate = Gate()
    worker: DeviceWorker[Gate] = DeviceWorker(gate.load)
    first = worker.submit(10, job("review-1", hold=True))
    assert gate.running.wait(WAIT)
    later = [worker.submit(10, job("review-2")), worker.submit(5, job("fix")), worker.submit(0, job("completion")),
             worker.submit(10, job("review-3"))]
    assert worker.waiting == 4 and worker.busy
    gate.release.set()
    assert [h.future.result(WAIT) for h in [first, *later]] == ["review-1", "review-2", "fix", "completion", "review-3"]
    assert gate.order == ["review-1", "completion", "fix", "review-2", "review-3"]
    assert gate.loads == 1
    worker.close()


def test_a_job_cancelled_while_queued_never_runs() -> None:
    gate = Gate()
    worker: DeviceWorker[Gate] = DeviceWorker(gate.load)
    holder = worker.submit(0, job("holder", hold=True))
    assert gate.running.wait(WAIT)
    queued = worker.submit(0, job("queued"))
    queued.cancel()
    assert worker.waiting == 0
    gate.release.set()
    holder.future.result(WAIT)
    with pytest.raises(CancelledError):
        queued.future.result(WAIT)
    assert gate.order == ["holder"]
    worker.close()


def test_cancelling_the_running_job_stops_it_and_frees_the_device() -> None:
    gate = Gate()
    worker: DeviceWorker[Gate] = DeviceWorker(gate.load)
    running = worker.submit(0, job("long", hold=True))
    assert gate.running.wait(WAIT)
    running.cancel()
    assert running.future.result(WAIT) == "cancelled"
    assert worker.submit(0, job("next")).future.result(WAIT) == "next"
    assert not worker.busy
    worker.close()


def test_a_job_gives_the_device_up_to_a_more_urgent_one_and_resumes_in_place() -> None:
    gate = Gate()
    worker: DeviceWorker[Gate] = DeviceWorker(gate.load)
    steps: list[str] = []
    asked = threading.Event()

    def review(runtime: Gate, control: JobControl) -> Any:
        steps.append("review-slice")
        if len(steps) == 1:
            runtime.running.set()
            deadline = time.monotonic() + WAIT
            while not control.should_yield():  # a decoding loop checking between steps
                assert time.monotonic() < deadline, "the waiting completion was never seen"
                time.sleep(0.001)
            asked.set()
            return YIELD
        return "review-done"

    def completion(runtime: Gate, control: JobControl) -> str:
        steps.append("completion")
        assert not control.should_yield()  # nothing is more urgent than a completion
        return "completion-done"

    first = worker.submit(10, review)
    assert gate.running.wait(WAIT)
    second = worker.submit(0, completion)
    assert second.future.result(WAIT) == "completion-done"
    assert first.future.result(WAIT) == "review-done"
    assert asked.is_set()
    assert steps == ["review-slice", "completion", "review-slice"]
    worker.close()


def test_a_load_failure_reaches_every_job_now_and_later() -> None:
    def broken() -> Any:
        raise RuntimeError("no such model folder")

    worker: DeviceWorker[Any] = DeviceWorker(broken)
    handle = worker.submit(0, job("x"))
    with pytest.raises(RuntimeError, match="no such model folder"):
        handle.future.result(WAIT)
    with pytest.raises(RuntimeError, match="no such model folder"):
        worker.loaded.result(WAIT)
    with pytest.raises(RuntimeError, match="no such model folder"):
        worker.submit(0, job("y")).future.result(WAIT)
    worker.close()


def test_close_fails_what_is_queued_and_refuses_new_jobs() -> None:
    gate = Gate()
    worker: DeviceWorker[Gate] = DeviceWorker(gate.load)
    holder = worker.submit(0, job("holder", hold=True))
    assert gate.running.wait(WAIT)
    queued = worker.submit(0, job("queued"))
    worker.close(timeout_s=0)  # do not wait for the running job
    assert isinstance(queued.future.exception(WAIT), WorkerClosed)
    with pytest.raises(WorkerClosed):
        worker.submit(0, job("late"))
    assert holder.future.result(WAIT) == "cancelled"  # close cancelled the running job too
    gate.release.set()


def test_a_job_exception_reaches_its_caller_and_the_worker_goes_on() -> None:
    gate = Gate()
    worker: DeviceWorker[Gate] = DeviceWorker(gate.load)

    def bad(runtime: Gate, control: JobControl) -> str:
        raise ValueError("bad request")

    failing = worker.submit(0, bad)
    with pytest.raises(ValueError, match="bad request"):
        failing.future.result(WAIT)
    assert worker.submit(0, job("fine")).future.result(WAIT) == "fine"
    worker.close()
