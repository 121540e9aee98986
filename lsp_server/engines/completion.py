"""The completion engine: debounce, supersede, cache, ask the model, clean, validate.

One call to ``complete`` is one editor request, and it always returns a result (an
empty text when there is nothing to offer); it raises only ``CancelledError`` when
its own task is cancelled (``$/cancelRequest``). A newer request for the same
document supersedes an older one: the older one's model stream is closed at once
(vLLM aborts the generation) and it answers empty. Prose documents (Markdown,
reStructuredText: the editors send them for their images) get completions only when
asked for, never while typing.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from lsp_server.config import Settings
from lsp_server.core.findings import Edit, Span
from lsp_server.core.foreground import Foreground
from lsp_server.core.secrets import SecretFilter
from lsp_server.core.text import TextBuffer, split_lines
from lsp_server.engines.completion_cache import CachedCompletion, CompletionCache
from lsp_server.engines.completion_plan import CompletionPlan, plan_completion
from lsp_server.engines.documents import OpenDocument
from lsp_server.model.cleaning import StreamCleaner
from lsp_server.model.echoes import word_start
from lsp_server.model.backends.base import Backend
from lsp_server.model.client import ChatOptions, ModelError
from lsp_server.model.health import ModelHealth, context_limit, context_overflow
from lsp_server.model.tokens import TokenCounter
from lsp_server.syntax.budget import SETTLE_WAIT_S
from lsp_server.syntax.context import RelatedLookup, would_add_errors
from lsp_server.syntax.document import settle
from lsp_server.syntax.images import is_prose

log = logging.getLogger(__name__)

_MIN_BUDGET = 512
_SHRINK = 0.75  # a prompt the server found too long: the next ones get this share of the budget


@dataclass(frozen=True)
class CompletionResult:
    """Text to insert at ``cursor_byte`` (may be empty) and why."""

    text: str
    cursor_byte: int
    reason: str  # "model" | "typed-ahead" | "cached" | "empty" | "superseded" | "stale" | ...
    multiline: bool = False

    def word_edit(self, buffer: TextBuffer) -> Edit:
        """The completion as an edit of ``buffer`` that replaces the word being typed before
        the cursor with that word plus ``text`` (clients filtering items by the typed word
        keep it; ``text`` never repeats the word: the cleaner drops a model's "radius"
        after a typed "rad" down to "ius")."""
        row, column = buffer.point_of_byte(self.cursor_byte)
        line_prefix = buffer.slice(buffer.line_start(row), self.cursor_byte)
        start = word_start(line_prefix)
        word_column = len(line_prefix[:start].encode("utf-8"))
        return Edit(Span(row, word_column, row, column), line_prefix[start:] + self.text)


@dataclass
class _Ticket:
    superseded: bool = False
    task: asyncio.Task[str] | None = None


@dataclass
class CompletionStats:
    """Counters for the status command and the benchmarks."""

    requests: int = 0
    model_calls: int = 0
    cache_hits: int = 0
    superseded: int = 0
    dropped_invalid: int = 0
    errors: int = 0
    last_latency_ms: float | None = None
    reasons: dict[str, int] = field(default_factory=dict)


class CompletionEngine:
    """Turns (document, cursor) into a cleaned, validated completion."""

    def __init__(
        self,
        settings: Settings,
        client: Backend,
        health: ModelHealth,
        tokens: TokenCounter,
        *,
        clock: Callable[[], float] = time.perf_counter,
        related: RelatedLookup | None = None,
        foreground: Foreground | None = None,
    ) -> None:
        self.settings = settings
        self.foreground = foreground or Foreground()  # background work (indexing) waits while requests run
        self.related = related  # definitions from other files (the workspace index), if any
        self.enabled = settings.completion_enabled
        self._client = client
        self._health = health
        self._tokens = tokens
        self._secrets = SecretFilter(settings.secret_globs)
        self._cache = CompletionCache()
        self._tickets: dict[str, _Ticket] = {}
        self._clock = clock
        self.max_model_len: int | None = None
        self.budget_scale = 1.0  # below 1 after the server said a prompt was too long
        self.stats = CompletionStats()

    # -- public -----------------------------------------------------------------------
    def adopt(self, old: CompletionEngine, *, same_server: bool) -> None:
        """Take over from the engine of the previous settings: its requests in flight (so a
        new request supersedes them as usual) and, for the same model server, what was
        learned about its context length."""
        self._tickets = old._tickets
        if same_server:
            self.max_model_len, self.budget_scale = old.max_model_len, old.budget_scale

    def forget(self, uri: str) -> None:
        """The document closed: drop its suggestion and supersede its request."""
        self._cache.forget(uri)
        ticket = self._tickets.pop(uri, None)
        if ticket is not None:
            self._supersede(ticket)

    def clear_cache(self) -> None:
        self._cache.clear()

    async def complete(self, doc: OpenDocument, cursor_byte: int, *, invoked: bool) -> CompletionResult:
        started = self._clock()
        self.stats.requests += 1
        with self.foreground.active():
            result = await self._complete(doc, cursor_byte, invoked)
        self.stats.reasons[result.reason] = self.stats.reasons.get(result.reason, 0) + 1
        if result.text:
            self.stats.last_latency_ms = (self._clock() - started) * 1000
        return result

    # -- steps ------------------------------------------------------------------------
    async def _complete(self, doc: OpenDocument, cursor_byte: int, invoked: bool) -> CompletionResult:
        if not self.enabled and not invoked:
            return CompletionResult("", cursor_byte, "disabled")
        if not invoked and is_prose(doc.language_id, doc.path):  # served for its images: no ghost text in prose
            return CompletionResult("", cursor_byte, "prose")
        if doc.binary or self._secrets.is_secret_path(doc.path):
            return CompletionResult("", cursor_byte, "not-sent")
        ticket = self._begin(doc.uri)
        version = doc.version
        buf = doc.syntax.buffer
        row, _ = buf.point_of_byte(cursor_byte)
        line_prefix = buf.slice(buf.line_start(row), cursor_byte)
        line_suffix = buf.slice(cursor_byte, buf.line_end(row))
        rest = self._cache.typed_ahead(doc.uri, row, line_prefix, line_suffix)
        if rest is not None:
            self.stats.cache_hits += 1
            return CompletionResult(rest, cursor_byte, "typed-ahead", multiline=len(split_lines(rest)) > 1)

        if not invoked and self.settings.debounce_ms > 0:
            await asyncio.sleep(self.settings.debounce_ms / 1000)
            if ticket.superseded:
                self.stats.superseded += 1
                return CompletionResult("", cursor_byte, "superseded")
        if doc.version != version:
            return CompletionResult("", cursor_byte, "stale")
        if self._health.should_skip():
            return CompletionResult("", cursor_byte, "model-unavailable")
        doc.syntax.focus(cursor_byte)  # a large file's tree moves here if it covers other text
        if doc.syntax.parsing or not doc.syntax.outline.complete:  # a big or broken file: let it catch up a little
            await settle(doc.syntax, timeout_s=SETTLE_WAIT_S)
            if doc.version != version:
                return CompletionResult("", cursor_byte, "stale")

        plan = plan_completion(
            doc,
            cursor_byte,
            budget_tokens=self._budget(),
            count_tokens=self._tokens.count_cached,
            secrets=self._secrets,
            system_prompt=self.settings.system_prompt,
            related=self.related,
        )
        cached = self._cache.prompt(plan.prompt_key)
        if cached is not None:
            self.stats.cache_hits += 1
            return CompletionResult(cached, cursor_byte, "cached", plan.multiline)

        try:
            text = await self._run(ticket, plan)
        except ModelError as exc:
            self.stats.errors += 1
            log.warning("completion failed: %s", exc.message)
            if self._health.failed(exc):
                return CompletionResult("", cursor_byte, "model-error")
            self._fit_context(exc)  # this request's own failure: the server is fine
            return CompletionResult("", cursor_byte, "rejected")
        if text is None:
            self.stats.superseded += 1
            return CompletionResult("", cursor_byte, "superseded")
        if doc.version != plan.version:
            return CompletionResult("", cursor_byte, "stale")
        if text and would_add_errors(doc.syntax, cursor_byte, text):
            self.stats.dropped_invalid += 1
            log.debug("completion dropped: it would add syntax errors")
            text = ""
        self._cache.remember(
            doc.uri, CachedCompletion(plan.row, plan.line_prefix, plan.line_suffix, text), plan.prompt_key
        )
        return CompletionResult(text, cursor_byte, "model" if text else "empty", plan.multiline)

    def _begin(self, uri: str) -> _Ticket:
        previous = self._tickets.get(uri)
        if previous is not None:
            self._supersede(previous)
        ticket = _Ticket()
        self._tickets[uri] = ticket
        return ticket

    @staticmethod
    def _supersede(ticket: _Ticket) -> None:
        ticket.superseded = True
        if ticket.task is not None and not ticket.task.done():
            ticket.task.cancel()

    def _budget(self) -> int:
        budget = self.settings.context_tokens
        if self.max_model_len:
            budget = min(budget, self.max_model_len - self.settings.max_tokens_block - 64)
        return max(int(budget * self.budget_scale), _MIN_BUDGET)

    def _fit_context(self, error: ModelError) -> None:
        """After a "context too long" answer, send less from now on: within the context
        length the server states, and a smaller share of the budget if that was not less."""
        if not context_overflow(error):
            return
        before = self._budget()
        limit = context_limit(error)
        if limit is not None and (self.max_model_len is None or limit < self.max_model_len):
            self.max_model_len = limit
        if self._budget() >= before:  # the prompt was counted short of what the server counts
            self.budget_scale = max(self.budget_scale * _SHRINK, 0.1)
        log.info("the model server found a prompt too long: completion context is now %d tokens", self._budget())

    async def _run(self, ticket: _Ticket, plan: CompletionPlan) -> str | None:
        """Ask the model in a child task; None when superseded meanwhile (ModelError passes)."""
        if ticket.superseded:
            return None
        task = asyncio.create_task(self._generate(plan))
        ticket.task = task
        try:
            return await task
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if current is not None and current.cancelling():
                raise  # our own request was cancelled: the child was cancelled with us
            return None

    async def _generate(self, plan: CompletionPlan) -> str:
        settings = self.settings
        options = ChatOptions(
            max_tokens=settings.max_tokens_block if plan.multiline else settings.max_tokens_line,
            temperature=settings.temperature,
            prefill=bool(plan.prompt.prefill),
            priority=settings.completion_priority if settings.priority_enabled else None,
            timeout_s=settings.completion_timeout_s,
        )
        cleaner = StreamCleaner(plan.clean)
        started = self._clock()
        self.stats.model_calls += 1
        async with self._client.stream_chat(plan.prompt.messages, options) as deltas:
            async for delta in deltas:
                if cleaner.feed(delta):
                    log.debug("stream stopped early: %s", cleaner.stop_reason)
                    break
        self._health.success((self._clock() - started) * 1000)
        return cleaner.result()
