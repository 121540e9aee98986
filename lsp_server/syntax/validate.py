"""Would a completion break the syntax? A cheap incremental trial parse.

``would_add_errors`` copies the document's tree, edits the copy as if the completion
were inserted, and reparses incrementally (about a millisecond on a large file). It
compares ERROR / MISSING nodes in the region around the cursor (the enclosing
top-level node, or the whole file when it is small) plus whatever tree-sitter reports
as structurally changed. A completion that ends by opening a block (``for x in y:``,
``if (a) {``) is legitimately partial: it is trial-parsed with a synthetic body or
closer appended, and errors at or after its end are not counted. When the region was
already broken before the insertion the answer is False: nothing can be judged.
The region is checked first; tree-sitter's changed ranges (a walk over the tree) are
only computed when that found nothing and the trial tree has an error somewhere.

In a large file, a region of at most ``REGION_PARSE_BYTES`` is judged on its own: it
and its trial text are parsed standalone (tens of microseconds, where the incremental
trial parse of the whole file costs 1-2 ms at 8,500 lines). That is only trusted when
the region parses without errors on its own (a top-level definition does); otherwise
the whole-file trial parse decides. An insertion that would reach past the region (an
unclosed string or bracket) shows up as an error in the standalone trial parse.
The document itself is never mutated.

All of it runs within a ``Deadline`` (the document's ``budget.validate_s``): the trial
parses are halted by tree-sitter's progress callback and the error comparison stops
when time is up. A check that cannot finish in time answers False (nothing judged,
the completion is kept), like a region that was broken already, and so does a cursor
deeper in the tree than ``MAX_PATH_DEPTH`` (``Tree.edit`` costs the depth at the edit).
"""

from __future__ import annotations

from types import MappingProxyType

import tree_sitter

from lsp_server.core.text import as_lf, line_starts
from lsp_server.syntax.budget import Deadline
from lsp_server.syntax.document import SyntaxDocument
from lsp_server.syntax.nodes import child_at_or_after, errors_in, node_path

SMALL_FILE_BYTES = 16 * 1024
REGION_PARSE_BYTES = 32 * 1024
_PAIRS = MappingProxyType({"(": ")", "[": "]", "{": "}"})
_BRACE_OPENERS = ("{", "(", "[", "=>")
_PY_OPENERS = (":", "(", "[", "{")


def would_add_errors(doc: SyntaxDocument, cursor_byte: int, insert_text: str,
                     deadline: Deadline | None = None) -> bool:
    """True if inserting ``insert_text`` at ``cursor_byte`` introduces syntax errors into
    a region that was error-free. Plain text, empty insertions, broken regions and checks
    that run out of time (default budget: the document's ``validate_s``): False."""
    tree = doc.tree
    if tree is None or doc.spec is None or not insert_text:
        return False
    deadline = deadline if deadline is not None else Deadline(doc.budget.validate_s)
    data = doc.buffer.data
    cursor = max(0, min(cursor_byte, len(data)))
    root = tree.root_node
    if not node_path(root, cursor).complete:
        return False  # too deep here: editing a copy of the tree alone would cost too much
    lo, hi = _region(root, cursor, len(data))
    if errors_in(root, lo, hi, limit=1):
        return False
    inserted = insert_text.encode("utf-8", errors="surrogatepass")
    opener = _ends_with_opener(insert_text, doc.spec.brace_language)
    closer = _closer(doc, cursor, as_lf(insert_text)) if opener else ""  # (a lone-CR file's text: "\n" lines)
    probe = inserted + closer.encode("utf-8")
    if len(data) > SMALL_FILE_BYTES and hi - lo <= REGION_PARSE_BYTES:
        verdict = _region_adds_errors(doc, data, lo, hi, cursor, probe, len(inserted) if opener else None,
                                      deadline)
        if verdict is not None:
            return verdict
    trial = _trial_parse(doc, tree, cursor, probe, deadline)
    if trial is None:
        return False
    edited, new_tree = trial
    new_root = new_tree.root_node
    size = len(probe)
    limit = cursor + len(inserted)

    def adds_errors(a: int, b: int) -> bool:
        return any(not (opener and start >= limit) for start, _end, _missing in errors_in(new_root, a, b))

    if adds_errors(lo, hi + size):
        return True
    if not new_root.has_error:
        return False  # nothing anywhere: the changed ranges need not be computed
    if not root.has_error and not errors_in(new_root, 0, len(data) + size, limit=1):
        return True  # a clean file now has an error no node shows: a hidden MISSING token
    for change in edited.changed_ranges(new_tree):
        if deadline.expired():
            return False
        a, b = change.start_byte, change.end_byte
        if not errors_in(root, *_to_old(a, b, cursor, size), limit=1) and adds_errors(a, b):
            return True
    return False


def _region_adds_errors(doc: SyntaxDocument, data: bytes, lo: int, hi: int, cursor: int, probe: bytes,
                        partial_end: int | None, deadline: Deadline) -> bool | None:
    """Judge the insertion on the region alone; None when the region does not parse
    cleanly on its own (or in time: then the whole file must decide). ``partial_end``:
    errors at or after this many bytes past the cursor are the legitimately open block's."""
    alone = doc.parse_bytes(data[lo:hi], deadline=deadline)
    if alone is None or alone.root_node.has_error:
        return None
    text = data[lo:cursor] + probe + data[cursor:hi]
    trial = doc.parse_bytes(text, deadline=deadline)
    if trial is None:
        return None
    limit = cursor - lo + partial_end if partial_end is not None else None
    found = errors_in(trial.root_node, 0, len(text))
    if not found:
        # the region parsed cleanly alone; an error no node shows is a hidden MISSING token
        # (``x = 1 pass``: a MISSING _newline), which only the insertion can have caused
        return trial.root_node.has_error
    return any(limit is None or start < limit for start, _end, _missing in found)


def _region(root: tree_sitter.Node, cursor: int, size: int) -> tuple[int, int]:
    """The top-level node holding the cursor (or the gap between two), or the whole file."""
    if size <= SMALL_FILE_BYTES:
        return 0, size
    child = child_at_or_after(root, max(cursor - 1, 0))
    if child is None:
        last = root.child(root.child_count - 1) if root.child_count else None
        return (last.end_byte if last is not None else 0), size
    if child.start_byte <= cursor:
        return child.start_byte, child.end_byte
    previous = child.prev_sibling
    return (previous.end_byte if previous is not None else 0), child.start_byte


def _trial_parse(
    doc: SyntaxDocument, tree: tree_sitter.Tree, cursor: int, probe: bytes, deadline: Deadline | None = None
) -> tuple[tree_sitter.Tree, tree_sitter.Tree] | None:
    """The tree with ``probe`` inserted at ``cursor``: (edited copy of ``tree``, new tree);
    None when the parse does not finish before ``deadline``."""
    data = doc.buffer.data
    row, column = doc.buffer.point_of_byte(cursor)
    breaks = line_starts(probe)  # "\n", "\r\n" or a lone "\r", as the document's rows count them
    if breaks:
        end_point = (row + len(breaks), len(probe) - breaks[-1])
    else:
        end_point = (row, column + len(probe))
    edited = tree.copy()
    edited.edit(
        start_byte=cursor, old_end_byte=cursor, new_end_byte=cursor + len(probe),
        start_point=(row, column), old_end_point=(row, column), new_end_point=end_point,
    )
    new_tree = doc.parse_bytes(data[:cursor] + probe + data[cursor:], edited, deadline)
    if new_tree is None:
        return None
    return edited, new_tree


def _to_old(start: int, end: int, cursor: int, size: int) -> tuple[int, int]:
    """Map a new-tree byte range back onto the tree before the insertion."""
    def back(offset: int) -> int:
        return offset - size if offset >= cursor + size else min(offset, cursor)
    return back(start), back(end)


def _ends_with_opener(text: str, brace: bool) -> bool:
    stripped = text.rstrip()
    return stripped.endswith(_BRACE_OPENERS if brace else _PY_OPENERS)


def _closer(doc: SyntaxDocument, cursor: int, insert_text: str) -> str:
    """Text that closes what the insertion leaves open, so the trial parse is fair."""
    spec = doc.spec
    buffer = doc.buffer
    row = buffer.row_of_byte(cursor)
    line_start = buffer.line_start(row)
    rest = buffer.slice(cursor, min(buffer.line_end(row), cursor + 4096))
    stack = _open_brackets(insert_text, spec.comment_prefix)
    closer = "".join(_PAIRS[ch] for ch in reversed(stack))
    stripped = insert_text.rstrip()
    if spec.brace_language:
        return " {}" if stripped.endswith("=>") and not stack else closer
    if stripped.endswith(":") and not stack and not rest.strip():
        last_line = (buffer.slice(max(line_start, cursor - 4096), cursor) + stripped).rsplit("\n", 1)[-1]
        indent = last_line[: len(last_line) - len(last_line.lstrip())]
        return "\n" + indent + "    pass"
    return closer


def _open_brackets(text: str, comment_prefix: str) -> list[str]:
    """Brackets left open by ``text``, skipping string literals and line comments."""
    stack: list[str] = []
    quote = ""
    index = 0
    while index < len(text):
        ch = text[index]
        if quote:
            if ch == "\\":
                index += 1
            elif ch == quote or (ch == "\n" and quote != "`"):
                quote = ""
        elif ch in "\"'`":
            quote = ch
        elif text.startswith(comment_prefix, index):
            newline = text.find("\n", index)
            index = len(text) if newline < 0 else newline
            continue
        elif ch in _PAIRS:
            stack.append(ch)
        elif ch in ")]}" and stack and _PAIRS[stack[-1]] == ch:
            stack.pop()
        index += 1
    return stack
