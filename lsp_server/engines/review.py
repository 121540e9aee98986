"""The review engine: units -> cached or model-reviewed, anchored, validated findings.

Shared by the editor and the CI review; it knows nothing about LSP. ``plan`` is
synchronous (take it before any ``await``); ``run`` reviews a plan's units
concurrently under the engine's own limit (``review.concurrency``, separate from
completions), one chat request per unit not in the cache, with vLLM structured
output. An answer is parsed tolerantly, anchored to the unit's lines, its fixes
checked against the unit and trial-parsed; whatever is bad is dropped and the rest
kept and cached. A failing unit (model down, timeout, or an answer with no findings
JSON in it) is reported as that unit's error and never cached: "the model did not
say" is not "no findings". Units with the same cache key (identical code in two
places) share one request: while one is in flight the others wait for its answer,
so a cold run and a warm run give the same findings.
With ``review.performance`` on, the prompt also asks for performance problems (rules
``performance-...``), shown at that setting's severity; when it is off they are dropped.
Cancelling ``run`` cancels its in-flight requests (closing their HTTP connections).
The limit is a ``CapacityLimiter`` the caller may own and share: the editor keeps one
across settings changes (resized in place), so the units of an engine replaced
mid-review and those of its successor count against the same limit.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import anyio

from lsp_server.cache import FindingsCache
from lsp_server.config import Settings
from lsp_server.core.findings import Finding, Severity, sort_findings
from lsp_server.core.secrets import SecretFilter
from lsp_server.core.text import TextBuffer
from lsp_server.engines.figure_review import SECTION_KIND, FigurePlanner
from lsp_server.engines.fixes import fix_adds_errors
from lsp_server.engines.review_anchor import Anchored, anchor_all
from lsp_server.engines.review_plan import (
    ReviewPlan,
    UnitPlan,
    fingerprint_of,
    finish_plan,
    plan_review,
    plan_units,
    skip_reason,
)
from lsp_server.engines.review_tools import ToolBudget, ToolExecutor, ToolsUnsupported, review_with_tools
from lsp_server.model.backends.base import Backend
from lsp_server.model.client import ChatOptions, ModelError
from lsp_server.model.findings import parse_findings, response_format
from lsp_server.model.health import ModelHealth, context_overflow, request_failure
from lsp_server.model.review_prompts import review_system_prompt
from lsp_server.model.tokens import estimate_tokens
from lsp_server.syntax.budget import Deadline, SyntaxBudget
from lsp_server.syntax.context import RelatedLookup
from lsp_server.syntax.document import SyntaxDocument, settle
from lsp_server.syntax.languages import LanguageRegistry

log = logging.getLogger(__name__)
PLAN_SLICE_S = 0.005  # planning work between two turns of the event loop (editor path)


@dataclass
class ReviewStats:
    """Counters for the status command, the CI summary and the benchmark."""

    units: int = 0
    cached: int = 0
    model_calls: int = 0
    findings: int = 0
    dropped_findings: int = 0
    dropped_fixes: int = 0
    errors: int = 0
    last_error: str = ""
    tool_calls: int = 0
    tool_reviews: int = 0  # reviews that offered tools


@dataclass(frozen=True)
class UnitOutcome:
    """One unit's findings (at the plan's rows), or why it has none."""

    plan: UnitPlan
    findings: tuple[Finding, ...]
    cached: bool = False
    error: str = ""
    model_error: bool = False  # the model server failed (down, timeout, 5xx), not just this request
    unreachable: bool = False  # ... and it was not reachable at all (connection refused, no such host)


@dataclass(frozen=True)
class _Answer:
    """What one request made of a unit: anchored findings, or why there are none."""

    anchored: tuple[Anchored, ...] = ()
    error: str = ""
    model_error: bool = False
    unreachable: bool = False


@dataclass(frozen=True)
class ReviewResult:
    """A file's review: findings in file order, against the plan's version."""

    path: str
    version: int | None
    findings: tuple[Finding, ...]
    units: int = 0
    cached: int = 0
    errors: tuple[str, ...] = field(default_factory=tuple)
    skipped: str = ""


class ReviewEngine:
    """Reviews files unit by unit; one instance per settings."""

    def __init__(
        self,
        settings: Settings,
        client: Backend,
        health: ModelHealth,
        cache: FindingsCache,
        *,
        registry: LanguageRegistry | None = None,
        related: RelatedLookup | None = None,
        tools_for: Callable[[str], ToolExecutor | None] | None = None,
        tool_schemas: tuple[dict[str, Any], ...] = (),
        limit: anyio.CapacityLimiter | None = None,
        figures: FigurePlanner | None = None,
    ) -> None:
        self.settings = settings
        self.figures = figures  # Markdown/reStructuredText sections checked against their images
        self.related = related  # definitions from other files (the workspace index), if any
        self.tools_for = tools_for if settings.review_tools and settings.review_tool_calls > 0 else None
        self._tool_schemas = tool_schemas
        self.cache = cache
        self.stats = ReviewStats()
        self._client = client
        self._health = health
        self._registry = registry or LanguageRegistry()
        self._secrets = SecretFilter(settings.secret_globs)
        # model requests at once; a shared limiter outlives this engine (``Services`` resizes it)
        self._limit = limit if limit is not None else anyio.CapacityLimiter(settings.review_concurrency)
        self._structured = True  # False once the server rejected response_format
        self._system_prompt = review_system_prompt(settings.review_performance != "off")
        self._inflight: dict[str, asyncio.Future[_Answer]] = {}  # cache key -> the answer being fetched
        self.fingerprint = fingerprint_of(
            settings.model, settings.review_max_tokens, settings.review_temperature, self._system_prompt
        )
        self._tools_fingerprint = fingerprint_of(
            settings.model, settings.review_max_tokens, settings.review_temperature, self._system_prompt,
            tools=(settings.review_tool_calls, settings.review_tool_tokens),
        )

    @property
    def secrets(self) -> SecretFilter:
        return self._secrets

    @property
    def uses_index(self) -> bool:
        """Whether reviews take anything from the workspace index (tools, cross-file context)."""
        return self.tools_for is not None or (self.related is not None and self.settings.context_cross_file)

    def tools_ready(self, path: str) -> bool:
        """Whether a review of ``path`` would offer the index tools now."""
        return self.tools_for is not None and self.tools_for(path) is not None

    def fingerprint_for(self, path: str) -> str:
        """The settings part of ``path``'s cache keys: with tools or without (a review made
        before the index was ready is not what a later review with tools would give)."""
        return self._tools_fingerprint if self.tools_ready(path) else self.fingerprint

    def plan(self, syntax: SyntaxDocument, path: str, *, display_path: str | None = None,
             version: int | None = None, uri: str | None = None) -> ReviewPlan:
        """Everything the review of ``syntax`` needs, taken now (synchronous)."""
        return plan_review(syntax, path, secrets=self._secrets, fingerprint=self.fingerprint_for(path),
                           display_path=display_path, version=version, uri=uri, known=self.cache.__contains__,
                           related=self.related, system_prompt=self._system_prompt)

    def reviews_document(self, path: str, language_id: str | None = None) -> bool:
        """Whether ``path`` is a document (Markdown, reStructuredText) reviewed for its figures."""
        return self.figures is not None and self.figures.applies(path, language_id)

    def plan_text(self, path: str, text: str, *, language_id: str | None = None,
                  display_path: str | None = None, uri: str | None = None) -> ReviewPlan:
        """The plan for a file's text (no open document: a file on disk, the CI path)."""
        syntax = self._text_syntax(path, text, language_id, None)
        if syntax is None:
            return ReviewPlan(path, uri, None, "", (), skipped="secret file")
        if self.figures is not None and self.reviews_document(path, language_id):
            buffer = TextBuffer(text)
            scan = self.figures.scan(buffer.data, path, language_id)
            units = self.figures.plan_units(buffer, scan, path, display_path=display_path or path,
                                            fingerprint=self.fingerprint, known=self.cache.__contains__)
            return ReviewPlan(path, uri, None, scan.syntax, tuple(units), data=buffer.data)
        return self.plan(syntax, path, display_path=display_path, uri=uri)

    async def plan_text_async(self, path: str, text: str, *, display_path: str | None = None,
                              uri: str | None = None) -> ReviewPlan:
        """``plan_text`` for the editor's workspace review (files on disk, on the event loop): a
        document's images read in a worker thread, code planned in slices."""
        if self.figures is not None and self.reviews_document(path) and not self._secrets.is_secret_path(path):
            await self.figures.prepare_async(self.figures.scan(text.encode("utf-8", errors="surrogatepass"), path),
                                             path)  # then planning finds the images prepared
            return self.plan_text(path, text, display_path=display_path, uri=uri)
        syntax = self._text_syntax(path, text, None, SyntaxBudget())
        if syntax is None:
            return ReviewPlan(path, uri, None, "", (), skipped="secret file")
        plan = await self.plan_async(syntax, path, display_path=display_path, uri=uri)
        return plan if plan is not None else self.plan(syntax, path, display_path=display_path, uri=uri)

    def _text_syntax(self, path: str, text: str, language_id: str | None,
                     budget: SyntaxBudget | None) -> SyntaxDocument | None:
        """A document for a file's text; None for a secret file (decided before anything is parsed)."""
        if self._secrets.is_secret_path(path):
            return None
        return SyntaxDocument(text, self._registry.for_document(language_id, path), self._registry, budget=budget)

    async def plan_async(self, syntax: SyntaxDocument, path: str, *, display_path: str | None = None,
                         version: int | None = None, uri: str | None = None,
                         language_id: str | None = None) -> ReviewPlan | None:
        """``plan`` in slices of about ``PLAN_SLICE_S`` (the parse and outline caught up
        first, also in slices) with the event loop served in between; None if the
        document changed meanwhile. A document (by ``language_id``, else extension) gets its
        figure units."""
        if self.figures is not None and syntax.spec is None and self.reviews_document(path, language_id) \
                and not self._secrets.is_secret_path(path):
            return await self._plan_figures(syntax, path, display_path=display_path, version=version, uri=uri,
                                            language_id=language_id)
        await settle(syntax)
        skipped = skip_reason(syntax, path, self._secrets)
        units: list[tuple[Any, ...]] = []  # raw tuples: a view per unit would be tracked (see UnitPlan)
        if not skipped:
            data = syntax.buffer.data
            pause = Deadline(PLAN_SLICE_S)
            for unit in plan_units(syntax, secrets=self._secrets, fingerprint=self.fingerprint_for(path),
                                   display_path=display_path or path, known=self.cache.__contains__,
                                   related=self.related, source_path=path, system_prompt=self._system_prompt):
                if unit is not None:
                    units.append(unit.raw)
                if pause.expired():
                    await asyncio.sleep(0)
                    if syntax.buffer.data is not data:
                        return None
                    pause = Deadline(PLAN_SLICE_S)
        return finish_plan(syntax, path, units, version=version, uri=uri, skipped=skipped)

    async def _plan_figures(self, syntax: SyntaxDocument, path: str, *, display_path: str | None,
                            version: int | None, uri: str | None, language_id: str | None) -> ReviewPlan | None:
        """A document's figure units: its images prepared off the event loop, then planned."""
        assert self.figures is not None
        buffer = syntax.buffer
        data = buffer.data
        scan = self.figures.scan(data, path, language_id)
        await self.figures.prepare_async(scan, path)
        if syntax.buffer.data is not data:
            return None
        units = self.figures.plan_units(buffer, scan, path, display_path=display_path or path,
                                        fingerprint=self.fingerprint, known=self.cache.__contains__)
        return ReviewPlan(path, uri, version, scan.syntax, tuple(units), data=data)

    async def review_text(self, path: str, text: str, *, language_id: str | None = None,
                          display_path: str | None = None) -> ReviewResult:
        """Review a file's text (the CI path: no open document)."""
        return await self.run(self.plan_text(path, text, language_id=language_id, display_path=display_path))

    async def run(self, plan: ReviewPlan, on_unit: Callable[[UnitOutcome], None] | None = None) -> ReviewResult:
        """Review every unit of ``plan``; ``on_unit`` sees each outcome as it lands."""
        if not plan.units:
            return ReviewResult(plan.path, plan.version, (), skipped=plan.skipped)
        outcomes: list[UnitOutcome] = []

        async def one(unit: UnitPlan) -> None:
            try:
                outcome = await self._unit(plan, unit)
            except Exception as exc:  # noqa: BLE001 - one broken unit must not end the review
                log.exception("review of %s %s failed", plan.path, unit.unit.label)
                outcome = UnitOutcome(unit, (), error=f"internal error: {type(exc).__name__}")
            outcomes.append(outcome)
            if on_unit is not None:
                on_unit(outcome)

        # Cached units finish without awaiting anything, so their outcomes land first.
        await asyncio.gather(*(one(unit) for unit in plan.units))
        findings = sort_findings([f for outcome in outcomes for f in outcome.findings])
        return ReviewResult(
            plan.path, plan.version, tuple(findings), units=len(plan.units),
            cached=sum(o.cached for o in outcomes), errors=tuple(o.error for o in outcomes if o.error),
        )

    # -- one unit -----------------------------------------------------------------------
    async def _unit(self, plan: ReviewPlan, unit: UnitPlan) -> UnitOutcome:
        self.stats.units += 1
        stored = self.cache.get(unit.key)
        if isinstance(stored, list):
            try:
                anchored = [Anchored.from_json(item) for item in stored]
            except (KeyError, TypeError, ValueError, IndexError):
                anchored = None
            if anchored is not None:
                self.stats.cached += 1
                return UnitOutcome(unit, self._materialize(plan, unit, anchored), cached=True)
        if not unit.has_messages:  # planned as cached, but the entry is gone (the cache was cleared)
            return UnitOutcome(unit, (), error="the cached review went away; review the file again")
        if self._health.should_skip():
            return UnitOutcome(unit, (), error=f"the model server is unavailable ({self._health.reason})",
                               model_error=True, unreachable=True)
        answer, shared = await self._shared_answer(plan, unit)
        if shared:
            self.stats.cached += 1
        if answer.error:
            return UnitOutcome(unit, (), cached=shared, error=answer.error, model_error=answer.model_error,
                               unreachable=answer.unreachable)
        findings = self._materialize(plan, unit, list(answer.anchored))
        self.stats.findings += len(findings)
        return UnitOutcome(unit, findings, cached=shared)

    async def _shared_answer(self, plan: ReviewPlan, unit: UnitPlan) -> tuple[_Answer, bool]:
        """The answer for ``unit``'s key: this unit's own request, or (True) the one already in flight."""
        while (pending := self._inflight.get(unit.key)) is not None:
            try:
                return await asyncio.shield(pending), True
            except asyncio.CancelledError:
                task = asyncio.current_task()
                if not pending.cancelled() or (task is not None and task.cancelling()):
                    raise  # this unit was cancelled, not the one it waited for
        future: asyncio.Future[_Answer] = asyncio.get_running_loop().create_future()
        self._inflight[unit.key] = future
        try:
            answer = await self._answer(plan, unit)
        except BaseException:
            future.cancel()  # the waiting units ask for themselves
            raise
        finally:
            del self._inflight[unit.key]
        future.set_result(answer)
        return answer, False

    async def _answer(self, plan: ReviewPlan, unit: UnitPlan) -> _Answer:
        try:
            async with self._limit:
                raw = await self._ask(unit, plan.path)
        except ModelError as exc:
            if unit.unit.kind == SECTION_KIND and exc.status == 400 and self.figures is not None \
                    and self.figures.refusal(exc.message):
                return _Answer()  # the server takes no (or fewer) images: skipped (not cached), not failed
            self.stats.errors += 1
            self.stats.last_error = exc.message
            self._health.failed(exc, timeouts=False)  # a slow review is not an outage for completions
            log.warning("review of %s %s failed: %s", plan.path, unit.unit.label, exc.message)
            # a request refused for itself (a 400 "too long") is this unit's failure, not the server's
            return _Answer(error=exc.message, model_error=not request_failure(exc),
                           unreachable=exc.kind == "unreachable")
        parsed = parse_findings(raw)
        for problem in parsed.problems:
            log.debug("review answer for %s %s: %s", plan.path, unit.unit.label, problem)
        if parsed.failure:  # never cached: the next review asks again
            self.stats.errors += 1
            self.stats.last_error = parsed.failure
            log.warning("review of %s %s failed: %s", plan.path, unit.unit.label, parsed.failure)
            return _Answer(error=parsed.failure)
        shown = self._secrets.mask_mapped(unit.lines, plan.path)  # the lines as the model saw them
        report = anchor_all(parsed.findings, unit.rows, unit.lines, shown)
        for reason in report.dropped + report.dropped_fixes:
            log.debug("review of %s %s: dropped %s", plan.path, unit.unit.label, reason)
        self.stats.dropped_findings += len(report.dropped) + parsed.dropped
        self.stats.dropped_fixes += len(report.dropped_fixes) + parsed.dropped_fixes
        self.cache.put(unit.key, [self._cacheable(item, plan.path) for item in report.anchored], path=plan.path)
        return _Answer(tuple(report.anchored))

    async def _ask(self, unit: UnitPlan, path: str) -> str:
        settings = self.settings
        options = ChatOptions(
            max_tokens=settings.review_max_tokens,
            temperature=settings.review_temperature,
            priority=settings.review_priority if settings.priority_enabled else None,
            timeout_s=settings.review_timeout_s,
        )
        started = time.perf_counter()
        self.stats.model_calls += 1
        messages = unit.messages  # rebuilt at each read: read once
        tools = self.tools_for(path) if self.tools_for is not None and unit.unit.kind != SECTION_KIND else None
        if tools is not None:
            try:
                text = await self._ask_with_tools(messages, options, tools)
            except ToolsUnsupported as exc:
                log.warning("the model server does not do tool calls (%s): reviewing without tools", exc)
                self.tools_for = None
            except ModelError as exc:
                if not context_overflow(exc):
                    raise
                # what the tools brought in outgrew the context: this unit is reviewed without them
                log.info("review of %s %s: too long with tool results (%s); asking without tools",
                         path, unit.unit.label, exc.message)
            else:
                self._health.success((time.perf_counter() - started) * 1000)
                return text
        if self._structured:
            try:
                text = await self._client.chat(messages, options, response_format=response_format())
            except ModelError as exc:
                if exc.status != 400 or not any(w in exc.message for w in ("response_format", "json_schema")):
                    raise
                log.warning("the model server refused structured output (%s); parsing free text", exc.message)
                self._structured = False
                text = await self._client.chat(messages, options)
        else:
            text = await self._client.chat(messages, options)
        self._health.success((time.perf_counter() - started) * 1000)
        return text

    async def _ask_with_tools(self, messages: list[dict[str, Any]], options: ChatOptions,
                              tools: ToolExecutor) -> str:
        settings = self.settings
        self.stats.tool_reviews += 1
        loop = await review_with_tools(
            self._client, messages, options, tools, self._tool_schemas,
            ToolBudget(settings.review_tool_calls, settings.review_tool_tokens),
            response_format=response_format() if self._structured else None, count_tokens=estimate_tokens,
        )
        self.stats.tool_calls += loop.calls
        self.stats.model_calls += loop.requests - 1
        return loop.text

    def _cacheable(self, item: Anchored, path: str) -> dict[str, Any]:
        """``item`` as stored: the cache masks every string, so a fix the mask would
        change (it holds something secret-like) is stored without its fix."""
        data = item.to_json()
        if item.fix is not None and self.cache.masked(item.fix[2], path) != item.fix[2]:
            data["f"] = None
        return data

    def _materialize(self, plan: ReviewPlan, unit: UnitPlan, anchored: list[Anchored]) -> tuple[Finding, ...]:
        """Findings at the plan's rows, with fixes that no longer parse removed."""
        out: list[Finding] = []
        performance = self.settings.review_performance
        for item in anchored:
            finding = item.finding(plan.path, unit.rows, unit.lines, unit.unit.label)
            if finding.rule.startswith("performance"):  # the optional category, at its own level
                if performance == "off":
                    continue
                finding = dataclasses.replace(finding, severity=Severity.parse(performance))
            if finding.fix is not None and plan.parse is not None and plan.tree is not None:
                if fix_adds_errors(plan.parse, plan.tree, plan.buffer, finding.fix,
                                   language=plan.language):
                    log.debug("review of %s: fix at line %d dropped: it does not parse",
                              plan.path, finding.span.start_line + 1)
                    self.stats.dropped_fixes += 1
                    finding = finding.without_fix()
            out.append(finding)
        return tuple(out)
