"""Turn the model's raw completion text into the exact text to insert at the cursor.

The model continues a prefilled assistant message, and what comes back carries
chat-model artifacts: Markdown fences and prose around the code, an echo of the
prefilled line, text duplicating what already follows the cursor, code past the
end of the block being written, runaway repetition, foreign indentation and line
endings. ``clean_completion`` removes them; ``StreamCleaner`` applies the same
rules to streamed deltas and says when to stop generating. Both drive one
line-by-line ``_LineMachine``, so a stream stops exactly where the batch cleaner
would cut. Pure stdlib: no LSP or tree-sitter types.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lsp_server.model.codescan import (
    CLOSERS,
    BracketScanner,
    drop_indent,
    indent_of,
    indent_width,
    is_preamble,
    is_trailing_prose,
    make_indent,
    trim_suffix_overlap,
)
from lsp_server.model.repetition import find_line_cycle, find_repeated_run, is_trivial_line

# C0/C1 controls except \t \n \r, Unicode line/paragraph separators, BOM, lone surrogates.
_CONTROL_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029\ufeff\ud800-\udfff]")
_CONTINUATION_RE = re.compile(r"(?:else|elif|except|finally)\b")
_TERMINATOR_RE = re.compile(r"(?:return|raise|break|continue|pass)\b")
_RESTART_WINDOW = 5  # lines after line 0 in which a re-emitted cursor line is recognised
_PARTIAL_SCAN_STEP = 128  # re-check an unfinished runaway line every this many characters
_PARTIAL_SCAN_TAIL = 640  # ... looking at its end only: five copies of an 80-character phrase fit


@dataclass(frozen=True)
class CleanContext:
    """What the cleaner knows about the cursor and the file."""

    line_prefix: str  # text of the cursor line before the cursor (what was prefilled to the model)
    line_suffix: str  # text of the cursor line after the cursor
    following_lines: tuple[str, ...]  # up to ~20 lines after the cursor line (without line endings)
    multiline: bool  # True: a multi-line completion is allowed; False: the result stays on one line
    indent_unit: str = "    "  # the file's indentation unit ("    ", "  ", "\t")
    brace_language: bool = False  # {}-block language (JS/TS/Go/Rust/Java/C/C++) vs indentation / text
    eol: str = "\n"  # the file's line ending ("\n" or "\r\n")
    max_lines: int = 40  # hard cap on lines in a multi-line completion


def _sanitize(text: str) -> str:
    return _CONTROL_RE.sub("", text)


# ---------------------------------------------------------------- the line machine


class _LineMachine:
    """Takes the model's output one complete line at a time; keeps lines and decides when to stop.

    ``lines`` are kept in the model's indentation ("model space"); ``model_base`` is
    the model's indentation of the cursor block, ``file_base`` the file's.
    """

    def __init__(self, ctx: CleanContext) -> None:
        self.ctx = ctx
        unit = ctx.indent_unit
        self.tab_w = len(unit) if unit and not unit.strip(" ") else 4
        self.p_ws = not ctx.line_prefix.strip()
        self.file_base = indent_width(indent_of(ctx.line_prefix), self.tab_w)
        self.model_base = self.file_base
        self.stop_reason: str | None = None
        self.fenced = False
        self.lines: list[str] = []
        self._following = next((s.strip() for s in ctx.following_lines if s.strip()), "")
        self._reset()

    def _reset(self) -> None:
        """Forget everything kept so far (at an opening fence, or a restarted cursor line)."""
        self.lines = []
        self._nonblank: list[int] = []
        self._started = False
        self._prose_only = True  # every non-blank line so far reads like a chat preamble
        self._restart_left = 0  # lines in which the model may still re-emit the cursor line
        self._blank_run = 0
        self._body_seen = False
        self._opener = False  # the cursor line opens an indented block ("...:")
        self._floor = 0  # bracket depth below which a closer closes the enclosing block
        self._scan = BracketScanner(self.ctx.brace_language)
        self._scan.feed(self.ctx.line_prefix, clamp=True)

    def stop(self, reason: str) -> bool:
        self.stop_reason = reason
        return True

    def is_fence(self, stripped: str) -> bool:
        return stripped.startswith("```") and not self._scan.in_multiline

    def is_closing_fence(self, stripped: str, complete: bool = True) -> bool:
        """Whether a fence line ends the code (rather than opening a block of it)."""
        if self.fenced or not self._prose_only:
            return True
        if not complete or stripped.strip("`").strip():
            return False  # may still get a language tag / has one: an opening fence
        return not any(self.lines) and self.ctx.line_prefix != ""

    def push(self, line: str) -> bool:
        """Take one complete line (no line break); True once the output should end."""
        if self.stop_reason is not None:
            return True
        stripped = line.strip()
        if self.is_fence(stripped):
            if self.is_closing_fence(stripped):
                return self.stop("fence")
            self.fenced = True
            self._reset()
            return False
        if not self._started:
            return self._first(line, stripped)
        if self._restart_left:
            self._restart_left -= 1
            if line.startswith(self.ctx.line_prefix):  # the model re-emitted the cursor line
                self._reset()
                return self._first(line, stripped)
        if not self.ctx.multiline:
            return bool(stripped) and not is_preamble(stripped) and self.stop("line-end")
        return self._next(line, stripped)

    def _first(self, line: str, stripped: str) -> bool:
        """The line that continues the cursor line."""
        multiline = self.ctx.multiline
        if not stripped:
            if self.p_ws or self.fenced:
                return False  # blank lines before the code
            self._started = True
            self.lines.append("")
            if not multiline:
                return self.stop("line-end")
            self._restart_left = _RESTART_WINDOW if len(self.ctx.line_prefix.strip()) >= 2 else 0
            self._opener = self._opens_block("")
            self._scan_first("")
            return False
        self._started = True
        text, echoed = self._strip_echo(line)
        if self.fenced and not echoed and len(self.ctx.line_prefix.strip()) >= 2:
            self._restart_left = _RESTART_WINDOW  # the fence may restate earlier lines first
        self._prose_only = is_preamble(stripped)
        self._opener = self._opens_block(text)
        dipped = self._scan_first(text)
        self._append(text)
        if self._check_repetition():
            return True
        if not multiline:
            return not self._prose_only and self.stop("line-end")
        if dipped >= 0 and self.ctx.brace_language:
            if self._closer_exists():
                self.lines[0] = text[:dipped]
            return self.stop("block-end")
        return self._check_cap()

    def _strip_echo(self, line: str) -> tuple[str, bool]:
        """Line 0 without a re-emitted prefix or doubled indentation; and whether it echoed."""
        prefix = self.ctx.line_prefix
        if self.fenced:
            self.model_base = indent_width(indent_of(line), self.tab_w)
        if self.p_ws:
            rest = line.lstrip(" \t") if self.fenced else drop_indent(line, self.file_base, self.tab_w)
            return rest, False
        core = prefix.lstrip(" \t")
        rest = line.lstrip(" \t") if self.fenced else line
        echoed = len(core.rstrip()) >= 2  # "[" then "[1, 2]": too short to tell an echo from nesting
        if echoed and line.startswith(prefix):
            rest = line[len(prefix) :]
        elif echoed and rest.startswith(core):
            rest = rest[len(core) :]
        else:
            echoed = False
        # after a prefill ending in a space the model tends to start with one more
        return (rest.lstrip(" ") if prefix.endswith(" ") else rest), echoed

    def _opens_block(self, text: str) -> bool:
        """The cursor line (its text before the cursor plus line 0) is a block header.

        Only when the cursor line had code before the cursor: on a fresh line, a header
        the model writes starts one statement of the enclosing block, and the lines after
        its body still belong to that block.
        """
        prefix = self.ctx.line_prefix
        if self.ctx.brace_language or not prefix.strip():
            return False
        return (prefix + text).rstrip().endswith(":")

    def _scan_first(self, text: str) -> int:
        scan = self._scan
        opened = scan.depth
        scan.low = opened
        dipped = scan.feed(text + "\n", floor=0)
        self._floor = max(0, min(opened, scan.low))
        return dipped

    def _next(self, line: str, stripped: str) -> bool:
        """A line after the first, in a multi-line completion."""
        if not stripped:
            self._blank_run += 1
            self.lines.append("")
            self._scan.feed("\n")
            return False
        if self._prose_only and is_preamble(stripped):
            self._append(line)  # more chat, perhaps before a fence: no block rules yet
            return False
        self._prose_only = False
        width = indent_width(indent_of(line), self.tab_w)
        if not self._scan.in_multiline and self._ends_block(stripped, width):
            return self.stop("block-end")
        self._scan.low = self._scan.depth
        dipped = self._scan.feed(line + "\n", floor=self._floor)
        closed = False
        if dipped >= 0 and self.ctx.brace_language:
            if self._closer_exists():
                return self.stop("block-end")
            closed = self._scan.depth < self._floor  # else it reopened: "} else {"
        self._append(line)
        self._blank_run = 0
        self._body_seen = self._body_seen or width > self.model_base
        if self._check_repetition():
            return True
        return self.stop("block-end") if closed else self._check_cap()

    def _ends_block(self, stripped: str, width: int) -> bool:
        """Whether this line starts past the end of the block being written."""
        base = self.model_base
        if self._blank_run and (width == 0 or width < base) and is_trailing_prose(stripped):
            return True
        if stripped == self._following and not is_trivial_line(stripped):
            return True  # the model reached the code that already follows the cursor
        if self._blank_run >= 2 and width <= base:
            return True
        if self.ctx.brace_language:
            return False
        if width < base:
            return not self._under_indented(width)
        return self._opener and self._body_seen and width <= base and not _CONTINUATION_RE.match(stripped)

    def _under_indented(self, width: int) -> bool:
        """The model wrote line 1 at column 0 under an indented cursor line: re-base, don't cut."""
        if self.fenced or not self.p_ws or width or len(self.lines) != 1 or self._blank_run:
            return False
        if _TERMINATOR_RE.match(self.lines[0].strip()):
            return False  # "return x" then column 0 is a real dedent
        header = not self.ctx.brace_language and self.lines[0].rstrip().endswith(":")
        self.model_base = -self.tab_w if header else 0
        return True

    def _closer_exists(self) -> bool:
        """Whether the file already closes the block a closer from the model would close."""
        suffix = self.ctx.line_suffix.strip()
        if suffix and suffix[0] in CLOSERS:
            return True
        expected = self.file_base if self._floor > 0 else max(0, self.file_base - self.tab_w)
        inside = False
        for raw in self.ctx.following_lines:
            text = raw.strip()
            if not text:
                continue
            width = indent_width(indent_of(raw), self.tab_w)
            if width <= expected:
                return width == expected and text[0] in CLOSERS
            inside = True  # more of the block follows; its closer is further down
        return inside

    def _append(self, text: str) -> None:
        self.lines.append(text)
        if text.strip():
            self._nonblank.append(len(self.lines) - 1)

    def _check_repetition(self) -> bool:
        cut = find_repeated_run(self.lines[-1])
        if cut is not None:
            self.lines[-1] = self.lines[-1][:cut]
            return self.stop("repetition")
        keep = find_line_cycle(self.lines, self._nonblank)
        if keep is not None:
            del self.lines[keep:]
            return self.stop("repetition")
        return False

    def _check_cap(self) -> bool:
        return len(self.lines) >= max(1, self.ctx.max_lines) and self.stop("max-lines")


# ---------------------------------------------------------------- assembling the insert text


def _reindent(line: str, delta: int, unit: str, tab_w: int) -> str:
    """A continuation line moved by ``delta`` columns, in the file's tabs-or-spaces style."""
    line = line.rstrip()
    ws = indent_of(line)
    foreign = (" " * tab_w in ws) if unit == "\t" else ("\t" in ws)
    if not line or not (delta or foreign):
        return line
    return make_indent(max(0, indent_width(ws, tab_w) + delta), unit, tab_w) + line[len(ws) :]


def _drop_following_echo(lines: list[str], following: tuple[str, ...]) -> list[str]:
    """Without trailing lines that repeat the lines already after the cursor."""
    wanted = [f.rstrip() for f in following if f.strip()]
    for start in range(1, len(lines) if wanted else 0):
        tail = [line for line in lines[start:] if line]
        if tail and tail == wanted[: len(tail)]:
            return lines[:start]
    return lines


def _assemble(machine: _LineMachine, ctx: CleanContext) -> str:
    """The insert text from the kept lines: indentation, overlaps, whitespace, line endings."""
    raw = machine.lines[: max(1, ctx.max_lines) if ctx.multiline else 1]
    if not raw:
        return ""
    delta = machine.file_base - machine.model_base
    lines = [raw[0].rstrip()] + [_reindent(line, delta, ctx.indent_unit, machine.tab_w) for line in raw[1:]]
    lines = _drop_following_echo(lines, ctx.following_lines)
    while len(lines) > 1 and not lines[-1]:
        lines.pop()
    text = "\n".join(lines)
    trimmed = trim_suffix_overlap(text, ctx.line_prefix, ctx.line_suffix, ctx.brace_language)
    glued = ctx.line_suffix[:1].isalnum() or ctx.line_suffix[:1] in ("_", '"', "'")
    if glued and trimmed == text and len(raw) == 1 and raw[0][-1:].isspace() and text.strip():
        trimmed += " "  # keep "a, " from gluing onto a suffix "b)"
    return trimmed.replace("\n", ctx.eol) if trimmed.strip() else ""


# ---------------------------------------------------------------- public API


def clean_completion(raw: str, ctx: CleanContext) -> str:
    """The text to insert at the cursor for the model's raw output ``raw``."""
    machine = _LineMachine(ctx)
    text = _sanitize(raw or "").replace("\r\n", "\n").replace("\r", "\n")
    for line in text.split("\n"):
        if machine.push(line):
            break
    return _assemble(machine, ctx)


class StreamCleaner:
    """Fed the model's streamed deltas; says when to stop the stream early.

    Work per delta is constant except when a line completes (one line's checks) or
    a fence starts; ``result()`` runs the batch cleaner once over what was fed.
    """

    def __init__(self, ctx: CleanContext) -> None:
        self._ctx = ctx
        self._machine = _LineMachine(ctx)
        self._chunks: list[str] = []
        self._partial: list[str] = []  # sanitized text of the unfinished line
        self._partial_len = 0
        self._next_scan = _PARTIAL_SCAN_STEP
        self._result: str | None = None

    @property
    def stop_reason(self) -> str | None:
        """Why the stream should stop: line-end, block-end, repetition, fence, max-lines; or None."""
        return self._machine.stop_reason

    def feed(self, delta: str) -> bool:
        """Take one streamed delta; True when generation should stop now."""
        if self._machine.stop_reason is not None:
            return True
        if not delta:
            return False
        self._chunks.append(delta)
        self._result = None
        text = _sanitize(delta)
        if "\n" in text:
            pieces = text.split("\n")
            pieces[0] = "".join(self._partial) + pieces[0]
            if any(self._push(piece) for piece in pieces[:-1]):
                return True
            self._partial, self._partial_len = [pieces[-1]], len(pieces[-1])
            self._next_scan = _PARTIAL_SCAN_STEP
        else:
            self._partial.append(text)
            self._partial_len += len(text)
        return self._check_partial("`" in text)

    def result(self) -> str:
        """The cleaned insert text for everything fed so far."""
        if self._result is None:
            self._result = clean_completion("".join(self._chunks), self._ctx)
        return self._result

    def _push(self, chunk: str) -> bool:
        chunk = chunk[:-1] if chunk.endswith("\r") else chunk
        return any(self._machine.push(part) for part in chunk.split("\r"))

    def _check_partial(self, backtick: bool) -> bool:
        """Stop inside an unfinished line: at a closing fence, or a runaway phrase."""
        long_line = self._partial_len >= self._next_scan
        if not (backtick or long_line):
            return False
        line = "".join(self._partial)
        self._partial = [line]
        machine = self._machine
        stripped = line.strip()
        if backtick and machine.is_fence(stripped) and machine.is_closing_fence(stripped, complete=False):
            return machine.stop("fence")
        if long_line:
            self._next_scan += _PARTIAL_SCAN_STEP
            if find_repeated_run(line[-_PARTIAL_SCAN_TAIL:].replace("\r", "")) is not None:
                return machine.stop("repetition")
        return False
