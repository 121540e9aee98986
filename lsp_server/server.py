"""Composition root: the language server with every handler registered."""

from __future__ import annotations

from lsp_server import __version__, log_filters
from lsp_server.protocol import (ai_actions, code_actions, commands, completion, diagnostics, documents, hover,
                                  lifecycle, workspace)
from lsp_server.protocol.base import MistralServer


def build_server() -> MistralServer:
    """A ready-to-start server; settings are resolved when the client initializes."""
    log_filters.install()
    server = MistralServer("mistral-lsp", __version__)
    lifecycle.register(server)
    documents.register(server)
    completion.register(server)
    diagnostics.register(server)
    code_actions.register(server)
    hover.register(server)
    ai_actions.register(server)
    commands.register(server)
    workspace.register(server)
    return server
