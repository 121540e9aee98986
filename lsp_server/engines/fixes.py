"""Line fixes as minimal, validated text edits.

A ``LineFix`` replaces whole lines; ``fix_edits`` turns it into the smallest set of
``Edit``s (a ``difflib`` line diff of old and new lines, each line with its own line
ending), all inside the named lines, and only while those lines still read what
the fix was made against. ``fix_adds_errors`` trial-parses the result so a fix that
would break the syntax is never offered. ``tidy_replacement`` repairs the common
model slips in replacement text (lost indentation, stray fences, echoed line numbers,
Windows line endings); ``answer_code`` says where a fenced answer's code starts and ends.

A finding travels on a diagnostic as ``finding_data`` (its rule, the document version
its line numbers belong to, and its fix as ``fix_data``), read back by
``FindingData.read`` and ``OfferedFix.read``: this module owns that format. ``lines_now`` moves
line numbers of an older version through the document's edits since (never by
content alone: identical lines would let a fix land on the wrong one), and
``OfferedFix.now`` is the fix on the current text, or None when its lines were
touched, moved out of reach, or read differently. ``checked_edits`` is the last check
every fix passes before it is offered (its lines unchanged, the result parses, it
changes something).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from lsp_server.core.findings import Edit, Finding, LineFix, Span, lines_hash
from lsp_server.core.secrets import MASK
from lsp_server.core.text import TextBuffer, split_lines
from lsp_server.engines.documents import OpenDocument
from lsp_server.engines.edit_history import follow_lines
from lsp_server.syntax.edits import Parse, replacement_adds_errors

_NUMBER_PREFIX = re.compile(r"^\s*\d+\s?\| ?")
_FENCE = re.compile(r"^\s*```")


def make_fix(buffer: TextBuffer, first: int, last: int, replacement: str) -> LineFix | None:
    """A fix for rows ``first..last`` of ``buffer`` (None if they do not exist)."""
    if first < 0 or last < first or last >= buffer.line_count:
        return None
    original = "\n".join(buffer.line_text(row) for row in range(first, last + 1))
    return LineFix(first, last, replacement, original)


def lines_now(doc: OpenDocument, version: int | None, first: int, last: int) -> tuple[int, int] | None:
    """Where rows ``first..last`` of ``doc`` at ``version`` are now; None if an edit touched
    them, the edits since that version are not known, or there is no version."""
    if version is None or first < 0 or last < first:
        return None
    edits = doc.history.since(version)
    rows = follow_lines(edits, first, last) if edits is not None else None
    if rows is None or rows[1] >= doc.syntax.buffer.line_count:
        return None
    return rows


@dataclass(frozen=True)
class OfferedFix:
    """A fix as a diagnostic carries it: rows ``start..end`` of the document at ``version``,
    the digest of what they read then, and the replacement."""

    start: int
    end: int
    replacement: str
    digest: str
    version: int | None

    @classmethod
    def read(cls, data: object) -> OfferedFix | None:
        """The fix in ``Diagnostic.data["fix"]`` (None if absent or malformed)."""
        if not isinstance(data, dict):
            return None
        try:
            version = data.get("version")
            return cls(int(data["start"]), int(data["end"]), str(data["replacement"]), str(data["hash"]),
                       int(version) if version is not None else None)
        except (KeyError, TypeError, ValueError):
            return None

    def now(self, doc: OpenDocument) -> LineFix | None:
        """The fix on ``doc``'s current text, if its lines are still there, untouched."""
        rows = lines_now(doc, self.version, self.start, self.end)
        if rows is None:
            return None
        buffer = doc.syntax.buffer
        current = [buffer.line_text(row) for row in range(rows[0], rows[1] + 1)]
        if lines_hash(current) != self.digest:
            return None
        return LineFix(rows[0], rows[1], self.replacement, "\n".join(current))


def fix_data(fix: LineFix, version: int | None) -> dict[str, Any]:
    """How ``fix`` travels on a diagnostic shown for the document at ``version``."""
    return {"start": fix.start_line, "end": fix.end_line, "replacement": fix.replacement,
            "hash": fix.original_hash, "version": version}


def finding_data(finding: Finding, version: int | None) -> dict[str, Any]:
    """What a diagnostic for ``finding`` carries in its data, shown for the document at ``version``."""
    return {"rule": finding.rule, "version": version,
            "fix": fix_data(finding.fix, version) if finding.fix is not None else None}


@dataclass(frozen=True)
class FindingData:
    """A diagnostic's data read back: the version its rows belong to, and its fix (if any)."""

    version: int | None
    fix: OfferedFix | None

    @classmethod
    def read(cls, data: object, current: int | None) -> FindingData:
        """``data`` of a diagnostic; one without a recorded version counts as made for ``current``."""
        fields = data if isinstance(data, dict) else {}
        version = fields.get("version", current)
        return cls(version if isinstance(version, int) and not isinstance(version, bool) else None,
                   OfferedFix.read(fields.get("fix")))


def lines_match(buffer: TextBuffer, fix: LineFix) -> bool:
    """Whether the fix's lines still read exactly what the fix was made against."""
    if fix.start_line < 0 or fix.end_line >= buffer.line_count:
        return False
    current = "\n".join(buffer.line_text(row) for row in range(fix.start_line, fix.end_line + 1))
    return current == fix.original


def _block(buffer: TextBuffer, fix: LineFix) -> tuple[int, list[str], list[str]]:
    """Start byte of the fix's lines, the old lines and the new lines, each with its ending."""
    eol = buffer.eol()
    old: list[str] = []
    ending = ""
    for row in range(fix.start_line, fix.end_line + 1):
        ending = buffer.slice(buffer.line_end(row), buffer.line_end(row, keep_newline=True))
        old.append(buffer.line_text(row) + ending)
    new = [line + eol for line in fix.replacement.split("\n")] if fix.replacement != "" else []
    if new and not ending:  # the last line of a file without a final line break
        new[-1] = new[-1][: -len(eol)]
    return buffer.line_start(fix.start_line), old, new


def fix_edits(buffer: TextBuffer, fix: LineFix) -> list[Edit] | None:
    """Minimal edits applying ``fix`` to ``buffer``; None if its lines changed meanwhile
    or it changes nothing."""
    if not lines_match(buffer, fix):
        return None
    start, old, new = _block(buffer, fix)
    if old == new:
        return None
    offsets = [start]
    for line in old:
        offsets.append(offsets[-1] + len(line.encode("utf-8", errors="surrogatepass")))
    edits: list[Edit] = []
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        begin, end = offsets[i1], offsets[i2]
        first, last = buffer.point_of_byte(begin), buffer.point_of_byte(end)
        edits.append(Edit(Span(first[0], first[1], last[0], last[1]), "".join(new[j1:j2])))
    return edits


def fix_adds_errors(parse: Parse, tree: object, buffer: TextBuffer, fix: LineFix, *, language: str = "") -> bool:
    """Whether applying ``fix`` would add syntax errors (trial parse of the result)."""
    start, old, new = _block(buffer, fix)
    end = start + sum(len(line.encode("utf-8", errors="surrogatepass")) for line in old)
    return replacement_adds_errors(
        parse, tree, buffer.data, start, end, "".join(new), python=language == "python"  # type: ignore[arg-type]
    )


def checked_edits(doc: OpenDocument, fix: LineFix) -> list[Edit] | str:
    """The edits applying ``fix`` to ``doc`` as it is now, or why there are none: "changed"
    (its lines no longer read what it was made against), "parse" (the result would add
    syntax errors) or "nothing" (it changes nothing)."""
    buffer = doc.syntax.buffer
    if not lines_match(buffer, fix):
        return "changed"
    doc.syntax.focus(buffer.line_start(fix.start_line))
    tree = doc.syntax.tree
    if tree is not None and fix_adds_errors(doc.syntax.parse_bytes, tree, buffer, fix,
                                            language=doc.spec.name if doc.spec else ""):
        return "parse"
    return fix_edits(buffer, fix) or "nothing"


def usable_replacement(fix: LineFix) -> bool:
    """Reject replacements that would write masked secrets into the file."""
    return not (MASK in fix.replacement and MASK not in fix.original)


def _indent(line: str) -> str:
    return line[: len(line) - len(line.lstrip(" \t"))]


def answer_code(lines: Sequence[str]) -> tuple[int, int | None]:
    """Where the code is in a model's answer: its first line (after the fences, and blank
    lines before them, that open it: a model repeats the prefilled opening fence) and the
    fence line that closes it (None: no closing fence yet)."""
    start = at = 0
    while at < len(lines) and (not lines[at].strip() or _FENCE.match(lines[at])):
        at += 1
        if _FENCE.match(lines[at - 1]):
            start = at
    end = next((i for i in range(start, len(lines)) if _FENCE.match(lines[i])), None)
    return start, end


def tidy_replacement(text: str, original: list[str]) -> str:
    """Normalise a model-written replacement for ``original`` lines."""
    lines = split_lines(text)
    start, end = answer_code(lines)
    lines = lines[start:end]
    while lines and not lines[-1].strip():
        lines.pop()
    if lines and all(_NUMBER_PREFIX.match(line) for line in lines if line.strip()):
        lines = [_NUMBER_PREFIX.sub("", line, count=1) for line in lines]
    lines = [line.rstrip() for line in lines]
    base = next((_indent(line) for line in original if line.strip()), "")
    body = [line for line in lines if line.strip()]
    if base and body and not any(_indent(line) for line in body[:1]):
        lines = [base + line if line.strip() else line for line in lines]
    return "\n".join(lines)
