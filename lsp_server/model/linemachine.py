"""The completion cleaner's line-by-line state machine (see ``cleaning.py``).

``LineMachine`` takes the model's output one complete line at a time and decides,
line by line, what to keep and when the answer is over: fences (``` or ~~~) and
chat prose, the echo of the prefilled cursor line or of the word being typed, lines
restated from above the cursor, the end of the block being written (dedent, a
closer the file already has, two blank lines, trailing prose, the code that already
follows), the end of the line when only one line is wanted, runaway repetition and
the line cap. It keeps lines in the model's own indentation; ``cleaning.py`` turns
them into the insert text. Pure stdlib: no LSP or tree-sitter types.
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
    merge_point,
)
from lsp_server.model.echoes import Restatement, strip_word_echo
from lsp_server.model.repetition import find_line_cycle, find_repeated_run, is_trivial_line

_CONTINUATION_RE = re.compile(r"(?:else|elif|except|finally)\b")
_TERMINATOR_RE = re.compile(r"(?:return|raise|break|continue|pass)\b")
_FENCES = ("```", "~~~")
PREFIX_SCAN_CHARS = 4096  # how much of the cursor line before the cursor the bracket scan reads
_RESTART_WINDOW = 5  # lines after line 0 in which a re-emitted cursor line is recognised


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
    preceding_lines: tuple[str, ...] = ()  # lines before the cursor line, nearest last (an answer may restate them)
    # where in ``line_prefix`` the bracket scan may start: past any string or comment that the
    # last PREFIX_SCAN_CHARS of a long line would start inside (the planner reads it in the tree)
    scan_from: int = 0


class LineMachine:
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
        self._mark = _FENCES[0]  # the fence that closes the code: the prefill's, or the model's own
        self.lines: list[str] = []
        self._following = next((s.strip() for s in ctx.following_lines if s.strip()), "")
        self._restatement = Restatement(ctx.preceding_lines)
        # the bracket state at the cursor, from the end of the cursor line only: a minified line
        # of 1 MB took 30 ms a completion to scan character by character (brackets opened
        # further back are not seen; the syntax-tree check still judges the result). A cut inside
        # a template string would read the rest of the line as text: ``scan_from`` is past it
        self._prefix_scan = BracketScanner(ctx.brace_language)
        prefix = ctx.line_prefix
        self._prefix_scan.feed(prefix[max(len(prefix) - PREFIX_SCAN_CHARS, ctx.scan_from):], clamp=True)
        self._reset()

    def _reset(self) -> None:
        """Forget everything kept so far (at an opening fence, or a restarted cursor line)."""
        self.lines = []
        self._held: list[str] = []  # lines that may restate the code above the cursor
        # in a fence of its own the model often restates just the line above; elsewhere take two
        self._restatement.restart(1 if self.fenced else 2)
        self._nonblank: list[int] = []
        self._started = False
        self._prose_only = True  # every non-blank line so far reads like a chat preamble
        self._restart_left = 0  # lines in which the model may still re-emit the cursor line
        self._blank_run = 0
        self._body_seen = False
        self._opener = False  # the cursor line opens an indented block ("...:")
        self._floor = 0  # bracket depth below which a closer closes the enclosing block
        self._start_depth = 0  # bracket depth at the cursor
        self._scan = self._prefix_scan.copy()

    def stop(self, reason: str) -> bool:
        self.stop_reason = reason
        return True

    def is_fence(self, stripped: str) -> bool:
        return stripped.startswith(_FENCES) and not self._scan.in_multiline

    def is_closing_fence(self, stripped: str, complete: bool = True) -> bool:
        """Whether a fence line ends the code (rather than opening a block of it).

        A bare fence before any code closes the prefilled one ("nothing to add") when
        the cursor line has code; on a blank line it opens the model's own block.
        """
        if self.fenced:
            return stripped.startswith(self._mark)
        if not self._prose_only:
            return True
        if not complete or stripped.strip(stripped[0]).strip():
            return False  # may still get a language tag / has one: an opening fence
        return not any(self.lines) and not self.p_ws

    def push(self, line: str) -> bool:
        """Take one complete line (no line break); True once the output should end."""
        if self.stop_reason is not None:
            return True
        stripped = line.strip()
        if self.is_fence(stripped):
            if self.is_closing_fence(stripped):
                return self._release() or self.stop("fence")
            if not self.fenced:  # (inside the model's fence, a fence of the other kind is content)
                self.fenced = True
                self._mark = stripped[:3]
                self._reset()
                return False
        if self._held or (not self._started and self._restatement.could_start(stripped)):
            return self._restating(line, stripped)
        return self._take(line, stripped)

    def finish(self) -> None:
        """The answer ended: lines still held as a possible restatement were new code."""
        if self.stop_reason is None:
            self._release()

    def _restating(self, line: str, stripped: str) -> bool:
        verdict = self._restatement.feed(stripped)
        if verdict == "held":
            self._held.append(line)
            return False
        if verdict == "done":  # the lines above the cursor, restated up to the cursor: drop them
            self._reset()
            return False
        return self._release() or self._take(line, stripped)

    def _release(self) -> bool:
        """Take the held lines after all: they did not restate the code above the cursor."""
        held, self._held = self._held, []
        return any(self._take(line, line.strip()) for line in held)

    def _take(self, line: str, stripped: str) -> bool:
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
        if not multiline and not self._prose_only and self.ctx.line_suffix.strip():
            cut = merge_point(text, self._scan.copy(), self.ctx.line_suffix)
            text = text if cut is None else text[:cut]  # it went on past the text after the cursor
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
        if self.fenced and prefix:  # (at column 0 of an empty line, the model's indentation is kept)
            self.model_base = indent_width(indent_of(line), self.tab_w)
        if self.p_ws:
            rest = line.lstrip(" \t") if self.fenced and prefix else drop_indent(line, self.file_base, self.tab_w)
            return rest, False
        core = prefix.lstrip(" \t")
        rest = line.lstrip(" \t") if self.fenced else line
        echoed = len(core.rstrip()) >= 2  # "[" then "[1, 2]": too short to tell an echo from nesting
        if echoed and line.startswith(prefix):
            rest = line[len(prefix) :]
        elif echoed and rest.startswith(core):
            rest = rest[len(core) :]
        else:
            unechoed = strip_word_echo(prefix, rest)  # "rad" then "radius ** 2"
            if unechoed is not None:
                return unechoed, True
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
        opened = self._start_depth = scan.depth
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
        if len(self.lines) == 1 and not self.ctx.brace_language and not self._scan.in_multiline:
            self._rebase_python(width)
        if not self._scan.in_multiline and self._ends_block(stripped, width):
            return self.stop("block-end")
        self._scan.low = self._scan.depth
        dipped = self._scan.feed(line + "\n", floor=self._floor)
        closed = False
        if dipped >= 0 and self.ctx.brace_language:
            if self._closer_exists():
                return self.stop("block-end")
            closed = self._scan.depth < self._floor  # else it reopened: "} else {"
        if self.ctx.brace_language and width < self.model_base:
            self._rebase_braces(stripped, width)
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

    def _rebase_python(self, width: int) -> None:
        """Line 1 of an indentation language shows the model's base was not the cursor line's.

        After a header (``if x:``) the body must be deeper: a body at or under the block's
        indentation means the model counted from a lower column (its header one step above
        the body). After a complete statement a deeper line cannot be code: the model's base
        is that line's. (Column 0 under a header: see ``_under_indented``.)
        """
        if not (self.p_ws or self.fenced) or not self.ctx.line_prefix or self._blank_run or not width:
            return  # (at column 0 of an empty line, line 0 keeps its own indentation: nothing to compare)
        first = self.lines[0].rstrip()
        if first.endswith(":") and width <= self.model_base:
            self.model_base = width - self.tab_w
        elif first and not first.endswith((":", "\\", ",")) and width > self.model_base \
                and self._scan.depth <= self._start_depth:
            self.model_base = width

    def _rebase_braces(self, stripped: str, width: int) -> None:
        """Brace languages: the model wrote its block from a lower column than the cursor line's.

        Seen when a closer brings the brackets back to the cursor line's level below the
        block's indentation (``if (x) {`` / ``    y;`` / ``}`` after a prefill of one tab),
        with the body one step deeper than the closer: the closer's column is the model's
        base. A body two steps deeper means only the closer is misplaced: no re-base.
        """
        if self.fenced or not self.p_ws or stripped[0] not in CLOSERS or self._scan.depth != self._start_depth:
            return
        body = [indent_width(indent_of(line), self.tab_w) for line in self.lines[1:] if line.strip()]
        if body and min(body) - width in (2, 3, 4) and min(body) <= self.model_base:
            self.model_base = width

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
