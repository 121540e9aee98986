""""Fix with AI": the model rewrites named lines, lazily, validated like every fix.

``fix_lines`` picks the lines a diagnostic's fix may touch (the whole statement
holding it). ``AiFixer.plan`` snapshots what the request needs (numbered, masked
code around the lines, the file's imports); ``AiFixer.run`` asks the model with the
assistant prefilled by an opening fence (it continues with code; the stream is closed
at the fence that ends the code, which may follow a repeat of the opening fence, so
no stop strings are sent), tidies the answer, and then, against the document as it is after the
``await``, follows the lines through the edits made meanwhile (``fixes.lines_now``),
checks that they still read the same, that nothing outside them changes (the edits
come from a diff of those lines only) and that the result parses without new syntax
errors. ``AiFixRequest`` is the action's data between the list and the resolve: the
rows, their digest and the document version they belong to.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lsp_server.config import Settings
from lsp_server.core.findings import Edit, LineFix, lines_hash
from lsp_server.core.secrets import MASK, SecretFilter
from lsp_server.engines.documents import OpenDocument
from lsp_server.core.text import split_lines
from lsp_server.engines.fixes import answer_code, checked_edits, lines_now, tidy_replacement
from lsp_server.model.backends.base import Backend
from lsp_server.model.client import ChatOptions, ModelError
from lsp_server.model.health import ModelHealth
from lsp_server.model.review_prompts import FixInput, build_fix_prompt

log = logging.getLogger(__name__)

MAX_FIX_LINES = 40
_AROUND = 30  # lines of context shown before and after the lines to rewrite
_WHY_NOT = {"changed": "the lines changed meanwhile", "parse": "the model's code does not parse",
            "nothing": "the model changed nothing"}


def fix_lines(doc: OpenDocument, first: int, last: int) -> tuple[int, int]:
    """The whole statement(s) holding rows ``first..last`` (or those rows if too big)."""
    syntax = doc.syntax
    buffer = syntax.buffer
    syntax.focus(buffer.line_start(min(first, buffer.line_count - 1)))
    tree = syntax.tree
    last = min(max(first, last), buffer.line_count - 1)
    if tree is None:
        return first, last
    start = _content_start(buffer.line_text(first), buffer.line_start(first))
    end = buffer.line_end(last)
    node = tree.root_node.descendant_for_byte_range(start, max(start, end - 1))
    while node is not None and node.parent is not None:
        row, end_row = node.start_point[0], node.end_point[0]
        whole = (node.start_byte == _content_start(buffer.line_text(row), buffer.line_start(row))
                 and node.end_byte >= buffer.line_end(end_row) - _trailing(buffer.line_text(end_row)))
        if whole and row <= first and end_row >= last:
            if end_row - row + 1 > MAX_FIX_LINES:
                break
            return row, end_row
        node = node.parent
    return first, last


def _content_start(line: str, line_start: int) -> int:
    return line_start + len(line[: len(line) - len(line.lstrip())].encode("utf-8"))


def _trailing(line: str) -> int:
    return len(line.encode("utf-8")) - len(line.rstrip(" \t;,").encode("utf-8"))


@dataclass(frozen=True)
class FixPlan:
    """A "Fix with AI" request for rows ``first..last``, fixed before the model is asked."""

    uri: str
    version: int
    first: int
    last: int
    original: tuple[str, ...]
    messages: list[dict[str, Any]]


@dataclass(frozen=True)
class FixOutcome:
    """Edits to apply (None: nothing safe to offer) and why."""

    edits: list[Edit] | None
    reason: str


class AiFixer:
    """Plans and runs model-written fixes of named lines."""

    def __init__(self, settings: Settings, client: Backend, health: ModelHealth) -> None:
        self.settings = settings
        self._client = client
        self._health = health
        self._secrets = SecretFilter(settings.secret_globs)

    @property
    def secrets(self) -> SecretFilter:
        """The secret filter (and secret file patterns) every fix obeys."""
        return self._secrets

    def plan(self, doc: OpenDocument, first: int, last: int, problem: str) -> FixPlan | None:
        """The request for rewriting rows ``first..last`` of ``doc`` (None if not allowed)."""
        buffer = doc.syntax.buffer
        if (doc.binary or doc.spec is None or self._secrets.is_secret_path(doc.path)
                or first < 0 or last < first or last >= buffer.line_count or last - first >= MAX_FIX_LINES):
            return None
        lo, hi = max(0, first - _AROUND), min(buffer.line_count - 1, last + _AROUND)
        rows = list(range(lo, hi + 1))
        shown = self._secrets.mask_lines([buffer.line_text(row) for row in rows], doc.path)
        imports = [self._secrets.mask(line, doc.path) for line in doc.syntax.outline.imports()[:40]]
        data = FixInput(
            path=Path(doc.path).name,
            language=doc.spec.name,
            lines=[(row + 1, text) for row, text in zip(rows, shown, strict=True)],
            first=first + 1,
            last=last + 1,
            problem=self._secrets.mask_prose(problem, doc.path),
            imports=[line for line in imports if line not in shown],
        )
        messages, _ = build_fix_prompt(data)
        original = tuple(buffer.line_text(row) for row in range(first, last + 1))
        return FixPlan(doc.uri, doc.version, first, last, original, messages)

    async def run(self, doc: OpenDocument, plan: FixPlan) -> FixOutcome:
        """Ask the model, then validate the answer against the document as it is now."""
        if self._health.should_skip():
            return FixOutcome(None, "the model server is unavailable")
        lines = plan.last - plan.first + 1
        options = ChatOptions(
            max_tokens=min(4096, 256 + 64 * lines),
            temperature=self.settings.review_temperature,
            prefill=True,
            priority=self.settings.completion_priority if self.settings.priority_enabled else None,
            timeout_s=self.settings.review_timeout_s,
        )
        try:
            raw = await self._answer(plan.messages, options)
        except ModelError as exc:
            self._health.failed(exc, timeouts=False)
            return FixOutcome(None, f"the model server failed: {exc.message}")
        self._health.success()
        return self.finish(doc, plan, raw)

    async def _answer(self, messages: list[dict[str, Any]], options: ChatOptions) -> str:
        """The model's answer, streamed up to the fence that closes its code (then the stream
        is closed, which makes vLLM stop generating). No stop strings: a "```" stop would cut
        an answer that repeats the prefilled opening fence down to nothing."""
        received: list[str] = []
        async with self._client.stream_chat(messages, options) as deltas:
            async for delta in deltas:
                received.append(delta)
                if "`" in delta and answer_code(split_lines("".join(received)))[1] is not None:
                    break
        return "".join(received)

    def finish(self, doc: OpenDocument, plan: FixPlan, raw: str) -> FixOutcome:
        """Turn the model's answer into validated edits (synchronous, after the await)."""
        replacement = tidy_replacement(raw, list(plan.original))
        if not replacement.strip() and any(line.strip() for line in plan.original):
            return FixOutcome(None, "the model gave no code")
        if MASK in replacement and not any(MASK in line for line in plan.original):
            return FixOutcome(None, "the answer contains a masked secret")
        rows = lines_now(doc, plan.version, plan.first, plan.last)  # the document may have moved on
        if rows is None:
            return FixOutcome(None, "the lines changed meanwhile")
        edits = checked_edits(doc, LineFix(rows[0], rows[1], replacement, "\n".join(plan.original)))
        if isinstance(edits, str):
            return FixOutcome(None, _WHY_NOT[edits])
        return FixOutcome(edits, "ok")


def lines_key(doc: OpenDocument, first: int, last: int) -> str:
    """A digest of rows ``first..last`` (to check they are unchanged at resolve time)."""
    buffer = doc.syntax.buffer
    last = min(last, buffer.line_count - 1)
    return lines_hash([buffer.line_text(row) for row in range(first, last + 1)])


@dataclass(frozen=True)
class AiFixRequest:
    """A "Fix with AI" action between the list and the resolve: rows ``first..last`` of
    the document ``uri`` at ``version``, what they read then (a digest) and the problem."""

    uri: str
    first: int
    last: int
    digest: str
    version: int | None
    problem: str

    @classmethod
    def for_lines(cls, doc: OpenDocument, first: int, last: int, problem: str) -> AiFixRequest:
        return cls(doc.uri, first, last, lines_key(doc, first, last), doc.version, problem)

    def to_data(self, kind: str) -> dict[str, Any]:
        return {"kind": kind, "uri": self.uri, "first": self.first, "last": self.last, "hash": self.digest,
                "version": self.version, "problem": self.problem}

    @classmethod
    def read(cls, data: dict[str, Any]) -> AiFixRequest | None:
        try:
            version = data.get("version")
            return cls(str(data["uri"]), int(data["first"]), int(data["last"]), str(data["hash"]),
                       int(version) if version is not None else None, str(data.get("problem", "")))
        except (KeyError, TypeError, ValueError):
            return None

    def rows_now(self, doc: OpenDocument) -> tuple[int, int] | None:
        """The rows on ``doc``'s current text, if they are still there and read the same."""
        rows = lines_now(doc, self.version, self.first, self.last)
        if rows is None or lines_key(doc, *rows) != self.digest:
            return None
        return rows
