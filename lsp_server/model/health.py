"""The model server's health as the server sees it, with a short back-off.

After a failure, requests skip the model for a while (0.5 s, doubling to 8 s) so an
unreachable server makes completions return empty at once instead of piling up
timeouts; the first request after the back-off probes again, and one success
restores everything. State changes are reported once each, so the user is told
about an outage once, and once more when it ends.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

State = Literal["unknown", "ready", "unavailable"]


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

    def failure(self, reason: str) -> None:
        self._backoff = self._first if self._backoff == 0 else min(self._backoff * 2, self._max)
        self._retry_at = self._clock() + self._backoff
        changed = self.state != "unavailable"
        self.state, self.reason = "unavailable", reason
        if changed and self._on_change:
            self._on_change(HealthChange("unavailable", reason))
