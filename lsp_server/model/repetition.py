"""Runaway-repetition detection for model completions.

A sampled chat model sometimes falls into a loop: the same line over and over, a
short cycle of lines, or one line that keeps repeating a phrase. These helpers find
such a loop cheaply (they look only at the tail of the output, or at one line) so
the completion cleaner can cut it to one occurrence and stop the stream.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

# Lines that legitimately repeat: closers, bare keywords, separators.
_TRIVIAL_LINES = frozenset(
    {
        "pass", "break", "continue", "return", "return;", "break;", "continue;", "else", "else:",
        "try:", "finally:", "default:", "fallthrough", "end", "fi", "done", "esac", "else {",
        "} else {", "nil", "None", "null", "...",
    }
)
# A unit of 8..80 characters followed by at least four more copies of itself.
_RUN_RE = re.compile(r"(.{8,80}?)\1{4,}")
_LINE_COPIES = 3
_MAX_CYCLE = 4
_MIN_UNIT_PERIOD = 8


def is_trivial_line(stripped: str) -> bool:
    """A line too short or too generic to count as a runaway when it repeats."""
    return len(stripped) < 3 or stripped in _TRIVIAL_LINES or not any(c.isalnum() for c in stripped)


def find_line_cycle(lines: Sequence[str], nonblank: Sequence[int]) -> int | None:
    """How many of ``lines`` to keep when their non-blank tail loops, else None.

    ``nonblank`` holds the indexes of the non-blank entries of ``lines``, in order.
    A loop is one line, or a chunk of up to four lines, occurring three times in a
    row with at least one non-trivial line in it; the first occurrence is kept.
    """
    count = len(nonblank)
    for period in range(1, _MAX_CYCLE + 1):
        if count < _LINE_COPIES * period:
            break
        copies = [
            [lines[i].strip() for i in nonblank[count - (n + 1) * period : count - n * period]]
            for n in range(_LINE_COPIES)
        ]
        chunk = copies[0]
        if all(c == chunk for c in copies) and not all(is_trivial_line(x) for x in chunk):
            return nonblank[count - (_LINE_COPIES - 1) * period - 1] + 1
    return None


def _smallest_period(unit: str) -> int:
    return (unit + unit).find(unit, 1)


def find_repeated_run(line: str) -> int | None:
    """Where to cut ``line`` when a phrase of 8+ characters repeats 5+ times in a row.

    Returns the index just past the phrase's first occurrence, or None. Runs whose
    phrase is itself a short pattern (``========``, ``0, 0, 0, ``) are not loops.
    """
    if len(line) < 40:
        return None
    for match in _RUN_RE.finditer(line):
        unit = match.group(1)
        if _smallest_period(unit) >= _MIN_UNIT_PERIOD and unit.strip():
            return match.start() + len(unit)
    return None
