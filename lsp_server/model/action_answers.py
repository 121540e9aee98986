"""Reading an AI action's streamed answer: where the code (or the reason, or the Markdown) is,
and when the answer is complete, so the stream can be closed early.

An ``AnswerReader`` takes the streamed deltas. For code it keeps the lines up to the fence
that closes the code block (a fence the model opens again after a chat preamble starts the
block over), or up to where a ``LineEnd`` rule says the wanted code ends: the line that
closes the function for a body, the end of a doc comment or docstring. A ``reason`` answer
(prefilled ``Why:``) is a sentence or two, then a code block. ``reindent`` moves code to
the file's indentation and indentation style. Pure stdlib: no LSP or tree-sitter types.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from lsp_server.model.codescan import BracketScanner, indent_of, indent_width, is_preamble

Kind = Literal["code", "reason", "markdown"]
#: Given one complete line: (the text of it to keep or None to drop it, whether the code ends here).
#: A rule with ``needs_end`` waits for an end marker: an answer that ends before it is cut.
LineEnd = Callable[[str], tuple[str | None, bool]]

_CONTROL_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u2028\u2029\ufeff]")
_FENCE_RE = re.compile(r"^\s*(```+|~~~+)")
_MAX_LINES = 2000


@dataclass(frozen=True)
class Answer:
    """What an answer holds: its code (the block's lines), the reason before it, or Markdown."""

    code: str
    reason: str
    markdown: str
    complete: bool  # the block was closed (or the end rule met), not cut by max_tokens


class AnswerReader:
    """Streamed deltas in; ``feed`` says when the wanted part is complete."""

    def __init__(self, kind: Kind, *, end: LineEnd | None = None, max_lines: int = _MAX_LINES,
                 continues: bool = False) -> None:
        self.kind = kind
        self._continues = continues  # the first line continues the prefill's last line: keep it even blank
        self._end = end
        self._max_lines = max_lines
        self._partial = ""
        self._raw: list[str] = []
        self._code: list[str] = []
        self._reason: list[str] = []
        self._in_code = kind == "code"
        self._done = False
        self.lines = 0

    def feed(self, delta: str) -> bool:
        """Take one streamed delta; True once the answer has what is wanted."""
        if self._done:
            return True
        delta = _CONTROL_RE.sub("", delta.replace("\r\n", "\n").replace("\r", "\n"))
        self._raw.append(delta)
        if self.kind == "markdown":
            self.lines += delta.count("\n")
            return False
        pieces = (self._partial + delta).split("\n")
        self._partial = pieces.pop()
        for line in pieces:
            self.lines += 1
            if self._line(line):
                self._done = True
                return True
        return False

    def _line(self, line: str) -> bool:
        if _FENCE_RE.match(line):
            if not self._in_code:  # the block opens after the reason
                self._in_code = True
                return False
            if all(not text.strip() or is_preamble(text.strip()) for text in self._code):
                self._code = []  # a chat preamble, then the model opened its own block
                return False
            return True
        if not self._in_code:
            self._reason.append(line)
            return False
        if self._end is not None:
            kept, stop = self._end(line)
            if kept is not None:
                self._code.append(kept)
            if stop:
                return True
        else:
            self._code.append(line)
        return len(self._code) >= self._max_lines

    def finish(self) -> Answer:
        """The answer, once the stream ended (or was closed because it was complete)."""
        if self.kind == "markdown":
            return Answer("", "", clean_markdown("".join(self._raw)), True)
        if not self._done and self._partial:
            line, self._partial = self._partial, ""
            self._done = self._line(line)
        # the stream ended: complete unless a rule waits for an end marker (a closing brace, "*/")
        complete = self._done or not getattr(self._end, "needs_end", False)
        code = self._code
        while code and not code[-1].strip():
            code = code[:-1]
        while code and not code[0].strip() and not self._continues:
            code = code[1:]
        reason = " ".join(part.strip() for part in self._reason if part.strip())
        return Answer("\n".join(line.rstrip() for line in code), reason, "", complete)


def clean_markdown(text: str) -> str:
    """An explanation without a wrapping ```markdown fence or surrounding blank lines."""
    text = text.strip()
    match = re.fullmatch(r"```(?:markdown|md)?\n(.*)\n```", text, re.S)
    return (match.group(1) if match else text).strip()


# ---------------------------------------------------------------- where the wanted code ends


def python_body_end(def_indent: str, tab_w: int = 4) -> LineEnd:
    """A Python function's body ends at the first line indented no deeper than its ``def``."""
    limit = indent_width(def_indent, tab_w)
    started = False

    def end(line: str) -> tuple[str | None, bool]:
        nonlocal started
        if not line.strip():
            return line, False
        if started and indent_width(indent_of(line), tab_w) <= limit:
            return None, True
        started = True
        return line, False

    return end


def brace_body_end() -> LineEnd:
    """A brace function's body ends at the ``}`` that closes the function (depth 1 at the start)."""
    scanner = BracketScanner(True)
    scanner.depth = 1

    def end(line: str) -> tuple[str | None, bool]:
        dipped = scanner.feed(line + "\n", floor=1)
        if dipped < 0:
            return line, False
        before = line[:dipped]
        return (before if before.strip() else None), True

    end.needs_end = True  # type: ignore[attr-defined]
    return end


def block_comment_end() -> LineEnd:
    """A ``/** ... */`` comment (its opener already prefilled) ends with the line holding ``*/``."""

    def end(line: str) -> tuple[str | None, bool]:
        if "*/" in line:
            return line[: line.index("*/") + 2], True
        return line, False

    end.needs_end = True  # type: ignore[attr-defined]
    return end


def line_comment_end(prefix: str) -> LineEnd:
    """Comment lines (``///``, ``//``) end at the first line that is not one (the header)."""
    first = True

    def end(line: str) -> tuple[str | None, bool]:
        nonlocal first
        if first:  # the prefilled opener's own line
            first = False
            return line, False
        if not line.strip().startswith(prefix):
            return None, True
        return line, False

    return end


def docstring_end(quote: str) -> LineEnd:
    """A docstring (its opening quotes prefilled) ends with the line holding the closing quotes."""

    def end(line: str) -> tuple[str | None, bool]:
        if quote in line:
            return line[: line.index(quote) + len(quote)], True
        return line, False

    end.needs_end = True  # type: ignore[attr-defined]
    return end


# ---------------------------------------------------------------- indentation


def _model_unit(widths: list[int]) -> int:
    steps = sorted({b - a for a, b in zip(sorted(set(widths)), sorted(set(widths))[1:], strict=False) if b > a})
    return steps[0] if steps and steps[0] in (2, 3, 4, 8) else 4


def reindent(lines: list[str], base: str, unit: str, *, keep_first: bool = False) -> list[str]:
    """``lines`` moved so that the least indented sits at ``base``, each deeper level one ``unit``
    (``"\\t"`` or spaces) of the file; blank lines become empty. With ``keep_first`` the first line
    is left as it is (it continues a line of the file) and does not count for the levels."""
    body = lines[1:] if keep_first else lines
    widths = [indent_width(indent_of(line), 4) for line in body if line.strip()]
    if not widths:
        return [line.rstrip() if line.strip() else "" for line in lines]
    low = min(widths)
    step = _model_unit(widths)
    out = []
    for index, line in enumerate(lines):
        if keep_first and index == 0:
            out.append(line.rstrip())
            continue
        if not line.strip():
            out.append("")
            continue
        width = indent_width(indent_of(line), 4) - low
        levels, extra = divmod(max(0, width), step)
        out.append(base + unit * levels + " " * extra + line.strip(" \t").rstrip())
    return out
