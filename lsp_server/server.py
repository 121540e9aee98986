"""Composition root: the language server with every route of ``protocol.routes`` registered."""

from __future__ import annotations

from lsp_server import __version__, log_filters
from lsp_server.protocol import routes
from lsp_server.protocol.base import MistralServer


def build_server() -> MistralServer:
    """A ready-to-start server; settings are resolved when the client initializes."""
    log_filters.install()
    server = MistralServer("mistral-lsp", __version__)
    routes.register(server)
    return server
