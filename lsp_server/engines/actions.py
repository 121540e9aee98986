"""The AI actions engine: one engine runs every action, built-in or the user's own.

``offers`` lists the actions that apply where the user points (no model call, no waiting:
the code-action list stays instant). ``perform`` runs one where the user pointed
(``Pointed``: client positions on the version the action was offered for, followed onto
the current text): it snapshots the target and the prompt before the ``await``
(``action_plan``), streams the answer, closing the stream as soon as the wanted part is
complete (``model/action_answers``), and then, against the document as it is after the
``await``, turns the answer into a result (``action_results``): validated edits confined
to the target's rows, a test file inside the workspace, or an explanation. Cancelling the task that awaits ``perform`` closes the model stream, and vLLM
aborts the generation.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from lsp_server.config import Settings
from lsp_server.config_actions import BUILTIN_ACTIONS, ActionSpec, lookup
from lsp_server.core.secrets import SecretFilter
from lsp_server.core.text import Encoding, split_lines
from lsp_server.engines.action_outcome import ActionOutcome, Job
from lsp_server.engines.action_plan import PromptTooLong, plan_messages, template_fields
from lsp_server.engines.action_results import Finisher
from lsp_server.engines.action_targets import (
    Place, Target, body_slot, digest, doc_slot, doc_style, language_of, pick_target, style_sample,
)
from lsp_server.engines.documents import DocumentStore, OpenDocument
from lsp_server.engines.fixes import lines_now
from lsp_server.engines.test_layout import TestPlace, find_test_place
from lsp_server.model.action_answers import (
    Answer, AnswerReader, block_comment_end, brace_body_end, docstring_end, line_comment_end, python_body_end,
)
from lsp_server.model.backends.base import Backend
from lsp_server.model.client import ChatOptions, ModelError
from lsp_server.model.health import ModelHealth
from lsp_server.model.tokens import TokenCounter
from lsp_server.syntax.context import RelatedLookup
from lsp_server.syntax.languages import LanguageRegistry

log = logging.getLogger(__name__)

MAX_TARGET_LINES = 2000


@dataclass(frozen=True)
class Pointed:
    """Where the user pointed: client positions (line, character in ``encoding`` units) on
    the document as it was at ``version`` (None: as it is now), e.g. when an action was offered."""

    start: tuple[int, int]
    end: tuple[int, int]
    encoding: Encoding = "utf-16"
    version: int | None = None

    def bytes_now(self, doc: OpenDocument) -> tuple[int, int]:
        """The bytes of ``doc``'s current text pointed at, start first: the rows followed
        through the edits made since ``version`` (kept when those are unknown or touched
        the rows: the target's digest then refuses a changed target), positions clamped
        as everywhere (``TextBuffer.offset_at``)."""
        (line, character), (end_line, end_character) = self.start, self.end
        if self.version is not None and self.version != doc.version:
            rows = lines_now(doc, self.version, line, end_line)
            if rows is not None:
                line, end_line = rows[0], rows[0] + end_line - line
        buffer = doc.syntax.buffer
        start = buffer.offset_at(line, character, self.encoding)
        end = buffer.offset_at(end_line, end_character, self.encoding)
        return min(start, end), max(start, end)


@dataclass(frozen=True)
class Offer:
    """An action that applies here, and what it would work on."""

    spec: ActionSpec
    title: str
    target: Target
    digest: str


@dataclass
class ActionStats:
    """Counters for the status command."""

    runs: int = 0
    model_calls: int = 0
    applied: int = 0
    refused: int = 0
    errors: int = 0
    last_refusal: str | None = None
    by_action: dict[str, int] = field(default_factory=dict)


def _title(spec: ActionSpec, target: Target) -> str:
    if target.name:
        return f"{spec.title}: {target.name}"
    if target.scope == "file":
        return f"{spec.title}: this file"
    span = f"line {target.first + 1}" if target.first == target.last else f"lines {target.first + 1}-{target.last + 1}"
    return f"{spec.title}: {span}"


class ActionEngine:
    """Lists and runs AI actions on open documents."""

    def __init__(self, settings: Settings, client: Backend, health: ModelHealth, tokens: TokenCounter,
                 documents: DocumentStore, registry: LanguageRegistry, *, related: RelatedLookup | None = None,
                 max_model_len: Callable[[], int | None] | None = None) -> None:
        self.settings = settings
        self._client = client
        self._health = health
        self._tokens = tokens
        self._documents = documents
        self._registry = registry
        self._related = related
        self._max_model_len = max_model_len or (lambda: None)
        self._secrets = SecretFilter(settings.secret_globs)
        self.stats = ActionStats()

    # -- what there is ---------------------------------------------------------------------
    def actions(self) -> tuple[ActionSpec, ...]:
        return (*BUILTIN_ACTIONS, *self.settings.actions_custom)

    def find(self, name: str) -> ActionSpec | None:
        return lookup(name, self.settings.actions_custom)

    def usable(self, doc: OpenDocument) -> str | None:
        """Why no action can run on ``doc`` (None: they can)."""
        if doc.binary:
            return "the file is binary"
        if self._secrets.is_secret_path(doc.path):
            return "the file matches secretPatterns and is never sent to the model"
        if doc.too_large:
            return "the file is larger than maxFileBytes"
        return None

    def offers(self, doc: OpenDocument, start: int, end: int, roots: list[Path]) -> list[Offer]:
        """The actions that apply at bytes ``start..end`` of ``doc``, cheapest checks only."""
        if not self.settings.actions_enabled or self.usable(doc) is not None:
            return []
        found: list[Offer] = []
        place = Place(doc, start, end)
        for spec in self.actions():
            target = self._target(place, spec, roots)
            if target is not None:
                found.append(Offer(spec, _title(spec, target), target, digest(doc, target.first, target.last)))
        return found

    def _target(self, place: Place, spec: ActionSpec, roots: list[Path]) -> Target | None:
        doc = place.doc
        target = pick_target(place, spec)
        if target is None or target.last - target.first >= MAX_TARGET_LINES:
            return None
        function = target.function
        if spec.output == "doc" and (function is None or doc_slot(doc, function) is None):
            return None
        if spec.output == "tests" and self._test_place(doc, roots) is None:
            return None
        if spec.output in ("body", "doc", "tests") and doc.syntax.tree is None:
            return None
        return target

    def _test_place(self, doc: OpenDocument, roots: list[Path]) -> TestPlace | None:
        path = Path(doc.path)
        root = _root_of(path, roots)
        return find_test_place(path, language_of(doc), root, self.settings.actions_tests_dir)

    # -- running one -------------------------------------------------------------------------
    async def perform(self, doc: OpenDocument, name: str, at: Pointed, *, roots: list[Path],
                      instruction: str | None = None, expected: str | None = None,
                      on_lines: Callable[[int], None] | None = None) -> ActionOutcome:
        """Run action ``name`` where ``at`` points (followed onto the current text);
        ``expected`` is the digest of the target's rows when the action was offered. Always
        returns an outcome (a refusal says why)."""
        self.stats.runs += 1
        spec = self.find(name)
        start, end = at.bytes_now(doc)
        outcome = await self._perform(doc, spec, name, start, end, roots, instruction, expected, on_lines)
        if spec is not None:
            self.stats.by_action[spec.name] = self.stats.by_action.get(spec.name, 0) + 1
        if outcome.refused:
            self.stats.refused += 1
            self.stats.last_refusal = outcome.refused
            log.info("action %s not done: %s", name, outcome.refused)
        else:
            self.stats.applied += 1
        return outcome

    async def _perform(self, doc: OpenDocument, spec: ActionSpec | None, name: str, start: int, end: int,
                       roots: list[Path], instruction: str | None, expected: str | None,
                       on_lines: Callable[[int], None] | None) -> ActionOutcome:
        if spec is None:
            return ActionOutcome.refusal(f"there is no action {name!r}")
        problem = self.usable(doc)
        if problem is not None:
            return ActionOutcome.refusal(problem)
        target = self._target(Place(doc, start, end), spec, roots)
        if target is None:
            return ActionOutcome.refusal(f"{spec.title.rstrip('…')} does not apply here")
        if expected is not None and digest(doc, target.first, target.last) != expected:
            return ActionOutcome.refusal("the code changed since the action was offered; nothing was done")
        if spec.asks_instruction and not (instruction or "").strip():
            return ActionOutcome.refusal(f"{spec.title} needs an instruction", needs_instruction=True)
        try:
            job = self._plan(doc, spec, target, roots, instruction)
        except PromptTooLong as exc:
            return ActionOutcome.refusal(str(exc))
        if isinstance(job, ActionOutcome):
            return job
        if self._health.should_skip():
            return ActionOutcome.refusal("the model server is unavailable")
        try:
            answer = await self._stream(job, on_lines)
        except ModelError as exc:
            self.stats.errors += 1
            self._health.failed(exc, timeouts=False)  # a slow action says little about completions
            return ActionOutcome.refusal(f"the model server failed: {exc.message}")
        if self._documents.get(doc.uri) is not doc:
            return ActionOutcome.refusal("the document was closed")
        return Finisher(self._registry, self._documents, self._secrets, roots).finish(doc, job, answer)

    def _plan(self, doc: OpenDocument, spec: ActionSpec, target: Target, roots: list[Path],
              instruction: str | None) -> Job | ActionOutcome:
        fence = f"```{doc.spec.name if doc.spec else ''}\n"
        extra: dict[str, str] = {}
        prefill, kind, end_rule, style, slot, place = "", "code", None, "", None, None
        function = target.function
        if spec.output == "explain":
            kind = "markdown"
        elif spec.output == "body" and function is not None:
            slot = body_slot(function)
            if slot is None:
                return ActionOutcome.refusal("the function's body could not be located")
            prefill = fence + slot.prefill
            python = doc.spec is not None and doc.spec.name == "python"
            end_rule = python_body_end(function.indent) if python else brace_body_end()
        elif spec.output == "doc" and function is not None:
            slot = doc_slot(doc, function)
            if slot is None:
                return ActionOutcome.refusal("this language has no documentation convention here")
            prefill = fence + slot.prefill
            extra["doc_style"] = doc_style(doc, slot.opener)
            style = style_sample(doc, function)
            end_rule = (docstring_end(slot.opener) if slot.opener in ('"""', "'''") else
                        block_comment_end() if slot.opener == "/**" else line_comment_end(slot.opener.split()[0]))
        elif spec.output == "tests":
            place = self._test_place(doc, roots)
            if place is None:
                return ActionOutcome.refusal("no test layout was found (set actions.testsDir)")
            test_doc = self._documents.get(place.path.as_uri())
            existing = test_doc.syntax.buffer.text if test_doc else (_read(place.path) if not place.same_file else "")
            extra.update(test_framework=place.framework, test_file=_shown_path(place.path, roots),
                         test_hint=place.hint + _existing_hint(existing, doc))
            prefill = fence
        elif spec.reason:
            prefill, kind = "Why:", "reason"
        else:
            prefill = fence
        fields = template_fields(doc, target, roots, instruction, extra)
        messages = plan_messages(doc, spec, target, fields, prefill=prefill, style=style, budget=self._budget(),
                                 count=self._tokens.count, secrets=self._secrets, related=self._related)
        reader = AnswerReader(kind, end=end_rule, continues=spec.output == "doc")  # type: ignore[arg-type]
        return Job(spec, target, digest(doc, target.first, target.last), doc.version, messages, reader, slot, place,
                   original=tuple(doc.syntax.buffer.line_text(row) for row in range(target.first, target.last + 1)))

    def _budget(self) -> int:
        budget = self.settings.actions_context_tokens
        limit = self._max_model_len()
        if limit:
            budget = min(budget, limit - self.settings.actions_max_tokens - 64)
        return max(budget, 256)

    async def _stream(self, job: Job, on_lines: Callable[[int], None] | None) -> Answer:
        settings = self.settings
        prefilled = job.messages[-1]["role"] == "assistant"
        options = ChatOptions(
            max_tokens=settings.actions_max_tokens,
            temperature=job.spec.temperature if job.spec.temperature is not None else settings.actions_temperature,
            prefill=prefilled,
            priority=settings.actions_priority if settings.priority_enabled else None,
            timeout_s=settings.actions_timeout_s,
        )
        reader = job.reader
        seen = 0
        self.stats.model_calls += 1
        async with self._client.stream_chat(job.messages, options) as deltas:
            async for delta in deltas:
                if reader.feed(delta):
                    log.debug("action %s: the answer is complete; closing the stream", job.spec.name)
                    break
                if on_lines is not None and reader.lines != seen:
                    seen = reader.lines
                    on_lines(seen)
        self._health.success()
        return reader.finish()


def _root_of(path: Path, roots: list[Path]) -> Path | None:
    best = None
    for root in roots:
        if (path == root or root in path.parents) and (best is None or len(root.parts) > len(best.parts)):
            best = root
    return best


def _shown_path(path: Path, roots: list[Path]) -> str:
    root = _root_of(path, roots)
    return path.relative_to(root).as_posix() if root is not None else path.name


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return ""


def _existing_hint(existing: str, doc: OpenDocument) -> str:
    if not existing.strip():
        return ""
    head = "\n".join(split_lines(existing)[:30])
    fence = doc.spec.name if doc.spec else ""
    return ("\nThe test file already exists; new tests are added at its end, so write only new test functions "
            f"(no imports it already has, no names it already uses). It begins:\n```{fence}\n{head}\n```")
