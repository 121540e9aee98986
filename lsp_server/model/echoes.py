"""Recognise a completion that repeats text the document already has before the cursor.

Two shapes, both common in a chat model continuing a prefilled line:

* the word being typed, re-emitted: after ``return math.pi * rad`` the model answers
  ``radius ** 2`` (or ``math.pi * radius ** 2``) instead of ``ius ** 2``;
  ``strip_word_echo`` removes the repeated part;
* whole lines from above the cursor restated before the new code, typically the
  enclosing function opened again inside a fence (``def area(r):`` then the body);
  ``Restatement`` follows the answer line by line and says when such a run has
  reached the cursor, so the cleaner can drop it.

Pure string work, no LSP or tree-sitter types.
"""

from __future__ import annotations

from lsp_server.model.repetition import is_trivial_line

_WORD_EXTRA = "_$"  # identifier characters besides letters and digits ($: JavaScript, PHP)


def is_word_char(ch: str) -> bool:
    """A character of an identifier: a letter or digit (any script), ``_`` or ``$``."""
    return bool(ch) and (ch.isalnum() or ch in _WORD_EXTRA)


def word_start(text: str) -> int:
    """Index in ``text`` where the identifier it ends with begins (``len(text)`` if none)."""
    index = len(text)
    while index > 0 and is_word_char(text[index - 1]):
        index -= 1
    return index


def strip_word_echo(prefix: str, answer: str) -> str | None:
    """``answer`` without its repetition of the word the cursor is in, or None when it has none.

    ``prefix`` is the cursor line up to the cursor. The answer repeats the typed word
    when it starts with that word (or with more of the line ending in it, from a token
    boundary: ``math.pi * radius``, ``hello world"``) and goes on with more of the word
    (``rad`` -> ``radius``), or, for a word of two or more characters, repeats it whole
    (``rad`` -> ``rad ** 2``).
    Numbers are not words here: ``1`` then ``10`` may well mean ``110``.
    """
    start = word_start(prefix)
    word = prefix[start:]
    if not word or word[0].isdigit():
        return None
    offset = len(prefix) - len(prefix.lstrip(" \t"))
    # candidate starts, longest first: token boundaries (the line's first character, or one
    # after a character that is not part of a word: ``print("hello wor`` -> ``hello wor``),
    # found by the answer's first character
    head = answer[:1]
    begin = prefix.find(head, offset, start + 1) if head else -1
    while begin >= 0:
        boundary = begin in (offset, start) or not (is_word_char(prefix[begin - 1]) or head.isspace())
        if boundary and answer.startswith(prefix[begin:]):
            rest = answer[len(prefix) - begin :]
            if is_word_char(rest[:1]) or len(word) >= 2:
                return rest
        begin = prefix.find(head, begin + 1, start + 1)
    return None


class Restatement:
    """Follows the first lines of an answer while they restate the lines above the cursor.

    ``preceding`` are the document's lines before the cursor line, nearest last. Call
    ``restart`` before an answer (or a fresh start of it), then feed its lines with ``feed``; it answers "held" while they still match a run
    of the preceding lines, "done" when the run has reached the line just above the
    cursor (drop it all), and "broken" when they stopped matching (keep them).
    """

    def __init__(self, preceding: tuple[str, ...]) -> None:
        self._lines = [s.strip() for s in preceding if s.strip()]
        self._known = frozenset(self._lines)
        self._min = 1
        self._starts: list[int] = []  # where in ``_lines`` the run can have begun
        self._count = 0  # non-blank answer lines matched so far

    def restart(self, min_lines: int) -> None:
        """Forget the run so far; a run must now have ``min_lines`` lines to count."""
        self._min = max(1, min_lines)
        self._starts = []
        self._count = 0

    def could_start(self, stripped: str) -> bool:
        """Whether an answer line may begin a restatement (a non-trivial line found above)."""
        return bool(stripped) and stripped in self._known and not is_trivial_line(stripped)

    def feed(self, stripped: str) -> str:
        """One answer line, stripped; "held", "done" or "broken"."""
        if not stripped:
            return "held" if self._count else "broken"
        n = self._count
        candidates = self._starts if n else range(len(self._lines))
        starts = [s for s in candidates if s + n < len(self._lines) and self._lines[s + n] == stripped]
        if not starts:
            return "broken"
        self._starts = starts
        self._count = n + 1
        if self._count >= self._min and any(s + self._count == len(self._lines) for s in starts):
            return "done"
        return "held"
