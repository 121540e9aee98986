"""Helpers shared by the CI output formats: ordering, positions, fixes, fingerprints.

Findings carry 0-based lines and UTF-8 byte columns (end exclusive); every format
shows 1-based lines and its own column unit (characters, UTF-16 code units or
bytes). Conversions read the line text from ``report.sources`` and fall back to
the byte column (exact for ASCII) when the line is not there. Fingerprints hash
content (path, rule, normalised quote, occurrence index), never line numbers, so
they survive code moving up or down.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Literal

from lsp_server.core.findings import Finding, LineFix, Severity
from lsp_server.reporting.report import Report, Summary

ColumnUnit = Literal["chars", "utf16", "bytes"]

FINGERPRINT_KEY = "mistralLsp/v1"  # SARIF partialFingerprints key; bump when the scheme changes

# severity -> (SARIF level, reviewdog severity, GitLab severity, GitHub workflow command)
_MAPPINGS: Mapping[Severity, tuple[str, str, str, str]] = MappingProxyType({
    Severity.ERROR: ("error", "ERROR", "major", "error"),
    Severity.WARNING: ("warning", "WARNING", "minor", "warning"),
    Severity.INFO: ("note", "INFO", "info", "notice"),
    Severity.HINT: ("note", "INFO", "info", "notice"),
})


def sarif_level(severity: Severity) -> str:
    return _MAPPINGS[severity][0]


def rdf_severity(severity: Severity) -> str:
    return _MAPPINGS[severity][1]


def gitlab_severity(severity: Severity) -> str:
    return _MAPPINGS[severity][2]


def github_command(severity: Severity) -> str:
    return _MAPPINGS[severity][3]


def ordered_findings(report: Report) -> list[Finding]:
    """The findings in one total, input-order-independent order (file, position, severity, rule...)."""
    return sorted(report.findings, key=lambda f: (
        f.path, f.span.start_line, f.span.start_col, f.severity.rank, f.rule,
        f.span.end_line, f.span.end_col, f.message, f.quote, f.unit))


def display_path(path: str) -> str:
    """A finding path as shown to people and tools: POSIX, relative, no leading ``./``."""
    path = path.replace("\\", "/")
    while path.startswith("./"):
        path = path[2:]
    return path


def line_text(report: Report, path: str, line: int) -> str | None:
    """Line ``line`` (0-based) of ``path`` as reviewed, or None if unknown."""
    lines = report.sources.get(path)
    if lines is None or not 0 <= line < len(lines):
        return None
    return lines[line]


def _utf8(text: str) -> bytes:
    return text.encode("utf-8", errors="surrogatepass")


def utf8_len(text: str) -> int:
    return len(_utf8(text))


def convert_column(text: str | None, byte_col: int, unit: ColumnUnit) -> int:
    """A 0-based UTF-8 byte column on ``text`` as a 0-based column in ``unit``.

    Unknown line: the byte column itself. Past the end of the line: the line's
    length plus the excess bytes. Inside a multi-byte character: that character's start.
    """
    if unit == "bytes" or text is None or byte_col <= 0:
        return max(byte_col, 0)
    data = _utf8(text)
    prefix = data[:byte_col].decode("utf-8", errors="ignore")
    excess = max(byte_col - len(data), 0)
    if unit == "chars":
        return len(prefix) + excess
    return len(prefix.encode("utf-16-le", errors="surrogatepass")) // 2 + excess


@dataclass(frozen=True, slots=True)
class Position:
    """A 1-based range: lines, and columns in some unit (end column exclusive)."""

    line: int
    column: int
    end_line: int
    end_column: int


def position(report: Report, finding: Finding, unit: ColumnUnit) -> Position:
    """The finding's span, 1-based, columns in ``unit``.

    A span ending at column 0 of a later line ends at the end of the line before
    (same text, but tools then do not point at a line the finding is not on).
    """
    span = finding.span
    end_line, end_col = span.end_line, span.end_col
    if end_col == 0 and end_line > span.start_line:
        previous = line_text(report, finding.path, end_line - 1)
        if previous is not None:
            end_line, end_col = end_line - 1, utf8_len(previous)
    start = convert_column(line_text(report, finding.path, span.start_line), span.start_col, unit)
    end = convert_column(line_text(report, finding.path, end_line), end_col, unit)
    return Position(span.start_line + 1, start + 1, end_line + 1, end + 1)


@dataclass(frozen=True, slots=True)
class LineEdit:
    """A text replacement: 0-based lines, UTF-8 byte columns, end exclusive."""

    start_line: int
    start_col: int
    end_line: int
    end_col: int
    text: str


def whole_line_edit(report: Report, path: str, fix: LineFix) -> LineEdit:
    """The exact text edit that applies ``fix`` (replace whole lines L..E).

    Normal case: replace from (L, 0) to (E+1, 0), line break included, with the
    replacement plus a line break ("" for a deletion). When line E is the last line
    (or the file's lines are unknown): replace from (L, 0) to the end of line E
    with the bare replacement; a deletion of the file's last lines then starts at
    the end of line L-1 so the line break before them goes too. The replacement's
    lines are written with the file's line break (``report.line_ends``, else ``\\n``).
    """
    lines = report.sources.get(path)
    start, end = fix.start_line, fix.end_line
    eol = report.line_ends.get(path, "\n")
    replacement = fix.replacement.replace("\n", eol) if eol != "\n" else fix.replacement
    if lines is not None and end + 1 < len(lines):
        return LineEdit(start, 0, end + 1, 0, replacement + eol if replacement else "")
    last = line_text(report, path, end)
    end_col = utf8_len(last if last is not None else fix.original.split("\n")[-1])
    if lines is None and not replacement:
        return LineEdit(start, 0, end + 1, 0, "")  # unknown file: assume a line follows
    if not replacement and start > 0 and lines is not None:
        return LineEdit(start - 1, utf8_len(lines[start - 1]), end, end_col, "")
    return LineEdit(start, 0, end, end_col, replacement)


def normalize_ws(text: str) -> str:
    return " ".join(text.split())


def fingerprints(report: Report, findings: Sequence[Finding]) -> list[str]:
    """A stable id per finding (aligned with ``findings``), independent of line numbers.

    sha256 over (scheme, path, rule, whitespace-normalised quote -- or the start
    line's text, or the message, if the quote is blank -- and the occurrence index
    among findings with the same (path, rule, text) in file order); 32 hex digits.
    """
    texts = []
    for finding in findings:
        text = normalize_ws(finding.quote)
        if not text:
            text = normalize_ws(line_text(report, finding.path, finding.span.start_line) or "")
        texts.append(text or normalize_ws(finding.message))
    order = sorted(range(len(findings)), key=lambda i: (
        findings[i].path, findings[i].span.start_line, findings[i].span.start_col, i))
    seen: dict[tuple[str, str, str], int] = {}
    result = [""] * len(findings)
    for i in order:
        key = (display_path(findings[i].path), findings[i].rule, texts[i])
        occurrence = seen.get(key, 0)
        seen[key] = occurrence + 1
        payload = "\0".join((FINGERPRINT_KEY, *key, str(occurrence)))
        result[i] = hashlib.sha256(_utf8(payload)).hexdigest()[:32]
    return result


def one_line(text: str) -> str:
    """``text`` safe for one line of a log: newlines become spaces, other control chars escaped."""
    text = text.replace("\r\n", " ").replace("\r", " ").replace("\n", " ")
    return "".join(c if c == "\t" or (c >= " " and c != "\x7f") else f"\\x{ord(c):02x}" for c in text)


def plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def counts_phrase(report: Report) -> str:
    """E.g. ``3 findings (1 error, 2 warning)`` or ``no findings``."""
    total = len(report.findings)
    if total == 0:
        return "no findings"
    parts = [f"{n} {sev.value}" for sev, n in report.by_severity().items() if n]
    return f"{plural(total, 'finding')} ({', '.join(parts)})"


INCOMPLETE_RULE = "review-incomplete"  # the rule/check name of "this part was not reviewed" items


def split_note(note: str) -> tuple[str, str]:
    """A summary line ``"path: reason"`` as ``(path, reason)``; ``("", note)`` without a path."""
    path, sep, reason = note.partition(": ")
    return (path, reason) if sep and path and reason else ("", note)


def incomplete_phrase(summary: Summary) -> str:
    """E.g. ``review incomplete: 2 failures`` ("" for a complete review)."""
    return f"review incomplete: {plural(len(summary.errors), 'failure')}" if summary.errors else ""


def diff_note(summary: Summary) -> str | None:
    """What part of the code was reviewed, when not all of it."""
    if summary.diff_base is None:
        return None
    if summary.diff_base == "staged":
        return "only staged changes were reviewed"
    return f"only lines changed since {summary.diff_base} were reviewed"


def dump_json(value: Any, *, indent: int | None = 2) -> str:
    """Deterministic JSON: sorted keys, ASCII only (lone surrogates survive as escapes)."""
    separators = (",", ": ") if indent is not None else (",", ":")
    return json.dumps(value, sort_keys=True, ensure_ascii=True, indent=indent, separators=separators)
