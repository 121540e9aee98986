"""Figures checked against their text: Markdown and reStructuredText review units by section.

A document's sections run from one heading to the next. A section that shows at least one
image the model may see (a local file inside the workspace, readable, not decorative) and says
something in prose becomes one review unit: its numbered lines and its images (at most
``vision.maxImagesPerRequest``, fewer when the server allows fewer) go to the model, which
answers with the review's findings JSON; a contradiction is a ``figure-text-mismatch`` finding
anchored on the quoted sentence by the review engine, like any other finding. The unit's cache
key covers the section's text, the images' content hashes, the model and the prompt version:
an image that changes re-reviews every section that shows it.

Planning reads and prepares the images (``ImageStore``): ``prepare_async`` does it in a worker
thread before the synchronous ``plan_units`` (the editor), ``plan_units`` alone reads them
itself (the CI review).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Iterator
from dataclasses import asdict
from pathlib import Path

from lsp_server.config import Settings
from lsp_server.core.secrets import SecretFilter
from lsp_server.core.text import TextBuffer
from lsp_server.engines.image_store import ImageStore, Prepared
from lsp_server.engines.vision import image_refusal
from lsp_server.engines.review_plan import MAX_UNIT_CHARS, UnitPlan
from lsp_server.model.images import PreparedImage
from lsp_server.model.vision_prompts import FIGURE_PROMPT_VERSION, figure_messages
from lsp_server.syntax.images import ImageRef, ImageScan, ImageScanner, image_syntax
from lsp_server.syntax.units import ReviewUnit

log = logging.getLogger(__name__)
SECTION_KIND = "section"
_MIN_PROSE_WORDS = 3


def sections(scan: ImageScan, line_count: int) -> list[tuple[int, int, str]]:
    """(first row, end row, heading) of each section; text before the first heading is one too."""
    starts = sorted({h.row: h.title for h in scan.headings}.items())
    out: list[tuple[int, int, str]] = []
    first = starts[0][0] if starts else line_count
    if first > 0:
        out.append((0, first, ""))
    for index, (row, title) in enumerate(starts):
        end = starts[index + 1][0] if index + 1 < len(starts) else line_count
        out.append((row, end, title))
    return out


def figure_planner(settings: Settings, roots: Callable[[], list[Path]]) -> FigurePlanner | None:
    """A planner with its own image store (the CI review), or None with the feature off."""
    if not (settings.vision_enabled and settings.vision_figure_review):
        return None
    secrets = SecretFilter(settings.secret_globs)
    return FigurePlanner(settings, ImageStore(settings, secrets, roots), ImageScanner(), secrets)


class FigurePlanner:
    """Plans the figure units of Markdown and reStructuredText documents."""

    def __init__(self, settings: Settings, images: ImageStore, scanner: ImageScanner, secrets: SecretFilter,
                 *, image_limit: Callable[[], int] | None = None) -> None:
        self.settings = settings
        self.images = images
        self.scanner = scanner
        self._secrets = secrets
        self._image_limit = image_limit or (lambda: settings.vision_max_images)
        self.server_limit: int | None = None  # learned from the server's refusal of a figure unit
        self.refused = ""  # why the server takes no images at all ("" while it does)
        self.unchecked = 0  # figure units the server refused (not checked: neither findings nor errors)
        self.last_refusal = ""  # the latest refusal, in words

    def image_limit(self) -> int:
        limit = self._image_limit()
        return limit if self.server_limit is None else min(limit, self.server_limit)

    def refusal(self, message: str) -> bool:
        """Learn from a refused figure unit; True when the refusal was about images (then the unit
        is skipped, not failed: a text-only server must not fail a review of documents)."""
        found = image_refusal(message, self.settings.backend)
        if found is None:
            return False
        limit, reason = found
        self.unchecked += 1
        self.last_refusal = reason
        if limit is not None and limit > 0:
            self.server_limit = limit
            log.warning("figure checks: the model server takes at most %d image(s) per request; later sections "
                        "send no more", limit)
        elif not self.refused:
            self.refused = reason
            log.warning("figure checks skipped: %s", reason)
        return True

    def note(self) -> str:
        """What a report says about figure checks the server refused ("" when there were none)."""
        if not self.unchecked and not self.refused:
            return ""
        count = f" ({self.unchecked} section(s) not checked)" if self.unchecked else ""
        return f"figure checks skipped{count}: {self.refused or self.last_refusal}"

    def applies(self, path: str, language_id: str | None = None) -> bool:
        """Whether ``path`` is a document whose figures are reviewed (with the settings on)."""
        return (self.settings.vision_enabled and self.settings.vision_figure_review
                and image_syntax(language_id, path) in ("markdown", "rst"))

    def scan(self, data: bytes, path: str, language_id: str | None = None) -> ImageScan:
        return self.scanner.scan(data, image_syntax(language_id, path) or "markdown")

    def _shown(self, scan: ImageScan, path: str) -> Iterator[tuple[ImageRef, Prepared | None]]:
        """The document's non-decorative images with where they point (prepared if known)."""
        for ref in scan.refs:
            if ref.decorative:
                continue
            located = self.images.locate(ref.target, path)
            if located.readable:
                yield ref, self.images.cached(located)

    async def prepare_async(self, scan: ImageScan, path: str) -> None:
        """Read and prepare the document's images off the event loop (planning then finds them)."""
        for ref, known in list(self._shown(scan, path)):
            if known is None:
                await self.images.prepare(self.images.locate(ref.target, path))

    def plan_units(self, buffer: TextBuffer, scan: ImageScan, path: str, *, display_path: str, fingerprint: str,
                   known: Callable[[str], bool] | None = None) -> list[UnitPlan]:
        """The figure units of a document (images not yet prepared are read now)."""
        shown: list[tuple[int, ImageRef, PreparedImage]] = []
        for ref, prepared in self._shown(scan, path):
            if prepared is None:
                prepared = self.images.prepare_sync(self.images.locate(ref.target, path))
            if prepared.image is not None:
                shown.append((buffer.row_of_byte(ref.span[0]), ref, prepared.image))
        limit = self.image_limit()
        if limit < 1 or self.refused:
            return []  # the server takes no images: no figure units
        units: list[UnitPlan] = []
        for first, end, heading in sections(scan, buffer.line_count):
            images: list[tuple[str, PreparedImage]] = []
            for row, ref, image in shown:
                if first <= row < end and all(image.sha256 != other.sha256 for _, other in images):
                    images.append((ref.target, image))
            if not images:
                continue
            rows, lines = self._lines(buffer, first, end, {row for row, _, _ in shown})
            if not rows:
                continue
            images = images[:limit]
            unit = ReviewUnit(SECTION_KIND, heading or Path(display_path).name, tuple(rows))
            key = self._key(fingerprint, unit, lines, images)
            if known is not None and known(key):
                units.append(UnitPlan(unit, lines, key, []))
                continue
            masked = self._secrets.mask_lines(lines, path)  # as the review engine anchors them
            messages = figure_messages(self._secrets.mask_prose(display_path), self._secrets.mask_prose(heading, path),
                                       list(zip((row + 1 for row in rows), masked, strict=True)),
                                       [(self._secrets.mask(target, path), image) for target, image in images])
            units.append(UnitPlan(unit, lines, key, messages))
        return units

    @staticmethod
    def _lines(buffer: TextBuffer, first: int, end: int, image_rows: set[int]) -> tuple[list[int], tuple[str, ...]]:
        """The section's rows (trailing blank lines left out, at most ``MAX_UNIT_CHARS``), if it has prose."""
        rows: list[int] = []
        lines: list[str] = []
        size = 0
        for row in range(first, end):
            text = buffer.line_text(row)
            if size + len(text) + 1 > MAX_UNIT_CHARS:
                break
            rows.append(row)
            lines.append(text)
            size += len(text) + 1
        while rows and not lines[-1].strip():
            rows.pop()
            lines.pop()
        prose = sum(len(text.split()) for row, text in zip(rows, lines, strict=True)
                    if row not in image_rows and row != first)
        if prose < _MIN_PROSE_WORDS:
            return [], ()
        return rows, tuple(lines)

    def _key(self, fingerprint: str, unit: ReviewUnit, lines: tuple[str, ...],
             images: list[tuple[str, PreparedImage]]) -> str:
        parts = [FIGURE_PROMPT_VERSION, fingerprint, unit.name, list(lines),
                 [[target, image.sha256] for target, image in images], asdict(self.images.image_settings)]
        payload = json.dumps(parts, ensure_ascii=False)
        return hashlib.sha256(payload.encode("utf-8", errors="surrogatepass")).hexdigest()
