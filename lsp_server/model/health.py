"""The model server's health as the server sees it, with a short back-off.

After a failure, requests skip the model for a while (0.5 s, doubling to 8 s) so an
unreachable server makes completions return empty at once instead of piling up
timeouts; the first request after the back-off probes again, and one success
restores everything. State changes are reported once each, so the user is told
about an outage once, and once more when it ends.

Not every failed request says something about the server: ``request_failure`` tells
a request's own failure (a 400 "context too long" or bad request for this prompt,
413, 414, 422: the server is fine, that request is not) from an outage (connection
refused, timeouts, 5xx, 404 model missing, 401/403/429, garbage). ``ModelHealth.failed``
records only the latter; ``context_limit`` reads the context length a "too long"
answer states, so the caller can send less next time.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from lsp_server.model.client import ModelError

State = Literal["unknown", "ready", "unavailable"]

#: HTTP statuses that judge the request, not the server (bad request for this prompt,
#: body too large, URI too long, unprocessable): never an outage.
REQUEST_STATUSES = frozenset({400, 413, 414, 422})
_CONTEXT_LIMIT = re.compile(r"maximum context length is (\d+)", re.IGNORECASE)
_TOO_LONG = ("context length", "too long", "reduce the length", "too many tokens")


def request_failure(error: ModelError) -> bool:
    """Whether ``error`` is that request's own failure (the server answered, and would
    answer other requests): a 400, 413, 414 or 422."""
    return error.kind == "http" and error.status in REQUEST_STATUSES


def context_overflow(error: ModelError) -> bool:
    """Whether the server refused the request because the prompt (plus the answer) is too long."""
    text = error.message.lower()
    return request_failure(error) and (error.status == 413 or any(words in text for words in _TOO_LONG))


def context_limit(error: ModelError) -> int | None:
    """The context length a "too long" answer states (vLLM: "maximum context length is N tokens")."""
    match = _CONTEXT_LIMIT.search(error.message) if context_overflow(error) else None
    return int(match.group(1)) if match else None


@dataclass(frozen=True)
class HealthChange:
    """A transition worth telling the user about."""

    state: State
    reason: str


class ModelHealth:
    """Tracks ready/unavailable and the back-off window."""

    def __init__(
        self,
        *,
        on_change: Callable[[HealthChange], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
        first_backoff_s: float = 0.5,
        max_backoff_s: float = 8.0,
    ) -> None:
        self.state: State = "unknown"
        self.reason = ""
        self.last_latency_ms: float | None = None
        self._on_change = on_change
        self._clock = clock
        self._first = first_backoff_s
        self._max = max_backoff_s
        self._backoff = 0.0
        self._retry_at = 0.0

    def should_skip(self) -> bool:
        """True while backing off after a failure."""
        return self.state == "unavailable" and self._clock() < self._retry_at

    def success(self, latency_ms: float | None = None) -> None:
        if latency_ms is not None:
            self.last_latency_ms = latency_ms
        self._backoff = 0.0
        if self.state != "ready":
            previous = self.state
            self.state, self.reason = "ready", ""
            if previous == "unavailable" and self._on_change:
                self._on_change(HealthChange("ready", "the model server is answering again"))

    def failed(self, error: ModelError, *, timeouts: bool = True) -> bool:
        """Record a failed request; True if it counts as an outage. A request's own
        failure (``request_failure``) never does, nor a timeout when ``timeouts`` is
        False (a slow review says little about the completion path)."""
        if request_failure(error) or (error.kind == "timeout" and not timeouts):
            return False
        self.failure(error.message)
        return True

    def failure(self, reason: str) -> None:
        self._backoff = self._first if self._backoff == 0 else min(self._backoff * 2, self._max)
        self._retry_at = self._clock() + self._backoff
        changed = self.state != "unavailable"
        self.state, self.reason = "unavailable", reason
        if changed and self._on_change:
            self._on_change(HealthChange("unavailable", reason))
