"""The workspace symbol index over LSP: start it, feed it, follow the disk.

At ``initialized`` every workspace folder is indexed in the background with
work-done progress. File events come from the client when it can register
``workspace/didChangeWatchedFiles`` dynamically (VS Code): the server registers the
globs it cares about; otherwise (Neovim on Linux) the index runs its own watchfiles
watcher. Open documents feed it from didOpen/didChange/didClose (``documents.py``
calls the hooks below). A failure here only costs cross-file context.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from pathlib import Path
from typing import Any

from lsprotocol import types

from lsp_server.engines.documents import OpenDocument, file_path
from lsp_server.index import watch_globs
from lsp_server.index.watch import EventKind
from lsp_server.protocol.base import MistralServer
from lsp_server.protocol.progress import WorkDoneProgress

log = logging.getLogger(__name__)
_REGISTER_TIMEOUT_S = 5.0  # a client that never answers client/registerCapability gets our watcher

_KINDS: dict[types.FileChangeType, EventKind] = {
    types.FileChangeType.Created: "created",
    types.FileChangeType.Changed: "changed",
    types.FileChangeType.Deleted: "deleted",
}


def _paths(uris: list[str]) -> list[Path]:
    """The local paths of the ``file:`` URIs among ``uris``."""
    return [Path(path) for uri in uris if (path := file_path(uri)) is not None]


def workspace_roots(params: types.InitializeParams) -> list[Path]:
    """Every workspace folder (or the root) as a local path; non-file URIs are skipped."""
    uris = [folder.uri for folder in params.workspace_folders or []]
    if not uris and params.root_uri:
        uris = [params.root_uri]
    roots = _paths(uris)
    if not roots and params.root_path:
        roots = [Path(params.root_path)]
    return roots


def _client_watches(ls: MistralServer) -> bool:
    workspace = ls.client_capabilities.workspace if ls.client_capabilities else None
    watched = workspace.did_change_watched_files if workspace is not None else None
    return bool(watched and watched.dynamic_registration)


async def start_index(ls: MistralServer, roots: list[Path]) -> None:
    """Index ``roots`` in the background; choose where file events come from."""
    services = ls.services
    if services is None or not roots or not services.knowledge.enabled:
        return
    client_watches = _client_watches(ls)
    if client_watches:
        try:
            await asyncio.wait_for(ls.client_register_capability_async(types.RegistrationParams(registrations=[
                types.Registration(
                    id=f"mistral-lsp-watch-{uuid.uuid4().hex[:8]}",
                    method=types.WORKSPACE_DID_CHANGE_WATCHED_FILES,
                    register_options=types.DidChangeWatchedFilesRegistrationOptions(
                        watchers=[types.FileSystemWatcher(glob_pattern=glob) for glob in watch_globs()]
                    ),
                )
            ])), timeout=_REGISTER_TIMEOUT_S)
        except Exception as exc:  # noqa: BLE001 - fall back to our own watcher (also when it never answers)
            log.warning("the client did not take the file watching registration (%s); watching the disk "
                        "ourselves", exc or type(exc).__name__)
            client_watches = False
    log.info("symbol index: file events from %s", "the client" if client_watches else "watchfiles")
    try:
        services.knowledge.start(roots, client_watches=client_watches,
                                 progress=lambda title: WorkDoneProgress(ls, title, kind="index"))
    except Exception:  # noqa: BLE001 - fail per feature
        log.exception("symbol index could not start")
    for doc in services.documents.all():  # documents opened before the index existed
        opened(ls, doc)


def opened(ls: MistralServer, doc: OpenDocument) -> None:
    if ls.services is not None and doc.uri.startswith("file:") and not doc.binary:
        _guard(ls.services.knowledge.opened, doc.path, doc.syntax.buffer.text)


def changed(ls: MistralServer, doc: OpenDocument) -> None:
    if ls.services is not None and doc.uri.startswith("file:") and not doc.binary:
        syntax = doc.syntax
        _guard(ls.services.knowledge.changed, doc.path, lambda: syntax.buffer.text, len(syntax.buffer.data))


def closed(ls: MistralServer, path: str) -> None:
    if ls.services is not None:
        _guard(ls.services.knowledge.closed, path)


def _guard(call: Any, *args: Any) -> None:
    try:
        call(*args)
    except Exception:  # noqa: BLE001 - the index never breaks document sync
        log.exception("symbol index update failed")


async def did_change_workspace_folders(ls: MistralServer, params: types.DidChangeWorkspaceFoldersParams) -> None:
    services = ls.services
    if services is not None:  # images are read only inside the workspace folders
        removed = {path.resolve() for path in _paths([folder.uri for folder in params.event.removed])}
        services.roots = [root for root in services.roots if root.resolve() not in removed] + \
            _paths([folder.uri for folder in params.event.added])
    if services is None or not services.knowledge.enabled:
        return
    knowledge = services.knowledge
    try:
        await knowledge.stop_roots(_paths([folder.uri for folder in params.event.removed]))
        knowledge.start(_paths([folder.uri for folder in params.event.added]), client_watches=knowledge.disk_source == "client",
                        progress=lambda title: WorkDoneProgress(ls, title, kind="index"))
    except Exception:  # noqa: BLE001 - fail per feature
        log.exception("could not follow the change of workspace folders")


async def did_change_watched_files(ls: MistralServer, params: types.DidChangeWatchedFilesParams) -> None:
    if ls.services is None:
        return
    events = [(path, _KINDS.get(change.type, "changed"))
              for change in params.changes if (path := file_path(change.uri)) is not None]
    try:
        await ls.services.knowledge.disk_events(events)
    except Exception:  # noqa: BLE001 - fail per feature
        log.exception("file events failed")
