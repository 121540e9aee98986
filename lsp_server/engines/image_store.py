"""The images a process has read: located by the path policy, prepared once, kept while unchanged.

``ImageStore`` joins the path policy (``image_files.ImageLocator``) and the model-side
preparation (``model/images.prepare_image``): ``prepare`` reads a file only when the locator
says it may, prepares it (in a worker thread for the async variant: decoding and scaling a large
image takes tens of milliseconds), and keeps the result (or the refusal) keyed by the file's path,
size and modification time, so a hover, an alt text and a figure check of the same image read it
once. Every refusal is logged once per file version with its reason; nothing here raises for a
bad file. Image bytes live only here and in requests, never in the documents' text model.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from lsp_server.config import Settings
from lsp_server.core.secrets import SecretFilter
from lsp_server.engines.image_files import ImageLocator, Located
from lsp_server.model.images import ImageError, ImageSettings, PreparedImage, prepare_image

log = logging.getLogger(__name__)
_KEEP = 32  # prepared images kept in memory (each holds its data URI)


@dataclass(frozen=True)
class Prepared:
    """An image's fate: the prepared image, or why it is not sent."""

    located: Located
    image: PreparedImage | None = None
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.image is not None


def image_settings(settings: Settings) -> ImageSettings:
    return ImageSettings(settings.vision_patch_size, settings.vision_max_image_size, settings.vision_spatial_merge)


class ImageStore:
    """Locates, reads and prepares images for one settings generation."""

    def __init__(self, settings: Settings, secrets: SecretFilter, roots: Callable[[], Sequence[Path]]) -> None:
        self.settings = settings
        self.image_settings = image_settings(settings)
        self._secrets = secrets
        self._roots = roots
        self._locator: ImageLocator | None = None
        self._locator_roots: tuple[Path, ...] = ()
        self._prepared: OrderedDict[tuple[str, int, int], Prepared] = OrderedDict()
        self._logged: set[tuple[str, str]] = set()
        self._lock = threading.Lock()  # prepare_sync runs in worker threads
        self.reads = 0  # files read and prepared (not from memory)

    @property
    def locator(self) -> ImageLocator:
        roots = tuple(self._roots())
        if self._locator is None or roots != self._locator_roots:
            self._locator = ImageLocator(list(roots), self._secrets, site_root=self.settings.vision_site_root,
                                         max_bytes=self.settings.vision_max_image_bytes)
            self._locator_roots = roots
        return self._locator

    def locate(self, target: str, document: str | Path) -> Located:
        return self.locator.locate(target, document)

    def forget_rules(self) -> None:
        if self._locator is not None:
            self._locator.forget_rules()

    def _refused(self, located: Located, reason: str) -> Prepared:
        key = (located.display or str(located.path), reason)
        with self._lock:
            first = key not in self._logged
            self._logged.add(key)
        if first:
            log.warning("image %s not sent to the model: %s", located.display or located.path or "?", reason)
        return Prepared(located, None, reason)

    def _key(self, located: Located) -> tuple[str, int, int]:
        return (str(located.path), located.size, located.mtime_ns)

    def cached(self, located: Located) -> Prepared | None:
        """The prepared image if this file version was prepared already (no I/O)."""
        if not located.readable:
            return None
        with self._lock:
            found = self._prepared.get(self._key(located))
            if found is not None:
                self._prepared.move_to_end(self._key(located))
            return found

    def prepare_sync(self, located: Located) -> Prepared:
        """Read and prepare a located image now (the caller may block: CI, worker threads)."""
        if not located.readable:
            return Prepared(located, None, located.reason or "the image cannot be read")
        known = self.cached(located)
        if known is not None:
            return known
        assert located.path is not None
        try:
            data = located.path.read_bytes()
        except OSError as exc:
            return self._refused(located, f"cannot read the file ({exc.strerror or exc})")
        if len(data) > self.settings.vision_max_image_bytes:  # it grew since it was located
            return self._refused(located, "the file is larger than vision.maxImageBytes")
        self.reads += 1
        try:
            outcome = Prepared(located, prepare_image(data, self.image_settings))
        except ImageError as exc:
            outcome = self._refused(located, str(exc))
        except Exception as exc:  # noqa: BLE001 - a decoder bug must cost one image, not the feature
            log.exception("image %s could not be prepared", located.display)
            outcome = self._refused(located, f"internal error while reading it ({type(exc).__name__})")
        with self._lock:
            self._prepared[self._key(located)] = outcome
            while len(self._prepared) > _KEEP:
                self._prepared.popitem(last=False)
        return outcome

    async def prepare(self, located: Located) -> Prepared:
        """``prepare_sync`` in a worker thread (the event loop keeps serving)."""
        known = self.cached(located)
        if known is not None or not located.readable:
            return known or Prepared(located, None, located.reason or "the image cannot be read")
        return await asyncio.to_thread(self.prepare_sync, located)
