"""Anchoring reported findings to the text, not to the model's line arithmetic.

A finding names a 1-based ``line`` and the exact ``quote`` of the problem. The quote
is searched on the unit's own lines within ``RADIUS`` lines of the reported one,
nearest first (ties: the earlier line), and the range is put exactly on it. A quote
that is not there drops the finding. A fix must name lines inside the unit that
include the problem's line (the model's numbers are tried as given, then moved by
the same offset as the quote); otherwise only the fix is dropped.

Quotes are searched in the lines as the model saw them, secrets masked, and their
columns mapped back to the real lines: a finding about a line with a secret (a
hard-coded password) lands on it, and what is cached quotes the masked text.

Everything here works in "unit index" space (positions in the unit's list of lines),
which is also how findings are cached, so a cached unit can move in the file.

Findings shown in the editor move onto newer text with ``follow_findings`` when the
document's edits since their version are known (exact: a finding whose text was
edited goes, its fix goes when its lines were touched), else with ``reanchor`` (the
quote searched near its old place).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from lsp_server.core.findings import Finding, LineFix, Severity, Span
from lsp_server.core.secrets import MASK, MaskedLine
from lsp_server.core.text import ByteEdit, TextBuffer, split_lines
from lsp_server.engines.edit_history import follow, follow_lines
from lsp_server.engines.fixes import lines_match, tidy_replacement
from lsp_server.model.findings import ReportedFinding

RADIUS = 10
MAX_PER_UNIT = 20
_NUMBER_PREFIX = re.compile(r"^\s*\d+\s?\|\s?")


@dataclass(frozen=True)
class Anchored:
    """A finding placed on a unit's lines: start/end as (unit index, byte column)."""

    index: int
    col: int
    end_index: int
    end_col: int
    quote: str
    severity: str
    rule: str
    message: str
    fix: tuple[int, int, str] | None  # (first index, last index, replacement)

    def to_json(self) -> dict[str, Any]:
        return {"i": self.index, "c": self.col, "j": self.end_index, "d": self.end_col, "q": self.quote,
                "s": self.severity, "r": self.rule, "m": self.message, "f": list(self.fix) if self.fix else None}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Anchored:
        fix = data.get("f")
        return cls(int(data["i"]), int(data["c"]), int(data["j"]), int(data["d"]), str(data["q"]),
                   str(data["s"]), str(data["r"]), str(data["m"]),
                   (int(fix[0]), int(fix[1]), str(fix[2])) if fix else None)

    def finding(self, path: str, rows: Sequence[int], lines: Sequence[str], unit: str) -> Finding:
        """The finding at the unit's current rows; its quote is read from ``lines`` (the
        stored one is secret-masked), and a fix that would write a mask is left out."""
        fix = None
        if self.fix is not None:
            first, last, replacement = self.fix
            original = lines[first : last + 1]
            if MASK not in replacement or any(MASK in line for line in original):
                fix = LineFix(rows[first], rows[last], replacement, "\n".join(original))
        span = Span(rows[self.index], self.col, rows[self.end_index], self.end_col)
        quote = _quoted(lines, self.index, self.col, self.end_index, self.end_col)
        return Finding(path, span, Severity(self.severity), self.rule, self.message, quote, fix, unit)


@dataclass
class AnchorReport:
    """The anchored findings of one answer, and what was dropped."""

    anchored: list[Anchored]
    dropped: list[str]
    dropped_fixes: list[str]


def _candidates(rows: Sequence[int], target: int) -> list[int]:
    near = [i for i, row in enumerate(rows) if abs(row - target) <= RADIUS]
    return sorted(near, key=lambda i: (abs(rows[i] - target), rows[i]))


def _contiguous(rows: Sequence[int], first: int, last: int) -> bool:
    return 0 <= first <= last < len(rows) and rows[last] - rows[first] == last - first


def _match(quote: str, rows: Sequence[int], lines: Sequence[str], index: int) -> tuple[int, int, int, int] | None:
    """(start index, start byte col, end index, end byte col) of ``quote`` starting on line ``index``."""
    count = quote.count("\n") + 1
    last = index + count - 1
    if not _contiguous(rows, index, last):
        return None
    text = "\n".join(lines[index : last + 1])
    position = text.find(quote)
    if position < 0 or position > len(lines[index]):
        return None
    end = position + len(quote)
    line_start = text.rfind("\n", 0, end) + 1 if count > 1 else 0
    end_index = index + text.count("\n", 0, end)
    start_col = len(lines[index][:position].encode("utf-8", errors="surrogatepass"))
    end_col = len(text[line_start:end].encode("utf-8", errors="surrogatepass"))
    if count == 1:
        end_index = index
    return index, start_col, end_index, end_col


def _variants(quote: str) -> list[str]:
    text = "\n".join(split_lines(quote)).strip()
    out = [text] if text else []
    bare = "\n".join(_NUMBER_PREFIX.sub("", line, count=1) for line in text.split("\n")).strip()
    if bare and bare != text:
        out.append(bare)
    return out


def locate(quote: str, line: int, rows: Sequence[int], lines: Sequence[str]) -> tuple[int, int, int, int] | None:
    """Where ``quote`` is, searching the unit's lines near 1-based ``line``, nearest first."""
    order = _candidates(rows, line - 1)
    for variant in _variants(quote):
        for index in order:
            found = _match(variant, rows, lines, index)
            if found is not None:
                return found
    return None


def _fix(reported: ReportedFinding, delta: int, problem: int, rows: Sequence[int], lines: Sequence[str]
         ) -> tuple[tuple[int, int, str] | None, str]:
    fix = reported.fix
    if fix is None:
        return None, ""
    index_of = {row: i for i, row in enumerate(rows)}
    tries = [(fix.start_line - 1, fix.end_line - 1)]
    if delta:
        tries.append((fix.start_line - 1 + delta, fix.end_line - 1 + delta))
    chosen = None
    for first_row, last_row in tries:
        first, last = index_of.get(first_row), index_of.get(last_row)
        if first is not None and last is not None and _contiguous(rows, first, last) and first <= problem <= last:
            chosen = (first, last)
            break
    if chosen is None and not delta:
        first, last = index_of.get(tries[0][0]), index_of.get(tries[0][1])
        if first is not None and last is not None and _contiguous(rows, first, last):
            chosen = (first, last)
    if chosen is None:
        return None, f"fix lines {fix.start_line}-{fix.end_line} are outside the unit or miss the problem"
    original = list(lines[chosen[0] : chosen[1] + 1])
    replacement = tidy_replacement(fix.replacement, original)
    if replacement == "\n".join(original):
        return None, "fix changes nothing"
    if MASK in replacement and not any(MASK in line for line in original):
        return None, "fix would write a masked secret"
    return (chosen[0], chosen[1], replacement), ""


def anchor_all(reported: Sequence[ReportedFinding], rows: Sequence[int], lines: Sequence[str],
               shown: Sequence[MaskedLine] | None = None) -> AnchorReport:
    """Anchor every reported finding of one unit; keep the good, say why the rest went.

    ``shown`` are the lines as the model saw them (secrets masked): quotes are found
    there, their columns mapped back to ``lines``, and the kept quote is the masked one."""
    report = AnchorReport([], [], [])
    seen: set[tuple[int, int, int, int, str]] = set()
    seen_lines = [line.text for line in shown] if shown is not None else lines
    for item in reported:
        found = locate(item.quote, item.line, rows, seen_lines)
        if found is None:
            report.dropped.append(f"line {item.line}: quote {item.quote[:60]!r} not found near it")
            continue
        quote = _quoted(seen_lines, *found)
        if shown is not None:
            start, col, end, end_col = found
            found = (start, shown[start].original_byte(lines[start], col),
                     end, shown[end].original_byte(lines[end], end_col, end=True))
        key = (*found, item.rule)
        if key in seen:
            report.dropped.append(f"line {item.line}: duplicate of an earlier finding")
            continue
        if len(report.anchored) >= MAX_PER_UNIT:
            report.dropped.append(f"line {item.line}: more than {MAX_PER_UNIT} findings in one unit")
            continue
        seen.add(key)
        index, col, end_index, end_col = found
        delta = rows[index] - (item.line - 1)
        fix, problem = _fix(item, delta, index, rows, lines)
        if problem:
            report.dropped_fixes.append(f"line {item.line}: {problem}")
        report.anchored.append(
            Anchored(index, col, end_index, end_col, quote, item.severity, item.rule, item.message, fix)
        )
    return report


def _quoted(lines: Sequence[str], index: int, col: int, end_index: int, end_col: int) -> str:
    """The exact text under an anchored range (byte columns)."""
    if index == end_index:
        data = lines[index].encode("utf-8", errors="surrogatepass")
        return data[col:end_col].decode("utf-8", errors="surrogatepass")
    head = lines[index].encode("utf-8", errors="surrogatepass")[col:].decode("utf-8", errors="surrogatepass")
    tail = lines[end_index].encode("utf-8", errors="surrogatepass")[:end_col].decode("utf-8", errors="surrogatepass")
    return "\n".join([head, *lines[index + 1 : end_index], tail])


def reanchor(findings: Sequence[Finding], buffer: TextBuffer) -> list[Finding]:
    """Findings made against older text, moved to where their quote is now.

    A finding stays if its quote still sits exactly under its span, or moves to the
    nearest place within ``RADIUS`` lines where the quote now is; otherwise it goes.
    A moved fix moves with it, and is dropped unless its lines still read the same.
    """
    out: list[Finding] = []
    for finding in findings:
        row = finding.span.start_line
        first, last = max(0, row - RADIUS), min(buffer.line_count - 1, row + RADIUS + finding.quote.count("\n"))
        rows = list(range(first, last + 1))
        lines = [buffer.line_text(r) for r in rows]
        found = locate(finding.quote, row + 1, rows, lines) if rows else None
        if found is None:
            continue
        index, col, end_index, end_col = found
        moved = finding.shifted(rows[index] - row)
        span = Span(rows[index], col, rows[end_index], end_col)
        fix = moved.fix if moved.fix is not None and lines_match(buffer, moved.fix) else None
        out.append(Finding(moved.path, span, moved.severity, moved.rule, moved.message, moved.quote, fix, moved.unit))
    return out


def follow_findings(findings: Sequence[Finding], edits: Sequence[ByteEdit], buffer: TextBuffer) -> list[Finding]:
    """Findings made against an older version, moved through the ``edits`` made since onto
    ``buffer`` (the current text). A finding whose text an edit touched is dropped (the
    next review speaks for it); a fix stays only while no edit touched its lines."""
    out: list[Finding] = []
    for finding in findings:
        span = finding.span
        moved = follow(edits, (span.start_line, span.start_col), (span.end_line, span.end_col))
        if moved is None:
            continue
        (row, col), (end_row, end_col) = moved
        if end_row >= buffer.line_count:
            continue
        lines = [buffer.line_text(r) for r in range(row, end_row + 1)]
        if _quoted(lines, 0, col, end_row - row, end_col) != finding.quote:
            continue  # (cannot happen when the edits are right; never show a finding off its text)
        fix = None
        if finding.fix is not None:
            rows = follow_lines(edits, finding.fix.start_line, finding.fix.end_line)
            if rows is not None:
                fix = LineFix(rows[0], rows[1], finding.fix.replacement, finding.fix.original)
                fix = fix if lines_match(buffer, fix) else None
        out.append(Finding(finding.path, Span(row, col, end_row, end_col), finding.severity, finding.rule,
                           finding.message, finding.quote, fix, finding.unit))
    return out
