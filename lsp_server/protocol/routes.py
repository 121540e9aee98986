"""The routing table: every LSP method and command the server answers, in one place.

One row per LSP method, or per ``workspace/executeCommand`` command: its name, the
handler (a module-level function of a feature module, importable and callable in tests)
and the registration options the server advertises for it in ``initialize``'s
capabilities. ``register`` puts the table on a server; ``server.build_server`` calls it.
Rows are in registration order, which is the order of the commands the server
advertises. The lifecycle handlers share one ``lifecycle.Session`` per server (what
``initialize`` learned), bound here as their ``session`` argument. docs/architecture.md
("Routing") lists the same rows with the engine each handler calls.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from lsprotocol import types

from lsp_server.protocol import (ai_actions, code_actions, commands, completion, diagnostics, documents, hover,
                                  lifecycle, workspace)
from lsp_server.protocol.base import MistralServer


@dataclass(frozen=True)
class Route:
    """One LSP method (or, with ``command``, one ``workspace/executeCommand`` command) and its handler."""

    method: str
    handler: Callable[..., Any]
    options: Any = None  # the registration options advertised in the capabilities (None: none)
    command: bool = False


def routes(session: lifecycle.Session) -> tuple[Route, ...]:
    """The table, with the lifecycle handlers bound to ``session``."""
    return (
        # lifecycle.py: settings (config.load_settings) and the Services they build
        Route(types.INITIALIZE, partial(lifecycle.initialize, session=session)),
        Route(types.INITIALIZED, partial(lifecycle.initialized, session=session)),
        Route(types.WORKSPACE_DID_CHANGE_CONFIGURATION, partial(lifecycle.did_change_configuration, session=session)),
        Route(types.SHUTDOWN, lifecycle.shutdown),
        # documents.py: the DocumentStore, the symbol index and the review scheduler's triggers
        Route(types.TEXT_DOCUMENT_DID_OPEN, documents.did_open),
        Route(types.TEXT_DOCUMENT_DID_CHANGE, documents.did_change),
        Route(types.TEXT_DOCUMENT_DID_SAVE, documents.did_save),
        Route(types.TEXT_DOCUMENT_DID_CLOSE, documents.did_close),
        # completion.py: the CompletionEngine
        Route(types.TEXT_DOCUMENT_INLINE_COMPLETION, completion.inline_completion, types.InlineCompletionOptions()),
        Route(types.TEXT_DOCUMENT_COMPLETION, completion.completion,
              types.CompletionOptions(trigger_characters=completion.TRIGGER_CHARACTERS, resolve_provider=False)),
        # diagnostics.py: the ReviewScheduler's current findings
        Route(types.TEXT_DOCUMENT_DIAGNOSTIC, diagnostics.pull,
              types.DiagnosticOptions(identifier=diagnostics.IDENTIFIER, inter_file_dependencies=False,
                                      workspace_diagnostics=False)),
        # code_actions.py: the fixes engine (FixActions), the ActionEngine, the VisionEngine
        Route(types.TEXT_DOCUMENT_CODE_ACTION, code_actions.code_action,
              types.CodeActionOptions(code_action_kinds=[types.CodeActionKind.QuickFix,
                                                         types.CodeActionKind.RefactorRewrite,
                                                         types.CodeActionKind.Refactor],
                                      resolve_provider=True)),
        Route(types.CODE_ACTION_RESOLVE, code_actions.code_action_resolve),
        # hover.py: the VisionEngine
        Route(types.TEXT_DOCUMENT_HOVER, hover.text_document_hover),
        # ai_actions.py: the ActionEngine
        Route(ai_actions.RUN_ACTION, ai_actions.run_action, command=True),
        Route(ai_actions.LIST_ACTIONS, ai_actions.list_actions, command=True),
        Route(ai_actions.SHOW_NOTE, ai_actions.show_note, command=True),
        # commands.py: Services (status, toggles, caches) and the ReviewScheduler
        Route(commands.STATUS, commands.status_command, command=True),
        Route(commands.TOGGLE_COMPLETIONS, commands.toggle, command=True),
        Route(commands.CLEAR_CACHE, commands.clear_cache, command=True),
        Route(commands.REVIEW_FILE, commands.review_file, command=True),
        Route(commands.REVIEW_WORKSPACE, commands.review_workspace, command=True),
        # workspace.py: the symbol index (engines.knowledge)
        Route(types.WORKSPACE_DID_CHANGE_WORKSPACE_FOLDERS, workspace.did_change_workspace_folders),
        Route(types.WORKSPACE_DID_CHANGE_WATCHED_FILES, workspace.did_change_watched_files),
    )


def register(server: MistralServer) -> None:
    """Register every row of the table on ``server`` (with a fresh lifecycle session)."""
    for route in routes(lifecycle.Session()):
        if route.command:
            server.command(route.method)(route.handler)
        else:
            server.feature(route.method, route.options)(route.handler)
