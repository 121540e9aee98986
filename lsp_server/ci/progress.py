"""Progress and the end-of-run summary of a headless review, on stderr.

On a terminal: one bar redrawn in place. Otherwise (CI logs): a plain line at each
tenth of the way, so a 2,000-file run prints ten lines, not two thousand.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

from lsp_server.reporting.report import Report


class Progress:
    """Counts finished files and shows it."""

    def __init__(self, total: int, *, stream: TextIO | None = None, enabled: bool = True) -> None:
        self.total = total
        self.done = 0
        self._stream = stream if stream is not None else sys.stderr
        self._tty = bool(getattr(self._stream, "isatty", lambda: False)())
        self._enabled = enabled and total > 0
        self._next_step = 1
        self._started = time.monotonic()

    def advance(self, label: str) -> None:
        self.done += 1
        if not self._enabled:
            return
        if self._tty:
            width = 30
            filled = width * self.done // self.total
            shown = label if len(label) <= 40 else "..." + label[-37:]
            self._stream.write(f"\r\x1b[2K[{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total} {shown}")
            self._stream.flush()
            return
        if self.done * 10 >= self._next_step * self.total:
            while self.done * 10 >= self._next_step * self.total:
                self._next_step += 1
            elapsed = time.monotonic() - self._started
            self._stream.write(f"mistral-lsp: reviewed {self.done}/{self.total} files ({elapsed:.1f} s)\n")
            self._stream.flush()

    def close(self) -> None:
        if self._enabled and self._tty:
            self._stream.write("\r\x1b[2K")
            self._stream.flush()


def summary_lines(report: Report) -> list[str]:
    """The few lines a person reads at the end of a run."""
    summary = report.summary
    counts = report.by_severity()
    found = ", ".join(f"{n} {severity.value}" for severity, n in counts.items() if n) or "none"
    lines = [
        f"mistral-lsp review: {summary.files} file(s), {summary.units} unit(s) "
        f"({summary.cached} cached, {summary.requests} model request(s)), "
        f"findings: {found}, {summary.elapsed_s:.1f} s"
    ]
    if summary.diff_base:
        lines.append(f"  only lines changed since {summary.diff_base} were reviewed")
    lines += [f"  skipped {note}" for note in summary.skipped]
    lines += [f"  error {note}" for note in summary.errors]
    return lines
