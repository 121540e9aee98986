"""Review findings as plain frozen values: Severity, Span, LineFix, Edit, Finding.

Shared by the review engine, the fix engine, the editor glue and the CI reporters,
so nothing here knows about LSP or tree-sitter. Positions are 0-based lines with
columns in UTF-8 bytes (what tree-sitter and ``TextBuffer`` use); the protocol layer
converts them to the client's encoding, reporters to 1-based.

A ``Finding``'s message, rule and unit label are model (or cache) text shown in
editors, logs and CI reports, so every ``Finding`` cleans them when it is made
(``clean_text``): control characters and bidirectional overrides dropped, spaces
collapsed, lengths capped. Messages keep their line breaks (one per line, no blank
lines); the rule and unit label are one line.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum


class Severity(str, Enum):
    """How bad a finding is, as the model judged it."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"
    HINT = "hint"

    @property
    def rank(self) -> int:
        """0 for error (most severe) up to 3 for hint."""
        return _RANKS[self.value]

    def at_least(self, other: Severity) -> bool:
        """True if this severity is ``other`` or more severe."""
        return self.rank <= other.rank

    @classmethod
    def parse(cls, value: str) -> Severity:
        return cls(value.strip().lower())


_RANKS = {"error": 0, "warning": 1, "info": 2, "hint": 3}

DEFAULT_RULE = "ai-review"
MAX_MESSAGE_CHARS = 600
MAX_RULE_CHARS = 60
MAX_UNIT_CHARS = 200
_BREAKS = str.maketrans({"\r": "\n", "\u2028": "\n", "\u2029": "\n", "\x85": "\n", "\x0b": "\n", "\x0c": "\n"})
# control characters (Unicode category Cc) but tab and newline, lone surrogates (Cs), and the
# bidirectional embeddings, overrides, isolates and marks (they reorder what a reader sees)
_HIDDEN = re.compile("[\x00-\x08\x0e-\x1f\x7f-\x9f\ud800-\udfff\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
# hidden characters and every whitespace character but space and line feed (what str.split splits on)
_ODD = re.compile("[\x00-\x09\x0b-\x1f\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
                  "\ud800-\udfff\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _is_clean(text: str, multiline: bool) -> bool:
    """True if ``clean_text`` would return ``text`` as it is (a finding made from a clean one)."""
    if _ODD.search(text) or "  " in text or text != text.strip(" \n"):
        return False
    return ("\n\n" not in text and " \n" not in text and "\n " not in text) if multiline else "\n" not in text


def clean_text(text: str, limit: int, *, multiline: bool = False) -> str:
    """``text`` fit to show anywhere: control characters, lone surrogates and bidi
    overrides dropped, runs of spaces collapsed, blank lines removed (``multiline``:
    line breaks kept as ``\\n``; otherwise lines joined with a space), and at most
    ``limit`` characters (a longer text ends with ``…``)."""
    if len(text) <= limit and _is_clean(text, multiline):
        return text
    text = _HIDDEN.sub("", text.replace("\r\n", "\n").translate(_BREAKS))
    lines = [" ".join(line.split()) for line in text.split("\n")]
    text = ("\n" if multiline else " ").join(line for line in lines if line)
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text


@dataclass(frozen=True, slots=True)
class Span:
    """A text range: 0-based lines, columns in UTF-8 bytes, end exclusive."""

    start_line: int
    start_col: int
    end_line: int
    end_col: int

    def shifted(self, lines: int) -> Span:
        return Span(self.start_line + lines, self.start_col, self.end_line + lines, self.end_col)


@dataclass(frozen=True, slots=True)
class LineFix:
    """Replace whole lines ``start_line..end_line`` (0-based, inclusive) with ``replacement``.

    ``original`` is the text of those lines when the fix was made (joined with
    ``\\n``): a fix only applies while the lines still read exactly that.
    ``replacement`` has no trailing newline; an empty one deletes the lines.
    """

    start_line: int
    end_line: int
    replacement: str
    original: str

    @property
    def original_hash(self) -> str:
        return lines_hash(self.original.split("\n"))

    def shifted(self, lines: int) -> LineFix:
        return LineFix(self.start_line + lines, self.end_line + lines, self.replacement, self.original)


@dataclass(frozen=True, slots=True)
class Edit:
    """A minimal text edit: replace ``span`` with ``new_text``."""

    span: Span
    new_text: str


@dataclass(frozen=True, slots=True)
class Finding:
    """One review finding, anchored on the exact text it is about."""

    path: str
    span: Span
    severity: Severity
    rule: str  # short kebab-case id, e.g. "off-by-one"
    message: str
    quote: str  # the exact text under ``span``
    fix: LineFix | None = None
    unit: str = ""  # the review unit it came from, e.g. "function load_config"

    def __post_init__(self) -> None:
        # frozen: the cleaned texts are set once, here, whoever made the finding
        object.__setattr__(self, "message", clean_text(self.message, MAX_MESSAGE_CHARS, multiline=True))
        object.__setattr__(self, "rule", clean_text(self.rule, MAX_RULE_CHARS) or DEFAULT_RULE)
        object.__setattr__(self, "unit", clean_text(self.unit, MAX_UNIT_CHARS))

    def shifted(self, lines: int) -> Finding:
        fix = self.fix.shifted(lines) if self.fix is not None else None
        return Finding(self.path, self.span.shifted(lines), self.severity, self.rule, self.message,
                       self.quote, fix, self.unit)

    def without_fix(self) -> Finding:
        return Finding(self.path, self.span, self.severity, self.rule, self.message, self.quote, None, self.unit)


def lines_hash(lines: Sequence[str]) -> str:
    """A short, stable digest of some lines' text (to check they did not change)."""
    return hashlib.sha1("\n".join(lines).encode("utf-8", errors="surrogatepass")).hexdigest()[:16]


def sort_findings(findings: Sequence[Finding]) -> list[Finding]:
    """File order, then severity (most severe first), then rule."""
    return sorted(findings, key=lambda f: (f.path, f.span.start_line, f.span.start_col, f.severity.rank, f.rule))
