"""Best-effort lexical reading of code lines, for the completion cleaner.

Indentation widths (tabs counted as one indentation unit), bracket depth with the
string and comment state carried from line to line, the overlap between a
completion's end and the text after the cursor, and the heuristics that tell a chat
model's prose ("Sure! Here is the code:", "This function ...") from code. No parser:
these run on every streamed line, so they stay simple and linear.
"""

from __future__ import annotations

import re

OPENERS = "([{"
CLOSERS = ")]}"
QUOTES = "\"'`"
_STRUCTURAL = OPENERS + CLOSERS + QUOTES
_LIFETIME_RE = re.compile(r"'(?:[A-Za-z_]\w{0,2}|static)(?!['\w])")  # Rust 'a, not a char literal
_CODE_PUNCT_RE = re.compile(r"[=;{}<>]|->|\(\)")
_PREAMBLE_RE = re.compile(
    r"(?:\*\*)?(?:sure|certainly|of course|absolutely|okay|ok|alright|here(?:'s| is| are)|below is"
    r"|the (?:completed?|completion|rest|code|updated|missing)|to complete|i(?:'ll| will| have)"
    r"|let me|you can)\b",
    re.IGNORECASE,
)
# Capitalised, so that ``output: list[str] = []`` stays code.
_LABEL_RE = re.compile(
    r"(?:\*\*)?(?:Notes?|NOTE|Explanation|Output|Usage|Example(?: usage)?|Summary|(?:Key )?[Cc]hanges)"
    r"\s*:(?:\*\*)?(?:\s|$)"
)
_ASSIGNMENT_RE = re.compile(r"[=;{]")
_PROSE_START_RE = re.compile(
    r"(?:\*\*)?(?:This|These|The|In this|Here|I|We|You|It|That|Also|Alternatively|However"
    r"|Make sure|Let me|Now|Above|Below)\b"
)


def indent_of(line: str) -> str:
    """The leading spaces and tabs of ``line``."""
    return line[: len(line) - len(line.lstrip(" \t"))]


def indent_width(ws: str, tab_w: int) -> int:
    """Columns of leading whitespace ``ws``, a tab counting ``tab_w``."""
    return sum(tab_w if c == "\t" else 1 for c in ws)


def make_indent(width: int, unit: str, tab_w: int) -> str:
    """Leading whitespace of ``width`` columns in the style of indentation ``unit``."""
    if unit == "\t":
        return "\t" * (width // tab_w) + " " * (width % tab_w)
    return " " * width


def drop_indent(line: str, width: int, tab_w: int) -> str:
    """``line`` without up to ``width`` columns of its leading whitespace."""
    i = col = 0
    while i < len(line) and line[i] in " \t" and col < width:
        col += tab_w if line[i] == "\t" else 1
        i += 1
    return line[i:]


def _reads_like_prose(s: str) -> bool:
    letters = sum(c.isalpha() or c.isspace() for c in s)
    return len(s.split()) >= 3 and letters >= 0.8 * len(s) and not _CODE_PUNCT_RE.search(s)


def is_preamble(s: str) -> bool:
    """A chat line before the code: "Sure!", "Here is the completion:"."""
    if _CODE_PUNCT_RE.search(s):
        return False
    if _PREAMBLE_RE.match(s):
        return sum(c.isalpha() or c.isspace() for c in s) >= 0.75 * len(s)
    return s.endswith(":") and _reads_like_prose(s)


def is_trailing_prose(s: str) -> bool:
    """An explanation after the code: "This function ...", "Note: ...", "Explanation:"."""
    if _LABEL_RE.match(s):
        return not _ASSIGNMENT_RE.search(s)
    return bool(_PROSE_START_RE.match(s)) and _reads_like_prose(s)


# ---------------------------------------------------------------- brackets


class BracketScanner:
    """Bracket depth plus string/comment state carried across lines (best effort).

    ``depth`` counts all bracket kinds together; ``open`` keeps the unclosed opening
    brackets and ``mismatched`` counts closers that did not match them, so that two
    texts can be compared for bracket structure (``signature``).
    """

    __slots__ = ("block_comment", "brace", "depth", "low", "mismatched", "open", "quote")

    def __init__(self, brace: bool) -> None:
        self.brace = brace
        self.depth = 0
        self.low = 0  # lowest depth seen since the caller last reset it
        self.quote = ""  # the open string's delimiter
        self.block_comment = False
        self.open: list[str] = []
        self.mismatched = 0

    @property
    def in_multiline(self) -> bool:
        """Inside a block comment, a triple-quoted string or a template/raw string."""
        return self.block_comment or len(self.quote) == 3 or self.quote == "`"

    def copy(self) -> BracketScanner:
        twin = BracketScanner(self.brace)
        twin.depth, twin.low, twin.quote, twin.block_comment = self.depth, self.low, self.quote, self.block_comment
        twin.open, twin.mismatched = list(self.open), self.mismatched
        return twin

    def signature(self) -> tuple[str, int, str, bool]:
        return "".join(self.open), self.mismatched, self.quote, self.block_comment

    def feed(self, text: str, floor: int = 0, clamp: bool = False) -> int:
        """Scan ``text``; return the index where depth first fell below ``floor``, else -1."""
        dipped, i = -1, 0
        while i < len(text):
            ch = text[i]
            if self.block_comment or self.quote:
                i = self._skip_literal(text, i)
                continue
            if ch in OPENERS:
                self.depth += 1
                self.open.append(ch)
            elif ch in CLOSERS:
                self._close(ch)
                self.depth = max(0, self.depth - 1) if clamp else self.depth - 1
                self.low = min(self.low, self.depth)
                if dipped < 0 and self.depth < floor:
                    dipped = i
            elif ch != "\n":
                i = self._open_literal(text, i)
                continue
            i += 1
        return dipped

    def _close(self, ch: str) -> None:
        if self.open and OPENERS.index(self.open[-1]) == CLOSERS.index(ch):
            self.open.pop()
        else:
            self.mismatched += 1

    def _open_literal(self, text: str, i: int) -> int:
        ch, two = text[i], text[i : i + 2]
        if (ch == "#" and not self.brace) or (two == "//" and self.brace):
            end = text.find("\n", i)
            return len(text) if end < 0 else end
        if two == "/*" and self.brace:
            self.block_comment = True
            return i + 2
        if ch in QUOTES and (ch != "`" or self.brace):
            if not self.brace and text.startswith(ch * 3, i):
                self.quote = ch * 3
                return i + 3
            if not (ch == "'" and self.brace and _LIFETIME_RE.match(text, i)):
                self.quote = ch
        return i + 1

    def _skip_literal(self, text: str, i: int) -> int:
        if self.block_comment:
            end = text.find("*/", i)
            if end < 0:
                return len(text)
            self.block_comment = False
            return end + 2
        if text[i] == "\\":
            return i + 2
        if text[i] == "\n" and self.quote in ("'", '"'):
            self.quote = ""
            return i + 1
        if text.startswith(self.quote, i):
            i += len(self.quote)
            self.quote = ""
            return i
        return i + 1


def bracket_signature(text: str, brace: bool) -> tuple[str, int, str, bool]:
    """The bracket/string structure ``text`` ends in: unclosed brackets, stray closers, open string."""
    scanner = BracketScanner(brace)
    scanner.feed(text)
    return scanner.signature()


def merge_point(text: str, scanner: BracketScanner, suffix: str) -> int | None:
    """Where a one-line ``text`` reaches the text after the cursor, or None.

    ``scanner`` has read the cursor line up to the cursor (it is used up here: pass a
    copy). When the cursor is inside brackets or a string that ``suffix`` closes
    (``compute(|)``, ``print("|")``), the model often writes the closer itself and
    goes on past it (``1, 2) + 3``): the completion ends at the first character
    that closes what the line left open, if ``suffix`` starts with that same
    character. A closer of a bracket the text opened itself (``foo(x)``) is not it.
    """
    head = suffix.lstrip(" \t")[:1]
    if not head or head not in CLOSERS + QUOTES or not text:
        return None
    if scanner.quote:
        quote = scanner.quote
        if not suffix.lstrip(" \t").startswith(quote):
            return None
        i = 0
        while i < len(text):
            if text[i] == "\\":
                i += 2
            elif text.startswith(quote, i):
                return i
            else:
                i += 1
        return None
    if head not in CLOSERS or scanner.block_comment:
        return None
    depth = scanner.depth
    scanner.low = depth
    dipped = scanner.feed(text, floor=depth)
    return dipped if dipped >= 0 and text[dipped] == head else None


def _plain_overlap_ok(overlap: str, kept: str, after: str) -> bool:
    """Whether a bracket-free overlap with the suffix (":", ";", " else 0") is a duplicate."""
    if kept[-1:].isalnum() and overlap[0].isalnum():
        return False  # the overlap is the end of a longer word of the completion
    if overlap[-1].isalnum() and after[:1].isalnum():
        return False  # ... or the start of a longer word of the suffix
    return len(overlap.strip()) >= 3 or not any(c.isalnum() for c in overlap)


def trim_suffix_overlap(text: str, prefix: str, suffix: str, brace: bool) -> str:
    """``text`` (inserted between ``prefix`` and ``suffix``) without an ending that duplicates the suffix.

    An overlap with brackets or quotes is dropped only when that restores the
    bracket/string structure of ``prefix + suffix``: ``a, b)`` before ``)`` loses its
    ``)``, ``foo(x)`` inside ``print(|)`` keeps it.
    """
    if not suffix.strip() or not text:
        return text
    baseline = bracket_signature(prefix + suffix, brace)
    current: tuple[str, int, str, bool] | None = None
    for k in range(min(len(suffix), len(text)), 0, -1):
        overlap = suffix[:k]
        if not overlap.strip() or not text.endswith(overlap):
            continue
        kept = text[:-k]
        if any(c in _STRUCTURAL for c in overlap):
            current = current or bracket_signature(prefix + text + suffix, brace)
            if current != baseline and bracket_signature(prefix + kept + suffix, brace) == baseline:
                return kept.rstrip()
        elif _plain_overlap_ok(overlap, kept, suffix[k:]):
            return kept.rstrip()
    return text
