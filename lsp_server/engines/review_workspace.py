"""Reviewing every file of a workspace in the background, with cancellable progress.

The run first waits (bounded) for the symbol index of the folder when it is still
being built, so the reviews offer its tools. Open documents are reviewed from their
live text, other files from disk. Files are
worked on by a few workers (twice the review concurrency, so planning overlaps the
model requests); each file's findings replace what it showed as soon as it is done.
The user can cancel through the progress UI; a cancelled run keeps what it finished.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lsp_server.engines.review_files import read_source, select_files

if TYPE_CHECKING:
    from lsp_server.engines.review_events import ProgressSink
    from lsp_server.engines.review_scheduler import ReviewScheduler

log = logging.getLogger(__name__)
INDEX_WAIT_S = 120.0  # how long a run waits for the folder's symbol index, at most (files are not redone)


def review_files(
    scheduler: ReviewScheduler, root: Path, display: Callable[[Path], str]
) -> tuple[list[Path], list[str], Coroutine[Any, Any, None]]:
    """The files to review under ``root``, notes on skipped ones, and the job reviewing them."""
    settings = scheduler.settings
    selection = select_files(
        root, scheduler.engine.secrets, max_bytes=settings.max_file_bytes, limit=settings.review_max_workspace_files,
        documents=scheduler.engine.figures is not None,
    )
    skipped = list(selection.skipped)
    if selection.truncated:
        skipped.append(f"more files not reviewed: the limit is {settings.review_max_workspace_files} "
                       "(review.maxWorkspaceFiles)")
    return selection.files, skipped, _run(scheduler, root, selection.files, display)


async def _run(scheduler: ReviewScheduler, root: Path, files: list[Path], display: Callable[[Path], str]) -> None:
    sink: ProgressSink = scheduler.listener.progress("Reviewing the workspace", cancellable=True)
    pending = list(reversed(files))
    total = len(files)
    done = 0
    sink.update(0, total, "waiting for the symbol index")
    await scheduler.wait_for_index(str(root), INDEX_WAIT_S)  # reviews then offer its tools

    async def worker() -> None:
        nonlocal done
        while pending and not sink.cancelled():
            path = pending.pop()
            try:
                await _one(scheduler, path, display(path))
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - one bad file must not end the run
                log.exception("workspace review of %s failed", path)
            done += 1
            sink.update(done, total, display(path))

    workers = max(1, min(total, scheduler.settings.review_concurrency * 2))
    try:
        await asyncio.gather(*(worker() for _ in range(workers)))
    except asyncio.CancelledError:
        sink.finish("cancelled")
        raise
    sink.finish("cancelled" if sink.cancelled() else f"{done} file(s) reviewed")


async def _one(scheduler: ReviewScheduler, path: Path, shown: str) -> None:
    engine = scheduler.engine
    uri = path.as_uri()
    doc = scheduler.documents.get(uri)
    if doc is not None:  # planned in slices (a document's images read first), like every planning on the loop
        found = await engine.plan_async(doc.syntax, doc.path, display_path=shown, version=doc.version, uri=uri,
                                        language_id=doc.language_id)
        if found is None:
            return  # the document changed meanwhile: its own review covers it
        plan = found
    else:
        text = read_source(path)
        if text is None:
            return
        plan = await engine.plan_text_async(str(path), text, display_path=shown, uri=uri)
    result = await engine.run(plan)
    if result.errors and len(result.errors) == result.units:
        return  # nothing reviewed (model down): leave what the file showed
    scheduler.store_file(uri, plan, list(result.findings))
