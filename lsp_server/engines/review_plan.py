"""From a parsed file to its review requests (synchronous, no I/O).

``plan_review`` takes everything a review needs from the document before any
``await``: the units, their original lines (for anchoring), a cache key per unit,
the masked chat messages, and a snapshot of the bytes and tree (for validating
fixes later, whatever the live document does meanwhile). ``plan_units`` yields the
same unit by unit, with None at points where the caller may pause (the unit split of a
big file takes several), so the editor can plan a big file in slices between which the
event loop serves completions (``ReviewEngine.plan_async``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any, overload

import tree_sitter

from lsp_server.core.secrets import SecretFilter
from lsp_server.core.text import TextBuffer
from lsp_server.model.review_prompts import REVIEW_PROMPT_VERSION, ReviewInput, build_review_prompt
from lsp_server.syntax.context import RelatedLookup, names_defined_elsewhere
from lsp_server.syntax.document import SyntaxDocument
from lsp_server.syntax.edits import Parse, snapshot_parser
from lsp_server.syntax.units import ReviewUnit, unit_context, walk_units

MAX_UNIT_CHARS = 24_000  # about 6-8k tokens: a unit's code in one prompt, at most
MAX_RELATED_CHARS = 4_000  # definitions from other files shown with one unit, at most


class UnitPlan:
    """One unit's request: its rows and original lines, cache key and chat messages
    (no messages when the unit was already cached at planning time).

    Kept as one flat tuple of strings and numbers (``raw``) behind read-only properties:
    a big file plans tens of thousands of units, and the garbage collector stops tracking
    such a tuple the first time it looks at it. A dataclass, its ``ReviewUnit`` and its
    message list, or a tuple of tuples, would stay tracked at least into the oldest
    generation, and be visited by every full collection (which holds the event loop).
    A plan keeps the raw tuples only (``UnitPlans``), since this view is tracked too:
    planning a 3.9 MB file made 70,000 of them and set off eight full collections of
    30-55 ms.

    ``raw`` is ``(kind, name, header, key, len(rows), *rows, len(lines), *lines,
    len(messages), then per message: len(message), key, value, key, value, ...)``."""

    __slots__ = ("_data",)

    def __init__(self, unit: ReviewUnit, lines: tuple[str, ...], key: str,
                 messages: Sequence[dict[str, Any]]) -> None:
        flat: list[Any] = [unit.kind, unit.name, unit.header, key, len(unit.rows), *unit.rows, len(lines), *lines,
                           len(messages)]
        for message in messages:
            flat.append(len(message))
            for pair in message.items():
                flat.extend(pair)
        self._data = tuple(flat)

    @classmethod
    def of_raw(cls, raw: tuple[Any, ...]) -> UnitPlan:
        """The view of a ``raw`` tuple (as a plan keeps it)."""
        view = cls.__new__(cls)
        view._data = raw
        return view

    @property
    def raw(self) -> tuple[Any, ...]:
        """The plain tuple behind this view."""
        return self._data

    def _lines_at(self) -> int:
        return 5 + self._data[4]  # where len(lines) is

    def _messages_at(self) -> int:
        at = self._lines_at()
        return at + 1 + self._data[at]  # where len(messages) is

    @property
    def unit(self) -> ReviewUnit:
        kind, name, header = self._data[:3]
        return ReviewUnit(kind, name, self.rows, header)

    @property
    def rows(self) -> tuple[int, ...]:
        return self._data[5:self._lines_at()]  # type: ignore[no-any-return]

    @property
    def lines(self) -> tuple[str, ...]:
        at = self._lines_at()
        return self._data[at + 1:self._messages_at()]  # type: ignore[no-any-return]

    @property
    def key(self) -> str:
        return self._data[3]  # type: ignore[no-any-return]

    @property
    def has_messages(self) -> bool:
        """Whether the unit was planned with its messages (false when it was cached then)."""
        return bool(self._data[self._messages_at()])

    @property
    def messages(self) -> list[dict[str, Any]]:
        """The chat messages, rebuilt at each read (a new list: the caller may extend it)."""
        data = self._data
        at = self._messages_at()
        count, at = data[at], at + 1
        found: list[dict[str, Any]] = []
        for _ in range(count):
            pairs = data[at + 1 : at + 1 + 2 * data[at]]
            found.append(dict(zip(pairs[::2], pairs[1::2])))
            at += 1 + len(pairs)
        return found

    def __eq__(self, other: object) -> bool:  # the messages are not compared
        return isinstance(other, UnitPlan) and self._data[:self._messages_at()] == other._data[:other._messages_at()]

    def __hash__(self) -> int:
        return hash(self._data[:self._messages_at()])

    def __repr__(self) -> str:
        return f"UnitPlan({self.unit!r}, key={self.key[:12]!r}, {self._data[self._messages_at()]} messages)"


class UnitPlans(Sequence[UnitPlan]):
    """A plan's units: their raw tuples, handed out as ``UnitPlan`` views one at a time (a
    view lives only as long as its user keeps it; see ``UnitPlan``)."""

    __slots__ = ("_rows",)

    def __init__(self, units: Iterable[UnitPlan | tuple[Any, ...]] = ()) -> None:
        self._rows = tuple(unit.raw if isinstance(unit, UnitPlan) else unit for unit in units)

    def __len__(self) -> int:
        return len(self._rows)

    @overload
    def __getitem__(self, index: int) -> UnitPlan: ...

    @overload
    def __getitem__(self, index: slice) -> UnitPlans: ...

    def __getitem__(self, index: int | slice) -> UnitPlan | UnitPlans:
        if isinstance(index, slice):
            return UnitPlans(self._rows[index])
        return UnitPlan.of_raw(self._rows[index])

    def __iter__(self) -> Iterator[UnitPlan]:
        return map(UnitPlan.of_raw, self._rows)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, UnitPlans):
            return self._rows == other._rows
        if isinstance(other, (tuple, list)):
            return list(self) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment] - compared by content, like a tuple, but not hashed

    def __repr__(self) -> str:
        return f"UnitPlans({len(self._rows)} units)"


@dataclass(frozen=True, eq=False)
class ReviewPlan:
    """A file's review, fixed before the model is asked."""

    path: str
    uri: str | None
    version: int | None
    language: str
    units: UnitPlans  # a tuple or list of UnitPlan (or raw tuples) is turned into one (__post_init__)
    data: bytes = b""
    tree: tree_sitter.Tree | None = None
    parse: Parse | None = None
    skipped: str = ""  # why nothing is reviewed ("" when units were planned)
    # the rows the review covered, as [first, last) ranges (None: the whole file); a large
    # file's tree covers a window (``syntax.tree_window``), and findings elsewhere stand
    rows: tuple[tuple[int, int], ...] | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.units, UnitPlans):
            object.__setattr__(self, "units", UnitPlans(self.units))

    @cached_property
    def buffer(self) -> TextBuffer:
        """The snapshot's text (built on first use: only fixes need it)."""
        return TextBuffer(self.data.decode("utf-8", errors="surrogatepass"))


def unit_key(fingerprint: str, language: str, unit: ReviewUnit, lines: Sequence[str],
             related: Sequence[str] = ()) -> str:
    """The cache key: unit content (and enclosing header) + model/prompt/settings fingerprint,
    + the definitions from other files it was shown (a changed callee signature re-reviews it)."""
    parts: list[object] = [fingerprint, language, unit.kind, unit.header, list(lines)]
    if related:
        parts.append(list(related))
    payload = json.dumps(parts, ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8", errors="surrogatepass")).hexdigest()


def plan_units(
    syntax: SyntaxDocument,
    *,
    secrets: SecretFilter,
    fingerprint: str,
    display_path: str,
    system_prompt: str | None = None,
    known: Callable[[str], bool] | None = None,
    related: RelatedLookup | None = None,
    source_path: str = "",
) -> Iterator[UnitPlan | None]:
    """The unit requests of a parsed document in file order, one at a time; a None is a
    point where the caller may pause (the caller may pause after any item).

    A unit whose key ``known`` says is cached gets no messages: masking and context are
    the costly part of planning, and a cached unit never needs them. ``related`` (the
    workspace index) gives definitions from other files for the names a unit uses.
    """
    language = syntax.spec.name if syntax.spec is not None else ""
    buffer = syntax.buffer
    found: list[tuple[str, str, tuple[int, ...], str]] = []  # plain tuples: see ``UnitPlan``
    for item in walk_units(syntax):
        if item is None:
            yield None
        else:
            found.append((item.kind, item.name, item.rows, item.header))
    found.sort(key=lambda unit: unit[2][0])
    for fields in found:
        whole = ReviewUnit(*fields)
        for unit, lines in _fitted(whole, [buffer.line_text(row) for row in whole.rows]):
            blocks = _related(syntax, unit, related, source_path or display_path)
            key = unit_key(fingerprint, language, unit, lines, blocks)
            if known is not None and known(key):
                yield UnitPlan(unit, lines, key, [])
            else:
                messages = _messages(syntax, unit, lines, language, secrets, display_path, system_prompt, blocks,
                                     source_path or display_path)
                yield UnitPlan(unit, lines, key, messages)


def _related(syntax: SyntaxDocument, unit: ReviewUnit, lookup: RelatedLookup | None, path: str) -> list[str]:
    if lookup is None or syntax.spec is None or not unit.rows:
        return []
    first, last = unit.rows[0], unit.rows[-1]
    names = names_defined_elsewhere(syntax, first, last, syntax.buffer.line_start(first))
    blocks = lookup(path, names, syntax.spec.comment_prefix) if names else []
    kept: list[str] = []
    size = 0
    for block in blocks:  # about 1,000 tokens of signatures at most
        if size + len(block) > MAX_RELATED_CHARS:
            continue
        kept.append(block)
        size += len(block)
    return kept


def _fitted(unit: ReviewUnit, lines: list[str]) -> Iterator[tuple[ReviewUnit, tuple[str, ...]]]:
    """The unit, or parts of it of at most ``MAX_UNIT_CHARS``; over-long lines (minified code) and
    blank units are left out."""
    if not any(line.strip() for line in lines):
        return
    if sum(len(line) + 1 for line in lines) <= MAX_UNIT_CHARS:
        yield unit, tuple(lines)
        return
    rows: list[int] = []
    kept: list[str] = []
    size = 0
    parts: list[tuple[list[int], list[str]]] = []
    for row, line in zip(unit.rows, lines, strict=True):
        if len(line) >= MAX_UNIT_CHARS // 2:
            continue
        if size + len(line) + 1 > MAX_UNIT_CHARS:
            parts.append((rows, kept))
            rows, kept, size = [], [], 0
        rows.append(row)
        kept.append(line)
        size += len(line) + 1
    if rows:
        parts.append((rows, kept))
    for index, (part_rows, part_lines) in enumerate(parts):
        if any(line.strip() for line in part_lines):
            name = f"{unit.name} (part {index + 1}/{len(parts)})" if len(parts) > 1 else unit.name
            yield ReviewUnit(unit.kind, name, tuple(part_rows), unit.header), tuple(part_lines)


def _messages(syntax: SyntaxDocument, unit: ReviewUnit, lines: tuple[str, ...], language: str,
              secrets: SecretFilter, display_path: str, system_prompt: str | None,
              related: Sequence[str] = (), path: str = "") -> list[dict[str, Any]]:
    context = unit_context(syntax, unit)
    data = ReviewInput(
        path=display_path,
        language=language,
        kind=unit.kind,
        name=unit.name,
        lines=list(zip((row + 1 for row in unit.rows), secrets.mask_lines(lines, path), strict=True)),
        imports=[secrets.mask(line, path) for line in context.imports],
        header=secrets.mask(unit.header, path),
        signatures=[secrets.mask(line, path) for line in context.signatures],
        related=[secrets.mask(block, path) for block in related],
    )
    return build_review_prompt(data, system_prompt)


def skip_reason(syntax: SyntaxDocument, path: str, secrets: SecretFilter) -> str:
    """Why a document is not reviewed at all ("" if it is)."""
    if secrets.is_secret_path(path):
        return "secret file"
    if syntax.tree is None or syntax.spec is None:
        return "unsupported language"
    return ""


def finish_plan(syntax: SyntaxDocument, path: str, units: Sequence[UnitPlan | tuple[Any, ...]], *,
                version: int | None = None, uri: str | None = None, skipped: str = "") -> ReviewPlan:
    """Wrap planned units (views or their raw tuples) with the document's snapshot (bytes,
    tree, a parser of its own)."""
    language = syntax.spec.name if syntax.spec is not None else ""
    if skipped:
        return ReviewPlan(path, uri, version, language, (), skipped=skipped)
    return ReviewPlan(path, uri, version, language, units, data=syntax.buffer.data, tree=syntax.tree,
                      parse=snapshot_parser(syntax), rows=covered_rows(syntax))


def covered_rows(syntax: SyntaxDocument) -> tuple[tuple[int, int], ...] | None:
    """The rows a review of ``syntax`` sees, as [first, last) ranges: its tree's window and
    head (None: the whole file)."""
    window = syntax.window
    if window is None:
        return None
    buffer = syntax.buffer
    spans = [(0, window.head)] if window.head else []
    spans.append((window.start, window.end))
    return tuple((buffer.row_of_byte(a), buffer.row_of_byte(b) + (b >= len(buffer.data))) for a, b in spans)


def covers_row(rows: tuple[tuple[int, int], ...] | None, row: int) -> bool:
    """Whether a review that covered ``rows`` (``ReviewPlan.rows``) saw ``row``."""
    return rows is None or any(first <= row < last for first, last in rows)


def plan_review(
    syntax: SyntaxDocument,
    path: str,
    *,
    secrets: SecretFilter,
    fingerprint: str,
    display_path: str | None = None,
    version: int | None = None,
    uri: str | None = None,
    system_prompt: str | None = None,
    known: Callable[[str], bool] | None = None,
    related: RelatedLookup | None = None,
) -> ReviewPlan:
    """The review requests for ``syntax`` in one go (no units for secret files or plain text)."""
    skipped = skip_reason(syntax, path, secrets)
    units = [] if skipped else [unit.raw for unit in plan_units(
        syntax, secrets=secrets, fingerprint=fingerprint, display_path=display_path or path,
        system_prompt=system_prompt, known=known, related=related, source_path=path,
    ) if unit is not None]
    return finish_plan(syntax, path, units, version=version, uri=uri, skipped=skipped)


def fingerprint_of(model: str, max_tokens: int, temperature: float, system_prompt: str | None,
                   tools: tuple[int, int] | None = None) -> str:
    """What, besides a unit's content, decides its review: model, prompt version, settings,
    and whether the model may look things up (``tools``: the call and token budgets), so a
    review made without the workspace index is never taken for one made with it."""
    parts: list[object] = [REVIEW_PROMPT_VERSION, model, max_tokens, temperature, system_prompt or ""]
    if tools is not None:
        parts.append(["tools", *tools])
    return json.dumps(parts)
