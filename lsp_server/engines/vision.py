"""The vision engine: image diagnostics, descriptions (hover) and alt text, with no LSP types.

- ``scan`` finds a document's image references (cached per text version);
- ``lint`` turns them into model-free findings: ``missing-alt-text`` (no alt, or an empty one not
  marked decorative) and ``broken-image-link`` (a local file inside the workspace that is not
  there). Cheap: no file is read, only stat'ed;
- ``describe`` asks the model what an image shows (the hover). Descriptions are cached by the
  image's content hash, the model, the prompt version and the image settings (SQLite, shared with
  the review cache file), so a second hover, in any document, makes no request;
- ``alt_text`` asks for a concise alt text given the nearby heading and paragraph, and cleans it.

Requests are interactive: the completion priority, ``vision.timeoutSeconds``. Each one's token
count is known before it is sent (``prompt_tokens``) and checked against the server's context
length. When the server refuses images (``--limit-mm-per-prompt``), its limit is learned from the
refusal and named in the error, with the flag to change it. Every text sent is secret-masked.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from lsp_server.cache import FindingsCache
from lsp_server.config import Settings
from lsp_server.core.findings import Finding, Severity, Span
from lsp_server.core.secrets import SecretFilter
from lsp_server.core.text import TextBuffer
from lsp_server.engines.documents import OpenDocument
from lsp_server.engines.image_files import Located
from lsp_server.engines.image_store import ImageStore, Prepared
from lsp_server.model.backends.base import Backend
from lsp_server.model.client import ChatOptions, ModelError
from lsp_server.model.health import ModelHealth
from lsp_server.model.images import PreparedImage
from lsp_server.model.tokens import TokenCounter
from lsp_server.model.vision_prompts import (
    ALT_PROMPT_VERSION,
    DESCRIBE_PROMPT_VERSION,
    ImageContext,
    alt_messages,
    clean_alt_text,
    describe_messages,
    prompt_tokens,
)
from lsp_server.syntax.images import ImageRef, ImageScan, ImageScanner, image_syntax, may_hold_images

log = logging.getLogger(__name__)

MISSING_ALT = "missing-alt-text"
BROKEN_LINK = "broken-image-link"
IMAGE_FLAG = "--limit-mm-per-prompt '{\"image\":10}'"
_LIMIT = re.compile(r"At most (\d+) image\(s\) may be provided")
_TEXT_ONLY = ("not a multimodal model", "text-only", "does not support image", "image input is not supported",
              "multi-modal processor not available", "no image encoder", "no vision encoder")
_PARAGRAPH_CHARS = 1200
# Image diagnostics of a document up to this size follow every change at once (a scan is a few ms);
# a larger document's follow once typing pauses, so a burst of keystrokes costs one scan.
INSTANT_BYTES = 32_000
QUIET_S = 0.4


class VisionError(Exception):
    """An image request that could not be answered, with the reason for the user."""


@dataclass(frozen=True)
class Description:
    """A hover's content: the model's description of the image, and what it cost."""

    text: str
    image: PreparedImage
    located: Located
    cached: bool
    prompt_tokens: int


@dataclass
class VisionStats:
    requests: int = 0
    cached: int = 0
    errors: int = 0
    last_prompt_tokens: int = 0


class VisionEngine:
    """Images of open documents: scanning, linting, describing, alt text."""

    def __init__(self, settings: Settings, client: Backend, health: ModelHealth, cache: FindingsCache,
                 tokens: TokenCounter, images: ImageStore, scanner: ImageScanner, secrets: SecretFilter, *,
                 context_length: Callable[[], int | None] = lambda: None) -> None:
        self.settings = settings
        self.images = images
        self.scanner = scanner
        self.stats = VisionStats()
        self.server_image_limit: int | None = None  # learned from the server's refusal
        self._refused = ""  # why the model takes no images at all, once it said so
        self._client = client
        self._health = health
        self._cache = cache
        self._tokens = tokens
        self._secrets = secrets
        self._context_length = context_length
        self._scans: dict[str, tuple[bytes, ImageScan]] = {}
        self._timers: dict[str, asyncio.TimerHandle] = {}

    @property
    def enabled(self) -> bool:
        return self.settings.vision_enabled

    def image_limit(self) -> int:
        """Images one request may carry: the setting, never above what the server allows."""
        limit = self.settings.vision_max_images
        return limit if self.server_image_limit is None else max(0, min(limit, self.server_image_limit))

    # -- scanning and diagnostics ---------------------------------------------------------
    def scan(self, uri: str, path: str, language_id: str | None, buffer: TextBuffer, tree: object = None
             ) -> ImageScan | None:
        """The document's image references (None: not a document with images, or vision off)."""
        syntax = image_syntax(language_id, path)
        if not self.enabled or syntax is None:
            return None
        data = buffer.data
        known = self._scans.get(uri)
        if known is not None and known[0] is data:
            return known[1]
        scan = self.scanner.scan(data, syntax, tree)  # type: ignore[arg-type]
        self._scans[uri] = (data, scan)
        return scan

    def for_document(self, doc: OpenDocument) -> ImageScan | None:
        """An open document's image references (its own tree for JSX)."""
        if doc.binary or doc.too_large:
            return None
        syntax = image_syntax(doc.language_id, doc.path)
        if syntax is None:
            return None
        tree = doc.syntax.tree if syntax == "jsx" and doc.spec is not None else None
        if syntax == "jsx" and tree is None:
            return None
        return self.scan(doc.uri, doc.path, doc.language_id, doc.syntax.buffer, tree)

    def wants_publish(self, doc: OpenDocument, event: str) -> bool:
        """Whether a document event may change its image diagnostics (no parse: a byte search).
        Markdown, HTML and reStructuredText: any change of a document that may hold images now or
        showed some before; code files (JSX): when opened or saved only, so typing never forces a
        reparse of their tree."""
        if not self.enabled or not self.settings.vision_diagnostics or doc.binary or doc.too_large:
            return False
        syntax = image_syntax(doc.language_id, doc.path)
        if syntax is None or (syntax == "jsx" and event not in ("opened", "saved")):
            return False
        before = self._scans.get(doc.uri)
        return may_hold_images(doc.syntax.buffer.data, syntax) or bool(before is not None and before[1].refs)

    def lint_document(self, doc: OpenDocument) -> list[Finding]:
        return self.lint(doc.path, doc.syntax.buffer, self.for_document(doc))

    def forget(self, uri: str) -> None:
        self._scans.pop(uri, None)
        timer = self._timers.pop(uri, None)
        if timer is not None:
            timer.cancel()

    def when_settled(self, doc: OpenDocument, publish: Callable[[], None]) -> None:
        """Call ``publish`` now for a small document, after a quiet moment for a large one."""
        timer = self._timers.pop(doc.uri, None)
        if timer is not None:
            timer.cancel()
        loop = asyncio.get_running_loop()
        if len(doc.syntax.buffer.data) <= INSTANT_BYTES:
            publish()
            return

        def fire() -> None:
            self._timers.pop(doc.uri, None)
            publish()

        self._timers[doc.uri] = loop.call_later(QUIET_S, fire)

    def lint(self, path: str, buffer: TextBuffer, scan: ImageScan | None) -> list[Finding]:
        """Missing alt text and broken image links (no model, no file read)."""
        if scan is None or not self.settings.vision_diagnostics:
            return []
        findings: list[Finding] = []
        reported: set[tuple[int, int]] = set()
        for ref in scan.refs:
            if ref.missing_alt:
                findings.append(_finding(path, buffer, ref.span, Severity.WARNING, MISSING_ALT,
                                         f"Image `{ref.target}` has no alt text; describe it for readers who cannot "
                                         "see it, or mark it decorative"))
            located = self.images.locate(ref.target, path)
            if located.kind == "local" and not located.exists and ref.target_span not in reported:
                reported.add(ref.target_span)
                findings.append(_finding(path, buffer, ref.target_span, Severity.WARNING, BROKEN_LINK,
                                         f"Image file not found: {located.display or ref.target}"))
        return findings

    @staticmethod
    def ref_at(scan: ImageScan | None, start: int, end: int | None = None) -> list[ImageRef]:
        """The references overlapping bytes ``start..end`` (a position when ``end`` is None)."""
        if scan is None:
            return []
        stop = start if end is None else end
        return [ref for ref in scan.refs if ref.span[0] <= stop and start <= ref.span[1]]

    # -- context ----------------------------------------------------------------------------------
    def context(self, path: str, buffer: TextBuffer, scan: ImageScan, ref: ImageRef, display: str) -> ImageContext:
        """The heading above the image and the paragraph around it (masked), for the alt-text prompt."""
        row = buffer.row_of_byte(ref.span[0])
        heading = next((h.title for h in reversed(scan.headings) if h.row <= row), "")
        first, last = _block(buffer, row)
        rows = list(range(first, last + 1))
        if first == last:  # the image stands alone: the paragraphs before and after it tell what it is for
            above = first - 1
            while above >= 0 and not buffer.line_text(above).strip():
                above -= 1
            below = last + 1
            while below < buffer.line_count and not buffer.line_text(below).strip():
                below += 1
            if above >= 0:
                start, _ = _block(buffer, above)
                rows = list(range(start, above + 1)) + [-1] + rows
            if below < buffer.line_count:
                _, stop = _block(buffer, below)
                rows = rows + [-1] + list(range(below, stop + 1))
        secrets = self._secrets
        lines = secrets.mask_lines([buffer.line_text(r) if r >= 0 else "" for r in rows], path)  # as lines of the file
        paragraph = "\n".join(lines)[-_PARAGRAPH_CHARS:]
        return ImageContext(document=secrets.mask_prose(display), target=secrets.mask(ref.target, path),
                            alt=secrets.mask_prose(ref.alt or "", path), heading=secrets.mask_prose(heading, path),
                            paragraph=paragraph)

    # -- model requests -------------------------------------------------------------------------
    async def load(self, path: str, ref: ImageRef) -> Prepared:
        """The image a reference shows, prepared (or why it cannot be sent)."""
        return await self.images.prepare(self.images.locate(ref.target, path))

    def _key(self, kind: str, version: str, image: PreparedImage, extra: Sequence[object] = ()) -> str:
        payload = json.dumps([kind, version, self.settings.model, image.sha256, asdict(self.images.image_settings),
                              self.settings.vision_max_tokens, *extra])
        return "vision:" + hashlib.sha256(payload.encode("utf-8")).hexdigest()

    async def describe(self, path: str, ref: ImageRef) -> Description:
        """What the image shows (cached by content); raises ``VisionError`` with the reason."""
        prepared = await self.load(path, ref)
        if prepared.image is None:
            raise VisionError(prepared.reason)
        image = prepared.image
        key = self._key("describe", DESCRIBE_PROMPT_VERSION, image)
        messages = describe_messages(image)
        count = self.count(messages, image)
        stored = self._cache.get(key)
        if isinstance(stored, dict) and isinstance(stored.get("text"), str):
            self.stats.cached += 1
            return Description(stored["text"], image, prepared.located, True, count)
        # masked as the cache stores it, so the first hover reads like the cached ones (an image
        # may show a credential the model then spells out)
        text = self._secrets.mask_prose((await self._ask(messages, image, count)).strip())
        if not text:
            raise VisionError("the model gave no description")
        self._cache.put(key, {"text": text})
        return Description(text, image, prepared.located, False, count)

    async def alt_text(self, path: str, ref: ImageRef, context: ImageContext) -> str:
        """A clean alt text for the image (at most ``vision.altTextMaxChars``); raises ``VisionError``."""
        prepared = await self.load(path, ref)
        if prepared.image is None:
            raise VisionError(prepared.reason)
        limit = self.settings.vision_alt_max_chars
        messages = alt_messages(prepared.image, context, limit)
        raw = await self._ask(messages, prepared.image, self.count(messages, prepared.image))
        text = clean_alt_text(raw, limit)
        if not text:
            raise VisionError("the model's answer held no usable alt text")
        return text

    def count(self, messages: list[dict[str, object]], image: PreparedImage) -> int:
        """The request's prompt tokens (exact once the tokenizer has loaded)."""
        return prompt_tokens(messages, self._tokens.count, lambda url: image.tokens)  # type: ignore[arg-type]

    async def _ask(self, messages: list[dict[str, object]], image: PreparedImage, count: int) -> str:
        settings = self.settings
        if self.image_limit() < 1:
            raise VisionError(self._refused or f"the model server does not accept images; start vLLM with {IMAGE_FLAG}")
        if self._health.should_skip():
            raise VisionError(f"the model server is unavailable ({self._health.reason})")
        context = self._context_length()
        if context is not None and count + settings.vision_max_tokens > context:
            raise VisionError(f"the request needs {count:,} prompt tokens (the image alone {image.tokens:,}) plus "
                              f"{settings.vision_max_tokens} to answer; the server's context is {context:,}")
        options = ChatOptions(max_tokens=settings.vision_max_tokens, temperature=0.15,
                              priority=settings.completion_priority if settings.priority_enabled else None,
                              timeout_s=settings.vision_timeout_s)
        self.stats.requests += 1
        self.stats.last_prompt_tokens = count
        started = time.perf_counter()
        log.info("vision request: image %dx%d (%d tokens), %d prompt tokens", *image.size, image.tokens, count)
        try:
            text = await self._client.chat(messages, options)
        except ModelError as exc:
            self.stats.errors += 1
            raise VisionError(self._explain(exc)) from None
        self._health.success((time.perf_counter() - started) * 1000)
        return text

    def _explain(self, exc: ModelError) -> str:
        """A refusal in words the user can act on; learns the server's image limit."""
        self._health.failed(exc, timeouts=False)  # an outage, not this request's own failure nor a slow one
        found = image_refusal(exc.message, self.settings.backend) if exc.status == 400 else None
        if found is None:
            return exc.message
        limit, reason = found
        self.server_image_limit = 0 if limit is None else limit
        if not self.server_image_limit:
            self._refused = reason
        log.warning("the model server refused images: %s", reason)
        return reason


def image_refusal(message: str, backend: str = "vllm") -> tuple[int | None, str] | None:
    """(the server's image limit, or None when it reads no images at all; the reason in words) when
    ``message`` is a server's refusal of images, else None. ``backend``: who refused (the words
    differ: a vLLM flag to add, or a local model without a vision encoder)."""
    limit = _LIMIT.search(message)
    if limit is not None:
        count = int(limit.group(1))
        if count == 0:
            return 0, f"the model server does not accept images; start vLLM with {IMAGE_FLAG}"
        return count, f"the model server accepts at most {count} image(s) per request"
    if any(marker in message.lower() for marker in _TEXT_ONLY):
        if backend == "transformers":
            return None, ("the local model reads no images (it has no vision encoder): load Mistral-Small-3.2 in "
                          "the Hugging Face layout for image hovers, alt text and figure checks (docs/backends.md)")
        return None, ("the served model reads no images (a text-only model); serve Mistral-Small-3.2 with its "
                      f"vision encoder and {IMAGE_FLAG}")
    return None


def _block(buffer: TextBuffer, row: int) -> tuple[int, int]:
    """The first and last rows of the run of non-blank lines around ``row``."""
    first = last = row
    while first > 0 and buffer.line_text(first - 1).strip():
        first -= 1
    while last + 1 < buffer.line_count and buffer.line_text(last + 1).strip():
        last += 1
    return first, last


def _finding(path: str, buffer: TextBuffer, span: tuple[int, int], severity: Severity, rule: str,
             message: str) -> Finding:
    start_line, start_col = buffer.point_of_byte(span[0])
    end_line, end_col = buffer.point_of_byte(span[1])
    return Finding(path, Span(start_line, start_col, end_line, end_col), severity, rule, message,
                   buffer.slice(*span))


def image_limit_of(engine: VisionEngine | None, settings: Settings) -> Callable[[], int]:
    """The image limit the figure planner uses (the engine's learned one, when there is an engine)."""
    return engine.image_limit if engine is not None else (lambda: settings.vision_max_images)


def display_path(path: str, roots: Sequence[Path]) -> str:
    """A document's path relative to its workspace folder (else its name), for prompts and hovers."""
    target = Path(path)
    for root in roots:
        try:
            return target.resolve().relative_to(root.resolve()).as_posix()
        except ValueError:
            continue
    return target.name
