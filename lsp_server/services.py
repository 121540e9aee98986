"""The engine room: settings and the objects built from them, free of LSP types.

``Services`` owns the model client, health tracker, token counter, document store,
workspace knowledge (symbol indexes), completion engine, review engine (with its SQLite findings cache), review scheduler,
AI fixer, the code actions' fixes engine, the AI actions engine and the vision engine (images:
diagnostics, hover, alt text; figure checks in review; its model calls go through the same
backend). The protocol layer holds one instance and asks it to rebuild when settings change (open
documents and shown findings survive, and so do the review
concurrency limit and the completions in flight: the new engines share them with the
old ones); the CLI's ``check`` uses the same pieces.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path

import anyio

from lsp_server.cache import FindingsCache
from lsp_server.config import Settings
from lsp_server.core.foreground import Foreground
from lsp_server.core.secrets import SecretFilter
from lsp_server.engines.actions import ActionEngine
from lsp_server.engines.completion import CompletionEngine
from lsp_server.engines.documents import DocumentStore
from lsp_server.engines.figure_review import FigurePlanner
from lsp_server.engines.fix_actions import FixActions
from lsp_server.engines.fixes_ai import AiFixer
from lsp_server.engines.image_store import ImageStore
from lsp_server.engines.review import ReviewEngine
from lsp_server.engines.review_scheduler import ReviewScheduler
from lsp_server.engines.vision import VisionEngine
from lsp_server.index.extract import warm_languages
from lsp_server.index.knowledge import WorkspaceKnowledge
from lsp_server.index.tools import TOOL_SCHEMAS
from lsp_server.model.backends import Backend, backend_key, create_backend
from lsp_server.model.client import ModelError
from lsp_server.model.health import HealthChange, ModelHealth
from lsp_server.model.tokens import TokenCounter
from lsp_server.syntax.budget import SyntaxBudget
from lsp_server.syntax.images import ImageScanner
from lsp_server.syntax.languages import LanguageRegistry

log = logging.getLogger(__name__)


class Services:
    """Everything behind the handlers, rebuilt (but for open documents) on new settings."""

    def __init__(
        self,
        settings: Settings,
        *,
        on_health: Callable[[HealthChange], None] | None = None,
        registry: LanguageRegistry | None = None,
        tokens: TokenCounter | None = None,
    ) -> None:
        self.registry = registry or LanguageRegistry()
        self.scanner = ImageScanner()  # Markdown/HTML/reStructuredText grammars, loaded on first use
        self.roots: list[Path] = []  # the workspace folders (images are read only inside them)
        self.tokens = tokens or TokenCounter()
        self.documents = DocumentStore(self.registry, max_parse_bytes=settings.max_file_bytes,
                                       budget=SyntaxBudget())
        self._on_health = on_health
        self.settings = settings
        self.health = ModelHealth(on_change=on_health)
        self.client = self._make_client(settings)
        self.foreground = Foreground()  # completion requests in flight; index building yields to them
        self.knowledge = WorkspaceKnowledge(settings, self.registry, foreground=self.foreground)
        self.completion = self._make_completion(settings)
        self.findings_cache = FindingsCache(settings.cache_dir)
        self.images, self.vision = self._make_vision(settings)
        # one limit for every review engine: those of replaced settings still finishing count too
        self.review_limit = anyio.CapacityLimiter(settings.review_concurrency)
        self.review_engine = self._make_review_engine(settings)
        self.review = ReviewScheduler(self.review_engine, self.documents, settings, index=self.knowledge)
        self.knowledge.on_ready.append(self.review.index_ready)  # redo reviews made before the index was ready
        self.fixer = AiFixer(settings, self.client, self.health)
        self.fixes = FixActions(self.documents, self.fixer)  # what code actions offer and resolve
        self.actions = self._make_actions(settings)
        self.served_models: list[str] = []
        self.completion_toggle: bool | None = None  # the user's toggle command wins over settings

    def start_warm_up(self) -> None:
        """Start-up work in a daemon thread, not in the first request that needs it: every
        grammar's queries compiled (``warm_languages``), then the tokenizer's load (its own
        thread). Both hold the GIL much of the time, so they belong to start-up, before
        documents open, not to a document's first keystroke."""
        def run() -> None:
            try:
                loaded = warm_languages(self.registry)
                log.debug("grammars loaded and queries compiled for %d languages", loaded)
            except Exception:  # noqa: BLE001 - documents compile on first use, as before
                log.exception("warming the grammars failed; they load on first use")
            self.tokens.start_loading()

        threading.Thread(target=run, name="start-up", daemon=True).start()

    def toggle_completions(self) -> bool:
        self.completion_toggle = not self.completion.enabled
        self.completion.enabled = self.completion_toggle
        return self.completion_toggle

    @staticmethod
    def _make_client(settings: Settings) -> Backend:
        return create_backend(settings)  # vLLM over HTTP, or the model in process (settings.backend)

    def backend_status(self) -> dict[str, object]:
        """The backend's own view (the in-process one: device, dtype, load time, tokens/s)."""
        describe = getattr(self.client, "describe", None)
        return describe() if callable(describe) else {"backend": self.settings.backend}

    def _make_completion(self, settings: Settings) -> CompletionEngine:
        return CompletionEngine(settings, self.client, self.health, self.tokens, related=self.knowledge.related,
                                foreground=self.foreground)

    def _make_review_engine(self, settings: Settings) -> ReviewEngine:
        figures = FigurePlanner(settings, self.images, self.scanner, SecretFilter(settings.secret_globs),
                                image_limit=lambda: self.vision.image_limit())
        return ReviewEngine(settings, self.client, self.health, self.findings_cache, registry=self.registry,
                            related=self.knowledge.related, tools_for=self.knowledge.tools_for,
                            tool_schemas=TOOL_SCHEMAS, limit=self.review_limit, figures=figures)

    def _make_vision(self, settings: Settings) -> tuple[ImageStore, VisionEngine]:
        secrets = SecretFilter(settings.secret_globs)
        images = ImageStore(settings, secrets, lambda: self.roots)
        vision = VisionEngine(settings, self.client, self.health, self.findings_cache, self.tokens, images,
                              self.scanner, secrets, context_length=lambda: self.completion.max_model_len)
        return images, vision

    def _make_actions(self, settings: Settings) -> ActionEngine:
        return ActionEngine(settings, self.client, self.health, self.tokens, self.documents, self.registry,
                            related=self.knowledge.related, max_model_len=lambda: self.completion.max_model_len)

    def clear_caches(self) -> int:
        """Forget completions and cached review findings; returns review entries removed."""
        self.completion.clear_cache()
        return self.findings_cache.clear()

    async def apply_settings(self, settings: Settings) -> bool:
        """Swap in new settings; a new endpoint/model/key gets a new client (returns True)."""
        old_client = self.client
        reconnect = backend_key(settings) != backend_key(self.settings)
        self.settings = settings
        if reconnect:
            self.client = self._make_client(settings)
            self.health = ModelHealth(on_change=self._on_health)
        old_completion = self.completion
        self.knowledge.settings = settings  # index limits apply at the next start
        self.completion = self._make_completion(settings)
        self.completion.adopt(old_completion, same_server=not reconnect)
        if self.completion_toggle is not None:
            self.completion.enabled = self.completion_toggle
        if settings.cache_dir != self.findings_cache.path_dir:
            self.findings_cache.close()
            self.findings_cache = FindingsCache(settings.cache_dir)
        self.images, self.vision = self._make_vision(settings)
        self.review_limit.total_tokens = settings.review_concurrency  # in place: held tokens stay counted
        self.review_engine = self._make_review_engine(settings)
        self.review.reconfigure(settings, self.review_engine)
        self.fixer = AiFixer(settings, self.client, self.health)
        self.fixes = FixActions(self.documents, self.fixer)  # what code actions offer and resolve
        self.actions = self._make_actions(settings)
        if reconnect:
            await old_client.aclose()
        return reconnect

    async def discover_model(self) -> None:
        """Ask ``/v1/models`` for the served model and its context length (in process: load it)."""
        try:
            models = await self.client.models()
        except ModelError as exc:
            log.warning("model server check failed: %s", exc.message)
            self.health.failure(exc.message)
            return
        self.served_models = [m.id for m in models]
        match = next((m for m in models if m.id == self.settings.model), None)
        if match is None:
            reason = (
                f"the model server does not serve {self.settings.model!r} "
                f"(it serves: {', '.join(self.served_models) or 'nothing'})"
            )
            log.warning(reason)
            self.health.failure(reason)
            return
        self.completion.max_model_len = match.max_model_len
        log.info("model %s ready (max_model_len=%s)", match.id, match.max_model_len)
        self.health.success()

    async def aclose(self) -> None:
        await self.review.aclose()
        await self.documents.aclose()
        await self.knowledge.aclose()
        self.findings_cache.close()
        await self.client.aclose()
